//! The cost floor of the ptrace platform, measured without the sentry: a forked child
//! runs a getppid loop under PTRACE_SYSEMU and this process answers each call with one
//! stop, one PTRACE_GETREGS and one PTRACE_SETREGS. The child times its own loop with
//! the vDSO clock and hands the figure back through a shared page, since any syscall
//! it made to report would itself be trapped.

use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::harness::{Error, Result};

/// What the child leaves in the shared page.
#[repr(C)]
struct Shared {
    elapsed_ns: AtomicU64,
    checksum: AtomicU64,
    done: AtomicU64,
}

/// A `MAP_SHARED` anonymous page holding a `Shared`, visible to parent and child.
struct SharedPage {
    ptr: *mut libc::c_void,
    len: usize,
}

impl SharedPage {
    fn new() -> Result<Self> {
        let len = 4096;
        // SAFETY: an anonymous mapping at an address of the kernel's choosing; it
        // aliases no Rust object. The result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap shared page"));
        }
        Ok(SharedPage { ptr, len })
    }

    fn get(&self) -> &Shared {
        // SAFETY: the mapping is page-aligned, larger than `Shared`, zero-filled (a
        // valid `Shared`: atomics of 0), and lives until `self` is dropped. Only
        // atomics are accessed through it, so sharing with the child is sound.
        unsafe { &*self.ptr.cast::<Shared>() }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no reference from `get`
        // outlives `self`.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// The traced child; killed and reaped on drop unless already reaped.
struct Tracee {
    pid: libc::pid_t,
    reaped: bool,
}

impl Tracee {
    /// waitpid(__WALL) for the child, retried on EINTR; notes when it is reaped.
    fn wait(&mut self) -> Result<libc::c_int> {
        let mut status = 0;
        loop {
            // SAFETY: `status` is a valid out-pointer; `pid` is our child.
            if unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) } == self.pid {
                self.reaped = libc::WIFEXITED(status) || libc::WIFSIGNALED(status);
                return Ok(status);
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(Error::io("waitpid", err));
            }
        }
    }

    /// ptrace(request, child, NULL, data), with `data` passed as a full machine word
    /// (the call is variadic, so a plain integer literal would be passed as 32 bits).
    ///
    /// # Safety
    /// `data` must be what `request` expects: an integer, or a pointer to memory of the
    /// type and size the request reads or writes.
    unsafe fn ptrace(&self, request: libc::c_uint, data: *mut libc::c_void) -> libc::c_long {
        // SAFETY: the caller vouches for `data`; addr is NULL, which the requests used
        // here ignore.
        unsafe { libc::ptrace(request, self.pid, ptr::null_mut::<libc::c_void>(), data) }
    }

    fn sysemu(&self, sig: libc::c_int) -> Result<()> {
        // SAFETY: PTRACE_SYSEMU takes the signal to deliver (0 for none) as data.
        if unsafe { self.ptrace(libc::PTRACE_SYSEMU, sig as usize as *mut libc::c_void) } != 0 {
            return Err(Error::last_os("PTRACE_SYSEMU"));
        }
        Ok(())
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: kill(2) takes plain integers; the pid is our unreaped child, so it
        // cannot have been reused. SIGKILL ends a tracee in any stop.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
        }
        let _ = self.wait();
    }
}

/// Runs `iters` getppid calls under PTRACE_SYSEMU and returns ns per call as timed by
/// the child. Checks that every call was emulated and returned this process's pid.
pub fn ns_per_call(iters: u64) -> Result<f64> {
    let page = SharedPage::new()?;
    let tracer = std::process::id() as libc::pid_t;
    // SAFETY: the child runs only `child`, which makes async-signal-safe libc calls,
    // reads the vDSO clock and writes atomics; it allocates nothing and never returns.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Error::last_os("fork")),
        0 => child(iters, page.get()),
        pid => {
            let mut tracee = Tracee { pid, reaped: false };
            trace(&mut tracee, tracer, iters)?;
            drop(tracee);
            report(page.get(), tracer, iters)
        }
    }
}

/// The traced side. Every syscall it makes after the SIGSTOP is emulated by `trace`.
fn child(iters: u64, shared: &Shared) -> ! {
    // SAFETY: PTRACE_TRACEME ignores its pid, addr and data arguments.
    let null = ptr::null_mut::<libc::c_void>();
    if unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, null, null) } != 0 {
        // SAFETY: _exit ends this forked child without running the parent's atexit
        // handlers or flushing its stdio buffers.
        unsafe { libc::_exit(101) };
    }
    // SAFETY: signals ourselves; the tracer sees the stop and starts PTRACE_SYSEMU.
    // kill(2) rather than raise(3), whose signal-mask syscalls would straddle the stop.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGSTOP);
    }
    let start = Instant::now();
    let mut sum: u64 = 0;
    for _ in 0..iters {
        // SAFETY: getppid takes no arguments and touches no memory.
        let r = unsafe { libc::syscall(libc::SYS_getppid) };
        sum = sum.wrapping_add(r as u64);
    }
    let elapsed = start.elapsed();
    shared
        .elapsed_ns
        .store(elapsed.as_nanos() as u64, Ordering::Relaxed);
    shared.checksum.store(sum, Ordering::Relaxed);
    shared.done.store(1, Ordering::Release);
    // SAFETY: as above; this exit_group is trapped too, and the tracer then kills us.
    unsafe { libc::_exit(0) }
}

/// The tracer loop: waitpid(__WALL) → GETREGS → rax = our pid → SETREGS → SYSEMU, until
/// the child calls exit or exit_group.
fn trace(tracee: &mut Tracee, tracer: libc::pid_t, iters: u64) -> Result<()> {
    let status = tracee.wait()?;
    if !(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGSTOP) {
        return Err(Error::Run(format!(
            "floor: expected the child's initial SIGSTOP, got {}",
            describe(status)
        )));
    }
    let options = libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD;
    // SAFETY: PTRACE_SETOPTIONS takes the options word as data.
    if unsafe {
        tracee.ptrace(
            libc::PTRACE_SETOPTIONS,
            options as usize as *mut libc::c_void,
        )
    } != 0
    {
        return Err(Error::last_os("PTRACE_SETOPTIONS"));
    }
    // The initial SIGSTOP is suppressed (signal 0).
    tracee.sysemu(0)?;
    let mut emulated: u64 = 0;
    loop {
        let status = tracee.wait()?;
        if !libc::WIFSTOPPED(status) {
            return Err(Error::Run(format!(
                "floor: child {} after {emulated} of {iters} calls",
                describe(status)
            )));
        }
        let sig = libc::WSTOPSIG(status);
        if sig != libc::SIGTRAP | 0x80 {
            // A signal for the child (none is expected): deliver it.
            tracee.sysemu(sig)?;
            continue;
        }
        // SAFETY: an all-zero user_regs_struct is a valid value (plain integers).
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        let regs_ptr = (&raw mut regs).cast::<libc::c_void>();
        // SAFETY: PTRACE_GETREGS writes one user_regs_struct to data, which is `regs`.
        if unsafe { tracee.ptrace(libc::PTRACE_GETREGS, regs_ptr) } != 0 {
            return Err(Error::last_os("PTRACE_GETREGS"));
        }
        match regs.orig_rax as libc::c_long {
            libc::SYS_getppid => {
                regs.rax = tracer as u64;
                // SAFETY: PTRACE_SETREGS reads one user_regs_struct from data, `regs`.
                if unsafe { tracee.ptrace(libc::PTRACE_SETREGS, regs_ptr) } != 0 {
                    return Err(Error::last_os("PTRACE_SETREGS"));
                }
                emulated += 1;
                tracee.sysemu(0)?;
            }
            libc::SYS_exit_group | libc::SYS_exit => {
                if emulated != iters {
                    return Err(Error::Run(format!(
                        "floor: child exited after {emulated} of {iters} calls"
                    )));
                }
                return Ok(());
            }
            nr => {
                return Err(Error::Run(format!(
                    "floor: unexpected syscall {nr} in the traced loop (a clock without vDSO?)"
                )));
            }
        }
    }
}

/// Reads the child's figure once it has been reaped.
fn report(shared: &Shared, tracer: libc::pid_t, iters: u64) -> Result<f64> {
    if shared.done.load(Ordering::Acquire) != 1 {
        return Err(Error::Run("floor: child left no result".into()));
    }
    let expected = (tracer as u64).wrapping_mul(iters);
    let checksum = shared.checksum.load(Ordering::Relaxed);
    if checksum != expected {
        return Err(Error::Run(format!(
            "floor: checksum {checksum}, expected {expected} (pid {tracer} x {iters})"
        )));
    }
    let elapsed = shared.elapsed_ns.load(Ordering::Relaxed);
    Ok(elapsed as f64 / iters as f64)
}

fn describe(status: libc::c_int) -> String {
    if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("was killed by signal {}", libc::WTERMSIG(status))
    } else if libc::WIFSTOPPED(status) {
        format!("stopped by signal {}", libc::WSTOPSIG(status))
    } else {
        format!("status {status:#x}")
    }
}

#[cfg(test)]
mod tests {
    /// Correctness only (every call emulated, each returned our pid); no timing check.
    #[test]
    fn every_call_is_emulated() {
        let ns = super::ns_per_call(1_000).unwrap();
        assert!(ns > 0.0);
    }
}
