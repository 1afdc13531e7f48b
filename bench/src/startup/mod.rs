//! `bench startup`: how long a container takes from `run` to its end, `runsc run` beside
//! `runc run` of the same busybox `true` bundle (median of several runs each, and their
//! ratio); and the resident memory of an idle container's sandbox (the sentry process
//! and its gofers, from /proc) while its application sleeps.

use crate::harness::run::{run_to_exit, run_with_limit};
use crate::harness::runsc::Runsc;
use crate::harness::stats::Summary;
use crate::harness::tools::find_in_path;
use crate::harness::workspace::target_dir;
use crate::harness::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Runs of each runtime (the median is reported; at least 10).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// The platform runsc uses.
    #[arg(long, default_value = "seccomp")]
    platform: String,
}

const BUSYBOX: &str = "/bin/busybox";
const LIMIT: Duration = Duration::from_secs(60);

pub fn run(args: Args) -> std::result::Result<(), Error> {
    let runsc = Runsc::locate();
    Runsc::print_header(runsc.as_ref());
    let Some(runsc) = runsc else {
        return Err(Error::Run(Runsc::searched()));
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Error::Run(
            "startup needs root (runc and runsc create containers)".into(),
        ));
    }
    let runs = args.runs.max(10);
    let dir = target_dir().join(format!("bench-startup-{}", std::process::id()));
    let result = measure_all(&runsc.path, &args.platform, runs, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure_all(runsc: &Path, platform: &str, runs: usize, dir: &Path) -> Result<()> {
    let bundle = make_bundle(dir, &["/bin/true"])?;
    let state = dir.join("state");
    let runsc_cmd = |id: &str| {
        let mut c = Command::new(runsc);
        c.arg(format!("--platform={platform}"))
            .arg("--root")
            .arg(state.join("runsc"))
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(id);
        c
    };
    let runc = find_in_path("runc");
    let runc_cmd = |runc: &Path, id: &str| {
        let mut c = Command::new(runc);
        c.arg("--root")
            .arg(state.join("runc"))
            .args(["run", "--bundle"])
            .arg(&bundle)
            .arg(id);
        c
    };
    println!("startup: `run` of a busybox `true` bundle to its end, {runs} runs each");
    println!(
        "{:<8} {:>10} {:>10} {:>10}",
        "runtime", "median ms", "min ms", "max ms"
    );
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    // Alternated, so that both see the same machine load.
    for i in 0..runs {
        ours.push(time_one(runsc_cmd(&format!("s{i}")), "runsc run")?);
        if let Some(r) = &runc {
            match time_one(runc_cmd(r, &format!("r{i}")), "runc run") {
                Ok(t) => theirs.push(t),
                Err(e) => {
                    println!("runc     FAILED: {e}");
                    break;
                }
            }
        }
    }
    let ours = print_row("runsc", &ours);
    let theirs = print_row("runc", &theirs);
    match (ours, theirs, &runc) {
        (Some(a), Some(b), _) => println!("ratio runsc/runc (medians): {:.2}", a / b),
        (_, _, None) => println!("ratio: no runc in PATH (apt-get install runc)"),
        _ => println!("ratio: no runc figure"),
    }
    idle_memory(runsc, platform, dir, &state)
}

/// Wall time of one run, in milliseconds; the run must exit 0.
fn time_one(cmd: Command, what: &str) -> Result<f64> {
    let start = Instant::now();
    run_with_limit(cmd, what, LIMIT)?;
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

fn print_row(name: &str, samples: &[f64]) -> Option<f64> {
    let s = Summary::of(samples)?;
    println!(
        "{name:<8} {:>10.1} {:>10.1} {:>10.1}",
        s.median, s.min, s.max
    );
    Some(s.median)
}

/// Starts a detached `sleep` container, waits for it to settle, and prints the resident
/// memory of the sandbox process and of its gofer children.
fn idle_memory(runsc: &Path, platform: &str, dir: &Path, state: &Path) -> Result<()> {
    let bundle = make_bundle(&dir.join("idle"), &["/bin/sleep", "1000"])?;
    let base = |args: &[&str]| {
        let mut c = Command::new(runsc);
        c.arg(format!("--platform={platform}"))
            .arg("--root")
            .arg(state.join("runsc"))
            .args(args);
        c
    };
    let id = "idle";
    let mut run = base(&["run", "--detach", "--bundle"]);
    // The detached sandbox keeps the stdio it is given: not pipes we would read to EOF.
    run.arg(&bundle)
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let st = run
        .status()
        .map_err(|e| Error::io("runsc run --detach", e))?;
    if !st.success() {
        let _ = run_to_exit(base(&["delete", "--force", id]), "runsc delete", LIMIT);
        return Err(Error::Run(format!("runsc run --detach: {st}")));
    }
    let measured = (|| {
        let out = run_with_limit(base(&["state", id]), "runsc state", LIMIT)?;
        let pid = state_pid(&out.stdout)
            .ok_or_else(|| Error::Run(format!("no pid in the state: {}", out.stdout)))?;
        std::thread::sleep(Duration::from_secs(1));
        // The pid is the process that waits for the sandbox process (its only child),
        // whose children are the gofers, the stub factory and the application's stubs
        // (application memory, not counted).
        let parent = rss_kib(pid)?;
        let sandbox = children(pid)
            .into_iter()
            .next()
            .ok_or_else(|| Error::Run(format!("pid {pid} has no sandbox process")))?;
        let sentry = rss_kib(sandbox)?;
        let kids = children(sandbox);
        let named = |c: i32, what: &[u8]| {
            std::fs::read(format!("/proc/{c}/cmdline"))
                .is_ok_and(|b| b.split(|&x| x == 0).any(|a| a == what))
        };
        let gofers: Vec<u64> = kids
            .iter()
            .filter(|&&c| named(c, b"gofer"))
            .filter_map(|&c| rss_kib(c).ok())
            .collect();
        let factory: u64 = kids
            .iter()
            .filter(|&&c| {
                std::fs::read_to_string(format!("/proc/{c}/comm"))
                    .is_ok_and(|n| n.trim() == "runsc-factory")
            })
            .filter_map(|&c| rss_kib(c).ok())
            .sum();
        Ok::<_, Error>((parent, sentry, factory, gofers))
    })();
    let _ = run_to_exit(base(&["delete", "--force", id]), "runsc delete", LIMIT);
    let (parent, sentry, factory, gofers) = measured?;
    let gofer_total: u64 = gofers.iter().sum();
    println!(
        "idle `sleep` container: sentry {sentry} KiB + {} gofer(s) {gofer_total} KiB = {} KiB resident \
         (and {parent} KiB for the process that waits for it, {factory} KiB for the stub factory)",
        gofers.len(),
        sentry + gofer_total
    );
    Ok(())
}

/// The `"pid"` of `runsc state` JSON (a number after the key).
fn state_pid(json: &str) -> Option<i32> {
    let rest = &json[json.find("\"pid\"")? + 5..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok().filter(|&p| p > 0)
}

/// VmRSS of a host process, in KiB.
fn rss_kib(pid: i32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| Error::io(format!("/proc/{pid}/status"), e))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| Error::Run(format!("no VmRSS for pid {pid}")))
}

/// The host pids whose parent is `pid`.
fn children(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|c| {
            std::fs::read_to_string(format!("/proc/{c}/stat")).is_ok_and(|s| {
                // The fields after the command name, which may hold spaces.
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// A bundle in `dir` whose rootfs is busybox and whose process runs `args`, valid for
/// both runc and runsc (runc's usual namespaces and mounts).
fn make_bundle(dir: &Path, args: &[&str]) -> Result<PathBuf> {
    let io = |what: &str| {
        let what = what.to_string();
        move |e| Error::io(what, e)
    };
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).map_err(io("making the bundle"))?;
    }
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox"))
        .map_err(io("copying /bin/busybox (apt-get install busybox-static)"))?;
    for l in ["sh", "true", "sleep"] {
        let p = rootfs.join("bin").join(l);
        if !p.exists() {
            std::os::unix::fs::symlink("busybox", p).map_err(io("making the bundle"))?;
        }
    }
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    let config = format!(
        r#"{{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false,
    "user": {{"uid": 0, "gid": 0}},
    "args": [{}],
    "env": ["PATH=/bin"],
    "cwd": "/"
  }},
  "root": {{"path": "rootfs", "readonly": true}},
  "hostname": "bench",
  "mounts": [
    {{"destination": "/proc", "type": "proc", "source": "proc"}},
    {{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]}},
    {{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}}
  ],
  "linux": {{
    "namespaces": [{{"type": "pid"}}, {{"type": "ipc"}}, {{"type": "uts"}}, {{"type": "mount"}}, {{"type": "network"}}]
  }}
}}
"#,
        quoted.join(", ")
    );
    std::fs::write(dir.join("config.json"), config).map_err(io("writing config.json"))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::state_pid;

    #[test]
    fn the_pid_is_read_from_the_state() {
        assert_eq!(
            state_pid(r#"{"id":"x","pid": 1234, "status":"running"}"#),
            Some(1234)
        );
        assert_eq!(state_pid(r#"{"pid":0}"#), None);
        assert_eq!(state_pid(r#"{"id":"pid"}"#), None);
        assert_eq!(state_pid("garbage"), None);
    }
}
