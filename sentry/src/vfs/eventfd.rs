//! eventfd (eventfd(2)): a 64-bit counter that write(2) of exactly 8 bytes adds to and
//! read(2) of at least 8 takes (all of it, or one with EFD_SEMAPHORE). Reads wait while it is zero, writes while the sum
//! would reach 2^64-1; both are interruptible and honour O_NONBLOCK (EAGAIN).

use super::file::O_NONBLOCK;
use super::inode::FileOps;
use crate::host::{self, Seg};
use crate::wait::{self, WaitQueue};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use syscalls_table::Errno;

pub const EFD_SEMAPHORE: u32 = 1;

/// A set of small ids handed out lowest-free first, as Linux's IDA.
#[derive(Default)]
struct Ids(BTreeSet<u32>);

impl Ids {
    fn take(&mut self) -> u32 {
        // The lowest number not in the set: the first gap in the sorted ids.
        let id = self
            .0
            .iter()
            .enumerate()
            .find(|&(i, &v)| i as u32 != v)
            .map_or(self.0.len() as u32, |(i, _)| i as u32);
        self.0.insert(id);
        id
    }

    fn give_back(&mut self, id: u32) {
        self.0.remove(&id);
    }
}

/// The ids of the eventfds that exist (/proc/PID/fdinfo's `eventfd-id`): as Linux's
/// eventfd_ida, each new one takes the lowest free id from 0 and gives it back when the
/// eventfd is gone. One sentry process runs one sandbox, so these are the sandbox's.
static IDS: Mutex<Ids> = Mutex::new(Ids(BTreeSet::new()));

fn ids() -> std::sync::MutexGuard<'static, Ids> {
    IDS.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    wq: Arc<WaitQueue>,
    id: u32,
}

impl Drop for EventFd {
    fn drop(&mut self) {
        ids().give_back(self.id);
    }
}

impl EventFd {
    pub fn new(initval: u64, semaphore: bool) -> Arc<EventFd> {
        Arc::new(EventFd {
            count: Mutex::new(initval),
            semaphore,
            wq: Default::default(),
            id: ids().take(),
        })
    }

    /// The id /proc/PID/fdinfo shows.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether it was made with EFD_SEMAPHORE.
    pub fn semaphore(&self) -> bool {
        self.semaphore
    }

    /// read(2): the counter (or 1 with EFD_SEMAPHORE) as 8 bytes; EINVAL for a smaller
    /// buffer.
    fn do_read(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        if host::segs_len(segs) < 8 {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while *c == 0 {
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            c = wait::wait_guard(&self.wq, &self.count, c, None).map_err(|e| e.restartsys())?;
        }
        let v = if self.semaphore { 1 } else { *c };
        *c -= v;
        drop(c);
        self.wq.notify_events(libc::POLLOUT as u32);
        host::copy_to_segs(segs, &v.to_ne_bytes());
        Ok(8)
    }

    /// write(2): adds the 8-byte value; EINVAL for any other size or for 2^64-1.
    fn do_write(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        let mut b = [0u8; 8];
        if host::segs_len(segs) != 8 || host::copy_from_segs(segs, &mut b) < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_ne_bytes(b);
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        let mut c = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while u64::MAX - *c <= v {
            if flags & O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            c = wait::wait_guard(&self.wq, &self.count, c, None).map_err(|e| e.restartsys())?;
        }
        *c += v;
        drop(c);
        self.wq.notify_events(libc::POLLIN as u32);
        Ok(8)
    }

    /// The counter (for /proc/PID/fdinfo and tests).
    pub fn count(&self) -> u64 {
        *self.count.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileOps for EventFd {
    fn read(&self, segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        self.do_read(segs, 0)
    }

    fn write(&self, segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        self.do_write(segs, 0)
    }

    fn read_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        self.do_read(segs, flags)
    }

    fn write_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        self.do_write(segs, flags)
    }

    fn seekable(&self) -> bool {
        false
    }

    /// eventfd_poll: POLLIN while nonzero, POLLOUT while a write of 1 would not block,
    /// POLLERR at the (unreachable by write) maximum.
    fn poll(&self) -> u32 {
        let c = self.count();
        let mut ev = 0;
        if c > 0 {
            ev |= libc::POLLIN as u32;
        }
        if c == u64::MAX {
            ev |= libc::POLLERR as u32;
        }
        if u64::MAX - 1 > c {
            ev |= libc::POLLOUT as u32;
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_lowest_free_first() {
        let mut ids = super::Ids::default();
        assert_eq!((ids.take(), ids.take(), ids.take()), (0, 1, 2));
        ids.give_back(1);
        assert_eq!(ids.take(), 1);
        ids.give_back(0);
        ids.give_back(2);
        assert_eq!((ids.take(), ids.take(), ids.take()), (0, 2, 3));
    }

    use super::*;

    fn rw(buf: &mut [u8]) -> Vec<Seg> {
        vec![host::seg_of(buf)]
    }

    #[test]
    fn counter_and_semaphore() {
        let e = EventFd::new(3, true);
        let mut b = [0u8; 8];
        assert_eq!(e.read_flags(&rw(&mut b), None, O_NONBLOCK), Ok(8));
        assert_eq!(u64::from_ne_bytes(b), 1);
        assert_eq!(e.count(), 2);
        let mut small = [0u8; 4];
        assert_eq!(e.read(&rw(&mut small), None), Err(Errno::EINVAL));
        let mut m = u64::MAX.to_ne_bytes();
        assert_eq!(e.write(&rw(&mut m), None), Err(Errno::EINVAL));
        let mut big = (u64::MAX - 2).to_ne_bytes();
        assert_eq!(
            e.write_flags(&rw(&mut big), None, O_NONBLOCK),
            Err(Errno::EAGAIN)
        );
        let e = EventFd::new(0, false);
        assert_eq!(
            e.read_flags(&rw(&mut b), None, O_NONBLOCK),
            Err(Errno::EAGAIN)
        );
        assert_eq!(e.poll() & libc::POLLIN as u32, 0);
    }
}
