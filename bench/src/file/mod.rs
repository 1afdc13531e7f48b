//! `bench file`: the cost of file operations — stat, open + read 4 KiB + close, and
//! sequential reads of 1 MiB — natively and under `runsc do` on each platform, all in
//! one run, interleaved, reported as ns per operation and as ratios to native.

mod host_files;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::harness::cc::BuildDir;
use crate::harness::matrix::{self, Plan, Target};
use crate::harness::run::{field, run_with_limit};
use crate::harness::runsc::{self, Runsc};
use crate::harness::{Error, Result};

use host_files::Candidate;

const FILE_OPS_C: &str = include_str!("file_ops.c");

/// The host file the stat row looks up (served through the gofer inside the sandbox).
const STAT_PATH: &str = "/etc/hostname";
/// Host files for the 4 KiB row, in order of preference; the first big enough is used.
const SMALL_CANDIDATES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/usr/bin/env",
    "/bin/sh",
];
const SMALL_MIN: u64 = 4096;
/// Host files for the sequential-read row; the biggest of at least 1 MiB is used.
const BIG_CANDIDATES: &[&str] = &[
    "/usr/bin/python3.11",
    "/usr/bin/python3",
    "/usr/bin/perl",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/bin/bash",
    "/bin/bash",
];
const BIG_MIN: u64 = 1 << 20;

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

/// One operation `file_ops.c` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Stat,
    OpenReadHost,
    OpenReadOverlay,
    SeqRead,
}

impl Op {
    const ALL: [Op; 4] = [Op::Stat, Op::OpenReadHost, Op::OpenReadOverlay, Op::SeqRead];

    /// The operation's name on `file_ops`' command line.
    fn arg(self) -> &'static str {
        match self {
            Op::Stat => "stat",
            Op::OpenReadHost => "open-read",
            Op::OpenReadOverlay => "open-read-new",
            Op::SeqRead => "seq-read",
        }
    }
}

impl matrix::Op for Op {
    fn label(self) -> &'static str {
        match self {
            Op::Stat => "stat (host file via gofer)",
            Op::OpenReadHost => "open+read4k+close (host file via gofer)",
            Op::OpenReadOverlay => "open+read4k+close (file in the overlay)",
            Op::SeqRead => "sequential read, per MiB (64 KiB reads)",
        }
    }
}

/// What every measurement needs: the built program, the runsc to use, and each
/// operation's path argument (or why there is none on this host).
struct Setup {
    program: PathBuf,
    runsc: Option<Runsc>,
    stat_path: std::result::Result<PathBuf, String>,
    small_file: std::result::Result<PathBuf, String>,
    scratch_dir: PathBuf,
    big_file: std::result::Result<PathBuf, String>,
}

impl Setup {
    fn path_of(&self, op: Op) -> std::result::Result<&Path, String> {
        let path = match op {
            Op::Stat => &self.stat_path,
            Op::OpenReadHost => &self.small_file,
            Op::OpenReadOverlay => return Ok(&self.scratch_dir),
            Op::SeqRead => &self.big_file,
        };
        path.as_deref().map_err(Clone::clone)
    }
}

pub fn run(args: Args) -> Result<()> {
    let build = BuildDir::new("file")?;
    let program = build.compile_c("file_ops", FILE_OPS_C)?;

    let stat = [Candidate::probe(Path::new(STAT_PATH))];
    let small = host_files::probe_all(SMALL_CANDIDATES);
    let big = host_files::probe_all(BIG_CANDIDATES);
    let setup = Setup {
        program,
        runsc: Runsc::locate(),
        stat_path: chosen(host_files::first_at_least(&stat, 0), &stat, 0),
        small_file: chosen(
            host_files::first_at_least(&small, SMALL_MIN),
            &small,
            SMALL_MIN,
        ),
        scratch_dir: build.path().to_path_buf(),
        big_file: chosen(host_files::biggest_at_least(&big, BIG_MIN), &big, BIG_MIN),
    };
    let platforms = runsc::platforms(args.platforms);

    println!("file: file operations in a loop, ns/op timed by the program itself");
    println!(
        "{} timed runs per row, interleaved across rows; built with cc -static -O2 in {}",
        args.runs,
        build.path().display()
    );
    println!("stat:              {}", describe(&setup.stat_path, &stat));
    println!("4 KiB host file:   {}", describe(&setup.small_file, &small));
    println!(
        "4 KiB new file:    created by the program in {} (in the sandbox: the in-memory overlay)",
        setup.scratch_dir.display()
    );
    println!("sequential read:   {}", describe(&setup.big_file, &big));
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
        |_| None,
        |op, target, iters| measure(&setup, op, target, iters),
    );
    matrix::print_report(&rows, &platforms);
    Ok(())
}

/// The path `pick` chose among `candidates`, or the error line saying none would do.
fn chosen(
    pick: Option<&Candidate>,
    candidates: &[Candidate],
    min: u64,
) -> std::result::Result<PathBuf, String> {
    pick.map(|c| c.path.clone())
        .ok_or_else(|| host_files::none_found(candidates, min))
}

/// `PATH (N bytes)` for the chosen file, or the reason there is none.
fn describe(path: &std::result::Result<PathBuf, String>, candidates: &[Candidate]) -> String {
    match path {
        Ok(p) => {
            let size = candidates
                .iter()
                .find(|c| &c.path == p)
                .and_then(|c| c.size);
            match size {
                Some(s) => format!("{} ({s} bytes)", p.display()),
                None => p.display().to_string(),
            }
        }
        Err(e) => format!("none: {e}"),
    }
}

/// One run of `op` on `target`: ns per operation.
fn measure(setup: &Setup, op: Op, target: &Target, iters: u64) -> Result<f64> {
    let path = setup.path_of(op).map_err(Error::Run)?;
    let mut cmd = match target {
        Target::Native => Command::new(&setup.program),
        Target::Runsc(platform) => setup
            .runsc
            .as_ref()
            .ok_or_else(|| Error::Run(Runsc::searched()))?
            .do_command(platform, &setup.program),
    };
    cmd.arg(op.arg()).arg(iters.to_string()).arg(path);
    let what = match target {
        Target::Native => "file_ops",
        Target::Runsc(_) => "runsc",
    };
    let out = run_with_limit(cmd, what, RUN_LIMIT)?;
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
                FILE_OPS_C.contains(&format!("\"{arg}\"")),
                "{arg} not in file_ops.c"
            );
        }
    }
}
