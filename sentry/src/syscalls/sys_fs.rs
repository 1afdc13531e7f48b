//! Syscalls on open file descriptors: close(2), close_range(2), dup(2)/dup2/dup3,
//! fcntl(2), fstat(2), ioctl(2), getdents64(2), ftruncate(2), fchmod(2), fchdir(2),
//! fsync(2)/fdatasync/sync/syncfs, fstatfs(2), umask(2).

use super::write_u32;
use crate::host;
use crate::task::Task;
use crate::vfs::file::FileDescription;
use crate::vfs::inode::{IoctlResult, S_IFDIR, S_IFMT, S_IFREG, SetAttr};
use crate::vfs::{MAY_EXEC, permitted};
use std::sync::Arc;
use syscalls_table::Errno;

fn nofile(t: &Task) -> u64 {
    t.rlimit(libc::RLIMIT_NOFILE as usize)
}

/// close(2).
pub fn close(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let fd = a[0] as u32 as u64;
    let f = t.fds().get(fd)?;
    super::sys_lock::release_posix(t.tgid, &f);
    t.fds().close(fd).map(|_| 0)
}

/// close_range(2).
pub fn close_range(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const UNSHARE: u64 = 2;
    const CLOEXEC: u64 = 4;
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2]);
    if flags & !(UNSHARE | CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    t.fds().close_range(first, last, flags & CLOEXEC != 0);
    Ok(0)
}

/// dup(2).
pub fn dup(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let lim = nofile(t);
    let mut fds = t.fds();
    let f = fds.get(a[0] as u32 as u64)?;
    fds.install(f, 0, false, lim)
}

/// dup2(2).
pub fn dup2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let lim = nofile(t);
    let (old, new) = (a[0] as u32 as u64, a[1] as u32 as u64);
    let mut fds = t.fds();
    let f = fds.get(old)?;
    if old == new {
        return Ok(new);
    }
    fds.install_at(f, new, false, lim).map(|_| new)
}

/// dup3(2).
pub fn dup3(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (old, new) = (a[0] as u32 as u64, a[1] as u32 as u64);
    if a[2] & !(libc::O_CLOEXEC as u64) != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let lim = nofile(t);
    let mut fds = t.fds();
    let f = fds.get(old)?;
    fds.install_at(f, new, a[2] != 0, lim).map(|_| new)
}

/// fcntl(2): descriptor flags, status flags and duplication.
pub fn fcntl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let fd = a[0] as u32 as u64;
    let lim = nofile(t);
    let f = t.fds().get(fd)?;
    let cmd = a[1] as i32;
    // An O_PATH descriptor allows only duplication and the flag queries.
    if f.is_path_only()
        && !matches!(
            cmd,
            libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_GETFD | libc::F_SETFD | libc::F_GETFL
        )
    {
        return Err(Errno::EBADF);
    }
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            if a[2] >= lim || a[2] > i32::MAX as u64 {
                return Err(Errno::EINVAL);
            }
            t.fds()
                .install(f, a[2], a[1] as i32 == libc::F_DUPFD_CLOEXEC, lim)
        }
        libc::F_GETFD => Ok(t.fds().cloexec(fd)? as u64),
        libc::F_SETFD => t
            .fds()
            .set_cloexec(fd, a[2] & libc::FD_CLOEXEC as u64 != 0)
            .map(|_| 0),
        libc::F_GETFL => match f.ops.host_fd() {
            Some(h) => host::fcntl(h, libc::F_GETFL, 0),
            None => Ok(f.flags() as u64),
        },
        libc::F_SETFL => match f.ops.host_fd() {
            Some(h) => {
                let settable = (libc::O_APPEND
                    | libc::O_NONBLOCK
                    | libc::O_ASYNC
                    | libc::O_DIRECT
                    | libc::O_NOATIME) as u64;
                let cur = host::fcntl(h, libc::F_GETFL, 0)?;
                host::fcntl(h, libc::F_SETFL, (cur & !settable) | (a[2] & settable)).map(|_| 0)
            }
            None => {
                f.set_status_flags(a[2] as u32);
                Ok(0)
            }
        },
        F_ADD_SEALS => {
            // Linux checks the access mode, then the seal bits, then the file.
            if !f.writable() {
                return Err(Errno::EPERM);
            }
            if a[2] & !0x3f != 0 {
                return Err(Errno::EINVAL);
            }
            shmem_file(&f)?.add_seals(a[2] as u32).map(|_| 0)
        }
        F_GET_SEALS => Ok(shmem_file(&f)?.seals() as u64),
        // Leases cannot be taken (F_SETLEASE is unsupported), so there is none.
        libc::F_GETLEASE => Ok(libc::F_UNLCK as u64),
        F_GETLK | F_SETLK | F_SETLKW | F_OFD_GETLK | F_OFD_SETLK | F_OFD_SETLKW => {
            super::sys_lock::fcntl_lock(t, &f, cmd, a[2])
        }
        F_GETPIPE_SZ => match f.ops.as_pipe() {
            Some(p) => Ok(p.pipe().capacity() as u64),
            None => Err(Errno::EBADF),
        },
        F_SETPIPE_SZ => match f.ops.as_pipe() {
            // Past /proc/sys/fs/pipe-max-size needs CAP_SYS_RESOURCE.
            Some(p) => p
                .pipe()
                .set_capacity(a[2] as u32 as u64, t.capable(crate::caps::CAP_SYS_RESOURCE))
                .map(|n| n as u64),
            None => Err(Errno::EBADF),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// The tmpfs inode of a regular tmpfs (shmem) file, the only kind that has seals.
fn shmem_file(f: &FileDescription) -> Result<Arc<crate::vfs::tmpfs::TmpfsInode>, Errno> {
    if f.inode.stat()?.file_type() != S_IFREG {
        return Err(Errno::EINVAL);
    }
    f.inode
        .clone()
        .into_any()
        .downcast::<crate::vfs::tmpfs::TmpfsInode>()
        .map_err(|_| Errno::EINVAL)
}

const F_GETLK: i32 = 5;
const F_SETLK: i32 = 6;
const F_SETLKW: i32 = 7;
const F_OFD_GETLK: i32 = 36;
const F_OFD_SETLK: i32 = 37;
const F_OFD_SETLKW: i32 = 38;
const F_SETPIPE_SZ: i32 = 1031;
const F_GETPIPE_SZ: i32 = 1032;
const F_ADD_SEALS: i32 = 1033;
const F_GET_SEALS: i32 = 1034;

/// fstat(2).
pub fn fstat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    let st = f.inode.stat()?;
    t.mm.copy_out(a[1], &st.to_stat_bytes()).map(|_| 0)
}

/// ioctl(2): FIOCLEX, FIONCLEX, FIONBIO, FIONREAD and the file's own (terminal) ioctls.
pub fn ioctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const FIONREAD: u64 = 0x541b;
    const FIONBIO: u64 = 0x5421;
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    let fd = a[0] as u32 as u64;
    let f = t.fds().get(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    match a[1] as u32 as u64 {
        FIOCLEX => return t.fds().set_cloexec(fd, true).map(|_| 0),
        FIONCLEX => return t.fds().set_cloexec(fd, false).map(|_| 0),
        FIONBIO => {
            let mut b = [0u8; 4];
            t.mm.copy_in(a[2], &mut b)?;
            let on = u32::from_le_bytes(b) != 0;
            let fl = f.flags();
            let nb = libc::O_NONBLOCK as u32;
            if let Some(h) = f.ops.host_fd() {
                let cur = host::fcntl(h, libc::F_GETFL, 0)?;
                let new = if on {
                    cur | nb as u64
                } else {
                    cur & !(nb as u64)
                };
                host::fcntl(h, libc::F_SETFL, new)?;
            } else {
                f.set_status_flags(if on { fl | nb } else { fl & !nb });
            }
            return Ok(0);
        }
        _ => {}
    }
    if let Some(h) = f.ops.host_fd()
        && let Some(r) = host_tty_ioctl(t, h, a)
    {
        return r;
    }
    match f.ops.ioctl(a[1]) {
        Some(IoctlResult::Out(b)) => t.mm.copy_out(a[2], &b).map(|_| 0),
        Some(IoctlResult::Err(e)) => Err(e),
        None => {
            let st = f.inode.stat()?;
            if a[1] == FIONREAD && st.mode & S_IFMT == S_IFREG {
                let pos = *f.offset.lock().unwrap_or_else(|e| e.into_inner());
                // Linux stores size - offset truncated to an int: negative past EOF.
                let n = st.size.wrapping_sub(pos) as u32;
                return write_u32(t, a[2], n).map(|_| 0);
            }
            Err(Errno::ENOTTY)
        }
    }
}

/// tty_ioctl(4) on a host terminal (a console's pty slave under `--console-socket`, the
/// caller's terminal under `runsc do`), or None when `h` is not one or the request is
/// another (the file's own `ioctl` answers then). Termios and the window size are the
/// host terminal's; the controlling terminal and the foreground process group are kept
/// by the sandbox (`crate::tty`). The host's line discipline generates the signals of
/// the terminal that is the sandbox process's controlling one (^C, ^Z, a resize), and
/// the runtime passes them on to the foreground group; for another host terminal a
/// TIOCSWINSZ from inside that changes the size sends SIGWINCH to its foreground group.
fn host_tty_ioctl(t: &mut Task, h: i32, a: &[u64; 6]) -> Option<Result<u64, Errno>> {
    const TCSETS: u64 = 0x5402;
    const TCSETSW: u64 = 0x5403;
    const TCSETSF: u64 = 0x5404;
    const TIOCSCTTY: u64 = 0x540e;
    const TIOCGPGRP: u64 = 0x540f;
    const TIOCSPGRP: u64 = 0x5410;
    const TIOCSWINSZ: u64 = 0x5414;
    const TIOCNOTTY: u64 = 0x5422;
    const TIOCGSID: u64 = 0x5429;
    let req = a[1] as u32 as u64;
    if ![
        TCSETS, TCSETSW, TCSETSF, TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCSWINSZ, TIOCNOTTY, TIOCGSID,
    ]
    .contains(&req)
    {
        return None;
    }
    if !host::isatty(h) {
        return Some(Err(Errno::ENOTTY));
    }
    let rdev = match host::fstat(h) {
        Ok(b) => crate::vfs::hostfd::stat_from_host(&b).rdev,
        Err(e) => return Some(Err(e)),
    };
    let (pgid, sid) = t
        .tree()
        .groups
        .get(&t.tgid)
        .map_or((0, 0), |g| (g.pgid, g.sid));
    let foreground = || crate::tty::foreground(rdev);
    Some(match req {
        TCSETS | TCSETSW | TCSETSF => {
            // struct termios as the kernel takes it: 36 bytes.
            let mut b = [0u8; 36];
            t.mm.copy_in(a[2], &mut b)
                .and_then(|_| host::ioctl_in(h, req, &b))
                .map(|_| 0)
        }
        TIOCSWINSZ => {
            let mut b = [0u8; 8];
            // Linux signals only a change of size.
            let before = host::ioctl_out::<8>(h, 0x5413);
            let r =
                t.mm.copy_in(a[2], &mut b)
                    .and_then(|_| host::ioctl_in(h, req, &b));
            let own = !crate::tty::is_controlling(rdev) && before.is_ok_and(|o| o != b);
            match (r, foreground()) {
                (Ok(()), Some(fg)) if own => {
                    let members = t.tree().pgrp_members(fg);
                    let _ = super::sys_signal::send_to_many(t, members, libc::SIGWINCH);
                    Ok(0)
                }
                (r, _) => r.map(|_| 0),
            }
        }
        TIOCSCTTY => {
            // The terminal becomes the session's, and the session's group the
            // foreground one, as on Linux.
            crate::tty::set_session_terminal(sid, rdev);
            crate::tty::set_foreground(rdev, pgid);
            Ok(0)
        }
        TIOCNOTTY => {
            if sid == t.tgid {
                crate::tty::clear_session_terminal(sid);
            }
            Ok(0)
        }
        TIOCGPGRP => write_u32(t, a[2], foreground().unwrap_or(pgid) as u32).map(|_| 0),
        TIOCGSID => write_u32(t, a[2], sid as u32).map(|_| 0),
        _ => {
            // TIOCSPGRP: a process group of the sandbox.
            let mut b = [0u8; 4];
            match t.mm.copy_in(a[2], &mut b) {
                Err(e) => Err(e),
                Ok(_) => {
                    let pg = i32::from_le_bytes(b);
                    // A group exists while any member is unreaped (find_vpid); it
                    // must be of the caller's session (tiocspgrp).
                    let group_sid = t
                        .tree()
                        .groups
                        .values()
                        .find(|g| g.pgid == pg)
                        .map(|g| g.sid);
                    if pg < 0 {
                        Err(Errno::EINVAL)
                    } else if group_sid.is_none() {
                        Err(Errno::ESRCH)
                    } else if group_sid != Some(sid) {
                        Err(Errno::EPERM)
                    } else {
                        crate::tty::set_foreground(rdev, pg);
                        Ok(0)
                    }
                }
            }
        }
    })
}

/// getdents64(2).
pub fn getdents64(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (fd, buf, count) = (a[0] as u32 as u64, a[1], a[2] as u32 as usize);
    let f = t.fds().get(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let st = f.inode.stat()?;
    if st.mode & S_IFMT != S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    // A removed directory lists nothing, not even "." and ".." (Linux's IS_DEADDIR).
    if st.nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let mut snap = f.dir_snapshot.lock().unwrap_or_else(|e| e.into_inner());
    let mut pos = f.offset.lock().unwrap_or_else(|e| e.into_inner());
    if snap.is_none() || *pos == 0 {
        *snap = Some(dir_entries(t, &f)?);
    }
    let entries = snap.as_ref().map(|v| v.as_slice()).unwrap_or(&[]);
    let mut out: Vec<u8> = Vec::new();
    let mut i = *pos as usize;
    while let Some(e) = entries.get(i) {
        let reclen = (19 + e.name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > count {
            break;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&((i + 1) as i64).to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.kind);
        out.extend_from_slice(&e.name);
        out.resize(start + reclen, 0);
        i += 1;
    }
    if out.is_empty() && i < entries.len() {
        return Err(Errno::EINVAL);
    }
    t.mm.copy_out(buf, &out)?;
    *pos = i as u64;
    Ok(out.len() as u64)
}

/// "." and ".." followed by the directory's entries.
fn dir_entries(
    t: &Task,
    f: &Arc<FileDescription>,
) -> Result<Vec<crate::vfs::inode::DirEntry>, Errno> {
    use crate::vfs::inode::DirEntry;
    let me = f.inode.stat()?.ino;
    let parent_ino = match &f.path {
        Some(p) => {
            let ctx = t.fs();
            t.k.vfs
                .resolve(&ctx, t.vcreds(), p, b"..", false)
                .and_then(|pp| pp.stat())
                .map(|s| s.ino)
                .unwrap_or(me)
        }
        None => me,
    };
    let mut v = vec![
        DirEntry {
            name: b".".to_vec(),
            ino: me,
            kind: 4,
        },
        DirEntry {
            name: b"..".to_vec(),
            ino: parent_ino,
            kind: 4,
        },
    ];
    v.extend(f.inode.readdir()?);
    Ok(v)
}

/// ftruncate(2).
pub fn ftruncate(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let st = f.inode.stat()?;
    if st.mode & S_IFMT != S_IFREG || !f.writable() {
        return Err(if f.is_path_only() {
            Errno::EBADF
        } else {
            Errno::EINVAL
        });
    }
    if f.path.as_ref().is_some_and(|p| p.mnt.readonly) {
        return Err(Errno::EROFS);
    }
    if a[1] > t.rlimit(libc::RLIMIT_FSIZE as usize) {
        t.kernel_signal(libc::SIGXFSZ);
        return Err(Errno::EFBIG);
    }
    f.inode
        .setattr(&SetAttr {
            size: Some(a[1]),
            ..Default::default()
        })
        .map(|_| 0)
}

/// fchmod(2).
pub fn fchmod(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    super::sys_file::chmod_inode(
        t,
        &f.inode,
        f.path.as_ref().is_some_and(|p| p.mnt.readonly),
        a[1] as u32,
    )
}

/// fchdir(2).
pub fn fchdir(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    let p = f.path.clone().ok_or(Errno::ENOTDIR)?;
    let st = p.stat()?;
    if st.mode & S_IFMT != S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(&st, t.vcreds(), MAY_EXEC) {
        return Err(Errno::EACCES);
    }
    t.fs.lock().unwrap_or_else(|e| e.into_inner()).cwd = p;
    Ok(0)
}

/// fsync(2), fdatasync(2), syncfs(2): everything is already as durable as it will be.
pub fn fsync(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    f.ops.fsync().map(|_| 0)
}

/// syncfs(2): like sync, any open file but O_PATH names a filesystem.
pub fn syncfs(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if t.fds().get(a[0] as u32 as u64)?.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(0)
}

/// sync(2).
pub fn sync(_t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(0)
}

/// fstatfs(2).
pub fn fstatfs(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    let ro = f.path.as_ref().is_some_and(|p| p.mnt.readonly);
    super::sys_file::write_statfs(t, &f.inode, ro, a[1])
}

/// umask(2).
pub fn umask(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut fs = t.fs.lock().unwrap_or_else(|e| e.into_inner());
    let old = fs.umask;
    fs.umask = (a[0] & 0o777) as u32;
    Ok(old as u64)
}

/// fallocate(2): mode 0 (allocate, extending the size) and FALLOC_FL_KEEP_SIZE; hole
/// punching and range operations are refused with EOPNOTSUPP.
pub fn fallocate(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const KEEP_SIZE: u64 = 1;
    const PUNCH_HOLE: u64 = 2;
    const COLLAPSE_RANGE: u64 = 8;
    const ZERO_RANGE: u64 = 0x10;
    const INSERT_RANGE: u64 = 0x20;
    const UNSHARE_RANGE: u64 = 0x40;
    let (fd, mode, off, len) = (
        a[0] as u32 as u64,
        a[1] as u32 as u64,
        a[2] as i64,
        a[3] as i64,
    );
    let f = t.fds().get(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    // The mode is judged before the descriptor, as Linux does.
    let known = KEEP_SIZE | PUNCH_HOLE | COLLAPSE_RANGE | ZERO_RANGE | INSERT_RANGE | UNSHARE_RANGE;
    let keep = mode & KEEP_SIZE != 0;
    let valid = match mode & !KEEP_SIZE {
        0 | ZERO_RANGE | UNSHARE_RANGE => true,
        PUNCH_HOLE => keep,
        COLLAPSE_RANGE | INSERT_RANGE => !keep,
        _ => false,
    };
    if mode & !known != 0 || !valid {
        return Err(Errno::EOPNOTSUPP);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let st = f.inode.stat()?;
    match st.mode & S_IFMT {
        S_IFREG => {}
        S_IFDIR => return Err(Errno::EISDIR),
        0o010000 => return Err(Errno::ESPIPE),
        _ => return Err(Errno::ENODEV),
    }
    let end = (off as u64)
        .checked_add(len as u64)
        .filter(|&e| e <= i64::MAX as u64)
        .ok_or(Errno::EFBIG)?;
    if mode & !KEEP_SIZE == PUNCH_HOLE {
        return f.inode.punch_hole(off as u64, len as u64).map(|_| 0);
    }
    // Range operations are not supported (tmpfs has none of them either).
    if mode & !KEEP_SIZE != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if end > t.rlimit(libc::RLIMIT_FSIZE as usize) {
        t.kernel_signal(libc::SIGXFSZ);
        return Err(Errno::EFBIG);
    }
    // Allocation beyond what the filesystem holds.
    if let Ok(fs) = f.inode.statfs()
        && fs.blocks != 0
        && end > fs.blocks.saturating_mul(fs.bsize)
    {
        return Err(Errno::ENOSPC);
    }
    if !keep && end > st.size {
        f.inode.setattr(&SetAttr {
            size: Some(end),
            ..Default::default()
        })?;
    }
    Ok(0)
}

/// sync_file_range(2): starts or waits for writeback of a range; the data is flushed
/// as fsync would when asked to write or to wait for completion.
pub fn sync_file_range(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const WAIT_BEFORE: u64 = 1;
    const WRITE: u64 = 2;
    const WAIT_AFTER: u64 = 4;
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let (off, n, flags) = (a[1] as i64, a[2] as i64, a[3]);
    if flags & !(WAIT_BEFORE | WRITE | WAIT_AFTER) != 0 {
        return Err(Errno::EINVAL);
    }
    let end = off.wrapping_add(n);
    if off < 0 || end < 0 || end < off {
        return Err(Errno::EINVAL);
    }
    if !matches!(
        f.inode.stat()?.mode & S_IFMT,
        S_IFREG | S_IFDIR | 0o120000 | 0o060000
    ) {
        return Err(Errno::ESPIPE);
    }
    if flags & (WRITE | WAIT_AFTER) != 0 {
        f.ops.fsync()?;
    }
    Ok(0)
}

/// fadvise64(2) and readahead(2): advice only; the descriptor and arguments are checked.
pub fn fadvise64(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    if a[3] > 5 || (a[2] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    if f.inode.stat()?.mode & S_IFMT == 0o010000 {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

/// readahead(2).
pub fn readahead(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if f.inode.stat()?.mode & S_IFMT != S_IFREG {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// memfd_create(2): an anonymous tmpfs file, shown as `/memfd:NAME (deleted)`.
pub fn memfd_create(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    use crate::vfs::file::{FileDescription, O_RDWR};
    use crate::vfs::inode::Inode;
    const O_LARGEFILE: u32 = 0o100000;
    use crate::vfs::inode::Cred;
    use crate::vfs::tmpfs::SEAL_SEAL;
    use std::sync::atomic::Ordering;
    const CLOEXEC: u64 = 1;
    const ALLOW_SEALING: u64 = 2;
    const HUGETLB: u64 = 4;
    const NOEXEC_SEAL: u64 = 8;
    const EXEC: u64 = 0x10;
    let flags = a[1];
    if flags & !(CLOEXEC | ALLOW_SEALING | HUGETLB | NOEXEC_SEAL | EXEC | (0x3f << 26)) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & NOEXEC_SEAL != 0 && flags & EXEC != 0 {
        return Err(Errno::EINVAL);
    }
    // The name (for /proc) may be at most NAME_MAX − strlen("memfd:") bytes.
    let name = t.mm.read_cstr(a[0], 250).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::EINVAL
        } else {
            e
        }
    })?;
    if name.len() > 249 {
        return Err(Errno::EINVAL);
    }
    let root = t.k.memfd_root.clone();
    let hidden = format!("{}", t.k.memfd_seq.fetch_add(1, Ordering::Relaxed));
    let mode = if flags & NOEXEC_SEAL != 0 {
        0o666
    } else {
        0o777
    };
    let cred = Cred {
        uid: t.creds.uid,
        gid: t.creds.gid,
    };
    let inode = root.create(hidden.as_bytes(), S_IFREG | mode, 0, cred)?;
    root.remove(hidden.as_bytes(), false)?;
    let tmp = inode
        .clone()
        .into_any()
        .downcast::<crate::vfs::tmpfs::TmpfsInode>()
        .map_err(|_| Errno::EIO)?;
    let mut seals = if flags & ALLOW_SEALING == 0 {
        SEAL_SEAL
    } else {
        0
    };
    if flags & NOEXEC_SEAL != 0 {
        seals |= 0x20; // F_SEAL_EXEC
    }
    tmp.init_seals(seals);
    let ops = inode.clone().open(O_RDWR)?;
    let mut shown = b"/memfd:".to_vec();
    shown.extend_from_slice(&name);
    shown.extend_from_slice(b" (deleted)");
    let file = FileDescription::anonymous(ops, inode, O_RDWR | O_LARGEFILE, shown);
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, flags & CLOEXEC != 0, lim)
}
