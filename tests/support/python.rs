//! Python programs for the tests that run one (Schemathesis): a virtual environment in the
//! target directory, created and filled from a pinned requirements file once, guarded so
//! parallel tests and test processes never race.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtual environment for `requirements` (named after its directory), with its packages
/// installed; the path of its `bin/` directory. Installs on first use.
pub(crate) fn environment(requirements: &Path) -> Result<PathBuf, String> {
    let name = requirements.parent().and_then(Path::file_name).map_or_else(
        || "python".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-venv"));
    let bin = home.join("bin");
    // Written last: the environment is complete once it exists.
    let done = home.join("installed.txt");
    let wanted = std::fs::read_to_string(requirements)
        .map_err(|err| format!("cannot read {}: {err}", requirements.display()))?;
    let installed = || std::fs::read_to_string(&done).is_ok_and(|text| text == wanted);
    if installed() {
        return Ok(bin);
    }
    let lock_path = home.with_extension("lock");
    let lock = File::create(&lock_path)
        .map_err(|err| format!("cannot create {}: {err}", lock_path.display()))?;
    lock.lock()
        .map_err(|err| format!("cannot lock {}: {err}", lock_path.display()))?;
    if installed() {
        return Ok(bin);
    }
    let how = "Install Python 3.9 or newer with its venv module: \
               `apt-get install -y python3 python3-venv` (with sudo when not root).";
    run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&home),
        how,
    )?;
    let pip = bin.join("pip");
    run(
        Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
        "pip installs from PyPI: check the network and the requirements file.",
    )?;
    std::fs::write(&done, wanted)
        .map_err(|err| format!("cannot write {}: {err}", done.display()))?;
    drop(lock);
    Ok(bin)
}

fn run(command: &mut Command, how: &str) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|err| format!("cannot run {shown}: {err}. {how}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}): {}\n{how}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
