//! File-descriptor and file-metadata syscalls on the host-FD files of stdio: close(2),
//! dup(2)/dup2/dup3, fcntl(2), fstat(2), newfstatat(2), ioctl(2), getcwd(2),
//! readlink(2) (`/proc/self/exe`), umask(2). Path lookups other than `/proc/self/exe`
//! find nothing (ENOENT) until the VFS exists.

use super::write_u32;
use crate::host;
use crate::task::Task;
use syscalls_table::Errno;

const AT_FDCWD: i64 = -100;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const PATH_MAX: usize = 4096;

fn nofile(t: &Task) -> u64 {
    t.rlimit(libc::RLIMIT_NOFILE as usize)
}

/// close(2).
pub fn close(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.fds.close(a[0]).map(|_| 0)
}

/// dup(2).
pub fn dup(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    let lim = nofile(t);
    t.fds.install(f, 0, false, lim)
}

/// dup2(2).
pub fn dup2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    if a[0] == a[1] {
        return Ok(a[1]);
    }
    let lim = nofile(t);
    t.fds.install_at(f, a[1], false, lim).map(|_| a[1])
}

/// dup3(2).
pub fn dup3(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[2] & !(libc::O_CLOEXEC as u64) != 0 || a[0] == a[1] {
        return Err(Errno::EINVAL);
    }
    let f = t.fds.get(a[0])?;
    let lim = nofile(t);
    t.fds.install_at(f, a[1], a[2] != 0, lim).map(|_| a[1])
}

/// fcntl(2): F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL.
pub fn fcntl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    let lim = nofile(t);
    match a[1] as i32 {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            if a[2] >= lim {
                return Err(Errno::EINVAL);
            }
            t.fds
                .install(f, a[2], a[1] as i32 == libc::F_DUPFD_CLOEXEC, lim)
        }
        libc::F_GETFD => Ok(t.fds.cloexec(a[0])? as u64),
        libc::F_SETFD => t
            .fds
            .set_cloexec(a[0], a[2] & libc::FD_CLOEXEC as u64 != 0)
            .map(|_| 0),
        libc::F_GETFL => host::fcntl(f.fd(), libc::F_GETFL, 0),
        libc::F_SETFL => {
            // Only the flags Linux lets F_SETFL change.
            let settable = (libc::O_APPEND
                | libc::O_NONBLOCK
                | libc::O_ASYNC
                | libc::O_DIRECT
                | libc::O_NOATIME) as u64;
            let cur = host::fcntl(f.fd(), libc::F_GETFL, 0)?;
            host::fcntl(f.fd(), libc::F_SETFL, (cur & !settable) | (a[2] & settable)).map(|_| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// fstat(2).
pub fn fstat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    let st = host::fstat(f.fd())?;
    t.mm.copy_out(a[1], &st).map(|_| 0)
}

/// newfstatat(2): AT_EMPTY_PATH on open descriptors; paths find nothing yet.
pub fn newfstatat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[3];
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = t.mm.read_cstr(a[1], PATH_MAX)?;
    if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        if a[0] as i32 as i64 == AT_FDCWD {
            return Err(Errno::ENOENT);
        }
        return fstat(t, &[a[0], a[2], 0, 0, 0, 0]);
    }
    if path[0] != b'/' && a[0] as i32 as i64 != AT_FDCWD {
        t.fds.get(a[0])?;
        return Err(Errno::ENOTDIR);
    }
    Err(Errno::ENOENT)
}

/// ioctl(2): TCGETS, TIOCGWINSZ and TIOCGPGRP on host terminals; ENOTTY otherwise.
pub fn ioctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    match a[1] {
        0x5401 => {
            // TCGETS: struct termios, 36 bytes.
            let b = host::ioctl_out::<64>(f.fd(), 0x5401)?;
            t.mm.copy_out(a[2], &b[..36]).map(|_| 0)
        }
        0x5413 => {
            // TIOCGWINSZ: struct winsize, 8 bytes.
            let b = host::ioctl_out::<8>(f.fd(), 0x5413)?;
            t.mm.copy_out(a[2], &b).map(|_| 0)
        }
        0x540f => {
            // TIOCGPGRP: the foreground process group is the sandbox's only one.
            if !host::isatty(f.fd()) {
                return Err(Errno::ENOTTY);
            }
            write_u32(t, a[2], t.tid as u32).map(|_| 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// getcwd(2): returns the length including the NUL.
pub fn getcwd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut cwd = t.k.cwd.clone();
    cwd.push(0);
    if (a[1] as usize) < cwd.len() {
        return Err(Errno::ERANGE);
    }
    t.mm.copy_out(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

fn do_readlink(
    t: &mut Task,
    dirfd: Option<u64>,
    path: u64,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    let p = t.mm.read_cstr(path, PATH_MAX)?;
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    if p.is_empty() {
        return Err(Errno::ENOENT);
    }
    if let Some(d) = dirfd
        && p[0] != b'/'
        && d as i32 as i64 != AT_FDCWD
    {
        t.fds.get(d)?;
        return Err(Errno::ENOTDIR);
    }
    if p == b"/proc/self/exe" || p == format!("/proc/{}/exe", t.tid).as_bytes() {
        let exe = t.k.exe.clone();
        let n = exe.len().min(size as usize);
        t.mm.copy_out(buf, &exe[..n])?;
        return Ok(n as u64);
    }
    Err(Errno::ENOENT)
}

/// readlink(2).
pub fn readlink(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_readlink(t, None, a[0], a[1], a[2])
}

/// readlinkat(2).
pub fn readlinkat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_readlink(t, Some(a[0]), a[1], a[2], a[3])
}

/// lseek(2) on host files (terminals and pipes give what the host gives: ESPIPE…).
pub fn lseek(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds.get(a[0])?;
    if a[2] > 4 {
        return Err(Errno::EINVAL);
    }
    host::lseek(f.fd(), a[1] as i64, a[2] as i32)
}

/// umask(2).
pub fn umask(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = t.umask;
    t.umask = (a[0] & 0o777) as u32;
    Ok(old as u64)
}
