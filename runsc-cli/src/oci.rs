//! The OCI runtime commands (runc's command line, DESIGN.md §7): each checks its input,
//! takes the container's lock when it changes the state, and talks to the sandbox over
//! its control socket. Every error is returned as one line for `main` to report.

use crate::control::{self, Request, Response};
use crate::logging::{Logger, rfc3339};
use crate::state::{self, BOOT_ERROR, CONTROL_SOCKET, Container, EXIT_STATUS, Locked, Root};
use crate::{bundle, console, hooks};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant, SystemTime};

/// The global flags, as the commands and the sandbox process need them.
#[derive(Clone, Debug)]
pub struct Globals {
    pub root: PathBuf,
    pub logger: Logger,
    pub platform: String,
    pub strace: bool,
    pub seccomp_patch: bool,
    pub network: sentry::Network,
    /// `--rootless` as given (auto, true, false), for the sandbox process.
    pub rootless: String,
    pub overlay: String,
    pub log_format: String,
}

/// How long `create` waits for the sandbox to be ready before giving up on it.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

type Result<T> = std::result::Result<T, String>;

impl Globals {
    fn root(&self) -> Result<Root> {
        Root::new(&self.root)
    }

    /// The global flags again, for the sandbox process.
    fn args(&self) -> Vec<String> {
        let mut v = vec![
            format!("--root={}", self.root.display()),
            format!("--platform={}", self.platform),
            format!("--overlay={}", self.overlay),
            format!(
                "--seccomp-patch={}",
                if self.seccomp_patch { "on" } else { "off" }
            ),
            format!("--log-format={}", self.log_format),
            format!(
                "--network={}",
                match self.network {
                    sentry::Network::Host => "host",
                    sentry::Network::None => "none",
                }
            ),
        ];
        v.push(format!("--rootless={}", self.rootless));
        if let Some(l) = &self.logger.file {
            v.push(format!("--log={}", l.display()));
        }
        if self.logger.debug {
            v.push("--debug".into());
        }
        if self.strace {
            v.push("--strace".into());
        }
        v
    }
}

/// `spec`: writes the default config.json into `bundle`.
pub fn spec(bundle: &Path) -> Result<()> {
    let path = bundle.join("config.json");
    if path.exists() {
        return Err(format!(
            "{}: exists already, remove it first",
            path.display()
        ));
    }
    let text = serde_json::to_vec_pretty(&bundle::default_spec()).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A created sandbox: its process, not waited for unless the caller wants to.
pub struct Created {
    pub child: Child,
}

/// `create`: starts the sandbox with the initial process loaded, records the state,
/// writes the pid file and runs the prestart and createRuntime hooks. On failure
/// nothing is left: the sandbox is killed and the state directory removed.
pub fn create(
    g: &Globals,
    bundle_dir: &Path,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
    id: &str,
) -> Result<Created> {
    let b = bundle::load(bundle_dir)?;
    let terminal = b
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // With a terminal and no socket (a foreground `run` in a terminal), the process has
    // our stdio, as without one.
    let console_socket = match (terminal, console_socket) {
        (false, Some(_)) => {
            return Err("--console-socket needs process.terminal set in config.json".into());
        }
        (_, c) => c,
    };
    // Checked now, so that a bad bundle leaves no state at all (the sandbox process
    // logs what it does with the mounts).
    bundle::sentry_config(&b, &g.platform, g.strace, g.seccomp_patch)?;
    let quiet = Logger {
        file: None,
        format: g.logger.format,
        debug: false,
    };
    bundle::plan_mounts(&b, &quiet)?;
    if !["memory", "none"].contains(&g.overlay.as_str()) {
        return Err(format!(
            "unknown --overlay {:?} (known: memory, none)",
            g.overlay
        ));
    }
    if !platform::PLATFORM_NAMES.contains(&g.platform.as_str()) {
        return Err(format!(
            "unknown platform {:?} (known: {})",
            g.platform,
            platform::PLATFORM_NAMES.join(", ")
        ));
    }
    let root = g.root()?;
    let locked = root.create(id)?;
    let mut c = Container {
        oci_version: state::OCI_VERSION.into(),
        id: id.into(),
        status: "creating".into(),
        pid: 0,
        pid_start: 0,
        bundle: b.dir.clone(),
        rootfs: b.rootfs.clone(),
        created: rfc3339(SystemTime::now()),
        annotations: b.spec.annotations().clone().unwrap_or_default(),
        hooks: b.spec.hooks().clone(),
        resources: bundle::resources(&b)?,
    };
    let mut child = None;
    let r = create_sandbox(
        g,
        (&b.dir, console_socket),
        id,
        &locked,
        &mut c,
        &mut child,
        pid_file,
    );
    match r {
        Ok(()) => Ok(Created {
            child: child.ok_or("no sandbox")?,
        }),
        Err(e) => {
            if let Some(mut ch) = child {
                kill_sandbox(ch.id() as i32, 0);
                let _ = ch.wait();
            }
            let _ = locked.remove();
            Err(e)
        }
    }
}

fn create_sandbox(
    g: &Globals,
    (bundle_dir, console_socket): (&Path, Option<&Path>),
    id: &str,
    locked: &Locked,
    c: &mut Container,
    child: &mut Option<Child>,
    pid_file: Option<&Path>,
) -> Result<()> {
    locked.save(c)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find runsc: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(g.args())
        .arg("boot")
        .arg("--bundle")
        .arg(bundle_dir)
        .arg("--id")
        .arg(id);
    if let Some(sock) = console_socket {
        // The sandbox's stdio is the pty's slave, which the sentry gives init.
        let [i, o, e] = console::stdio(&console::open(sock)?)?;
        cmd.stdin(i).stdout(o).stderr(e);
    }
    let ch = child.insert(
        cmd.spawn()
            .map_err(|e| format!("starting the sandbox: {e}"))?,
    );
    let pid = ch.id() as i32;
    // Recorded at once: if this command dies before the sandbox is ready, `delete`
    // still finds the sandbox process to kill.
    c.pid = pid;
    c.pid_start = state::start_time(pid).unwrap_or(0);
    locked.save(c)?;
    let deadline = Instant::now() + BOOT_TIMEOUT;
    loop {
        if let Ok(msg) = std::fs::read_to_string(locked.dir.join(BOOT_ERROR)) {
            let _ = ch.wait();
            return Err(msg.trim().to_string());
        }
        if let Ok(Some(st)) = ch.try_wait() {
            if let Ok(msg) = std::fs::read_to_string(locked.dir.join(BOOT_ERROR)) {
                return Err(msg.trim().to_string());
            }
            return Err(format!("the sandbox exited during create ({st})"));
        }
        if control::call(&locked.control_socket(), &Request::Ping).is_ok() {
            break;
        }
        if Instant::now() >= deadline {
            return Err("the sandbox did not become ready".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    c.status = "created".into();
    locked.save(c)?;
    if let Some(p) = pid_file {
        let p = std::path::absolute(p).map_err(|e| format!("--pid-file: {e}"))?;
        state::write_atomic(&p, pid.to_string().as_bytes())?;
    }
    let st = c.oci_state();
    if let Some(h) = &c.hooks {
        #[allow(deprecated)]
        hooks::run("prestart", h.prestart().as_ref(), &st)?;
        hooks::run("createRuntime", h.create_runtime().as_ref(), &st)?;
        for (kind, list) in [
            ("createContainer", h.create_container()),
            ("startContainer", h.start_container()),
        ] {
            if list.as_ref().is_some_and(|l| !l.is_empty()) {
                g.logger.warn(&format!(
                    "{kind} hooks ignored: the container has no namespace of its own to run them in yet"
                ));
            }
        }
    }
    Ok(())
}

/// Kills a sandbox process and its process group (gofer, platform stubs) unless the
/// pid is no longer that process; waits (bounded) for it to be gone.
fn kill_sandbox(pid: i32, start: u64) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    if pid <= 0 || !state::alive(pid, start) {
        return;
    }
    let _ = kill(Pid::from_raw(-pid), Signal::SIGKILL);
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while state::alive(pid, start) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `start`: lets the initial process of a created container run, then the poststart
/// hooks.
pub fn start(g: &Globals, id: &str) -> Result<()> {
    let (locked, mut c) = g.root()?.open(id)?;
    let status = c.status().to_string();
    if status != "created" {
        return Err(format!("cannot start container {id:?}: it is {status}"));
    }
    control::call(&locked.dir.join(CONTROL_SOCKET), &Request::Start)?;
    c.status = "running".into();
    locked.save(&c)?;
    if let Some(h) = &c.hooks
        && let Err(e) = hooks::run("poststart", h.poststart().as_ref(), &c.oci_state())
    {
        g.logger.warn(&e);
    }
    Ok(())
}

/// The signals a foreground `run` passes on to the container's init (the sandbox is in
/// a session of its own, so a terminal's ^C reaches only us), as runc does.
const FORWARDED: [nix::sys::signal::Signal; 6] = {
    use nix::sys::signal::Signal::*;
    [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
};

/// `run`: create and start; without `--detach`, wait for the container (passing on the
/// signals we get), delete it and exit with its status.
pub fn run(
    g: &Globals,
    bundle_dir: &Path,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
    detach: bool,
    id: &str,
) -> Result<ExitCode> {
    // Blocked before any thread exists, so that only the forwarder takes them; the
    // sandbox process starts with an empty mask (std resets it in children).
    let forwarded: nix::sys::signal::SigSet = FORWARDED.into_iter().collect();
    if !detach {
        forwarded
            .thread_block()
            .map_err(|e| format!("blocking signals: {e}"))?;
    }
    let mut created = create(g, bundle_dir, pid_file, console_socket, id)?;
    if let Err(e) = start(g, id) {
        let _ = delete(g, id, true);
        let _ = created.child.wait();
        return Err(e);
    }
    if detach {
        return Ok(ExitCode::SUCCESS);
    }
    let sock = g.root()?.container_dir(id).join(CONTROL_SOCKET);
    std::thread::spawn(move || {
        while let Ok(sig) = forwarded.wait() {
            let signo = sig as i32;
            let _ = control::call(&sock, &Request::Signal { signo, all: false });
        }
    });
    let st = created
        .child
        .wait()
        .map_err(|e| format!("waiting for the sandbox: {e}"))?;
    let code = exit_code(st);
    delete(g, id, true)?;
    Ok(ExitCode::from(code as u8))
}

fn exit_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// `state`: the OCI state JSON.
pub fn state(g: &Globals, id: &str) -> Result<()> {
    let c = g.root()?.peek(id)?;
    let text = serde_json::to_string_pretty(&c.oci_state()).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

/// A signal by number (`15`) or name (`TERM`, `SIGTERM`).
pub fn parse_signal(s: &str) -> Result<i32> {
    let n = match s.parse::<i32>() {
        Ok(n) => Some(n),
        Err(_) => syscalls_table::signal::from_name(&s.to_ascii_uppercase()),
    };
    match n {
        Some(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("invalid signal {s:?}")),
    }
}

/// A live container's control socket, or the error a stopped one gets.
fn live(c: &Container, locked_dir: &Path) -> Result<PathBuf> {
    match c.status() {
        "created" | "running" | "paused" => Ok(locked_dir.join(CONTROL_SOCKET)),
        // Engines match this phrase (runc's) to tell "already gone" from a failure.
        s => Err(format!("container not running ({:?} is {s})", c.id)),
    }
}

/// `kill`: a signal to the initial process, or with `--all` to every process.
pub fn kill(g: &Globals, id: &str, signal: &str, all: bool) -> Result<()> {
    let signo = parse_signal(signal)?;
    let (locked, c) = g.root()?.open(id)?;
    let sock = live(&c, &locked.dir)?;
    control::call(&sock, &Request::Signal { signo, all }).map(|_| ())
}

/// `delete`: removes a stopped (or created) container; `--force` kills a running one.
/// With `--force`, an unknown id is no error (engines delete --force to be sure).
pub fn delete(g: &Globals, id: &str, force: bool) -> Result<()> {
    let root = g.root()?;
    if force && state::check_id(id).is_ok() && !root.container_dir(id).exists() {
        return Ok(());
    }
    let (locked, c) = root.open(id)?;
    let status = c.status();
    match status {
        "stopped" | "created" | "creating" => {}
        _ if force => {}
        s => {
            return Err(format!(
                "cannot delete container {id:?} that is not stopped: it is {s} (use --force)"
            ));
        }
    }
    kill_sandbox(c.pid, c.pid_start);
    if let Some(h) = &c.hooks {
        let mut st = c.oci_state();
        st["status"] = "stopped".into();
        if let Err(e) = hooks::run("poststop", h.poststop().as_ref(), &st) {
            g.logger.warn(&e);
        }
    }
    locked.remove()
}

/// `wait`: waits for the container's end; prints and returns its exit status.
pub fn wait(g: &Globals, id: &str) -> Result<ExitCode> {
    let root = g.root()?;
    let dir = root.container_dir(id);
    loop {
        let c = root.peek(id)?;
        if c.status() == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(dir.join(EXIT_STATUS))
        .map_err(|_| format!("container {id:?} ended without an exit status (killed)"))?;
    let code: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("container {id:?}: bad exit status {text:?}"))?;
    println!("{code}");
    Ok(ExitCode::from(code as u8))
}

/// `list`: every container.
pub fn list(g: &Globals, format: &str) -> Result<()> {
    let root = g.root()?;
    let cs: Vec<Container> = root
        .ids()
        .iter()
        .filter_map(|id| root.peek(id).ok())
        .collect();
    match format {
        "quiet" => cs.iter().for_each(|c| println!("{}", c.id)),
        "json" => {
            let v: Vec<serde_json::Value> = cs.iter().map(|c| c.oci_state()).collect();
            println!("{}", serde_json::Value::from(v));
        }
        "table" => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} CREATED",
                "ID", "PID", "STATUS", "BUNDLE"
            );
            for c in &cs {
                let st = c.oci_state();
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {}",
                    c.id,
                    st["pid"],
                    c.status(),
                    c.bundle.display(),
                    c.created
                );
            }
        }
        f => return Err(format!("unknown --format {f:?} (known: table, json)")),
    }
    Ok(())
}

/// `ps`: the container's processes as the sentry sees them.
pub fn ps(g: &Globals, id: &str, format: &str) -> Result<()> {
    if format != "json" && format != "table" {
        return Err(format!("unknown --format {format:?} (known: table, json)"));
    }
    let root = g.root()?;
    let c = root.peek(id)?;
    let sock = live(&c, &root.container_dir(id))?;
    let Response::Ps { processes } = control::call(&sock, &Request::Ps)? else {
        return Err("unexpected answer from the sandbox".into());
    };
    if format == "json" {
        // Host pids, as engines read them: `docker top` runs the host's `ps` and keeps
        // the rows of these pids. The container's only host process is the sandbox
        // (its processes' pids are the sentry's, which would name unrelated host
        // processes); the table shows the sandbox's own view.
        println!("{}", serde_json::Value::from(vec![c.pid]));
    } else {
        println!("{:>6} {:>6} {:>6} STAT CMD", "UID", "PID", "PPID");
        for p in &processes {
            println!(
                "{:>6} {:>6} {:>6} {:<4} {}",
                p.uid, p.pid, p.ppid, p.state, p.comm
            );
        }
    }
    Ok(())
}

/// `pause` (`resume` with `resume`): stops (continues) every task of the sandbox.
pub fn pause(g: &Globals, id: &str, resume: bool) -> Result<()> {
    let (locked, mut c) = g.root()?.open(id)?;
    let (want, req, to) = if resume {
        ("paused", Request::Resume, "running")
    } else {
        ("running", Request::Pause, "paused")
    };
    let status = c.status().to_string();
    if status != want {
        return Err(format!("container {id:?} is {status}, not {want}"));
    }
    control::call(&locked.dir.join(CONTROL_SOCKET), &req)?;
    c.status = to.into();
    locked.save(&c)
}

/// One stats event in runc's shape (`data.pids`, `data.memory.usage`; a limit that is
/// not set is omitted for pids and the largest value for memory, as runc reports
/// "max"), plus the process and thread counts and the stored `resources`.
fn stats_json(c: &Container, sock: &Path) -> Result<serde_json::Value> {
    let Response::Stats {
        pids,
        threads,
        tasks,
        pids_limit,
        memory_usage,
        memory_limit,
    } = control::call(sock, &Request::Stats)?
    else {
        return Err("unexpected answer from the sandbox".into());
    };
    let mut pid_stats = serde_json::json!({ "current": tasks });
    if let Some(l) = pids_limit {
        pid_stats["limit"] = l.into();
    }
    Ok(serde_json::json!({
        "type": "stats",
        "id": c.id,
        "data": {
            "pids": pid_stats,
            "memory": {
                "usage": {
                    "usage": memory_usage,
                    "limit": memory_limit.unwrap_or(u64::MAX),
                    "failcnt": 0,
                },
            },
            "processes": pids,
            "threads": threads,
            "resources": c.resources,
        },
    }))
}

/// `events`: with `--stats` one stats object; else one every `interval` until the
/// container stops.
pub fn events(g: &Globals, id: &str, stats: bool, interval: Duration) -> Result<()> {
    let root = g.root()?;
    loop {
        let c = root.peek(id)?;
        let sock = match live(&c, &root.container_dir(id)) {
            Ok(s) => s,
            Err(e) if stats => return Err(e),
            Err(_) => return Ok(()),
        };
        println!("{}", stats_json(&c, &sock)?);
        if stats {
            return Ok(());
        }
        std::thread::sleep(interval.max(Duration::from_millis(100)));
    }
}

/// What `update` was asked to change.
#[derive(Default)]
pub struct UpdateArgs<'a> {
    /// A LinuxResources JSON file, or `-` for stdin (the containerd shim's way).
    pub resources: Option<&'a Path>,
    pub memory: Option<&'a str>,
    pub pids_limit: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<&'a str>,
}

/// The largest `--resources` document read.
const MAX_RESOURCES_FILE: u64 = 1 << 20;

/// A byte count as runc's `--memory` takes it: a number with an optional k, m, g or t
/// suffix (binary units), or -1 for no limit.
fn parse_bytes(s: &str) -> Result<i64> {
    let bad = || format!("--memory {s:?}: want bytes (with an optional k, m, g or t suffix) or -1");
    if s == "-1" {
        return Ok(-1);
    }
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// `update`: new resource limits for a running container, applied live by its sandbox
/// (memory and pids) and kept in its state (all of them).
pub fn update(g: &Globals, id: &str, a: &UpdateArgs) -> Result<()> {
    let mut r = match a.resources {
        Some(path) => {
            use std::io::Read;
            let mut text = Vec::new();
            let read = if path == Path::new("-") {
                std::io::stdin()
                    .take(MAX_RESOURCES_FILE + 1)
                    .read_to_end(&mut text)
            } else {
                std::fs::File::open(path)
                    .and_then(|f| f.take(MAX_RESOURCES_FILE + 1).read_to_end(&mut text))
            };
            read.map_err(|e| format!("--resources {}: {e}", path.display()))?;
            if text.len() as u64 > MAX_RESOURCES_FILE {
                return Err(format!("--resources {}: too large", path.display()));
            }
            let lr: oci_spec::runtime::LinuxResources = serde_json::from_slice(&text)
                .map_err(|e| format!("--resources {}: invalid: {e}", path.display()))?;
            control::Resources::from_oci(&lr)
                .map_err(|e| format!("--resources {}: {e}", path.display()))?
        }
        None => control::Resources::default(),
    };
    if let Some(m) = a.memory {
        r.memory_limit = Some(parse_bytes(m)?);
    }
    if let Some(p) = a.pids_limit {
        r.pids_limit = Some(p);
    }
    if let Some(q) = a.cpu_quota {
        r.cpu_quota = Some(q);
    }
    if let Some(p) = a.cpu_period {
        r.cpu_period = Some(p);
    }
    if let Some(s) = a.cpu_shares {
        r.cpu_shares = Some(s);
    }
    if let Some(c) = a.cpuset_cpus {
        r.cpuset_cpus = Some(c.to_string());
    }
    r.check()?;
    let (locked, mut c) = g.root()?.open(id)?;
    let sock = live(&c, &locked.dir)?;
    control::call(&sock, &Request::Update(r.clone()))?;
    c.resources.merge(&r);
    locked.save(&c)
}

/// `features`: what this runtime implements (runtime-spec features.md).
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": state::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": [],
        "linux": {
            "namespaces": [],
            "capabilities": sentry::caps::NAMES.to_vec(),
            "cgroup": { "v1": false, "v2": false, "systemd": false, "systemdUser": false },
            "seccomp": { "enabled": false },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
        },
        "annotations": {
            "io.github.runsc.platforms": platform::PLATFORM_NAMES.join(","),
        },
    })
}

/// What `exec` was asked to run, before it is resolved against the container.
pub struct ExecArgs<'a> {
    pub process: Option<&'a Path>,
    pub args: Vec<String>,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub tty: bool,
    pub console_socket: Option<&'a Path>,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
}

/// The largest `--process` file read.
const MAX_PROCESS_FILE: u64 = 1 << 20;

/// The capability sets as the control socket carries them.
fn cap_words(c: sentry::caps::Caps) -> [u64; 5] {
    [
        c.effective,
        c.permitted,
        c.inheritable,
        c.bounding,
        c.ambient,
    ]
}

/// The process an `exec` runs: `--process` as given, else the arguments with the
/// container's own process (env, cwd, user) as defaults, changed by the flags.
fn exec_process(c: &Container, a: &ExecArgs) -> Result<control::ExecProcess> {
    if let Some(path) = a.process {
        use std::io::Read;
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_PROCESS_FILE + 1).read_to_end(&mut text))
            .map_err(|e| format!("--process {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_PROCESS_FILE {
            return Err(format!("--process {}: too large", path.display()));
        }
        let p: oci_spec::runtime::Process = serde_json::from_slice(&text)
            .map_err(|e| format!("--process {}: invalid: {e}", path.display()))?;
        bundle::check_process(&p)?;
        return Ok(control::ExecProcess {
            args: p.args().clone().unwrap_or_default(),
            env: p.env().clone().unwrap_or_default(),
            cwd: p.cwd().to_string_lossy().into_owned(),
            uid: p.user().uid(),
            gid: p.user().gid(),
            groups: p.user().additional_gids().clone().unwrap_or_default(),
            caps: cap_words(bundle::process_caps(&p)?),
            no_new_privs: p.no_new_privileges().unwrap_or(false),
        });
    }
    if a.args.is_empty() {
        return Err("exec: no command given (arguments or --process)".into());
    }
    // Defaults from the container's own process, when its bundle is still readable.
    let base = bundle::load(&c.bundle)
        .ok()
        .and_then(|b| b.spec.process().clone());
    let mut p = control::ExecProcess {
        args: a.args.clone(),
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cwd: "/".into(),
        uid: 0,
        gid: 0,
        groups: Vec::new(),
        caps: cap_words(sentry::caps::Caps::for_uid(0)),
        no_new_privs: false,
    };
    if let Some(b) = &base {
        p.env = b.env().clone().unwrap_or_default();
        p.cwd = b.cwd().to_string_lossy().into_owned();
        p.uid = b.user().uid();
        p.gid = b.user().gid();
        p.groups = b.user().additional_gids().clone().unwrap_or_default();
        p.caps = cap_words(bundle::process_caps(b)?);
        p.no_new_privs = b.no_new_privileges().unwrap_or(false);
    }
    for e in &a.env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        p.env
            .retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != key);
        p.env.push(e.clone());
    }
    if let Some(cwd) = &a.cwd {
        if !cwd.starts_with('/') {
            return Err(format!("--cwd {cwd:?} must be an absolute path"));
        }
        p.cwd = cwd.clone();
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("--user {u:?}: want UID[:GID] as numbers"))
        };
        p.uid = num(uid)?;
        p.gid = match gid {
            Some(g) => num(g)?,
            None => p.uid,
        };
        p.groups.clear();
        // Without capabilities in the bundle, the new uid's own (none unless root).
        if base.as_ref().is_none_or(|b| b.capabilities().is_none()) {
            p.caps = cap_words(sentry::caps::Caps::for_uid(p.uid));
        }
    }
    Ok(p)
}

/// `exec`: a new process in a running container with our stdio. Without `--detach` it
/// waits and exits with the process's status; with it, a waiter process (whose pid goes
/// to `--pid-file`) does that, as container engines expect.
pub fn exec(g: &Globals, id: &str, a: &ExecArgs) -> Result<ExitCode> {
    let root = g.root()?;
    let c = root.peek(id)?;
    let status = c.status();
    if status != "running" {
        return Err(format!("cannot exec in container {id:?}: it is {status}"));
    }
    if a.tty && a.detach && a.console_socket.is_none() {
        return Err("exec --tty --detach needs --console-socket".into());
    }
    let p = exec_process(&c, a)?;
    let mut s = control::connect(&root.container_dir(id).join(CONTROL_SOCKET))?;
    control::send(&mut s, &Request::Exec(p))?;
    // With a console socket the process's stdio is a new pty's slave (with `--tty` and
    // no socket, ours, which is then a terminal).
    match a.console_socket {
        Some(sock) => {
            let slave = console::open(sock)?;
            let fds = console::stdio(&slave)?;
            control::send_stdio(&s, [fds[0].as_fd(), fds[1].as_fd(), fds[2].as_fd()])?;
        }
        None => {
            let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
            control::send_stdio(&s, [i.as_fd(), o.as_fd(), e.as_fd()])?;
        }
    }
    let Response::Started { .. } = control::answer(&mut s)? else {
        return Err("unexpected answer from the sandbox".into());
    };
    // The process may run for as long as it likes.
    s.set_read_timeout(None).ok();
    if a.detach {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find runsc: {e}"))?;
        let waiter = Command::new(exe)
            .arg("exec-wait")
            .stdin(std::process::Stdio::from(std::os::fd::OwnedFd::from(s)))
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting the exec waiter: {e}"))?;
        if let Some(pf) = a.pid_file {
            let pf = std::path::absolute(pf).map_err(|e| format!("--pid-file: {e}"))?;
            state::write_atomic(&pf, waiter.id().to_string().as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(pf) = a.pid_file {
        let pf = std::path::absolute(pf).map_err(|e| format!("--pid-file: {e}"))?;
        state::write_atomic(&pf, std::process::id().to_string().as_bytes())?;
    }
    exec_wait(&mut s)
}

/// Waits on an exec's connection (our stdin for `exec-wait`) for its exit status.
/// A connection that ends without an answer means the sandbox is gone, and the process
/// with it: 128+SIGKILL, as a shell reports a killed process.
pub fn exec_wait(s: &mut impl std::io::Read) -> Result<ExitCode> {
    match control::answer(s) {
        Ok(Response::Exited { status }) => Ok(ExitCode::from(status as u8)),
        Ok(_) => Err("unexpected answer from the sandbox".into()),
        Err(e) if e.starts_with("control socket:") => Ok(ExitCode::from(128 + 9)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_number_and_name() {
        assert_eq!(parse_signal("15"), Ok(15));
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("SIGTERM"), Ok(15));
        assert_eq!(parse_signal("sigkill"), Ok(9));
        assert_eq!(parse_signal("64"), Ok(64));
        for bad in ["0", "65", "-1", "NOPE", "", "SIG"] {
            assert!(parse_signal(bad).is_err(), "{bad:?}");
        }
    }
}
