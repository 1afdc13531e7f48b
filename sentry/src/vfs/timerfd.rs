//! timerfd (timerfd_create(2)): a file whose timer counts expirations; read(2) returns
//! the count (8 bytes) and resets it, blocking while it is zero. Readable (POLLIN) while
//! the count is nonzero; the timer service notifies the file's wait queue on expiry.

use super::inode::FileOps;
use crate::host::Seg;
use crate::timers::service::{Expiry, TimerHandle, mono_now};
use crate::timers::{Schedule, abs_to_mono};
use crate::wait::{self, WaitQueue};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls_table::Errno;

pub struct TimerFd {
    me: Weak<TimerFd>,
    key: u64,
    pub clock: i32,
    svc: TimerHandle,
    st: Mutex<State>,
    wq: Arc<WaitQueue>,
}

#[derive(Default)]
struct State {
    seq: u64,
    /// On the monotonic clock.
    sched: Schedule,
    ticks: u64,
}

impl TimerFd {
    pub fn new(clock: i32, svc: &TimerHandle) -> Arc<TimerFd> {
        Arc::new_cyclic(|me| TimerFd {
            me: me.clone(),
            key: svc.new_id(),
            clock,
            svc: svc.clone(),
            st: Mutex::new(State::default()),
            wq: Arc::new(WaitQueue::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts what expired by now (the service may not have looked yet).
    fn catch_up(st: &mut State, now: u64) {
        st.ticks = st.ticks.saturating_add(st.sched.expire(now));
    }

    /// timerfd_settime(2): `value` ns (absolute on the file's clock with `abstime`; 0
    /// disarms), then every `interval` ns. Returns the old (time left, interval). The
    /// expiration count starts again at zero.
    pub fn set(&self, value: u64, interval: u64, abstime: bool) -> (u64, u64) {
        let now = mono_now();
        let mut st = self.lock();
        Self::catch_up(&mut st, now);
        let old = (st.sched.remaining(now), st.sched.interval);
        let next = match value {
            0 => None,
            v if abstime => Some(abs_to_mono(self.clock, v)),
            v => Some(now.saturating_add(v)),
        };
        st.seq += 1;
        st.ticks = 0;
        st.sched = Schedule::new(next, interval);
        match st.sched.next {
            Some(at) => {
                let me: Weak<dyn Expiry> = self.me.clone();
                self.svc.arm(self.key, at, st.seq, me);
            }
            None => self.svc.cancel(self.key),
        }
        old
    }

    /// timerfd_gettime(2): (time left, interval).
    pub fn get(&self) -> (u64, u64) {
        let now = mono_now();
        let mut st = self.lock();
        Self::catch_up(&mut st, now);
        (st.sched.remaining(now), st.sched.interval)
    }

    fn take_ticks(&self) -> Option<u64> {
        let mut st = self.lock();
        Self::catch_up(&mut st, mono_now());
        (st.ticks > 0).then(|| std::mem::take(&mut st.ticks))
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.svc.cancel(self.key);
    }
}

impl Expiry for TimerFd {
    fn expire(&self, now: u64, seq: u64) {
        let mut st = self.lock();
        if st.seq != seq {
            return;
        }
        Self::catch_up(&mut st, now);
        if let Some(at) = st.sched.wake_at(now) {
            let me: Weak<dyn Expiry> = self.me.clone();
            self.svc.arm(self.key, at, seq, me);
        }
        let ready = st.ticks > 0;
        drop(st);
        if ready {
            self.wq.notify_all();
        }
    }
}

impl FileOps for TimerFd {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.read_flags(segs, off, 0)
    }

    fn read_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        if crate::host::segs_len(segs) < 8 {
            return Err(Errno::EINVAL);
        }
        let ticks = match self.take_ticks() {
            Some(n) => n,
            None if flags & super::file::O_NONBLOCK != 0 => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&self.wq], None, || self.take_ticks())
                .map_err(|e| e.restartsys())?,
        };
        Ok(crate::host::copy_to_segs(segs, &ticks.to_le_bytes()))
    }

    fn write(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self) -> u32 {
        let mut st = self.lock();
        Self::catch_up(&mut st, mono_now());
        if st.ticks > 0 {
            (libc::POLLIN | libc::POLLRDNORM) as u32
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
