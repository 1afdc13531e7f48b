//! Process identity and control: arch_prctl(2), prctl(2), set_tid_address(2),
//! set_robust_list(2), rseq(2), uname(2), sysinfo(2), the get*id family, process groups
//! and sessions, rlimits, CPU affinity, getcpu(2), getrandom(2). (exit and friends are in
//! `sys_clone`; scheduling policies and priorities in `sys_sched`.)

use super::{read_u64, write_u32, write_u64};
use crate::caps;
use crate::host;
use crate::loader::{RSEQ_ALIGN, RSEQ_FEATURE_SIZE};
use crate::mm::TASK_SIZE;
use crate::task::Task;
use syscalls_table::Errno;

/// arch_prctl(2).
pub fn arch_prctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const SET_GS: u64 = 0x1001;
    const SET_FS: u64 = 0x1002;
    const GET_FS: u64 = 0x1003;
    const GET_GS: u64 = 0x1004;
    const GET_CPUID: u64 = 0x1011;
    const SET_CPUID: u64 = 0x1012;
    match a[0] {
        SET_FS | SET_GS => {
            if a[1] >= TASK_SIZE {
                return Err(Errno::EPERM);
            }
            if a[0] == SET_FS {
                t.cpu.regs.fs_base = a[1];
            } else {
                if a[1] != 0 {
                    // Patched sites reach the platform through GS: the application
                    // takes it, so they are undone first (mm::patch).
                    t.mm.unpatch_all(false);
                }
                t.cpu.regs.gs_base = a[1];
            }
            Ok(0)
        }
        GET_FS => write_u64(t, a[1], t.cpu.regs.fs_base).map(|_| 0),
        GET_GS => write_u64(t, a[1], t.cpu.regs.gs_base).map(|_| 0),
        // CPUID is never faulting here.
        GET_CPUID => Ok(1),
        SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

/// A capability number prctl(2) accepts (cap_valid), else EINVAL.
fn valid_cap(v: u64) -> Result<u32, Errno> {
    if v <= u64::from(caps::CAP_LAST_CAP) {
        Ok(v as u32)
    } else {
        Err(Errno::EINVAL)
    }
}

/// PR_CAP_AMBIENT (capabilities(7) "Ambient capability set"): raising needs the
/// capability permitted and inheritable and SECBIT_NO_CAP_AMBIENT_RAISE clear.
fn prctl_ambient(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const IS_SET: u64 = 1;
    const RAISE: u64 = 2;
    const LOWER: u64 = 3;
    const CLEAR_ALL: u64 = 4;
    if a[1] == CLEAR_ALL {
        if a[2] | a[3] | a[4] != 0 {
            return Err(Errno::EINVAL);
        }
        t.creds.caps.ambient = 0;
        t.commit_creds();
        return Ok(0);
    }
    if a[3] | a[4] != 0 {
        return Err(Errno::EINVAL);
    }
    let cap = valid_cap(a[2])?;
    let b = caps::bit(cap);
    let c = t.creds.caps;
    match a[1] {
        IS_SET => Ok(u64::from(c.ambient & b != 0)),
        RAISE => {
            if c.permitted & b == 0
                || c.inheritable & b == 0
                || t.creds.securebits & caps::SECBIT_NO_CAP_AMBIENT_RAISE != 0
            {
                return Err(Errno::EPERM);
            }
            t.creds.caps.ambient |= b;
            t.commit_creds();
            Ok(0)
        }
        LOWER => {
            t.creds.caps.ambient &= !b;
            t.commit_creds();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// prctl(2): the command name (PR_SET_NAME, PR_GET_NAME), capabilities (bounding set,
/// ambient set, keepcaps, securebits) and the options the table lists; others EINVAL.
pub fn prctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_GET_KEEPCAPS: u64 = 7;
    const PR_SET_KEEPCAPS: u64 = 8;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_SECCOMP: u64 = 21;
    const PR_GET_TSC: u64 = 25;
    const PR_SET_TSC: u64 = 26;
    const PR_SET_TIMERSLACK: u64 = 29;
    const PR_GET_TIMERSLACK: u64 = 30;
    const PR_SET_THP_DISABLE: u64 = 41;
    const PR_GET_THP_DISABLE: u64 = 42;
    const PR_GET_NAME: u64 = 16;
    const PR_SET_CHILD_SUBREAPER: u64 = 36;
    const PR_GET_CHILD_SUBREAPER: u64 = 37;
    const PR_SET_NO_NEW_PRIVS: u64 = 38;
    const PR_GET_NO_NEW_PRIVS: u64 = 39;
    const PR_CAPBSET_READ: u64 = 23;
    const PR_CAPBSET_DROP: u64 = 24;
    const PR_GET_SECUREBITS: u64 = 27;
    const PR_SET_SECUREBITS: u64 = 28;
    const PR_CAP_AMBIENT: u64 = 47;
    let tgid = t.tgid;
    match a[0] {
        PR_SET_PDEATHSIG => {
            if a[1] > 64 {
                return Err(Errno::EINVAL);
            }
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.pdeathsig = a[1] as i32;
            }
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let v = t.tree().groups.get(&tgid).map_or(0, |g| g.pdeathsig);
            write_u32(t, a[1], v as u32).map(|_| 0)
        }
        PR_GET_DUMPABLE => Ok(t.tree().groups.get(&tgid).map_or(1, |g| g.dumpable) as u64),
        PR_SET_DUMPABLE => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.dumpable = a[1] as u8;
            }
            Ok(0)
        }
        PR_SET_CHILD_SUBREAPER => {
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.subreaper = a[1] != 0;
            }
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = t.tree().groups.get(&tgid).is_some_and(|g| g.subreaper);
            write_u32(t, a[1], v as u32).map(|_| 0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.no_new_privs = true;
            }
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(t.tree().groups.get(&tgid).is_some_and(|g| g.no_new_privs) as u64)
        }
        PR_SET_NAME => {
            // As strncpy_from_user: byte by byte, at most 15, EFAULT on an unreadable byte.
            let mut name = Vec::new();
            while name.len() < 15 {
                let mut b = [0u8];
                t.mm.copy_in(a[1].wrapping_add(name.len() as u64), &mut b)?;
                if b[0] == 0 {
                    break;
                }
                name.push(b[0]);
            }
            // The name is the thread's; the leader's is the process's (/proc/PID/comm).
            let tid = t.tid;
            t.tree().set_comm(tid, &name);
            Ok(0)
        }
        PR_GET_NAME => {
            let mut out = [0u8; 16];
            let comm = t.comm();
            out[..comm.len()].copy_from_slice(&comm);
            t.mm.copy_out(a[1], &out).map(|_| 0)
        }
        PR_GET_SECCOMP => Ok(0),
        PR_GET_TSC => {
            let v = t.tree().groups.get(&tgid).map_or(1, |g| g.prctl.tsc);
            write_u32(t, a[1], v).map(|_| 0)
        }
        PR_SET_TSC => {
            if a[1] != 1 && a[1] != 2 {
                return Err(Errno::EINVAL);
            }
            // SIGSEGV on rdtsc is not offered: only the default is accepted.
            if a[1] != 1 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        PR_GET_KEEPCAPS => Ok(u64::from(t.creds.securebits & caps::SECBIT_KEEP_CAPS != 0)),
        PR_SET_KEEPCAPS => {
            if a[1] > 1 {
                return Err(Errno::EINVAL);
            }
            if t.creds.securebits & caps::SECBIT_KEEP_CAPS_LOCKED != 0 {
                return Err(Errno::EPERM);
            }
            if a[1] == 1 {
                t.creds.securebits |= caps::SECBIT_KEEP_CAPS;
            } else {
                t.creds.securebits &= !caps::SECBIT_KEEP_CAPS;
            }
            t.commit_creds();
            Ok(0)
        }
        PR_CAPBSET_READ => {
            let cap = valid_cap(a[1])?;
            Ok(u64::from(t.creds.caps.bounding & caps::bit(cap) != 0))
        }
        PR_CAPBSET_DROP => {
            if !t.capable(caps::CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            let cap = valid_cap(a[1])?;
            t.creds.caps.bounding &= !caps::bit(cap);
            t.commit_creds();
            Ok(0)
        }
        PR_GET_SECUREBITS => Ok(u64::from(t.creds.securebits)),
        PR_SET_SECUREBITS => {
            let old = u64::from(t.creds.securebits);
            let locks = old & u64::from(caps::SECURE_ALL_LOCKS);
            let all = u64::from(caps::SECURE_ALL_BITS | caps::SECURE_ALL_LOCKS);
            // No change of a locked bit, no unlocking, no unknown bit, and CAP_SETPCAP.
            if (locks >> 1) & (old ^ a[1]) != 0
                || locks & !a[1] != 0
                || a[1] & !all != 0
                || !t.capable(caps::CAP_SETPCAP)
            {
                return Err(Errno::EPERM);
            }
            t.creds.securebits = a[1] as u32;
            t.commit_creds();
            Ok(0)
        }
        PR_CAP_AMBIENT => prctl_ambient(t, a),
        PR_GET_TIMERSLACK => Ok(t
            .tree()
            .groups
            .get(&tgid)
            .map_or(50_000, |g| g.prctl.timerslack)),
        PR_SET_TIMERSLACK => {
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.prctl.timerslack = if a[1] == 0 { 50_000 } else { a[1] };
            }
            Ok(0)
        }
        PR_GET_THP_DISABLE => {
            if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(t.tree()
                .groups
                .get(&tgid)
                .is_some_and(|g| g.prctl.thp_disable) as u64)
        }
        PR_SET_THP_DISABLE => {
            if a[2] != 0 || a[3] != 0 || a[4] != 0 {
                return Err(Errno::EINVAL);
            }
            if let Some(g) = t.tree().groups.get_mut(&tgid) {
                g.prctl.thp_disable = a[1] != 0;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// set_tid_address(2).
pub fn set_tid_address(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.clear_child_tid = a[0];
    Ok(t.tid as u64)
}

/// set_robust_list(2).
pub fn set_robust_list(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[1] != 24 {
        return Err(Errno::EINVAL);
    }
    t.robust_list = (a[0], a[1]);
    Ok(0)
}

/// get_robust_list(2).
pub fn get_robust_list(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 && a[0] != t.tid as u64 {
        return Err(Errno::ESRCH);
    }
    write_u64(t, a[1], t.robust_list.0)?;
    write_u64(t, a[2], 24)?;
    Ok(0)
}

/// rseq(2). The area is validated and registered as Linux does; it reports virtual CPU 0.
pub fn rseq(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const FLAG_UNREGISTER: u64 = 1;
    let (addr, len, flags, sig) = (a[0], a[1] as u32, a[2], a[3] as u32);
    if flags & FLAG_UNREGISTER != 0 {
        if flags & !FLAG_UNREGISTER != 0 {
            return Err(Errno::EINVAL);
        }
        let Some((raddr, rlen, rsig)) = t.rseq else {
            return Err(Errno::EINVAL);
        };
        if raddr != addr || rlen != len {
            return Err(Errno::EINVAL);
        }
        if rsig != sig {
            return Err(Errno::EPERM);
        }
        // cpu_id = RSEQ_CPU_ID_UNINITIALIZED.
        write_u32(t, addr + 4, u32::MAX)?;
        t.rseq = None;
        return Ok(0);
    }
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((raddr, rlen, rsig)) = t.rseq {
        if raddr != addr || rlen != len {
            return Err(Errno::EINVAL);
        }
        if rsig != sig {
            return Err(Errno::EPERM);
        }
        return Err(Errno::EBUSY);
    }
    // The original 32-byte ABI, or an extended one of at least the feature size.
    let ok_len =
        len == 32 || (len as u64 >= RSEQ_FEATURE_SIZE && (len as u64).is_multiple_of(RSEQ_ALIGN));
    if addr % RSEQ_ALIGN != 0 || !ok_len {
        return Err(Errno::EINVAL);
    }
    // cpu_id_start, cpu_id, rseq_cs, flags, node_id, mm_cid.
    let mut area = [0u8; 28];
    area[16..20].copy_from_slice(&0u32.to_le_bytes());
    t.mm.copy_out(addr, &area[..8])?;
    t.mm.copy_out(addr + 20, &area[20..28])?;
    t.rseq = Some((addr, len, sig));
    Ok(0)
}

/// uname(2): the host's identification, with the sandbox's hostname when it was given
/// one (an OCI bundle's `hostname`); there is no sethostname(2) yet.
pub fn uname(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut u = host::uname();
    if let Some(h) = t.k.processes.hostname.get() {
        // Field 1 (nodename) is 65 bytes, NUL-terminated.
        let f = &mut u[65..130];
        f.fill(0);
        let n = h.len().min(64);
        f[..n].copy_from_slice(&h.as_bytes()[..n]);
    }
    t.mm.copy_out(a[0], &u).map(|_| 0)
}

/// sysinfo(2): the host's figures, with the sandbox's process count.
pub fn sysinfo(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut si = host::sysinfo();
    // `procs` is a u16 at offset 80.
    si[80..82].copy_from_slice(&1u16.to_le_bytes());
    t.mm.copy_out(a[0], &si).map(|_| 0)
}

/// getpid(2): the thread group id; the initial process is pid 1 of its sandbox.
pub fn getpid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.tgid as u64)
}

/// getppid(2): pid 1's parent is outside the sandbox, shown as 0.
pub fn getppid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.tree().groups.get(&t.tgid).map_or(0, |g| g.parent) as u64)
}

/// gettid(2).
pub fn gettid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.tid as u64)
}

/// getuid(2).
pub fn getuid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.creds.ruid as u64)
}

/// geteuid(2).
pub fn geteuid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.creds.uid as u64)
}

/// getgid(2).
pub fn getgid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.creds.rgid as u64)
}

/// getegid(2).
pub fn getegid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.creds.gid as u64)
}

/// getresuid(2).
pub fn getresuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let c = &t.creds;
    for (p, v) in a[..3].iter().zip([c.ruid, c.uid, c.suid]) {
        write_u32(t, *p, v)?;
    }
    Ok(0)
}

/// getresgid(2).
pub fn getresgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let c = &t.creds;
    for (p, v) in a[..3].iter().zip([c.rgid, c.gid, c.sgid]) {
        write_u32(t, *p, v)?;
    }
    Ok(0)
}

/// getgroups(2).
pub fn getgroups(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let size = a[0] as i32;
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let n = t.creds.groups.len();
    if size == 0 {
        return Ok(n as u64);
    }
    if (size as usize) < n {
        return Err(Errno::EINVAL);
    }
    let bytes: Vec<u8> = t
        .creds
        .groups
        .iter()
        .flat_map(|g| g.to_le_bytes())
        .collect();
    t.mm.copy_out(a[1], &bytes)?;
    Ok(n as u64)
}

/// getpgrp(2).
pub fn getpgrp(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(t.tree().groups.get(&t.tgid).map_or(0, |g| g.pgid) as u64)
}

/// The process `pid` names (0: the caller's): a thread's id names its process.
fn target_process(t: &Task, tree: &crate::tasks::Tree, pid: i32) -> Result<i32, Errno> {
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid == 0 {
        return Ok(t.tgid);
    }
    match tree.tasks.get(&pid) {
        Some(e) => Ok(e.tgid),
        None if tree.groups.contains_key(&pid) => Ok(pid),
        None => Err(Errno::ESRCH),
    }
}

/// getpgid(2).
pub fn getpgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tree = t.tree();
    let p = target_process(t, &tree, a[0] as i32)?;
    Ok(tree.groups.get(&p).map_or(0, |g| g.pgid) as u64)
}

/// getsid(2).
pub fn getsid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tree = t.tree();
    let p = target_process(t, &tree, a[0] as i32)?;
    Ok(tree.groups.get(&p).map_or(0, |g| g.sid) as u64)
}

/// setpgid(2), with Linux's rules: the caller or its child, in the caller's session,
/// not a session leader, not a child that has exec'd; the group must exist in the
/// session unless it is the process's own id.
pub fn setpgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, pgid) = (a[0] as i32, a[1] as i32);
    if pgid < 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let mut tree = t.tree();
    let me = t.tgid;
    let target = if pid == 0 { me } else { pid };
    let Some(g) = tree.groups.get(&target) else {
        return Err(Errno::ESRCH);
    };
    if target != me && g.parent != me {
        return Err(Errno::ESRCH);
    }
    let my_sid = tree.groups.get(&me).map_or(0, |g| g.sid);
    if target != me {
        if g.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if g.execed {
            return Err(Errno::EACCES);
        }
    }
    let pgid = if pgid == 0 { target } else { pgid };
    if g.sid == target {
        return Err(Errno::EPERM);
    }
    // A group exists while any member is unreaped, zombies included (find_vpid).
    if pgid != target
        && !tree
            .groups
            .values()
            .any(|x| x.pgid == pgid && x.sid == my_sid)
    {
        return Err(Errno::EPERM);
    }
    if let Some(g) = tree.groups.get_mut(&target) {
        g.pgid = pgid;
        g.info
            .pgid
            .store(pgid, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(0)
}

/// setsid(2): a new session and process group led by the caller, unless it already
/// leads a process group.
pub fn setsid(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    let mut tree = t.tree();
    let me = t.tgid;
    if tree.groups.values().any(|g| g.pgid == me) {
        return Err(Errno::EPERM);
    }
    if let Some(g) = tree.groups.get_mut(&me) {
        g.pgid = me;
        g.sid = me;
        g.info.pgid.store(me, std::sync::atomic::Ordering::Relaxed);
        g.info.sid.store(me, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(me as u64)
}

const RLIM_NLIMITS: u64 = 16;

fn check_pid(t: &Task, pid: u64) -> Result<(), Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid != 0 && pid != t.tid && !t.tree().tasks.contains_key(&pid) {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

fn set_limit(t: &mut Task, res: usize, new: (u64, u64)) -> Result<(), Errno> {
    if new.0 > new.1 {
        return Err(Errno::EINVAL);
    }
    let old = t.rlimits()[res];
    // Raising the hard limit needs CAP_SYS_RESOURCE.
    if new.1 > old.1 && !t.capable(caps::CAP_SYS_RESOURCE) {
        return Err(Errno::EPERM);
    }
    if res == libc::RLIMIT_NOFILE as usize && new.1 > 1 << 20 {
        return Err(Errno::EPERM);
    }
    t.rlimits()[res] = new;
    Ok(())
}

/// prlimit64(2).
pub fn prlimit64(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, res, new, old) = (a[0], a[1], a[2], a[3]);
    if res >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let newv = if new != 0 {
        Some((read_u64(t, new)?, read_u64(t, new + 8)?))
    } else {
        None
    };
    check_pid(t, pid)?;
    let cur = t.rlimits()[res as usize];
    if let Some(v) = newv {
        set_limit(t, res as usize, v)?;
    }
    if old != 0 {
        write_u64(t, old, cur.0)?;
        write_u64(t, old + 8, cur.1)?;
    }
    Ok(0)
}

/// getrlimit(2).
pub fn getrlimit(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let cur = t.rlimits()[a[0] as usize];
    write_u64(t, a[1], cur.0)?;
    write_u64(t, a[1] + 8, cur.1)?;
    Ok(0)
}

/// setrlimit(2).
pub fn setrlimit(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let v = (read_u64(t, a[1])?, read_u64(t, a[1] + 8)?);
    set_limit(t, a[0] as usize, v).map(|_| 0)
}

/// sched_getaffinity(2): the host CPUs the sandbox may run on.
pub fn sched_getaffinity(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    check_pid(t, a[0]).map_err(|e| if e == Errno::EINVAL { Errno::ESRCH } else { e })?;
    let mask = t.affinity.clone();
    let len = a[1] as usize;
    if len < mask.len() || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    t.mm.copy_out(a[2], &mask)?;
    Ok(mask.len() as u64)
}

/// sched_setaffinity(2): the mask is kept (and reported back) but host threads are not
/// pinned.
pub fn sched_setaffinity(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let allowed = host::sched_getaffinity();
    let len = (a[1] as usize).min(allowed.len());
    let mut want = vec![0u8; len];
    t.mm.copy_in(a[2], &mut want)?;
    check_pid(t, a[0]).map_err(|e| if e == Errno::EINVAL { Errno::ESRCH } else { e })?;
    let mut mask = vec![0u8; allowed.len()];
    for (i, m) in mask.iter_mut().enumerate() {
        *m = allowed[i] & want.get(i).copied().unwrap_or(0);
    }
    if mask.iter().all(|&b| b == 0) {
        return Err(Errno::EINVAL);
    }
    t.affinity = mask;
    Ok(0)
}

/// sched_yield(2).
pub fn sched_yield(_t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    host::sched_yield();
    Ok(0)
}

/// getcpu(2): virtual CPU 0, node 0 (consistent with rseq).
pub fn getcpu(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 {
        write_u32(t, a[0], 0)?;
    }
    if a[1] != 0 {
        write_u32(t, a[1], 0)?;
    }
    Ok(0)
}

/// getrandom(2).
pub fn getrandom(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const NONBLOCK: u64 = 1;
    const RANDOM: u64 = 2;
    const INSECURE: u64 = 4;
    let (buf, len, flags) = (a[0], a[1], a[2]);
    if flags & !(NONBLOCK | RANDOM | INSECURE) != 0
        || flags & (RANDOM | INSECURE) == RANDOM | INSECURE
    {
        return Err(Errno::EINVAL);
    }
    // Linux returns at most 32 MiB − 1 bytes per call.
    let len = len.min(0x1ff_ffff) as usize;
    let mut done = 0usize;
    let mut chunk = vec![0u8; len.min(1 << 16)];
    while done < len {
        let n = (len - done).min(chunk.len());
        let got = host::getrandom(&mut chunk[..n], (flags & NONBLOCK) as u32)?;
        if let Err(e) = t.mm.copy_out(buf + done as u64, &chunk[..got]) {
            return if done == 0 { Err(e) } else { Ok(done as u64) };
        }
        done += got;
    }
    Ok(done as u64)
}
