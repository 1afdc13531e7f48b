//! The seccomp platform (DESIGN.md §4): stub processes as on ptrace, but each stub thread
//! runs under a seccomp filter that traps the application's syscalls with SIGSYS, and
//! its signal handlers (stub code, on an alternate stack in memory shared with the
//! sentry) hand the thread to the sentry through a state word: spin, then futex. The
//! sentry reads and edits the thread's registers in the kernel's signal frame and
//! releases it; the handler returns through rt_sigreturn. Address-space changes are
//! requests the stub runs from its own code. No ptrace at all.
//!
//! Everything in the shared memory is writable by the application (it is mapped in its
//! process), so the sentry validates all it reads there; a stub that breaks the protocol
//! is killed, which ends only its application.

mod filter;
mod shared;
mod stub;

use crate::stub::{TASK_SIZE, kill_and_reap};
use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Perms, Platform, PlatformError,
    Regs, Result,
};
use shared::{
    Frame, STATE_DONE, STATE_EVENT, STATE_REQUEST, STATE_RESUME, SharedMemory, ThreadArea, UContext,
};
use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stub::SeccompRegion;

/// The signal `interrupt()` sends to a stub thread; its handler hands off like a trap.
pub(crate) const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

/// Lowest address an application may map (the host's `vm.mmap_min_addr` default).
const MIN_USER_ADDR: u64 = 0x10000;

/// How long the sentry sleeps on a state word before checking that the stub still lives.
const LIVENESS_POLL: Duration = Duration::from_millis(100);
/// How long a new stub may take to hand off for the first time.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);

/// Bounds of the adaptive spin budgets (sentry and stub side), in nanoseconds.
const SPIN_MIN_NS: u64 = 200;
const SPIN_START_NS: u64 = 10_000;
const SPIN_MAX_NS: u64 = 50_000;

const SYS_SECCOMP: i32 = 1;
const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;

pub fn new_platform(memfd: i32) -> Result<Arc<dyn Platform>> {
    Ok(Arc::new(SeccompPlatform {
        region: Arc::new(SeccompRegion::install()?),
        memfd,
        pause_ns: calibrate_pause(),
    }))
}

/// Nanoseconds one `pause` takes on this CPU, to turn spin budgets into iterations for
/// the stub (which has no clock).
fn calibrate_pause() -> f64 {
    const N: u32 = 20_000;
    let t = Instant::now();
    for _ in 0..N {
        std::hint::spin_loop();
    }
    (t.elapsed().as_nanos() as f64 / f64::from(N)).max(0.5)
}

pub struct SeccompPlatform {
    region: Arc<SeccompRegion>,
    memfd: i32,
    pause_ns: f64,
}

impl Platform for SeccompPlatform {
    fn name(&self) -> &'static str {
        "seccomp"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        let mut shared = SharedMemory::new()?;
        let pid = self.region.spawn(self.memfd, shared.fd())?;
        shared.close_fd();
        let aspace = SeccompAddressSpace {
            pid,
            region: self.region.clone(),
            shared: Arc::new(shared),
            memfd: self.memfd,
            pause_ns: self.pause_ns,
            claimed: AtomicBool::new(false),
            request: Mutex::new(Spin::new()),
        };
        // The stub's first hand-off is the int3 at the end of its entry.
        let area = aspace.area(0);
        let deadline = Instant::now() + STARTUP_LIMIT;
        let mut spin = Spin::new();
        loop {
            match wait_state(area, pid, |s| s == STATE_EVENT, &mut spin) {
                Ok(_) => break,
                Err(WaitError::Gone(PlatformError::ThreadGone(status))) => {
                    return Err(startup_error(status));
                }
                Err(WaitError::Gone(e)) => return Err(e),
                Err(WaitError::Slow) if Instant::now() < deadline => continue,
                Err(WaitError::Slow) => {
                    return Err(PlatformError::Unsupported(
                        "seccomp: the stub did not start".into(),
                    ));
                }
            }
        }
        let frame = area.frame().map(|f| (area.siginfo(f), f));
        match frame {
            Some((info, _)) if info.signo == libc::SIGTRAP => {}
            _ => {
                return Err(PlatformError::Unsupported(
                    "seccomp: the stub's first hand-off is not its int3".into(),
                ));
            }
        }
        Ok(Arc::new(aspace))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(SeccompContext {
            bound: None,
            shm: None,
            frame: None,
            fs_base: None,
            gs_base: None,
            spin: Spin::new(),
            stub_spin: Spin::new(),
            interrupter: Arc::new(SeccompInterrupter {
                pending: AtomicBool::new(false),
                target: Mutex::new(None),
            }),
        }))
    }

    fn min_user_addr(&self) -> u64 {
        MIN_USER_ADDR
    }

    fn max_user_addr(&self) -> u64 {
        self.region.start
    }
}

/// A stub process and the memory it shares with the sentry.
pub struct SeccompAddressSpace {
    pid: i32,
    region: Arc<SeccompRegion>,
    shared: Arc<SharedMemory>,
    memfd: i32,
    pause_ns: f64,
    /// Whether a context runs thread 0 (the only stub thread, for now).
    claimed: AtomicBool,
    /// Serialises requests; holds the spin budget for waiting on their answers.
    request: Mutex<Spin>,
}

impl SeccompAddressSpace {
    fn area(&self, index: u64) -> ThreadArea<'_> {
        self.shared
            .area(index, self.region.area_addr(index))
            .expect("thread index below MAX_THREADS")
    }

    /// Runs one syscall in the stub, on thread `index`, which must be parked in its
    /// handler (the sentry is handling its event). Returns the raw result.
    fn request(&self, index: u64, nr: i64, args: [u64; 6]) -> Result<i64> {
        let mut spin = self.request.lock().unwrap_or_else(|e| e.into_inner());
        let area = self.area(index);
        let s = area.state().load(Ordering::SeqCst);
        if s != STATE_EVENT && s != STATE_DONE {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: address-space change while the stub thread runs (state {s})"
            )));
        }
        area.set_request(nr, args);
        hand_over(area, STATE_REQUEST);
        loop {
            match wait_state(area, self.pid, |s| s == STATE_DONE, &mut spin) {
                Ok(_) => return Ok(area.request_result()),
                Err(WaitError::Slow) => continue,
                Err(WaitError::Gone(e)) => return Err(e),
            }
        }
    }

    fn check(what: &'static str, r: i64) -> Result<()> {
        if r < 0 && r > -4096 {
            return Err(PlatformError::Host {
                what,
                err: std::io::Error::from_raw_os_error(-r as i32),
            });
        }
        Ok(())
    }

    /// Ends a stub that broke the protocol: its application dies, the sentry goes on.
    fn kill(&self, what: &str) -> PlatformError {
        // SAFETY: `pid` is our unreaped child (reaped only on drop), so not reused.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        PlatformError::Unsupported(format!("seccomp: killed a stub that {what}"))
    }
}

impl AddressSpace for SeccompAddressSpace {
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()> {
        if addr
            .checked_add(len)
            .is_none_or(|end| end > self.region.start)
        {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: mapping {addr:#x}+{len:#x} reaches the stub region"
            )));
        }
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.request(
            0,
            libc::SYS_mmap,
            [
                addr,
                len,
                perms.to_prot() as u64,
                flags,
                self.memfd as u64,
                file_offset,
            ],
        )?;
        Self::check("mmap in a stub", r)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        if addr
            .checked_add(len)
            .is_none_or(|end| end > self.region.start)
        {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: unmapping {addr:#x}+{len:#x} reaches the stub region"
            )));
        }
        let r = self.request(0, libc::SYS_munmap, [addr, len, 0, 0, 0, 0])?;
        Self::check("munmap in a stub", r)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for SeccompAddressSpace {
    fn drop(&mut self) {
        kill_and_reap(self.pid);
    }
}

/// An adaptive spin budget: doubled when a wait ends within it, halved when it runs out,
/// so waits that are usually long stop burning a core.
#[derive(Clone, Copy, Debug)]
struct Spin {
    budget_ns: u64,
}

impl Spin {
    fn new() -> Spin {
        Spin {
            budget_ns: SPIN_START_NS,
        }
    }
    fn hit(&mut self) {
        self.budget_ns = (self.budget_ns * 2).min(SPIN_MAX_NS);
    }
    fn miss(&mut self) {
        self.budget_ns = (self.budget_ns / 2).max(SPIN_MIN_NS);
    }
}

enum WaitError {
    /// The wait slept for `LIVENESS_POLL` and the stub still lives: try again (or give
    /// up, for bounded waits).
    Slow,
    Gone(PlatformError),
}

/// Sets the state word to `state` for the stub, waking it if it sleeps.
fn hand_over(area: ThreadArea<'_>, state: u32) {
    area.state().swap(state, Ordering::SeqCst);
    if area.stub_waiting().load(Ordering::SeqCst) != 0 {
        futex_wake(area.state());
    }
}

/// Waits until the state word satisfies `want`: spins for the budget, then sleeps on it
/// (announcing the sleep in `sentry_waiting`, so the stub wakes us).
fn wait_state(
    area: ThreadArea<'_>,
    pid: i32,
    want: impl Fn(u32) -> bool,
    spin: &mut Spin,
) -> std::result::Result<u32, WaitError> {
    let state = area.state();
    let start = Instant::now();
    let budget = Duration::from_nanos(spin.budget_ns);
    loop {
        for _ in 0..16 {
            let s = state.load(Ordering::Acquire);
            if want(s) {
                // Found only after being preempted (the stub shares our core): spinning
                // did not help, so it counts as a miss.
                if start.elapsed() < budget {
                    spin.hit();
                } else {
                    spin.miss();
                }
                return Ok(s);
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= budget {
            break;
        }
    }
    spin.miss();
    let waiting = area.sentry_waiting();
    waiting.swap(1, Ordering::SeqCst);
    let deadline = Instant::now() + LIVENESS_POLL;
    let r = loop {
        let s = state.load(Ordering::SeqCst);
        if want(s) {
            break Ok(s);
        }
        let now = Instant::now();
        if now >= deadline {
            break match stub_status(pid) {
                Some(status) => Err(WaitError::Gone(PlatformError::ThreadGone(status))),
                None => Err(WaitError::Slow),
            };
        }
        futex_wait(state, s, deadline - now);
    };
    waiting.store(0, Ordering::SeqCst);
    r
}

fn futex_wait(word: &AtomicU32, val: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: timeout.subsec_nanos() as i64,
    };
    // SAFETY: a shared (non-private) FUTEX_WAIT on a word of our shared mapping, which
    // outlives the call; the timeout is a valid timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            val,
            &ts as *const libc::timespec,
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: a shared FUTEX_WAKE on a word of our shared mapping.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1);
    }
}

/// Why a new stub ended before its first hand-off, from its exit status (see
/// `SeccompRegion::child`).
fn startup_error(status: i32) -> PlatformError {
    let step = match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
        (true, 120) => "mapping its shared memory",
        (true, 121) => "sigaltstack",
        (true, 122) => "rt_sigaction",
        (true, 123) => "PR_SET_NO_NEW_PRIVS",
        (true, 124) => "installing its seccomp filter",
        _ => return PlatformError::ThreadGone(status),
    };
    PlatformError::Unsupported(format!(
        "seccomp platform unavailable: a stub failed at {step}"
    ))
}

/// The wait status of a stub process that has ended (not reaped), or None if it lives.
fn stub_status(pid: i32) -> Option<i32> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid on our own child with a valid siginfo buffer; WNOWAIT leaves it
    // for `kill_and_reap`.
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: after waitid, si_pid/si_status are the valid members for SIGCHLD info.
    let (spid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if r != 0 {
        // Not our child any more (or an error): report it gone.
        return Some(0);
    }
    if spid == 0 {
        return None;
    }
    Some(if info.si_code == libc::CLD_EXITED {
        (status & 0xff) << 8
    } else {
        status & 0x7f
    })
}

struct SeccompInterrupter {
    pending: AtomicBool,
    /// The stub thread (pid, tid) to signal, while it exists.
    target: Mutex<Option<(i32, i32)>>,
}

impl Interrupt for SeccompInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((pid, tid)) = *target {
            // SAFETY: plain signal send to a stub thread that has not been reaped (the
            // target is cleared before the context's stub can go).
            unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, INTERRUPT_SIGNAL) };
        }
    }
}

struct SeccompContext {
    /// The stub thread this context runs: (pid, thread index).
    bound: Option<(i32, u64)>,
    /// The shared memory of the bound stub and where thread `index`'s area is in it.
    shm: Option<(Arc<SharedMemory>, u64)>,
    /// The signal frame of the thread's current event.
    frame: Option<Frame>,
    /// FS and GS bases the stub thread has now.
    fs_base: Option<u64>,
    gs_base: Option<u64>,
    /// Sentry-side spin budget (waiting for the application's next event).
    spin: Spin,
    /// Stub-side spin budget (waiting for the sentry to handle an event).
    stub_spin: Spin,
    interrupter: Arc<SeccompInterrupter>,
}

impl SeccompContext {
    /// Binds the context to the address space's thread 0 on its first switch.
    fn bind(&mut self, aspace: &SeccompAddressSpace) -> Result<u64> {
        match self.bound {
            Some((pid, index)) if pid == aspace.pid => return Ok(index),
            Some(_) => {
                return Err(PlatformError::Unsupported(
                    "seccomp: moving a thread to another address space".into(),
                ));
            }
            None => {}
        }
        if aspace.claimed.swap(true, Ordering::SeqCst) {
            return Err(PlatformError::Unsupported(
                "seccomp: one thread per address space for now".into(),
            ));
        }
        let area = aspace.area(0);
        let Some(frame) = area.frame() else {
            return Err(aspace.kill("moved its first signal frame"));
        };
        // A new thread starts with clean FP state, not the sentry's.
        if !area.init_fp(&area.ucontext(frame)) {
            return Err(aspace.kill("has a bad FP frame"));
        }
        self.bound = Some((aspace.pid, 0));
        self.shm = Some((aspace.shared.clone(), aspace.region.area_addr(0)));
        self.frame = Some(frame);
        self.fs_base = None;
        self.gs_base = None;
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((aspace.pid, aspace.pid));
        Ok(0)
    }

    /// Sets the stub thread's FS/GS base if the sentry changed them.
    fn sync_bases(&mut self, aspace: &SeccompAddressSpace, index: u64, regs: &Regs) -> Result<()> {
        for (code, want, have) in [
            (ARCH_SET_FS, regs.fs_base, &mut self.fs_base),
            (ARCH_SET_GS, regs.gs_base, &mut self.gs_base),
        ] {
            if *have != Some(want) {
                let r = aspace.request(index, libc::SYS_arch_prctl, [code, want, 0, 0, 0, 0])?;
                SeccompAddressSpace::check("arch_prctl in a stub", r)?;
                *have = Some(want);
            }
        }
        Ok(())
    }

    /// Reads the event the stub thread handed off. `None`: a signal to discard (sent
    /// from outside the sandbox); resume the thread as it was.
    fn read_event(
        &mut self,
        aspace: &SeccompAddressSpace,
        area: ThreadArea<'_>,
        state: &mut CpuState,
    ) -> Result<Option<Event>> {
        let Some(frame) = area.frame() else {
            return Err(aspace.kill("put its signal frame outside its stack"));
        };
        self.frame = Some(frame);
        let info = area.siginfo(frame);
        let uc = area.ucontext(frame);
        let ev = match info.signo {
            libc::SIGSYS if info.code == SYS_SECCOMP => {
                if info.arch != filter::AUDIT_ARCH_X86_64 {
                    return Err(aspace.kill("reported a foreign syscall"));
                }
                Event::Syscall
            }
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
                if info.code > 0 =>
            {
                Event::Fault {
                    addr: info.addr,
                    access: fault_access(info.signo, &uc),
                    signo: info.signo,
                    code: info.code,
                }
            }
            INTERRUPT_SIGNAL => {
                self.interrupter.pending.store(false, Ordering::SeqCst);
                Event::Interrupted
            }
            s if stub::HANDLED_SIGNALS.contains(&s) => return Ok(None),
            _ => return Err(aspace.kill("reported a signal it does not handle")),
        };
        let prev = state.regs;
        state.regs = regs_from_frame(&uc.mc, &prev);
        state.regs.fs_base = self.fs_base.unwrap_or(prev.fs_base);
        state.regs.gs_base = self.gs_base.unwrap_or(prev.gs_base);
        if ev == Event::Syscall {
            // Sign-extended, as the kernel's orig_rax holds syscall(-1).
            state.regs.orig_rax = i64::from(info.syscall) as u64;
            state.regs.rax = -(libc::ENOSYS as i64) as u64;
        } else {
            state.regs.orig_rax = u64::MAX;
        }
        state.fp_loaded = false;
        Ok(Some(ev))
    }
}

impl Context for SeccompContext {
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
        let aspace = aspace
            .as_any()
            .downcast_ref::<SeccompAddressSpace>()
            .ok_or_else(|| PlatformError::Unsupported("seccomp: foreign address space".into()))?;
        let index = self.bind(aspace)?;
        if self.interrupter.pending.swap(false, Ordering::SeqCst) {
            return Ok(Event::Interrupted);
        }
        self.sync_bases(aspace, index, &state.regs)?;
        let area = aspace.area(index);
        let frame = self
            .frame
            .ok_or_else(|| PlatformError::Unsupported("seccomp: no signal frame".into()))?;
        let mut uc = area.ucontext(frame);
        regs_to_frame(&state.regs, &mut uc);
        area.set_ucontext(frame, &uc);
        loop {
            // Adapt the stub's spin to how long the sentry took: if it fell asleep, the
            // budget was too short for this workload's handling time; halve it.
            if area.stub_waiting().load(Ordering::Relaxed) != 0 {
                self.stub_spin.miss();
            } else {
                self.stub_spin.hit();
            }
            area.set_stub_spin((self.stub_spin.budget_ns as f64 / aspace.pause_ns) as u32);
            hand_over(area, STATE_RESUME);
            loop {
                match wait_state(area, aspace.pid, |s| s == STATE_EVENT, &mut self.spin) {
                    Ok(_) => break,
                    Err(WaitError::Slow) => continue,
                    Err(WaitError::Gone(e)) => {
                        self.frame = None;
                        return Err(e);
                    }
                }
            }
            if let Some(ev) = self.read_event(aspace, area, state)? {
                return Ok(ev);
            }
        }
    }

    fn interrupter(&self) -> Arc<dyn Interrupt> {
        self.interrupter.clone()
    }

    fn load_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if state.fp_loaded {
            return Ok(());
        }
        let fp = self.with_frame(|area, frame| area.read_fp(&area.ucontext(frame)))?;
        state.fp = fp.ok_or_else(|| PlatformError::Unsupported("seccomp: bad FP frame".into()))?;
        state.fp_loaded = true;
        Ok(())
    }

    fn store_fp(&mut self, state: &mut CpuState) -> Result<()> {
        // The frame's XSAVE area is what the stub's sigreturn restores.
        if !self.with_frame(|area, frame| area.write_fp(&area.ucontext(frame), &state.fp))? {
            return Err(PlatformError::Unsupported("seccomp: bad FP frame".into()));
        }
        state.fp_loaded = true;
        Ok(())
    }
}

impl SeccompContext {
    /// Runs `f` on the bound thread's shared area and the signal frame of its current
    /// event.
    fn with_frame<R>(&self, f: impl FnOnce(ThreadArea<'_>, Frame) -> R) -> Result<R> {
        let (Some((_, index)), Some((shm, base)), Some(frame)) =
            (self.bound, self.shm.as_ref(), self.frame)
        else {
            return Err(PlatformError::Unsupported(
                "seccomp: context never ran".into(),
            ));
        };
        let area = shm
            .area(index, *base)
            .ok_or_else(|| PlatformError::Unsupported("seccomp: bad thread index".into()))?;
        Ok(f(area, frame))
    }
}

impl Drop for SeccompContext {
    fn drop(&mut self) {
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// How a fault accessed memory: the page-fault error code is in the frame (`err`, for
/// trap 14): bit 1 is a write, bit 4 an instruction fetch.
fn fault_access(signo: i32, uc: &UContext) -> Access {
    const X86_TRAP_PF: u64 = 14;
    if signo != libc::SIGSEGV || uc.mc.trapno != X86_TRAP_PF {
        return Access::UNKNOWN;
    }
    let write = uc.mc.err & 2 != 0;
    let exec = uc.mc.err & 16 != 0;
    Access {
        read: !write && !exec,
        write,
        exec,
    }
}

fn regs_from_frame(mc: &shared::SigContext, prev: &Regs) -> Regs {
    Regs {
        r15: mc.r15,
        r14: mc.r14,
        r13: mc.r13,
        r12: mc.r12,
        rbp: mc.rbp,
        rbx: mc.rbx,
        r11: mc.r11,
        r10: mc.r10,
        r9: mc.r9,
        r8: mc.r8,
        rax: mc.rax,
        rcx: mc.rcx,
        rdx: mc.rdx,
        rsi: mc.rsi,
        rdi: mc.rdi,
        orig_rax: u64::MAX,
        rip: mc.rip,
        cs: u64::from(mc.cs),
        eflags: mc.eflags,
        rsp: mc.rsp,
        ss: u64::from(mc.ss),
        ..*prev
    }
}

/// Writes the general registers into the frame rt_sigreturn will load. Segment
/// selectors stay the kernel's (user code and stack); the stub's signal mask is empty.
fn regs_to_frame(r: &Regs, uc: &mut UContext) {
    let mc = &mut uc.mc;
    mc.r15 = r.r15;
    mc.r14 = r.r14;
    mc.r13 = r.r13;
    mc.r12 = r.r12;
    mc.rbp = r.rbp;
    mc.rbx = r.rbx;
    mc.r11 = r.r11;
    mc.r10 = r.r10;
    mc.r9 = r.r9;
    mc.r8 = r.r8;
    mc.rax = r.rax;
    mc.rcx = r.rcx;
    mc.rdx = r.rdx;
    mc.rsi = r.rsi;
    mc.rdi = r.rdi;
    mc.rip = r.rip;
    mc.eflags = r.eflags;
    mc.rsp = r.rsp;
    mc.cs = 0x33;
    uc.uc_sigmask = 0;
}

const _: () = assert!(TASK_SIZE > MIN_USER_ADDR);
