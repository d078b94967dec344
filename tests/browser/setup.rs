//! What the browser tests need on the machine: Chromium, Node.js, and the driver's npm packages
//! (installed once with `npm ci`, guarded so parallel tests and test processes never race).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Where Chromium is looked for unless `HEYSUMMON_CHROMIUM` names another binary.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// What the driver needs to start: the Chromium binary and the driver's directory.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub chromium: PathBuf,
    pub driver_dir: PathBuf,
}

/// The driver's directory: `tests/browser/driver` of this workspace.
pub fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/driver")
}

/// Checks the prerequisites and installs the driver's packages, once per test process. Every
/// caller gets the first caller's outcome; the failure message says how to fix the machine.
pub fn prepare() -> Result<Prepared, String> {
    static READY: OnceLock<Result<Prepared, String>> = OnceLock::new();
    READY.get_or_init(check_and_install).clone()
}

fn check_and_install() -> Result<Prepared, String> {
    let chromium = std::env::var_os("HEYSUMMON_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    if !chromium.is_file() && std::env::var_os("HEYSUMMON_CHROMIUM").is_none() {
        install_chromium();
    }
    if !chromium.is_file() {
        return Err(format!(
            "the browser tests need Chromium at {}, which is missing. Install it with \
             `apt-get install -y chromium` (Debian/Ubuntu; with sudo when not root), or point \
             HEYSUMMON_CHROMIUM at a Chromium binary. `.ci/run` does this on CI.",
            chromium.display()
        ));
    }
    crate::node::check_node("the browser tests")?;
    let driver_dir = driver_dir();
    crate::node::install_packages(&driver_dir, "playwright-core")?;
    Ok(Prepared {
        chromium,
        driver_dir,
    })
}

/// On a fresh Debian or Ubuntu machine, installs Debian's Chromium with apt-get when that needs
/// no password (root, or passwordless sudo), so the test command does all of its set-up. Does
/// nothing elsewhere: the caller then explains what to install. Serialised across test
/// processes by a lock file.
fn install_chromium() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    let sudo = !root
        && Command::new("sudo")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|out| out.status.success());
    if !(root || sudo) || !Path::new("/usr/bin/apt-get").is_file() {
        return;
    }
    let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-chromium-install.lock");
    let Ok(lock) = File::create(&lock_path) else {
        return;
    };
    if lock.lock().is_err() || Path::new(DEFAULT_CHROMIUM).is_file() {
        return;
    }
    eprintln!("browser tests: installing Debian's chromium with apt-get (once)");
    let apt = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !apt(&["install", "-y", "chromium"]) {
        let _ = apt(&["update"]) && apt(&["install", "-y", "chromium"]);
    }
}
