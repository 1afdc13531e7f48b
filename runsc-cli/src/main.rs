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
    /// How application code runs: ptrace or seccomp.
    #[arg(long, global = true, default_value = "ptrace")]
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
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program in a new sandbox with the caller's stdio and environment.
    Do {
        /// The program (a host path, for now) and its arguments.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<std::ffi::OsString>,
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
        Some(Command::Do { argv }) => run_do(&cli.platform, cli.strace, argv),
    }
}

fn run_do(platform: &str, strace: bool, argv: Vec<std::ffi::OsString>) -> ExitCode {
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
    match sentry::run(cfg) {
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
