//! read(2), write(2), readv(2), writev(2), pread64(2), pwrite64(2). Data moves between the
//! host file and application memory directly (the memory file is mapped in the sentry),
//! with no intermediate copy.

use crate::host::{self, Seg};
use crate::task::{SIG_DFL, Task};
use syscalls_table::Errno;

/// Linux's MAX_RW_COUNT: one call moves at most this many bytes.
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// UIO_MAXIOV.
const UIO_MAXIOV: u64 = 1024;

/// Translates application ranges into memory-file segments: the accessible prefix, or
/// EFAULT when not even the first byte is accessible (and bytes were asked for).
fn segments(t: &Task, ranges: &[(u64, u64)], write: bool) -> Result<Vec<Seg>, Errno> {
    let mut segs = Vec::new();
    let mut left = MAX_RW_COUNT;
    for &(base, len) in ranges {
        let len = len.min(left);
        if len == 0 {
            continue;
        }
        let got = t.mm.segments(base, len as usize, write);
        let n: usize = got.iter().map(|s| s.len).sum();
        segs.extend(got);
        left -= n as u64;
        if (n as u64) < len {
            if segs.is_empty() {
                return Err(Errno::EFAULT);
            }
            break;
        }
    }
    Ok(segs)
}

fn read_iovecs(t: &Task, iov: u64, cnt: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if cnt > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; cnt as usize * 16];
    t.mm.copy_in(iov, &mut raw)?;
    let mut total: u64 = 0;
    let mut out = Vec::with_capacity(cnt as usize);
    for c in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(c[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(c[8..].try_into().unwrap_or_default());
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total
            .checked_add(len)
            .filter(|&v| v <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        out.push((base, len));
    }
    Ok(out)
}

fn do_read(t: &mut Task, fd: u64, ranges: &[(u64, u64)], off: Option<i64>) -> Result<u64, Errno> {
    let file = t.fds.get(fd)?;
    if off.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let segs = segments(t, ranges, true)?;
    host::readv(file.fd(), &segs, off)
}

fn do_write(t: &mut Task, fd: u64, ranges: &[(u64, u64)], off: Option<i64>) -> Result<u64, Errno> {
    let file = t.fds.get(fd)?;
    if off.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    let segs = segments(t, ranges, false)?;
    let r = host::writev(file.fd(), &segs, off);
    if r == Err(Errno::EPIPE) && t.sig.actions[libc::SIGPIPE as usize - 1].handler == SIG_DFL {
        t.force_signal(libc::SIGPIPE);
    }
    r
}

/// read(2).
pub fn read(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_read(t, a[0], &[(a[1], a[2])], None)
}

/// write(2).
pub fn write(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_write(t, a[0], &[(a[1], a[2])], None)
}

/// readv(2).
pub fn readv(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds.get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    do_read(t, a[0], &iov, None)
}

/// writev(2).
pub fn writev(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds.get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    do_write(t, a[0], &iov, None)
}

/// pread64(2).
pub fn pread64(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_read(t, a[0], &[(a[1], a[2])], Some(a[3] as i64))
}

/// pwrite64(2).
pub fn pwrite64(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_write(t, a[0], &[(a[1], a[2])], Some(a[3] as i64))
}
