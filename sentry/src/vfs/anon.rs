//! Anonymous inodes (Linux's anon_inode): the inode behind files that have no name in any
//! filesystem — pidfds, eventfds, epoll, timerfd, signalfd. Mode 0600, owned by the
//! creator, on the anonymous device; /proc/PID/fd shows them as `anon_inode:[kind]`.

use super::inode::*;
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use syscalls_table::Errno;

/// The device anonymous inodes show (anon_inodefs).
const ANON_DEV: u64 = 0x0f;

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

pub struct AnonInode {
    ino: u64,
    uid: u32,
    gid: u32,
    ctime: Timespec,
}

impl AnonInode {
    pub fn new(uid: u32, gid: u32) -> Arc<AnonInode> {
        Arc::new(AnonInode {
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            uid,
            gid,
            ctime: Timespec::now(),
        })
    }
}

impl Inode for AnonInode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: ANON_DEV,
            ino: self.ino,
            mode: 0o600,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: self.ctime,
            mtime: self.ctime,
            ctime: self.ctime,
        })
    }

    /// Opening one again through /proc/PID/fd is refused, as Linux does.
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
