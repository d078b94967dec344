//! Node.js for the tests that drive a real JavaScript program (the browser driver, the MCP
//! client): checking that Node.js 20+ is installed, and installing a program's npm packages once
//! (`npm ci`), guarded so parallel tests and test processes never race. Shared by the test
//! binaries that need it (`#[path]`).

use std::fs::File;
use std::path::Path;
use std::process::Command;

/// Checks that `node` is Node.js 20 or newer; `who` names the tests in the message.
pub fn check_node(who: &str) -> Result<(), String> {
    let how = "Install Node.js 20 or newer and npm from the distribution: \
               `apt-get install -y nodejs npm` (with sudo when not root).";
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|err| format!("{who} need Node.js (`node`: {err}). {how}"))?;
    let version = String::from_utf8_lossy(&output.stdout);
    let major = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    match major {
        Some(major) if output.status.success() && major >= 20 => Ok(()),
        _ => Err(format!(
            "{who} need Node.js 20 or newer; `node --version` says {:?}. {how}",
            version.trim()
        )),
    }
}

/// `npm ci` in `dir` unless the package `marker` (a path under `node_modules/`) is installed
/// already. A lock file in the target directory, named after `dir`, serialises test processes.
pub fn install_packages(dir: &Path, marker: &str) -> Result<(), String> {
    let marker = dir.join("node_modules").join(marker).join("package.json");
    if marker.is_file() {
        return Ok(());
    }
    let name = dir
        .file_name()
        .map_or_else(|| "npm".into(), |name| name.to_string_lossy().into_owned());
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-npm-ci.lock"));
    let lock = File::create(&lock_path)
        .map_err(|err| format!("cannot create {}: {err}", lock_path.display()))?;
    lock.lock()
        .map_err(|err| format!("cannot lock {}: {err}", lock_path.display()))?;
    if marker.is_file() {
        return Ok(());
    }
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .map_err(|err| {
            format!(
                "npm is needed to install the packages in {} (`npm`: {err}). Install it with \
                 `apt-get install -y npm`, then run `npm ci` there.",
                dir.display()
            )
        })?;
    if !output.status.success() || !marker.is_file() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    drop(lock);
    Ok(())
}
