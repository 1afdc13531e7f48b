//! `bench syscall`: the cost of one trapped system call. Times getppid natively, under
//! the bare trapping mechanisms (PTRACE_SYSEMU, the floor any ptrace platform pays; a
//! seccomp SIGSYS trap handed off through shared memory, the seccomp platform's; with
//! `--platform kvm`, the kvm platform's own stub exit round trip), and
//! under `runsc do` on each platform, all in one run, interleaved, reported as ratios.

mod kvm_floor;
mod seccomp_floor;
mod sysemu_floor;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use clap::Args as ClapArgs;

use crate::harness::calibrate::scaled_iters;
use crate::harness::cc::BuildDir;
use crate::harness::report::{self, Cells, Table};
use crate::harness::run::{field, field_u64, run_with_limit};
use crate::harness::runsc::{self, Runsc};
use crate::harness::stats::Summary;
use crate::harness::{Error, Result};

const GETPPID_LOOP_C: &str = include_str!("getppid_loop.c");

/// How long one timed run should take when iterations are scaled automatically.
const TARGET_RUN: Duration = Duration::from_millis(500);
/// Iterations of the calibration run that picks a row's count (also its warm-up).
const PROBE_ITERS_NATIVE: u64 = 200_000;
const PROBE_ITERS_TRAPPED: u64 = 2_000;
/// `--iters` sets the trapped rows' count; native runs this many times more.
const NATIVE_ITERS_FACTOR: u64 = 100;
/// Fewest iterations of a scaled run.
const MIN_ITERS: u64 = 1_000;
/// A run that takes longer than this is killed and its row reported as failed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Timed runs per row (interleaved across rows).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(5..))]
    runs: u32,
    /// getppid calls per run for the trapped rows (native runs 100x as many). Default:
    /// scaled per row from a calibration run so that each run takes about 0.5 s.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    iters: Option<u64>,
    /// Also measure `runsc --platform=P do` (ptrace is always measured). Repeatable.
    #[arg(long = "platform", value_name = "P")]
    platforms: Vec<String>,
}

/// The bare trapping mechanism a platform is built on, measured without the sentry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Floor {
    PtraceSysemu,
    SeccompTrap,
    KvmExit,
}

impl Floor {
    fn of_platform(platform: &str) -> Option<Floor> {
        match platform {
            "ptrace" => Some(Floor::PtraceSysemu),
            "seccomp" => Some(Floor::SeccompTrap),
            "kvm" => Some(Floor::KvmExit),
            _ => None,
        }
    }

    fn row_name(self) -> &'static str {
        match self {
            Floor::PtraceSysemu => "floor: PTRACE_SYSEMU",
            Floor::SeccompTrap => "floor: seccomp trap",
            Floor::KvmExit => "floor: kvm stub exit",
        }
    }
}

/// How the program makes its getppid calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `syscall(SYS_getppid)`: glibc's generic entry, a site no platform can patch.
    Generic,
    /// glibc's `getppid()`: `mov $110,%eax; syscall`, which seccomp patches.
    Wrapper,
}

enum Kind {
    Native(Call),
    Floor(Floor),
    Runsc(String, Call),
}

struct Row {
    name: String,
    kind: Kind,
    iters: u64,
    samples: Vec<f64>,
    error: Option<Error>,
}

/// What every measurement needs: the built program and the runsc to use.
struct Setup {
    program: PathBuf,
    runsc: Option<Runsc>,
}

pub fn run(args: Args) -> Result<()> {
    let build = BuildDir::new("syscall")?;
    let program = build.compile_c("getppid_loop", GETPPID_LOOP_C)?;
    let setup = Setup {
        program,
        runsc: Runsc::locate(),
    };

    let platforms = runsc::platforms(args.platforms);

    println!("syscall: syscall(SYS_getppid) in a loop, ns/call timed by the program itself");
    println!(
        "{} timed runs per row, interleaved across rows; built with cc -static -O2 in {}",
        args.runs,
        build.path().display()
    );
    Runsc::print_header(setup.runsc.as_ref());
    if cfg!(debug_assertions) {
        println!("warning: the bench is a debug build (the floor's tracer is unoptimised)");
    }

    let mut rows = vec![
        Row::new("native", Kind::Native(Call::Generic)),
        Row::new("native getppid()", Kind::Native(Call::Wrapper)),
    ];
    for floor in [Floor::PtraceSysemu, Floor::SeccompTrap] {
        rows.push(Row::new(floor.row_name(), Kind::Floor(floor)));
    }
    // The kvm floor needs /dev/kvm: measured only beside the kvm platform.
    if platforms.iter().any(|p| p == "kvm") {
        rows.push(Row::new(
            Floor::KvmExit.row_name(),
            Kind::Floor(Floor::KvmExit),
        ));
    }
    for p in &platforms {
        rows.push(Row::new(
            format!("runsc {p}"),
            Kind::Runsc(p.clone(), Call::Generic),
        ));
        if p == "seccomp" {
            rows.push(Row::new(
                "runsc seccomp getppid() patched",
                Kind::Runsc(p.clone(), Call::Wrapper),
            ));
        }
    }

    for row in &mut rows {
        row.iters = match (args.iters, &row.kind) {
            (Some(m), Kind::Native(_)) => m.saturating_mul(NATIVE_ITERS_FACTOR),
            (Some(m), _) => m,
            (None, _) => {
                eprintln!("calibrating {} ...", row.name);
                let probe = row.probe_iters();
                match measure(&setup, &row.kind, probe) {
                    Ok(ns) => scaled_iters(ns, TARGET_RUN, MIN_ITERS),
                    Err(e) => {
                        row.error = Some(e);
                        continue;
                    }
                }
            }
        };
    }

    for i in 0..args.runs {
        eprintln!("run {}/{} ...", i + 1, args.runs);
        for row in rows.iter_mut().filter(|r| r.error.is_none()) {
            match measure(&setup, &row.kind, row.iters) {
                Ok(ns) => row.samples.push(ns),
                Err(e) => row.error = Some(e),
            }
        }
    }

    print_report(&rows, &platforms);
    Ok(())
}

impl Row {
    fn new(name: impl Into<String>, kind: Kind) -> Row {
        Row {
            name: name.into(),
            kind,
            iters: 0,
            samples: Vec::new(),
            error: None,
        }
    }

    fn probe_iters(&self) -> u64 {
        match self.kind {
            Kind::Native(_) | Kind::Runsc(_, Call::Wrapper) => PROBE_ITERS_NATIVE,
            _ => PROBE_ITERS_TRAPPED,
        }
    }

    fn summary(&self) -> Option<Summary> {
        match self.error {
            Some(_) => None,
            None => Summary::of(&self.samples),
        }
    }
}

/// One run of `kind`: ns per getppid call.
fn measure(setup: &Setup, kind: &Kind, iters: u64) -> Result<f64> {
    match kind {
        Kind::Native(call) => {
            let mut cmd = Command::new(&setup.program);
            cmd.arg(iters.to_string());
            if *call == Call::Wrapper {
                cmd.arg("wrapper");
            }
            let out = run_with_limit(cmd, "getppid_loop", RUN_LIMIT)?;
            // Natively its parent is this process: check the loop really ran.
            let expected = u64::from(std::process::id()).wrapping_mul(iters);
            let checksum = field_u64(&out.stdout, "checksum=")?;
            if checksum != expected {
                return Err(Error::Run(format!(
                    "getppid_loop: checksum {checksum}, expected {expected}"
                )));
            }
            field(&out.stdout, "ns_per_call=")
        }
        Kind::Floor(Floor::PtraceSysemu) => sysemu_floor::ns_per_call(iters),
        Kind::Floor(Floor::SeccompTrap) => seccomp_floor::ns_per_call(iters),
        Kind::Floor(Floor::KvmExit) => kvm_floor::ns_per_call(iters),
        Kind::Runsc(platform, call) => {
            let runsc = setup
                .runsc
                .as_ref()
                .ok_or_else(|| Error::Run(Runsc::searched()))?;
            let mut cmd = runsc.do_command(platform, &setup.program);
            cmd.arg(iters.to_string());
            if *call == Call::Wrapper {
                cmd.arg("wrapper");
            }
            let out = run_with_limit(cmd, "runsc", RUN_LIMIT)?;
            field(&out.stdout, "ns_per_call=")
        }
    }
}

fn print_report(rows: &[Row], platforms: &[String]) {
    let native = |c: Call| {
        rows.iter()
            .find(|r| matches!(r.kind, Kind::Native(d) if d == c))
            .and_then(Row::summary)
    };
    let floor = |f: Floor| {
        rows.iter()
            .find(|r| matches!(r.kind, Kind::Floor(g) if g == f))
            .and_then(Row::summary)
    };
    let ratio = |num: &Summary, den: Option<Summary>| match den {
        Some(d) => report::ratio(num.median / d.median),
        None => "-".to_string(),
    };

    let mut table = Table::new(&[
        "row",
        "iters/run",
        "median ns",
        "min ns",
        "max ns",
        "vs native",
        "vs floor",
    ]);
    for row in rows {
        let cells = match (&row.error, row.summary()) {
            (Some(e), _) => Cells::Error(e.to_string()),
            (None, None) => Cells::Error("no samples".into()),
            (None, Some(s)) => {
                let (own_floor, call) = match &row.kind {
                    Kind::Native(c) => (None, *c),
                    Kind::Floor(f) => (Some(*f), Call::Generic),
                    // A patched call has no trap: no floor applies.
                    Kind::Runsc(_, Call::Wrapper) => (None, Call::Wrapper),
                    Kind::Runsc(p, c) => (Floor::of_platform(p), *c),
                };
                Cells::Figures(vec![
                    row.iters.to_string(),
                    report::ns(s.median),
                    report::ns(s.min),
                    report::ns(s.max),
                    ratio(&s, native(call)),
                    match own_floor {
                        Some(f) => ratio(&s, floor(f)),
                        None => "-".into(),
                    },
                ])
            }
        };
        table.row(&row.name, cells);
    }
    println!();
    table.print();
    println!();

    for p in platforms {
        let row = rows
            .iter()
            .find(|r| matches!(&r.kind, Kind::Runsc(q, Call::Generic) if q == p));
        let line = match (row.and_then(Row::summary), Floor::of_platform(p)) {
            (_, None) => format!("n/a (no floor row for the {p} mechanism yet)"),
            (None, Some(_)) => "n/a (runsc row failed)".into(),
            (Some(s), Some(f)) => match floor(f) {
                Some(fl) => report::ratio(s.median / fl.median),
                None => "n/a (floor row failed)".into(),
            },
        };
        println!("{p}/floor = {line}");
    }
    let patched = rows
        .iter()
        .find(|r| matches!(&r.kind, Kind::Runsc(_, Call::Wrapper)))
        .and_then(Row::summary);
    if let (Some(s), Some(n)) = (patched, native(Call::Wrapper)) {
        println!(
            "seccomp patched getppid()/native getppid() = {}",
            report::ratio(s.median / n.median)
        );
    }
}
