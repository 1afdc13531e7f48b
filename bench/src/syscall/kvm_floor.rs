//! The cost floor of the kvm platform, measured without the sentry: the platform's own
//! stub runs a user-mode loop of `syscall` in a VM of its own, and each call comes back
//! to this thread as an event (user `syscall` → ring-0 stub → `out` → host → resume),
//! with no system-call handling at all.

use crate::harness::{Error, Result};
use platform::{CpuState, Event, Perms};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::time::Instant;

/// Where the loop's code is mapped.
const CODE: u64 = 0x40_0000;

/// Runs `iters` stub round trips; returns ns per round trip.
pub fn ns_per_call(iters: u64) -> Result<f64> {
    let err =
        |what: &str, e: platform::PlatformError| Error::Run(format!("kvm floor: {what}: {e}"));
    let io = |e: std::io::Error| Error::Run(format!("kvm floor: guest memory file: {e}"));
    // The VM's memory file: a sparse file in memory, removed at once (the fd keeps it).
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("runsc-kvm-floor-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io)?;
    let _ = std::fs::remove_file(&path);
    file.set_len(1 << 30).map_err(io)?;
    // syscall; jmp back to it
    file.write_all_at(&[0x0f, 0x05, 0xeb, 0xfc], 0)
        .map_err(io)?;
    let p = platform::new_platform("kvm", file.as_raw_fd(), platform::Options::default()).map_err(|e| err("platform", e))?;
    let aspace = p.new_address_space().map_err(|e| err("address space", e))?;
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    aspace.map(CODE, 4096, 0, rx).map_err(|e| err("map", e))?;
    let mut ctx = p.new_context().map_err(|e| err("context", e))?;
    let mut state = CpuState::default();
    state.regs.rip = CODE;
    state.regs.eflags = 0x202;
    // The first entry also creates and activates the vCPU: not timed.
    ctx.switch(aspace.as_ref(), &mut state)
        .map_err(|e| err("switch", e))?;
    let start = Instant::now();
    for _ in 0..iters {
        match ctx.switch(aspace.as_ref(), &mut state) {
            Ok(Event::Syscall) => {}
            Ok(other) => return Err(Error::Run(format!("kvm floor: event {other:?}"))),
            Err(e) => return Err(err("switch", e)),
        }
    }
    Ok(start.elapsed().as_nanos() as f64 / iters as f64)
}
