//! The host calls with which a sandbox process and its gofers confine themselves
//! (runsc-cli's `sandbox` module decides what to confine; the unsafe calls live here, with
//! the platform's other raw host calls). Each function takes no pointer from its caller.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn check(r: i64) -> io::Result<i64> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The number of threads of this process (from /proc/self/task), if /proc is there.
pub fn threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// Forks this process, which must have one thread (checked: /proc/self/task, which must
/// be there). `Ok(None)` in the child, `Ok(Some(pid))` in the parent.
pub fn fork_single_threaded() -> io::Result<Option<i32>> {
    match threads() {
        Some(1) => {}
        n => {
            return Err(io::Error::other(format!(
                "fork of a process with {} threads",
                n.map_or("an unknown number of".into(), |n| n.to_string())
            )));
        }
    }
    // SAFETY: the process has one thread, so the child may run any code (no lock can be
    // held by a thread that does not exist in it).
    let pid = check(unsafe { libc::fork() } as i64)?;
    Ok((pid != 0).then_some(pid as i32))
}

/// PR_SET_PDEATHSIG: this process gets `sig` when the thread that forked it exits.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: a process-attribute call without pointers.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong) } as i64).map(drop)
}

/// PR_SET_DUMPABLE 0: no core dumps, and processes without CAP_SYS_PTRACE (a
/// compromised sentry) cannot ptrace this one or read its /proc files.
pub fn set_not_dumpable() -> io::Result<()> {
    // SAFETY: a process-attribute call without pointers.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong) } as i64).map(drop)
}

/// Limits this thread's capabilities to those in `keep` (a mask of capability
/// numbers): the bounding set loses every other one the kernel knows, the ambient set
/// is cleared, the effective and permitted sets become `keep` (as far as the thread has
/// them) and the inheritable set empty. Without CAP_SETPCAP the bounding set is left.
pub fn keep_capabilities(keep: u64) -> io::Result<()> {
    for cap in 0..64u64 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: a process-attribute call without pointers.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong) } != 0 {
            match io::Error::last_os_error().raw_os_error() {
                // Past the last capability this kernel knows; or not allowed to drop.
                Some(libc::EINVAL) | Some(libc::EPERM) => break,
                _ => return Err(io::Error::last_os_error()),
            }
        }
    }
    // SAFETY: a process-attribute call without pointers.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut have = [Data::default(); 2];
    // SAFETY: capget writes two data structs for a v3 header; both live across the call.
    check(unsafe { libc::syscall(libc::SYS_capget, &mut header, have.as_mut_ptr()) })?;
    let mut data = [Data::default(); 2];
    for (i, d) in data.iter_mut().enumerate() {
        let m = (keep >> (32 * i)) as u32 & have[i].permitted;
        d.effective = m;
        d.permitted = m;
    }
    // SAFETY: capset reads a v3 header and two data structs, which live across the call.
    check(unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) }).map(drop)
}

/// `mount_setattr("/", AT_RECURSIVE, MOUNT_ATTR_RDONLY)`: every mount of this mount
/// namespace's tree becomes read-only.
pub fn make_root_read_only_recursive() -> io::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_RDONLY: u64 = 1;
    const AT_RECURSIVE: u32 = 0x8000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr reads `attr` (of the size passed) and a NUL-terminated path,
    // both alive across the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            AT_RECURSIVE,
            &attr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// A pidfd of process `pid` (readable once it has exited).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes no pointer.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: a fresh descriptor, owned from here on.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits until one of `fds` is readable (or hung up); returns which are.
pub fn poll_readable(fds: &[BorrowedFd<'_>]) -> io::Result<Vec<bool>> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: poll reads and writes `p.len()` pollfd structs, which live across the call.
    check(unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, -1) } as i64)?;
    Ok(p.iter().map(|x| x.revents != 0).collect())
}

/// glibc's M_ARENA_MAX: with it set, malloc never reads /sys to size its arenas.
pub fn set_malloc_arena_max(n: usize) {
    // SAFETY: mallopt with an integer parameter.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, n.min(i32::MAX as usize) as i32) };
}

/// Makes one of the syscalls a confined sentry must never make, with harmless arguments
/// (a test of its seccomp filter: the process should die before it returns). Returns
/// what it returned, or None for a name this function does not probe.
pub fn probe(name: &str) -> Option<(i64, io::Error)> {
    let root = c"/".as_ptr() as u64;
    let (nr, args): (i64, [u64; 6]) = match name {
        "open" => (libc::SYS_open, [root, libc::O_RDONLY as u64, 0, 0, 0, 0]),
        "openat" => (
            libc::SYS_openat,
            [libc::AT_FDCWD as u64, root, libc::O_RDONLY as u64, 0, 0, 0],
        ),
        // A path and empty argument and environment vectors.
        "execve" => (
            libc::SYS_execve,
            [c"/bin/true".as_ptr() as u64, 0, 0, 0, 0, 0],
        ),
        "socket" => (
            libc::SYS_socket,
            [libc::AF_INET as u64, libc::SOCK_STREAM as u64, 0, 0, 0, 0],
        ),
        "mount" => (libc::SYS_mount, [root, root, 0, libc::MS_BIND, 0, 0]),
        // A foreign pid (one that cannot exist, so that a filter that let the call
        // through harms nothing: ESRCH).
        "ptrace" => (
            libc::SYS_ptrace,
            [libc::PTRACE_ATTACH as u64, i32::MAX as u64, 0, 0, 0, 0],
        ),
        // No segments.
        "kexec_load" => (libc::SYS_kexec_load, [0; 6]),
        _ => return None,
    };
    // SAFETY: every argument is a plain number, NULL, or a pointer to a static
    // NUL-terminated string; none of these calls writes through its arguments.
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    Some((r, io::Error::last_os_error()))
}

/// The CPUs this thread may run on (its affinity mask), in ascending order; just CPU 0
/// if the mask cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: sched_getaffinity writes at most `size` bytes into `set`.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return vec![0];
    }
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, inside the set.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect();
    if cpus.is_empty() { vec![0] } else { cpus }
}

/// Lets thread `tid` (0: the calling thread) run only on `cpus` (host CPU numbers).
/// Best effort: a thread that is gone, or a CPU taken away meanwhile, only costs the
/// placement it was for.
pub fn pin(tid: i32, cpus: &[usize]) {
    // SAFETY: as in `allowed_cpus`.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
        // SAFETY: `c` is below CPU_SETSIZE, inside the set.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: sched_setaffinity reads `size` bytes from `set`.
    unsafe { libc::sched_setaffinity(tid, size, &set) };
}
