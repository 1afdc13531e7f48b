//! Pipes: pipe(2), pipe2(2), tee(2). The pipe itself is `vfs::pipe`.

use crate::task::Task;
use crate::vfs::file::{FileDescription, O_DIRECT, O_NONBLOCK, O_RDONLY, O_WRONLY};
use crate::vfs::pipe::Pipe;
use std::sync::Arc;
use syscalls_table::Errno;

const O_CLOEXEC: u64 = 0o2000000;
/// O_NOTIFICATION_PIPE (watch queues: not supported, as a kernel without
/// CONFIG_WATCH_QUEUE).
const O_NOTIFICATION_PIPE: u64 = 0o200;

/// pipe(2).
pub fn pipe(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    pipe2(t, &[a[0], 0, 0, 0, 0, 0])
}

/// pipe2(2): O_CLOEXEC, O_NONBLOCK and O_DIRECT (packet mode).
pub fn pipe2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[1];
    if flags & !(O_CLOEXEC | O_NONBLOCK as u64 | O_DIRECT as u64 | O_NOTIFICATION_PIPE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_NOTIFICATION_PIPE != 0 {
        return Err(Errno::ENOPKG);
    }
    let status = (flags as u32) & (O_NONBLOCK | O_DIRECT);
    let creds = t.vcreds();
    let pipe = Pipe::new(creds.uid, creds.gid);
    let name = format!("pipe:[{}]", pipe.ino()).into_bytes();
    let r = FileDescription::anonymous(
        pipe.end(true, false),
        pipe.clone(),
        O_RDONLY | status,
        name.clone(),
    );
    let w = FileDescription::anonymous(pipe.end(false, true), pipe, O_WRONLY | status, name);
    let cloexec = flags & O_CLOEXEC != 0;
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    // Both descriptors or neither.
    let rfd = t.fds().install(r, 0, cloexec, lim)?;
    // (The table's lock must be released before the error path takes it again.)
    let installed = t.fds().install(w, 0, cloexec, lim);
    let wfd = match installed {
        Ok(fd) => fd,
        Err(e) => {
            let _ = t.fds().close(rfd);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(rfd as i32).to_le_bytes());
    out[4..].copy_from_slice(&(wfd as i32).to_le_bytes());
    if let Err(e) = t.mm.copy_out(a[0], &out) {
        let _ = t.fds().close(rfd);
        let _ = t.fds().close(wfd);
        return Err(e);
    }
    Ok(0)
}

/// tee(2): copies up to `len` bytes buffered in one pipe into another without consuming
/// them. Both ends must be pipes (EINVAL), and different ones.
pub fn tee(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const SPLICE_F_NONBLOCK: u64 = 2;
    let inf = t.fds().get(a[0] as u32 as u64)?;
    let outf = t.fds().get(a[1] as u32 as u64)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    if a[3] & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    let (Some(src), Some(dst)) = (inf.ops.as_pipe(), outf.ops.as_pipe()) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(src.pipe(), dst.pipe()) {
        return Err(Errno::EINVAL);
    }
    let nonblock = a[3] & SPLICE_F_NONBLOCK != 0;
    let mut data = src.peek(
        a[2].min(1 << 30) as usize,
        nonblock || inf.flags() & O_NONBLOCK != 0,
    )?;
    if data.is_empty() {
        return Ok(0);
    }
    let flags = outf.flags() | if nonblock { O_NONBLOCK } else { 0 };
    let seg = crate::host::seg_of(&mut data);
    dst.write_some(&[seg], flags).map(|n| n as u64)
}
