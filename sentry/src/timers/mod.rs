//! Kernel timers (DESIGN.md §5): the timer service thread, the interval timers of
//! alarm(2)/setitimer(2), POSIX timers (timer_create(2)), and the CPU time accounting
//! behind CPU clocks, ITIMER_VIRTUAL/ITIMER_PROF and getrusage(2). A process's timer
//! state (`ProcTimers`) hangs off its `ProcessInfo`; timerfd's file is in `vfs::timerfd`.
//!
//! Lock order: the task tree, then a timer's own state, then the service.

pub mod cputime;
pub mod itimer;
pub mod posix;
pub mod service;

use crate::signals::{self, SigInfo};
use crate::task::Task;
use crate::tasks::{self, Tree};
pub use cputime::Usage;
pub use service::{Expiry, TimerHandle, TimerService, mono_now};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls_table::Errno;

/// The least time between two wake-ups of one periodic timer: a timer with a shorter
/// period counts every period (overruns, timerfd ticks) but is looked at less often,
/// so a tiny interval cannot keep the service thread spinning.
pub const MIN_REARM_NS: u64 = 100_000;

/// How often a process with armed CPU timers has its running threads read their CPU
/// time (a scheduler tick's precision, as Linux gives).
const CPU_TICK_NS: u64 = 10_000_000;

pub const NSEC: u64 = 1_000_000_000;

/// A timer's schedule on one clock, in ns: its next expiry (None: disarmed) and period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub next: Option<u64>,
    pub interval: u64,
}

impl Schedule {
    pub fn new(next: Option<u64>, interval: u64) -> Schedule {
        Schedule {
            next,
            // Linux forgets the interval of a disarmed timer.
            interval: if next.is_some() { interval } else { 0 },
        }
    }

    /// Counts the expirations up to `now` and moves `next` past it (a one-shot timer
    /// disarms).
    pub fn expire(&mut self, now: u64) -> u64 {
        let Some(next) = self.next else {
            return 0;
        };
        if now < next {
            return 0;
        }
        if self.interval == 0 {
            self.next = None;
            return 1;
        }
        let n = (now - next) / self.interval + 1;
        self.next = next.checked_add(n.saturating_mul(self.interval));
        n
    }

    /// Time left until the next expiry as of `now` (0 when disarmed).
    pub fn remaining(&self, now: u64) -> u64 {
        self.next.map_or(0, |n| n.saturating_sub(now))
    }

    /// When the service should look at the timer next: its expiry, but not sooner than
    /// MIN_REARM_NS after `now`.
    pub fn wake_at(&self, now: u64) -> Option<u64> {
        self.next.map(|n| n.max(now.saturating_add(MIN_REARM_NS)))
    }
}

/// The length of a scheduler tick (Linux's TICK_NSEC), which CPU itimers add to their
/// value: the resolution of the host's coarse clocks.
pub fn tick_ns() -> u64 {
    static TICK: OnceLock<u64> = OnceLock::new();
    *TICK.get_or_init(|| {
        crate::host::clock_getres(libc::CLOCK_MONOTONIC_COARSE)
            .map_or(4_000_000, |ts| ts.tv_nsec as u64)
            .clamp(1_000_000, 10_000_000)
    })
}

pub fn ts_to_ns(sec: i64, nsec: i64) -> u64 {
    (sec.max(0) as u64)
        .saturating_mul(NSEC)
        .saturating_add(nsec.max(0) as u64)
}

/// The clock a real-time timer may use, as the host clock to read it with (the alarm
/// clocks are their plain counterparts: the sandbox has no suspend).
pub fn host_clock(clock: i32) -> i32 {
    match clock {
        libc::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
        libc::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME,
        c => c,
    }
}

/// `clock` now, in ns.
pub fn clock_now(clock: i32) -> u64 {
    crate::host::clock_gettime(host_clock(clock)).map_or(0, |ts| ts_to_ns(ts.tv_sec, ts.tv_nsec))
}

/// The monotonic time at which `clock` shows `abs` (in the past when it has passed, so
/// that a periodic timer counts the periods since).
pub fn abs_to_mono(clock: i32, abs: u64) -> u64 {
    let mono = mono_now();
    if host_clock(clock) == libc::CLOCK_MONOTONIC {
        return abs;
    }
    let now = clock_now(clock);
    if abs >= now {
        mono.saturating_add(abs - now)
    } else {
        mono.saturating_sub(now - abs)
    }
}

/// Sends `info` to thread `thread` of `tgid` (or to the process).
fn send(tree: &Weak<Mutex<Tree>>, tgid: i32, thread: Option<i32>, info: SigInfo) {
    if let Some(tr) = tree.upgrade() {
        tasks::lock(&tr).send(tgid, thread, info);
    }
}

/// ITIMER_VIRTUAL or ITIMER_PROF: expiry in process CPU ns (0: disarmed) and period.
#[derive(Clone, Copy, Debug, Default)]
struct CpuITimer {
    expires: u64,
    incr: u64,
}

/// The timers of one process.
#[derive(Default)]
pub struct ProcTimers {
    pub cpu: cputime::CpuAccount,
    real: OnceLock<Arc<itimer::RealTimer>>,
    /// ITIMER_VIRTUAL, ITIMER_PROF.
    cpu_itimers: Mutex<[CpuITimer; 2]>,
    posix: Mutex<posix::Table>,
    /// POSIX timers on this process's CPU clocks, whoever made them.
    watchers: Mutex<Vec<Weak<posix::PosixTimer>>>,
    /// Some CPU timer is armed: tasks read their CPU time after every event.
    cpu_armed: AtomicBool,
    tick: OnceLock<Arc<CpuTick>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProcTimers {
    /// ITIMER_REAL (and alarm(2)) of the task's process.
    pub fn real(&self, t: &Task) -> &Arc<itimer::RealTimer> {
        self.real
            .get_or_init(|| itimer::RealTimer::new(t.tgid, &t.k.tree, t.k.timers.handle()))
    }

    /// Sets ITIMER_VIRTUAL (`which` 0) or ITIMER_PROF (1) to `value` ns from now with
    /// `interval`; returns the old (value, interval). Linux adds a tick to the value.
    pub fn set_cpu_itimer(
        self: &Arc<Self>,
        t: &Task,
        which: usize,
        value: u64,
        interval: u64,
    ) -> (u64, u64) {
        let (_, now) = cputime::sample(t);
        let old = {
            let mut its = lock(&self.cpu_itimers);
            let it = &mut its[which];
            let old = (Self::cpu_left(it.expires, now), it.incr);
            it.expires = if value > 0 {
                now + value + tick_ns()
            } else {
                0
            };
            it.incr = interval;
            old
        };
        self.refresh_armed(t.tgid, &t.k.tree, t.k.timers.handle());
        old
    }

    pub fn get_cpu_itimer(&self, t: &Task, which: usize) -> (u64, u64) {
        let (_, now) = cputime::sample(t);
        let it = lock(&self.cpu_itimers)[which];
        (Self::cpu_left(it.expires, now), it.incr)
    }

    /// What get_cpu_itimer reports: time left, or a tick when it is about to fire.
    fn cpu_left(expires: u64, now: u64) -> u64 {
        match expires {
            0 => 0,
            e if e <= now => tick_ns(),
            e => e - now,
        }
    }

    /// The POSIX timer table.
    pub fn posix(&self) -> MutexGuard<'_, posix::Table> {
        lock(&self.posix)
    }

    pub fn watch(&self, timer: &Arc<posix::PosixTimer>) {
        let mut w = lock(&self.watchers);
        w.retain(|x| x.strong_count() > 0);
        if !w
            .iter()
            .any(|x| std::ptr::eq(x.as_ptr(), Arc::as_ptr(timer)))
        {
            w.push(Arc::downgrade(timer));
        }
    }

    fn watchers(&self) -> Vec<Arc<posix::PosixTimer>> {
        let mut w = lock(&self.watchers);
        w.retain(|x| x.strong_count() > 0);
        w.iter().filter_map(|x| x.upgrade()).collect()
    }

    /// Recomputes whether a CPU timer is armed; starts the tick when one is.
    pub fn refresh_armed(self: &Arc<Self>, tgid: i32, tree: &tasks::TreeRef, svc: &TimerHandle) {
        let armed = lock(&self.cpu_itimers).iter().any(|i| i.expires != 0)
            || self.watchers().iter().any(|p| p.armed());
        let was = self.cpu_armed.swap(armed, Ordering::SeqCst);
        if armed && !was {
            let tick = self.tick.get_or_init(|| {
                Arc::new_cyclic(|me| CpuTick {
                    me: me.clone(),
                    id: svc.new_id(),
                    tgid,
                    tree: Arc::downgrade(tree),
                    timers: Arc::downgrade(self),
                    svc: svc.clone(),
                    seq: AtomicU64::new(0),
                })
            });
            tick.start();
        }
    }

    /// After a CPU time reading: fires the CPU itimers and the POSIX timers on this
    /// process's clocks that are due.
    fn check_cpu(self: &Arc<Self>, t: &Task, thread_ns: u64, total: u64) {
        let mut due = Vec::new();
        {
            let mut its = lock(&self.cpu_itimers);
            for (it, signo) in its.iter_mut().zip([libc::SIGVTALRM, libc::SIGPROF]) {
                if it.expires != 0 && total >= it.expires {
                    it.expires = if it.incr != 0 {
                        it.expires + it.incr
                    } else {
                        0
                    };
                    due.push(signo);
                }
            }
        }
        let tree = Arc::downgrade(&t.k.tree);
        for signo in due {
            send(&tree, t.tgid, None, SigInfo::new(signo, signals::SI_KERNEL));
        }
        for p in self.watchers() {
            p.cpu_check(t.tid, thread_ns, total);
        }
        self.refresh_armed(t.tgid, &t.k.tree, t.k.timers.handle());
    }

    /// Ends every timer (exit and, for POSIX timers, exec).
    fn delete_all(&self, posix_only: bool) {
        let all: Vec<Arc<posix::PosixTimer>> = std::mem::take(&mut lock(&self.posix).timers)
            .into_values()
            .collect();
        for p in all {
            p.delete();
        }
        if !posix_only {
            if let Some(r) = self.real.get() {
                r.set(0, 0);
            }
            *lock(&self.cpu_itimers) = Default::default();
            self.cpu_armed.store(false, Ordering::SeqCst);
        }
    }
}

/// While a process has CPU timers armed, interrupts its threads every CPU_TICK_NS so
/// that running ones read their CPU time (a busy loop makes no syscalls).
struct CpuTick {
    me: Weak<CpuTick>,
    id: u64,
    tgid: i32,
    tree: Weak<Mutex<Tree>>,
    timers: Weak<ProcTimers>,
    svc: TimerHandle,
    seq: AtomicU64,
}

impl CpuTick {
    fn start(&self) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let me: Weak<dyn Expiry> = self.me.clone();
        self.svc.arm(self.id, mono_now() + CPU_TICK_NS, seq, me);
    }
}

impl Expiry for CpuTick {
    fn expire(&self, now: u64, seq: u64) {
        if seq != self.seq.load(Ordering::SeqCst) {
            return;
        }
        let armed = self
            .timers
            .upgrade()
            .is_some_and(|p| p.cpu_armed.load(Ordering::SeqCst));
        let Some(tree) = self.tree.upgrade() else {
            return;
        };
        if !armed {
            return;
        }
        {
            let tr = tasks::lock(&tree);
            let Some(g) = tr.groups.get(&self.tgid) else {
                return;
            };
            for tid in &g.threads {
                if let Some(e) = tr.tasks.get(tid)
                    && let Some(i) = lock(&e.shared.interrupter).as_ref()
                {
                    i.interrupt();
                }
            }
        }
        let me: Weak<dyn Expiry> = self.me.clone();
        self.svc.arm(self.id, now + CPU_TICK_NS, seq, me);
    }
}

// ---- hooks the task code calls ----

/// After every event a task handled: reads its CPU time when CPU timers are armed or
/// its periodic reading is due, and fires CPU timers.
pub fn after_event(t: &mut Task) {
    let armed = t.process.timers.cpu_armed.load(Ordering::Relaxed);
    if !armed && !cputime::sample_due() {
        return;
    }
    let (thread, total) = cputime::sample(t);
    if armed {
        t.process.timers.clone().check_cpu(t, thread, total);
    }
}

/// A thread ends (`last`: the last of its process): its CPU time is kept for the
/// process; with the process go its timers.
pub fn thread_exit(t: &mut Task, last: bool) {
    let pt = t.process.timers.clone();
    pt.cpu.note_rss(t.mm.resident() / 1024);
    pt.cpu.retire(
        t.tid,
        t.ctx.cpu_time_ns(),
        Some(crate::host::thread_context_switches()),
    );
    if last {
        pt.delete_all(false);
    }
}

/// The process execs (its other threads are gone; `t.ctx` is still the old context):
/// POSIX timers are deleted; interval timers and CPU times stay.
pub fn exec(t: &mut Task) {
    let pt = t.process.timers.clone();
    pt.cpu.note_rss(t.mm.resident() / 1024);
    pt.cpu.exec(t.tid, t.ctx.cpu_time_ns());
    pt.delete_all(true);
}

/// The rusage of a child `info` being reported by wait (its own and its children's);
/// when `reap`, it is added to the waiting process's children.
pub fn wait_usage(
    parent: &crate::process::ProcessInfo,
    child: &crate::process::ProcessInfo,
    reap: bool,
) -> Usage {
    let u = child.timers.cpu.usage_both();
    if reap {
        parent.timers.cpu.add_child(&u);
    }
    u
}

/// A `struct timespec` of a timer value in ns (EINVAL unless normalized and >= 0).
fn parse_timespec(b: &[u8]) -> Result<u64, Errno> {
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let nsec = i64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
    if sec < 0 || !(0..NSEC as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(ts_to_ns(sec, nsec))
}

/// A `struct itimerspec` as (interval, value) in ns.
pub fn parse_itimerspec(b: &[u8; 32]) -> Result<(u64, u64), Errno> {
    Ok((parse_timespec(&b[..16])?, parse_timespec(&b[16..])?))
}

pub fn timespec_bytes(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&((ns / NSEC) as i64).to_le_bytes());
    b[8..].copy_from_slice(&((ns % NSEC) as i64).to_le_bytes());
    b
}

/// `struct itimerspec` {interval, value} from application memory.
pub fn read_itimerspec(t: &Task, addr: u64) -> Result<(u64, u64), Errno> {
    let mut b = [0u8; 32];
    t.mm.copy_in(addr, &mut b)?;
    parse_itimerspec(&b)
}

pub fn write_itimerspec(t: &Task, addr: u64, interval: u64, value: u64) -> Result<(), Errno> {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(&timespec_bytes(interval));
    b[16..].copy_from_slice(&timespec_bytes(value));
    t.mm.copy_out(addr, &b)
}

/// A CPU clock a task named: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID or a
/// clock id made by clock_getcpuclockid(3)/pthread_getcpuclockid(3) (negative:
/// `~pid << 3 | perthread << 2 | which`).
pub struct CpuClock {
    pub timers: Arc<ProcTimers>,
    pub pid: i32,
    pub thread: Option<i32>,
    /// CPUCLOCK_PROF (0), CPUCLOCK_VIRT (1) or CPUCLOCK_SCHED (2).
    pub which: i32,
}

impl CpuClock {
    /// The clock's value (read afresh when it is the calling task's own time).
    pub fn now(&self, t: &Task) -> u64 {
        if self.pid == t.tgid {
            let (thread, total) = cputime::sample(t);
            return match self.thread {
                None => total,
                Some(tid) if tid == t.tid => thread,
                Some(tid) => self.timers.cpu.thread(tid).unwrap_or(0),
            };
        }
        match self.thread {
            None => self.timers.cpu.process(),
            Some(tid) => self.timers.cpu.thread(tid).unwrap_or(0),
        }
    }

    /// clock_getres(2): 1 ns for the scheduler clock, a tick for the others.
    pub fn resolution(&self) -> u64 {
        if self.which == 2 { 1 } else { tick_ns() }
    }
}

/// The CPU clock `clock` names, or None when it is not a CPU clock. A thread clock must
/// be of a thread of the caller's process; a process clock of a process, or (for
/// clock_gettime, `gettime`) of the caller's own thread (Linux's pid_for_clock).
pub fn cpu_clock(t: &Task, clock: i32, gettime: bool) -> Result<Option<CpuClock>, Errno> {
    let (pid, perthread, which) = match clock {
        libc::CLOCK_PROCESS_CPUTIME_ID => (0, false, 2),
        libc::CLOCK_THREAD_CPUTIME_ID => (0, true, 2),
        c if c < 0 => {
            // CLOCKFD (dynamic clocks of devices) is not offered.
            if c & 7 == 3 {
                return Err(Errno::EINVAL);
            }
            (!(c >> 3), c & 4 != 0, c & 3)
        }
        _ => return Ok(None),
    };
    if which == 3 {
        return Err(Errno::EINVAL);
    }
    let tree = t.tree();
    if perthread {
        let tid = if pid == 0 { t.tid } else { pid };
        match tree.tasks.get(&tid) {
            Some(e) if e.tgid == t.tgid => Ok(Some(CpuClock {
                timers: t.process.timers.clone(),
                pid: t.tgid,
                thread: Some(tid),
                which,
            })),
            _ => Err(Errno::EINVAL),
        }
    } else {
        let tgid = if pid == 0 || (gettime && pid == t.tid) {
            t.tgid
        } else {
            pid
        };
        let g = tree.groups.get(&tgid).ok_or(Errno::EINVAL)?;
        Ok(Some(CpuClock {
            timers: g.info.timers.clone(),
            pid: tgid,
            thread: None,
            which,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_counts_periods() {
        let mut s = Schedule::new(Some(100), 10);
        assert_eq!(s.expire(99), 0);
        assert_eq!(s.expire(100), 1);
        assert_eq!(s.next, Some(110));
        assert_eq!(s.expire(135), 3);
        assert_eq!(s.next, Some(140));
        assert_eq!(s.remaining(135), 5);
        let mut one = Schedule::new(Some(5), 0);
        assert_eq!(one.expire(50), 1);
        assert_eq!(one.next, None);
        assert_eq!(one.expire(60), 0);
        assert_eq!(Schedule::new(None, 7).interval, 0);
        assert_eq!(
            Schedule::new(Some(10), 1).wake_at(10),
            Some(10 + MIN_REARM_NS)
        );
    }
}
