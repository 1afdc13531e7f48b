//! `bench`: measurements of runsc against native execution and against the bare
//! mechanism of each platform, reported as ratios (DESIGN.md §9). One module per
//! benchmark; `harness` holds what they share. Never asserts on a timing.

mod build;
mod file;
mod harness;
mod idle;
mod process;
mod startup;
mod syscall;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bench",
    about = "Benchmarks runsc against native and across platforms"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Cost of one trapped syscall (getppid): native, PTRACE_SYSEMU floor, runsc per platform.
    Syscall(syscall::Args),
    /// Cost of file operations (stat, open+read 4 KiB+close, sequential 1 MiB read):
    /// native and runsc per platform.
    File(file::Args),
    /// Cost of process operations (fork, fork+exec, pipe round trip, thread create+join,
    /// sh -c true): native and runsc per platform.
    Process(process::Args),
    /// Time of a small C build (20 files + main.c, `make -j2`): native and runsc per
    /// platform, seconds per build.
    Build(build::Args),
    /// CPU used by an idle sandbox (`busybox sleep`), per platform, as a share of one CPU.
    Idle(idle::Args),
    /// Start-up of a busybox `true` container, `runsc run` beside `runc run` of the same
    /// bundle (median of 10+ runs, ratio), and the resident memory of an idle sandbox.
    Startup(startup::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Syscall(args) => syscall::run(args),
        Command::File(args) => file::run(args),
        Command::Process(args) => process::run(args),
        Command::Build(args) => build::run(args),
        Command::Idle(args) => idle::run(args),
        Command::Startup(args) => startup::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
