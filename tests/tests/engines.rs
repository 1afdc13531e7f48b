//! runsc under the real container engines: `tests/engines/run.sh` (containerd's ctr,
//! Docker and podman from Debian's packages, a local busybox image, daemons with their
//! state in a temporary directory) must pass every check. Skipped, with the reason, only
//! when the script cannot run them here: the packages cannot be installed (no apt
//! network) or the test is not root.

use std::process::{Command, Stdio};
use std::time::Duration;
use tests::{runsc, skip};

/// The script's exit status for "cannot run here".
const SKIPPED: i32 = 77;

#[test]
fn docker_containerd_and_podman_run_on_runsc() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("engines/run.sh");
    let out = std::env::temp_dir().join(format!("runsc-engines-{}.out", std::process::id()));
    let mut child = Command::new("bash")
        .arg(&script)
        .env("RUNSC", runsc())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running tests/engines/run.sh");
    let status =
        tests::wait_timeout(&mut child, Duration::from_secs(20 * 60)).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("tests/engines/run.sh did not finish in 20 minutes");
        });
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    eprint!("{text}");
    match status.code() {
        Some(0) => {}
        Some(SKIPPED) => skip(&format!(
            "engines: {}",
            text.lines().last().unwrap_or("skipped")
        )),
        code => panic!("tests/engines/run.sh failed ({code:?}):\n{text}"),
    }
}
