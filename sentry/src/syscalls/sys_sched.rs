//! Scheduling policies and priorities (sched(7)): sched_setscheduler(2),
//! sched_getscheduler(2), sched_setparam(2), sched_getparam(2), sched_setattr(2),
//! sched_getattr(2), sched_get_priority_max(2)/min, sched_rr_get_interval(2),
//! getpriority(2) and setpriority(2).
//!
//! The attributes are per thread (`crate::sched::SchedAttr` in the task tree), checked
//! and kept as Linux does, and reported back; they do not change how the host schedules
//! the threads that run tasks. Two parts of Linux's interface are refused: SCHED_DEADLINE
//! (EPERM once its parameters are found valid: the sandbox cannot reserve CPU bandwidth,
//! so it answers as Linux does a caller without CAP_SYS_NICE) and utilization clamps
//! (EOPNOTSUPP, as a kernel built without CONFIG_UCLAMP_TASK).

use super::write_u32;
use crate::mm::TASK_SIZE;
use crate::sched::{
    MAX_RT_PRIORITY, SCHED_BATCH, SCHED_DEADLINE, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER,
    SCHED_RESET_ON_FORK, SCHED_RR, SchedAttr, clamp_slice, fair_policy, host, rt_policy,
    valid_policy,
};
use crate::task::Task;
use crate::tasks::Tree;
use syscalls_table::Errno;

/// SCHED_EXT: sched_get_priority_max/min know it whether or not the kernel has it.
const SCHED_EXT: u32 = 7;

const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAG_KEEP_POLICY: u64 = 0x08;
const SCHED_FLAG_KEEP_PARAMS: u64 = 0x10;
const SCHED_FLAG_UTIL_CLAMP: u64 = 0x20 | 0x40;
/// Every flag of the interface (RECLAIM and DL_OVERRUN are SCHED_DEADLINE's).
const SCHED_FLAG_ALL: u64 = 0x7f;
/// The flag of the kernel's own frequency-governor threads.
const SCHED_FLAG_SUGOV: u64 = 0x1000_0000;

/// The sizes of `struct sched_attr`: the first version, and this kernel's (with the
/// utilization clamps).
const SCHED_ATTR_SIZE_VER0: u32 = 48;
const SCHED_ATTR_SIZE_VER1: u32 = 56;
const PAGE_SIZE: u32 = 4096;

/// Linux's MIN_NICE..MAX_NICE.
fn clamp_nice(n: i64) -> i32 {
    n.clamp(-20, 19) as i32
}

/// The task a scheduling call names: the caller for 0, else any thread (or a zombie
/// process's leader) by its id; EINVAL for a negative id, ESRCH when there is none.
fn find_task(t: &Task, tree: &Tree, pid: u64) -> Result<i32, Errno> {
    let pid = pid as i32;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid == 0 {
        return Ok(t.tid);
    }
    tree.sched_of(pid).map(|_| pid).ok_or(Errno::ESRCH)
}

/// Who is asking: its effective uid, and whether it has CAP_SYS_NICE (root in the
/// sandbox does).
#[derive(Clone, Copy)]
struct Caller {
    euid: u32,
    privileged: bool,
}

fn caller(t: &Task) -> Caller {
    Caller {
        euid: t.creds.uid,
        privileged: t.capable(crate::caps::CAP_SYS_NICE),
    }
}

/// Whether `c` may change task `tid` without privilege: its real or effective uid is
/// the caller's effective uid (check_same_owner, set_one_prio_perm).
fn same_owner(tree: &Tree, c: Caller, tid: i32) -> bool {
    tree.tgid_of(tid)
        .and_then(|g| tree.groups.get(&g))
        .is_some_and(|g| g.uid == c.euid || g.euid == c.euid)
}

/// The soft limit `res` of the process of task `tid` (task_rlimit).
fn target_rlimit(tree: &Tree, tid: i32, res: u32) -> u64 {
    tree.tgid_of(tid)
        .and_then(|g| tree.groups.get(&g))
        .map_or(0, |g| {
            g.info.rlimits.lock().unwrap_or_else(|e| e.into_inner())[res as usize].0
        })
}

/// Whether RLIMIT_NICE lets task `tid` go to `nice` (is_nice_reduction).
fn nice_allowed(tree: &Tree, tid: i32, nice: i32) -> bool {
    (20 - nice as i64) as u64 <= target_rlimit(tree, tid, libc::RLIMIT_NICE)
}

/// What a scheduling change asks for (`struct sched_attr` as the kernel checks it).
#[derive(Clone, Copy, Debug, Default)]
struct Request {
    /// None: keep the policy (sched_setparam, SCHED_FLAG_KEEP_POLICY).
    policy: Option<u32>,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// Whether SCHED_DEADLINE parameters are acceptable (__checkparam_dl): a deadline,
/// runtime ≤ deadline ≤ period, a runtime of at least 1024 ns, a period in the host's
/// bounds, no value with the top bit set.
fn deadline_params_ok(r: &Request) -> bool {
    if r.deadline == 0 || r.runtime < 1 << 10 {
        return false;
    }
    if r.deadline & (1 << 63) != 0 || r.period & (1 << 63) != 0 {
        return false;
    }
    let period = if r.period == 0 { r.deadline } else { r.period };
    if period < r.deadline || r.deadline < r.runtime {
        return false;
    }
    let h = host();
    (h.dl_period_min_ns..=h.dl_period_max_ns).contains(&period)
}

/// The checks a caller without CAP_SYS_NICE is held to (user_check_sched_setscheduler):
/// no lower nice value than RLIMIT_NICE allows, real-time policies and priorities only
/// within RLIMIT_RTPRIO, no SCHED_DEADLINE, leaving SCHED_IDLE only as RLIMIT_NICE
/// allows, only its own tasks, and no clearing of reset-on-fork.
fn user_check(
    tree: &Tree,
    c: Caller,
    tid: i32,
    cur: &SchedAttr,
    policy: u32,
    r: &Request,
    reset_on_fork: bool,
) -> Result<(), Errno> {
    if c.privileged {
        return Ok(());
    }
    if fair_policy(policy) && r.nice < cur.nice && !nice_allowed(tree, tid, r.nice) {
        return Err(Errno::EPERM);
    }
    if rt_policy(policy) {
        let rtprio = target_rlimit(tree, tid, libc::RLIMIT_RTPRIO);
        if policy != cur.policy && rtprio == 0 {
            return Err(Errno::EPERM);
        }
        if r.priority > cur.rt_priority && r.priority as u64 > rtprio {
            return Err(Errno::EPERM);
        }
    }
    if policy == SCHED_DEADLINE {
        return Err(Errno::EPERM);
    }
    if cur.policy == SCHED_IDLE && policy != SCHED_IDLE && !nice_allowed(tree, tid, cur.nice) {
        return Err(Errno::EPERM);
    }
    if !same_owner(tree, c, tid) {
        return Err(Errno::EPERM);
    }
    if cur.reset_on_fork && !reset_on_fork {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Applies `r` to task `tid` as __sched_setscheduler does: the policy and priority must
/// agree (1..=99 for SCHED_FIFO/SCHED_RR, 0 otherwise), unknown policies and flags are
/// EINVAL, then the permission checks; SCHED_FLAG_KEEP_PARAMS changes only the
/// reset-on-fork flag.
fn set_scheduler(tree: &mut Tree, c: Caller, tid: i32, r: &Request) -> Result<(), Errno> {
    let cur = tree.sched_of(tid).ok_or(Errno::ESRCH)?;
    let (policy, reset_on_fork) = match r.policy {
        None => (cur.policy, cur.reset_on_fork),
        Some(p) => {
            if !valid_policy(p) {
                return Err(Errno::EINVAL);
            }
            (p, r.flags & SCHED_FLAG_RESET_ON_FORK != 0)
        }
    };
    if r.flags & !(SCHED_FLAG_ALL | SCHED_FLAG_SUGOV) != 0 {
        return Err(Errno::EINVAL);
    }
    if r.priority > MAX_RT_PRIORITY {
        return Err(Errno::EINVAL);
    }
    if (policy == SCHED_DEADLINE && !deadline_params_ok(r))
        || rt_policy(policy) != (r.priority != 0)
    {
        return Err(Errno::EINVAL);
    }
    user_check(tree, c, tid, &cur, policy, r, reset_on_fork)?;
    if r.flags & SCHED_FLAG_SUGOV != 0 {
        return Err(Errno::EINVAL);
    }
    if r.flags & SCHED_FLAG_UTIL_CLAMP != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // The sandbox has no deadline bandwidth to give (see the module comment).
    if policy == SCHED_DEADLINE {
        return Err(Errno::EPERM);
    }
    let s = tree.sched_mut(tid).ok_or(Errno::ESRCH)?;
    s.reset_on_fork = reset_on_fork;
    if r.flags & SCHED_FLAG_KEEP_PARAMS == 0 {
        s.policy = policy;
        if fair_policy(policy) {
            s.nice = r.nice;
            s.custom_slice = (r.runtime != 0).then(|| clamp_slice(r.runtime));
        }
        s.rt_priority = r.priority;
    }
    Ok(())
}

/// The priority of a `struct sched_param` (an int; negative values become large and
/// fail the range check, as in Linux).
fn read_param(t: &Task, addr: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    t.mm.copy_in(addr, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// sched_setscheduler(2) and sched_setparam(2) (`policy` None): the nice value and a
/// requested slice stay as they are.
fn do_setscheduler(t: &Task, pid: u64, policy: Option<u32>, param: u64) -> Result<u64, Errno> {
    if param == 0 || (pid as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let priority = read_param(t, param)?;
    let c = caller(t);
    let mut tree = t.tree();
    let tid = find_task(t, &tree, pid)?;
    let cur = tree.sched_of(tid).ok_or(Errno::ESRCH)?;
    let mut r = Request {
        policy,
        priority,
        nice: cur.nice,
        runtime: cur.custom_slice.unwrap_or(0),
        ..Default::default()
    };
    // The legacy way to ask for reset-on-fork: a flag in the policy.
    if let Some(p) = policy
        && p & SCHED_RESET_ON_FORK != 0
    {
        r.flags |= SCHED_FLAG_RESET_ON_FORK;
        r.policy = Some(p & !SCHED_RESET_ON_FORK);
    }
    set_scheduler(&mut tree, c, tid, &r).map(|_| 0)
}

/// sched_setscheduler(2).
pub fn sched_setscheduler(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let policy = a[1] as i32;
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    do_setscheduler(t, a[0], Some(policy as u32), a[2])
}

/// sched_setparam(2).
pub fn sched_setparam(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_setscheduler(t, a[0], None, a[1])
}

/// sched_getscheduler(2): the policy, with SCHED_RESET_ON_FORK when the flag is set.
pub fn sched_getscheduler(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tree = t.tree();
    let tid = find_task(t, &tree, a[0])?;
    let s = tree.sched_of(tid).ok_or(Errno::ESRCH)?;
    let flag = if s.reset_on_fork {
        SCHED_RESET_ON_FORK
    } else {
        0
    };
    Ok((s.policy | flag) as u64)
}

/// sched_getparam(2): the real-time priority (0 under the other policies).
pub fn sched_getparam(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[1] == 0 || (a[0] as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let prio = {
        let tree = t.tree();
        let tid = find_task(t, &tree, a[0])?;
        let s = tree.sched_of(tid).ok_or(Errno::ESRCH)?;
        if rt_policy(s.policy) {
            s.rt_priority
        } else {
            0
        }
    };
    write_u32(t, a[1], prio).map(|_| 0)
}

/// Reads a `struct sched_attr` as sched_copy_attr does: a size of 0 means the first
/// version; a size under it or over a page, or bytes this kernel does not know that are
/// not zero, are E2BIG with this kernel's size written back.
fn read_attr(t: &Task, addr: u64) -> Result<Request, Errno> {
    let mut size = {
        let mut b = [0u8; 4];
        t.mm.copy_in(addr, &mut b)?;
        u32::from_le_bytes(b)
    };
    if size == 0 {
        size = SCHED_ATTR_SIZE_VER0;
    }
    let too_big = |t: &Task| {
        let _ = write_u32(t, addr, SCHED_ATTR_SIZE_VER1);
        Errno::E2BIG
    };
    if !(SCHED_ATTR_SIZE_VER0..=PAGE_SIZE).contains(&size) {
        return Err(too_big(t));
    }
    if size > SCHED_ATTR_SIZE_VER1 {
        let mut tail = vec![0u8; (size - SCHED_ATTR_SIZE_VER1) as usize];
        t.mm.copy_in(addr + SCHED_ATTR_SIZE_VER1 as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(too_big(t));
        }
    }
    let mut b = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
    let n = size.min(SCHED_ATTR_SIZE_VER1) as usize;
    t.mm.copy_in(addr, &mut b[..n])?;
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | u64::from(u32_at(o + 4)) << 32;
    let flags = u64_at(8);
    if flags & SCHED_FLAG_UTIL_CLAMP != 0 && size < SCHED_ATTR_SIZE_VER1 {
        return Err(Errno::EINVAL);
    }
    let r = Request {
        policy: Some(u32_at(4)),
        flags,
        nice: clamp_nice(u32_at(16) as i32 as i64),
        priority: u32_at(20),
        runtime: u64_at(24),
        deadline: u64_at(32),
        period: u64_at(40),
    };
    Ok(r)
}

/// sched_setattr(2).
pub fn sched_setattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, uattr, flags) = (a[0], a[1], a[2] as u32);
    if uattr == 0 || (pid as i32) < 0 || flags != 0 {
        return Err(Errno::EINVAL);
    }
    let mut r = read_attr(t, uattr)?;
    if r.policy.is_some_and(|p| (p as i32) < 0) {
        return Err(Errno::EINVAL);
    }
    if r.flags & SCHED_FLAG_KEEP_POLICY != 0 {
        r.policy = None;
    }
    let c = caller(t);
    let mut tree = t.tree();
    let tid = find_task(t, &tree, pid)?;
    if r.flags & SCHED_FLAG_KEEP_PARAMS != 0 {
        // The task's own parameters take the place of the caller's (get_params).
        let cur = tree.sched_of(tid).ok_or(Errno::ESRCH)?;
        if rt_policy(cur.policy) {
            r.priority = cur.rt_priority;
        } else {
            r.nice = cur.nice;
            r.runtime = cur.slice();
        }
    }
    set_scheduler(&mut tree, c, tid, &r).map(|_| 0)
}

/// sched_getattr(2): the task's attributes in this kernel's 56-byte struct, of which
/// `size` bytes are written (the rest of a larger buffer is cleared), with the struct's
/// `size` field set to min(size, 56). The size must be 48..=4096 and the flags 0.
pub fn sched_getattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, uattr, usize, flags) = (a[0], a[1], a[2] as u32, a[3] as u32);
    if uattr == 0
        || (pid as i32) < 0
        || !(SCHED_ATTR_SIZE_VER0..=PAGE_SIZE).contains(&usize)
        || flags != 0
    {
        return Err(Errno::EINVAL);
    }
    let s = {
        let tree = t.tree();
        let tid = find_task(t, &tree, pid)?;
        tree.sched_of(tid).ok_or(Errno::ESRCH)?
    };
    if uattr
        .checked_add(u64::from(usize))
        .is_none_or(|end| end > TASK_SIZE)
    {
        return Err(Errno::EFAULT);
    }
    let size = usize.min(SCHED_ATTR_SIZE_VER1);
    let mut b = [0u8; SCHED_ATTR_SIZE_VER1 as usize];
    b[0..4].copy_from_slice(&size.to_le_bytes());
    b[4..8].copy_from_slice(&s.policy.to_le_bytes());
    let flags = if s.reset_on_fork {
        SCHED_FLAG_RESET_ON_FORK
    } else {
        0
    };
    b[8..16].copy_from_slice(&flags.to_le_bytes());
    if rt_policy(s.policy) {
        b[20..24].copy_from_slice(&s.rt_priority.to_le_bytes());
    } else {
        b[16..20].copy_from_slice(&s.nice.to_le_bytes());
        b[24..32].copy_from_slice(&s.slice().to_le_bytes());
    }
    // Deadline parameters and utilization clamps stay 0: neither is ever set.
    // A larger buffer than this kernel's struct is cleared past it first
    // (copy_struct_to_user).
    if usize > SCHED_ATTR_SIZE_VER1 {
        let zeros = vec![0u8; (usize - SCHED_ATTR_SIZE_VER1) as usize];
        t.mm.copy_out(uattr + u64::from(SCHED_ATTR_SIZE_VER1), &zeros)?;
    }
    t.mm.copy_out(uattr, &b[..size as usize]).map(|_| 0)
}

/// The priority range of a policy (an int).
fn priority_range(policy: u64) -> Result<(u64, u64), Errno> {
    match policy as i32 as u32 {
        SCHED_FIFO | SCHED_RR => Ok((1, MAX_RT_PRIORITY as u64)),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE | SCHED_EXT => Ok((0, 0)),
        _ => Err(Errno::EINVAL),
    }
}

/// sched_get_priority_max(2).
pub fn sched_get_priority_max(_t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    priority_range(a[0]).map(|r| r.1)
}

/// sched_get_priority_min(2).
pub fn sched_get_priority_min(_t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    priority_range(a[0]).map(|r| r.0)
}

/// sched_rr_get_interval(2): SCHED_RR's time slice, a fair policy's slice in whole
/// ticks, 0 for SCHED_FIFO (`SchedAttr::rr_interval_ns`).
pub fn sched_rr_get_interval(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let ns = {
        let tree = t.tree();
        let tid = find_task(t, &tree, a[0])?;
        tree.sched_of(tid).ok_or(Errno::ESRCH)?.rr_interval_ns()
    };
    let mut ts = [0u8; 16];
    ts[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    ts[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    t.mm.copy_out(a[1], &ts).map(|_| 0)
}

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// The threads of process `tgid` (with its leader when only a zombie of it is left).
fn threads_of(tree: &Tree, tgid: i32) -> Vec<i32> {
    let Some(g) = tree.groups.get(&tgid) else {
        return Vec::new();
    };
    let mut v = g.threads.clone();
    if !tree.tasks.contains_key(&tgid) && g.leader_sched.is_some() {
        v.push(tgid);
    }
    v
}

/// The threads a getpriority/setpriority target names: one thread (PRIO_PROCESS), every
/// thread of a process group or of a real uid's processes; ESRCH when none.
fn prio_targets(t: &Task, tree: &Tree, which: u64, who: u64) -> Result<Vec<i32>, Errno> {
    let who = who as u32 as i32;
    let v: Vec<i32> = match which as i32 {
        PRIO_PROCESS => {
            if who == 0 {
                vec![t.tid]
            } else if who > 0 && tree.sched_of(who).is_some() {
                vec![who]
            } else {
                Vec::new()
            }
        }
        PRIO_PGRP => {
            let pg = if who == 0 {
                tree.groups.get(&t.tgid).map_or(0, |g| g.pgid)
            } else {
                who
            };
            tree.groups
                .values()
                .filter(|g| pg > 0 && g.pgid == pg)
                .flat_map(|g| threads_of(tree, g.tgid))
                .collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { t.creds.ruid } else { who as u32 };
            tree.groups
                .values()
                .filter(|g| g.uid == uid)
                .flat_map(|g| threads_of(tree, g.tgid))
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}

/// getpriority(2): 20 − the lowest nice value among the targets, as the raw syscall
/// returns it.
pub fn getpriority(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tree = t.tree();
    let targets = prio_targets(t, &tree, a[0], a[1])?;
    let nice = targets
        .iter()
        .filter_map(|&tid| tree.sched_of(tid).map(|s| s.nice))
        .min()
        .unwrap_or(0);
    Ok((20 - nice) as u64)
}

/// setpriority(2): the nice value (clamped to −20..19) of every target. Changing
/// another user's task needs privilege (EPERM); lowering the value needs privilege or
/// room in the target's RLIMIT_NICE (EACCES). The last failure is the result.
pub fn setpriority(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let nice = clamp_nice(a[2] as i32 as i64);
    let c = caller(t);
    let mut tree = t.tree();
    let targets = prio_targets(t, &tree, a[0], a[1])?;
    let mut err = None;
    for tid in targets {
        let Some(cur) = tree.sched_of(tid) else {
            continue;
        };
        if !c.privileged && !same_owner(&tree, c, tid) {
            err = Some(Errno::EPERM);
            continue;
        }
        if nice < cur.nice && !c.privileged && !nice_allowed(&tree, tid, nice) {
            err = Some(Errno::EACCES);
            continue;
        }
        if let Some(s) = tree.sched_mut(tid) {
            s.nice = nice;
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
