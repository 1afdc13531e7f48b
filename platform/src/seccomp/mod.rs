//! The seccomp platform (DESIGN.md §4): stub processes as on ptrace, but each stub thread
//! runs under a seccomp filter that traps the application's syscalls with SIGSYS, and
//! its signal handlers (stub code, on an alternate stack in memory shared with the
//! sentry) hand the thread to the sentry through a state word: spin, then futex, or for
//! a stub thread on its sentry thread's CPU yield, then futex (`place`). The
//! sentry reads and edits the thread's registers in the kernel's signal frame and
//! releases it; the handler returns through rt_sigreturn. Address-space changes are
//! requests the stub runs from its own code. No ptrace at all.
//!
//! Threads: stub thread `i` uses shared area `i` (its alternate stack and control page).
//! Thread 0 is the process's initial thread. `prepare_thread` asks a stopped thread to
//! `clone` a new one into a free area; the new thread hands off through its own area, and
//! waits there until a context binds it. Dropping a context asks its thread to `exit`;
//! the area is reused once the kernel has cleared the thread's id word
//! (`CLONE_CHILD_CLEARTID`). Each sentry thread keeps a list of the stub threads it runs
//! (`BOUND`) to find the one for its address-space requests.
//!
//! Everything in the shared memory is writable by the application (it is mapped in its
//! process), so the sentry validates all it reads there; a stub that breaks the protocol
//! is killed, which ends only its application.

pub(crate) mod filter;
pub(crate) mod place;
mod shared;
mod stub;

use crate::stub::{TASK_SIZE, kill_and_reap};
use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Perms, Platform, PlatformError,
    Regs, Result, THREAD_CLONE_FLAGS, check_raw, gettid, next_id,
};
use shared::{
    AREA_SIZE, FAST_INTERRUPT, FAST_SYSCALL, Frame, OFF_TID, REQ_XSAVE, SIGSTACK_OFF, STATE_DONE,
    STATE_EVENT, STATE_FAST_EVENT, STATE_REQUEST, STATE_RESUME, SharedMemory, SigContext,
    ThreadArea, UContext,
};
use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stub::SeccompRegion;

/// Stub threads one address space can have at once (each needs a shared area).
pub use shared::MAX_THREADS;

/// The signal `interrupt()` sends to a stub thread; its handler hands off like a trap.
pub(crate) const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

/// Lowest address an application may map (the host's `vm.mmap_min_addr` default).
const MIN_USER_ADDR: u64 = 0x10000;

/// How long the sentry sleeps on a state word before checking that the stub still lives.
const LIVENESS_POLL: Duration = Duration::from_millis(100);
/// How long a new stub (or stub thread) may take to hand off for the first time.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);

/// Bounds of the adaptive spin budgets (sentry and stub side), in nanoseconds.
const SPIN_MIN_NS: u64 = 200;
const SPIN_START_NS: u64 = 10_000;
const SPIN_MAX_NS: u64 = 50_000;
/// Yields before a sleep, on each side of a packed pair (see `shared::OFF_STUB_YIELDS`).
const PACKED_YIELDS: u32 = 16;

const SYS_SECCOMP: i32 = 1;
const ARCH_SET_GS: u64 = 0x1001;
const ARCH_SET_FS: u64 = 0x1002;

pub fn new_platform(memfd: i32, patch: bool) -> Result<Arc<dyn Platform>> {
    place::init();
    let region = Arc::new(SeccompRegion::install()?);
    Ok(Arc::new(SeccompPlatform {
        factory: region.factory(memfd)?,
        region,
        memfd,
        pause_ns: calibrate_pause(),
        patch,
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
    factory: crate::stub::Factory,
    memfd: i32,
    pause_ns: f64,
    /// Syscall-site patching is on: threads whose GS base is zero run with GS at their
    /// area, which the trampolines of patched sites use.
    patch: bool,
}

impl Platform for SeccompPlatform {
    fn name(&self) -> &'static str {
        "seccomp"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        let mut shared = SharedMemory::new()?;
        let pid = self.region.spawn(&self.factory, self.memfd, shared.fd())?;
        shared.close_fd();
        // A packed sentry thread's new stub starts on its CPU (it hands off to it first).
        if let Some(cpu) = place::pinned_cpu() {
            crate::confine::pin(pid, &[cpu]);
        }
        let aspace = SeccompAddressSpace {
            proc: Arc::new(StubProc::new(pid, self.region.clone(), shared)),
            creator: gettid(),
            memfd: self.memfd,
            pause_ns: self.pause_ns,
        };
        let proc = &aspace.proc;
        // The stub's first hand-off is the int3 at the end of its entry.
        let area = proc.area(0)?;
        // The stub writes its id there too; until it has, the thread counts as alive.
        area.tid().store(pid as u32, Ordering::SeqCst);
        let deadline = Instant::now() + STARTUP_LIMIT;
        let mut spin = Spin::new();
        loop {
            match wait_state(area, pid, pid, |s| s == STATE_EVENT, &mut spin) {
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
        proc.set_slot(0, Slot::Ready(pid));
        Ok(Arc::new(aspace))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(SeccompContext {
            bound: None,
            frame: None,
            fs_base: None,
            gs_base: None,
            patch: self.patch,
            fast: false,
            fp_shape: None,
            spin: Spin::new(),
            stub_spin: Spin::new(),
            place: place::Placement::new(),
            event_at: None,
            pending_fp: None,
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

    fn syscall_trampoline(&self, setup: &[u8], ret: u64) -> Option<Vec<u8>> {
        if !self.patch {
            return None;
        }
        // <setup>; movabs $ret, %rcx; jmp *%gs:OFF_FAST_ENTRY
        let mut code = setup.to_vec();
        code.extend_from_slice(&[0x48, 0xb9]);
        code.extend_from_slice(&ret.to_le_bytes());
        code.extend_from_slice(&[0x65, 0xff, 0x24, 0x25]);
        code.extend_from_slice(&(shared::OFF_FAST_ENTRY as u32).to_le_bytes());
        Some(code)
    }
}

/// What the sentry knows of one stub thread slot (shared area).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Free,
    /// Being made by `prepare_thread`.
    Starting,
    /// Handed off for the first time; waits for a context to bind it.
    Ready(i32),
    /// Run by a context.
    Bound(i32),
    /// Asked to exit (or dead); free once `thread_gone` says so.
    Exiting(i32),
}

/// A stub process and the memory it shares with the sentry: shared by its address space
/// and the contexts bound in it (which may outlive the address space).
struct StubProc {
    pid: i32,
    /// Identity of the process for the `BOUND` lists (pids are reused).
    id: u64,
    region: Arc<SeccompRegion>,
    shared: SharedMemory,
    /// Whether the process has been reaped (its pid may be reused): signals are sent
    /// only while it has not, under this lock.
    reaped: Mutex<bool>,
    /// The sentry has killed it (it broke the protocol, or its address space is gone).
    killed: AtomicBool,
    slots: Mutex<Vec<Slot>>,
    /// Serialises requests to each thread; holds the spin budget for their answers.
    requests: Vec<Mutex<Spin>>,
}

impl StubProc {
    fn new(pid: i32, region: Arc<SeccompRegion>, shared: SharedMemory) -> StubProc {
        StubProc {
            pid,
            id: next_id(),
            region,
            shared,
            reaped: Mutex::new(false),
            killed: AtomicBool::new(false),
            slots: Mutex::new(vec![Slot::Free; MAX_THREADS as usize]),
            requests: (0..MAX_THREADS).map(|_| Mutex::new(Spin::new())).collect(),
        }
    }

    fn area(&self, index: u64) -> Result<ThreadArea<'_>> {
        self.shared
            .area(index, self.region.area_addr(index))
            .ok_or_else(|| PlatformError::Unsupported("seccomp: bad thread index".into()))
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_slot(&self, index: u64, slot: Slot) {
        if let Some(s) = self.slots().get_mut(index as usize) {
            *s = slot;
        }
    }

    fn lock_requests(&self, index: u64) -> Result<MutexGuard<'_, Spin>> {
        let lock = self
            .requests
            .get(index as usize)
            .ok_or_else(|| PlatformError::Unsupported("seccomp: bad thread index".into()))?;
        Ok(lock.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn reaped(&self) -> MutexGuard<'_, bool> {
        self.reaped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `sig` to stub thread `tid`, unless the process is gone.
    fn signal(&self, tid: i32, sig: i32) {
        let reaped = self.reaped();
        if !*reaped {
            // SAFETY: plain signal send to a thread of our unreaped child (the lock keeps
            // it from being reaped meanwhile).
            unsafe { libc::syscall(libc::SYS_tgkill, self.pid, tid, sig) };
        }
    }

    /// Ends a stub that broke the protocol: its application dies, the sentry goes on.
    fn kill(&self, what: &str) -> PlatformError {
        let reaped = self.reaped();
        self.killed.store(true, Ordering::SeqCst);
        if !*reaped {
            // SAFETY: `pid` is our unreaped child (the lock keeps it so), so not reused.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
        PlatformError::Unsupported(format!("seccomp: killed a stub that {what}"))
    }

    fn kill_and_reap(&self) {
        let mut reaped = self.reaped();
        self.killed.store(true, Ordering::SeqCst);
        if !*reaped {
            kill_and_reap(self.pid);
            *reaped = true;
        }
    }

    /// Runs one syscall in the stub on thread `index` (id `tid`), which must be parked in
    /// its handler (the sentry is handling its event). Returns the raw result. `spin` is
    /// the thread's request lock.
    fn request(
        &self,
        spin: &mut Spin,
        index: u64,
        tid: i32,
        nr: i64,
        args: [u64; 6],
    ) -> Result<i64> {
        let area = self.area(index)?;
        let s = area.state().load(Ordering::SeqCst);
        if s != STATE_EVENT && s != STATE_DONE && s != STATE_FAST_EVENT {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: address-space change while the stub thread runs (state {s})"
            )));
        }
        area.set_request(nr, args);
        hand_over(area, STATE_REQUEST);
        loop {
            match wait_state(area, self.pid, tid, |s| s == STATE_DONE, spin) {
                Ok(_) => {
                    pending_result(area)?;
                    return Ok(area.request_result());
                }
                Err(WaitError::Slow) => continue,
                Err(WaitError::Gone(e)) => return Err(e),
            }
        }
    }

    /// Takes a free slot for a new thread (one whose last thread is gone), waiting a while
    /// for exiting threads if none is free.
    fn alloc_slot(&self) -> Result<u64> {
        let deadline = Instant::now() + STARTUP_LIMIT;
        loop {
            let exiting = {
                let mut slots = self.slots();
                let mut exiting = None;
                for (i, slot) in slots.iter_mut().enumerate() {
                    let area = self.area(i as u64)?;
                    let free = match *slot {
                        Slot::Free => true,
                        Slot::Exiting(tid) => thread_gone(area, self.pid, tid),
                        _ => false,
                    };
                    if free {
                        *slot = Slot::Starting;
                        area.reset();
                        return Ok(i as u64);
                    }
                    if matches!(slot, Slot::Exiting(_)) && exiting.is_none() {
                        exiting = Some(area);
                    }
                }
                exiting
            };
            let Some(area) = exiting.filter(|_| Instant::now() < deadline) else {
                return Err(PlatformError::Unsupported(format!(
                    "seccomp: at most {MAX_THREADS} threads per address space"
                )));
            };
            // The kernel wakes this word when it clears it.
            let word = area.tid().load(Ordering::SeqCst);
            if word != 0 {
                futex_wait(area.tid(), word, Duration::from_millis(10));
            }
        }
    }

    /// Waits for the first hand-off of new thread `tid` in slot `index`: the int3 after
    /// its start. Signals that reached it first are let through.
    fn await_first_handoff(&self, index: u64, tid: i32) -> Result<()> {
        let area = self.area(index)?;
        let deadline = Instant::now() + STARTUP_LIMIT;
        let mut spin = Spin::new();
        loop {
            match wait_state(area, self.pid, tid, |s| s == STATE_EVENT, &mut spin) {
                Ok(_) => {}
                Err(WaitError::Slow) if Instant::now() < deadline => continue,
                Err(WaitError::Slow) => return Err(self.kill("did not start a new thread")),
                Err(WaitError::Gone(e)) => return Err(e),
            }
            let Some(frame) = area.frame() else {
                return Err(self.kill("moved a new thread's first signal frame"));
            };
            let signo = area.siginfo(frame).signo;
            if signo == libc::SIGTRAP {
                return Ok(());
            }
            if !stub::HANDLED_SIGNALS.contains(&signo) {
                return Err(self.kill("started a thread with a signal it does not handle"));
            }
            hand_over(area, STATE_RESUME);
        }
    }

    /// Takes a thread ready to be bound: the initial thread if it is, else any.
    fn claim_ready(&self) -> Result<(u64, i32)> {
        let mut slots = self.slots();
        for i in 0..slots.len() {
            if let Slot::Ready(tid) = slots[i] {
                slots[i] = Slot::Bound(tid);
                return Ok((i as u64, tid));
            }
        }
        Err(PlatformError::Unsupported(
            "seccomp: no stub thread ready to bind (AddressSpace::prepare_thread)".into(),
        ))
    }

    /// Ends bound thread `tid` in slot `index` (its context is dropped): asks it to exit
    /// if it is parked in its handler; its slot is free once it is gone.
    fn retire(&self, index: u64, tid: i32) {
        let Ok(_serial) = self.lock_requests(index) else {
            return;
        };
        if let Ok(area) = self.area(index) {
            let reaped = self.reaped();
            if !*reaped {
                let s = area.state().load(Ordering::SeqCst);
                if s == STATE_EVENT || s == STATE_DONE || s == STATE_FAST_EVENT {
                    area.set_request(libc::SYS_exit, [0; 6]);
                    hand_over(area, STATE_REQUEST);
                } else if !thread_gone(area, self.pid, tid) {
                    // Running without a context: the stub broke the protocol.
                    // SAFETY: our unreaped child (the lock keeps it so).
                    unsafe { libc::kill(self.pid, libc::SIGKILL) };
                }
            }
        }
        self.set_slot(index, Slot::Exiting(tid));
    }
}

impl Drop for StubProc {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// The stub threads the calling sentry thread runs contexts on.
struct Binding {
    proc_id: u64,
    index: u64,
    tid: i32,
    /// False once the context is dropped (possibly on another thread).
    live: AtomicBool,
}

thread_local! {
    static BOUND: RefCell<Vec<Arc<Binding>>> = const { RefCell::new(Vec::new()) };
}

/// The stub thread (index, tid) the calling sentry thread runs in process `proc_id`.
fn bound_in(proc_id: u64) -> Option<(u64, i32)> {
    BOUND
        .try_with(|list| {
            let mut list = list.borrow_mut();
            list.retain(|b| b.live.load(Ordering::SeqCst));
            list.iter()
                .find(|b| b.proc_id == proc_id)
                .map(|b| (b.index, b.tid))
        })
        .ok()
        .flatten()
}

/// The right to make requests on one stub thread, held for as long as they take.
struct Requester<'a> {
    proc: &'a StubProc,
    index: u64,
    tid: i32,
    spin: MutexGuard<'a, Spin>,
}

impl Requester<'_> {
    fn call(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        self.proc
            .request(&mut self.spin, self.index, self.tid, nr, args)
    }
}

/// A stub process and the memory it shares with the sentry.
pub struct SeccompAddressSpace {
    proc: Arc<StubProc>,
    /// The sentry thread that created it: it may use the initial thread until bound.
    creator: i32,
    memfd: i32,
    pause_ns: f64,
}

impl SeccompAddressSpace {
    /// The stub process's pid.
    pub fn pid(&self) -> i32 {
        self.proc.pid
    }

    /// The stub thread the calling sentry thread may make requests on (crate docs,
    /// Threads).
    fn requester(&self) -> Result<Requester<'_>> {
        let proc = &*self.proc;
        if let Some((index, tid)) = bound_in(proc.id) {
            let spin = proc.lock_requests(index)?;
            return Ok(Requester {
                proc,
                index,
                tid,
                spin,
            });
        }
        if gettid() == self.creator {
            let spin = proc.lock_requests(0)?;
            if proc.slots()[0] == Slot::Ready(proc.pid) {
                return Ok(Requester {
                    proc,
                    index: 0,
                    tid: proc.pid,
                    spin,
                });
            }
        }
        Err(PlatformError::Unsupported(
            "seccomp: address-space change from a sentry thread that runs no stopped context \
             in it"
                .into(),
        ))
    }

    fn check_range(&self, what: &str, addr: u64, len: u64) -> Result<()> {
        if addr
            .checked_add(len)
            .is_none_or(|end| end > self.proc.region.start)
        {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: {what} {addr:#x}+{len:#x} reaches the stub region"
            )));
        }
        Ok(())
    }
}

impl AddressSpace for SeccompAddressSpace {
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()> {
        self.map_batch(&[(addr, len, file_offset, perms)])
    }

    /// Queues the mappings in the requesting thread's area (`shared::OFF_PENDING`): the
    /// stub makes them before that thread next runs the application or a request, so a
    /// fault or an mmap costs no round trip of its own. A failure shows at the next
    /// hand-off (`pending_result`).
    fn map_batch(&self, maps: &[(u64, u64, u64, Perms)]) -> Result<()> {
        for &(addr, len, _, _) in maps {
            self.check_range("mapping", addr, len)?;
        }
        if self.proc.killed.load(Ordering::SeqCst) {
            return Err(PlatformError::ThreadGone(libc::SIGKILL));
        }
        let mut req = self.requester()?;
        let area = self.proc.area(req.index)?;
        let s = area.state().load(Ordering::SeqCst);
        if s != STATE_EVENT && s != STATE_DONE && s != STATE_FAST_EVENT {
            return Err(PlatformError::Unsupported(format!(
                "seccomp: address-space change while the stub thread runs (state {s})"
            )));
        }
        for &(addr, len, off, perms) in maps {
            let prot = perms.to_prot() as u64;
            if !area.queue_map(self.memfd, addr, len, prot, off) {
                // Full: the stub makes the queued ones now.
                check_raw("mmap in a stub", req.call(shared::REQ_MAP_BATCH, [0; 6])?)?;
                if !area.queue_map(self.memfd, addr, len, prot, off) {
                    return Err(self.proc.kill("does not empty its map queue"));
                }
            }
        }
        Ok(())
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        self.check_range("unmapping", addr, len)?;
        let r = self
            .requester()?
            .call(libc::SYS_munmap, [addr, len, 0, 0, 0, 0])?;
        check_raw("munmap in a stub", r).map(drop)
    }

    fn prepare_thread(&self) -> Result<()> {
        let mut req = self.requester()?;
        let proc = &*self.proc;
        let index = proc.alloc_slot()?;
        let base = proc.region.area_addr(index);
        let tid_word = base + OFF_TID;
        // The new thread's stack is the top of its area until its alternate stack is set.
        let r = req.call(
            libc::SYS_clone,
            [
                THREAD_CLONE_FLAGS | filter::CLONE_TID_FLAGS,
                base + AREA_SIZE,
                tid_word,
                tid_word,
                0,
                0,
            ],
        );
        let tid = match r.and_then(|r| check_raw("clone in a stub", r)) {
            Ok(tid) => tid as i32,
            Err(e) => {
                // If a thread was made after all, its id is in the word until it exits.
                let word = proc.area(index)?.tid().load(Ordering::SeqCst);
                proc.set_slot(
                    index,
                    if word == 0 {
                        Slot::Free
                    } else {
                        Slot::Exiting(word as i32)
                    },
                );
                return Err(e);
            }
        };
        drop(req);
        match proc.await_first_handoff(index, tid) {
            Ok(()) => {
                proc.set_slot(index, Slot::Ready(tid));
                Ok(())
            }
            Err(e) => {
                proc.set_slot(index, Slot::Exiting(tid));
                Err(e)
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for SeccompAddressSpace {
    fn drop(&mut self) {
        self.proc.kill_and_reap();
    }
}

/// An adaptive spin budget: doubled when a wait ends within it, halved when it runs out,
/// so waits that are usually long stop burning a core. A budget that has run down is
/// not stuck there: a wait that slept but ended within `SPIN_MAX_NS` shows that spinning
/// would have caught it, and every `PROBE_EVERY`th sleep at the bottom spins for the
/// full budget once, so a thread that turns syscall-heavy again gets its spin back.
#[derive(Clone, Copy, Debug)]
struct Spin {
    budget_ns: u64,
    /// Consecutive waits that slept with the budget at its floor.
    floor_sleeps: u32,
}

/// See `Spin::track`.
const TRACK_SLACK_NS: u64 = 10_000;
/// At the floor, one wait in this many spins for `SPIN_MAX_NS` (a probe).
const PROBE_EVERY: u32 = 16;

impl Spin {
    fn new() -> Spin {
        Spin {
            budget_ns: SPIN_START_NS,
            floor_sleeps: 0,
        }
    }
    fn hit(&mut self) {
        self.budget_ns = (self.budget_ns * 2).min(SPIN_MAX_NS);
        self.floor_sleeps = 0;
    }
    fn miss(&mut self) {
        self.budget_ns = (self.budget_ns / 2).max(SPIN_MIN_NS);
    }
    /// The budget for the next wait: the current one, or a full probe now and then when
    /// it sits at the floor.
    fn next_budget(&mut self) -> u64 {
        if self.budget_ns <= SPIN_MIN_NS {
            self.floor_sleeps += 1;
            if self.floor_sleeps >= PROBE_EVERY {
                self.floor_sleeps = 0;
                return SPIN_MAX_NS;
            }
        }
        self.budget_ns
    }
    /// A wait slept and ended `waited_ns` after it began.
    fn slept(&mut self, waited_ns: u64) {
        if waited_ns <= SPIN_MAX_NS {
            self.budget_ns = self.budget_ns.max((2 * waited_ns).min(SPIN_MAX_NS));
            self.floor_sleeps = 0;
        } else {
            self.miss();
        }
    }
    /// Sets the budget from how long the other side took last time (the stub's budget
    /// from the sentry's handling time): twice that plus `TRACK_SLACK_NS` (what the
    /// handling time does not see: noticing the event, switching back) when it was
    /// short, else halved.
    fn track(&mut self, took_ns: u64) {
        if took_ns <= SPIN_MAX_NS / 2 {
            self.budget_ns = (self.budget_ns / 2)
                .max(2 * took_ns + TRACK_SLACK_NS)
                .clamp(SPIN_MIN_NS, SPIN_MAX_NS);
        } else {
            self.miss();
        }
    }
}

enum WaitError {
    /// The wait slept for `LIVENESS_POLL` and the stub still lives: try again (or give
    /// up, for bounded waits).
    Slow,
    Gone(PlatformError),
}

/// Fails if a mapping the sentry queued in `area` could not be made (the stub made it at
/// its last hand-off): the application would lack memory the sentry counts as mapped.
fn pending_result(area: ThreadArea<'_>) -> Result<()> {
    match area.take_pending_err() {
        None => Ok(()),
        Some(e) => Err(PlatformError::Unsupported(format!(
            "seccomp: a queued mmap in the stub failed: {}",
            std::io::Error::from_raw_os_error(-e as i32)
        ))),
    }
}

/// Sets the state word to `state` for the stub, waking it if it sleeps.
fn hand_over(area: ThreadArea<'_>, state: u32) {
    area.state().swap(state, Ordering::SeqCst);
    if area.stub_waiting().load(Ordering::SeqCst) != 0 {
        futex_wake(area.state());
    }
}

/// Waits until the state word of thread `tid` (whose area is `area`) satisfies `want`:
/// spins for the budget (or, for a packed pair, yields the CPU a few times), then sleeps
/// on it (announcing the sleep in `sentry_waiting`, so the stub wakes us), checking every
/// `LIVENESS_POLL` that the thread still lives.
fn wait_state(
    area: ThreadArea<'_>,
    pid: i32,
    tid: i32,
    want: impl Fn(u32) -> bool,
    spin: &mut Spin,
) -> std::result::Result<u32, WaitError> {
    let state = area.state();
    let start = Instant::now();
    // A packed pair's stub shares this CPU: it runs only once this thread yields or
    // sleeps, so spinning would only delay it.
    let packed = place::no_spin();
    let budget = Duration::from_nanos(if packed { 0 } else { spin.next_budget() });
    loop {
        for _ in 0..16 {
            let s = state.load(Ordering::Acquire);
            if want(s) {
                // Found only after being preempted (the stub shares our core): spinning
                // did not help, so it counts as a miss.
                if !packed {
                    if start.elapsed() < budget {
                        spin.hit();
                    } else {
                        spin.miss();
                    }
                }
                return Ok(s);
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= budget {
            break;
        }
    }
    // A packed pair's stub may be runnable on this CPU: yielding runs it without a
    // wake-up on either side.
    if packed {
        for _ in 0..PACKED_YIELDS {
            // SAFETY: no arguments.
            unsafe { libc::sched_yield() };
            let s = state.load(Ordering::Acquire);
            if want(s) {
                return Ok(s);
            }
        }
    }
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
                None if thread_gone(area, pid, tid) => {
                    Err(WaitError::Gone(PlatformError::ThreadGone(0)))
                }
                None => Err(WaitError::Slow),
            };
        }
        futex_wait(state, s, deadline - now);
    };
    waiting.store(0, Ordering::SeqCst);
    if !packed {
        spin.slept(start.elapsed().as_nanos() as u64);
    }
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

/// Whether stub thread `tid` of live process `pid`, whose area is `area`, has exited:
/// the kernel cleared its id word (it does for every thread but the last, whose end
/// `stub_status` sees), or it no longer exists.
fn thread_gone(area: ThreadArea<'_>, pid: i32, tid: i32) -> bool {
    if area.tid().load(Ordering::SeqCst) == 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the thread exists.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

struct SeccompInterrupter {
    pending: AtomicBool,
    /// The stub thread to signal, while the context is bound to it.
    target: Mutex<Option<(Arc<StubProc>, i32)>>,
}

impl Interrupt for SeccompInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((proc, tid)) = &*target {
            proc.signal(*tid, INTERRUPT_SIGNAL);
        }
    }
}

/// The stub thread a context runs.
struct Bound {
    proc: Arc<StubProc>,
    index: u64,
    tid: i32,
    binding: Arc<Binding>,
}

struct SeccompContext {
    bound: Option<Bound>,
    /// The signal frame of the thread's current event.
    frame: Option<Frame>,
    /// FS and GS bases the stub thread has now.
    fs_base: Option<u64>,
    gs_base: Option<u64>,
    /// Patching is on: GS is the thread's area while the application's GS base is zero.
    patch: bool,
    /// The current event came through the fast path (registers in the area, FP state
    /// live in the thread), not a signal frame.
    fast: bool,
    /// Size and software bytes of the thread's XSAVE images (from its first frame).
    fp_shape: Option<(u64, [u8; 48])>,
    /// Sentry-side spin budget (waiting for the application's next event).
    spin: Spin,
    /// Stub-side spin budget (waiting for the sentry to handle an event).
    stub_spin: Spin,
    /// Where this pair runs, and whether its waits spin.
    place: place::Placement,
    /// When the last event reached the sentry (to time its handling).
    event_at: Option<Instant>,
    interrupter: Arc<SeccompInterrupter>,
    /// An FP image stored before the first switch (a forked child or a new thread starts
    /// with its creator's), written into the first signal frame once bound.
    pending_fp: Option<Vec<u8>>,
}

impl SeccompContext {
    /// Binds the context to a ready stub thread of `aspace` on its first switch.
    fn bind(&mut self, aspace: &SeccompAddressSpace) -> Result<(u64, i32)> {
        match &self.bound {
            Some(b) if b.proc.id == aspace.proc.id => return Ok((b.index, b.tid)),
            Some(_) => {
                return Err(PlatformError::Unsupported(
                    "seccomp: moving a thread to another address space".into(),
                ));
            }
            None => {}
        }
        let proc = &aspace.proc;
        let (index, tid) = proc.claim_ready()?;
        // Let a request the creator is making on the initial thread finish.
        drop(proc.lock_requests(index)?);
        let area = proc.area(index)?;
        let Some(frame) = area.frame() else {
            return Err(proc.kill("moved its first signal frame"));
        };
        let mut uc = area.ucontext(frame);
        // A new thread starts with clean FP state, not the sentry's or its parent's.
        if !area.init_fp(&uc) {
            return Err(proc.kill("has a bad FP frame"));
        }
        self.fp_shape = area.fp_shape(&uc);
        area.init_fast(proc.region.area_addr(index), proc.region.fast);
        // Its alternate stack, which rt_sigreturn installs (a cloned thread has none).
        uc.ss_sp = proc.region.area_addr(index) + SIGSTACK_OFF;
        uc.ss_flags = 0;
        uc.ss_size = AREA_SIZE - SIGSTACK_OFF;
        area.set_ucontext(frame, &uc);
        let binding = Arc::new(Binding {
            proc_id: proc.id,
            index,
            tid,
            live: AtomicBool::new(true),
        });
        let _ = BOUND.try_with(|list| list.borrow_mut().push(binding.clone()));
        self.bound = Some(Bound {
            proc: proc.clone(),
            index,
            tid,
            binding,
        });
        self.frame = Some(frame);
        self.fast = false;
        self.fs_base = None;
        self.gs_base = None;
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((proc.clone(), tid));
        Ok((index, tid))
    }

    /// Sets the stub thread's FS/GS base if the sentry changed them.
    fn sync_bases(&mut self, proc: &StubProc, index: u64, tid: i32, regs: &Regs) -> Result<()> {
        // The trampolines of patched sites find the thread's area through GS; an
        // application that sets its own GS base gets it (and the sentry stops patching).
        let gs = if self.patch && regs.gs_base == 0 {
            proc.region.area_addr(index)
        } else {
            regs.gs_base
        };
        for (code, want, have) in [
            (ARCH_SET_FS, regs.fs_base, &mut self.fs_base),
            (ARCH_SET_GS, gs, &mut self.gs_base),
        ] {
            if *have != Some(want) {
                let mut spin = proc.lock_requests(index)?;
                let r = proc.request(
                    &mut spin,
                    index,
                    tid,
                    libc::SYS_arch_prctl,
                    [code, want, 0, 0, 0, 0],
                )?;
                check_raw("arch_prctl in a stub", r)?;
                *have = Some(want);
            }
        }
        Ok(())
    }

    /// Reads the event the stub thread handed off. `None`: a signal to discard (sent
    /// from outside the sandbox); resume the thread as it was.
    fn read_event(
        &mut self,
        proc: &StubProc,
        area: ThreadArea<'_>,
        state: &mut CpuState,
    ) -> Result<Option<Event>> {
        let Some(frame) = area.frame() else {
            return Err(proc.kill("put its signal frame outside its stack"));
        };
        self.frame = Some(frame);
        let info = area.siginfo(frame);
        let uc = area.ucontext(frame);
        if (proc.region.start..proc.region.end).contains(&uc.mc.rip) {
            // Only a fault in the fast path (the application broke its own thread state)
            // reaches the sentry from stub code.
            return Err(proc.kill("faulted in its stub code"));
        }
        let ev = match info.signo {
            libc::SIGSYS if info.code == SYS_SECCOMP => {
                if info.arch != filter::AUDIT_ARCH_X86_64 {
                    return Err(proc.kill("reported a foreign syscall"));
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
            _ => return Err(proc.kill("reported a signal it does not handle")),
        };
        let prev = state.regs;
        state.regs = regs_from_frame(&uc.mc, &prev);
        state.regs.fs_base = self.fs_base.unwrap_or(prev.fs_base);
        self.fast = false;
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

    /// Reads the event the fast path handed off: the registers the application entered
    /// it with (a syscall from a patched site), or an interrupt noted on the way back.
    fn read_fast_event(
        &mut self,
        proc: &StubProc,
        area: ThreadArea<'_>,
        state: &mut CpuState,
    ) -> Result<Event> {
        let ev = match area.fast_kind() {
            FAST_SYSCALL => Event::Syscall,
            FAST_INTERRUPT => {
                self.interrupter.pending.store(false, Ordering::SeqCst);
                Event::Interrupted
            }
            _ => return Err(proc.kill("reported a fast-path event it cannot have")),
        };
        let mc = area.fast_regs();
        let prev = state.regs;
        state.regs = Regs {
            cs: prev.cs,
            ss: prev.ss,
            ..regs_from_frame(&mc, &prev)
        };
        state.regs.fs_base = self.fs_base.unwrap_or(prev.fs_base);
        if ev == Event::Syscall {
            // The number is `%eax`, sign-extended (as the kernel's orig_rax for a trap).
            state.regs.orig_rax = i64::from(mc.rax as u32 as i32) as u64;
            state.regs.rax = -(libc::ENOSYS as i64) as u64;
        } else {
            state.regs.orig_rax = u64::MAX;
        }
        self.fast = true;
        self.frame = None;
        state.fp_loaded = false;
        Ok(ev)
    }
}

impl Context for SeccompContext {
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
        let aspace = aspace
            .as_any()
            .downcast_ref::<SeccompAddressSpace>()
            .ok_or_else(|| PlatformError::Unsupported("seccomp: foreign address space".into()))?;
        let (index, tid) = self.bind(aspace)?;
        if self.interrupter.pending.swap(false, Ordering::SeqCst) {
            return Ok(Event::Interrupted);
        }
        let proc = aspace.proc.clone();
        self.sync_bases(&proc, index, tid, &state.regs)?;
        let area = proc.area(index)?;
        if self.fast {
            let mut mc = area.fast_regs();
            regs_to_mc(&state.regs, &mut mc);
            area.set_fast_regs(&mc);
        } else {
            let frame = self
                .frame
                .ok_or_else(|| PlatformError::Unsupported("seccomp: no signal frame".into()))?;
            let mut uc = area.ucontext(frame);
            regs_to_frame(&state.regs, &mut uc);
            area.set_ucontext(frame, &uc);
            if let Some(fp) = self.pending_fp.take()
                && !area.write_fp(&area.ucontext(frame), &fp)
            {
                return Err(PlatformError::Unsupported("seccomp: bad FP frame".into()));
            }
        }
        loop {
            // The stub spins for about twice as long as the sentry took to handle the
            // last event (when that was short; a blocking syscall halves the budget).
            let handled = self.event_at.take().map(|t| t.elapsed().as_nanos() as u64);
            if let Some(t) = handled {
                self.stub_spin.track(t);
            }
            let stub_spin = if self.place.place(tid) {
                (self.stub_spin.budget_ns as f64 / aspace.pause_ns) as u32
            } else {
                0
            };
            area.set_stub_spin(stub_spin);
            area.set_stub_yields(if place::no_spin() { PACKED_YIELDS } else { 0 });
            let resumed = Instant::now();
            hand_over(area, STATE_RESUME);
            let want = |s| s == STATE_EVENT || s == STATE_FAST_EVENT;
            let s = loop {
                match wait_state(area, proc.pid, tid, want, &mut self.spin) {
                    Ok(s) => break s,
                    Err(WaitError::Slow) => continue,
                    Err(WaitError::Gone(e)) => {
                        self.frame = None;
                        self.fast = false;
                        return Err(e);
                    }
                }
            };
            self.place.record(resumed.elapsed().as_nanos() as u64, handled.unwrap_or(0));
            // The thread ran application code since the stub last emptied its map queue:
            // whatever the queue holds now was written by the application, not by us.
            area.clear_queue();
            pending_result(area)?;
            if s == STATE_FAST_EVENT {
                let ev = self.read_fast_event(&proc, area, state)?;
                self.event_at = Some(Instant::now());
                return Ok(ev);
            }
            if let Some(ev) = self.read_event(&proc, area, state)? {
                self.event_at = Some(Instant::now());
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
        if self.fast {
            // The FP state is live in the thread: it saves it into its FP buffer.
            let (Some(b), Some((size, sw))) = (self.bound.as_ref(), self.fp_shape) else {
                return Err(PlatformError::Unsupported("seccomp: no FP shape".into()));
            };
            let mut spin = b.proc.lock_requests(b.index)?;
            let r = b.proc.request(&mut spin, b.index, b.tid, REQ_XSAVE, [0; 6])?;
            if r != 0 {
                return Err(b.proc.kill("failed an XSAVE request"));
            }
            state.fp = b
                .proc
                .area(b.index)?
                .read_fpbuf(size, &sw)
                .ok_or_else(|| PlatformError::Unsupported("seccomp: bad FP shape".into()))?;
            state.fp_loaded = true;
            return Ok(());
        }
        let fp = self.with_frame(|area, frame| area.read_fp(&area.ucontext(frame)))?;
        state.fp = fp.ok_or_else(|| PlatformError::Unsupported("seccomp: bad FP frame".into()))?;
        state.fp_loaded = true;
        Ok(())
    }

    fn store_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if self.bound.is_none() {
            self.pending_fp = Some(state.fp.clone());
            state.fp_loaded = true;
            return Ok(());
        }
        if self.fast {
            // The fast path loads it (XRSTOR) on its way back.
            let ok = match (self.bound.as_ref(), self.fp_shape) {
                (Some(b), Some((size, _))) if state.fp.len() as u64 == size => {
                    b.proc.area(b.index)?.write_fpbuf(&state.fp)
                }
                _ => false,
            };
            if !ok {
                return Err(PlatformError::Unsupported("seccomp: bad FP image".into()));
            }
            state.fp_loaded = true;
            return Ok(());
        }
        // The frame's XSAVE area is what the stub's sigreturn restores.
        if !self.with_frame(|area, frame| area.write_fp(&area.ucontext(frame), &state.fp))? {
            return Err(PlatformError::Unsupported("seccomp: bad FP frame".into()));
        }
        state.fp_loaded = true;
        Ok(())
    }

    fn syscall_trapped(&self) -> bool {
        self.patch && !self.fast
    }

    fn cpu_time_ns(&self) -> Option<u64> {
        // The thread reads its own CPU clock: Linux refuses the clock of a thread in
        // another thread group, and the sentry opens no /proc files.
        let b = self.bound.as_ref()?;
        let at = b.proc.region.area_addr(b.index) + shared::OFF_CPUTIME;
        let mut spin = b.proc.lock_requests(b.index).ok()?;
        let args = [libc::CLOCK_THREAD_CPUTIME_ID as u64, at, 0, 0, 0, 0];
        let r = b
            .proc
            .request(&mut spin, b.index, b.tid, libc::SYS_clock_gettime, args)
            .ok()?;
        (r == 0).then(|| b.proc.area(b.index).ok().and_then(|a| a.cputime_ns()))?
    }
}

impl SeccompContext {
    /// Runs `f` on the bound thread's shared area and the signal frame of its current
    /// event.
    fn with_frame<R>(&self, f: impl FnOnce(ThreadArea<'_>, Frame) -> R) -> Result<R> {
        let (Some(bound), Some(frame)) = (self.bound.as_ref(), self.frame) else {
            return Err(PlatformError::Unsupported(
                "seccomp: context never ran".into(),
            ));
        };
        Ok(f(bound.proc.area(bound.index)?, frame))
    }
}

impl Drop for SeccompContext {
    fn drop(&mut self) {
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(b) = self.bound.take() {
            b.binding.live.store(false, Ordering::SeqCst);
            let _ = BOUND.try_with(|list| {
                list.borrow_mut()
                    .retain(|other| !Arc::ptr_eq(other, &b.binding));
            });
            b.proc.retire(b.index, b.tid);
        }
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

/// Writes the general registers into the fast path's register block.
fn regs_to_mc(r: &Regs, mc: &mut SigContext) {
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
}

/// Writes the general registers into the frame rt_sigreturn will load. Segment
/// selectors stay the kernel's (user code and stack); the stub's signal mask is empty.
fn regs_to_frame(r: &Regs, uc: &mut UContext) {
    regs_to_mc(r, &mut uc.mc);
    uc.mc.cs = 0x33;
    uc.uc_sigmask = 0;
}

const _: () = assert!(TASK_SIZE > MIN_USER_ADDR);
