//! The timer service: one host thread per sandbox that sleeps until the earliest armed
//! deadline and tells that timer it expired. Timers keep their own state; the service
//! only holds, per timer id, a deadline on the monotonic clock, the sequence number of
//! the arming and a weak reference to the timer (a dropped timer simply never fires).
//! The thread starts with the first arming and is joined by `shutdown` when the sandbox
//! ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// The monotonic clock, in nanoseconds (CLOCK_MONOTONIC: the clock deadlines use).
pub fn mono_now() -> u64 {
    crate::host::clock_gettime(libc::CLOCK_MONOTONIC).map_or(0, |ts| {
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64)
    })
}

/// What the service calls when a deadline passes. `seq` is the sequence number the
/// timer was armed with: a timer re-armed or disarmed since ignores a stale call. Runs on the
/// service thread with no service lock held; it may arm timers again.
pub trait Expiry: Send + Sync {
    fn expire(&self, now: u64, seq: u64);
}

struct Entry {
    seq: u64,
    target: Weak<dyn Expiry>,
}

#[derive(Default)]
struct State {
    by_time: BTreeMap<(u64, u64), Entry>,
    by_id: HashMap<u64, u64>,
    next_id: u64,
    started: bool,
    shutdown: bool,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    cv: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A handle timers keep to arm themselves again.
#[derive(Clone, Default)]
pub struct TimerHandle(Arc<Inner>);

impl TimerHandle {
    /// A new timer id.
    pub fn new_id(&self) -> u64 {
        let mut s = self.0.lock();
        s.next_id += 1;
        s.next_id
    }

    /// Arms timer `id` for `deadline` (monotonic ns), replacing its previous deadline.
    /// Does nothing once the service has shut down.
    pub fn arm(&self, id: u64, deadline: u64, seq: u64, target: Weak<dyn Expiry>) {
        let mut s = self.0.lock();
        if s.shutdown {
            return;
        }
        if let Some(old) = s.by_id.insert(id, deadline) {
            s.by_time.remove(&(old, id));
        }
        s.by_time.insert((deadline, id), Entry { seq, target });
        let earliest = s.by_time.first_key_value().is_some_and(|(k, _)| k.1 == id);
        if !s.started {
            s.started = true;
            drop(s);
            self.spawn();
        } else if earliest {
            self.0.cv.notify_all();
        }
    }

    /// Disarms timer `id`.
    pub fn cancel(&self, id: u64) {
        let mut s = self.0.lock();
        if let Some(old) = s.by_id.remove(&id) {
            s.by_time.remove(&(old, id));
        }
    }

    fn spawn(&self) {
        let inner = self.0.clone();
        let spawned = std::thread::Builder::new()
            .name("timers".into())
            .spawn(move || run(&inner));
        match spawned {
            Ok(h) => *self.0.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(h),
            Err(e) => crate::log::warn(&format!("the timer thread cannot start: {e}")),
        }
    }
}

/// The service of one sandbox (owned by the kernel): stops its thread when dropped.
#[derive(Default)]
pub struct TimerService {
    handle: TimerHandle,
}

impl TimerService {
    pub fn handle(&self) -> &TimerHandle {
        &self.handle
    }

    /// Stops the thread (armed timers never fire after this) and waits for it.
    pub fn shutdown(&self) {
        let inner = &self.handle.0;
        {
            let mut s = inner.lock();
            s.shutdown = true;
            s.by_time.clear();
            s.by_id.clear();
        }
        inner.cv.notify_all();
        let t = inner
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = t
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

impl Drop for TimerService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(inner: &Inner) {
    let mut s = inner.lock();
    while !s.shutdown {
        let now = mono_now();
        let Some((&(deadline, id), _)) = s.by_time.first_key_value() else {
            s = inner.cv.wait(s).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        if deadline > now {
            s = inner
                .cv
                .wait_timeout(s, Duration::from_nanos(deadline - now))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            continue;
        }
        let e = s.by_time.remove(&(deadline, id));
        s.by_id.remove(&id);
        drop(s);
        if let Some(e) = e
            && let Some(t) = e.target.upgrade()
        {
            t.expire(now, e.seq);
        }
        s = inner.lock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Count {
        n: AtomicU64,
        seq: AtomicU64,
    }

    impl Expiry for Count {
        fn expire(&self, _now: u64, seq: u64) {
            if seq == self.seq.load(Ordering::SeqCst) {
                self.n.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn fires_in_order_and_ignores_stale_armings() {
        let svc = TimerService::default();
        let c = Arc::new(Count {
            n: AtomicU64::new(0),
            seq: AtomicU64::new(1),
        });
        let w: Weak<dyn Expiry> = Arc::downgrade(&c) as Weak<dyn Expiry>;
        let h = svc.handle();
        let id = h.new_id();
        h.arm(id, mono_now() + 5_000_000, 0, w.clone());
        // Re-armed with sequence number 1: the first arming is replaced.
        h.arm(id, mono_now() + 10_000_000, 1, w.clone());
        let other = h.new_id();
        h.arm(other, mono_now() + 1_000_000, 7, w);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.n.load(Ordering::SeqCst), 1);
        svc.shutdown();
    }

    #[test]
    fn cancel_and_shutdown() {
        let svc = TimerService::default();
        let c = Arc::new(Count {
            n: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        });
        let h = svc.handle().clone();
        let id = h.new_id();
        h.arm(
            id,
            mono_now() + 2_000_000,
            0,
            Arc::downgrade(&c) as Weak<dyn Expiry>,
        );
        h.cancel(id);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.n.load(Ordering::SeqCst), 0);
        drop(svc);
        // After shutdown arming does nothing.
        h.arm(id, 0, 0, Arc::downgrade(&c) as Weak<dyn Expiry>);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.n.load(Ordering::SeqCst), 0);
    }
}
