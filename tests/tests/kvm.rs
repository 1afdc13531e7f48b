//! What only the kvm platform has: its start-up error when `/dev/kvm` cannot be used,
//! and its stub window, which PVM makes user-accessible. Skips (with a printed reason)
//! where `/dev/kvm` is unusable, except the start-up error test, which needs no KVM.

use std::time::Duration;
use tests::{Link, TempDir, build_program, platform_available, run, runsc_command, skip};

const TIMEOUT: Duration = Duration::from_secs(60);

/// `--platform=kvm` with a device that does not exist fails at once with one line that
/// says why and what to use instead. (`RUNSC_KVM_DEVICE` points the platform elsewhere
/// than `/dev/kvm`: a missing device cannot be had otherwise.)
#[test]
fn unusable_device_is_one_line_error() {
    let hello = build_program("hello", Link::Static);
    let dir = TempDir::new("kvm-missing");
    let mut cmd = runsc_command("kvm", &[], &hello, &[], dir.path());
    cmd.env("RUNSC_KVM_DEVICE", "/nonexistent/kvm");
    let out = run(cmd, b"", TIMEOUT);
    let stderr = out.stderr_str();
    assert_ne!(out.status, 0, "ran without a device: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout_str());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line: {stderr:?}");
    for want in [
        "kvm platform unavailable",
        "/nonexistent/kvm does not exist",
        "--platform=seccomp",
    ] {
        assert!(lines[0].contains(want), "{want:?} missing from {stderr:?}");
    }
}

/// As a user who may not open `/dev/kvm` (nobody, where the device is not open to all),
/// the same one-line error names the missing permission.
#[test]
fn forbidden_device_is_one_line_error() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip("forbidden /dev/kvm: needs root to run runsc as nobody");
        return;
    }
    match std::fs::metadata("/dev/kvm") {
        Ok(m) if m.mode() & 0o006 == 0 => {}
        Ok(_) => {
            skip("forbidden /dev/kvm: the device is open to all users here");
            return;
        }
        Err(e) => {
            skip(&format!("forbidden /dev/kvm: {e}"));
            return;
        }
    }
    let hello = build_program("hello", Link::Static);
    // The working directory, usable by nobody too.
    let dir = TempDir::new("kvm-forbidden");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut cmd = runsc_command("kvm", &[], &hello, &[], dir.path());
    cmd.uid(65534).gid(65534);
    let out = run(cmd, b"", TIMEOUT);
    let stderr = out.stderr_str();
    assert_ne!(out.status, 0, "ran as nobody: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line: {stderr:?}");
    for want in [
        "kvm platform unavailable",
        "no permission to open /dev/kvm",
        "--platform=seccomp",
    ] {
        assert!(lines[0].contains(want), "{want:?} missing from {stderr:?}");
    }
}

/// An application that writes all over the stub window it can reach (the save area page
/// of its vCPU, from two threads; the read-only code and descriptor pages) changes
/// nothing of its own syscalls or registers, nor of another process running beside it.
#[test]
fn scribbling_on_the_stub_window_is_contained() {
    if let Err(reason) = platform_available("kvm") {
        skip(&format!("platform kvm: {reason}"));
        return;
    }
    let program = build_program("kvm_scribble", Link::Static);
    let dir = TempDir::new("kvm-scribble");
    let out = run(
        runsc_command("kvm", &[], &program, &[], dir.path()),
        b"",
        TIMEOUT,
    );
    let stdout = out.stdout_str();
    assert_eq!(out.status, 0, "{stdout}{}", out.stderr_str());
    assert!(stdout.ends_with("PASS\n"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
