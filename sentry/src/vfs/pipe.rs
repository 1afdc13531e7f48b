//! Pipes and fifos (pipe(7), fifo(7)): a bounded byte buffer with reader and writer
//! counts. Anonymous pipes come from pipe2(2); a fifo's pipe belongs to its tmpfs node and
//! is shared by everyone who opens it. Writes of at most PIPE_BUF bytes are atomic;
//! O_DIRECT makes a packet pipe (each write one packet, each read at most one packet).
//! Blocking waits on the pipe's wait queue (interruptible by signals), woken by the
//! other end.

use super::inode::*;
use crate::host::{self, Seg};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

pub const PIPE_BUF: usize = 4096;
const PAGE: usize = 4096;
/// Default capacity: 16 pages, as Linux.
pub const DEFAULT_CAPACITY: usize = 16 * PAGE;
/// /proc/sys/fs/pipe-max-size.
pub const MAX_CAPACITY: usize = 1 << 20;
/// The pipefs device number Linux shows for pipes (anonymous, 0:14 on this machine's
/// kernel family; any fixed anonymous device will do).
const PIPEFS_DEV: u64 = 0x0e;
/// FIONREAD.
const FIONREAD: u64 = 0x541b;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// One slot of the ring: at most a page of data, a packet or mergeable bytes.
struct Chunk {
    bytes: VecDeque<u8>,
    packet: bool,
}

struct State {
    /// The ring's slots, oldest first; at most `capacity / PAGE` of them.
    chunks: VecDeque<Chunk>,
    /// Bytes in all slots.
    len: usize,
    capacity: usize,
    readers: usize,
    writers: usize,
    /// Opens for reading/writing ever made (a fifo's blocking open waits for the count of
    /// the other side to change, not just to be non-zero).
    read_opens: u64,
    write_opens: u64,
}

pub struct Pipe {
    state: Mutex<State>,
    wq: Arc<crate::wait::WaitQueue>,
    ino: u64,
    uid: u32,
    gid: u32,
    ctime: Timespec,
}

impl Pipe {
    pub fn new(uid: u32, gid: u32) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                len: 0,
                capacity: DEFAULT_CAPACITY,
                readers: 0,
                writers: 0,
                read_opens: 0,
                write_opens: 0,
            }),
            wq: Default::default(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            uid,
            gid,
            ctime: Timespec::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until the other end does something; ERESTARTSYS when a signal (or the
    /// group's exit) interrupts.
    fn wait<'a>(&'a self, g: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>, Errno> {
        crate::wait::wait_guard(&self.wq, &self.state, g, None).map_err(|e| e.restartsys())
    }

    fn notify(&self) {
        self.wq.notify_all();
    }

    /// A wakeup about `events` only (new data: POLLIN; new room: POLLOUT), as Linux's
    /// pipes wake their readers' and writers' queues: epoll interests in other events
    /// ignore it.
    fn notify_events(&self, events: libc::c_short) {
        self.wq.notify_events(events as u16 as u32);
    }

    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// A new end of an anonymous pipe (pipe2).
    pub fn end(self: &Arc<Pipe>, read: bool, write: bool) -> Arc<PipeEnd> {
        let mut s = self.lock();
        if read {
            s.readers += 1;
            s.read_opens += 1;
        }
        if write {
            s.writers += 1;
            s.write_opens += 1;
        }
        drop(s);
        self.notify();
        Arc::new(PipeEnd {
            pipe: self.clone(),
            read,
            write,
        })
    }

    /// Opens a fifo with open(2) `flags`, as fifo(7): a reader waits for a writer and a
    /// writer for a reader unless O_NONBLOCK (then a writer without readers gets ENXIO);
    /// O_RDWR never waits.
    pub fn open_fifo(self: &Arc<Pipe>, flags: u32) -> Result<Arc<PipeEnd>, Errno> {
        let nonblock = flags & super::file::O_NONBLOCK != 0;
        match flags & 3 {
            0 => {
                let end = self.end(true, false);
                if !nonblock {
                    let mut s = self.lock();
                    let seen = s.write_opens;
                    while s.writers == 0 && s.write_opens == seen {
                        s = self.wait(s)?;
                    }
                }
                Ok(end)
            }
            1 => {
                if nonblock && self.lock().readers == 0 {
                    return Err(Errno::ENXIO);
                }
                let end = self.end(false, true);
                let mut s = self.lock();
                let seen = s.read_opens;
                while s.readers == 0 && s.read_opens == seen {
                    s = self.wait(s)?;
                }
                Ok(end)
            }
            2 => Ok(self.end(true, true)),
            _ => Err(Errno::EINVAL),
        }
    }

    /// F_GETPIPE_SZ.
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// F_SETPIPE_SZ: rounds up to a power-of-two number of pages; EBUSY if the data
    /// would not fit, EPERM past the maximum without privilege.
    pub fn set_capacity(&self, want: u64, privileged: bool) -> Result<usize, Errno> {
        if want > i32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let pages = (want as usize).div_ceil(PAGE).max(1).next_power_of_two();
        let size = pages * PAGE;
        if size > MAX_CAPACITY && !privileged {
            return Err(Errno::EPERM);
        }
        let mut s = self.lock();
        if s.chunks.len() > pages {
            return Err(Errno::EBUSY);
        }
        s.capacity = size;
        drop(s);
        self.notify();
        Ok(size)
    }

    fn stat(&self) -> Stat {
        Stat {
            dev: PIPEFS_DEV,
            ino: self.ino,
            nlink: 1,
            mode: S_IFIFO | 0o600,
            uid: self.uid,
            gid: self.gid,
            blksize: PAGE as u64,
            atime: self.ctime,
            mtime: self.ctime,
            ctime: self.ctime,
            ..Default::default()
        }
    }
}

/// One open end of a pipe: its FileOps. Dropping it (the last close of the description)
/// releases its side.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut s = self.pipe.lock();
        if self.read {
            s.readers -= 1;
        }
        if self.write {
            s.writers -= 1;
        }
        if s.readers == 0 && s.writers == 0 {
            // A fifo forgets its data when nobody has it open.
            s.chunks.clear();
            s.len = 0;
        }
        drop(s);
        self.pipe.notify();
    }
}

impl PipeEnd {
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }

    /// tee(2)'s source side: a copy of up to `max` buffered bytes, left in the pipe. Waits
    /// for data unless `nonblock` (EAGAIN); empty when there are no writers.
    pub fn peek(&self, max: usize, nonblock: bool) -> Result<Vec<u8>, Errno> {
        let mut s = self.pipe.lock();
        while s.len == 0 {
            if s.writers == 0 {
                return Ok(Vec::new());
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            s = self.pipe.wait(s)?;
        }
        let mut out = Vec::with_capacity(max.min(s.len));
        for c in &s.chunks {
            let n = c.bytes.len().min(max - out.len());
            out.extend(c.bytes.iter().take(n));
            if out.len() == max {
                break;
            }
        }
        Ok(out)
    }

    /// tee(2)'s destination side: write(2) with `flags`.
    pub fn write_some(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        self.do_write(segs, flags)
    }

    /// read(2) with the description's status flags. A packet ends the read, and what
    /// of it does not fit is discarded.
    fn do_read(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        let want = host::segs_len(segs);
        if want == 0 {
            return Ok(0);
        }
        let mut s = self.pipe.lock();
        loop {
            if s.len > 0 {
                break;
            }
            if s.writers == 0 {
                return Ok(0);
            }
            if flags & super::file::O_NONBLOCK != 0 {
                return Err(Errno::EAGAIN);
            }
            s = self.pipe.wait(s)?;
        }
        let was_full = s.chunks.len() >= s.capacity / PAGE;
        let mut out = Vec::with_capacity(want.min(s.len));
        while out.len() < want {
            let Some(c) = s.chunks.front_mut() else { break };
            let n = c.bytes.len().min(want - out.len());
            out.extend(c.bytes.drain(..n));
            let packet = c.packet;
            if packet {
                c.bytes.clear();
            }
            if c.bytes.is_empty() {
                s.chunks.pop_front();
            }
            if packet {
                break;
            }
        }
        s.len = s.chunks.iter().map(|c| c.bytes.len()).sum();
        drop(s);
        // Room for writers only when the pipe was full (pipe_read); blocked tasks wake
        // on any wakeup.
        self.pipe.notify_events(if was_full {
            libc::POLLOUT | libc::POLLWRNORM
        } else {
            0
        });
        Ok(host::copy_to_segs(segs, &out))
    }

    /// write(2) with the description's status flags: EPIPE without readers (the caller
    /// raises SIGPIPE). O_DIRECT writes packets.
    fn do_write(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        let len = host::segs_len(segs);
        if len == 0 {
            return Ok(0);
        }
        let mut src = Vec::new();
        src.try_reserve_exact(len).map_err(|_| Errno::ENOMEM)?;
        src.resize(len, 0);
        host::copy_from_segs(segs, &mut src);
        let nonblock = flags & super::file::O_NONBLOCK != 0;
        let packet = flags & super::file::O_DIRECT != 0;
        let mut s = self.pipe.lock();
        if s.readers == 0 {
            return Err(Errno::EPIPE);
        }
        // As Linux: the part past the last whole page goes into the newest slot if it
        // fits there entirely; every other page takes a slot of its own. So a write of at
        // most PIPE_BUF bytes is never split.
        let mut done = 0usize;
        let rem = len % PAGE;
        if !packet
            && rem != 0
            && let Some(c) = s.chunks.back_mut()
            && !c.packet
            && c.bytes.len() + rem <= PAGE
        {
            c.bytes.extend(&src[..rem]);
            s.len += rem;
            done = rem;
            self.pipe.notify_events(libc::POLLIN | libc::POLLRDNORM);
        }
        while done < len {
            if s.readers == 0 {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            if s.chunks.len() < s.capacity / PAGE {
                let k = PAGE.min(len - done);
                s.chunks.push_back(Chunk {
                    bytes: src[done..done + k].iter().copied().collect(),
                    packet,
                });
                s.len += k;
                done += k;
                self.pipe.notify_events(libc::POLLIN | libc::POLLRDNORM);
                continue;
            }
            if nonblock {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            s = match self.pipe.wait(s) {
                Ok(s) => s,
                // Interrupted after writing some: that much is the result.
                Err(_) if done > 0 => return Ok(done),
                Err(e) => return Err(e),
            };
        }
        Ok(done)
    }
}

impl Inode for Pipe {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Pipe::stat(self))
    }

    /// Opening a pipe again through /proc/PID/fd: as a fifo.
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(self.open_fifo(flags)?)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl FileOps for PipeEnd {
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

    fn poll(&self) -> u32 {
        let s = self.pipe.lock();
        let mut ev = 0;
        if self.read {
            if s.len > 0 {
                ev |= (libc::POLLIN | libc::POLLRDNORM) as u32;
            }
            if s.writers == 0 && s.write_opens > 0 {
                ev |= libc::POLLHUP as u32;
            }
        }
        if self.write {
            if s.chunks.len() < s.capacity / PAGE {
                ev |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
            }
            if s.readers == 0 {
                ev |= libc::POLLERR as u32;
            }
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<crate::wait::WaitQueue>> {
        Some(self.pipe.wq.clone())
    }

    fn ioctl(&self, req: u64) -> Option<IoctlResult> {
        (req == FIONREAD).then(|| {
            let n = self.pipe.lock().len;
            IoctlResult::Out((n as i32).to_le_bytes().to_vec())
        })
    }

    fn as_pipe(&self) -> Option<&PipeEnd> {
        Some(self)
    }
}
