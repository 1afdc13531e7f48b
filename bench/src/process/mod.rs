//! `bench process`: the cost of process and thread operations — fork, fork + exec of a
//! static binary, a pipe round trip between two processes, pthread_create + join, and
//! `sh -c true` — natively and under `runsc do` on each platform, all in one run,
//! interleaved, reported as ns per operation and as ratios to native and to ptrace.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::harness::cc::BuildDir;
use crate::harness::matrix::{self, Plan, Target};
use crate::harness::run::{field, field_u64, run_with_limit};
use crate::harness::runsc::{self, Runsc};
use crate::harness::tools;
use crate::harness::{Error, Result};

const PROCESS_OPS_C: &str = include_str!("process_ops.c");

/// The shell the `sh -c true` row runs (the sandbox sees the host's, through the gofer).
const SH: &str = "/bin/sh";

/// How long one timed run should take once its row is calibrated.
const TARGET_RUN: Duration = Duration::from_millis(500);
/// Iterations of a row's first calibration run; later probes grow tenfold.
const PROBE_START: u64 = 10;
/// Fewest iterations of a timed run.
const MIN_ITERS: u64 = 10;
/// A run that takes longer than this is killed and its row reported as failed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Timed runs per row (interleaved across rows).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(5..))]
    runs: u32,
    /// Also measure `runsc --platform=P do` (ptrace is always measured). Repeatable.
    #[arg(long = "platform", value_name = "P")]
    platforms: Vec<String>,
}

/// One operation `process_ops.c` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Fork,
    Exec,
    Pipe,
    Thread,
    Sh,
}

impl Op {
    const ALL: [Op; 5] = [Op::Fork, Op::Exec, Op::Pipe, Op::Thread, Op::Sh];

    /// The operation's name on `process_ops`' command line.
    fn arg(self) -> &'static str {
        match self {
            Op::Fork => "fork",
            Op::Exec => "exec",
            Op::Pipe => "pipe",
            Op::Thread => "thread",
            Op::Sh => "sh",
        }
    }

    /// The checksum `process_ops` prints after `iters` operations: 1 per child reaped,
    /// or the sum of the bytes echoed (`i & 0x7f`) or thread results (`i & 0xff`).
    fn checksum(self, iters: u64) -> u64 {
        let masked_sum = |mask: u64| (0..iters).map(|i| i & mask).sum();
        match self {
            Op::Fork | Op::Exec | Op::Sh => iters,
            Op::Pipe => masked_sum(0x7f),
            Op::Thread => masked_sum(0xff),
        }
    }
}

impl matrix::Op for Op {
    fn label(self) -> &'static str {
        match self {
            Op::Fork => "fork + _exit + waitpid",
            Op::Exec => "fork + execve (static) + waitpid",
            Op::Pipe => "pipe round trip, 1 byte (2 processes)",
            Op::Thread => "pthread_create + pthread_join",
            Op::Sh => "fork + execve /bin/sh -c true + waitpid",
        }
    }
}

/// What every measurement needs: the built program and the runsc to use.
struct Setup {
    program: PathBuf,
    runsc: Option<Runsc>,
}

pub fn run(args: Args) -> Result<()> {
    let build = BuildDir::new("process")?;
    let program = build.compile_c("process_ops", PROCESS_OPS_C)?;
    let setup = Setup {
        program,
        runsc: Runsc::locate(),
    };
    let platforms = runsc::platforms(args.platforms);
    let sh_missing = tools::not_executable(Path::new(SH));

    println!("process: process and thread operations in a loop, ns/op timed by the program itself");
    println!(
        "{} timed runs per row, interleaved across rows; built with cc -static -O2 in {}",
        args.runs,
        build.path().display()
    );
    println!(
        "exec: the program re-executes itself (realpath of its argv[0]) with `exit`, which exits at once"
    );
    println!("pipe: a child forked before timing echoes each byte back; one op = one round trip");
    match &sh_missing {
        None => println!("sh:   {SH} -c true"),
        Some(why) => println!("sh:   skipped: {why}"),
    }
    Runsc::print_header(setup.runsc.as_ref());

    let plan = Plan {
        runs: args.runs,
        probe_start: PROBE_START,
        target_run: TARGET_RUN,
        min_iters: MIN_ITERS,
    };
    let rows = matrix::measure_all(
        &Op::ALL,
        &platforms,
        &plan,
        |op| match op {
            Op::Sh => sh_missing.clone(),
            _ => None,
        },
        |op, target, iters| measure(&setup, op, target, iters),
    );
    matrix::print_report(&rows, &platforms);
    Ok(())
}

/// One run of `op` on `target`: ns per operation.
fn measure(setup: &Setup, op: Op, target: &Target, iters: u64) -> Result<f64> {
    let mut cmd = match target {
        Target::Native => Command::new(&setup.program),
        Target::Runsc(platform) => setup
            .runsc
            .as_ref()
            .ok_or_else(|| Error::Run(Runsc::searched()))?
            .do_command(platform, &setup.program),
    };
    cmd.arg(op.arg()).arg(iters.to_string());
    let what = match target {
        Target::Native => "process_ops",
        Target::Runsc(_) => "runsc",
    };
    let out = run_with_limit(cmd, what, RUN_LIMIT)?;
    let checksum = field_u64(&out.stdout, "checksum=")?;
    let expected = op.checksum(iters);
    if checksum != expected {
        return Err(Error::Run(format!(
            "process_ops {}: checksum {checksum}, expected {expected}",
            op.arg()
        )));
    }
    field(&out.stdout, "ns_per_op=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_has_a_distinct_program_argument() {
        let mut args: Vec<&str> = Op::ALL.iter().map(|op| op.arg()).collect();
        args.sort();
        args.dedup();
        assert_eq!(args.len(), Op::ALL.len());
        for arg in args {
            assert!(
                PROCESS_OPS_C.contains(&format!("\"{arg}\"")),
                "{arg} not in process_ops.c"
            );
        }
    }

    #[test]
    fn checksums_match_the_program() {
        assert_eq!(Op::Fork.checksum(1000), 1000);
        // As process_ops printed for 1000 iterations.
        assert_eq!(Op::Pipe.checksum(1000), 62252);
        assert_eq!(Op::Thread.checksum(1000), 124716);
    }
}
