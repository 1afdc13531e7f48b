//! POSIX timers (timer_create(2)): per-process timer ids, on a real-time clock (armed in
//! the timer service) or a CPU clock (checked when the clock's process reads its CPU
//! time). An expiry queues a signal with si_code SI_TIMER, si_timerid, si_overrun and
//! si_value; while that signal is still pending, further expirations only count as
//! overruns in it (Linux's one preallocated sigqueue per timer). timer_getoverrun(2)
//! gives the count of the last signal delivered.

use super::service::{Expiry, TimerHandle, mono_now};
use super::{ProcTimers, Schedule};
use crate::signals::{self, SigInfo};
use crate::tasks::{self, Tree};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// What a timer counts.
#[derive(Clone)]
pub enum TimerClock {
    /// A real-time clock (REALTIME, MONOTONIC, BOOTTIME, TAI): values are converted
    /// to the monotonic clock.
    Real(i32),
    /// The CPU time of process `pid` (`thread`: of that one thread).
    Cpu {
        pid: i32,
        thread: Option<i32>,
        target: Weak<ProcTimers>,
    },
}

/// How an expiry is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// SIGEV_NONE.
    None,
    /// SIGEV_SIGNAL (to the process) or SIGEV_THREAD_ID (to `thread`).
    Signal {
        signo: i32,
        value: u64,
        thread: Option<i32>,
    },
}

/// A process's timers by id. Ids count up from 0 and are not reused until they wrap.
#[derive(Default)]
pub struct Table {
    pub timers: BTreeMap<i32, Arc<PosixTimer>>,
    next_id: i32,
}

impl Table {
    pub fn alloc_id(&mut self) -> Option<i32> {
        for _ in 0..=self.timers.len() {
            let id = self.next_id;
            self.next_id = if id == i32::MAX { 0 } else { id + 1 };
            if !self.timers.contains_key(&id) {
                return Some(id);
            }
        }
        None
    }
}

pub struct PosixTimer {
    me: Weak<PosixTimer>,
    pub id: i32,
    key: u64,
    owner: i32,
    pub clock: TimerClock,
    notify: Notify,
    tree: Weak<Mutex<Tree>>,
    svc: TimerHandle,
    st: Mutex<State>,
}

#[derive(Default)]
struct State {
    seq: u64,
    sched: Schedule,
    /// Overruns counted into the signal queued now (or last queued).
    overrun: i32,
    /// si_overrun of the last signal delivered: what timer_getoverrun(2) returns.
    last_overrun: i32,
    /// A signal was queued and has not been seen delivered yet.
    queued: bool,
    deleted: bool,
}

impl PosixTimer {
    pub fn new(
        id: i32,
        owner: i32,
        clock: TimerClock,
        notify: Notify,
        tree: &tasks::TreeRef,
        svc: &TimerHandle,
    ) -> Arc<PosixTimer> {
        Arc::new_cyclic(|me| PosixTimer {
            me: me.clone(),
            id,
            key: svc.new_id(),
            owner,
            clock,
            notify,
            tree: Arc::downgrade(tree),
            svc: svc.clone(),
            st: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_mine(&self, i: &SigInfo) -> bool {
        matches!(self.notify, Notify::Signal { signo, .. } if i.signo() == signo)
            && i.code() == signals::SI_TIMER
            && i.timer_id() == self.id
    }

    fn thread(&self) -> Option<i32> {
        match self.notify {
            Notify::Signal { thread, .. } => thread,
            Notify::None => None,
        }
    }

    /// Notes that the queued signal was delivered if it is no longer pending.
    fn settle(&self, tree: &mut Tree, st: &mut State) {
        if st.queued
            && tree
                .queued_mut(self.owner, self.thread(), |i| self.is_mine(i))
                .is_none()
        {
            st.last_overrun = st.overrun;
            st.overrun = 0;
            st.queued = false;
        }
    }

    /// `n` expirations happened: queue the signal, or count overruns in the pending one.
    fn fire(&self, tree: &mut Tree, st: &mut State, n: u64) {
        let Notify::Signal {
            signo,
            value,
            thread,
        } = self.notify
        else {
            return;
        };
        let add = i32::try_from(n).unwrap_or(i32::MAX);
        if let Some(info) = tree.queued_mut(self.owner, thread, |i| self.is_mine(i)) {
            st.overrun = st.overrun.saturating_add(add);
            info.set_overrun(st.overrun);
            return;
        }
        self.settle(tree, st);
        st.overrun = add - 1;
        st.queued = true;
        tree.send(
            self.owner,
            thread,
            SigInfo::timer(signo, self.id, st.overrun, value),
        );
    }

    /// The current value of the timer's clock.
    pub fn clock_now(&self) -> u64 {
        match &self.clock {
            TimerClock::Real(_) => mono_now(),
            TimerClock::Cpu { thread, target, .. } => {
                let Some(p) = target.upgrade() else {
                    return 0;
                };
                match thread {
                    Some(tid) => p.cpu.thread(*tid).unwrap_or(0),
                    None => p.cpu.process(),
                }
            }
        }
    }

    /// timer_settime(2): `next` is the new expiry on the timer's clock (already
    /// converted to the monotonic clock for real-time clocks; None disarms), `now` the
    /// clock's value. Returns the old (time left, interval).
    pub fn set(&self, next: Option<u64>, interval: u64, now: u64) -> (u64, u64) {
        let tree = self.tree.upgrade();
        let mut tr = tree.as_ref().map(|t| tasks::lock(t));
        let mut st = self.lock();
        let old = Self::left(&st.sched, now);
        st.seq += 1;
        st.sched = Schedule::new(next, interval);
        // A signal still pending from the old setting is not delivered (Linux drops it
        // at dequeue); the overrun counts start again.
        if let Some(tr) = tr.as_mut() {
            tr.remove_queued(self.owner, self.thread(), |i| self.is_mine(i));
        }
        st.queued = false;
        st.overrun = 0;
        st.last_overrun = 0;
        drop(tr);
        if let TimerClock::Real(_) = self.clock {
            match st.sched.next {
                Some(at) if self.notify != Notify::None => {
                    let me: Weak<dyn Expiry> = self.me.clone();
                    self.svc.arm(self.key, at, st.seq, me);
                }
                _ => self.svc.cancel(self.key),
            }
        }
        old
    }

    /// timer_gettime(2): (time left, interval) as of clock value `now`.
    pub fn get(&self, now: u64) -> (u64, u64) {
        Self::left(&self.lock().sched, now)
    }

    /// A one-shot timer that has expired shows 0; a periodic one the time to its next
    /// period.
    fn left(s: &Schedule, now: u64) -> (u64, u64) {
        let mut s = *s;
        s.expire(now);
        (s.remaining(now), s.interval)
    }

    /// timer_getoverrun(2).
    pub fn overrun(&self) -> i32 {
        let Some(tree) = self.tree.upgrade() else {
            return self.lock().last_overrun;
        };
        let mut tr = tasks::lock(&tree);
        let mut st = self.lock();
        self.settle(&mut tr, &mut st);
        st.last_overrun
    }

    /// Whether it is armed (for CPU timers: whether its process must watch its clock).
    pub fn armed(&self) -> bool {
        let st = self.lock();
        !st.deleted && st.sched.next.is_some()
    }

    /// timer_delete(2), exec, exit: the timer stops; its pending signal goes.
    pub fn delete(&self) {
        let tree = self.tree.upgrade();
        let mut tr = tree.as_ref().map(|t| tasks::lock(t));
        let mut st = self.lock();
        st.deleted = true;
        st.seq += 1;
        st.sched = Schedule::default();
        if let Some(tr) = tr.as_mut() {
            tr.remove_queued(self.owner, self.thread(), |i| self.is_mine(i));
        }
        self.svc.cancel(self.key);
    }

    /// A CPU timer's process read its CPU time (`tid`'s thread time and the process
    /// total): fires the timer if it is due.
    pub fn cpu_check(&self, tid: i32, thread_ns: u64, total: u64) {
        let now = match self.clock {
            TimerClock::Cpu { thread: None, .. } => total,
            TimerClock::Cpu {
                thread: Some(t), ..
            } if t == tid => thread_ns,
            _ => return,
        };
        let Some(tree) = self.tree.upgrade() else {
            return;
        };
        let mut tr = tasks::lock(&tree);
        let mut st = self.lock();
        if st.deleted {
            return;
        }
        let n = st.sched.expire(now);
        if n > 0 {
            self.fire(&mut tr, &mut st, n);
        }
    }
}

impl Expiry for PosixTimer {
    fn expire(&self, now: u64, seq: u64) {
        let Some(tree) = self.tree.upgrade() else {
            return;
        };
        let mut tr = tasks::lock(&tree);
        let mut st = self.lock();
        if st.seq != seq || st.deleted {
            return;
        }
        let n = st.sched.expire(now);
        if n > 0 {
            self.fire(&mut tr, &mut st, n);
        }
        drop(tr);
        if let Some(at) = st.sched.wake_at(now) {
            let me: Weak<dyn Expiry> = self.me.clone();
            self.svc.arm(self.key, at, seq, me);
        }
    }
}
