//! The ptrace platform (DESIGN.md §4): each address space is a stub process, each
//! application thread a stub thread traced by the sentry thread that runs it. Syscalls
//! are intercepted with `PTRACE_SYSEMU`; faults arrive as signal-delivery stops; the
//! sentry changes the stub's mappings by injecting `mmap`/`munmap` calls into a stub
//! thread it traces.
//!
//! Threads: a stub process starts with one thread, parked in the stub's `pause` loop and
//! seized (`PTRACE_SEIZE`) by the address space's creator. `prepare_thread` injects a
//! `clone` into a thread the caller traces; the new thread parks untraced until a context
//! binds it: the binding sentry thread seizes and interrupts it, sets a clean FP state
//! and the application's registers. Dropping a context points its stub thread at an
//! `exit` syscall and detaches from it. Each sentry thread keeps a list of the stub
//! threads it traces (`TRACED`) to find the one to inject into.
//!
//! `PTRACE_SEIZE` needs the usual attach permission: the sentry must stay dumpable (or
//! hold CAP_SYS_PTRACE); the stubs are its descendants, so Yama's scope 1 allows it.

use crate::stub::{self, StubRegion, TASK_SIZE};
use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Perms, Platform, PlatformError,
    Regs, Result, THREAD_CLONE_FLAGS, check_raw, clean_fp_image, gettid, next_id,
};
use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PTRACE_GETREGS: i64 = 12;
const PTRACE_SETREGS: i64 = 13;
const PTRACE_GETFPREGS: i64 = 14;
const PTRACE_SETFPREGS: i64 = 15;
const PTRACE_CONT: i64 = 7;
const PTRACE_DETACH: i64 = 17;
const PTRACE_SYSEMU: i64 = 31;
const PTRACE_GETSIGINFO: i64 = 0x4202;
const PTRACE_GETREGSET: i64 = 0x4204;
const PTRACE_SETREGSET: i64 = 0x4205;
const PTRACE_SEIZE: i64 = 0x4206;
const PTRACE_PEEKDATA: i64 = 2;
const PTRACE_INTERRUPT: i64 = 0x4207;
const PTRACE_EVENT_STOP: i32 = 128;
const NT_X86_XSTATE: i64 = 0x202;

/// Options of every traced stub thread: a stub thread dies if its tracer thread does
/// (it must never run application code untraced), syscall stops are marked.
const TRACE_OPTIONS: u64 = (libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD) as u64;

/// The signal `interrupt()` sends to a stub thread. Any signal is reported to a tracer
/// (even an ignored one); SIGURG is harmless if it ever reaches an untraced thread.
const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

/// Lowest address an application may map (the host's `vm.mmap_min_addr` default).
const MIN_USER_ADDR: u64 = 0x10000;

/// How long ending a stub thread that is not in a ptrace stop may take.
const RETIRE_LIMIT: Duration = Duration::from_secs(5);

pub fn new_platform(memfd: i32) -> Result<Arc<dyn Platform>> {
    let stub = StubRegion::install()?;
    Ok(Arc::new(PtracePlatform {
        factory: stub.factory(memfd)?,
        stub,
        memfd,
    }))
}

pub struct PtracePlatform {
    stub: StubRegion,
    factory: stub::Factory,
    memfd: i32,
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        tidy_traced();
        let pid = self.stub.spawn(&self.factory, self.memfd)?;
        let template = match seize(pid).and_then(|()| get_regs(pid)) {
            Ok(regs) => regs,
            Err(e) => {
                stub::kill_and_reap(pid);
                return Err(e);
            }
        };
        let proc = Arc::new(StubProc {
            pid,
            id: next_id(),
            stub: self.stub,
            template,
            traced: Mutex::new(Vec::new()),
            slots: AtomicU64::new(0),
        });
        let creator = gettid();
        Ok(Arc::new(PtraceAddressSpace {
            leader: Arc::new(StubThread::new(proc.clone(), pid, creator)),
            proc,
            creator,
            memfd: self.memfd,
            leader_claimed: AtomicBool::new(false),
            ready: Mutex::new(Vec::new()),
        }))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(PtraceContext {
            bound: None,
            fresh: false,
            last_regs: None,
            seen_injections: 0,
            pending_fp: None,
            interrupter: Arc::new(PtraceInterrupter {
                pending: AtomicBool::new(false),
                target: Mutex::new(None),
            }),
        }))
    }

    fn min_user_addr(&self) -> u64 {
        MIN_USER_ADDR
    }

    fn max_user_addr(&self) -> u64 {
        self.stub.start
    }
}

/// A stub process, shared by its address space and the contexts bound in it. The last
/// reference kills and reaps it.
struct StubProc {
    pid: i32,
    /// Identity of the process for the `TRACED` lists (pids are reused).
    id: u64,
    stub: StubRegion,
    /// Registers of the stub at its first stop: valid segment selectors and flags to
    /// start injected syscalls from.
    template: Regs,
    /// Threads other than the leader that were seized and are neither detached nor
    /// reaped: once killed they are zombies that only the sentry may reap, and the
    /// leader cannot be reaped before them.
    traced: Mutex<Vec<i32>>,
    /// Scratch slots handed out to its threads so far (`StubRegion::scratch`).
    slots: AtomicU64,
}

impl StubProc {
    fn traced(&self) -> std::sync::MutexGuard<'_, Vec<i32>> {
        self.traced.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for StubProc {
    fn drop(&mut self) {
        // SAFETY: the pid is our unreaped child (reaped only below).
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        for tid in self
            .traced
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let mut status = 0;
            // SAFETY: a seized thread of the killed process, not reaped (so its tid is
            // not reused); any thread of the sentry may reap a tracee of another.
            unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        }
        let mut status = 0;
        // SAFETY: reaping our own child, once.
        unsafe { libc::waitpid(self.pid, &mut status, libc::__WALL) };
    }
}

/// What became of a traced stub thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThreadState {
    /// Traced by `tracer`, which runs its context (or, for the unclaimed initial thread,
    /// injects into it).
    Bound,
    /// Its context was dropped on another sentry thread; the tracer ends it when it next
    /// calls into the platform or exits.
    Abandoned,
    /// Ended: detached on its way to `exit`, or reaped.
    Retired,
}

/// A stub thread traced by one sentry thread.
struct StubThread {
    proc: Arc<StubProc>,
    tid: i32,
    tracer: i32,
    /// Syscalls injected so far: an injection clobbers the thread's registers, which must
    /// then be set again before the application runs.
    injections: AtomicU64,
    /// Whether a wait has reaped the thread (its tid may be reused).
    reaped: AtomicBool,
    state: Mutex<ThreadState>,
    /// Its slot of the stub's scratch page.
    slot: u64,
}

impl StubThread {
    fn new(proc: Arc<StubProc>, tid: i32, tracer: i32) -> StubThread {
        let slot = proc.slots.fetch_add(1, Ordering::Relaxed) % stub::SCRATCH_SLOTS;
        StubThread {
            slot,
            proc,
            tid,
            tracer,
            injections: AtomicU64::new(0),
            reaped: AtomicBool::new(false),
            state: Mutex::new(ThreadState::Bound),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ThreadState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails unless the calling sentry thread traces this live thread.
    fn check_owner(&self) -> Result<()> {
        if self.tracer != gettid() {
            return Err(PlatformError::Unsupported(
                "ptrace: a context used from a sentry thread other than the one that bound it"
                    .into(),
            ));
        }
        if *self.state() != ThreadState::Bound {
            return Err(PlatformError::Unsupported(
                "ptrace: the context's stub thread was ended (its sentry thread exited)".into(),
            ));
        }
        Ok(())
    }

    /// Waits for the next stop (or the end) of the thread.
    fn wait(&self) -> Result<i32> {
        let status = wait(self.tid)?;
        if !libc::WIFSTOPPED(status) {
            self.set_reaped();
        }
        Ok(status)
    }

    /// Records that the thread is no longer traced by the sentry (reaped or detached).
    fn untraced(&self) {
        self.proc.traced().retain(|&t| t != self.tid);
    }

    fn set_reaped(&self) {
        self.reaped.store(true, Ordering::SeqCst);
        self.untraced();
    }

    /// Runs one syscall at `site` (`syscall_addr` or `clone_addr`) in this stopped thread
    /// and returns its raw result. Called by the tracer.
    fn inject(&self, site: u64, nr: i64, args: [u64; 6]) -> Result<i64> {
        let stub = &self.proc.stub;
        let trap = if site == stub.clone_addr {
            stub.clone_trap
        } else {
            stub.syscall_trap
        };
        self.injections.fetch_add(1, Ordering::Relaxed);
        let mut regs = self.proc.template;
        regs.rax = nr as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = args[0];
        regs.rsi = args[1];
        regs.rdx = args[2];
        regs.r10 = args[3];
        regs.r8 = args[4];
        regs.r9 = args[5];
        regs.rip = site;
        set_regs(self.tid, &regs)?;
        ptrace(PTRACE_CONT, self.tid, 0, 0, "PTRACE_CONT (inject)")?;
        loop {
            let status = self.wait()?;
            if !libc::WIFSTOPPED(status) {
                return Err(PlatformError::ThreadGone(status));
            }
            // The stop after the syscall is the int3's SIGTRAP at the trap address. Any
            // other stop (an interrupt signal, which `pending` remembers; a signal from
            // outside; a group stop) is dropped.
            if status >> 16 == 0 && libc::WSTOPSIG(status) == libc::SIGTRAP {
                let after = get_regs(self.tid)?;
                if after.rip == trap {
                    return Ok(after.rax as i64);
                }
            }
            ptrace(PTRACE_CONT, self.tid, 0, 0, "PTRACE_CONT (inject)")?;
        }
    }

    /// The thread's CPU time: it runs `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` itself
    /// (Linux refuses the clock of a thread in another thread group, and the sentry opens
    /// no /proc files), into its slot of the stub's scratch page, which the application
    /// cannot reach. Its registers are reloaded before it runs again (the injection
    /// count tells the context). Called by the tracer while the thread is stopped.
    fn cpu_time_ns(&self) -> Option<u64> {
        let at = self.proc.stub.scratch + self.slot * stub::SCRATCH_SLOT;
        let args = [libc::CLOCK_THREAD_CPUTIME_ID as u64, at, 0, 0, 0, 0];
        if self.inject(self.proc.stub.syscall_addr, libc::SYS_clock_gettime, args).ok()? != 0 {
            return None;
        }
        let peek = |addr: u64| -> Option<u64> {
            let mut word = 0u64;
            ptrace(PTRACE_PEEKDATA, self.tid, addr, &raw mut word as u64, "PTRACE_PEEKDATA")
                .ok()
                .map(|()| word)
        };
        let (sec, nsec) = (peek(at)?, peek(at + 8)?);
        (nsec < 1_000_000_000 && sec < 1 << 40).then(|| sec * 1_000_000_000 + nsec)
    }

    /// Ends the thread: points it at `exit` (of this thread only) and detaches, or reaps
    /// it if it is already dead. Called by the tracer with `state` locked.
    fn retire(&self, state: &mut ThreadState) {
        if *state == ThreadState::Retired {
            return;
        }
        *state = ThreadState::Retired;
        if self.reaped.load(Ordering::SeqCst) {
            return;
        }
        let deadline = Instant::now() + RETIRE_LIMIT;
        let mut interrupted = false;
        loop {
            if self.exit_and_detach() {
                self.untraced();
                return;
            }
            // Not in a ptrace stop: dead with its process (a zombie only the sentry may
            // reap) or, against expectations, running. The initial thread is reaped with
            // the process instead.
            if self.tid == self.proc.pid {
                return;
            }
            if !interrupted {
                let _ = ptrace(PTRACE_INTERRUPT, self.tid, 0, 0, "PTRACE_INTERRUPT");
                interrupted = true;
            }
            let mut status = 0;
            // SAFETY: our own tracee, not reaped yet.
            let r = unsafe { libc::waitpid(self.tid, &mut status, libc::__WALL | libc::WNOHANG) };
            if r == self.tid {
                if !libc::WIFSTOPPED(status) {
                    self.set_reaped();
                    return;
                }
                continue;
            }
            if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return;
            }
            if Instant::now() >= deadline {
                // Left in `traced`: reaped with the process.
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn exit_and_detach(&self) -> bool {
        let mut regs = self.proc.template;
        regs.rip = self.proc.stub.syscall_addr;
        regs.rax = libc::SYS_exit as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = 0;
        set_regs(self.tid, &regs).is_ok()
            && ptrace(PTRACE_DETACH, self.tid, 0, 0, "PTRACE_DETACH").is_ok()
    }
}

/// The stub threads this sentry thread traces for contexts, to inject into and to end
/// when it exits.
struct Traced(RefCell<Vec<Arc<StubThread>>>);

impl Drop for Traced {
    fn drop(&mut self) {
        // The sentry thread exits: its tracees would be killed with their whole process
        // (PTRACE_O_EXITKILL); end them one by one instead.
        for t in self.0.get_mut().drain(..) {
            let mut state = t.state();
            t.retire(&mut state);
        }
    }
}

thread_local! {
    static TRACED: Traced = const { Traced(RefCell::new(Vec::new())) };
}

/// Ends the calling thread's tracees whose contexts were dropped elsewhere and forgets
/// ended ones.
fn tidy_traced() {
    let _ = TRACED.try_with(|t| {
        t.0.borrow_mut().retain(|thread| {
            let mut state = thread.state();
            if *state == ThreadState::Abandoned {
                thread.retire(&mut state);
            }
            *state != ThreadState::Retired
        })
    });
}

/// The live stub thread the calling sentry thread traces in process `proc_id`.
fn traced_in(proc_id: u64) -> Option<Arc<StubThread>> {
    TRACED
        .try_with(|t| {
            t.0.borrow()
                .iter()
                .find(|thread| thread.proc.id == proc_id && *thread.state() == ThreadState::Bound)
                .cloned()
        })
        .ok()
        .flatten()
}

/// Seizes the untraced stub thread `tid` and brings it to a ptrace stop. Wherever it
/// stops it runs stub code only (setup, park loop), so its registers can be replaced.
fn seize(tid: i32) -> Result<()> {
    ptrace(
        PTRACE_SEIZE,
        tid,
        0,
        TRACE_OPTIONS,
        "PTRACE_SEIZE of a stub thread",
    )?;
    stop_seized(tid)
}

/// Brings the just-seized thread `tid` to a ptrace stop.
fn stop_seized(tid: i32) -> Result<()> {
    ptrace(PTRACE_INTERRUPT, tid, 0, 0, "PTRACE_INTERRUPT")?;
    loop {
        let status = wait(tid)?;
        if !libc::WIFSTOPPED(status) {
            return Err(PlatformError::ThreadGone(status));
        }
        if status >> 16 == PTRACE_EVENT_STOP {
            return Ok(());
        }
        // A signal (the SIGCONT that ended the new stub's stop, or one from outside):
        // drop it; the interrupt's stop follows.
        ptrace(PTRACE_CONT, tid, 0, 0, "PTRACE_CONT (seize)")?;
    }
}

/// A stub process: the address space of one or more application threads.
pub struct PtraceAddressSpace {
    proc: Arc<StubProc>,
    /// The sentry thread that created it and traces its initial thread.
    creator: i32,
    memfd: i32,
    /// The initial thread, traced by the creator.
    leader: Arc<StubThread>,
    /// Whether a context has bound the initial thread.
    leader_claimed: AtomicBool,
    /// Threads made by `prepare_thread`, parked untraced until a context binds them.
    ready: Mutex<Vec<i32>>,
}

impl PtraceAddressSpace {
    /// The stub process's pid.
    pub fn pid(&self) -> i32 {
        self.proc.pid
    }

    /// The stub thread the calling sentry thread may inject into (crate docs, Threads).
    fn injector(&self) -> Result<Arc<StubThread>> {
        tidy_traced();
        if let Some(t) = traced_in(self.proc.id) {
            return Ok(t);
        }
        if gettid() == self.creator && !self.leader_claimed.load(Ordering::SeqCst) {
            return Ok(self.leader.clone());
        }
        Err(PlatformError::Unsupported(
            "ptrace: address-space change from a sentry thread that runs no stopped context \
             in it"
                .into(),
        ))
    }
}

impl AddressSpace for PtraceAddressSpace {
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.injector()?.inject(
            self.proc.stub.syscall_addr,
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
        check_raw("mmap in a stub", r).map(drop)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        let r = self.injector()?.inject(
            self.proc.stub.syscall_addr,
            libc::SYS_munmap,
            [addr, len, 0, 0, 0, 0],
        )?;
        check_raw("munmap in a stub", r).map(drop)
    }

    fn prepare_thread(&self) -> Result<()> {
        let r = self.injector()?.inject(
            self.proc.stub.clone_addr,
            libc::SYS_clone,
            [THREAD_CLONE_FLAGS, 0, 0, 0, 0, 0],
        )?;
        let tid = check_raw("clone in a stub", r)?;
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tid as i32);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for PtraceAddressSpace {
    fn drop(&mut self) {
        // Reaped when the last context bound in it lets go of `proc`.
        // SAFETY: `proc` (held here) is reaped only when its last reference goes, so the
        // pid is still our child.
        unsafe { libc::kill(self.proc.pid, libc::SIGKILL) };
    }
}

struct PtraceInterrupter {
    pending: AtomicBool,
    /// The stub thread to signal, while the context is bound to it.
    target: Mutex<Option<Arc<StubThread>>>,
}

impl Interrupt for PtraceInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = &*target {
            // Only while the thread is ours: once retired its tid may be another's.
            let state = t.state();
            if *state == ThreadState::Bound && !t.reaped.load(Ordering::SeqCst) {
                tgkill(t.proc.pid, t.tid, INTERRUPT_SIGNAL);
            }
        }
    }
}

struct PtraceContext {
    /// The stub thread this context runs on.
    bound: Option<Arc<StubThread>>,
    /// The thread was just bound: its first register load also cancels any syscall
    /// restart of the stub code it stopped in.
    fresh: bool,
    /// The registers the stub thread holds now, to skip a redundant PTRACE_SETREGS.
    last_regs: Option<Regs>,
    /// `injections` of the thread when `last_regs` was last true.
    seen_injections: u64,
    interrupter: Arc<PtraceInterrupter>,
    /// An FP image stored before the first switch (a forked child or a new thread starts
    /// with its creator's), loaded into the stub thread once bound.
    pending_fp: Option<Vec<u8>>,
}

impl PtraceContext {
    /// Binds the context to a stub thread of `aspace` on its first switch.
    fn bind(&mut self, aspace: &PtraceAddressSpace) -> Result<Arc<StubThread>> {
        let me = gettid();
        let thread = if me == aspace.creator
            && aspace
                .leader_claimed
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            aspace.leader.clone()
        } else {
            let tid = aspace
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .ok_or_else(|| {
                    PlatformError::Unsupported(
                        "ptrace: no stub thread ready to bind (AddressSpace::prepare_thread)"
                            .into(),
                    )
                })?;
            // A thread that cannot be seized is dead (its process was killed) or stays
            // parked in stub code until its process ends.
            ptrace(
                PTRACE_SEIZE,
                tid,
                0,
                TRACE_OPTIONS,
                "PTRACE_SEIZE of a stub thread",
            )?;
            aspace.proc.traced().push(tid);
            let thread = Arc::new(StubThread::new(aspace.proc.clone(), tid, me));
            if let Err(e) = stop_seized(tid) {
                if let PlatformError::ThreadGone(_) = e {
                    thread.set_reaped();
                }
                return Err(e);
            }
            thread
        };
        let _ = TRACED.try_with(|t| t.0.borrow_mut().push(thread.clone()));
        self.bound = Some(thread.clone());
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(thread.clone());
        self.fresh = true;
        self.last_regs = None;
        // A new thread starts with clean FP state, not its parent's (or the sentry's).
        set_clean_fp(thread.tid)?;
        Ok(thread)
    }
}

impl Context for PtraceContext {
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
        let aspace = aspace
            .as_any()
            .downcast_ref::<PtraceAddressSpace>()
            .ok_or_else(|| PlatformError::Unsupported("ptrace: foreign address space".into()))?;
        tidy_traced();
        let thread = match &self.bound {
            Some(t) if t.proc.id == aspace.proc.id => t.clone(),
            Some(_) => {
                return Err(PlatformError::Unsupported(
                    "ptrace: moving a thread to another address space".into(),
                ));
            }
            None => self.bind(aspace)?,
        };
        thread.check_owner()?;
        let tid = thread.tid;
        if let Some(mut fp) = self.pending_fp.take() {
            set_xstate(tid, &mut fp)?;
        }
        if self.interrupter.pending.swap(false, Ordering::SeqCst) {
            return Ok(Event::Interrupted);
        }
        let injections = thread.injections.load(Ordering::Relaxed);
        if self.fresh || self.last_regs != Some(state.regs) || self.seen_injections != injections {
            let mut regs = state.regs;
            if self.fresh {
                regs.orig_rax = u64::MAX;
            }
            set_regs(tid, &regs)?;
            self.fresh = false;
            self.seen_injections = injections;
        }
        loop {
            ptrace(PTRACE_SYSEMU, tid, 0, 0, "PTRACE_SYSEMU")?;
            let status = thread.wait()?;
            if !libc::WIFSTOPPED(status) {
                self.last_regs = None;
                return Err(PlatformError::ThreadGone(status));
            }
            if status >> 16 != 0 {
                // A group stop or a stray interrupt trap: nothing to report.
                self.last_regs = None;
                continue;
            }
            state.regs = get_regs(tid)?;
            self.last_regs = Some(state.regs);
            // The thread ran: any FP copy the sentry holds is stale.
            state.fp_loaded = false;
            let sig = libc::WSTOPSIG(status);
            if sig == libc::SIGTRAP | 0x80 {
                return Ok(Event::Syscall);
            }
            let info = get_siginfo(tid)?;
            match sig {
                libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
                    if info.si_code > 0 =>
                {
                    // SAFETY: for these kernel-generated signals si_addr is the valid
                    // member of the union.
                    let addr = unsafe { info.si_addr() } as u64;
                    return Ok(Event::Fault {
                        addr,
                        access: Access::UNKNOWN,
                        signo: sig,
                        code: info.si_code,
                    });
                }
                INTERRUPT_SIGNAL => {
                    self.interrupter.pending.store(false, Ordering::SeqCst);
                    return Ok(Event::Interrupted);
                }
                // Any other signal reaching a stub (e.g. SIGSTOP or a signal sent from
                // outside the sandbox) is discarded; resume.
                _ => continue,
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
        let tid = self.owned_tid()?;
        state.fp = get_xstate(tid)?;
        state.fp_loaded = true;
        Ok(())
    }

    fn store_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if self.bound.is_none() {
            self.pending_fp = Some(state.fp.clone());
            state.fp_loaded = true;
            return Ok(());
        }
        let tid = self.owned_tid()?;
        set_xstate(tid, &mut state.fp)?;
        state.fp_loaded = true;
        Ok(())
    }

    fn cpu_time_ns(&self) -> Option<u64> {
        self.bound.as_ref()?.cpu_time_ns()
    }
}

impl PtraceContext {
    fn owned_tid(&self) -> Result<i32> {
        let thread = self
            .bound
            .as_ref()
            .ok_or_else(|| PlatformError::Unsupported("ptrace: context never ran".into()))?;
        thread.check_owner()?;
        Ok(thread.tid)
    }
}

impl Drop for PtraceContext {
    fn drop(&mut self) {
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        let Some(thread) = self.bound.take() else {
            return;
        };
        let mut state = thread.state();
        if *state != ThreadState::Bound {
            return;
        }
        if thread.tracer == gettid() {
            thread.retire(&mut state);
            drop(state);
            let _ = TRACED.try_with(|t| {
                t.0.borrow_mut()
                    .retain(|other| !Arc::ptr_eq(other, &thread));
            });
        } else {
            *state = ThreadState::Abandoned;
        }
    }
}

/// Gives stub thread `tid` the FP state of a new thread.
fn set_clean_fp(tid: i32) -> Result<()> {
    match get_xstate(tid) {
        Ok(mut img) => {
            clean_fp_image(&mut img);
            set_xstate(tid, &mut img)
        }
        Err(_) => {
            // No XSAVE: the legacy FXSAVE image.
            let mut img = vec![0u8; 512];
            ptrace(
                PTRACE_GETFPREGS,
                tid,
                0,
                img.as_mut_ptr() as u64,
                "PTRACE_GETFPREGS",
            )?;
            clean_fp_image(&mut img);
            ptrace(
                PTRACE_SETFPREGS,
                tid,
                0,
                img.as_ptr() as u64,
                "PTRACE_SETFPREGS",
            )
        }
    }
}

fn get_xstate(tid: i32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 16384];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    ptrace(
        PTRACE_GETREGSET,
        tid,
        NT_X86_XSTATE as u64,
        &raw mut iov as u64,
        "PTRACE_GETREGSET",
    )?;
    buf.truncate(iov.iov_len);
    Ok(buf)
}

fn set_xstate(tid: i32, img: &mut [u8]) -> Result<()> {
    let mut iov = libc::iovec {
        iov_base: img.as_mut_ptr().cast(),
        iov_len: img.len(),
    };
    ptrace(
        PTRACE_SETREGSET,
        tid,
        NT_X86_XSTATE as u64,
        &raw mut iov as u64,
        "PTRACE_SETREGSET",
    )
}

fn tgkill(pid: i32, tid: i32, sig: i32) {
    // SAFETY: plain signal send; callers only name stub threads that have not been
    // reaped, in a process that has not been reaped.
    unsafe {
        libc::syscall(libc::SYS_tgkill, pid, tid, sig);
    }
}

fn ptrace(req: i64, pid: i32, addr: u64, data: u64, what: &'static str) -> Result<()> {
    // SAFETY: `pid` is a tracee of this thread (or, for PTRACE_SEIZE, a stub thread of
    // ours); addr/data are either plain values or pointers to live buffers of the sizes
    // the request needs.
    let r = unsafe { libc::syscall(libc::SYS_ptrace, req, pid, addr, data) };
    if r < 0 {
        Err(PlatformError::last_os(what))
    } else {
        Ok(())
    }
}

fn get_regs(pid: i32) -> Result<Regs> {
    let mut regs = Regs::default();
    ptrace(
        PTRACE_GETREGS,
        pid,
        0,
        &raw mut regs as u64,
        "PTRACE_GETREGS",
    )?;
    Ok(regs)
}

fn set_regs(pid: i32, regs: &Regs) -> Result<()> {
    ptrace(
        PTRACE_SETREGS,
        pid,
        0,
        regs as *const Regs as u64,
        "PTRACE_SETREGS",
    )
}

fn get_siginfo(pid: i32) -> Result<libc::siginfo_t> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    ptrace(
        PTRACE_GETSIGINFO,
        pid,
        0,
        &raw mut info as u64,
        "PTRACE_GETSIGINFO",
    )?;
    Ok(info)
}

fn wait(pid: i32) -> Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for a tracee of this thread.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return Ok(status);
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(PlatformError::last_os("waitpid on a stub"));
    }
}

const _: () = assert!(TASK_SIZE > MIN_USER_ADDR);
