//! `runsc`: parses the command line and dispatches (DESIGN.md §7). Commands stay thin;
//! the sandbox logic lives in the `sentry` library.

mod boot;
mod bundle;
mod console;
mod control;
mod hooks;
mod logging;
mod oci;
mod sandbox;
mod state;

use clap::{Parser, Subcommand};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "runsc",
    about = "An OCI runtime that runs containers on the sentry, a Linux-compatible application kernel",
    disable_version_flag = true
)]
struct Cli {
    /// Print the version and the commit it was built from.
    #[arg(long, short = 'v')]
    version: bool,
    /// How application code runs: seccomp (the default), ptrace or kvm.
    #[arg(long, global = true, default_value = "seccomp")]
    platform: String,
    /// Log every application syscall to stderr, like `strace -f`.
    #[arg(long, global = true)]
    strace: bool,
    /// Write the sentry's log (warnings, unsupported syscalls) to this file.
    #[arg(long, global = true)]
    log: Option<std::path::PathBuf>,
    /// Write the sentry's log to stderr when no --log file is given.
    #[arg(long, global = true)]
    debug: bool,
    /// Where writes to the root filesystem go: `memory` (the host tree is never written)
    /// or `none` (writes reach the host tree through the gofer).
    #[arg(long, global = true, default_value = "memory")]
    overlay: String,
    /// seccomp: rewrite `mov $imm32,%r32; syscall` sites that trapped so that later
    /// calls enter the sentry without a signal (`on` or `off`).
    #[arg(long, global = true, default_value = "on")]
    seccomp_patch: String,
    /// What the sandbox's AF_INET/AF_INET6 sockets reach: `host` (host sockets, made by
    /// the sentry) or `none` (a loopback of the sandbox's own). `sandbox` (a user-space
    /// network stack) is not built yet.
    #[arg(long, global = true, default_value = "host")]
    network: String,
    /// Where container state lives (runc's --root; given before the command).
    #[arg(long = "root", default_value = "/run/runsc")]
    state_root: PathBuf,
    /// The --log file's format: text or json.
    #[arg(long, default_value = "text")]
    log_format: String,
    /// Accepted for runc compatibility; cgroups are not managed yet.
    #[arg(long)]
    systemd_cgroup: bool,
    /// Whether the sandbox process makes a user namespace of its own (its user mapped
    /// to itself): `auto` (when runsc is not root), `true` (always) or `false`.
    #[arg(long, default_value = "auto")]
    rootless: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program in a new sandbox with the caller's stdio and environment.
    Do {
        /// The host directory to use as the sandbox's root (default: the host's `/`).
        #[arg(long, default_value = "/")]
        root_dir: std::path::PathBuf,
        /// The program (a host path, for now) and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<std::ffi::OsString>,
    },
    /// Serve the gofer protocol on inherited channel FDs (started by runsc itself).
    #[command(hide = true)]
    Gofer {
        /// The directory to serve.
        #[arg(long)]
        root: std::path::PathBuf,
        /// Serve only this regular file of `--root` (one name; a bind mount of a file).
        #[arg(long)]
        file: Option<std::ffi::OsString>,
        /// Refuse every mutating request with EROFS.
        #[arg(long)]
        read_only: bool,
        /// The inherited channel FDs, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        fds: Vec<i32>,
    },
    /// Write a default OCI config.json into the bundle directory.
    Spec {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
    },
    /// Create a container: the sandbox is ready, its process waits for `start`.
    Create {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        id: String,
    },
    /// Let a created container's process run.
    Start { id: String },
    /// Create and start a container; wait for it unless --detach.
    Run {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long, short = 'd')]
        detach: bool,
        id: String,
    },
    /// Print a container's OCI state.
    State { id: String },
    /// Send a signal (number or name; default TERM) to a container's process.
    Kill {
        /// To every process of the container.
        #[arg(long, short = 'a')]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Remove a container (--force: also a running one).
    Delete {
        #[arg(long, short = 'f')]
        force: bool,
        id: String,
    },
    /// List the containers.
    List {
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        /// Only the ids.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Wait for a container to end; print and exit with its status.
    Wait { id: String },
    /// List a container's processes.
    Ps {
        #[arg(long, short = 'f', default_value = "table")]
        format: String,
        id: String,
    },
    /// Stop every process of a container.
    Pause { id: String },
    /// Continue a paused container.
    Resume { id: String },
    /// Change a running container's resource limits (as runc update).
    Update {
        /// LinuxResources JSON from this file, or `-` for stdin.
        #[arg(long, short = 'r')]
        resources: Option<PathBuf>,
        /// Memory limit in bytes (k, m, g suffixes; -1: none).
        #[arg(long, short = 'm', allow_hyphen_values = true)]
        memory: Option<String>,
        /// Most tasks (threads count); -1: none.
        #[arg(long, allow_hyphen_values = true)]
        pids_limit: Option<i64>,
        /// CPU time per period, in microseconds (stored, not enforced).
        #[arg(long, allow_hyphen_values = true)]
        cpu_quota: Option<i64>,
        /// CPU period in microseconds (stored, not enforced).
        #[arg(long)]
        cpu_period: Option<u64>,
        /// Relative CPU weight (stored, not enforced).
        #[arg(long)]
        cpu_shares: Option<u64>,
        /// CPUs the container may use (stored, not enforced).
        #[arg(long)]
        cpuset_cpus: Option<String>,
        id: String,
    },
    /// Print a container's statistics (once with --stats).
    Events {
        #[arg(long)]
        stats: bool,
        /// Seconds between two reports.
        #[arg(long, default_value = "5")]
        interval: u64,
        id: String,
    },
    /// Run a new process in a running container.
    Exec {
        /// The process as OCI process JSON (instead of the arguments).
        #[arg(long, short = 'p')]
        process: Option<PathBuf>,
        #[arg(long, short = 'd')]
        detach: bool,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long, short = 't')]
        tty: bool,
        #[arg(long)]
        cwd: Option<String>,
        /// KEY=VALUE, repeatable.
        #[arg(long, short = 'e')]
        env: Vec<String>,
        /// UID[:GID].
        #[arg(long, short = 'u')]
        user: Option<String>,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Waits on an exec's connection (its stdin) and exits with the process's status.
    #[command(hide = true)]
    ExecWait,
    /// Print the OCI runtime features this runtime has.
    Features,
    /// The sandbox process of one container (started by `create`).
    #[command(hide = true)]
    Boot {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        id: String,
    },
    /// Show how the sandbox is confined: `--seccomp` prints the sentry's seccomp
    /// allowlist for the chosen --platform.
    Debug {
        /// Print the host syscalls the sentry may make (anything else kills it).
        #[arg(long)]
        seccomp: bool,
        /// Install the allowlist in this process, then make the named syscall (a test
        /// of the filter: the process must die of SIGSYS).
        #[arg(long, hide = true)]
        seccomp_probe: Option<String>,
    },
    /// Print the syscall support report.
    Syscalls {
        /// table, json or csv.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("runsc: {msg}");
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line, not clap's multi-line report.
            let msg = e.to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            return fail(first);
        }
    };
    if cli.version {
        println!("runsc version {}", env!("CARGO_PKG_VERSION"));
        println!("commit: {}", env!("RUNSC_COMMIT"));
        println!("spec: 1.1.0");
        return ExitCode::SUCCESS;
    }
    let log_format = match cli.log_format.parse::<logging::Format>() {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let seccomp_patch = match cli.seccomp_patch.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return fail(format!(
                "unknown --seccomp-patch {other:?} (known: on, off)"
            ));
        }
    };
    let network = match cli.network.as_str() {
        "host" => sentry::Network::Host,
        "none" => sentry::Network::None,
        "sandbox" => {
            return fail(
                "--network=sandbox: the user-space network stack is not built yet (use host or none)",
            );
        }
        other => return fail(format!("unknown --network {other:?} (known: host, none)")),
    };
    let logger = logging::Logger {
        file: cli.log.clone(),
        format: log_format,
        debug: cli.debug,
    };
    if let Some(path) = &cli.log {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => logging::keep_open(path, f),
            Err(e) => return fail(format!("--log {}: {e}", path.display())),
        }
        sentry::log::set_sink(logger.sentry_sink());
    } else if cli.debug {
        sentry::log::set_sink(Box::new(std::io::stderr()));
    }
    match cli.rootless.as_str() {
        "auto" => {}
        "true" => sandbox::set_rootless(true),
        "false" => sandbox::set_rootless(false),
        other => return fail(format!("unknown --rootless {other:?} (known: auto, true, false)")),
    }
    if cli.systemd_cgroup {
        logger.info("--systemd-cgroup: ignored (cgroups are not managed yet)");
    }
    let g = oci::Globals {
        // Absolute, so the sandbox process and hooks see the same directory.
        root: std::path::absolute(&cli.state_root).unwrap_or(cli.state_root.clone()),
        logger: logger.clone(),
        platform: cli.platform.clone(),
        strace: cli.strace,
        seccomp_patch,
        network,
        rootless: cli.rootless.clone(),
        overlay: cli.overlay.clone(),
        log_format: cli.log_format.clone(),
    };
    let report = |r: Result<(), String>| match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logger.error(&e);
            ExitCode::from(1)
        }
    };
    let report_code = |r: Result<ExitCode, String>| match r {
        Ok(c) => c,
        Err(e) => {
            logger.error(&e);
            ExitCode::from(1)
        }
    };
    match cli.command {
        Some(Command::Spec { bundle }) => report(oci::spec(&bundle)),
        Some(Command::Create {
            bundle,
            pid_file,
            console_socket,
            id,
        }) => report(
            oci::create(
                &g,
                &bundle,
                pid_file.as_deref(),
                console_socket.as_deref(),
                &id,
            )
            .map(|_| ()),
        ),
        Some(Command::Start { id }) => report(oci::start(&g, &id)),
        Some(Command::Run {
            bundle,
            pid_file,
            console_socket,
            detach,
            id,
        }) => report_code(oci::run(
            &g,
            &bundle,
            pid_file.as_deref(),
            console_socket.as_deref(),
            detach,
            &id,
        )),
        Some(Command::State { id }) => report(oci::state(&g, &id)),
        Some(Command::Kill { all, id, signal }) => report(oci::kill(&g, &id, &signal, all)),
        Some(Command::Delete { force, id }) => report(oci::delete(&g, &id, force)),
        Some(Command::List { format, quiet }) => {
            if quiet {
                report(oci::list(&g, "quiet"))
            } else {
                report(oci::list(&g, &format))
            }
        }
        Some(Command::Wait { id }) => report_code(oci::wait(&g, &id)),
        Some(Command::Ps { format, id }) => report(oci::ps(&g, &id, &format)),
        Some(Command::Pause { id }) => report(oci::pause(&g, &id, false)),
        Some(Command::Resume { id }) => report(oci::pause(&g, &id, true)),
        Some(Command::Update {
            resources,
            memory,
            pids_limit,
            cpu_quota,
            cpu_period,
            cpu_shares,
            cpuset_cpus,
            id,
        }) => report(oci::update(
            &g,
            &id,
            &oci::UpdateArgs {
                resources: resources.as_deref(),
                memory: memory.as_deref(),
                pids_limit,
                cpu_quota,
                cpu_period,
                cpu_shares,
                cpuset_cpus: cpuset_cpus.as_deref(),
            },
        )),
        Some(Command::Events {
            stats,
            interval,
            id,
        }) => report(oci::events(
            &g,
            &id,
            stats,
            std::time::Duration::from_secs(interval),
        )),
        Some(Command::Exec {
            process,
            detach,
            pid_file,
            console_socket,
            tty,
            cwd,
            env,
            user,
            id,
            args,
        }) => report_code(oci::exec(
            &g,
            &id,
            &oci::ExecArgs {
                process: process.as_deref(),
                args,
                cwd,
                env,
                user,
                tty,
                console_socket: console_socket.as_deref(),
                detach,
                pid_file: pid_file.as_deref(),
            },
        )),
        Some(Command::ExecWait) => report_code(oci::exec_wait(&mut std::io::stdin().lock())),
        Some(Command::Features) => {
            println!("{:#}", oci::features());
            ExitCode::SUCCESS
        }
        Some(Command::Boot { bundle, id }) => boot::boot(&g, &bundle, &id),
        None => fail("no command given (see runsc --help)"),
        Some(Command::Debug {
            seccomp,
            seccomp_probe,
        }) => {
            let profile = sandbox::Profile::new(&cli.platform, network);
            if let Some(name) = seccomp_probe {
                return fail(sandbox::probe(&profile, &name));
            }
            if !seccomp {
                return fail("debug: say what to show (--seccomp)");
            }
            if !platform::PLATFORM_NAMES.contains(&cli.platform.as_str()) {
                return fail(format!("unknown platform {:?}", cli.platform));
            }
            print!("{}", sandbox::describe(&profile));
            ExitCode::SUCCESS
        }
        Some(Command::Syscalls { format }) => {
            match format.parse::<syscalls_table::report::Format>() {
                Ok(f) => {
                    print!("{}", syscalls_table::report::render(f));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Some(Command::Do { root_dir, argv }) => {
            // The sandbox runs in a child, in a pid namespace of its own; this process
            // waits and exits as it did.
            match sandbox::fork_sandbox_process() {
                Ok(None) => {}
                Ok(Some(ended)) => {
                    if let Some(line) = ended.describe() {
                        logger.error(&line);
                    }
                    return ExitCode::from(ended.code() as u8);
                }
                Err(e) => return fail(e),
            }
            run_do(
                &cli.platform,
                cli.strace,
                seccomp_patch,
                network,
                &cli.overlay,
                &root_dir,
                argv,
            )
        }
        Some(Command::Gofer {
            root,
            file,
            read_only,
            fds,
        }) => run_gofer(&root, file.as_deref(), read_only, &fds),
    }
}

/// `runsc gofer`: open the root, take the channels, serve until they all close.
fn run_gofer(
    root: &std::path::Path,
    file: Option<&std::ffi::OsStr>,
    read_only: bool,
    fds: &[i32],
) -> ExitCode {
    // Confined first, while it is one thread with every capability: the tree it serves
    // becomes its whole filesystem.
    let served = match sandbox::confine_gofer(root, read_only) {
        Ok(r) => r,
        Err(e) => return fail(format!("{e} (--root {})", root.display())),
    };
    let dir = match gofer::server::open_root(&served) {
        Ok(d) => d,
        Err(e) => return fail(format!("gofer: --root {}: {e}", root.display())),
    };
    let mut channels = Vec::new();
    for &fd in fds {
        match gofer::server::adopt_channel(fd) {
            Ok(c) => channels.push(c),
            Err(e) => return fail(format!("gofer: --fds {fd}: {e}")),
        }
    }
    gofer::launch::die_with_parent();
    if let Err(e) = sandbox::install_gofer(sandbox::mode_from_env()) {
        return fail(e);
    }
    let served = match file {
        Some(name) => {
            use std::os::unix::ffi::OsStrExt;
            gofer::server::serve_file(dir, name.as_bytes(), channels, read_only)
        }
        None => gofer::server::serve(dir, channels, read_only),
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("gofer: {e}")),
    }
}

/// Number of gofer channels: sentry threads do not serialise on one socket.
pub(crate) const GOFER_CHANNELS: usize = 4;

fn run_do(
    platform: &str,
    strace: bool,
    seccomp_patch: bool,
    network: sentry::Network,
    overlay: &str,
    root_dir: &std::path::Path,
    argv: Vec<std::ffi::OsString>,
) -> ExitCode {
    // `memory`: the gofer serves the host tree read-only and the sentry keeps every write
    // in an in-memory upper layer; `none`: writes go through the gofer to the host tree.
    let read_only = match overlay {
        "memory" => true,
        "none" => false,
        other => return fail(format!("unknown --overlay {other:?} (known: memory, none)")),
    };
    match std::fs::metadata(root_dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return fail(format!(
                "--root-dir {}: not a directory",
                root_dir.display()
            ));
        }
        Err(e) => return fail(format!("--root-dir {}: {e}", root_dir.display())),
    }
    if !platform::PLATFORM_NAMES.contains(&platform) {
        return fail(format!(
            "unknown platform {platform:?} (known: {})",
            platform::PLATFORM_NAMES.join(", ")
        ));
    }
    // Before any thread exists (they inherit the blocked mask). The caller's terminal, if
    // we run in its foreground, signals us for ^C, ^Z, ^\ and resizes; they go on to the
    // sandbox's foreground process group.
    let signals = match console::take_terminal_signals() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // The program gets what execve would give it here (read before anything changes
    // this process's credentials).
    let ids = sentry::host::ids();
    let (caps, no_new_privs) =
        sentry::caps::host_exec().unwrap_or_else(|| (sentry::caps::Caps::for_uid(ids.uid), false));
    let user = sentry::User {
        uid: ids.uid,
        gid: ids.gid,
        groups: ids.groups,
        caps,
        no_new_privs,
    };
    let program = resolve_program(&argv[0].to_string_lossy());
    let cwd = match std::env::current_dir() {
        Ok(d) => d.into_os_string().into_encoded_bytes(),
        Err(e) => return fail(format!("cannot read the working directory: {e}")),
    };
    let cfg = sentry::Config {
        root: sentry::RootFs::Tmpfs,
        platform: platform.to_string(),
        strace,
        seccomp_patch,
        program,
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.as_bytes().to_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_bytes());
                e
            })
            .collect(),
        cwd,
        user: Some(user),
        hostname: None,
        rlimits: Vec::new(),
        mounts: Vec::new(),
        network,
        resources: Default::default(),
    };
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return fail(format!(
                "cannot find the runsc executable to start the gofer: {e}"
            ));
        }
    };
    let (mut gofer, channels) =
        match gofer::launch::spawn(&exe, root_dir, read_only, GOFER_CHANNELS) {
            Ok(g) => g,
            Err(e) => return fail(format!("starting the gofer: {e}")),
        };
    let cfg = sentry::Config {
        root: sentry::RootFs::Gofer {
            channels,
            overlay: read_only,
        },
        ..cfg
    };
    let profile = sandbox::Profile::new(platform, network);
    // Read while /proc is still there.
    let tty = console::controlling_terminal();
    let result = sandbox::confine_sentry(&profile)
        .and_then(|()| sandbox::drop_capabilities())
        .and_then(|()| sentry::Sandbox::new(cfg).map_err(|e| e.to_string()))
        .and_then(|sandbox| {
            console::forward(signals, sandbox.control(), true, tty);
            sandbox::install(&profile, sandbox::mode_from_env())?;
            Ok(sandbox.run())
        });
    // The sandbox's channels are closed now; the gofer exits when it sees that. It holds
    // nothing that could be lost, so one that lingers is ended.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match gofer.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Ok(None) => {
                let _ = gofer.kill();
                let _ = gofer.wait();
                break;
            }
        }
    }
    match result {
        Ok(status) => ExitCode::from(status.code() as u8),
        Err(e) => fail(e),
    }
}

/// A program name without a slash is looked up in $PATH, as a shell would.
fn resolve_program(name: &str) -> String {
    if name.contains('/') || name.is_empty() {
        return name.to_string();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}
