//! Host-FD files: the stdio descriptors the sandbox was given (DESIGN.md §5). Reads,
//! writes and terminal ioctls pass through; `fstat` reports the host's type.

use super::inode::*;
use crate::host::{self, Seg};
use std::any::Any;
use std::sync::Arc;
use syscalls_table::Errno;

/// A host descriptor owned by the sentry (a duplicate of one the sandbox was given).
pub struct HostFd {
    fd: i32,
    /// A terminal: a read waits for input where a signal can end the wait.
    tty: bool,
}

/// How often a read of a host terminal with no input yet looks at it again: the sentry
/// gets no notification from the host for host files yet (as `sys_poll`'s re-check).
const TTY_RECHECK: std::time::Duration = std::time::Duration::from_millis(10);

impl HostFd {
    /// Takes a duplicate of the sentry's `fd` (≥ 100, close-on-exec).
    pub fn dup_of(fd: i32) -> Option<Arc<HostFd>> {
        host::dup_cloexec(fd, 100).ok().map(|fd| {
            Arc::new(HostFd {
                fd,
                tty: host::isatty(fd),
            })
        })
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }
}

impl Drop for HostFd {
    fn drop(&mut self) {
        host::close(self.fd);
    }
}

fn le64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or_default())
}

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or_default())
}

/// Decodes the host's x86-64 `struct stat`.
pub fn stat_from_host(b: &[u8; 144]) -> Stat {
    let ts = |off| Timespec {
        sec: le64(b, off) as i64,
        nsec: le64(b, off + 8) as i64,
    };
    Stat {
        dev: le64(b, 0),
        ino: le64(b, 8),
        nlink: le64(b, 16),
        mode: le32(b, 24),
        uid: le32(b, 28),
        gid: le32(b, 32),
        rdev: le64(b, 40),
        size: le64(b, 48),
        blksize: le64(b, 56),
        blocks: le64(b, 64),
        atime: ts(72),
        mtime: ts(88),
        ctime: ts(104),
    }
}

impl Inode for HostFd {
    /// The host's, except that a terminal has the identity of its /dev/pts node.
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = host::fstat(self.fd).map(|b| stat_from_host(&b))?;
        if self.tty
            && let Some((dev, ino, rdev)) = crate::tty::identity(st.rdev)
        {
            (st.dev, st.ino, st.rdev) = (dev, ino, rdev);
        }
        Ok(st)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    /// Opening the host file again (through /proc/self/fd or /dev/stdout) shares the host
    /// descriptor, and so its offset; the access asked for must be one the descriptor
    /// has, so no access is gained that the sandbox was not given.
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        let have = host::fcntl(self.fd, libc::F_GETFL, 0)? as u32 & 3;
        let ok = match flags & 3 {
            0 => have != 1,
            1 => have != 0,
            _ => have == 2,
        };
        if !ok {
            return Err(Errno::EACCES);
        }
        Ok(self)
    }
}

impl FileOps for HostFd {
    /// A blocking read of a terminal waits for input in the sentry, so that a signal
    /// (^C typed on that very terminal) ends it as it ends Linux's n_tty_read
    /// (ERESTARTSYS); the host read then finds the input there.
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        if self.tty && host::segs_len(segs) > 0 {
            let fl = host::fcntl(self.fd, libc::F_GETFL, 0)? as i32;
            if fl & libc::O_NONBLOCK == 0 && fl & libc::O_ACCMODE != libc::O_WRONLY {
                let ready = (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) as u32;
                loop {
                    if host::poll_now(self.fd, libc::POLLIN) & ready != 0 {
                        break;
                    }
                    let step = std::time::Instant::now() + TTY_RECHECK;
                    if let Err(crate::wait::WaitError::Interrupted) =
                        crate::wait::wait_until(&[], Some(step), || None::<()>)
                    {
                        return Err(Errno::ERESTARTSYS);
                    }
                }
            }
        }
        host::readv(self.fd, segs, off.map(|o| o as i64)).map(|n| n as usize)
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        host::writev(self.fd, segs, off.map(|o| o as i64)).map(|n| n as usize)
    }

    /// Offsets of host files are the host's own (shared with whoever else has the file).
    fn seekable(&self) -> bool {
        false
    }

    fn size(&self) -> Result<u64, Errno> {
        self.stat().map(|s| s.size)
    }

    fn ioctl(&self, req: u64) -> Option<IoctlResult> {
        Some(match req {
            // TCGETS: struct termios, 36 bytes.
            0x5401 => match host::ioctl_out::<64>(self.fd, req) {
                Ok(b) => IoctlResult::Out(b[..36].to_vec()),
                Err(e) => IoctlResult::Err(e),
            },
            // TIOCGWINSZ: struct winsize, 8 bytes.
            0x5413 => match host::ioctl_out::<8>(self.fd, req) {
                Ok(b) => IoctlResult::Out(b.to_vec()),
                Err(e) => IoctlResult::Err(e),
            },
            _ => return None,
        })
    }

    fn host_fd(&self) -> Option<i32> {
        Some(self.fd)
    }

    /// The host's readiness, now. The sentry has no notification from the host yet, so
    /// `wait_queue` stays None and poll/select/epoll re-check host files every few
    /// milliseconds while they wait (see `syscalls::sys_poll`).
    fn poll(&self) -> u32 {
        let all = libc::POLLIN
            | libc::POLLPRI
            | libc::POLLOUT
            | libc::POLLRDNORM
            | libc::POLLWRNORM
            | libc::POLLRDBAND
            | libc::POLLWRBAND
            | libc::POLLRDHUP;
        crate::host::poll_now(self.fd, all)
    }
}
