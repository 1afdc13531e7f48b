//! The one blocking primitive of the sentry (DESIGN.md §5 "Blocking"). Every task has a
//! `Waiter` (an event count and a condition variable); objects that can make a task
//! ready (a pipe, a child's exit, a futex key, a timer) have `WaitQueue`s of waiters to
//! notify. A blocked task sleeps on its own waiter, so whatever wakes it — the object it
//! waits for, a signal, the exit of its thread group — only has to notify that waiter.
//!
//! The task a host thread runs is "current" for that thread (`set_current`), so code deep
//! in the VFS can block without being handed the task.
//!
//! A wakeup may say which poll events it is about (`notify_events`: POLLIN for new data,
//! POLLOUT for new room), as Linux's keyed wakeups do; tasks wake on any, while a waiter
//! made with `Waiter::with_func` (an epoll interest: Linux's wait-queue entry function)
//! sees the events and decides.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;
use syscalls_table::Errno;

/// The events of a wakeup that does not say what it is about: every waiter takes it.
pub const ALL_EVENTS: u32 = !0;

/// Called with the events of every wakeup of a `Waiter::with_func` waiter.
type WakeFn = Box<dyn Fn(u32) + Send + Sync>;

/// An event count a single task sleeps on.
#[derive(Default)]
pub struct Waiter {
    seq: Mutex<u64>,
    cv: Condvar,
    func: Option<WakeFn>,
}

impl Waiter {
    pub fn new() -> Arc<Waiter> {
        Arc::new(Waiter::default())
    }

    /// A waiter that nobody sleeps on: each wakeup calls `f` with its events (after the
    /// count changed). `f` runs in the waker's context, where the waker may hold its
    /// object's lock: it must only take locks of its own and never block.
    pub fn with_func(f: impl Fn(u32) + Send + Sync + 'static) -> Arc<Waiter> {
        Arc::new(Waiter {
            func: Some(Box::new(f)),
            ..Default::default()
        })
    }

    /// Wakes the task if it sleeps, or makes its next sleep return at once.
    pub fn notify(&self) {
        self.notify_events(ALL_EVENTS);
    }

    /// `notify` for a wakeup about `events`.
    pub fn notify_events(&self, events: u32) {
        {
            let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
            *s = s.wrapping_add(1);
            self.cv.notify_all();
        }
        if let Some(f) = &self.func {
            f(events);
        }
    }

    /// The current event count; a later `sleep(seen)` returns as soon as it changed.
    pub fn seq(&self) -> u64 {
        *self.seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until the count differs from `seen` or `deadline` passes.
    pub fn sleep(&self, seen: u64, deadline: Option<Instant>) {
        let mut s = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        if *s == seen {
            platform::thread_blocks();
        }
        while *s == seen {
            match deadline {
                None => s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return;
                    }
                    s = self
                        .cv
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// The waiters to notify when an object changes.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<Waiter>>>,
}

impl WaitQueue {
    pub fn notify_all(&self) {
        self.notify_events(ALL_EVENTS);
    }

    /// Wakes every waiter for a change about `events` (poll bits), the newest first as
    /// Linux's wait queues do (that order is what epoll's ready list shows). The waiters
    /// are notified after the queue's lock is released, so a waiter's function may
    /// register or unregister waiters of any queue.
    pub fn notify_events(&self, events: u32) {
        let ws: Vec<Arc<Waiter>> = {
            let ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if ws.is_empty() {
                return;
            }
            ws.clone()
        };
        for w in ws.iter().rev() {
            w.notify_events(events);
        }
    }

    /// Adds `w` until the returned registration is dropped.
    pub fn register(&self, w: &Arc<Waiter>) -> Registration<'_> {
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(w.clone());
        Registration {
            q: self,
            w: w.clone(),
        }
    }

    /// `register` for a registration that outlives the caller's borrow (an epoll
    /// interest stays on its file's queue until removed).
    pub fn register_owned(self: &Arc<Self>, w: &Arc<Waiter>) -> OwnedRegistration {
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(w.clone());
        OwnedRegistration {
            q: self.clone(),
            w: w.clone(),
        }
    }

    fn unregister(&self, w: &Arc<Waiter>) {
        let mut ws = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = ws.iter().position(|x| Arc::ptr_eq(x, w)) {
            ws.remove(i);
        }
    }
}

pub struct Registration<'a> {
    q: &'a WaitQueue,
    w: Arc<Waiter>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.q.unregister(&self.w);
    }
}

pub struct OwnedRegistration {
    q: Arc<WaitQueue>,
    w: Arc<Waiter>,
}

impl Drop for OwnedRegistration {
    fn drop(&mut self) {
        self.q.unregister(&self.w);
    }
}

/// What a blocking call needs from the task it blocks: its waiter and whether something
/// (a signal to handle, a stop, the exit of its group) must interrupt the wait.
pub trait Interruptible: Send + Sync {
    fn waiter(&self) -> &Arc<Waiter>;
    fn interrupted(&self) -> bool;
    /// The task starts or stops sleeping (what /proc shows as its state).
    fn sleeping(&self, _on: bool) {}
    /// The thread id of the task (None for threads that run none): files whose state is
    /// the caller's own, such as a signalfd's pending signals, need it.
    fn tid(&self) -> Option<i32> {
        None
    }
}

struct Standalone(Arc<Waiter>);

impl Interruptible for Standalone {
    fn waiter(&self) -> &Arc<Waiter> {
        &self.0
    }
    fn interrupted(&self) -> bool {
        false
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Interruptible>>> = const { RefCell::new(None) };
}

/// Makes `t` the task this host thread runs (None: none, e.g. after it exited).
pub fn set_current(t: Option<Arc<dyn Interruptible>>) {
    CURRENT.with(|c| *c.borrow_mut() = t);
}

/// The current task, or a waiter of this host thread's own that nothing interrupts
/// (threads that run no task: tests, the gofer client).
pub fn current() -> Arc<dyn Interruptible> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        c.get_or_insert_with(|| Arc::new(Standalone(Waiter::new())))
            .clone()
    })
}

/// Why a wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// A signal or the group's exit: the syscall returns a restart code or EINTR.
    Interrupted,
    TimedOut,
}

impl WaitError {
    /// The errno for a syscall that is restarted after a handler with SA_RESTART (or when
    /// no handler runs) and fails with ETIMEDOUT on time-out.
    pub fn restartsys(self) -> Errno {
        match self {
            WaitError::Interrupted => Errno::ERESTARTSYS,
            WaitError::TimedOut => Errno::ETIMEDOUT,
        }
    }
}

/// Sleeps on `q` while holding nothing: releases `g`, sleeps until notified, the
/// deadline or an interruption, then takes the lock again. The caller re-checks its
/// condition in a loop. The current task's waiter is registered before `g` is released,
/// so a change made under the lock after this call started is never missed.
pub fn wait_guard<'a, T>(
    q: &WaitQueue,
    m: &'a Mutex<T>,
    g: MutexGuard<'a, T>,
    deadline: Option<Instant>,
) -> Result<MutexGuard<'a, T>, WaitError> {
    let cur = current();
    if cur.interrupted() {
        return Err(WaitError::Interrupted);
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(WaitError::TimedOut);
    }
    let w = cur.waiter().clone();
    let reg = q.register(&w);
    let seen = w.seq();
    drop(g);
    if !cur.interrupted() {
        cur.sleeping(true);
        w.sleep(seen, deadline);
        cur.sleeping(false);
    }
    drop(reg);
    Ok(m.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Blocks the current task until `done()`, re-checking whenever one of `queues` is
/// notified or the task is woken; signals do not end this wait (callers check for what
/// must end it — their group's exit — inside `done`). Linux's killable or uninterruptible
/// waits: vfork's parent, exec's wait for the other threads, an address space's creator.
pub fn wait_uninterruptible(queues: &[&WaitQueue], mut done: impl FnMut() -> bool) {
    let cur = current();
    let w = cur.waiter().clone();
    let _regs: Vec<Registration<'_>> = queues.iter().map(|q| q.register(&w)).collect();
    loop {
        let seen = w.seq();
        if done() {
            return;
        }
        w.sleep(seen, None);
    }
}

/// Blocks the current task until `ready` gives a value, re-checking it whenever one of
/// `queues` is notified. The queues are registered before the first check.
pub fn wait_until<T>(
    queues: &[&WaitQueue],
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> Option<T>,
) -> Result<T, WaitError> {
    let cur = current();
    let w = cur.waiter().clone();
    let _regs: Vec<Registration<'_>> = queues.iter().map(|q| q.register(&w)).collect();
    loop {
        let seen = w.seq();
        if let Some(v) = ready() {
            return Ok(v);
        }
        if cur.interrupted() {
            return Err(WaitError::Interrupted);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(WaitError::TimedOut);
        }
        cur.sleeping(true);
        w.sleep(seen, deadline);
        cur.sleeping(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn notify_wakes_a_waiter_on_the_queue() {
        let q = Arc::new(WaitQueue::default());
        let flag = Arc::new(Mutex::new(false));
        let (q2, f2) = (q.clone(), flag.clone());
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            *f2.lock().unwrap() = true;
            q2.notify_all();
        });
        let r = wait_until(&[&q], None, || flag.lock().unwrap().then_some(7));
        assert_eq!(r, Ok(7));
        h.join().unwrap();
    }

    #[test]
    fn keyed_wakeups_reach_functions_and_tasks() {
        let q = Arc::new(WaitQueue::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let f = Waiter::with_func(move |ev| s2.lock().unwrap().push(ev));
        let task = Waiter::new();
        let reg = q.register_owned(&f);
        let _r = q.register(&task);
        let before = task.seq();
        q.notify_events(1);
        q.notify_all();
        assert_eq!(*seen.lock().unwrap(), vec![1, ALL_EVENTS]);
        assert_ne!(task.seq(), before);
        drop(reg);
        q.notify_events(4);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[test]
    fn deadline_times_out() {
        let q = WaitQueue::default();
        let d = Instant::now() + Duration::from_millis(10);
        assert_eq!(
            wait_until(&[&q], Some(d), || None::<()>),
            Err(WaitError::TimedOut)
        );
        assert!(q.waiters.lock().unwrap().is_empty());
    }
}
