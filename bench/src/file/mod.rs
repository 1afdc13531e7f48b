//! `bench file`: the cost of file operations — stat, open + read 4 KiB + close, and
//! sequential reads of 1 MiB — natively and under `runsc do` on each platform, all in
//! one run, interleaved, reported as ns per operation and as ratios to native.

mod host_files;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::harness::calibrate::calibrate;
use crate::harness::cc::BuildDir;
use crate::harness::report::{self, Cells, Table};
use crate::harness::run::{field, run_with_limit};
use crate::harness::runsc::{self, Runsc};
use crate::harness::stats::Summary;
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

    fn label(self) -> &'static str {
        match self {
            Op::Stat => "stat (host file via gofer)",
            Op::OpenReadHost => "open+read4k+close (host file via gofer)",
            Op::OpenReadOverlay => "open+read4k+close (file in the overlay)",
            Op::SeqRead => "sequential read, per MiB (64 KiB reads)",
        }
    }
}

/// Where a row runs `file_ops`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Native,
    Runsc(String),
}

impl Target {
    fn name(&self) -> String {
        match self {
            Target::Native => "native".into(),
            Target::Runsc(p) => format!("runsc {p}"),
        }
    }
}

struct Row {
    op: Op,
    target: Target,
    iters: u64,
    samples: Vec<f64>,
    error: Option<Error>,
}

impl Row {
    fn summary(&self) -> Option<Summary> {
        match self.error {
            Some(_) => None,
            None => Summary::of(&self.samples),
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

    let mut rows = Vec::new();
    for op in Op::ALL {
        let targets =
            std::iter::once(Target::Native).chain(platforms.iter().cloned().map(Target::Runsc));
        for target in targets {
            rows.push(Row {
                op,
                target,
                iters: 0,
                samples: Vec::new(),
                error: None,
            });
        }
    }

    for row in &mut rows {
        eprintln!("calibrating {} / {} ...", row.op.label(), row.target.name());
        match calibrate(PROBE_START, TARGET_RUN, MIN_ITERS, |iters| {
            measure(&setup, row.op, &row.target, iters)
        }) {
            Ok(iters) => row.iters = iters,
            Err(e) => row.error = Some(e),
        }
    }

    for i in 0..args.runs {
        eprintln!("run {}/{} ...", i + 1, args.runs);
        for row in rows.iter_mut().filter(|r| r.error.is_none()) {
            match measure(&setup, row.op, &row.target, row.iters) {
                Ok(ns) => row.samples.push(ns),
                Err(e) => row.error = Some(e),
            }
        }
    }

    print_report(&rows, &platforms);
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

fn print_report(rows: &[Row], platforms: &[String]) {
    let native = |op: Op| {
        rows.iter()
            .find(|r| r.op == op && r.target == Target::Native)
            .and_then(Row::summary)
    };
    let label_width = Op::ALL.iter().map(|op| op.label().len()).max().unwrap_or(0);

    let mut table = Table::new(&[
        "operation / on",
        "iters/run",
        "median ns/op",
        "min ns/op",
        "max ns/op",
        "vs native",
    ]);
    // A platform that failed every row the same way (it would not start) gets one
    // line below the table instead of one per row.
    let broken: Vec<(String, String)> = platforms
        .iter()
        .filter_map(|p| {
            let target = Target::Runsc(p.clone());
            common_error(rows.iter().filter(|r| r.target == target)).map(|e| (target.name(), e))
        })
        .collect();
    let mut previous = None;
    for row in rows {
        if broken.iter().any(|(name, _)| *name == row.target.name()) {
            continue;
        }
        // The operation is named on the first row of its group only.
        let label = if previous == Some(row.op) {
            ""
        } else {
            row.op.label()
        };
        previous = Some(row.op);
        let name = format!("{label:<label_width$}  {}", row.target.name());
        let cells = match (&row.error, row.summary()) {
            (Some(e), _) => Cells::Error(e.to_string()),
            (None, None) => Cells::Error("no samples".into()),
            (None, Some(s)) => Cells::Figures(vec![
                row.iters.to_string(),
                report::ns(s.median),
                report::ns(s.min),
                report::ns(s.max),
                match (&row.target, native(row.op)) {
                    (Target::Native, _) => "-".into(),
                    (_, Some(n)) => report::ratio(s.median / n.median),
                    (_, None) => "n/a".into(),
                },
            ]),
        };
        table.row(name, cells);
    }
    println!();
    table.print();
    for (name, error) in &broken {
        println!("{name}: FAILED on every row: {error}");
    }
}

/// The error every one of `rows` failed with, if there is at least one row and they all
/// failed with the same message.
fn common_error<'a>(rows: impl Iterator<Item = &'a Row>) -> Option<String> {
    let mut common: Option<String> = None;
    for row in rows {
        let error = row.error.as_ref()?.to_string();
        match &common {
            Some(c) if *c != error => return None,
            Some(_) => {}
            None => common = Some(error),
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(error: Option<&str>) -> Row {
        Row {
            op: Op::Stat,
            target: Target::Runsc("kvm".into()),
            iters: 10,
            samples: vec![1.0],
            error: error.map(|e| Error::Run(e.into())),
        }
    }

    #[test]
    fn platform_failing_alike_everywhere_has_one_error() {
        let same = [row(Some("unknown platform")), row(Some("unknown platform"))];
        assert_eq!(
            common_error(same.iter()).as_deref(),
            Some("unknown platform")
        );
        let differ = [row(Some("a")), row(Some("b"))];
        assert_eq!(common_error(differ.iter()), None);
        let one_ok = [row(Some("a")), row(None)];
        assert_eq!(common_error(one_ok.iter()), None);
        assert_eq!(common_error([].iter()), None);
    }

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
