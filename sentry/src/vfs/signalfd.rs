//! signalfd (signalfd(2)): reading takes pending signals of its mask from the reading
//! thread (its own pending set, then its process's) as `struct signalfd_siginfo`, so
//! they are consumed and never delivered. Whose signals is always the caller's: the
//! thread that reads or polls, as in Linux. The tree notifies `Tree::signal_wq` on every
//! queued signal, which wakes readers and pollers.

use super::file::O_NONBLOCK;
use super::inode::FileOps;
use crate::host::{self, Seg};
use crate::signals::{SI_KERNEL, SI_USER, SigInfo};
use crate::tasks::Tree;
use crate::wait::{self, WaitQueue};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use syscalls_table::Errno;

/// sizeof(struct signalfd_siginfo).
pub const SIGINFO_SIZE: usize = 128;

pub struct SignalFd {
    /// The signals it reads (never SIGKILL or SIGSTOP).
    mask: AtomicU64,
    tree: Weak<Mutex<Tree>>,
    wq: Arc<WaitQueue>,
}

impl SignalFd {
    pub fn new(tree: &Arc<Mutex<Tree>>, mask: u64) -> Arc<SignalFd> {
        let wq = crate::tasks::lock(tree).signal_wq.clone();
        Arc::new(SignalFd {
            mask: AtomicU64::new(mask & !crate::signals::UNBLOCKABLE),
            tree: Arc::downgrade(tree),
            wq,
        })
    }

    /// signalfd(fd, mask) on an existing signalfd: a new mask; pollers look again.
    pub fn set_mask(&self, mask: u64) {
        self.mask
            .store(mask & !crate::signals::UNBLOCKABLE, Ordering::SeqCst);
        self.wq.notify_all();
    }

    fn take(&self, tid: i32) -> Option<SigInfo> {
        let tree = self.tree.upgrade()?;
        let mask = self.mask.load(Ordering::SeqCst);
        crate::tasks::lock(&tree).take_from_set(tid, mask)
    }

    /// read(2): as many whole records as fit, waiting (interruptibly) for the first one
    /// unless O_NONBLOCK.
    fn do_read(&self, segs: &[Seg], flags: u32) -> Result<usize, Errno> {
        let room = host::segs_len(segs) / SIGINFO_SIZE;
        if room == 0 {
            return Err(Errno::EINVAL);
        }
        let tid = wait::current().tid().ok_or(Errno::EAGAIN)?;
        let first = match self.take(tid) {
            Some(i) => i,
            None if flags & O_NONBLOCK != 0 => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&self.wq], None, || self.take(tid))
                .map_err(|e| e.restartsys())?,
        };
        let mut out = Vec::with_capacity(SIGINFO_SIZE);
        out.extend_from_slice(&to_signalfd_siginfo(&first));
        while out.len() / SIGINFO_SIZE < room {
            let Some(i) = self.take(tid) else { break };
            out.extend_from_slice(&to_signalfd_siginfo(&i));
        }
        Ok(host::copy_to_segs(segs, &out))
    }
}

impl FileOps for SignalFd {
    fn read(&self, segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        self.do_read(segs, 0)
    }

    fn write(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn read_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        self.do_read(segs, flags)
    }

    fn seekable(&self) -> bool {
        false
    }

    /// signalfd_poll: POLLIN while a signal of the mask is pending for the calling thread
    /// or its process.
    fn poll(&self) -> u32 {
        let (Some(tree), Some(tid)) = (self.tree.upgrade(), wait::current().tid()) else {
            return 0;
        };
        let pending = crate::tasks::lock(&tree).pending_set(tid);
        if pending & self.mask.load(Ordering::SeqCst) != 0 {
            libc::POLLIN as u32
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

/// Which union member of a siginfo is meaningful (Linux's siginfo_layout).
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    Chld,
    Rt,
    Sys,
}

fn layout(signo: i32, code: i32) -> Layout {
    const SI_TIMER: i32 = -2;
    const SI_SIGIO: i32 = -5;
    const NSIGPOLL: i32 = 6;
    if code > SI_USER && code < SI_KERNEL {
        let (limit, l) = match signo {
            libc::SIGILL => (11, Layout::Fault),
            libc::SIGFPE => (15, Layout::Fault),
            libc::SIGSEGV => (10, Layout::Fault),
            libc::SIGBUS => (5, Layout::Fault),
            libc::SIGTRAP => (6, Layout::Fault),
            libc::SIGCHLD => (6, Layout::Chld),
            libc::SIGPOLL => (NSIGPOLL, Layout::Poll),
            libc::SIGSYS => (2, Layout::Sys),
            _ => (0, Layout::Kill),
        };
        if code <= limit {
            l
        } else if code <= NSIGPOLL {
            Layout::Poll
        } else {
            Layout::Kill
        }
    } else if code == SI_TIMER {
        Layout::Timer
    } else if code == SI_SIGIO {
        Layout::Poll
    } else if code < 0 {
        Layout::Rt
    } else {
        Layout::Kill
    }
}

/// `struct signalfd_siginfo` for a siginfo (signalfd_copyinfo): the fields of its layout.
pub fn to_signalfd_siginfo(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let s = &info.0;
    let mut o = [0u8; SIGINFO_SIZE];
    let mut copy =
        |to: usize, from: usize, len: usize| o[to..to + len].copy_from_slice(&s[from..from + len]);
    // ssi_signo, ssi_errno, ssi_code.
    copy(0, 0, 4);
    copy(4, 4, 4);
    copy(8, 8, 4);
    match layout(info.signo(), info.code()) {
        Layout::Kill => {
            copy(12, 16, 4); // ssi_pid
            copy(16, 20, 4); // ssi_uid
        }
        Layout::Timer => {
            copy(24, 16, 4); // ssi_tid
            copy(32, 20, 4); // ssi_overrun
            copy(48, 24, 8); // ssi_ptr
            copy(44, 24, 4); // ssi_int
        }
        Layout::Poll => {
            copy(28, 16, 4); // ssi_band (truncated to 32 bits, as Linux)
            copy(20, 24, 4); // ssi_fd
        }
        Layout::Fault => {
            copy(72, 16, 8); // ssi_addr
        }
        Layout::Chld => {
            copy(12, 16, 4); // ssi_pid
            copy(16, 20, 4); // ssi_uid
            copy(40, 24, 4); // ssi_status
            copy(56, 32, 8); // ssi_utime
            copy(64, 40, 8); // ssi_stime
        }
        Layout::Rt => {
            copy(12, 16, 4); // ssi_pid
            copy(16, 20, 4); // ssi_uid
            copy(48, 24, 8); // ssi_ptr
            copy(44, 24, 4); // ssi_int
        }
        Layout::Sys => {
            copy(88, 16, 8); // ssi_call_addr
            copy(84, 24, 4); // ssi_syscall
            copy(96, 28, 4); // ssi_arch
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_and_queue_layouts() {
        let i = SigInfo::from_process(libc::SIGUSR1, SI_USER, 42, 1000);
        let o = to_signalfd_siginfo(&i);
        assert_eq!(u32::from_ne_bytes(o[0..4].try_into().unwrap()), 10);
        assert_eq!(u32::from_ne_bytes(o[12..16].try_into().unwrap()), 42);
        assert_eq!(u32::from_ne_bytes(o[16..20].try_into().unwrap()), 1000);
        let mut q = SigInfo::from_process(libc::SIGUSR2, -1, 7, 0);
        q.0[24..28].copy_from_slice(&99i32.to_ne_bytes());
        let o = to_signalfd_siginfo(&q);
        assert_eq!(i32::from_ne_bytes(o[44..48].try_into().unwrap()), 99);
        assert_eq!(i32::from_ne_bytes(o[8..12].try_into().unwrap()), -1);
    }
}
