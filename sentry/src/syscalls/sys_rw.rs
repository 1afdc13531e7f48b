//! read(2), write(2), readv(2), writev(2), pread64(2), pwrite64(2), preadv(2),
//! pwritev(2), preadv2(2), pwritev2(2), lseek(2). Data moves between files and
//! application memory through memory-file segments (no intermediate copy for host files).

use crate::host::Seg;
use crate::task::Task;
use crate::vfs::file::{FileDescription, O_APPEND, O_NOATIME, O_NONBLOCK};
use crate::vfs::inode::{S_IFDIR, S_IFREG};
use std::sync::Arc;
use syscalls_table::Errno;

/// Linux's MAX_RW_COUNT: one call moves at most this many bytes.
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// UIO_MAXIOV.
const UIO_MAXIOV: u64 = 1024;

/// Translates application ranges into memory-file segments: the accessible prefix, or
/// EFAULT when not even the first byte is accessible (and bytes were asked for).
pub(crate) fn segments(t: &Task, ranges: &[(u64, u64)], write: bool) -> Result<Vec<Seg>, Errno> {
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

pub(crate) fn read_iovecs(t: &Task, iov: u64, cnt: u64) -> Result<Vec<(u64, u64)>, Errno> {
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
        total = total
            .checked_add(len)
            .filter(|&v| v <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        out.push((base, len));
    }
    Ok(out)
}

fn is_dir(f: &FileDescription) -> bool {
    f.inode.stat().is_ok_and(|s| s.mode & 0o170000 == S_IFDIR)
}

pub(crate) fn do_read(
    t: &mut Task,
    fd: u64,
    ranges: &[(u64, u64)],
    off: Option<i64>,
) -> Result<u64, Errno> {
    let f = t.fds().get(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if is_dir(&f) {
        return Err(Errno::EISDIR);
    }
    if off.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    if off.is_some() && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let segs = segments(t, ranges, true)?;
    let n = match off {
        Some(o) => f.ops.read(&segs, Some(o as u64))?,
        None if f.ops.seekable() => {
            let mut pos = f.offset.lock().unwrap_or_else(|e| e.into_inner());
            let n = f.ops.read(&segs, Some(*pos))?;
            *pos += n as u64;
            n
        }
        None => f.ops.read_flags(&segs, None, f.flags())?,
    };
    if crate::host::segs_len(&segs) > 0 && f.flags() & O_NOATIME == 0 {
        f.ops.accessed();
    }
    Ok(n as u64)
}

pub(crate) fn do_write(
    t: &mut Task,
    fd: u64,
    ranges: &[(u64, u64)],
    off: Option<i64>,
) -> Result<u64, Errno> {
    let f = t.fds().get(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if off.is_some_and(|o| o < 0) {
        return Err(Errno::EINVAL);
    }
    if off.is_some() && !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let segs = segments(t, ranges, false)?;
    let r = write_file(t, &f, &segs, off);
    // A datagram or seqpacket socket's EPIPE comes without the signal.
    if r == Err(Errno::EPIPE)
        && f.ops.as_socket().is_none_or(|s| s.epipe_signals())
        && crate::net::inet::of(&f).is_none_or(|i| i.ops.sock_type() == libc::SOCK_STREAM)
    {
        t.kernel_signal(libc::SIGPIPE);
    }
    if r == Err(Errno::EFBIG) {
        t.kernel_signal(libc::SIGXFSZ);
    }
    r.map(|n| n as u64)
}

fn write_file(
    t: &Task,
    f: &Arc<FileDescription>,
    segs: &[Seg],
    off: Option<i64>,
) -> Result<usize, Errno> {
    if let Some(s) = f.ops.as_socket() {
        return super::sys_socket::write_socket(t, f, s, segs);
    }
    let regular = f.inode.stat().is_ok_and(|s| s.mode & 0o170000 == S_IFREG);
    // RLIMIT_FSIZE: a write may not grow a regular file past the limit.
    let limit = t.rlimit(libc::RLIMIT_FSIZE as usize);
    let len = crate::host::segs_len(segs) as u64;
    let check = |pos: u64| -> Result<Vec<Seg>, Errno> {
        if !regular || limit == u64::MAX || pos.saturating_add(len) <= limit {
            return Ok(segs.to_vec());
        }
        if pos >= limit {
            return Err(Errno::EFBIG);
        }
        let mut keep = (limit - pos) as usize;
        let mut out = Vec::new();
        for s in segs {
            if keep == 0 {
                break;
            }
            let n = s.len.min(keep);
            out.push(Seg { ptr: s.ptr, len: n });
            keep -= n;
        }
        Ok(out)
    };
    // On Linux even pwrite appends on an O_APPEND file (a documented quirk).
    let off = match off {
        Some(_) if regular && f.flags() & O_APPEND != 0 => Some(f.ops.size()? as i64),
        o => o,
    };
    match off {
        Some(o) => f.ops.write(&check(o as u64)?, Some(o as u64)),
        None if f.ops.seekable() => {
            let mut pos = f.offset.lock().unwrap_or_else(|e| e.into_inner());
            if f.flags() & O_APPEND != 0 {
                *pos = f.ops.size()?;
            }
            let n = f.ops.write(&check(*pos)?, Some(*pos))?;
            *pos += n as u64;
            Ok(n)
        }
        None => f.ops.write_flags(segs, None, f.flags()),
    }
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
    t.fds().get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    do_read(t, a[0], &iov, None)
}

/// writev(2).
pub fn writev(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds().get(a[0])?;
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

/// preadv(2).
pub fn preadv(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds().get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    do_read(t, a[0], &iov, Some(a[3] as i64))
}

/// pwritev(2).
pub fn pwritev(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds().get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    do_write(t, a[0], &iov, Some(a[3] as i64))
}

const RWF_APPEND: u64 = 0x10;
/// RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND.
const RWF_SUPPORTED: u64 = 0x1f;

/// preadv2(2): offset −1 reads at (and advances) the file offset. RWF hints are accepted.
pub fn preadv2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[5] & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    t.fds().get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    let off = a[3] as i64;
    do_read(t, a[0], &iov, if off == -1 { None } else { Some(off) })
}

/// pwritev2(2): offset −1 writes at the file offset; RWF_APPEND writes at the end.
pub fn pwritev2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[5] & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let f = t.fds().get(a[0])?;
    let iov = read_iovecs(t, a[1], a[2])?;
    let off = a[3] as i64;
    if a[5] & RWF_APPEND != 0 && f.ops.seekable() {
        // Appending ignores the position given (and, for −1, moves the file offset).
        let end = f.ops.size()? as i64;
        let n = do_write(t, a[0], &iov, Some(end))?;
        if off == -1 {
            *f.offset.lock().unwrap_or_else(|e| e.into_inner()) = end as u64 + n;
        }
        return Ok(n);
    }
    do_write(t, a[0], &iov, if off == -1 { None } else { Some(off) })
}

/// lseek(2).
pub fn lseek(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const SEEK_SET: u64 = 0;
    const SEEK_CUR: u64 = 1;
    const SEEK_END: u64 = 2;
    const SEEK_DATA: u64 = 3;
    const SEEK_HOLE: u64 = 4;
    let f = t.fds().get(a[0])?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    if let Some(hfd) = f.ops.host_fd() {
        if a[2] > SEEK_HOLE {
            return Err(Errno::EINVAL);
        }
        return crate::host::lseek(hfd, a[1] as i64, a[2] as i32);
    }
    if !f.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if f.ops.seeks_to_zero() {
        *f.offset.lock().unwrap_or_else(|e| e.into_inner()) = 0;
        return Ok(0);
    }
    let off = a[1] as i64;
    let mut pos = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    let size = f.ops.size()? as i64;
    let new = match a[2] {
        SEEK_SET => Some(off),
        SEEK_CUR => (*pos as i64).checked_add(off),
        SEEK_END => size.checked_add(off),
        SEEK_DATA | SEEK_HOLE => {
            if off < 0 || off >= size {
                return Err(Errno::ENXIO);
            }
            match f.ops.seek_data_hole(off as u64, a[2] == SEEK_HOLE) {
                Some(r) => Some(r? as i64),
                None => Some(if a[2] == SEEK_HOLE { size } else { off }),
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    let new = new.filter(|&n| n >= 0).ok_or(Errno::EINVAL)?;
    if new == 0 {
        // Rewinding a directory takes a fresh snapshot of its entries.
        *f.dir_snapshot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
    *pos = new as u64;
    Ok(new as u64)
}

/// Copies up to `len` bytes from `inf` to `outf` through a bounce buffer. `in_pos` and
/// `out_pos` are explicit positions (updated), or None to use and advance the files'
/// own offsets. Returns bytes copied; an error after some bytes ends the copy early.
fn copy_between(
    t: &Task,
    inf: &Arc<FileDescription>,
    in_pos: &mut Option<u64>,
    outf: &Arc<FileDescription>,
    out_pos: &mut Option<u64>,
    len: u64,
    in_flags: u32,
) -> Result<u64, Errno> {
    let mut buf = vec![0u8; (len.min(1 << 16)) as usize];
    let mut done: u64 = 0;
    let len = len.min(MAX_RW_COUNT);
    while done < len {
        let want = ((len - done) as usize).min(buf.len());
        let seg = crate::host::seg_of(&mut buf[..want]);
        let got = match in_pos {
            Some(p) => inf.ops.read(&[seg], Some(*p)),
            None if inf.ops.seekable() => {
                let mut pos = inf.offset.lock().unwrap_or_else(|e| e.into_inner());
                let r = inf.ops.read(&[seg], Some(*pos));
                if let Ok(n) = r {
                    *pos += n as u64;
                }
                r
            }
            None => inf.ops.read_flags(&[seg], None, inf.flags() | in_flags),
        };
        let got = match got {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Some(p) = in_pos {
            *p += got as u64;
        }
        let seg = crate::host::seg_of(&mut buf[..got]);
        let wrote = match write_file(t, outf, &[seg], out_pos.map(|p| p as i64)) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Some(p) = out_pos {
            *p += wrote as u64;
        }
        done += wrote as u64;
        // A stream (a pipe) gives what it has: no second wait for more.
        if wrote < got || !inf.ops.seekable() {
            break;
        }
    }
    if len > 0 && inf.flags() & O_NOATIME == 0 {
        inf.ops.accessed();
    }
    Ok(done)
}

fn file_type(f: &FileDescription) -> u32 {
    f.inode.stat().map(|s| s.mode & 0o170000).unwrap_or(0)
}

/// The offset an `loff_t *` argument points to (None for a null pointer), unchecked.
fn read_raw_off(t: &Task, addr: u64) -> Result<Option<i64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut b = [0u8; 8];
    t.mm.copy_in(addr, &mut b)?;
    Ok(Some(i64::from_le_bytes(b)))
}

fn read_off(t: &Task, addr: u64) -> Result<Option<u64>, Errno> {
    match read_raw_off(t, addr)? {
        Some(v) if v < 0 => Err(Errno::EINVAL),
        v => Ok(v.map(|v| v as u64)),
    }
}

/// sendfile(2), checking in Linux's order: the offset pointer, the input, the output.
pub fn sendfile(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let raw = read_raw_off(t, a[2])?;
    let inf = t.fds().get(a[1] as u32 as u64)?;
    if !inf.readable() {
        return Err(Errno::EBADF);
    }
    if raw.is_some_and(|p| p < 0) {
        return Err(Errno::EINVAL);
    }
    let outf = t.fds().get(a[0] as u32 as u64)?;
    if !outf.writable() {
        return Err(Errno::EBADF);
    }
    if outf.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    if file_type(&inf) != S_IFREG {
        return Err(Errno::EINVAL);
    }
    let mut in_pos = raw.map(|p| p as u64);
    let mut out_pos = None;
    let r = copy_between(t, &inf, &mut in_pos, &outf, &mut out_pos, a[3], 0);
    if let (Some(p), true) = (in_pos, a[2] != 0) {
        t.mm.copy_out(a[2], &(p as i64).to_le_bytes())?;
    }
    r
}

/// copy_file_range(2), checking in Linux's order.
pub fn copy_file_range(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let inf = t.fds().get(a[0] as u32 as u64)?;
    let outf = t.fds().get(a[2] as u32 as u64)?;
    if inf.is_path_only() || outf.is_path_only() {
        return Err(Errno::EBADF);
    }
    let raw_in = read_raw_off(t, a[1])?;
    let raw_out = read_raw_off(t, a[3])?;
    if a[5] != 0 {
        return Err(Errno::EINVAL);
    }
    let (ti, to) = (file_type(&inf), file_type(&outf));
    if ti == S_IFDIR || to == S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if ti != S_IFREG || to != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if !inf.readable() || !outf.writable() || outf.flags() & O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let offset = |f: &FileDescription| *f.offset.lock().unwrap_or_else(|e| e.into_inner()) as i64;
    let ip = raw_in.unwrap_or_else(|| offset(&inf));
    let op = raw_out.unwrap_or_else(|| offset(&outf));
    let mut len = a[4];
    if (ip as u64).checked_add(len).is_none() || (op as u64).checked_add(len).is_none() {
        return Err(Errno::EOVERFLOW);
    }
    // The copy stops at the source's end; the rest of the checks use that length.
    let (sin, sout) = (inf.inode.stat()?, outf.inode.stat()?);
    let size_in = sin.size as i64;
    len = if ip >= size_in {
        0
    } else {
        len.min((size_in as u64).wrapping_sub(ip as u64))
    };
    // Overlapping ranges of the same file are refused.
    if (sin.dev, sin.ino) == (sout.dev, sout.ino)
        && (op as u64).wrapping_add(len) > ip as u64
        && (op as u64) < (ip as u64).wrapping_add(len)
    {
        return Err(Errno::EINVAL);
    }
    if ip < 0 || op < 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let mut in_pos = raw_in.map(|p| p as u64);
    let mut out_pos = raw_out.map(|p| p as u64);
    let r = copy_between(t, &inf, &mut in_pos, &outf, &mut out_pos, len, 0);
    if let (Some(p), true) = (in_pos, a[1] != 0) {
        t.mm.copy_out(a[1], &(p as i64).to_le_bytes())?;
    }
    if let (Some(p), true) = (out_pos, a[3] != 0) {
        t.mm.copy_out(a[3], &(p as i64).to_le_bytes())?;
    }
    r
}

/// splice(2): one end must be a pipe (the sandbox's own or a host stdio pipe); the data
/// moves through a bounce buffer.
pub fn splice(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let inf = t.fds().get(a[0] as u32 as u64)?;
    let outf = t.fds().get(a[2] as u32 as u64)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    if a[5] & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    let (ti, to) = (file_type(&inf), file_type(&outf));
    if ti != S_IFIFO && to != S_IFIFO {
        return Err(Errno::EINVAL);
    }
    if (ti == S_IFIFO && a[1] != 0) || (to == S_IFIFO && a[3] != 0) {
        return Err(Errno::ESPIPE);
    }
    let mut in_pos = read_off(t, a[1])?;
    let mut out_pos = read_off(t, a[3])?;
    // SPLICE_F_NONBLOCK: the pipe end does not wait.
    let nb = if a[5] & 2 != 0 { O_NONBLOCK } else { 0 };
    let r = copy_between(t, &inf, &mut in_pos, &outf, &mut out_pos, a[4], nb);
    if let (Some(p), true) = (in_pos, a[1] != 0) {
        t.mm.copy_out(a[1], &(p as i64).to_le_bytes())?;
    }
    if let (Some(p), true) = (out_pos, a[3] != 0) {
        t.mm.copy_out(a[3], &(p as i64).to_le_bytes())?;
    }
    r
}

const S_IFIFO: u32 = 0o010000;

/// vmsplice(2): user memory into a pipe (its write end) or out of it (its read end). The
/// sentry copies (SPLICE_F_GIFT and SPLICE_F_MOVE are hints Linux may ignore too);
/// SPLICE_F_NONBLOCK makes this call non-blocking.
pub fn vmsplice(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const SPLICE_F_NONBLOCK: u64 = 2;
    const KNOWN: u64 = 1 | 2 | 4 | 8;
    let (fd, iov, cnt, flags) = (a[0], a[1], a[2], a[3]);
    if flags & !KNOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let f = t.fds().get(fd)?;
    let Some(end) = f.ops.as_pipe() else {
        return Err(Errno::EBADF);
    };
    let ranges = read_iovecs(t, iov, cnt)?;
    let nonblock = if flags & SPLICE_F_NONBLOCK != 0 {
        crate::vfs::file::O_NONBLOCK
    } else {
        0
    };
    let status = f.flags() | nonblock;
    if f.writable() {
        let segs = segments(t, &ranges, false)?;
        let r = f.ops.write_flags(&segs, None, status);
        if r == Err(Errno::EPIPE) {
            t.kernel_signal(libc::SIGPIPE);
        }
        r.map(|n| n as u64)
    } else if f.readable() {
        let _ = end;
        let segs = segments(t, &ranges, true)?;
        f.ops.read_flags(&segs, None, status).map(|n| n as u64)
    } else {
        Err(Errno::EBADF)
    }
}
