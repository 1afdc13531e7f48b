//! eventfd(2), eventfd2(2), signalfd(2), signalfd4(2): files that make a counter or the
//! caller's pending signals readable (`vfs::eventfd`, `vfs::signalfd`).

use crate::task::Task;
use crate::vfs::anon::AnonInode;
use crate::vfs::eventfd::{EFD_SEMAPHORE, EventFd};
use crate::vfs::file::{FileDescription, O_NONBLOCK, O_RDWR};
use crate::vfs::inode::FileOps;
use crate::vfs::signalfd::SignalFd;
use std::sync::Arc;
use syscalls_table::Errno;

const O_CLOEXEC: u32 = libc::O_CLOEXEC as u32;

fn install(t: &Task, ops: Arc<dyn FileOps>, flags: u32, name: &[u8]) -> Result<u64, Errno> {
    let inode = AnonInode::new(t.creds.uid, t.creds.gid);
    let file = FileDescription::anonymous(ops, inode, O_RDWR | (flags & O_NONBLOCK), name.to_vec());
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, flags & O_CLOEXEC != 0, lim)
}

fn do_eventfd(t: &Task, count: u32, flags: u32) -> Result<u64, Errno> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = EventFd::new(u64::from(count), flags & EFD_SEMAPHORE != 0);
    install(t, ops, flags, b"anon_inode:[eventfd]")
}

/// eventfd(2).
pub fn eventfd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_eventfd(t, a[0] as u32, 0)
}

/// eventfd2(2).
pub fn eventfd2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_eventfd(t, a[0] as u32, a[1] as u32)
}

/// signalfd4(2): a new signalfd (`ufd` -1) or a new mask for an existing one (EINVAL
/// if `ufd` is another kind of file).
fn do_signalfd4(t: &Task, ufd: i32, umask: u64, size: u64, flags: u32) -> Result<u64, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    t.mm.copy_in(umask, &mut b)?;
    let mask = u64::from_le_bytes(b);
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if ufd == -1 {
        let ops = SignalFd::new(&t.k.tree, mask);
        return install(t, ops, flags, b"anon_inode:[signalfd]");
    }
    let f = t.fds().get(ufd as i64 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let sfd = f
        .ops
        .as_any()
        .and_then(|a| a.downcast_ref::<SignalFd>())
        .ok_or(Errno::EINVAL)?;
    sfd.set_mask(mask);
    Ok(ufd as u64)
}

/// signalfd(2).
pub fn signalfd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_signalfd4(t, a[0] as i32, a[1], a[2], 0)
}

/// signalfd4(2).
pub fn signalfd4(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_signalfd4(t, a[0] as i32, a[1], a[2], a[3] as u32)
}
