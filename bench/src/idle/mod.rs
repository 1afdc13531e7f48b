//! `bench idle`: the CPU an idle sandbox uses. Runs `busybox sleep SECONDS` under each
//! platform and reports the CPU time of the whole sandbox (runsc, its stubs and its gofer,
//! all reaped by runsc, so counted in the rusage wait4 returns for it) as a share of one
//! CPU over the wall time. A sandbox whose application sleeps should use almost none.

use crate::harness::Error;
use crate::harness::runsc::{self, Runsc};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How long the sandboxed program sleeps.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Platforms to measure besides ptrace.
    #[arg(long = "platform")]
    platforms: Vec<String>,
}

const BUSYBOX: &str = "/bin/busybox";

pub fn run(args: Args) -> Result<(), Error> {
    let runsc = Runsc::locate();
    Runsc::print_header(runsc.as_ref());
    let Some(runsc) = runsc else {
        return Err(Error::Run(Runsc::searched()));
    };
    println!(
        "{:<10} {:>8} {:>10} {:>12}",
        "platform", "wall s", "cpu ms", "cpu / 1 CPU"
    );
    for platform in runsc::platforms(args.platforms) {
        let mut cmd = runsc.do_command(&platform, BUSYBOX.as_ref());
        cmd.args(["sleep", &args.seconds.to_string()]);
        match measure(cmd) {
            Ok((wall, cpu)) => {
                let share = cpu.as_secs_f64() / wall.as_secs_f64() * 100.0;
                println!(
                    "{platform:<10} {:>8.2} {:>10.1} {:>11.2}%",
                    wall.as_secs_f64(),
                    cpu.as_secs_f64() * 1e3,
                    share
                );
            }
            Err(e) => println!("{platform:<10} FAILED: {e}"),
        }
    }
    Ok(())
}

/// Runs `cmd` to completion; returns (wall time, user+system CPU of it and everything it
/// reaped).
fn measure(mut cmd: std::process::Command) -> Result<(Duration, Duration), Error> {
    let start = Instant::now();
    let child = cmd.spawn().map_err(|e| Error::io("spawning runsc", e))?;
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for the kernel to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed();
    if r != pid {
        return Err(Error::io("wait4", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(Error::Run(format!("runsc ended with status {status:#x}")));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok((wall, tv(ru.ru_utime) + tv(ru.ru_stime)))
}
