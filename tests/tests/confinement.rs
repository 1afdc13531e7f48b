//! The sandbox process's own confinement (DESIGN.md §8): its seccomp allowlist, as
//! `runsc debug --seccomp` prints it, has no way to open, execute, mount, trace a foreign
//! process or load a kernel; a sentry that tries is killed; a running sandbox has the
//! filter, `no_new_privs` and no capabilities, while its stub processes carry only their
//! own filter.

use std::process::Command;
use std::time::{Duration, Instant};
use tests::{TIMEOUT, available_platforms, busybox, run, runsc};

const SIGSYS: i32 = 31;

/// The syscalls the allowlist must never hold (the list and their siblings).
const NEVER: &[&str] = &[
    "open",
    "openat",
    "openat2",
    "creat",
    "execve",
    "execveat",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "bpf",
    "setns",
    "unshare",
];

fn allowlist(platform: &str, network: &str) -> Vec<String> {
    let mut cmd = Command::new(runsc());
    cmd.arg(format!("--platform={platform}"))
        .arg(format!("--network={network}"))
        .args(["debug", "--seccomp"]);
    let out = run(cmd, b"", TIMEOUT);
    assert_eq!(out.status, 0, "runsc debug --seccomp: {}", out.stderr_str());
    out.stdout_str()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split([':', ' '])
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn allowlist_never_opens_executes_mounts_or_loads() {
    for platform in ["seccomp", "ptrace", "kvm"] {
        // Host networking adds sockets and nothing else of the list.
        let host = allowlist(platform, "host");
        assert!(host.iter().any(|x| x == "socket"), "{platform}: host network without socket");
        for &n in NEVER {
            assert!(!host.iter().any(|x| x == n), "{platform}, host network: {n} is allowed");
        }
        let names = allowlist(platform, "none");
        assert!(
            names.len() > 40,
            "{platform}: suspiciously short list: {names:?}"
        );
        for &n in ["read", "write", "futex", "mmap"].iter() {
            assert!(names.iter().any(|x| x == n), "{platform}: {n} missing");
        }
        for &n in NEVER {
            assert!(!names.iter().any(|x| x == n), "{platform}: {n} is allowed");
        }
        // No host network: no socket.
        assert!(
            !names.iter().any(|x| x == "socket"),
            "{platform}: socket allowed"
        );
        // ptrace only where the platform is ptrace: its stubs are its children, in the
        // sandbox's own pid namespace.
        assert_eq!(
            names.iter().any(|x| x == "ptrace"),
            platform == "ptrace",
            "{platform}: ptrace"
        );
    }
}

/// `runsc debug --seccomp-probe NAME` installs the allowlist, drops capabilities and
/// makes the call: the process must die of SIGSYS (a returned call prints why).
#[test]
fn a_refused_syscall_kills_the_sentry() {
    for name in [
        "open",
        "openat",
        "execve",
        "socket",
        "mount",
        "ptrace",
        "kexec_load",
    ] {
        let mut cmd = Command::new(runsc());
        cmd.args(["--platform=seccomp", "--network=none", "debug", "--seccomp-probe", name]);
        let out = run(cmd, b"", TIMEOUT);
        assert_eq!(
            out.status,
            128 + SIGSYS,
            "{name}: want death by SIGSYS, got {}; stderr: {}",
            tests::describe_status(out.status),
            out.stderr_str()
        );
    }
}

/// A field of /proc/PID/status.
fn status_field(pid: u32, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The children of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let path = t.path().join("children");
            if let Ok(text) = std::fs::read_to_string(path) {
                out.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    out
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn ns(pid: u32, kind: &str) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()
}

/// `runsc do` waits for the sandbox process, which runs the sentry in namespaces of its
/// own, confined; its gofer and stubs are confined too, each its own way.
#[test]
fn a_running_sandbox_is_confined() {
    for platform in available_platforms("a_running_sandbox_is_confined") {
        let mut child = Command::new(runsc())
            .arg(format!("--platform={platform}"))
            // (With --network=host it keeps the host's network namespace, and may make
            // TCP/UDP sockets.)
            .args(["--network=none", "do", "--"])
            .arg(busybox())
            .args(["sh", "-c", "echo up; sleep 30"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("runsc do");
        let pid = child.id();
        // Wait for the application to run (it prints once it does).
        use std::io::Read;
        let mut buf = [0u8; 3];
        let _ = child.stdout.as_mut().unwrap().read_exact(&mut buf);
        let sentry = children(pid).into_iter().next();
        let deadline = Instant::now() + Duration::from_secs(10);
        while sentry.is_some_and(|s| status_field(s, "Seccomp").as_deref() != Some("2"))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = |p: u32| -> Vec<(&'static str, Option<String>)> {
            [
                "Seccomp",
                "NoNewPrivs",
                "CapEff",
                "CapPrm",
                "CapBnd",
                "CapInh",
                "CapAmb",
                "NSpid",
            ]
            .iter()
            .map(|&k| (k, status_field(p, k)))
            .collect()
        };
        let sentry_status = sentry.map(status);
        let sentry_ns: Vec<_> = ["mnt", "pid", "ipc", "uts", "net"]
            .iter()
            .map(|k| (*k, sentry.and_then(|s| ns(s, k)), ns(std::process::id(), k)))
            .collect();
        let sentry_root: Option<Vec<String>> = sentry.and_then(|s| {
            std::fs::read_dir(format!("/proc/{s}/root")).ok().map(|d| {
                let mut v: Vec<String> = d
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                v.sort();
                v
            })
        });
        let kids: Vec<u32> = sentry.map(children).unwrap_or_default();
        let stubs: Vec<(u32, Option<String>, Option<String>)> = kids
            .iter()
            .filter(|&&c| status_field(c, "Name").as_deref() == Some("runsc-stub"))
            .map(|&c| {
                (
                    c,
                    status_field(c, "Seccomp"),
                    status_field(c, "Seccomp_filters"),
                )
            })
            .collect();
        let gofer = kids
            .iter()
            .copied()
            .find(|&c| cmdline(c).contains(" gofer "));
        let factory: Vec<(Option<String>, Option<String>)> = kids
            .iter()
            .filter(|&&c| status_field(c, "Name").as_deref() == Some("runsc-factory"))
            .map(|&c| (status_field(c, "Seccomp"), status_field(c, "Seccomp_filters")))
            .collect();
        let gofer_status = gofer.map(status);
        let gofer_root = gofer.and_then(|g| std::fs::read_link(format!("/proc/{g}/root")).ok());
        let _ = child.kill();
        let _ = child.wait();

        let sentry_status = sentry_status
            .unwrap_or_else(|| panic!("{platform}: no sandbox process under runsc do"));
        for (k, v) in &sentry_status {
            let v = v.as_deref().unwrap_or("");
            match *k {
                "Seccomp" => assert_eq!(v, "2", "{platform}: sentry's {k}"),
                "NoNewPrivs" => assert_eq!(v, "1", "{platform}: sentry's {k}"),
                // The first process of its own pid namespace.
                "NSpid" => assert!(
                    v.ends_with("\t1") || v.ends_with(" 1"),
                    "{platform}: sentry's NSpid {v:?}"
                ),
                _ => assert_eq!(v, "0000000000000000", "{platform}: sentry's {k}"),
            }
        }
        for (kind, theirs, ours) in sentry_ns {
            assert!(
                theirs.is_some() && theirs != ours,
                "{platform}: the sentry shares our {kind} namespace"
            );
        }
        // Its root is an empty directory (kvm: but for the device and the directory that
        // tells PVM from hardware KVM).
        let want: Vec<String> = if platform == "kvm" {
            let mut v = vec!["dev".to_string()];
            if std::path::Path::new("/sys/module/kvm_pvm").is_dir() {
                v.push("sys".into());
            }
            v
        } else {
            Vec::new()
        };
        assert_eq!(sentry_root, Some(want), "{platform}: the sentry's root");
        let gofer_status = gofer_status.unwrap_or_else(|| panic!("{platform}: no gofer found"));
        for (k, v) in &gofer_status {
            let v = v.as_deref().unwrap_or("");
            match *k {
                "Seccomp" => assert_eq!(v, "2", "{platform}: gofer's {k}"),
                "NoNewPrivs" => assert_eq!(v, "1", "{platform}: gofer's {k}"),
                // CAP_CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID.
                "CapEff" | "CapPrm" | "CapBnd" => {
                    assert_eq!(v, "000000000000001f", "{platform}: gofer's {k}")
                }
                "CapInh" | "CapAmb" => assert_eq!(v, "0000000000000000", "{platform}: gofer's {k}"),
                _ => {}
            }
        }
        // It was pivoted into the tree it serves (here the host's /, seen from its own
        // mount namespace).
        assert_eq!(
            gofer_root.as_deref(),
            Some(std::path::Path::new("/")),
            "{platform}: gofer root"
        );
        // The stub factory runs under a filter of its own.
        if platform == "kvm" {
            assert!(factory.is_empty(), "kvm has no stub factory");
        } else {
            // (A stub that the factory is forking this instant still has its name.)
            assert!(!factory.is_empty(), "{platform}: no stub factory");
            for f in &factory {
                assert_eq!(
                    (f.0.as_deref(), f.1.as_deref()),
                    (Some("2"), Some("1")),
                    "{platform}: the stub factory's filter"
                );
            }
        }
        if platform == "kvm" {
            assert!(stubs.is_empty(), "kvm has no stub processes: {stubs:?}");
        } else {
            assert!(!stubs.is_empty(), "{platform}: no stub process found");
            for (pid, mode, filters) in stubs {
                // Not the sentry's allowlist (it would kill them on their application's
                // first syscall): the factory's, and on seccomp the stub's own too.
                let want = if platform == "seccomp" {
                    ("2", "2")
                } else {
                    ("2", "1")
                };
                assert_eq!(
                    (mode.as_deref(), filters.as_deref()),
                    (Some(want.0), Some(want.1)),
                    "{platform}: stub {pid}'s filters"
                );
            }
        }
    }
}
