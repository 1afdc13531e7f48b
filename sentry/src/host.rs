//! The few host system calls the sentry makes on the application's behalf (stdio I/O,
//! clocks, randomness, identity), each wrapped safely. One of the sentry modules allowed
//! unsafe code (DESIGN.md §3).

use syscalls_table::Errno;

fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn check(r: isize) -> Result<u64, Errno> {
    if r < 0 { Err(errno()) } else { Ok(r as u64) }
}

/// A segment of sentry memory (inside the memory file mapping) for host I/O.
#[derive(Clone, Copy, Debug)]
pub struct Seg {
    pub ptr: *mut u8,
    pub len: usize,
}

fn iovecs(segs: &[Seg]) -> Vec<libc::iovec> {
    segs.iter()
        .map(|s| libc::iovec {
            iov_base: s.ptr.cast(),
            iov_len: s.len,
        })
        .collect()
}

/// `readv`, or `preadv` when `offset` is given, into memory-file segments.
pub fn readv(fd: i32, segs: &[Seg], offset: Option<i64>) -> Result<u64, Errno> {
    let iov = iovecs(segs);
    // SAFETY: every segment lies inside the live memory-file mapping (MemoryFile::host_ptr
    // checks bounds) and the iovec array lives across the call.
    check(unsafe {
        match offset {
            None => libc::readv(fd, iov.as_ptr(), iov.len() as i32),
            Some(o) => libc::preadv(fd, iov.as_ptr(), iov.len() as i32, o),
        }
    })
}

/// `writev`, or `pwritev` when `offset` is given, from memory-file segments.
pub fn writev(fd: i32, segs: &[Seg], offset: Option<i64>) -> Result<u64, Errno> {
    let iov = iovecs(segs);
    // SAFETY: as in readv.
    check(unsafe {
        match offset {
            None => libc::writev(fd, iov.as_ptr(), iov.len() as i32),
            Some(o) => libc::pwritev(fd, iov.as_ptr(), iov.len() as i32, o),
        }
    })
}

/// The host `struct stat` of an fd, as raw bytes in the x86-64 layout.
pub fn fstat(fd: i32) -> Result<[u8; 144], Errno> {
    let mut buf = [0u8; 144];
    const _: () = assert!(std::mem::size_of::<libc::stat>() == 144);
    // SAFETY: the buffer is exactly sizeof(struct stat).
    check(unsafe { libc::fstat(fd, buf.as_mut_ptr().cast()) } as isize)?;
    Ok(buf)
}

/// An ioctl whose argument is an output buffer of `N` bytes.
pub fn ioctl_out<const N: usize>(fd: i32, req: u64) -> Result<[u8; N], Errno> {
    let mut buf = [0u8; N];
    // SAFETY: only called with requests whose output fits in N bytes (TCGETS: 36,
    // TIOCGWINSZ: 8); the buffer is larger or equal.
    check(unsafe { libc::ioctl(fd, req, buf.as_mut_ptr()) } as isize)?;
    Ok(buf)
}

/// An ioctl whose argument is an input buffer: the host reads at most `N` bytes of it.
pub fn ioctl_in<const N: usize>(fd: i32, req: u64, buf: &[u8; N]) -> Result<(), Errno> {
    // SAFETY: only called with requests that read at most N bytes from the pointer
    // (TCSETS*: 36, TIOCSWINSZ: 8); the buffer lives across the call.
    check(unsafe { libc::ioctl(fd, req, buf.as_ptr()) } as isize)?;
    Ok(())
}

/// Sets the host disposition of `signo` to SIG_IGN for the whole sandbox process (and
/// so for the processes it starts: the gofer, the platform's stubs).
pub fn ignore_signal(signo: i32) -> Result<(), Errno> {
    // SAFETY: a zeroed sigaction with SIG_IGN is a valid argument; no old action is
    // asked for; no handler code is involved.
    let r = unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = libc::SIG_IGN;
        libc::sigaction(signo, &act, std::ptr::null_mut())
    };
    check(r as isize).map(|_| ())
}

pub fn isatty(fd: i32) -> bool {
    // SAFETY: no memory is passed.
    unsafe { libc::isatty(fd) == 1 }
}

/// The poll(2) events of `fd` that hold now (a poll with zero timeout); POLLNVAL if the
/// host cannot poll it.
pub fn poll_now(fd: i32, events: i16) -> u32 {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one pollfd, owned by this frame; zero timeout, so nothing blocks.
    match unsafe { libc::poll(&mut p, 1, 0) } {
        n if n >= 0 => p.revents as u16 as u32,
        _ => libc::POLLNVAL as u32,
    }
}

pub fn fcntl(fd: i32, cmd: i32, arg: u64) -> Result<u64, Errno> {
    // SAFETY: only integer-argument commands (F_GETFL, F_SETFL) are passed.
    check(unsafe { libc::fcntl(fd, cmd, arg) } as isize)
}

/// Duplicates `fd` to a descriptor ≥ `min` with close-on-exec.
pub fn dup_cloexec(fd: i32, min: i32) -> Result<i32, Errno> {
    fcntl(fd, libc::F_DUPFD_CLOEXEC, min as u64).map(|v| v as i32)
}

/// An owned close-on-exec duplicate of `fd` (numbered ≥ 100).
pub fn dup_owned(fd: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::FromRawFd;
    let d = dup_cloexec(fd, 100)?;
    // SAFETY: `d` is a fresh descriptor from F_DUPFD_CLOEXEC, owned from here on.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(d) })
}

pub fn close(fd: i32) {
    // SAFETY: closing a descriptor the sentry owns.
    unsafe {
        libc::close(fd);
    }
}

pub fn clock_gettime(clock: i32) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    check(unsafe { libc::clock_gettime(clock, &mut ts) } as isize)?;
    Ok(ts)
}

pub fn clock_getres(clock: i32) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer.
    check(unsafe { libc::clock_getres(clock, &mut ts) } as isize)?;
    Ok(ts)
}

/// Sleeps on `clock` until `ts` (absolute) or for `ts` (relative).
pub fn clock_nanosleep(clock: i32, absolute: bool, ts: &libc::timespec) -> Result<(), Errno> {
    let flags = if absolute { libc::TIMER_ABSTIME } else { 0 };
    loop {
        let mut rem = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid pointers to local timespecs.
        let r = unsafe { libc::clock_nanosleep(clock, flags, ts, &mut rem) };
        match r {
            0 => return Ok(()),
            libc::EINTR if absolute => continue,
            libc::EINTR => return clock_nanosleep(clock, false, &rem),
            e => return Err(Errno(e)),
        }
    }
}

pub fn getrandom(buf: &mut [u8], flags: u32) -> Result<usize, Errno> {
    // SAFETY: the buffer is valid for its length.
    check(unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), flags) }).map(|n| n as usize)
}

/// The host's `struct utsname` (6 × 65 bytes).
pub fn uname() -> [u8; 390] {
    let mut buf = [0u8; 390];
    const _: () = assert!(std::mem::size_of::<libc::utsname>() == 390);
    // SAFETY: the buffer is exactly sizeof(struct utsname).
    unsafe { libc::uname(buf.as_mut_ptr().cast()) };
    buf
}

/// The host's `struct sysinfo` as raw bytes (112 bytes on x86-64).
pub fn sysinfo() -> [u8; 112] {
    let mut buf = [0u8; 112];
    const _: () = assert!(std::mem::size_of::<libc::sysinfo>() == 112);
    // SAFETY: the buffer is exactly sizeof(struct sysinfo).
    unsafe { libc::sysinfo(buf.as_mut_ptr().cast()) };
    buf
}

pub fn getrlimit(resource: u32) -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out-pointer.
    unsafe { libc::getrlimit(resource, &mut r) };
    (r.rlim_cur, r.rlim_max)
}

/// The host CPU affinity mask of the sandbox, as bytes: the sentry's as it started (read
/// by `prepare`), since the seccomp platform later pins each sentry thread to one of
/// those CPUs.
pub fn sched_getaffinity() -> Vec<u8> {
    static MASK: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MASK.get_or_init(|| {
        let mut buf = vec![0u8; 1024];
        // SAFETY: the buffer is valid for its length; the kernel writes at most that much.
        let r =
            unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, buf.len(), buf.as_mut_ptr()) };
        buf.truncate(if r > 0 { r as usize } else { 8 });
        buf
    })
    .clone()
}

pub fn sched_yield() {
    // SAFETY: no arguments.
    unsafe { libc::sched_yield() };
}

/// The value of auxiliary-vector entry `kind` the host kernel gave the sentry (same CPU,
/// so the same value Linux gives the application: AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ).
/// Read from /proc/self/auxv: glibc's getauxval(AT_HWCAP) on x86-64 returns its own value.
pub fn getauxval(kind: u64) -> u64 {
    static AUXV: std::sync::OnceLock<Vec<(u64, u64)>> = std::sync::OnceLock::new();
    let auxv = AUXV.get_or_init(|| {
        let raw = std::fs::read("/proc/self/auxv").unwrap_or_default();
        raw.chunks_exact(16)
            .map(|c| {
                let w = |r: std::ops::Range<usize>| {
                    u64::from_le_bytes(c[r].try_into().unwrap_or_default())
                };
                (w(0..8), w(8..16))
            })
            .collect()
    });
    match auxv.iter().find(|(k, _)| *k == kind) {
        Some(&(_, v)) => v,
        // SAFETY: getauxval has no preconditions.
        None => unsafe { libc::getauxval(kind) },
    }
}

pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

pub fn ids() -> Ids {
    // SAFETY: plain identity queries; the group buffer is sized from the first call.
    unsafe {
        let n = libc::getgroups(0, std::ptr::null_mut());
        let mut groups = vec![0u32; n.max(0) as usize];
        let n = libc::getgroups(groups.len() as i32, groups.as_mut_ptr());
        groups.truncate(n.max(0) as usize);
        Ids {
            uid: libc::geteuid(),
            gid: libc::getegid(),
            groups,
        }
    }
}

pub fn lseek(fd: i32, off: i64, whence: i32) -> Result<u64, Errno> {
    // SAFETY: no memory is passed.
    check(unsafe { libc::lseek(fd, off, whence) } as isize)
}

/// A random u64 from the host.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom(&mut b, 0);
    u64::from_le_bytes(b)
}

/// Copies `src` into the memory-file segments `segs` (in order); returns bytes copied.
pub fn copy_to_segs(segs: &[Seg], src: &[u8]) -> usize {
    let mut done = 0;
    for s in segs {
        if done == src.len() {
            break;
        }
        let n = s.len.min(src.len() - done);
        // SAFETY: segments come from MemoryManager::segments, which bounds-checks them
        // against the live memory-file mapping; `src` is a valid slice of at least n bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr().add(done), s.ptr, n) };
        done += n;
    }
    done
}

/// Copies the memory-file segments `segs` into `dst` (in order); returns bytes copied.
pub fn copy_from_segs(segs: &[Seg], dst: &mut [u8]) -> usize {
    let mut done = 0;
    for s in segs {
        if done == dst.len() {
            break;
        }
        let n = s.len.min(dst.len() - done);
        // SAFETY: as in copy_to_segs, with the roles swapped.
        unsafe { std::ptr::copy_nonoverlapping(s.ptr, dst.as_mut_ptr().add(done), n) };
        done += n;
    }
    done
}

/// The part `[start, start+len)` of the byte sequence `segs` describe.
pub fn sub_segs(segs: &[Seg], mut start: usize, mut len: usize) -> Vec<Seg> {
    let mut out = Vec::new();
    for s in segs {
        if len == 0 {
            break;
        }
        if start >= s.len {
            start -= s.len;
            continue;
        }
        let n = (s.len - start).min(len);
        out.push(Seg {
            ptr: s.ptr.wrapping_add(start),
            len: n,
        });
        start = 0;
        len -= n;
    }
    out
}

/// Copies from the segments `src` to the segments `dst` (in order, as far as the shorter
/// goes); returns bytes copied. The two may not overlap.
pub fn copy_segs(dst: &[Seg], src: &[Seg]) -> usize {
    let (mut di, mut doff, mut done) = (0usize, 0usize, 0usize);
    for s in src {
        let mut soff = 0usize;
        while soff < s.len {
            let Some(d) = dst.get(di) else { return done };
            let n = (s.len - soff).min(d.len - doff);
            // SAFETY: both segments lie in live mappings (the memory file's, or sentry
            // buffers made by seg_of that outlive the call), and each is valid for its
            // length; distinct pages do not overlap.
            unsafe { std::ptr::copy(s.ptr.add(soff), d.ptr.add(doff), n) };
            soff += n;
            doff += n;
            done += n;
            if doff == d.len {
                di += 1;
                doff = 0;
            }
        }
    }
    done
}

pub fn segs_len(segs: &[Seg]) -> usize {
    segs.iter().map(|s| s.len).sum()
}

// SAFETY: a Seg is a pointer into the memory file's shared mapping, valid for the
// sandbox's lifetime and only dereferenced through the copy functions above.
unsafe impl Send for Seg {}
// SAFETY: as above.
unsafe impl Sync for Seg {}

static SEALED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The names of the standard descriptors, read by `prepare`.
static STDIO_NAMES: std::sync::OnceLock<[Option<Vec<u8>>; 3]> = std::sync::OnceLock::new();

/// Reads what the sentry takes from the host's files once (scheduler settings, the
/// auxiliary vector, /proc/cpuinfo, the names of the standard descriptors) while it
/// still can: runsc calls it before the process gives up its view of the host
/// filesystem. Reading later is what happens without it (`runsc` as a library user).
pub fn prepare() {
    sched_getaffinity();
    crate::sched::host();
    getauxval(libc::AT_HWCAP);
    crate::process::host_cpuinfo();
    let _ = STDIO_NAMES.set([0, 1, 2].map(|fd| {
        use std::os::unix::ffi::OsStrExt;
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .ok()
            .map(|p| p.as_os_str().as_bytes().to_vec())
    }));
}

/// Says that the process is confined (runsc calls it once the seccomp allowlist is in
/// place): from then on the sentry does not even read host paths.
pub fn seal() {
    SEALED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// What the host's /proc/self/fd/FD says the descriptor is (e.g. `pipe:[123]`,
/// `/dev/pts/0`): a readlink, not an open, while the process is not sealed; after, what
/// fstat tells (pipes, sockets and the usual character devices by name, anything else
/// `host:[FD]`).
pub fn describe_fd(fd: i32) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(Some(name)) = STDIO_NAMES.get().and_then(|n| n.get(fd as usize)) {
        return name.clone();
    }
    if !SEALED.load(std::sync::atomic::Ordering::SeqCst)
        && let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}"))
    {
        return p.as_os_str().as_bytes().to_vec();
    }
    // SAFETY: fstat writes one struct stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `fd` is a descriptor of ours or the call fails.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return format!("host:[{fd}]").into_bytes();
    }
    let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => format!("pipe:[{}]", st.st_ino),
        libc::S_IFSOCK => format!("socket:[{}]", st.st_ino),
        libc::S_IFCHR => match (major, minor) {
            (1, 3) => "/dev/null".into(),
            (1, 5) => "/dev/zero".into(),
            (1, 8) => "/dev/random".into(),
            (1, 9) => "/dev/urandom".into(),
            (5, 0) => "/dev/tty".into(),
            (5, 1) => "/dev/console".into(),
            (4, n) => format!("/dev/tty{n}"),
            (136..=143, n) => format!("/dev/pts/{}", (major - 136) * 256 + n),
            _ => format!("host:[{fd}]"),
        },
        _ => format!("host:[{fd}]"),
    }
    .into_bytes()
}

/// A segment over a sentry buffer, for reading a file into sentry memory with the same
/// FileOps calls that read into application memory. The buffer must outlive its use.
pub fn seg_of(buf: &mut [u8]) -> Seg {
    Seg {
        ptr: buf.as_mut_ptr(),
        len: buf.len(),
    }
}

/// Atomically replaces the u32 at `seg` (4 aligned bytes of the memory file, from
/// `MemoryManager::segments`) with `f(old)`; returns the old value.
pub fn atomic_update_u32(seg: &Seg, f: impl Fn(u32) -> u32) -> Option<u32> {
    use std::sync::atomic::{AtomicU32, Ordering};
    if seg.len < 4 || !(seg.ptr as usize).is_multiple_of(4) {
        return None;
    }
    // SAFETY: `seg` points at 4 aligned bytes of the memory file mapping, which lives for
    // the whole sandbox; the application may change them concurrently, which is what the
    // atomic accesses are for.
    let a = unsafe { AtomicU32::from_ptr(seg.ptr.cast::<u32>()) };
    let mut cur = a.load(Ordering::SeqCst);
    loop {
        match a.compare_exchange(cur, f(cur), Ordering::SeqCst, Ordering::SeqCst) {
            Ok(old) => return Some(old),
            Err(now) => cur = now,
        }
    }
}

/// Atomically replaces the u32 at `seg` (as in `atomic_update_u32`) with `new` if it holds
/// `old`; returns the value it held (`old` when the exchange happened).
pub fn atomic_cmpxchg_u32(seg: &Seg, old: u32, new: u32) -> Option<u32> {
    use std::sync::atomic::{AtomicU32, Ordering};
    if seg.len < 4 || !(seg.ptr as usize).is_multiple_of(4) {
        return None;
    }
    // SAFETY: as in atomic_update_u32: 4 aligned bytes of the memory file mapping, which
    // lives for the whole sandbox and which the application may change concurrently.
    let a = unsafe { AtomicU32::from_ptr(seg.ptr.cast::<u32>()) };
    match a.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(v) | Err(v) => Some(v),
    }
}

/// The calling host thread's (voluntary, involuntary) context switches.
pub fn thread_context_switches() -> (u64, u64) {
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer; RUSAGE_THREAD reads the calling thread.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) } != 0 {
        return (0, 0);
    }
    (ru.ru_nvcsw as u64, ru.ru_nivcsw as u64)
}

// ---- host sockets (`--network=host`, net::hostnet) ----
//
// Addresses and option values are sentry buffers the caller copied and checked; the
// application's pointers never reach these calls.

/// socket(2) on the host; the caller asks for SOCK_NONBLOCK | SOCK_CLOEXEC.
pub fn socket(domain: i32, ty: i32, protocol: i32) -> Result<i32, Errno> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::socket(domain, ty, protocol) } as isize).map(|v| v as i32)
}

/// bind(2) or connect(2) (`connect`) with the address bytes `addr`.
pub fn bind_connect(fd: i32, addr: &[u8], connect: bool) -> Result<(), Errno> {
    let len = addr.len().min(128) as libc::socklen_t;
    // SAFETY: the address buffer lives across the call and is at least `len` bytes.
    let r = unsafe {
        if connect {
            libc::connect(fd, addr.as_ptr().cast(), len)
        } else {
            libc::bind(fd, addr.as_ptr().cast(), len)
        }
    };
    check(r as isize).map(|_| ())
}

pub fn listen(fd: i32, backlog: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::listen(fd, backlog) } as isize).map(|_| ())
}

/// accept4(2): the new descriptor and the peer's address.
pub fn accept4(fd: i32, flags: i32) -> Result<(i32, Vec<u8>), Errno> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: a 128-byte buffer and its length, both owned by this frame.
    let r = unsafe { libc::accept4(fd, buf.as_mut_ptr().cast(), &mut len, flags) };
    let nfd = check(r as isize)? as i32;
    Ok((nfd, buf[..(len as usize).min(128)].to_vec()))
}

/// getsockname(2) (`peer` false) or getpeername(2).
pub fn sock_name(fd: i32, peer: bool) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: a 128-byte buffer and its length, both owned by this frame.
    let r = unsafe {
        if peer {
            libc::getpeername(fd, buf.as_mut_ptr().cast(), &mut len)
        } else {
            libc::getsockname(fd, buf.as_mut_ptr().cast(), &mut len)
        }
    };
    check(r as isize)?;
    Ok(buf[..(len as usize).min(128)].to_vec())
}

pub fn shutdown(fd: i32, how: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments only.
    check(unsafe { libc::shutdown(fd, how) } as isize).map(|_| ())
}

/// getsockopt(2) into a buffer of `len` bytes (at most 256); what the host filled.
pub fn getsockopt(fd: i32, level: i32, opt: i32, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; 256];
    let mut l = len.min(buf.len()) as libc::socklen_t;
    // SAFETY: the buffer is 256 bytes and `l` is at most that.
    let r = unsafe { libc::getsockopt(fd, level, opt, buf.as_mut_ptr().cast(), &mut l) };
    check(r as isize)?;
    Ok(buf[..(l as usize).min(buf.len())].to_vec())
}

/// setsockopt(2) with the value bytes `val`.
pub fn setsockopt(fd: i32, level: i32, opt: i32, val: &[u8]) -> Result<(), Errno> {
    // SAFETY: the value buffer lives across the call; its length is passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    };
    check(r as isize).map(|_| ())
}

/// sendmsg(2) of memory-file segments to `to` (or the connected peer), no control data.
pub fn sendmsg(fd: i32, segs: &[Seg], to: Option<&[u8]>, flags: i32) -> Result<usize, Errno> {
    let mut iov = iovecs(segs);
    // SAFETY: msghdr is plain data; all-zero is a valid value.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(a) = to {
        m.msg_name = a.as_ptr() as *mut libc::c_void;
        m.msg_namelen = a.len().min(128) as libc::socklen_t;
    }
    m.msg_iov = iov.as_mut_ptr();
    m.msg_iovlen = iov.len();
    // SAFETY: the segments lie in the live memory-file mapping (as in writev); the name
    // and the iovec array live across the call; there is no control buffer.
    check(unsafe { libc::sendmsg(fd, &m, flags) }).map(|n| n as usize)
}

/// recvmsg(2) into memory-file segments: (bytes, the sender's address, msg_flags).
pub fn recvmsg(fd: i32, segs: &[Seg], flags: i32) -> Result<(usize, Vec<u8>, i32), Errno> {
    let mut iov = iovecs(segs);
    let mut name = [0u8; 128];
    // SAFETY: msghdr is plain data; all-zero is a valid value.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_name = name.as_mut_ptr().cast();
    m.msg_namelen = name.len() as libc::socklen_t;
    m.msg_iov = iov.as_mut_ptr();
    m.msg_iovlen = iov.len();
    // SAFETY: as in readv for the segments; the name buffer and the iovec array are owned
    // by this frame; there is no control buffer.
    let n = check(unsafe { libc::recvmsg(fd, &mut m, flags) })? as usize;
    let nl = (m.msg_namelen as usize).min(name.len());
    Ok((n, name[..nl].to_vec(), m.msg_flags))
}

/// An ioctl whose argument is an `int` the host writes (FIONREAD, SIOCOUTQ).
pub fn ioctl_int(fd: i32, req: u64) -> Result<i32, Errno> {
    let mut v: libc::c_int = 0;
    // SAFETY: only called with requests that write one int.
    check(unsafe { libc::ioctl(fd, req, &mut v) } as isize)?;
    Ok(v)
}

/// epoll_create1(EPOLL_CLOEXEC) on the host (the host-socket notifier's instance).
pub fn epoll_create() -> Result<i32, Errno> {
    // SAFETY: integer argument only.
    check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) } as isize).map(|v| v as i32)
}

/// epoll_ctl(2) on the host: adds (`add`) or removes `fd`, with `fd` as the event data.
pub fn epoll_ctl(epfd: i32, fd: i32, events: u32, add: bool) -> Result<(), Errno> {
    let mut ev = libc::epoll_event {
        events,
        u64: fd as u32 as u64,
    };
    let op = if add {
        libc::EPOLL_CTL_ADD
    } else {
        libc::EPOLL_CTL_DEL
    };
    // SAFETY: the event lives across the call.
    check(unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) } as isize).map(|_| ())
}

/// epoll_wait(2) on the host without a timeout: (data, events) of what is ready.
pub fn epoll_wait(epfd: i32) -> Result<Vec<(u64, u32)>, Errno> {
    let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 64];
    // SAFETY: the array is owned by this frame and its length is passed.
    let n = check(unsafe { libc::epoll_wait(epfd, evs.as_mut_ptr(), 64, -1) } as isize)?;
    Ok(evs[..n as usize]
        .iter()
        .map(|e| (e.u64, e.events))
        .collect())
}
