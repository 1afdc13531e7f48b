//! Real programs from the host's root filesystem (dynamically linked, served by the
//! gofer), natively and under runsc: their output must be identical. And escape attempts
//! against `--root-dir`: nothing outside the root is ever read.

use std::path::Path;
use std::process::Command;
use tests::{Case, TIMEOUT, TempDir, available_platforms, run, runsc};

/// Runs `program args` natively and in the sandbox, or skips (with the reason printed)
/// when the program is not installed here.
fn check(test: &str, program: &str, args: &[&str]) {
    if !Path::new(program).exists() {
        tests::skip(&format!(
            "{test}: {program} is not installed on this machine"
        ));
        return;
    }
    Case {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        expected_status: 0,
    }
    .check(test);
}

#[test]
fn ls_la_usr_bin() {
    check("ls_la_usr_bin", "/bin/ls", &["-la", "/usr/bin"]);
}

#[test]
fn sha256sum_python3() {
    check(
        "sha256sum_python3",
        "/usr/bin/sha256sum",
        &["/usr/bin/python3"],
    );
}

#[test]
fn find_newer() {
    check(
        "find_newer",
        "/usr/bin/find",
        &[
            "/usr/lib/python3",
            "-name",
            "*.py",
            "-newer",
            "/etc/hostname",
        ],
    );
}

#[test]
fn python3_hashlib() {
    check(
        "python3_hashlib",
        "/usr/bin/python3",
        &[
            "-c",
            "import hashlib; print(hashlib.sha256(open('/etc/os-release','rb').read()).hexdigest())",
        ],
    );
}

#[test]
fn python3_tarfile() {
    check(
        "python3_tarfile",
        "/usr/bin/python3",
        &[
            "-c",
            "import tarfile,os; p='/tmp/x-%d.tar' % os.getpid(); t=tarfile.open(p,'w'); t.add('/usr/include/linux'); t.close(); print(len(tarfile.open(p).getnames())); os.unlink(p)",
        ],
    );
}

/// A root directory with busybox, symlinks that point outside it in every way, and a
/// secret planted next to (outside) it: none of the tricks reads the secret.
#[test]
fn root_dir_escapes_never_reach_outside() {
    let busybox = tests::busybox();
    let dir = TempDir::new("escape");
    let root = dir.path().join("root");
    let secret = "the-secret-outside-the-root";
    std::fs::write(dir.path().join("secret"), secret).expect("planting the secret");
    for d in ["bin", "tmp", "proc", "dev", "sys", "sub/deeper"] {
        std::fs::create_dir_all(root.join(d)).expect("making the root");
    }
    std::fs::copy(&busybox, root.join("bin/busybox")).expect("copying busybox");
    let escape = tests::build_program("escape_fd", tests::Link::Static);
    std::fs::copy(&escape, root.join("bin/escape_fd")).expect("copying escape_fd");
    let host_path = dir.path().join("secret").to_string_lossy().into_owned();
    let links = [
        ("abs", "/secret"),
        ("rel", "../secret"),
        ("up", "../../../../../../secret"),
        ("sub/deeper/up2", "../../../secret"),
        ("host", host_path.as_str()),
    ];
    for (name, target) in links {
        std::os::unix::fs::symlink(target, root.join(name)).expect("planting a symlink");
    }
    let tries = [
        "/abs",
        "/rel",
        "/up",
        "/sub/deeper/up2",
        "/host",
        "/../secret",
        "/../../secret",
        "/proc/self/root/../secret",
        "/proc/self/cwd/../../secret",
        "/proc/1/root/../../secret",
    ];
    for platform in available_platforms("root_dir_escapes_never_reach_outside") {
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--root-dir")
            .arg(&root)
            .arg("--")
            .arg("/bin/busybox")
            .arg("cat");
        cmd.args(tries);
        let out = run(cmd, b"", TIMEOUT);
        let stdout = out.stdout_str();
        let stderr = out.stderr_str();
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{platform}: the secret was read:\n{stdout}\n{stderr}"
        );
        assert_ne!(
            out.status, 0,
            "{platform}: cat of only missing files must fail"
        );
        // Every attempt failed on its own (one error line each).
        for t in tries {
            assert!(
                stderr.contains(t),
                "{platform}: no error for {t}:\n{stderr}"
            );
        }

        // Through descriptors: the root's own, and fd 0, donated by the host and open
        // on the directory that holds the secret, outside the root.
        let donated = dir.path();
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--root-dir")
            .arg(&root)
            .arg("--")
            .arg("/bin/escape_fd")
            .stdin(std::fs::File::open(donated).expect("opening the donated directory"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("starting runsc");
        let status = tests::wait_timeout(&mut child, TIMEOUT);
        if status.is_none() {
            tests::kill_group(&child);
        }
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
            .expect("reading stdout");
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{platform}: {stdout}"
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 14, "{platform}: {stdout}");
        for l in lines {
            assert!(l.ends_with(": refused"), "{platform}: {l}\n{stdout}");
        }
    }
}

/// With the default overlay, writes, deletes and renames under /etc and /usr succeed
/// inside the sandbox and the host tree is untouched afterwards.
#[test]
fn overlay_keeps_the_host_untouched() {
    let prog = tests::build_program("overlay_writes", tests::Link::Static);
    let watched = ["/etc/hostname", "/etc/passwd", "/etc/group", "/usr/bin/env"];
    let before: Vec<Option<(Vec<u8>, u32)>> = watched.iter().map(|p| snapshot(p)).collect();
    let tag = format!("{}", std::process::id());
    for platform in available_platforms("overlay_keeps_the_host_untouched") {
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--")
            .arg(&prog)
            .arg(&tag);
        let out = run(cmd, b"", TIMEOUT);
        assert_eq!(
            out.status,
            0,
            "{platform}: {}\n{}",
            out.stdout_str(),
            out.stderr_str()
        );
        let after: Vec<Option<(Vec<u8>, u32)>> = watched.iter().map(|p| snapshot(p)).collect();
        assert_eq!(before, after, "{platform}: the host tree changed");
        for p in [
            format!("/etc/runsc-overlay-{tag}"),
            format!("/etc/runsc-overlay-{tag}.renamed"),
            format!("/usr/runsc-overlay-{tag}"),
        ] {
            assert!(
                !Path::new(&p).exists(),
                "{platform}: {p} appeared on the host"
            );
        }
        assert!(Path::new("/usr/share").is_dir());
        assert!(!Path::new("/etc/group.moved").exists());
    }
}

/// A file's contents and mode, or None when it does not exist.
fn snapshot(path: &str) -> Option<(Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((std::fs::read(path).ok()?, meta.permissions().mode()))
}

/// A directory on the path is swapped on the host for a symlink to a directory outside
/// the root, over and over, while the sandbox opens a file below it: the outside file is
/// never read (the gofer walks one component at a time without following symlinks, and
/// the sentry resolves symlinks inside the sandbox's root).
#[test]
fn symlink_swap_race_never_escapes() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = TempDir::new("swap");
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("bin")).expect("root");
    std::fs::create_dir_all(root.join("a")).expect("a");
    std::fs::create_dir_all(&outside).expect("outside");
    std::fs::write(root.join("a/file"), "inside").expect("inside file");
    std::fs::write(outside.join("file"), "SECRET-OUTSIDE").expect("outside file");
    let prog = tests::build_program("open_loop", tests::Link::Static);
    std::fs::copy(&prog, root.join("bin/open_loop")).expect("copy");
    std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, root) = (stop.clone(), root.clone());
        std::thread::spawn(move || {
            let (a, real, link) = (root.join("a"), root.join("a.real"), root.join("link"));
            while !stop.load(Ordering::Relaxed) {
                // a: directory → symlink to outside → directory.
                let _ = std::fs::rename(&a, &real);
                let _ = std::fs::rename(&link, &a);
                std::thread::yield_now();
                let _ = std::fs::rename(&a, &link);
                let _ = std::fs::rename(&real, &a);
            }
        })
    };
    for platform in available_platforms("symlink_swap_race_never_escapes") {
        // The swapper can starve every open of a run (the directory is gone or a symlink
        // each time): such a run proves nothing, so it is repeated, a few times at most.
        let mut opened = 0;
        for _ in 0..5 {
            let mut cmd = Command::new(runsc());
            cmd.arg(format!("--platform={platform}"))
                .arg("--overlay=none")
                .arg("do")
                .arg("--root-dir")
                .arg(&root)
                .arg("--")
                .args(["/bin/open_loop", "/a/file", "3000", "SECRET"]);
            let out = run(cmd, b"", TIMEOUT);
            let stdout = out.stdout_str();
            assert_eq!(out.status, 0, "{platform}: {stdout}{}", out.stderr_str());
            assert!(stdout.contains(" leaked 0\n"), "{platform}: {stdout}");
            opened = stdout
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0u64);
            eprintln!("{platform}: {}", stdout.trim());
            if opened > 0 {
                break;
            }
        }
        // The loop really opened files (the race was run, not skipped).
        assert!(opened > 0, "{platform}: nothing was opened in 5 runs");
    }
    stop.store(true, Ordering::Relaxed);
    let _ = swapper.join();
}

/// An application scribbling over the top of the address space (where the stub lives)
/// gets refusals and EFAULT, dies by SIGSEGV on a direct store, and a sandbox running
/// beside it is unaffected.
#[test]
fn scribbling_at_the_stub_region_is_contained() {
    let scribble = tests::build_program("scribble", tests::Link::Static);
    let busybox = tests::busybox();
    for platform in available_platforms("scribbling_at_the_stub_region_is_contained") {
        let mut neighbour = Command::new(runsc());
        neighbour
            .arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--")
            .arg(&busybox)
            .args(["seq", "1", "200000"]);
        neighbour.stdout(std::process::Stdio::piped());
        let neighbour = neighbour.spawn().expect("starting the neighbour sandbox");
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--")
            .arg(&scribble);
        let out = run(cmd, b"", TIMEOUT);
        let stdout = out.stdout_str();
        assert_eq!(
            out.status,
            128 + 11,
            "{platform}: want death by SIGSEGV: {stdout}{}",
            out.stderr_str()
        );
        let nums: Vec<i64> = stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(nums.len(), 4, "{platform}: {stdout}");
        let (refused, efault, other) = (nums[1], nums[2], nums[3]);
        // kvm keeps its stub above the user range (in the upper half, scribbled on by
        // tests/kvm.rs), so the whole probed range is the application's to map.
        assert!(
            refused > 0 || platform == "kvm",
            "{platform}: no mapping was refused near the top: {stdout}"
        );
        assert_eq!(
            other, 0,
            "{platform}: a write from an unmapped address did not fault: {stdout}"
        );
        assert!(efault > 0, "{platform}: {stdout}");
        let done = neighbour.wait_with_output().expect("neighbour");
        assert!(
            done.status.success(),
            "{platform}: the neighbour sandbox failed"
        );
        let text = String::from_utf8_lossy(&done.stdout);
        assert_eq!(
            text.lines().count(),
            200000,
            "{platform}: the neighbour's output was cut"
        );
    }
}

/// Absurd file sizes on the sandbox's in-memory filesystems fail with ENOSPC instead of
/// exhausting the sentry's memory.
#[test]
fn huge_sizes_are_refused() {
    let prog = tests::build_program("huge_sizes", tests::Link::Static);
    for platform in available_platforms("huge_sizes_are_refused") {
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .arg("do")
            .arg("--")
            .arg(&prog);
        let out = run(cmd, b"", TIMEOUT);
        assert_eq!(
            out.status,
            0,
            "{platform}: {}{}",
            out.stdout_str(),
            out.stderr_str()
        );
    }
}

/// Shared mappings of host files with `--overlay=none`: the pages are the gofer file's
/// page cache, coherent with read/write in the sandbox and written back to the host on
/// msync and close. The shared_mmap program runs in a host directory (not under /tmp,
/// which is a tmpfs inside), natively and in the sandbox; the outputs must match.
#[test]
fn shared_mmap_of_host_files() {
    let prog = tests::build_program("shared_mmap", tests::Link::Static);
    let dir = TempDir::new_in(&tests::target_dir(), "shared-mmap");
    let arg = dir.path().to_str().expect("utf-8 path");
    let native = run(
        tests::native_command(&prog, &[arg], dir.path()),
        b"",
        TIMEOUT,
    );
    assert_eq!(native.status, 0, "native: {}", native.stdout_str());
    for platform in available_platforms("shared_mmap_of_host_files") {
        let cmd = tests::runsc_command(&platform, &["--overlay=none"], &prog, &[arg], dir.path());
        let out = run(cmd, b"", TIMEOUT);
        if let Err(diff) = tests::compare(&native, &out) {
            panic!("{platform}: {diff}\n{}", out.stderr_str());
        }
    }
    // The program cleaned up after itself on the host, in both runs.
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}
