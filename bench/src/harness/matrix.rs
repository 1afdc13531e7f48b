//! The shape the per-operation benchmarks (`bench file`, `bench process`) share: every
//! operation measured natively and under `runsc do` on each platform; each row
//! calibrated, then timed in runs interleaved across rows; reported as ns per operation
//! with ratios to native and, when more than one platform is measured, to ptrace.

use std::time::Duration;

use super::calibrate::calibrate;
use super::report::{self, Cells, Table};
use super::stats::Summary;
use super::{Error, Result};

/// The platform every other platform is compared with (it is always measured).
pub const BASE_PLATFORM: &str = "ptrace";

/// One operation a benchmark's program times.
pub trait Op: Copy + PartialEq {
    /// The row group's name in the table.
    fn label(self) -> &'static str;
}

/// Where a row runs the benchmark's program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Native,
    Runsc(String),
}

impl Target {
    pub fn name(&self) -> String {
        match self {
            Target::Native => "native".into(),
            Target::Runsc(p) => format!("runsc {p}"),
        }
    }
}

/// How long runs should be and how many of them each row gets.
pub struct Plan {
    /// Timed runs per row, interleaved across rows.
    pub runs: u32,
    /// Iterations of a row's first calibration run; later probes grow tenfold.
    pub probe_start: u64,
    /// How long one timed run should take once its row is calibrated.
    pub target_run: Duration,
    /// Fewest iterations of a timed run.
    pub min_iters: u64,
}

pub struct Row<O> {
    pub op: O,
    pub target: Target,
    pub iters: u64,
    pub samples: Vec<f64>,
    pub error: Option<Error>,
    /// Why the row is not measured on this host (printed instead of figures).
    pub skipped: Option<String>,
}

impl<O> Row<O> {
    fn summary(&self) -> Option<Summary> {
        match (&self.error, &self.skipped) {
            (None, None) => Summary::of(&self.samples),
            _ => None,
        }
    }

    fn measured(&self) -> bool {
        self.error.is_none() && self.skipped.is_none()
    }
}

/// Measures every one of `ops` natively and on each of `platforms`: calibrates each
/// row, then makes `plan.runs` timed runs of every row, interleaved. `skip` says why an
/// operation cannot be measured on this host, if it cannot; `measure` makes one run
/// (operation, target, iterations → ns per operation). A row whose run fails keeps its
/// error and is not run again; the others go on.
pub fn measure_all<O: Op>(
    ops: &[O],
    platforms: &[String],
    plan: &Plan,
    skip: impl Fn(O) -> Option<String>,
    mut measure: impl FnMut(O, &Target, u64) -> Result<f64>,
) -> Vec<Row<O>> {
    let mut rows = Vec::new();
    for &op in ops {
        let targets =
            std::iter::once(Target::Native).chain(platforms.iter().cloned().map(Target::Runsc));
        for target in targets {
            rows.push(Row {
                op,
                target,
                iters: 0,
                samples: Vec::new(),
                error: None,
                skipped: skip(op),
            });
        }
    }

    for row in rows.iter_mut().filter(|r| r.measured()) {
        eprintln!("calibrating {} / {} ...", row.op.label(), row.target.name());
        match calibrate(plan.probe_start, plan.target_run, plan.min_iters, |iters| {
            measure(row.op, &row.target, iters)
        }) {
            Ok(iters) => row.iters = iters,
            Err(e) => row.error = Some(e),
        }
    }

    for i in 0..plan.runs {
        eprintln!("run {}/{} ...", i + 1, plan.runs);
        for row in rows.iter_mut().filter(|r| r.measured()) {
            match measure(row.op, &row.target, row.iters) {
                Ok(ns) => row.samples.push(ns),
                Err(e) => row.error = Some(e),
            }
        }
    }
    rows
}

/// Prints `rows` (in the order `measure_all` made them) as one table: iterations,
/// median, min and max ns per operation, the ratio to native, and the ratio to ptrace
/// when another platform was measured too.
pub fn print_report<O: Op>(rows: &[Row<O>], platforms: &[String]) {
    let median_of = |op: O, target: &Target| {
        rows.iter()
            .find(|r| r.op == op && r.target == *target)
            .and_then(Row::summary)
            .map(|s| s.median)
    };
    let base = Target::Runsc(BASE_PLATFORM.into());
    let with_base = platforms.iter().any(|p| p != BASE_PLATFORM);
    let label_width = rows.iter().map(|r| r.op.label().len()).max().unwrap_or(0);

    let mut header = vec![
        "operation / on",
        "iters/run",
        "median ns/op",
        "min ns/op",
        "max ns/op",
        "vs native",
    ];
    if with_base {
        header.push("vs ptrace");
    }
    let mut table = Table::new(&header);
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
        let cells = match (&row.skipped, &row.error, row.summary()) {
            (Some(why), _, _) => Cells::Skipped(why.clone()),
            (None, Some(e), _) => Cells::Error(e.to_string()),
            (None, None, None) => Cells::Error("no samples".into()),
            (None, None, Some(s)) => {
                let ratio_to = |target: &Target| {
                    if row.target == Target::Native || row.target == *target {
                        return "-".to_string();
                    }
                    match median_of(row.op, target) {
                        Some(m) => report::ratio(s.median / m),
                        None => "n/a".into(),
                    }
                };
                let mut figures = vec![
                    row.iters.to_string(),
                    report::ns(s.median),
                    report::ns(s.min),
                    report::ns(s.max),
                    ratio_to(&Target::Native),
                ];
                if with_base {
                    figures.push(ratio_to(&base));
                }
                Cells::Figures(figures)
            }
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
pub fn common_error<'a, O: 'a>(rows: impl Iterator<Item = &'a Row<O>>) -> Option<String> {
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

    #[derive(Clone, Copy, PartialEq, Debug)]
    struct Only;

    impl Op for Only {
        fn label(self) -> &'static str {
            "only"
        }
    }

    fn row(error: Option<&str>) -> Row<Only> {
        Row {
            op: Only,
            target: Target::Runsc("kvm".into()),
            iters: 10,
            samples: vec![1.0],
            error: error.map(|e| Error::Run(e.into())),
            skipped: None,
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
        assert_eq!(common_error(std::iter::empty::<&Row<Only>>()), None);
    }

    #[test]
    fn rows_run_interleaved_and_skipped_rows_never_run() {
        #[derive(Clone, Copy, PartialEq, Debug)]
        enum Two {
            A,
            B,
        }
        impl Op for Two {
            fn label(self) -> &'static str {
                match self {
                    Two::A => "a",
                    Two::B => "b",
                }
            }
        }
        let plan = Plan {
            runs: 2,
            probe_start: 10,
            target_run: Duration::from_millis(500),
            min_iters: 10,
        };
        let mut calls = Vec::new();
        let rows = measure_all(
            &[Two::A, Two::B],
            &["ptrace".to_string()],
            &plan,
            |op| (op == Two::B).then(|| "not here".to_string()),
            |op, target, iters| {
                calls.push((op, target.clone(), iters));
                Ok(1e8)
            },
        );
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .filter(|r| r.op == Two::B)
                .all(|r| !r.measured())
        );
        assert!(calls.iter().all(|(op, _, _)| *op == Two::A));
        // One calibration probe per row (10 x 0.1 s is long enough), then the runs,
        // each visiting every measured row in turn.
        let timed: Vec<Target> = calls[2..].iter().map(|(_, t, _)| t.clone()).collect();
        let ptrace = Target::Runsc("ptrace".into());
        assert_eq!(
            timed,
            [Target::Native, ptrace.clone(), Target::Native, ptrace]
        );
        assert!(rows[0].samples.len() == 2 && rows[1].samples.len() == 2);
    }
}
