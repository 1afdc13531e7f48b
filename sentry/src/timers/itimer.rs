//! ITIMER_REAL, the timer behind alarm(2) and setitimer(2): SIGALRM to the process
//! (si_code SI_KERNEL, as Linux's it_real_fn sends it) when it expires, again every
//! interval. ITIMER_VIRTUAL and ITIMER_PROF count CPU time: see `ProcTimers`.

use super::service::{Expiry, TimerHandle, mono_now};
use super::{Schedule, send};
use crate::signals::{self, SigInfo};
use crate::tasks::{Tree, TreeRef};
use std::sync::{Arc, Mutex, Weak};

pub struct RealTimer {
    me: Weak<RealTimer>,
    id: u64,
    tgid: i32,
    tree: Weak<Mutex<Tree>>,
    svc: TimerHandle,
    st: Mutex<State>,
}

#[derive(Default)]
struct State {
    seq: u64,
    sched: Schedule,
}

impl RealTimer {
    pub fn new(tgid: i32, tree: &TreeRef, svc: &TimerHandle) -> Arc<RealTimer> {
        Arc::new_cyclic(|me| RealTimer {
            me: me.clone(),
            id: svc.new_id(),
            tgid,
            tree: Arc::downgrade(tree),
            svc: svc.clone(),
            st: Mutex::new(State::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms the timer `value` ns from now (0 disarms), then every `interval` ns.
    /// Returns the old (time left, interval).
    pub fn set(&self, value: u64, interval: u64) -> (u64, u64) {
        let now = mono_now();
        let mut st = self.lock();
        let old = Self::left(&st.sched, now);
        st.seq += 1;
        st.sched = Schedule::new((value > 0).then(|| now.saturating_add(value)), interval);
        match st.sched.next {
            Some(next) => {
                let me: Weak<dyn Expiry> = self.me.clone();
                self.svc.arm(self.id, next, st.seq, me);
            }
            None => self.svc.cancel(self.id),
        }
        old
    }

    /// (time left, interval).
    pub fn get(&self) -> (u64, u64) {
        Self::left(&self.lock().sched, mono_now())
    }

    /// What getitimer reports: an armed timer shows at least 1 µs
    /// (itimer_get_remtime).
    fn left(s: &Schedule, now: u64) -> (u64, u64) {
        match s.next {
            None => (0, 0),
            Some(_) => (s.remaining(now).max(1000), s.interval),
        }
    }
}

impl Expiry for RealTimer {
    fn expire(&self, now: u64, seq: u64) {
        let mut st = self.lock();
        if st.seq != seq {
            return;
        }
        let n = st.sched.expire(now);
        if let Some(at) = st.sched.wake_at(now) {
            let me: Weak<dyn Expiry> = self.me.clone();
            self.svc.arm(self.id, at, seq, me);
        }
        drop(st);
        if n > 0 {
            send(
                &self.tree,
                self.tgid,
                None,
                SigInfo::new(libc::SIGALRM, signals::SI_KERNEL),
            );
        }
    }
}
