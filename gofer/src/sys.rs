//! The host syscalls the gofer and its client make, wrapped as safe functions over
//! `OwnedFd`/`BorrowedFd` returning `Errno`. Owns all of the crate's unsafe code: each
//! wrapper passes valid pointers and lengths and takes ownership of any FD it is given.

use crate::protocol::SetTime;
use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use syscalls_table::Errno;

fn errno() -> Errno {
    Errno(
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Turns a libc return value into `Result`, retrying nothing.
fn check(ret: libc::c_int) -> Result<libc::c_int, Errno> {
    if ret < 0 { Err(errno()) } else { Ok(ret) }
}

fn cstr(b: &[u8]) -> Result<CString, Errno> {
    CString::new(b).map_err(|_| Errno::EINVAL)
}

/// Takes ownership of an FD a syscall just returned.
fn owned(fd: libc::c_int) -> Result<OwnedFd, Errno> {
    let fd = check(fd)?;
    // SAFETY: `fd` was just returned by the kernel as a new descriptor and nothing else
    // owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A connected pair of `SOCK_SEQPACKET` unix sockets: one gofer channel.
pub fn channel_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded, so both are new descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Takes ownership of an inherited FD number after checking that it is open and a
/// socket; used for channels passed on the command line.
pub fn adopt_socket(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid for writes of a `struct stat`.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded and filled `st`.
    let st = unsafe { st.assume_init() };
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::from_raw_os_error(libc::ENOTSOCK));
    }
    // SAFETY: the FD is open (fstat succeeded) and was handed to this process to own;
    // the caller promises nothing else in the process uses this number.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    set_cloexec(fd.as_raw_fd())?;
    Ok(fd)
}

fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_SETFD on a descriptor we own takes an int argument.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Opens `path` as an `O_PATH` directory: the root a gofer serves.
pub fn open_root(path: &[u8]) -> Result<OwnedFd, Errno> {
    let p = cstr(path)?;
    // SAFETY: `p` is a valid NUL-terminated string.
    owned(unsafe {
        libc::open(
            p.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })
}

// ---------------------------------------------------------------------------------------
// Messages.

/// What `recv_msg` got: the packet's length, any FDs that came with it, and whether the
/// packet or its control data was cut (which callers treat as malformed).
pub struct Received {
    pub len: usize,
    pub fds: Vec<OwnedFd>,
    pub truncated: bool,
}

/// Room for this many FDs in one message's control data; more is `truncated`.
const MAX_RECV_FDS: usize = 4;

/// Receives one packet into `buf`, with any `SCM_RIGHTS` FDs (close-on-exec). `len` 0
/// with no FDs is end of file. Retries `EINTR`.
pub fn recv_msg(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Received, Errno> {
    // u64 array for cmsghdr alignment.
    let mut cbuf = [0u64; 16];
    // SAFETY: CMSG_SPACE only computes a size.
    let cspace = unsafe { libc::CMSG_SPACE((MAX_RECV_FDS * size_of::<RawFd>()) as u32) } as usize;
    debug_assert!(cspace <= size_of_val(&cbuf));
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is a valid empty one.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf.as_mut_ptr().cast();
        mh.msg_controllen = cspace;
        // SAFETY: `mh` points at `iov` (valid for `buf.len()` bytes) and at `cbuf` (valid
        // for `cspace` bytes), both live for the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut mh, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = errno();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        let mut fds = Vec::new();
        // SAFETY: `mh` was filled by recvmsg; the CMSG_* macros walk the control buffer
        // within `msg_controllen`, and each SCM_RIGHTS payload holds whole ints.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&mh);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c);
                    let len = (*c).cmsg_len - libc::CMSG_LEN(0) as usize;
                    for i in 0..len / size_of::<RawFd>() {
                        let raw = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                        fds.push(OwnedFd::from_raw_fd(raw));
                    }
                }
                c = libc::CMSG_NXTHDR(&mh, c);
            }
        }
        let truncated = mh.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0;
        return Ok(Received {
            len: n as usize,
            fds,
            truncated,
        });
    }
}

/// Sends one packet, with `donate` as `SCM_RIGHTS` if given. Never raises SIGPIPE.
pub fn send_msg(
    fd: BorrowedFd<'_>,
    msg: &[u8],
    donate: Option<BorrowedFd<'_>>,
) -> Result<(), Errno> {
    let mut cbuf = [0u64; 4];
    loop {
        let mut iov = libc::iovec {
            iov_base: msg.as_ptr() as *mut libc::c_void,
            iov_len: msg.len(),
        };
        // SAFETY: an all-zero msghdr is a valid empty one.
        let mut mh: libc::msghdr = unsafe { std::mem::zeroed() };
        mh.msg_iov = &mut iov;
        mh.msg_iovlen = 1;
        if let Some(d) = donate {
            // SAFETY: `cbuf` (32 bytes, u64-aligned) holds CMSG_SPACE(4) = 24 bytes; the
            // header and the one int are written inside it.
            unsafe {
                mh.msg_control = cbuf.as_mut_ptr().cast();
                mh.msg_controllen = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as usize;
                let c = libc::CMSG_FIRSTHDR(&mh);
                (*c).cmsg_level = libc::SOL_SOCKET;
                (*c).cmsg_type = libc::SCM_RIGHTS;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), d.as_raw_fd());
            }
        }
        // SAFETY: `mh` points at `iov` (the message, read only) and at `cbuf`, both live.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &mh, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = errno();
            if e == Errno::EINTR {
                continue;
            }
            return Err(e);
        }
        if n as usize != msg.len() {
            return Err(Errno::EIO);
        }
        return Ok(());
    }
}

// ---------------------------------------------------------------------------------------
// File operations. Names are single components, checked by the caller.

/// Whether the kernel lacks openat2 (learned on first ENOSYS).
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Opens `name` in `dir` without following any symlink: `openat2` with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` where the kernel has it, else `openat` with `O_NOFOLLOW` (the same thing for one
/// component that is neither `.` nor `..`). `O_CLOEXEC | O_NOFOLLOW` are always added.
pub fn open_beneath(
    dir: BorrowedFd<'_>,
    name: &[u8],
    flags: i32,
    mode: u32,
) -> Result<OwnedFd, Errno> {
    let p = cstr(name)?;
    let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        // SAFETY: open_how is plain integers; all-zero is valid.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = flags as u64;
        if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
            how.mode = mode as u64;
        }
        how.resolve =
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
        loop {
            // SAFETY: `p` is NUL-terminated and `how` is a valid open_how of the size
            // passed; both outlive the call.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dir.as_raw_fd(),
                    p.as_ptr(),
                    &how as *const libc::open_how,
                    size_of::<libc::open_how>(),
                )
            };
            if r >= 0 {
                return owned(r as libc::c_int);
            }
            match errno() {
                Errno::EINTR | Errno::EAGAIN => continue,
                Errno::ENOSYS => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                e => return Err(e),
            }
        }
    }
    loop {
        // SAFETY: `p` is NUL-terminated; the mode argument is read only with O_CREAT.
        let r = unsafe { libc::openat(dir.as_raw_fd(), p.as_ptr(), flags, mode) };
        match owned(r) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// `fstatat(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)`: the file the FD (an `O_PATH`
/// one included) refers to.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    stat_at(fd, b"", libc::AT_EMPTY_PATH)
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn stat_at(dir: BorrowedFd<'_>, name: &[u8], flags: i32) -> Result<libc::stat, Errno> {
    let p = cstr(name)?;
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `p` is NUL-terminated and `st` is valid for writes of a `struct stat`.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            p.as_ptr(),
            st.as_mut_ptr(),
            flags | libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat succeeded and filled `st`.
    Ok(unsafe { st.assume_init() })
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    let p = cstr(name)?;
    // SAFETY: `p` is NUL-terminated.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), p.as_ptr(), mode) }).map(drop)
}

pub fn mknodat(dir: BorrowedFd<'_>, name: &[u8], mode: u32) -> Result<(), Errno> {
    let p = cstr(name)?;
    // SAFETY: `p` is NUL-terminated.
    check(unsafe { libc::mknodat(dir.as_raw_fd(), p.as_ptr(), mode, 0) }).map(drop)
}

pub fn symlinkat(target: &[u8], dir: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let t = cstr(target)?;
    let p = cstr(name)?;
    // SAFETY: both strings are NUL-terminated.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), p.as_ptr()) }).map(drop)
}

/// `linkat(olddir, oldname, newdir, newname, flags)`; never follows a symlink unless
/// `flags` has `AT_SYMLINK_FOLLOW` (callers never pass it).
pub fn linkat(
    olddir: BorrowedFd<'_>,
    oldname: &[u8],
    newdir: BorrowedFd<'_>,
    newname: &[u8],
    flags: i32,
) -> Result<(), Errno> {
    let o = cstr(oldname)?;
    let n = cstr(newname)?;
    // SAFETY: both strings are NUL-terminated.
    check(unsafe {
        libc::linkat(
            olddir.as_raw_fd(),
            o.as_ptr(),
            newdir.as_raw_fd(),
            n.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &[u8], flags: i32) -> Result<(), Errno> {
    let p = cstr(name)?;
    // SAFETY: `p` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), p.as_ptr(), flags) }).map(drop)
}

pub fn renameat2(
    olddir: BorrowedFd<'_>,
    oldname: &[u8],
    newdir: BorrowedFd<'_>,
    newname: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    let o = cstr(oldname)?;
    let n = cstr(newname)?;
    // SAFETY: both strings are NUL-terminated.
    check(unsafe {
        libc::renameat2(
            olddir.as_raw_fd(),
            o.as_ptr(),
            newdir.as_raw_fd(),
            n.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// `readlinkat(fd, "")`: the target of the symlink an `O_PATH` FD refers to.
pub fn readlink_fd(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; crate::protocol::TARGET_MAX + 1];
    // SAFETY: `buf` is valid for writes of its length; "" is a NUL-terminated string.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(errno());
    }
    let n = n as usize;
    if n > crate::protocol::TARGET_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    buf.truncate(n);
    Ok(buf)
}

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)`; `u32::MAX` leaves one unchanged.
pub fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: "" is a NUL-terminated string.
    check(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)`: chmod through an `O_PATH` FD (Linux 6.6+).
pub fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    loop {
        // SAFETY: "" is a NUL-terminated string.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fchmodat2,
                fd.as_raw_fd(),
                c"".as_ptr(),
                mode,
                libc::AT_EMPTY_PATH,
            )
        };
        if r >= 0 {
            return Ok(());
        }
        match errno() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// `fchmod` on an FD open for I/O.
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall on a descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// The `utimensat` time for a `SetStat` time: `UTIME_OMIT` when absent.
pub fn time_arg(t: Option<SetTime>) -> libc::timespec {
    match t {
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        Some(SetTime::Now) => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_NOW,
        },
        Some(SetTime::At(ts)) => libc::timespec {
            tv_sec: ts.sec,
            tv_nsec: ts.nsec as libc::c_long,
        },
    }
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH)`: set times through an `O_PATH` FD.
pub fn utimens_fd(fd: BorrowedFd<'_>, times: &[libc::timespec; 2]) -> Result<(), Errno> {
    // SAFETY: "" is NUL-terminated and `times` points at two timespecs.
    check(unsafe {
        libc::utimensat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            times.as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

pub fn ftruncate(fd: BorrowedFd<'_>, size: u64) -> Result<(), Errno> {
    let size = i64::try_from(size).map_err(|_| Errno::EINVAL)?;
    // SAFETY: plain syscall on a descriptor.
    check(unsafe { libc::ftruncate(fd.as_raw_fd(), size) }).map(drop)
}

pub fn fsync(fd: BorrowedFd<'_>, datasync: bool) -> Result<(), Errno> {
    // SAFETY: plain syscalls on a descriptor.
    check(unsafe {
        if datasync {
            libc::fdatasync(fd.as_raw_fd())
        } else {
            libc::fsync(fd.as_raw_fd())
        }
    })
    .map(drop)
}

/// The kernel's x86-64 `struct statfs` (libc's hides `f_flags`).
#[repr(C)]
#[derive(Default)]
pub struct KStatfs {
    pub f_type: i64,
    pub f_bsize: i64,
    pub f_blocks: u64,
    pub f_bfree: u64,
    pub f_bavail: u64,
    pub f_files: u64,
    pub f_ffree: u64,
    pub f_fsid: [i32; 2],
    pub f_namelen: i64,
    pub f_frsize: i64,
    pub f_flags: i64,
    pub f_spare: [i64; 4],
}

/// `fstatfs`, which accepts an `O_PATH` FD.
pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<KStatfs, Errno> {
    let mut st = KStatfs::default();
    // SAFETY: `st` matches the kernel's struct statfs layout on x86-64 and is valid for
    // writes of its size.
    let r = unsafe { libc::syscall(libc::SYS_fstatfs, fd.as_raw_fd(), &mut st as *mut KStatfs) };
    if r < 0 { Err(errno()) } else { Ok(st) }
}

/// Clears `O_NONBLOCK` (the gofer opens with it so a FIFO swapped in cannot block it).
pub fn clear_nonblock(fd: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor take no pointers.
    unsafe {
        let fl = check(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
        check(libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            fl & !libc::O_NONBLOCK,
        ))?;
    }
    Ok(())
}

pub fn lseek_set(fd: BorrowedFd<'_>, off: u64) -> Result<(), Errno> {
    // SAFETY: plain syscall on a descriptor.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), off as i64, libc::SEEK_SET) };
    if r < 0 { Err(errno()) } else { Ok(()) }
}

/// One raw `getdents64` into `buf`; returns the bytes filled (0 at the end).
pub fn getdents64(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of its length.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if r < 0 { Err(errno()) } else { Ok(r as usize) }
}
