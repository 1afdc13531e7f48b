//! The cost floor of the seccomp platform, measured without the sentry: a forked child
//! runs a getppid loop under a seccomp filter that returns SECCOMP_RET_TRAP for getppid;
//! its SIGSYS handler runs on an alternate stack in a shared mapping, publishes the
//! frame and spins on a state word until this process has written the result into the
//! frame's RAX, then returns through rt_sigreturn. Both sides only spin (no futex), so
//! this is the bare mechanism: signal delivery, two cache-line hand-offs, rt_sigreturn.
//! A spin that lasts long (the other side is not running: fewer free cores than two)
//! yields the CPU now and then, so the figure degrades instead of collapsing to a
//! scheduler time slice per call.

use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Error, Result};

/// Size of the shared mapping: a control page, then the alternate signal stack.
const SHARED_LEN: usize = 0x10000;
const STACK_OFF: usize = 0x1000;

/// Spins between two sched_yield calls while waiting for the other side.
const YIELD_EVERY: u32 = 128;

const IDLE: u32 = 0;
const EVENT: u32 = 1;
const RESUME: u32 = 2;

/// The control page.
#[repr(C)]
struct Control {
    state: AtomicU32,
    /// Frame pointers the handler publishes (addresses, the same in both processes).
    info: AtomicUsize,
    uctx: AtomicUsize,
    elapsed_ns: AtomicU64,
    checksum: AtomicU64,
    done: AtomicU64,
}

/// Where the shared mapping is, for the child's handler (set before the fork).
static SHARED: AtomicUsize = AtomicUsize::new(0);

/// A `MAP_SHARED` anonymous mapping visible to parent and child.
struct SharedMapping {
    ptr: *mut libc::c_void,
}

impl SharedMapping {
    fn new() -> Result<Self> {
        // SAFETY: an anonymous mapping at an address of the kernel's choosing; it
        // aliases no Rust object. The result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                SHARED_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap shared mapping"));
        }
        Ok(SharedMapping { ptr })
    }

    fn control(&self) -> &Control {
        // SAFETY: the mapping is page-aligned, larger than `Control`, zero-filled (a
        // valid `Control`: atomics of 0) and lives until `self` is dropped. Only atomics
        // are accessed through it.
        unsafe { &*self.ptr.cast::<Control>() }
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe {
            libc::munmap(self.ptr, SHARED_LEN);
        }
    }
}

/// Runs `iters` getppid calls trapped by seccomp and answered by this process; returns
/// ns per call as timed by the child. Checks every call returned this process's pid.
pub fn ns_per_call(iters: u64) -> Result<f64> {
    let shared = SharedMapping::new()?;
    SHARED.store(shared.ptr as usize, Ordering::SeqCst);
    let parent = std::process::id() as libc::pid_t;
    let filter = getppid_trap_filter();
    // SAFETY: the child runs only `child`: async-signal-safe libc calls, the vDSO
    // clock and atomics; it allocates nothing and never returns.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(Error::last_os("fork")),
        0 => child(iters, &shared, &filter),
        pid => {
            let served = serve(&shared, pid, parent, iters);
            let mut status = 0;
            // SAFETY: kill and reap our own child (it may already have exited).
            unsafe {
                if served.is_err() {
                    libc::kill(pid, libc::SIGKILL);
                }
                libc::waitpid(pid, &mut status, 0);
            }
            served?;
            if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                return Err(Error::Run(format!(
                    "seccomp floor: child status {status:#x}"
                )));
            }
            let c = shared.control();
            let expected = (parent as u64).wrapping_mul(iters);
            let checksum = c.checksum.load(Ordering::Relaxed);
            if checksum != expected {
                return Err(Error::Run(format!(
                    "seccomp floor: checksum {checksum}, expected {expected}"
                )));
            }
            Ok(c.elapsed_ns.load(Ordering::Relaxed) as f64 / iters as f64)
        }
    }
}

/// `ld arch; jeq x86_64 else kill; ld nr; jeq getppid → trap; allow`.
fn getppid_trap_filter() -> Vec<libc::sock_filter> {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    vec![
        ins(0x20, 0, 0, 4),
        ins(0x15, 1, 0, 0xc000_003e),
        ins(0x06, 0, 0, 0x8000_0000),
        ins(0x20, 0, 0, 0),
        ins(0x15, 0, 1, libc::SYS_getppid as u32),
        ins(0x06, 0, 0, 0x0003_0000),
        ins(0x06, 0, 0, 0x7fff_0000),
    ]
}

/// The child's SIGSYS handler: publish the frame, hand off, spin until answered.
extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: SHARED holds the live shared mapping (set before the fork, never unmapped
    // in the child); `Control` is valid at its start as in `SharedMapping::control`.
    let c = unsafe { &*(SHARED.load(Ordering::Relaxed) as *const Control) };
    c.info.store(info as usize, Ordering::Relaxed);
    c.uctx.store(uctx as usize, Ordering::Relaxed);
    c.state.store(EVENT, Ordering::Release);
    let mut spins = 0u32;
    while c.state.load(Ordering::Acquire) != RESUME {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(YIELD_EVERY) {
            // SAFETY: sched_yield has no preconditions (and is not trapped).
            unsafe { libc::sched_yield() };
        }
    }
    c.state.store(IDLE, Ordering::Relaxed);
}

fn child(iters: u64, shared: &SharedMapping, filter: &[libc::sock_filter]) -> ! {
    let c = shared.control();
    // SAFETY: plain libc setup calls on valid, live arguments; the alternate stack lies
    // in the shared mapping, which outlives the child. On failure the child exits.
    unsafe {
        let stack = libc::stack_t {
            ss_sp: shared.ptr.cast::<u8>().add(STACK_OFF).cast(),
            ss_flags: 0,
            ss_size: SHARED_LEN - STACK_OFF,
        };
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_sigsys as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        if libc::sigaltstack(&stack, ptr::null_mut()) != 0
            || libc::sigaction(libc::SIGSYS, &act, ptr::null_mut()) != 0
            || libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_seccomp, 1, 0, &prog as *const libc::sock_fprog) != 0
        {
            libc::_exit(101);
        }
    }
    let start = Instant::now();
    let mut sum: u64 = 0;
    for _ in 0..iters {
        // SAFETY: getppid takes no arguments and touches no memory.
        let r = unsafe { libc::syscall(libc::SYS_getppid) };
        sum = sum.wrapping_add(r as u64);
    }
    let elapsed = start.elapsed();
    c.elapsed_ns
        .store(elapsed.as_nanos() as u64, Ordering::Relaxed);
    c.checksum.store(sum, Ordering::Relaxed);
    c.done.store(1, Ordering::Release);
    // SAFETY: _exit ends this forked child without running the parent's atexit
    // handlers or flushing its stdio buffers.
    unsafe { libc::_exit(0) }
}

/// The parent's side: answer each trapped getppid by writing our pid into the frame's
/// RAX, until the child reports it is done.
fn serve(shared: &SharedMapping, pid: libc::pid_t, parent: libc::pid_t, iters: u64) -> Result<()> {
    const REG_RAX: usize = 13;
    let c = shared.control();
    let base = shared.ptr as usize;
    let mut served = 0u64;
    let limit = Instant::now() + Duration::from_secs(60);
    let mut spins = 0u32;
    loop {
        if c.state.load(Ordering::Acquire) == EVENT {
            let (info, uctx) = (
                c.info.load(Ordering::Relaxed),
                c.uctx.load(Ordering::Relaxed),
            );
            let inside =
                |p: usize, len: usize| p >= base + STACK_OFF && p + len <= base + SHARED_LEN;
            let uc_len = std::mem::size_of::<libc::ucontext_t>();
            if !inside(info, 128) || !inside(uctx, uc_len) {
                return Err(Error::Run(
                    "seccomp floor: frame outside the shared stack".into(),
                ));
            }
            // SAFETY: both pointers were checked to lie inside the shared mapping, where
            // the kernel wrote the child's siginfo and ucontext; plain integer fields.
            unsafe {
                let info = &*(info as *const libc::siginfo_t);
                // si_syscall is the int at offset 24 of a SIGSYS siginfo.
                let nr = *(ptr::from_ref(info).cast::<u8>().add(24).cast::<i32>());
                if i64::from(nr) != libc::SYS_getppid {
                    return Err(Error::Run(format!("seccomp floor: trapped syscall {nr}")));
                }
                let uc = &mut *(uctx as *mut libc::ucontext_t);
                uc.uc_mcontext.gregs[REG_RAX] = i64::from(parent);
            }
            served += 1;
            c.state.store(RESUME, Ordering::Release);
            continue;
        }
        if c.done.load(Ordering::Acquire) == 1 {
            break;
        }
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(YIELD_EVERY) {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
        if spins.is_multiple_of(65536) {
            // SAFETY: siginfo_t is plain data; all-zero is a valid value.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: non-blocking, non-reaping check of our own child.
            let r = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            };
            // SAFETY: after waitid, si_pid is the valid member.
            let ended = r != 0 || unsafe { info.si_pid() } != 0;
            if ended && c.done.load(Ordering::Acquire) != 1 {
                return Err(Error::Run(format!(
                    "seccomp floor: child ended after {served} of {iters} calls"
                )));
            }
            if Instant::now() > limit {
                return Err(Error::Run("seccomp floor: timed out".into()));
            }
        }
    }
    if served != iters {
        return Err(Error::Run(format!(
            "seccomp floor: served {served} of {iters} calls"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Correctness only (every call trapped and answered with our pid); no timing check.
    #[test]
    fn every_call_is_answered() {
        let ns = super::ns_per_call(1_000).unwrap();
        assert!(ns > 0.0);
    }
}
