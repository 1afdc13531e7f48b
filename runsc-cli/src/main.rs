//! `runsc`: parses the command line and dispatches (DESIGN.md §7). Commands stay thin;
//! the sandbox logic lives in the `sentry` library.

use clap::{Parser, Subcommand};
use std::os::unix::ffi::OsStrExt;
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
        /// Refuse every mutating request with EROFS.
        #[arg(long)]
        read_only: bool,
        /// The inherited channel FDs, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        fds: Vec<i32>,
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
    if let Some(path) = &cli.log {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => sentry::log::set_sink(Box::new(f)),
            Err(e) => return fail(format!("--log {}: {e}", path.display())),
        }
    } else if cli.debug {
        sentry::log::set_sink(Box::new(std::io::stderr()));
    }
    match cli.command {
        None => fail("no command given (see runsc --help)"),
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
            run_do(&cli.platform, cli.strace, &cli.overlay, &root_dir, argv)
        }
        Some(Command::Gofer {
            root,
            read_only,
            fds,
        }) => run_gofer(&root, read_only, &fds),
    }
}

/// `runsc gofer`: open the root, take the channels, serve until they all close.
fn run_gofer(root: &std::path::Path, read_only: bool, fds: &[i32]) -> ExitCode {
    let dir = match gofer::server::open_root(root) {
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
    match gofer::server::serve(dir, channels, read_only) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("gofer: {e}")),
    }
}

/// Number of gofer channels: sentry threads do not serialise on one socket.
const GOFER_CHANNELS: usize = 4;

fn run_do(
    platform: &str,
    strace: bool,
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
    let program = resolve_program(&argv[0].to_string_lossy());
    let cwd = match std::env::current_dir() {
        Ok(d) => d.into_os_string().into_encoded_bytes(),
        Err(e) => return fail(format!("cannot read the working directory: {e}")),
    };
    let cfg = sentry::Config {
        root: sentry::RootFs::Tmpfs,
        platform: platform.to_string(),
        strace,
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
    let result = sentry::run(cfg);
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
