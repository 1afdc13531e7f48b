//! The OCI lifecycle against `runsc` directly, as containerd's shim and podman drive
//! runc (runtime-spec runtime.md): spec, create → state → start → kill → wait → delete,
//! run with an exit status, ps, pause/resume, and the errors of a bad bundle or a wrong
//! state — each one line on stderr and a JSON line in the `--log` file, with nothing
//! left behind. The bundles' root filesystem is a tiny busybox tree made per test.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tests::{Outcome, TIMEOUT, TempDir, available_platforms, busybox, run, runsc, skip};

/// One test's world: a state root, a log file and bundles, under a temp dir.
struct Oci {
    dir: TempDir,
    platform: String,
}

impl Oci {
    /// None (with a printed reason) when the test cannot run here.
    fn new(test: &str) -> Option<Oci> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip(&format!(
                "{test}: needs root (the sandbox runs as the caller)"
            ));
            return None;
        }
        let platform = available_platforms(test).into_iter().next()?;
        let dir = TempDir::new(&format!("oci-{test}"));
        std::fs::create_dir(dir.path().join("root")).unwrap();
        Some(Oci { dir, platform })
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log.json")
    }

    /// `runsc` with the global flags a containerd shim passes.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(runsc());
        c.arg(format!("--platform={}", self.platform))
            .arg("--root")
            .arg(self.root())
            .arg("--log")
            .arg(self.log())
            .arg("--log-format")
            .arg("json")
            .args(args);
        c
    }

    /// Runs a command that starts no sandbox (its output is read to the end).
    fn runsc(&self, args: &[&str]) -> Outcome {
        run(self.cmd(args), b"", TIMEOUT)
    }

    /// Runs `create`/`run --detach`: the sandbox keeps the stdio it is given, so the
    /// command's output goes to files, read once it has exited.
    fn detached(&self, args: &[&str]) -> Outcome {
        let out = self.dir.path().join("detached.out");
        let err = self.dir.path().join("detached.err");
        let mut c = self.cmd(args);
        c.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        let mut child = c.spawn().expect("spawning runsc");
        let status = tests::wait_timeout(&mut child, TIMEOUT).unwrap_or_else(|| {
            let _ = child.kill();
            panic!("runsc {args:?} did not finish");
        });
        Outcome {
            status: tests::status_code(status),
            stdout: std::fs::read(&out).unwrap(),
            stderr: std::fs::read(&err).unwrap(),
        }
    }

    /// A bundle named `name` whose process runs `args`; `edit` changes its config.
    fn bundle(
        &self,
        name: &str,
        args: &[&str],
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> PathBuf {
        let b = self.dir.path().join(name);
        let rootfs = b.join("rootfs");
        for d in ["bin", "proc", "dev", "sys", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy(busybox(), rootfs.join("bin/busybox")).unwrap();
        for l in ["sh", "echo", "sleep", "true", "cat", "id"] {
            symlink("busybox", rootfs.join("bin").join(l)).unwrap();
        }
        let out = run(
            {
                let mut c = Command::new(runsc());
                c.arg("spec").arg("--bundle").arg(&b);
                c
            },
            b"",
            TIMEOUT,
        );
        assert_eq!(out.status, 0, "runsc spec: {}", out.stderr_str());
        let path = b.join("config.json");
        let mut cfg: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        cfg["process"]["terminal"] = false.into();
        cfg["process"]["args"] = args.into();
        edit(&mut cfg);
        std::fs::write(&path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
        b
    }

    fn state(&self, id: &str) -> serde_json::Value {
        let out = self.runsc(&["state", id]);
        assert_eq!(out.status, 0, "state {id}: {}", out.stderr_str());
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("state {id}: bad JSON ({e}): {}", out.stdout_str()))
    }

    fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap_or("").to_string()
    }

    /// Creates container `id` from `bundle` and checks it is `created`; returns the
    /// sandbox pid from the pid file.
    fn create(&self, bundle: &Path, id: &str) -> i32 {
        let pid_file = self.dir.path().join(format!("{id}.pid"));
        let out = self.detached(&[
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            id,
        ]);
        assert_eq!(out.status, 0, "create {id}: {}", out.stderr_str());
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("create writes the pid file")
            .trim()
            .parse()
            .expect("the pid file holds a number");
        let st = self.state(id);
        assert_eq!(st["status"], "created", "{st}");
        assert_eq!(
            st["pid"], pid,
            "the state's pid is the sandbox process: {st}"
        );
        assert_eq!(st["id"], id);
        assert!(st["ociVersion"].is_string(), "{st}");
        assert_eq!(st["bundle"], bundle.to_str().unwrap());
        pid
    }

    /// Removes every container left by a failed test (the sandboxes would outlive it).
    fn cleanup(&self) {
        if let Ok(rd) = std::fs::read_dir(self.root()) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.runsc(&["delete", "--force", &id]);
            }
        }
    }

    fn assert_no_container(&self, what: &str) {
        let left: Vec<_> = std::fs::read_dir(self.root())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{what}: state left behind: {left:?}");
    }

    /// The last line of the log file, which must be JSON with a `msg`.
    fn last_log_msg(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let line = text
            .lines()
            .last()
            .unwrap_or_else(|| panic!("empty log file"));
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert_eq!(v["level"], "error", "{line}");
        assert!(v["time"].is_string(), "{line}");
        v["msg"]
            .as_str()
            .unwrap_or_else(|| panic!("no msg: {line}"))
            .to_string()
    }
}

impl Drop for Oci {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Whether process `pid` is gone (or a zombie waiting for its reaper).
fn gone(pid: i32) -> bool {
    tests::procs::stat(pid).is_none_or(|(s, _)| s == 'Z' || s == 'X')
}

/// A shell that exits 3 on SIGTERM and 5 on SIGUSR1 (handled, so the test does not
/// depend on how the sandbox's init treats default actions), once its child runs.
const TRAP_TERM: &str = "trap 'exit 3' TERM; trap 'exit 5' USR1; sleep 1000 & wait";

/// The sandbox's pids, as `ps` (table) lists them.
fn sandbox_pids(o: &Oci, id: &str) -> Vec<i32> {
    let out = o.runsc(&["ps", id]);
    assert_eq!(out.status, 0, "ps: {}", out.stderr_str());
    out.stdout_str()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

/// Waits until the container has `n` processes (its shell has set its traps).
fn wait_for_processes(o: &Oci, id: &str, n: usize) {
    eventually(&format!("{id} has {n} processes"), || {
        sandbox_pids(o, id).len() == n
    });
}

/// Polls `cond` (a generous bound only against hangs).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "{what}: still not so after {TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One line on stderr starting `runsc: ` and naming `mention`, a non-zero exit
/// without a signal, and the same message as the last JSON line of the log.
fn assert_error(o: &Oci, what: &str, out: &Outcome, mention: &str) {
    let stderr = out.stderr_str();
    assert!(
        out.status != 0 && out.status < 128,
        "{what}: want a plain non-zero exit, got {}; stderr: {stderr}",
        out.status
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: want one stderr line: {stderr}");
    assert!(lines[0].starts_with("runsc: "), "{what}: {stderr}");
    assert!(
        lines[0].contains(mention),
        "{what}: should mention {mention:?}: {stderr}"
    );
    let msg = o.last_log_msg();
    assert_eq!(
        format!("runsc: {msg}"),
        lines[0],
        "{what}: log and stderr differ"
    );
}

#[test]
fn spec_writes_a_default_config() {
    let dir = TempDir::new("oci-spec");
    let out = run(
        {
            let mut c = Command::new(runsc());
            c.arg("spec").current_dir(dir.path());
            c
        },
        b"",
        TIMEOUT,
    );
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(cfg["ociVersion"].is_string(), "{cfg}");
    assert_eq!(cfg["root"]["path"], "rootfs");
    assert_eq!(cfg["process"]["args"][0], "sh");
    assert_eq!(cfg["process"]["cwd"], "/");
    // A second spec does not overwrite it.
    let again = run(
        {
            let mut c = Command::new(runsc());
            c.arg("spec").arg("--bundle").arg(dir.path());
            c
        },
        b"",
        TIMEOUT,
    );
    assert_ne!(again.status, 0);
    assert!(
        again.stderr_str().contains("exists"),
        "{}",
        again.stderr_str()
    );
}

#[test]
fn lifecycle_create_start_kill_delete() {
    let Some(o) = Oci::new("lifecycle") else {
        return;
    };
    let b = o.bundle("b", &["sh", "-c", TRAP_TERM], |_| {});
    let pid = o.create(&b, "c1");
    assert!(!gone(pid), "the sandbox process runs after create");
    let out = o.runsc(&["start", "c1"]);
    assert_eq!(out.status, 0, "start: {}", out.stderr_str());
    assert_eq!(o.status("c1"), "running");
    wait_for_processes(&o, "c1", 2);
    let out = o.runsc(&["kill", "c1", "15"]);
    assert_eq!(out.status, 0, "kill: {}", out.stderr_str());
    let out = o.runsc(&["wait", "c1"]);
    assert_eq!(out.stdout_str().trim(), "3", "the TERM trap exits 3");
    assert_eq!(out.status, 3);
    eventually("the sandbox process exits", || gone(pid));
    assert_eq!(o.status("c1"), "stopped");
    let out = o.runsc(&["delete", "c1"]);
    assert_eq!(out.status, 0, "delete: {}", out.stderr_str());
    o.assert_no_container("after delete");
    let out = o.runsc(&["state", "c1"]);
    assert_ne!(out.status, 0, "a deleted container has no state");
}

#[test]
fn run_exits_with_the_container_status() {
    let Some(o) = Oci::new("run42") else { return };
    let b = o.bundle(
        "b",
        &[
            "sh",
            "-c",
            "echo out $HOSTNAME $(cat /proc/sys/kernel/hostname); echo err >&2; exit 42",
        ],
        |c| {
            c["hostname"] = "box42".into();
            c["process"]["env"] = serde_json::json!(["PATH=/bin", "HOSTNAME=h"]);
        },
    );
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "r1"]);
    assert_eq!(out.status, 42, "stderr: {}", out.stderr_str());
    assert_eq!(out.stdout_str(), "out h box42\n");
    assert_eq!(out.stderr_str(), "err\n");
    o.assert_no_container("run deletes the container after it exits");
}

#[test]
fn kill_with_a_named_signal() {
    let Some(o) = Oci::new("killname") else {
        return;
    };
    let b = o.bundle("b", &["sh", "-c", TRAP_TERM], |_| {});
    let pid = o.create(&b, "k1");
    assert_eq!(o.runsc(&["start", "k1"]).status, 0);
    wait_for_processes(&o, "k1", 2);
    let out = o.runsc(&["kill", "k1", "SIGUSR1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let out = o.runsc(&["wait", "k1"]);
    assert_eq!(out.stdout_str().trim(), "5", "the USR1 trap exits 5");
    eventually("the sandbox exits", || gone(pid));
    // KILL without the SIG prefix, on a created container.
    let pid = o.create(&b, "k2");
    let out = o.runsc(&["kill", "k2", "KILL"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    eventually("the sandbox exits", || gone(pid));
    assert_eq!(o.status("k2"), "stopped");
    let out = o.runsc(&["kill", "k2", "NOSUCHSIG"]);
    assert_ne!(out.status, 0);
    // A stopped container: runc's phrase, which container engines look for.
    let out = o.runsc(&["kill", "k2", "9"]);
    assert_error(
        &o,
        "kill of a stopped container",
        &out,
        "container not running",
    );
    assert_eq!(o.runsc(&["delete", "k2"]).status, 0);
    // delete --force of an id that is gone is no error.
    let out = o.runsc(&["delete", "--force", "k2"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
}

#[test]
fn ps_lists_the_sandbox_processes() {
    let Some(o) = Oci::new("ps") else { return };
    let b = o.bundle("b", &["sh", "-c", "sleep 1000 & sleep 1000; true"], |_| {});
    let host_pid = o.create(&b, "p1");
    assert_eq!(o.runsc(&["start", "p1"]).status, 0);
    // Both children have exec'd sleep (a child shows sh between its fork and exec).
    let mut pids = Vec::new();
    let mut table = String::new();
    eventually("three processes: sh and two sleeps", || {
        pids = sandbox_pids(&o, "p1");
        let out = o.runsc(&["ps", "p1"]);
        assert_eq!(out.status, 0, "{}", out.stderr_str());
        table = out.stdout_str();
        pids.len() == 3 && table.lines().filter(|l| l.ends_with(" sleep")).count() == 2
    });
    assert_eq!(pids[0], 1, "init is pid 1 in the sandbox: {pids:?}");
    // JSON is for engines (`docker top` keeps the host's `ps` rows of these pids): the
    // sandbox process, the container's one host process.
    let out = o.runsc(&["ps", "--format", "json", "p1"]);
    assert_eq!(
        serde_json::from_slice::<Vec<i32>>(&out.stdout).ok(),
        Some(vec![host_pid]),
        "{}",
        out.stdout_str()
    );
    assert_eq!(
        table.lines().count(),
        4,
        "a header and three rows:\n{table}"
    );
    let out = o.runsc(&["delete", "--force", "p1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
}

#[test]
fn pause_and_resume() {
    let Some(o) = Oci::new("pause") else { return };
    let b = o.bundle("b", &["sleep", "1000"], |_| {});
    let pid = o.create(&b, "z1");
    assert_eq!(o.runsc(&["start", "z1"]).status, 0);
    let out = o.runsc(&["pause", "z1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(o.status("z1"), "paused");
    assert!(!gone(pid), "a paused sandbox stays");
    let out = o.runsc(&["pause", "z1"]);
    assert_ne!(out.status, 0, "pausing a paused container is an error");
    let out = o.runsc(&["resume", "z1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(o.status("z1"), "running");
    let out = o.runsc(&["events", "--stats", "z1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["data"]["pids"]["current"], 1, "{ev}");
    // A paused container is killed by SIGKILL.
    assert_eq!(o.runsc(&["pause", "z1"]).status, 0);
    assert_eq!(o.runsc(&["kill", "z1", "9"]).status, 0);
    let out = o.runsc(&["wait", "z1"]);
    assert_eq!(out.status, 137, "{}", out.stderr_str());
}

#[test]
fn a_paused_container_makes_no_progress() {
    let Some(o) = Oci::new("frozen") else { return };
    // It counts into a file on the host (the root is written through).
    let b = o.bundle(
        "b",
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /data/n; done",
        ],
        |c| {
            c["root"]["readonly"] = false.into();
        },
    );
    std::fs::create_dir(b.join("rootfs/data")).unwrap();
    let counter = b.join("rootfs/data/n");
    let out = {
        let mut c = Command::new(runsc());
        c.arg(format!("--platform={}", o.platform))
            .arg("--overlay=none")
            .arg("--root")
            .arg(o.root())
            .arg("run")
            .arg("--detach")
            .arg("--bundle")
            .arg(&b)
            .arg("f1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut ch = c.spawn().unwrap();
        tests::wait_timeout(&mut ch, TIMEOUT).expect("run --detach returns")
    };
    assert!(out.success());
    let read = || std::fs::read_to_string(&counter).unwrap_or_default();
    eventually("the loop counts", || !read().trim().is_empty());
    assert_eq!(o.runsc(&["pause", "f1"]).status, 0);
    // A task is stopped at its next return to application code, so the count may move
    // a little after pause returns; once it held for a moment, it must hold on.
    eventually("the count settles", || {
        let a = read();
        std::thread::sleep(Duration::from_millis(100));
        a == read()
    });
    let a = read();
    std::thread::sleep(Duration::from_millis(500));
    let b2 = read();
    assert_eq!(a, b2, "the count moved while paused");
    assert_eq!(o.runsc(&["resume", "f1"]).status, 0);
    eventually("the count moves again", || {
        read() != b2 && !read().is_empty()
    });
    assert_eq!(o.runsc(&["delete", "--force", "f1"]).status, 0);
}

#[test]
fn delete_force_leaves_no_process() {
    let Some(o) = Oci::new("delforce") else {
        return;
    };
    let b = o.bundle("b", &["sleep", "1000"], |_| {});
    let pid = o.create(&b, "d1");
    assert_eq!(o.runsc(&["start", "d1"]).status, 0);
    let out = o.runsc(&["delete", "d1"]);
    assert_error(&o, "delete of a running container", &out, "not stopped");
    assert_eq!(o.status("d1"), "running");
    let out = o.runsc(&["delete", "--force", "d1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert!(gone(pid), "the sandbox process {pid} is still there");
    o.assert_no_container("after delete --force");
}

#[test]
fn bad_bundles_are_one_line_errors_and_leave_nothing() {
    let Some(o) = Oci::new("badbundle") else {
        return;
    };
    let create = |b: &Path, id: &str| o.detached(&["create", "--bundle", b.to_str().unwrap(), id]);
    // No config.json.
    let empty = o.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_error(
        &o,
        "missing config.json",
        &create(&empty, "e1"),
        "config.json",
    );
    // Invalid JSON.
    let b = o.bundle("badjson", &["true"], |_| {});
    std::fs::write(b.join("config.json"), b"{\"ociVersion\": ").unwrap();
    assert_error(&o, "invalid JSON", &create(&b, "e2"), "config");
    // A rootfs that does not exist.
    let b = o.bundle("noroot", &["true"], |c| {
        c["root"]["path"] = "nowhere".into()
    });
    assert_error(&o, "missing rootfs", &create(&b, "e3"), "nowhere");
    // Empty args.
    let b = o.bundle("noargs", &[], |_| {});
    assert_error(&o, "empty args", &create(&b, "e4"), "args");
    // A relative cwd.
    let b = o.bundle("relcwd", &["true"], |c| c["process"]["cwd"] = "tmp".into());
    assert_error(&o, "relative cwd", &create(&b, "e5"), "cwd");
    // A terminal whose console socket is not a socket.
    let b = o.bundle("tty", &["true"], |c| c["process"]["terminal"] = true.into());
    let not_socket = b.join("config.json");
    let out = o.detached(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        not_socket.to_str().unwrap(),
        "e6",
    ]);
    assert_error(&o, "terminal", &out, "console-socket");
    // A program that is not in the rootfs: the sandbox fails while it is created.
    let b = o.bundle("noprog", &["/bin/nosuch"], |_| {});
    let out = create(&b, "e7");
    assert_error(&o, "missing program", &out, "nosuch");
    o.assert_no_container("after failed creates");
    let out = o.runsc(&["list", "--format", "json"]);
    assert_eq!(out.stdout_str().trim(), "[]");
}

#[test]
fn wrong_states_and_ids_are_errors() {
    let Some(o) = Oci::new("wrongstate") else {
        return;
    };
    for (what, args) in [
        ("state", vec!["state", "nosuch"]),
        ("start", vec!["start", "nosuch"]),
        ("kill", vec!["kill", "nosuch", "9"]),
        ("delete", vec!["delete", "nosuch"]),
        ("ps", vec!["ps", "nosuch"]),
        ("pause", vec!["pause", "nosuch"]),
    ] {
        assert_error(
            &o,
            &format!("{what} of an unknown id"),
            &o.runsc(&args),
            "does not exist",
        );
    }
    let b = o.bundle("b", &["sleep", "1000"], |_| {});
    o.create(&b, "w1");
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "w1"]);
    assert_error(&o, "a second create", &out, "already exists");
    assert_eq!(
        o.status("w1"),
        "created",
        "the first container is untouched"
    );
    assert_eq!(o.runsc(&["start", "w1"]).status, 0);
    assert_error(
        &o,
        "start of a running container",
        &o.runsc(&["start", "w1"]),
        "running",
    );
    let out = o.runsc(&["list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], "w1", "{list}");
    assert_eq!(list[0]["status"], "running", "{list}");
    assert_eq!(o.runsc(&["delete", "--force", "w1"]).status, 0);
}

#[test]
fn state_during_create_is_never_corrupt() {
    let Some(o) = Oci::new("concurrent") else {
        return;
    };
    let b = o.bundle("b", &["sleep", "1000"], |_| {});
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = o.runsc(&["state", "s1"]);
                if out.status == 0 {
                    let st: serde_json::Value =
                        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                            panic!("corrupt state JSON ({e}): {}", out.stdout_str())
                        });
                    let status = st["status"].as_str().unwrap_or_default().to_string();
                    assert!(
                        ["creating", "created"].contains(&status.as_str()),
                        "status {status} during create"
                    );
                    seen += 1;
                } else {
                    assert!(
                        out.stderr_str().contains("does not exist"),
                        "{}",
                        out.stderr_str()
                    );
                }
            }
            seen
        });
        o.create(&b, "s1");
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.join().unwrap();
        tests::note(&format!(
            "state read {seen} times with a state file during create"
        ));
    });
    // Concurrent commands on one container: one start wins, the others see it running.
    let outs: Vec<Outcome> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|_| s.spawn(|| o.runsc(&["start", "s1"])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = outs.iter().filter(|x| x.status == 0).count();
    assert_eq!(ok, 1, "exactly one start succeeds: {outs:?}");
    assert_eq!(o.status("s1"), "running");
    assert_eq!(o.runsc(&["delete", "--force", "s1"]).status, 0);
}

#[test]
fn hooks_get_the_state_on_stdin() {
    let Some(o) = Oci::new("hooks") else { return };
    let out_dir = o.dir.path().join("hookout");
    std::fs::create_dir(&out_dir).unwrap();
    let hook = |name: &str| {
        serde_json::json!({
            "path": "/bin/busybox",
            "args": ["sh", "-c", format!("cat > {}/{name}", out_dir.display())],
        })
    };
    let b = o.bundle("b", &["true"], |c| {
        c["hooks"] = serde_json::json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")],
        });
        c["annotations"] = serde_json::json!({"org.example.key": "value"});
    });
    let pid = o.create(&b, "h1");
    for h in ["prestart", "createRuntime"] {
        let st: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join(h)).unwrap()).unwrap();
        assert_eq!(st["id"], "h1", "{h}: {st}");
        assert_eq!(st["pid"], pid, "{h}: {st}");
        assert_eq!(st["annotations"]["org.example.key"], "value", "{h}: {st}");
    }
    assert!(!out_dir.join("poststart").exists());
    assert_eq!(o.runsc(&["start", "h1"]).status, 0);
    assert!(out_dir.join("poststart").exists());
    assert_eq!(o.runsc(&["wait", "h1"]).status, 0);
    assert_eq!(o.runsc(&["delete", "h1"]).status, 0);
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("poststop")).unwrap()).unwrap();
    assert_eq!(st["status"], "stopped", "{st}");
    // A failing createRuntime hook fails the create and leaves nothing.
    let b = o.bundle("bad", &["true"], |c| {
        c["hooks"] = serde_json::json!({
            "createRuntime": [{"path": "/bin/busybox", "args": ["false"]}],
        });
    });
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "h2"]);
    assert_error(&o, "failing hook", &out, "createRuntime");
    o.assert_no_container("after a failed hook");
}

#[test]
fn features_and_list() {
    let out = run(
        {
            let mut c = Command::new(runsc());
            c.arg("features");
            c
        },
        b"",
        TIMEOUT,
    );
    assert_eq!(out.status, 0);
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(f["ociVersionMax"].is_string(), "{f}");
    assert!(
        f["hooks"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x == "poststop")),
        "{f}"
    );
    // The capabilities a bundle may name, as runc lists them.
    let caps = f["linux"]["capabilities"]
        .as_array()
        .expect("a capability list");
    assert!(caps.iter().any(|c| c == "CAP_CHECKPOINT_RESTORE"), "{f}");
    assert_eq!(caps.len(), 41, "{f}");
}

#[test]
fn exec_runs_a_process_in_the_container() {
    let Some(o) = Oci::new("exec") else { return };
    let b = o.bundle("b", &["sleep", "1000"], |c| {
        c["process"]["env"] = serde_json::json!(["PATH=/bin", "FOO=bar"]);
    });
    o.create(&b, "x1");
    // Not before start.
    let out = o.runsc(&["exec", "x1", "true"]);
    assert_error(&o, "exec in a created container", &out, "created");
    assert_eq!(o.runsc(&["start", "x1"]).status, 0);
    // The container's env and cwd by default; our stdio; its exit status.
    let out = run(
        o.cmd(&[
            "exec",
            "x1",
            "sh",
            "-c",
            "read l; echo $l $FOO $(pwd); echo e >&2; exit 7",
        ]),
        b"input\n",
        TIMEOUT,
    );
    assert_eq!(out.status, 7, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "input bar /\n");
    assert_eq!(out.stderr_str(), "e\n");
    // --env, --cwd.
    let out = o.runsc(&[
        "exec",
        "--env",
        "FOO=baz",
        "--cwd",
        "/tmp",
        "x1",
        "sh",
        "-c",
        "echo $FOO $(pwd)",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "baz /tmp\n");
    // --process, as containerd's shim passes it.
    let pj = o.dir.path().join("process.json");
    std::fs::write(
        &pj,
        serde_json::to_vec(&serde_json::json!({
            "args": ["sh", "-c", "echo from json; exit 3"],
            "cwd": "/",
            "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0},
        }))
        .unwrap(),
    )
    .unwrap();
    let out = o.runsc(&["exec", "--process", pj.to_str().unwrap(), "x1"]);
    assert_eq!(out.status, 3, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "from json\n");
    // --detach: the pid file names a waiter that lives as long as the process.
    let pid_file = o.dir.path().join("exec.pid");
    let out = o.detached(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "x1",
        "sleep",
        "1000",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let waiter: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!gone(waiter), "the exec waiter runs");
    wait_for_processes(&o, "x1", 2);
    // It has no parent in the sandbox and is named as execve(2) names it.
    let table = o.runsc(&["ps", "x1"]).stdout_str();
    let row = table.lines().nth(2).unwrap_or_default().to_string();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cols.get(2),
        Some(&"0"),
        "ppid of the exec'd process: {table}"
    );
    assert_eq!(cols.last(), Some(&"sleep"), "{table}");
    // Errors: a program that is not there, a relative --cwd.
    let out = o.runsc(&["exec", "x1", "/bin/nosuch"]);
    assert_error(&o, "exec of a missing program", &out, "nosuch");
    let out = o.runsc(&["exec", "--cwd", "rel", "x1", "true"]);
    assert_error(&o, "exec with a relative cwd", &out, "absolute");
    // The waiter ends with the container.
    assert_eq!(o.runsc(&["kill", "x1", "KILL"]).status, 0);
    eventually("the exec waiter exits", || gone(waiter));
    assert_eq!(o.runsc(&["wait", "x1"]).status, 137);
    assert_eq!(o.runsc(&["delete", "x1"]).status, 0);
}

#[test]
fn the_process_runs_as_the_bundle_user_with_its_rlimits() {
    let Some(o) = Oci::new("user") else { return };
    let b = o.bundle(
        "b",
        &[
            "sh",
            "-c",
            "echo $(id -u) $(id -g) $(id -G); ulimit -n; ulimit -Hn",
        ],
        |c| {
            c["process"]["user"] =
                serde_json::json!({"uid": 1234, "gid": 567, "additionalGids": [89, 1011]});
            c["process"]["rlimits"] =
                serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]);
        },
    );
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "u1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let lines: Vec<String> = out.stdout_str().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let ids: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(&ids[..2], &["1234", "567"], "{lines:?}");
    let mut groups: Vec<&str> = ids[2..].to_vec();
    groups.sort_unstable();
    assert_eq!(groups, ["1011", "567", "89"], "id -G: {lines:?}");
    assert_eq!(lines[1], "321", "soft RLIMIT_NOFILE");
    assert_eq!(lines[2], "654", "hard RLIMIT_NOFILE");
    // A soft limit above the hard one is a bad bundle.
    let b = o.bundle("bad", &["true"], |c| {
        c["process"]["rlimits"] =
            serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]);
    });
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "u2"]);
    assert_error(&o, "soft above hard", &out, "RLIMIT_NOFILE");
    o.assert_no_container("after a bad rlimit");
}

#[test]
fn kill_all_reaches_every_process() {
    let Some(o) = Oci::new("killall") else { return };
    // Init notes a TERM (t=1) and waits on for its child, a subshell that exits 6 on
    // TERM; so the status is 16 only if both got it.
    let script = "trap 't=1' TERM; (trap 'exit 6' TERM; sleep 1000 & wait) & c=$!; \
                  while :; do wait $c; s=$?; [ $s -lt 128 ] && break; done; \
                  exit $((s + 10 * ${t:-0}))";
    let b = o.bundle("b", &["sh", "-c", script], |_| {});
    o.create(&b, "a1");
    assert_eq!(o.runsc(&["start", "a1"]).status, 0);
    wait_for_processes(&o, "a1", 3);
    let out = o.runsc(&["kill", "--all", "a1", "TERM"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let out = o.runsc(&["wait", "a1"]);
    assert_eq!(
        out.status,
        16,
        "init and its child both got TERM: {}",
        out.stdout_str()
    );
    assert_eq!(o.runsc(&["delete", "a1"]).status, 0);
}

#[test]
fn run_passes_signals_on_to_the_container() {
    let Some(o) = Oci::new("runsig") else { return };
    let b = o.bundle("b", &["sh", "-c", TRAP_TERM], |_| {});
    let mut c = o.cmd(&["run", "--bundle", b.to_str().unwrap(), "g1"]);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawning runsc run");
    eventually("g1 runs", || {
        let out = o.runsc(&["state", "g1"]);
        out.status == 0 && out.stdout_str().contains("\"running\"")
    });
    wait_for_processes(&o, "g1", 2);
    // SAFETY: kill only sends a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = tests::wait_timeout(&mut child, TIMEOUT).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("runsc run did not end after SIGTERM");
    });
    assert_eq!(
        tests::status_code(st),
        3,
        "the container's TERM trap ran (exit 3)"
    );
    o.assert_no_container("run deletes the container");
}

#[test]
fn tmpfs_and_bind_mounts() {
    let Some(o) = Oci::new("mounts") else { return };
    let rw = o.dir.path().join("rw");
    let ro = o.dir.path().join("ro");
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::write(ro.join("f"), "from the host\n").unwrap();
    // Single files, as Docker bind-mounts /etc/hosts and /etc/hostname: one read-only,
    // one read-write (written through to the host).
    let file = o.dir.path().join("afile");
    std::fs::write(&file, "a file\n").unwrap();
    let hosts = o.dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let script = "echo written > /data/out; cat /ro/f; \
                  if echo no > /ro/g; then echo ro-written; fi; \
                  echo t > /run/x && cat /run/x; ls -ld /run | cut -c1-10; \
                  cat /etc/f; if echo no > /etc/f; then echo ro-file-written; fi; \
                  echo '10.0.0.2 c1' >> /etc/hosts; cat /etc/hosts; \
                  ls /etc/f/x 2>/dev/null || echo not-a-dir";
    let (rw2, ro2, file2, hosts2) = (rw.clone(), ro.clone(), file.clone(), hosts.clone());
    let b = o.bundle("b", &["sh", "-c", script], move |c| {
        c["root"]["readonly"] = false.into();
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(serde_json::json!({"destination": "/run", "type": "tmpfs",
            "source": "tmpfs", "options": ["nosuid", "mode=755"]}));
        mounts.push(serde_json::json!({"destination": "/data", "type": "bind",
            "source": rw2, "options": ["rbind", "rw"]}));
        mounts.push(serde_json::json!({"destination": "/ro", "type": "bind",
            "source": ro2, "options": ["rbind", "ro"]}));
        mounts.push(serde_json::json!({"destination": "/etc/f", "type": "bind",
            "source": file2, "options": ["rbind", "ro"]}));
        mounts.push(
            serde_json::json!({"destination": "/etc/hosts", "type": "bind",
            "source": hosts2, "options": ["rbind", "rprivate"]}),
        );
    });
    for d in ["cut", "ls"] {
        symlink("busybox", b.join("rootfs/bin").join(d)).unwrap();
    }
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "m1"]);
    assert_eq!(
        out.stdout_str(),
        "from the host\nt\ndrwxr-xr-x\na file\n127.0.0.1 localhost\n10.0.0.2 c1\nnot-a-dir\n",
        "stderr: {}",
        out.stderr_str()
    );
    assert!(
        out.stderr_str().contains("Read-only file system"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(out.status, 0);
    // The read-write binds write through to the host even under the memory overlay.
    assert_eq!(
        std::fs::read_to_string(rw.join("out")).unwrap(),
        "written\n"
    );
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost\n10.0.0.2 c1\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a file\n");
    assert!(!ro.join("g").exists());
    // A missing source and a relative destination are bad bundles.
    let b = o.bundle("nosrc", &["true"], |c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": "/x",
            "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]}));
    });
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "m2"]);
    assert_error(&o, "missing bind source", &out, "/nonexistent/src");
    let b = o.bundle("reldest", &["true"], |c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": "x",
            "type": "tmpfs", "source": "tmpfs"}));
    });
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "m3"]);
    assert_error(&o, "relative mount destination", &out, "absolute");
    o.assert_no_container("after the mounts");
}

#[test]
fn a_long_id_under_a_long_root() {
    let Some(o) = Oci::new("longid") else { return };
    // As Docker names them: 64 hex digits, under /var/run/docker/runtime-runc/moby.
    let id = "0123456789abcdef".repeat(4);
    assert!(o.root().join(&id).join("control.sock").as_os_str().len() > 108);
    let b = o.bundle("b", &["sleep", "1000"], |_| {});
    o.create(&b, &id);
    assert_eq!(o.runsc(&["start", &id]).status, 0);
    assert_eq!(o.status(&id), "running");
    assert_eq!(sandbox_pids(&o, &id), [1]);
    assert_eq!(o.runsc(&["delete", "--force", &id]).status, 0);
}

/// A console socket as an engine listens on one: the pty master that arrives on it.
fn console_master(path: &Path) -> std::thread::JoinHandle<std::fs::File> {
    let l = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        use std::os::fd::AsFd;
        let (c, _) = l.accept().unwrap();
        let mut b = [0u8; 4096];
        let r = gofer::fdpass::recv_msg(c.as_fd(), &mut b).unwrap();
        assert!(b[..r.len].starts_with(b"/dev/pts/"), "the slave's name");
        std::fs::File::from(r.fds.into_iter().next().expect("one FD"))
    })
}

/// Everything read from a pty master, by a thread, with `\r` dropped.
struct Reader(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Reader {
    fn new(mut master: std::fs::File) -> Reader {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let b = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            // EIO once every slave is closed.
            while let Ok(n @ 1..) = std::io::Read::read(&mut master, &mut chunk) {
                b.lock()
                    .unwrap()
                    .extend(chunk[..n].iter().filter(|&&c| c != b'\r'));
            }
        });
        Reader(buf)
    }

    /// Waits until the text read contains `want`; returns it all.
    fn until(&self, want: &str) -> String {
        self.until_after(0, want)
    }

    /// Waits until the text read after its first `from` bytes contains `want`; returns
    /// it all.
    fn until_after(&self, from: usize, want: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if text.get(from..).is_some_and(|t| t.contains(want)) || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn a_terminal_through_the_console_socket() {
    let Some(o) = Oci::new("console") else { return };
    // Init sees a terminal, sets its size and modes (on the host pty), reads a line
    // typed on the master with echo off.
    let script = "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo isatty; \
                  stty rows 30 cols 100; stty size; \
                  stty -echo; stty -a | tr ' ' '\\n' | grep -x -- -echo; \
                  echo ready; read x; echo got-$x; sleep 1000";
    let b = o.bundle("b", &["sh", "-c", script], |c| {
        c["process"]["terminal"] = true.into();
    });
    for d in ["stty", "tr", "grep"] {
        symlink("busybox", b.join("rootfs/bin").join(d)).unwrap();
    }
    let sock = o.dir.path().join("console.sock");
    let master = console_master(&sock);
    let out = o.detached(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "t1",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let master = master.join().unwrap();
    let mut input = master.try_clone().unwrap();
    let reader = Reader::new(master);
    assert_eq!(o.runsc(&["start", "t1"]).status, 0);
    let text = reader.until("ready\n");
    assert_eq!(text, "isatty\n30 100\n-echo\nready\n");
    std::io::Write::write_all(&mut input, b"hello\n").unwrap();
    let text = reader.until("got-hello\n");
    assert!(text.ends_with("ready\ngot-hello\n"), "{text:?}");
    // exec with a terminal of its own.
    let sock2 = o.dir.path().join("console2.sock");
    let master2 = console_master(&sock2);
    let out = o.detached(&[
        "exec",
        "--tty",
        "--console-socket",
        sock2.to_str().unwrap(),
        "t1",
        "sh",
        "-c",
        "[ -t 0 ] && echo exec-tty; stty rows 5 cols 7; stty size",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let text = Reader::new(master2.join().unwrap()).until("5 7\n");
    assert_eq!(text, "exec-tty\n5 7\n");
    assert_eq!(o.runsc(&["delete", "--force", "t1"]).status, 0);
    // A console socket without process.terminal, or one that is not there, is an error.
    let b = o.bundle("noterm", &["true"], |_| {});
    let out = o.detached(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "t2",
    ]);
    assert_error(&o, "console socket without a terminal", &out, "terminal");
    let b = o.bundle("term", &["true"], |c| {
        c["process"]["terminal"] = true.into();
    });
    let missing = o.dir.path().join("nothing.sock");
    let out = o.detached(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        missing.to_str().unwrap(),
        "t3",
    ]);
    assert_error(&o, "a missing console socket", &out, "nothing.sock");
    o.assert_no_container("after the terminals");
}

/// Sets the window size of a terminal (the engine's resize of the console's master).
fn set_winsize(tty: &std::fs::File, rows: u16, cols: u16) {
    use std::os::fd::AsRawFd;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one struct winsize, which lives across the call.
    let r = unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    assert_eq!(r, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
}

/// Job control on the console, as `docker run -it busybox sh` uses it: the keys typed
/// on the pty master signal the container's foreground job through the termios the
/// container set, and a resize of the master sends SIGWINCH, as on Linux (n_tty's isig,
/// tty_do_resize). Each job prints a word once it runs (in the foreground: ash gives a
/// job the terminal before it execs it), so that no key is typed too early.
#[test]
fn job_control_keys_on_the_console() {
    let Some(o) = Oci::new("console-jobs") else {
        return;
    };
    let b = o.bundle("b", &["sh", "-i"], |c| {
        c["process"]["terminal"] = true.into();
        c["process"]["env"] = serde_json::json!(["PATH=/bin", "PS1=P> ", "TERM=dumb"]);
    });
    for d in ["stty", "head", "od", "tty", "setsid"] {
        symlink("busybox", b.join("rootfs/bin").join(d)).unwrap();
    }
    let sock = o.dir.path().join("console.sock");
    let master = console_master(&sock);
    let out = o.detached(&[
        "create",
        "--bundle",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "j1",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let master = master.join().unwrap();
    let mut input = master.try_clone().unwrap();
    let resize = master.try_clone().unwrap();
    let reader = Reader::new(master);
    assert_eq!(o.runsc(&["start", "j1"]).status, 0);
    let mut seen = 0;
    let mut step = |keys: &[u8], want: &str| {
        std::io::Write::write_all(&mut input, keys).unwrap();
        let text = reader.until_after(seen, want);
        let at = text[seen..]
            .find(want)
            .unwrap_or_else(|| panic!("no {want:?} after {:?}", &text[seen..]));
        seen += at + want.len();
        text
    };
    step(b"", "P> ");
    // The console is /dev/pts/0 inside, and /dev/tty for init's session.
    step(
        b"tty; echo vi\"\"a-tty >/dev/tty\n",
        "/dev/pts/0\nvia-tty\n",
    );
    step(b"", "P> ");
    // A new session has no controlling terminal: /dev/tty is ENXIO for it.
    step(
        b"setsid sh -c 'exec 2>/dev/null; echo x >/dev/tty || echo no-\"\"tty'\n",
        "no-tty\n",
    );
    // ^C ends the foreground job; the shell lives on and sees it killed by SIGINT.
    step(b"sh -c 'echo sl\"\"eeping; exec sleep 100'\n", "sleeping\n");
    step(b"\x03", "P> ");
    step(b"echo rc=$?\n", "rc=130\n");
    // ^Z stops cat (blocked reading the terminal); the shell reports the job, `fg`
    // continues it and it reads again.
    step(b"sh -c 'echo ca\"\"tting; exec cat'\n", "catting\n");
    step(b"\x1a", "Stopped");
    step(b"", "P> ");
    step(b"fg\n", "cat");
    step(b"hello\n", "hello\nhello\n");
    step(b"\x1c", "P> ");
    step(b"echo rc=$?\n", "rc=131\n");
    // With ISIG off, ^C is a plain byte; with another VINTR, that key is ^C.
    // (Through a file, not a pipe: in a pipeline, head could read the keys, exit and be
    // reaped before od joins its process group, and od could not take the terminal.)
    step(
        b"stty -isig; echo is\"\"ig-off; head -c 2 >/tmp/k; od -An -tx1 </tmp/k\n",
        "isig-off\n",
    );
    step(b"\x03x\n", " 03 78\n");
    step(
        b"stty isig intr ^A; sh -c 'echo in\"\"tr-a; exec sleep 100'\n",
        "intr-a\n",
    );
    step(b"\x01", "P> ");
    step(b"echo rc=$?; stty intr ^C\n", "rc=130\n");
    // A resize of the master: SIGWINCH to the foreground job, which sees the new size.
    step(
        b"sh -c 'trap \"stty size\" WINCH; echo tr\"\"apped; while :; do sleep 1; done'\n",
        "trapped\n",
    );
    set_winsize(&resize, 33, 77);
    step(b"", "33 77\n");
    step(b"\x03", "P> ");
    step(b"exit\n", "exit");
    assert_eq!(o.runsc(&["delete", "--force", "j1"]).status, 0);
    o.assert_no_container("after the job control");
}

/// The Cap* and NoNewPrivs lines of /proc/self/status a container's process prints.
fn cap_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("Cap") || l.starts_with("NoNewPrivs"))
        .map(str::to_string)
        .collect()
}

#[test]
fn capabilities_and_no_new_privs_follow_the_bundle() {
    let Some(o) = Oci::new("caps") else { return };
    // CAP_CHOWN 0, CAP_KILL 5, CAP_NET_BIND_SERVICE 10: 0x421. As runc sets them, every
    // set the same (so the execve that starts the process keeps them).
    let caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
    let b = o.bundle("b", &["cat", "/proc/self/status"], |c| {
        c["process"]["capabilities"] = serde_json::json!({
            "bounding": caps, "effective": caps, "permitted": caps,
            "inheritable": caps, "ambient": caps,
        });
        c["process"]["noNewPrivileges"] = true.into();
    });
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "c1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let want = [
        "CapInh:\t0000000000000421",
        "CapPrm:\t0000000000000421",
        "CapEff:\t0000000000000421",
        "CapBnd:\t0000000000000421",
        "CapAmb:\t0000000000000421",
        "NoNewPrivs:\t1",
    ];
    assert_eq!(cap_lines(&out.stdout_str()), want, "{}", out.stdout_str());
    // A non-root user keeps only what is ambient; without noNewPrivileges it is 0.
    let b = o.bundle("u", &["cat", "/proc/self/status"], |c| {
        c["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = serde_json::json!({
            "bounding": caps, "effective": ["CAP_KILL"], "permitted": caps,
            "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"],
        });
        c["process"]["noNewPrivileges"] = false.into();
    });
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "c2"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let want = [
        "CapInh:\t0000000000000020",
        "CapPrm:\t0000000000000020",
        "CapEff:\t0000000000000020",
        "CapBnd:\t0000000000000421",
        "CapAmb:\t0000000000000020",
        "NoNewPrivs:\t0",
    ];
    assert_eq!(cap_lines(&out.stdout_str()), want, "{}", out.stdout_str());
    // exec --process honours both for the new process.
    let b = o.bundle("x", &["sleep", "1000"], |_| {});
    o.create(&b, "c3");
    assert_eq!(o.runsc(&["start", "c3"]).status, 0);
    let pj = o.dir.path().join("process.json");
    let process = serde_json::json!({
        "args": ["cat", "/proc/self/status"], "cwd": "/", "env": ["PATH=/bin"],
        "user": {"uid": 0, "gid": 0},
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"]},
        "noNewPrivileges": true,
    });
    std::fs::write(&pj, process.to_string()).unwrap();
    let out = o.runsc(&["exec", "--process", pj.to_str().unwrap(), "c3"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let lines = cap_lines(&out.stdout_str());
    assert!(
        lines.contains(&"CapEff:\t0000000000000020".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"CapBnd:\t0000000000000020".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"NoNewPrivs:\t1".to_string()), "{lines:?}");
    assert_eq!(o.runsc(&["kill", "c3", "9"]).status, 0);
    // An unknown capability is a one-line bundle error.
    let b = o.bundle("bad", &["true"], |c| {
        c["process"]["capabilities"] = serde_json::json!({"bounding": ["CAP_NOPE"]});
    });
    let out = o.detached(&["create", "--bundle", b.to_str().unwrap(), "c4"]);
    assert_error(&o, "unknown capability", &out, "CAP_NOPE");
}

/// Copies a test program into a bundle's rootfs as /bin/NAME.
fn install_program(bundle: &Path, name: &str) {
    let p = tests::build_program(name, tests::Link::Static);
    std::fs::copy(p, bundle.join("rootfs/bin").join(name)).unwrap();
}

#[test]
fn a_pids_limit_fails_the_fork_past_it_and_update_raises_it() {
    let Some(o) = Oci::new("pids") else { return };
    // The process itself is one task: with a limit of 4 it forks 3 children.
    let b = o.bundle("b", &["fork_until", "10"], |c| {
        c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 4});
    });
    install_program(&b, "fork_until");
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "p1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "forked 3 then EAGAIN\n");
    // Live: a container at its limit (2 = its shell and sleep) cannot fork until
    // `update` raises the limit.
    let b = o.bundle("live", &["sleep", "1000"], |c| {
        c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 2});
    });
    install_program(&b, "fork_until");
    o.create(&b, "p2");
    assert_eq!(o.runsc(&["start", "p2"]).status, 0);
    let out = o.runsc(&["exec", "p2", "fork_until", "10"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "forked 0 then EAGAIN\n");
    let out = o.runsc(&["update", "--pids-limit", "5", "p2"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let out = o.runsc(&["exec", "p2", "fork_until", "10"]);
    assert_eq!(
        out.stdout_str(),
        "forked 3 then EAGAIN\n",
        "{}",
        out.stderr_str()
    );
    // The containerd shim's way: LinuxResources JSON on stdin.
    let out = run(
        o.cmd(&["update", "--resources", "-", "p2"]),
        br#"{"pids": {"limit": 3}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}"#,
        TIMEOUT,
    );
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let out = o.runsc(&["exec", "p2", "fork_until", "10"]);
    assert_eq!(
        out.stdout_str(),
        "forked 1 then EAGAIN\n",
        "{}",
        out.stderr_str()
    );
    // events --stats: runc's shape, with the stored values.
    let out = o.runsc(&["events", "--stats", "p2"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["type"], "stats", "{ev}");
    assert_eq!(ev["data"]["pids"]["current"], 1, "{ev}");
    assert_eq!(ev["data"]["pids"]["limit"], 3, "{ev}");
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{ev}"
    );
    assert_eq!(ev["data"]["memory"]["usage"]["limit"], u64::MAX, "{ev}");
    assert_eq!(ev["data"]["resources"]["cpuShares"], 512, "{ev}");
    assert_eq!(ev["data"]["resources"]["cpusetCpus"], "0", "{ev}");
    // Bad values are one-line errors; the container runs on.
    let out = o.runsc(&["update", "--cpu-period", "5", "p2"]);
    assert_error(&o, "bad cpu period", &out, "cpu period");
    let out = o.runsc(&["update", "--memory", "lots", "p2"]);
    assert_error(&o, "bad memory", &out, "--memory");
    let out = run(
        o.cmd(&["update", "--resources", "-", "p2"]),
        b"{nope",
        TIMEOUT,
    );
    assert_error(&o, "bad resources JSON", &out, "--resources");
    let out = o.runsc(&["update", "--pids-limit", "5", "nosuch"]);
    assert_error(&o, "no such container", &out, "nosuch");
    assert_eq!(o.status("p2"), "running");
    assert_eq!(o.runsc(&["kill", "p2", "9"]).status, 0);
}

#[test]
fn a_memory_limit_kills_the_largest_process_and_the_sandbox_stays() {
    let Some(o) = Oci::new("memory") else { return };
    let b = o.bundle(
        "b",
        &[
            "sh",
            "-c",
            "alloc_touch 512 >/dev/null; echo status $?; alloc_touch 8",
        ],
        |c| {
            c["linux"]["resources"]["memory"] = serde_json::json!({"limit": 64 << 20});
        },
    );
    install_program(&b, "alloc_touch");
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "m1"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let text = out.stdout_str();
    assert!(
        text.starts_with("status 137\n"),
        "killed by SIGKILL: {text}"
    );
    assert!(
        text.ends_with("touched 8 MiB\nPASS\n"),
        "then room again: {text}"
    );
    // The largest process goes even when another one allocates: a holder of 40 MiB is
    // killed so that a process allocating 30 MiB can finish.
    let b = o.bundle(
        "other",
        &[
            "sh",
            "-c",
            "alloc_touch 40 hold >/tmp/held & \
             until [ -s /tmp/held ]; do sleep 1; done; \
             alloc_touch 30 | tail -2; wait $!; echo holder $?",
        ],
        |c| {
            c["linux"]["resources"]["memory"] = serde_json::json!({"limit": 64 << 20});
        },
    );
    install_program(&b, "alloc_touch");
    symlink("busybox", b.join("rootfs/bin/tail")).unwrap();
    let out = o.runsc(&["run", "--bundle", b.to_str().unwrap(), "m3"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), "touched 30 MiB\nPASS\nholder 137\n");
    // A limit lowered below the use is reached at once: the holder is killed.
    let b = o.bundle(
        "lower",
        &[
            "sh",
            "-c",
            "alloc_touch 40 hold & wait $!; echo holder $?; sleep 1000",
        ],
        |_| {},
    );
    install_program(&b, "alloc_touch");
    o.create(&b, "m4");
    assert_eq!(o.runsc(&["start", "m4"]).status, 0);
    // (A reading that fails, the sandbox being busy, counts as none yet.)
    let usage = || {
        let out = o.runsc(&["events", "--stats", "m4"]);
        let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0)
    };
    eventually("the holder holds 40 MiB", || usage() > 40 << 20);
    let out = o.runsc(&["update", "--memory", "32m", "m4"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    assert!(usage() <= 32 << 20, "under the new limit");
    let said = o.dir.path().join("detached.out");
    eventually("the shell saw the kill", || {
        std::fs::read_to_string(&said).is_ok_and(|t| t.contains("holder 137"))
    });
    assert_eq!(o.status("m4"), "running");
    assert_eq!(o.runsc(&["kill", "m4", "9"]).status, 0);
    // A live update lowers the limit; events report it.
    let b = o.bundle("live", &["sleep", "1000"], |_| {});
    install_program(&b, "alloc_touch");
    o.create(&b, "m2");
    assert_eq!(o.runsc(&["start", "m2"]).status, 0);
    let out = o.runsc(&["update", "--memory", "48m", "m2"]);
    assert_eq!(out.status, 0, "{}", out.stderr_str());
    let out = o.runsc(&["exec", "m2", "alloc_touch", "256"]);
    assert_eq!(out.status, 137, "{}", out.stdout_str());
    let out = o.runsc(&["events", "--stats", "m2"]);
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ev["data"]["memory"]["usage"]["limit"], 48u64 << 20, "{ev}");
    assert_eq!(o.status("m2"), "running");
    assert_eq!(o.runsc(&["kill", "m2", "9"]).status, 0);
}
