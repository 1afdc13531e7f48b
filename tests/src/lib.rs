//! Helpers for the cross-crate integration tests: building the C programs of
//! `tests/programs/`, finding `runsc` and the platforms it can use, running a
//! command with a timeout, and comparing a sandboxed run with a native one.
//!
//! Every helper fails loudly: a missing compiler, `runsc` binary or busybox is
//! a test failure with a message saying what to install or build. The only
//! skip is a platform that `runsc` itself reports as unavailable, and it is
//! printed (see [`skip`]).

pub mod procs;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long any one program may run before the test fails as hung.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Where Debian's busybox-static package installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// The environment every test program gets, natively and under runsc, on top
/// of `PWD` (the run's working directory). Nothing else is inherited, so the
/// programs that print their environment are deterministic.
pub const TEST_ENV: &[(&str, &str)] = &[
    ("PATH", "/usr/bin:/bin"),
    ("LC_ALL", "C"),
    ("RUNSC_TEST_VAR", "differential value = 42"),
];

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory: `$CARGO_TARGET_DIR` or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The directory holding the C sources of the differential programs.
pub fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("programs")
}

/// Prints a skip reason where the user sees it even though libtest captures
/// `println!` output of passing tests.
pub fn skip(msg: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "SKIP {msg}");
}

/// Like [`skip`], for a remark that is not a skip.
pub fn note(msg: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "NOTE {msg}");
}

/// How a C program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// `cc -static`: an ET_EXEC at a fixed address.
    Static,
    /// `cc -static-pie`: an ET_DYN without an interpreter, loaded at a random base.
    StaticPie,
    /// `cc` with no linking flag: a PIE with the host's dynamic loader and libc, loaded
    /// from the host's root filesystem inside the sandbox.
    Dynamic,
}

impl Link {
    fn flag(self) -> &'static str {
        match self {
            Link::Static => "-static",
            Link::StaticPie => "-static-pie",
            Link::Dynamic => "-pie",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Link::Static => "",
            Link::StaticPie => "-pie",
            Link::Dynamic => "-dyn",
        }
    }
}

/// Builds `tests/programs/<name>.c` (once per process and per content: the
/// output name carries a hash of the sources and flags, so concurrent test
/// binaries share it and an edited source is rebuilt) and returns the
/// canonical path of the executable.
pub fn build_program(name: &str, link: Link) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(String, Link), PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = built.lock().unwrap().get(&(name.to_string(), link)) {
        return p.clone();
    }
    let cc = find_cc();
    let dir = programs_dir();
    let src = dir.join(format!("{name}.c"));
    let source = std::fs::read(&src).unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
    let header = std::fs::read(dir.join("common.h")).expect("reading tests/programs/common.h");
    let flags = [link.flag(), "-O2", "-Wall", "-Werror"];
    let mut h = DefaultHasher::new();
    (&source, &header, &flags).hash(&mut h);
    let out_dir = target_dir().join("test-programs");
    std::fs::create_dir_all(&out_dir)
        .unwrap_or_else(|e| panic!("creating {}: {e}", out_dir.display()));
    let out = out_dir.join(format!("{name}{}-{:016x}", link.suffix(), h.finish()));
    if !out.exists() {
        // Build under a unique name and rename, so that a concurrent build of
        // the same program never leaves a half-written file at `out`.
        let tmp = out_dir.join(format!("{name}.{}.tmp", unique_suffix()));
        let result = Command::new(&cc)
            .args(flags)
            .arg("-I")
            .arg(&dir)
            .arg("-o")
            .arg(&tmp)
            .arg(&src)
            .arg("-lm")
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", cc.display()));
        assert!(
            result.status.success(),
            "compiling {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::rename(&tmp, &out).expect("renaming the built program into place");
    }
    let out = out.canonicalize().expect("canonicalising the program path");
    built
        .lock()
        .unwrap()
        .insert((name.to_string(), link), out.clone());
    out
}

/// `cc` from `PATH`; its absence fails the test.
pub fn find_cc() -> PathBuf {
    find_in_path("cc").unwrap_or_else(|| {
        panic!(
            "`cc` not found in PATH: the differential tests build C programs with \
             `cc -static`; install a C toolchain with static glibc (Debian: gcc libc6-dev)"
        )
    })
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `/bin/busybox`; its absence fails the test.
pub fn busybox() -> PathBuf {
    let p = PathBuf::from(BUSYBOX);
    assert!(
        p.is_file(),
        "{BUSYBOX} not found: install Debian's busybox-static package \
         (apt-get install -y busybox-static); CI installs it"
    );
    p
}

/// The runsc binary: `$RUNSC`, else the newest of
/// `<target>/{debug,release}/runsc`.
pub fn runsc() -> PathBuf {
    if let Some(p) = std::env::var_os("RUNSC") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "RUNSC={} is not a file", p.display());
        return p;
    }
    let target = target_dir();
    ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("runsc"))
        .filter_map(|p| {
            let modified = std::fs::metadata(&p).ok()?.modified().ok()?;
            Some((modified, p))
        })
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "build runsc first: cargo build -p runsc-cli (looked for {}/{{debug,release}}/runsc; \
                 or set RUNSC=/path/to/runsc)",
                target.display()
            )
        })
}

/// The platforms to test: `$RUNSC_TEST_PLATFORMS` (comma-separated) or
/// `ptrace,seccomp,kvm` (kvm skips, with a printed reason, where `/dev/kvm` is unusable).
pub fn platforms() -> Vec<String> {
    std::env::var("RUNSC_TEST_PLATFORMS")
        .unwrap_or_else(|_| "ptrace,seccomp,kvm".to_string())
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether runsc can use `platform` on this machine: `Err(reason)` when
/// running a trivial program fails with an error that says "unavailable".
/// Any other failure counts as available, so that the test itself fails and
/// shows it. Probed once per process and platform.
pub fn platform_available(platform: &str) -> Result<(), String> {
    static PROBED: OnceLock<Mutex<HashMap<String, Result<(), String>>>> = OnceLock::new();
    let probed = PROBED.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(r) = probed.lock().unwrap().get(platform) {
        return r.clone();
    }
    let hello = build_program("hello", Link::Static);
    let dir = TempDir::new("probe");
    let out = run(
        runsc_command(platform, &[], &hello, &[], dir.path()),
        b"",
        TIMEOUT,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result = if out.status != 0 && stderr.to_lowercase().contains("unavailable") {
        Err(stderr.trim().to_string())
    } else {
        Ok(())
    };
    probed
        .lock()
        .unwrap()
        .insert(platform.to_string(), result.clone());
    result
}

/// The platforms of [`platforms`] that are available; prints a SKIP line for
/// each of the others, naming `test`.
pub fn available_platforms(test: &str) -> Vec<String> {
    platforms()
        .into_iter()
        .filter(|p| match platform_available(p) {
            Ok(()) => true,
            Err(reason) => {
                skip(&format!("platform {p}: {reason} (test {test})"));
                false
            }
        })
        .collect()
}

/// A command running `program args` natively in `cwd` with [`TEST_ENV`].
pub fn native_command(program: &Path, args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    set_env(&mut cmd, cwd);
    cmd
}

/// A command running `runsc [--platform=P] FLAGS do -- program args` in `cwd`
/// with [`TEST_ENV`].
pub fn runsc_command(
    platform: &str,
    flags: &[&str],
    program: &Path,
    args: &[&str],
    cwd: &Path,
) -> Command {
    let mut cmd = Command::new(runsc());
    cmd.arg(format!("--platform={platform}"))
        .args(flags)
        .arg("do")
        .arg("--")
        .arg(program)
        .args(args);
    set_env(&mut cmd, cwd);
    cmd
}

fn set_env(cmd: &mut Command, cwd: &Path) {
    cmd.env_clear()
        .envs(TEST_ENV.iter().copied())
        .env("PWD", cwd)
        .current_dir(cwd);
}

/// What a finished command did. `status` is the exit code, or 128+N when it
/// was killed by signal N (the shell convention, and what runsc reports).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Outcome {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Folds an exit status into one number: the code, or 128+signal.
pub fn status_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => unreachable!("a finished process has a code or a signal"),
    }
}

/// Runs `cmd` with `stdin` as its input (a pipe closed after the bytes are
/// written) and stdout/stderr captured through pipes. The command runs in a
/// process group of its own; if it is not done within `timeout` the whole
/// group is killed and the test fails.
pub fn run(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Outcome {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The program may exit without reading its input; that is fine.
        let _ = input.write_all(&data);
    });
    let stdout = reader(child.stdout.take().expect("stdout is piped"));
    let stderr = reader(child.stderr.take().expect("stderr is piped"));
    let status = wait_timeout(&mut child, timeout).unwrap_or_else(|| {
        kill_group(&child);
        let _ = child.wait();
        panic!("timed out after {timeout:?}: {what}");
    });
    let _ = writer.join();
    Outcome {
        status: status_code(status),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Waits for `child` up to `timeout`; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGKILL to the process group led by `child`.
pub fn kill_group(child: &Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: killpg only sends a signal; the group is the one we created for
    // this child with process_group(0), so it holds only its processes.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// Compares a sandboxed run with the native one: status, stdout and stderr
/// must be identical. The error describes the first difference.
pub fn compare(native: &Outcome, sandboxed: &Outcome) -> Result<(), String> {
    let mut report = String::new();
    if native.status != sandboxed.status {
        let _ = writeln!(
            report,
            "exit status: native {}, runsc {}",
            describe_status(native.status),
            describe_status(sandboxed.status)
        );
    }
    for (name, a, b) in [
        ("stdout", &native.stdout, &sandboxed.stdout),
        ("stderr", &native.stderr, &sandboxed.stderr),
    ] {
        if let Some(diff) = first_difference(a, b) {
            let _ = writeln!(report, "{name} differs: {diff}");
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        // Show runsc's stderr in full (bounded) when it is the odd one out:
        // it usually carries the sentry's complaint.
        if native.stderr != sandboxed.stderr {
            let _ = writeln!(
                report,
                "runsc stderr (first 2000 bytes):\n{}",
                truncate(&sandboxed.stderr_str(), 2000)
            );
        }
        Err(report)
    }
}

/// "0", "139 (signal 11)".
pub fn describe_status(status: i32) -> String {
    if status > 128 {
        format!("{status} (signal {})", status - 128)
    } else {
        status.to_string()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first line where `a` (native) and `b` (runsc) differ, with both
/// versions, or `None` if they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let la: Vec<&[u8]> = a.split_inclusive(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
    let i = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let show = |lines: &[&[u8]]| match lines.get(i) {
        Some(l) => format!("{:?}", truncate(&String::from_utf8_lossy(l), 300)),
        None => "<end of output>".to_string(),
    };
    Some(format!(
        "{} vs {} bytes, {} vs {} lines; first difference at line {}:\n  native: {}\n  runsc:  {}",
        a.len(),
        b.len(),
        la.len(),
        lb.len(),
        i + 1,
        show(&la),
        show(&lb)
    ))
}

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A fresh directory under the system temp dir, removed on drop. Each test
/// gets its own, so tests can run in parallel.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("runsc-test-{label}-{}", unique_suffix()));
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        // Canonical, so a program's getcwd() equals the $PWD we give it.
        TempDir(p.canonicalize().expect("canonicalising the temp dir"))
    }

    /// A fresh directory under `parent` (e.g. one the sandbox sees as the host's, unlike
    /// the system temp dir, which is a tmpfs inside), removed on drop.
    pub fn new_in(parent: &Path, label: &str) -> TempDir {
        let p = parent.join(format!("runsc-test-{label}-{}", unique_suffix()));
        std::fs::create_dir_all(&p).unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
        TempDir(p.canonicalize().expect("canonicalising the temp dir"))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A differential case: one program, its arguments and input, and the status
/// it must exit with natively (which guards against a broken program or
/// machine passing as "both sides agree").
#[derive(Clone, Debug)]
pub struct Case {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
    pub expected_status: i32,
}

impl Case {
    /// Runs the case natively and under runsc on every available platform;
    /// panics with a report of every mismatch.
    pub fn check(&self, test: &str) {
        self.check_with(test, &[]);
    }

    /// `check` with `flags` given to runsc before the command (e.g. `--network=none`).
    pub fn check_with(&self, test: &str, flags: &[&str]) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let dir = TempDir::new(test);
        let native = run(
            native_command(&self.program, &args, dir.path()),
            &self.stdin,
            TIMEOUT,
        );
        assert_eq!(
            native.status,
            self.expected_status,
            "{test}: the native run exited {}, expected {}; the program or this machine is \
             broken, not runsc.\nstdout:\n{}\nstderr:\n{}",
            describe_status(native.status),
            describe_status(self.expected_status),
            truncate(&native.stdout_str(), 4000),
            truncate(&native.stderr_str(), 4000)
        );
        let mut failures = String::new();
        for platform in available_platforms(test) {
            let sandboxed = run(
                runsc_command(&platform, flags, &self.program, &args, dir.path()),
                &self.stdin,
                TIMEOUT,
            );
            if let Err(report) = compare(&native, &sandboxed) {
                let _ = writeln!(
                    failures,
                    "{test} on platform {platform} {flags:?}: runsc differs from native\n{report}"
                );
            }
        }
        assert!(failures.is_empty(), "{failures}");
    }
}
