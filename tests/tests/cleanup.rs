//! No process outlives runsc: after the program exits, after it dies by a
//! signal, and after runsc itself is SIGKILLed, every descendant of runsc
//! (stubs, sentry helpers) must be gone within 2 s. Descendants are recorded
//! while runsc runs, by pid and start time (so pid reuse is not a survivor).

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tests::procs::{ProcId, descendants, describe, is_gone, kill_survivors};
use tests::{
    Link, TIMEOUT, TempDir, available_platforms, build_program, kill_group, runsc_command,
};

/// How long descendants may linger after runsc is gone.
const GRACE: Duration = Duration::from_secs(2);

/// Runs `sleeper ARGS` under runsc, recording its descendants every few ms.
/// With `kill_after`, SIGKILLs runsc (only runsc) once descendants have been
/// seen and that long has passed. Returns runsc's status and the descendants.
fn watch(
    test: &str,
    platform: &str,
    args: &[&str],
    kill_after: Option<Duration>,
) -> (i32, BTreeSet<ProcId>) {
    let sleeper = build_program("sleeper", Link::Static);
    let dir = TempDir::new(test);
    let stderr_path = dir.path().join("runsc.stderr");
    let mut cmd = runsc_command(platform, &[], &sleeper, args, dir.path());
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path).expect("creating the stderr file"))
        .process_group(0);
    let mut child = cmd.spawn().expect("spawning runsc");
    let pid = child.id() as i32;
    let start = Instant::now();
    let mut seen = BTreeSet::new();
    let mut killed = false;
    let status = loop {
        seen.extend(descendants(pid));
        if let Some(status) = child.try_wait().expect("waiting for runsc") {
            break status;
        }
        if let Some(after) = kill_after
            && !killed
            && start.elapsed() >= after
            && (!seen.is_empty() || start.elapsed() >= after * 4)
        {
            // SAFETY: kill only sends a signal, to our own unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed = true;
        }
        if start.elapsed() > TIMEOUT {
            kill_group(&child);
            let _ = child.wait();
            kill_survivors(&seen);
            panic!("{test}: runsc did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if !stderr.is_empty() {
        tests::note(&format!(
            "{test} on {platform}: runsc stderr: {}",
            stderr.trim()
        ));
    }
    (tests::status_code(status), seen)
}

/// Every process in `seen` is gone within [`GRACE`]; survivors are killed
/// and reported.
fn assert_all_gone(test: &str, platform: &str, seen: &BTreeSet<ProcId>) {
    if seen.is_empty() {
        tests::note(&format!(
            "{test} on {platform}: runsc had no child processes to check"
        ));
        return;
    }
    let deadline = Instant::now() + GRACE;
    loop {
        let alive: Vec<ProcId> = seen.iter().copied().filter(|id| !is_gone(*id)).collect();
        if alive.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            let list: Vec<String> = alive.iter().map(|id| describe(*id)).collect();
            kill_survivors(seen);
            panic!(
                "{test} on {platform}: {} of {} descendants of runsc still alive {GRACE:?} after it ended: {}",
                alive.len(),
                seen.len(),
                list.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn no_leftovers_after_normal_exit() {
    for platform in available_platforms("no_leftovers_after_normal_exit") {
        let (status, seen) = watch("cleanup-exit", &platform, &["1000", "exit"], None);
        assert_eq!(status, 0, "platform {platform}: runsc exit status");
        assert_all_gone("no_leftovers_after_normal_exit", &platform, &seen);
    }
}

#[test]
fn no_leftovers_after_fatal_signal() {
    for platform in available_platforms("no_leftovers_after_fatal_signal") {
        let (status, seen) = watch("cleanup-segv", &platform, &["1000", "segv"], None);
        assert_eq!(
            status,
            128 + libc::SIGSEGV,
            "platform {platform}: runsc exit status"
        );
        assert_all_gone("no_leftovers_after_fatal_signal", &platform, &seen);
    }
}

#[test]
fn no_leftovers_after_runsc_is_killed() {
    for platform in available_platforms("no_leftovers_after_runsc_is_killed") {
        let (status, seen) = watch(
            "cleanup-sigkill",
            &platform,
            &["30000", "exit"],
            Some(Duration::from_millis(500)),
        );
        assert_eq!(
            status,
            128 + libc::SIGKILL,
            "platform {platform}: runsc should have been killed"
        );
        assert_all_gone("no_leftovers_after_runsc_is_killed", &platform, &seen);
    }
}

#[test]
fn no_leftovers_after_runsc_is_killed_with_processes_and_threads() {
    let test = "no_leftovers_after_runsc_is_killed_with_processes_and_threads";
    for platform in available_platforms(test) {
        let (status, seen) = watch(
            "cleanup-sigkill-tree",
            &platform,
            &["30000", "exit", "tree"],
            Some(Duration::from_millis(800)),
        );
        assert_eq!(
            status,
            128 + libc::SIGKILL,
            "platform {platform}: runsc should have been killed"
        );
        // The init process, two children and a thread: at least three stub processes
        // (kvm has none: application code runs in vCPUs of the runsc process).
        assert!(
            seen.len() >= 3 || platform == "kvm",
            "platform {platform}: expected the children's stubs among {} descendants",
            seen.len()
        );
        assert_all_gone(test, &platform, &seen);
    }
}
