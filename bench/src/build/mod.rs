//! `bench build`: a C build — 200 source files (`--sources N`) and `main.c`, compiled with
//! `gcc -O2 -c` and linked by `make -j2` — natively and under `runsc do` on each
//! platform, interleaved, reported as seconds per build and as ratios to native and to
//! ptrace. Every build is checked: the program it produced must print the expected sum.
//!
//! The project lives in a directory under the workspace's target directory, which the
//! sandbox sees too. Its objects are removed (untimed) before every run. Natively the
//! bench times `make -j2` and then runs `./prog`, untimed. Inside the sandbox writes go
//! to an in-memory overlay and never reach the host, so the bench times
//! `runsc do -- sh -c 'make -j2 && ./prog'` in the project directory (runsc keeps the
//! working directory) and reads the sum from its output: that figure also includes the
//! sandbox's start and exit, `sh` and `./prog`, all small beside the build.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Args as ClapArgs;

use crate::harness::cc::BuildDir;
use crate::harness::matrix::{BASE_PLATFORM, Target};
use crate::harness::report::{self, Cells, Table};
use crate::harness::run::{Output, field_u64, last_line, run_to_exit, run_with_limit};
use crate::harness::runsc::{self, Runsc};
use crate::harness::stats::Summary;
use crate::harness::tools;
use crate::harness::{Error, Result};

/// Source files besides `main.c` by default; file N defines `int fN(int x)`.
const DEFAULT_SOURCES: u32 = 200;
/// The argument `main` passes to every `fN`.
const ARG: i64 = 1000;
/// The name `prog` prints its sum under.
const SUM_KEY: &str = "build_sum=";
/// The shell the sandboxed rows run the build and the program with.
const SH: &str = "/bin/sh";
/// What that shell runs, in the project directory.
const SANDBOX_SCRIPT: &str = "make -j2 && ./prog";
/// A build that takes longer than this is killed and its row reported as failed.
const BUILD_LIMIT: Duration = Duration::from_secs(600);
/// The same for running the built program natively.
const PROG_LIMIT: Duration = Duration::from_secs(10);

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Timed builds per row (interleaved across rows).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Also measure `runsc --platform=P do` (ptrace is always measured). Repeatable.
    #[arg(long = "platform", value_name = "P")]
    platforms: Vec<String>,
    /// C files in the project besides main.c (each compiled by its own gcc).
    #[arg(long, default_value_t = DEFAULT_SOURCES, value_parser = clap::value_parser!(u32).range(1..=5000))]
    sources: u32,
}

struct Row {
    target: Target,
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

/// What every build needs: the project and the runsc to use.
struct Setup {
    project: PathBuf,
    sources: u32,
    runsc: Option<Runsc>,
}

pub fn run(args: Args) -> Result<()> {
    let sources = args.sources;
    println!(
        "build: {sources} C files + main.c, gcc -O2 -c each, linked; `make -j2`, seconds per build"
    );
    let missing: Vec<&str> = ["gcc", "make"]
        .into_iter()
        .filter(|t| tools::find_in_path(t).is_none())
        .collect();
    if !missing.is_empty() {
        println!("skipped: {} not found in $PATH", missing.join(" and "));
        return Ok(());
    }

    let build = BuildDir::new("build")?;
    write_project(build.path(), sources)?;
    let setup = Setup {
        project: build.path().to_path_buf(),
        sources,
        runsc: Runsc::locate(),
    };
    let platforms = runsc::platforms(args.platforms);

    println!(
        "{} timed builds per row, interleaved across rows; project in {}",
        args.runs,
        setup.project.display()
    );
    println!("{}", first_line_of("gcc", "--version"));
    println!("{}", first_line_of("make", "--version"));
    println!("native: time of `make -j2`; ./prog is run afterwards, untimed, to check the sum");
    println!(
        "runsc:  time of `runsc --platform=P do -- {SH} -c '{SANDBOX_SCRIPT}'` (includes sandbox start and exit, sh and ./prog)"
    );
    println!("objects and prog are removed before every build (untimed)");
    Runsc::print_header(setup.runsc.as_ref());

    let mut rows: Vec<Row> = std::iter::once(Target::Native)
        .chain(platforms.iter().cloned().map(Target::Runsc))
        .map(|target| Row {
            target,
            samples: Vec::new(),
            error: None,
        })
        .collect();
    if let Some(why) = tools::not_executable(Path::new(SH)) {
        for row in rows.iter_mut().filter(|r| r.target != Target::Native) {
            row.error = Some(Error::Run(format!("no shell to run the build with: {why}")));
        }
    }

    // Brings gcc, its headers and libraries into the page cache; its figure is dropped.
    // A failure here is left for the native row's first timed build to report.
    eprintln!("warm-up: one native build ...");
    let _ = measure(&setup, &Target::Native);

    for i in 0..args.runs {
        eprintln!("run {}/{} ...", i + 1, args.runs);
        for row in rows.iter_mut().filter(|r| r.error.is_none()) {
            match measure(&setup, &row.target) {
                Ok(secs) => row.samples.push(secs),
                Err(e) => row.error = Some(e),
            }
        }
    }
    // Leave the directory as generated (it is removed with `build` anyway).
    let _ = clean(&setup.project, sources);

    print_report(&rows, &platforms);
    Ok(())
}

/// The files of the project: `fN.c` for N in 1..=sources, `main.c` and the `Makefile`.
fn project_files(sources: u32) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for n in 1..=sources {
        files.push((
            format!("f{n}.c"),
            format!(
                "/* Generated by `bench build`. */\n\
                 int f{n}(int x) {{\n\
                 \x20   int s = 0;\n\
                 \x20   for (int i = 0; i < x; i++)\n\
                 \x20       s = (s * 31 + i * {n} + {n}) % 10007;\n\
                 \x20   return s;\n\
                 }}\n"
            ),
        ));
    }
    let mut main = String::from("/* Generated by `bench build`. */\n#include <stdio.h>\n\n");
    for n in 1..=sources {
        main.push_str(&format!("int f{n}(int x);\n"));
    }
    main.push_str("\nint main(void) {\n    long sum = 0;\n");
    for n in 1..=sources {
        main.push_str(&format!("    sum += f{n}({ARG});\n"));
    }
    main.push_str(&format!(
        "    printf(\"{SUM_KEY}%ld\\n\", sum);\n    return 0;\n}}\n"
    ));
    files.push(("main.c".into(), main));
    files.push(("Makefile".into(), makefile(sources)));
    files
}

fn makefile(sources: u32) -> String {
    let objects = object_names(sources).join(" ");
    format!(
        "# Generated by `bench build`.\n\
         CC = gcc\n\
         CFLAGS = -O2\n\
         OBJS = {objects}\n\
         \n\
         prog: $(OBJS)\n\
         \t$(CC) -o $@ $(OBJS)\n\
         \n\
         %.o: %.c\n\
         \t$(CC) $(CFLAGS) -c -o $@ $<\n\
         \n\
         clean:\n\
         \trm -f prog $(OBJS)\n\
         \n\
         .PHONY: clean\n"
    )
}

/// Every file a build produces.
fn object_names(sources: u32) -> Vec<String> {
    (1..=sources)
        .map(|n| format!("f{n}.o"))
        .chain(std::iter::once("main.o".to_string()))
        .collect()
}

/// The sum the built program must print: the generated functions computed here.
fn expected_sum(sources: u32) -> i64 {
    (1..=i64::from(sources))
        .map(|n| (0..ARG).fold(0, |s, i| (s * 31 + i * n + n) % 10007))
        .sum()
}

fn write_project(dir: &Path, sources: u32) -> Result<()> {
    for (name, text) in project_files(sources) {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
    }
    Ok(())
}

/// Removes what a build produced, so that the next build compiles every file.
fn clean(dir: &Path, sources: u32) -> Result<()> {
    for name in object_names(sources).iter().map(String::as_str).chain(["prog"]) {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("remove {}", path.display()), e)),
        }
    }
    Ok(())
}

/// One build on `target`, checked: seconds it took.
fn measure(setup: &Setup, target: &Target) -> Result<f64> {
    clean(&setup.project, setup.sources)?;
    let mut cmd = match target {
        Target::Native => {
            let mut cmd = Command::new("make");
            cmd.arg("-j2");
            cmd
        }
        Target::Runsc(platform) => {
            let mut cmd = setup
                .runsc
                .as_ref()
                .ok_or_else(|| Error::Run(Runsc::searched()))?
                .do_command(platform, Path::new(SH));
            cmd.args(["-c", SANDBOX_SCRIPT]);
            cmd
        }
    };
    cmd.current_dir(&setup.project);
    let what = match target {
        Target::Native => "make",
        Target::Runsc(_) => "runsc",
    };
    let start = Instant::now();
    let (status, out) = run_to_exit(cmd, what, BUILD_LIMIT)?;
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(Error::Run(format!(
            "{what}: {status}: {}",
            build_error(&out)
        )));
    }
    let printed = match target {
        Target::Native => {
            let prog =
                run_with_limit(Command::new(setup.project.join("prog")), "prog", PROG_LIMIT)?;
            prog.stdout
        }
        Target::Runsc(_) => out.stdout,
    };
    let sum = field_u64(&printed, SUM_KEY)?;
    let expected = expected_sum(setup.sources);
    if i64::try_from(sum).ok() != Some(expected) {
        return Err(Error::Run(format!(
            "prog printed {SUM_KEY}{sum}, expected {expected}"
        )));
    }
    Ok(secs)
}

/// The line of a failed build's output that says why: the first of make's `***` lines
/// or the compiler's errors (make's last line is often only `Waiting for unfinished
/// jobs`), else the last line.
fn build_error(out: &Output) -> String {
    let telling = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.contains("***") || l.to_ascii_lowercase().contains("error"))
            .map(String::from)
    };
    telling(&out.stderr)
        .or_else(|| telling(&out.stdout))
        .or_else(|| last_line(&out.stderr).map(String::from))
        .or_else(|| last_line(&out.stdout).map(String::from))
        .unwrap_or_else(|| "(no output)".into())
}

/// The first line `program flag` prints, or why there is none.
fn first_line_of(program: &str, flag: &str) -> String {
    match Command::new(program).arg(flag).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        Err(e) => format!("{program} {flag}: {e}"),
    }
}

fn print_report(rows: &[Row], platforms: &[String]) {
    let median_of = |target: &Target| {
        rows.iter()
            .find(|r| r.target == *target)
            .and_then(Row::summary)
            .map(|s| s.median)
    };
    let base = Target::Runsc(BASE_PLATFORM.into());
    let with_base = platforms.iter().any(|p| p != BASE_PLATFORM);

    let mut header = vec![
        "build on",
        "builds",
        "median s",
        "min s",
        "max s",
        "vs native",
    ];
    if with_base {
        header.push("vs ptrace");
    }
    let mut table = Table::new(&header);
    for row in rows {
        let cells = match (&row.error, row.summary()) {
            (Some(e), _) => Cells::Error(e.to_string()),
            (None, None) => Cells::Error("no samples".into()),
            (None, Some(s)) => {
                let ratio_to = |target: &Target| {
                    if row.target == Target::Native || row.target == *target {
                        return "-".to_string();
                    }
                    match median_of(target) {
                        Some(m) => report::ratio(s.median / m),
                        None => "n/a".into(),
                    }
                };
                let mut figures = vec![
                    s.count.to_string(),
                    report::secs(s.median),
                    report::secs(s.min),
                    report::secs(s.max),
                    ratio_to(&Target::Native),
                ];
                if with_base {
                    figures.push(ratio_to(&base));
                }
                Cells::Figures(figures)
            }
        };
        table.row(row.target.name(), cells);
    }
    println!();
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_has_every_source_main_and_makefile() {
        const SOURCES: u32 = 20;
        let files = project_files(SOURCES);
        assert_eq!(files.len(), SOURCES as usize + 2);
        let main = &files.iter().find(|(n, _)| n == "main.c").unwrap().1;
        let makefile = &files.iter().find(|(n, _)| n == "Makefile").unwrap().1;
        for n in 1..=SOURCES {
            assert!(files.iter().any(|(name, _)| *name == format!("f{n}.c")));
            assert!(main.contains(&format!("sum += f{n}({ARG});")), "f{n}");
            assert!(makefile.contains(&format!(" f{n}.o")), "f{n}.o");
        }
        // Recipe lines start with a tab, as make requires.
        assert!(makefile.contains("\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"));
    }

    #[test]
    fn expected_sum_is_the_generated_computation() {
        // f1(3): s = 1, then (31 + 1 + 1) = 33, then (33*31 + 2 + 1) = 1026.
        let f1_of_3 = (0..3).fold(0, |s, i| (s * 31 + i + 1) % 10007);
        assert_eq!(f1_of_3, 1026);
        let sum = expected_sum(20);
        assert!(sum > 0 && sum < 20 * 10007);
    }

    #[test]
    fn build_error_prefers_the_telling_line() {
        let out = |stderr: &str, stdout: &str| Output {
            stderr: stderr.into(),
            stdout: stdout.into(),
        };
        let make = "make: *** pselect jobs pipe: Function not implemented.  Stop.\n\
                    make: *** Waiting for unfinished jobs....\n";
        assert_eq!(
            build_error(&out(make, "gcc -O2 -c -o f1.o f1.c\n")),
            "make: *** pselect jobs pipe: Function not implemented.  Stop."
        );
        assert_eq!(
            build_error(&out("f3.c:1:1: error: expected ';'\n", "")),
            "f3.c:1:1: error: expected ';'"
        );
        assert_eq!(build_error(&out("", "first\nlast\n")), "last");
        assert_eq!(build_error(&out("", "")), "(no output)");
    }

    #[test]
    fn clean_ignores_missing_files_and_removes_outputs() {
        let dir = BuildDir::new("build-test").unwrap();
        clean(dir.path(), 1).unwrap();
        fs::write(dir.path().join("f1.o"), "x").unwrap();
        fs::write(dir.path().join("prog"), "x").unwrap();
        fs::write(dir.path().join("f1.c"), "x").unwrap();
        clean(dir.path(), 1).unwrap();
        assert!(!dir.path().join("f1.o").exists() && !dir.path().join("prog").exists());
        assert!(dir.path().join("f1.c").exists());
    }
}
