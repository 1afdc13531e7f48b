//! futex(2): WAIT, WAKE, their BITSET forms, REQUEUE, CMP_REQUEUE, WAKE_OP, the PI
//! operations (LOCK_PI, LOCK_PI2, UNLOCK_PI, TRYLOCK_PI, WAIT_REQUEUE_PI,
//! CMP_REQUEUE_PI), private and shared keys; futex_waitv(2) and the futex2 calls
//! futex_wake, futex_wait and futex_requeue (`crate::futex`). Robust lists and PI
//! futexes are released when a thread exits or execs.

use crate::futex::{FUTEX_OWNER_DIED, FUTEX_TID_MASK, FUTEX_WAITERS, Futexes, Key, PiCaller};
use crate::task::Task;
use crate::tasks;
use std::sync::atomic::Ordering;
use std::time::Instant;
use syscalls_table::Errno;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_UNLOCK_PI: u64 = 7;
const FUTEX_TRYLOCK_PI: u64 = 8;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
const FUTEX_CMP_REQUEUE_PI: u64 = 12;
const FUTEX_LOCK_PI2: u64 = 13;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// futex2 flags (struct futex_waitv's `flags`, futex_wake/futex_wait's `flags`).
const FUTEX2_SIZE_MASK: u32 = 0x03;
const FUTEX2_SIZE_U32: u32 = 0x02;
const FUTEX2_NUMA: u32 = 0x04;
const FUTEX2_MPOL: u32 = 0x08;
const FUTEX2_PRIVATE: u32 = 128;
const FUTEX2_VALID: u32 = FUTEX2_SIZE_MASK | FUTEX2_NUMA | FUTEX2_MPOL | FUTEX2_PRIVATE;
/// The most entries futex_waitv takes.
const FUTEX_WAITV_MAX: u64 = 128;
/// The "no node" value of a FUTEX2_NUMA futex's node word.
const FUTEX_NO_NODE: u32 = u32::MAX;

/// The deadline of a futex timeout: relative, or absolute on `clock`.
fn deadline(t: &Task, addr: u64, absolute: bool, clock: i32) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = super::sys_time::read_timespec(t, addr)?;
    super::sys_time::to_deadline(clock, &ts, absolute).map(Some)
}

/// The live threads as PI futexes see them: the memory manager of a thread whose
/// futex exit has not run.
fn live_thread(t: &Task, tid: i32) -> Option<usize> {
    let tree = tasks::lock(&t.k.tree);
    tree.tasks
        .get(&tid)
        .filter(|e| !e.shared.futex_exited.load(Ordering::SeqCst))
        .map(|e| e.mm_id)
}

/// futex(2).
pub fn futex(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uaddr, op, val, timeout, uaddr2, val3) =
        (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        )
    {
        return Err(Errno::ENOSYS);
    }
    // The timeout: relative for FUTEX_WAIT; absolute for the others that take one, on
    // CLOCK_REALTIME for LOCK_PI, else on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME.
    let clock = if realtime || cmd == FUTEX_LOCK_PI {
        libc::CLOCK_REALTIME
    } else {
        libc::CLOCK_MONOTONIC
    };
    let d = match cmd {
        FUTEX_WAIT => deadline(t, timeout, false, clock)?,
        FUTEX_WAIT_BITSET | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_REQUEUE_PI => {
            deadline(t, timeout, true, clock)?
        }
        _ => None,
    };
    let f: &Futexes = &t.k.futexes;
    let threads = |tid: i32| live_thread(t, tid);
    let caller = PiCaller {
        mm: &t.mm,
        tid: t.tid,
        private,
        threads: &threads,
    };
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT_BITSET { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let key = Futexes::key(&t.mm, uaddr, private)?;
            f.wait(&t.mm, key, uaddr, val, bitset, d).map(|_| 0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE_BITSET { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let key = Futexes::key(&t.mm, uaddr, private)?;
            f.wake(key, val as i32, bitset).map(u64::from)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // val2 (the requeue count) travels in the timeout argument.
            let nr_requeue = timeout as u32 as i32;
            if (val as i32) < 0 || nr_requeue < 0 {
                return Err(Errno::EINVAL);
            }
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            let cmp = (cmd == FUTEX_CMP_REQUEUE).then_some((uaddr, val3));
            f.requeue(&t.mm, k1, k2, val as i32, nr_requeue, cmp)
                .map(u64::from)
        }
        FUTEX_WAKE_OP => {
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            f.wake_op(&t.mm, k1, k2, uaddr2, val as i32, timeout as u32 as i32, val3)
                .map(u64::from)
        }
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_TRYLOCK_PI => {
            let key = Futexes::key(&t.mm, uaddr, private)?;
            f.lock_pi(&caller, key, uaddr, d, cmd == FUTEX_TRYLOCK_PI)
                .map(|_| 0)
        }
        FUTEX_UNLOCK_PI => f.unlock_pi(&caller, uaddr).map(|_| 0),
        FUTEX_WAIT_REQUEUE_PI => {
            if uaddr == uaddr2 {
                return Err(Errno::EINVAL);
            }
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            if k1 == k2 {
                return Err(Errno::EINVAL);
            }
            f.wait_requeue_pi(&caller, k1, uaddr, val, k2, uaddr2, d)
                .map(|_| 0)
        }
        FUTEX_CMP_REQUEUE_PI => {
            let nr_requeue = timeout as u32 as i32;
            if (val as i32) < 0 || nr_requeue < 0 {
                return Err(Errno::EINVAL);
            }
            // Linux wakes at most one waiter here, and only by giving it the lock.
            if uaddr == uaddr2 || val != 1 {
                return Err(Errno::EINVAL);
            }
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            if k1 == k2 {
                return Err(Errno::EINVAL);
            }
            f.cmp_requeue_pi(&caller, k1, uaddr, k2, uaddr2, nr_requeue, val3)
                .map(u64::from)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// A futex2 `flags` value (futex_waitv entries, futex_wake, futex_wait): only 32-bit
/// futexes exist; unknown bits are EINVAL.
fn futex2_flags(flags: u32) -> Result<(), Errno> {
    if flags & !FUTEX2_VALID != 0 || flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The key of a futex2 word. A FUTEX2_NUMA futex is followed by a node word (so it is
/// 8-aligned); the sandbox has one node, 0, which a node word of -1 is set to.
fn futex2_key(t: &Task, addr: u64, flags: u32) -> Result<Key, Errno> {
    if flags & FUTEX2_NUMA != 0 {
        if !addr.is_multiple_of(8) {
            return Err(Errno::EINVAL);
        }
        if addr >= crate::mm::TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        let mut b = [0u8; 4];
        t.mm.copy_in(addr + 4, &mut b)?;
        match u32::from_le_bytes(b) {
            0 => {}
            FUTEX_NO_NODE => super::write_u32(t, addr + 4, 0)?,
            _ => return Err(Errno::EINVAL),
        }
    }
    Futexes::key(&t.mm, addr, flags & FUTEX2_PRIVATE != 0)
}

/// The deadline of a futex2 timeout: absolute on CLOCK_MONOTONIC or CLOCK_REALTIME (any
/// other clock is EINVAL, checked before the timespec is read).
fn futex2_deadline(t: &Task, addr: u64, clock: i32) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if clock != libc::CLOCK_MONOTONIC && clock != libc::CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    deadline(t, addr, true, clock)
}

/// One `struct futex_waitv` {u64 val; u64 uaddr; u32 flags; u32 __reserved}, checked.
struct WaitvEntry {
    val: u32,
    uaddr: u64,
    flags: u32,
}

fn read_waitv(t: &Task, addr: u64) -> Result<WaitvEntry, Errno> {
    let mut b = [0u8; 24];
    t.mm.copy_in(addr, &mut b)?;
    let val = u64::from_le_bytes(b[0..8].try_into().unwrap_or_default());
    let uaddr = u64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
    let flags = u32::from_le_bytes(b[16..20].try_into().unwrap_or_default());
    let reserved = u32::from_le_bytes(b[20..24].try_into().unwrap_or_default());
    if flags & !FUTEX2_VALID != 0 || reserved != 0 {
        return Err(Errno::EINVAL);
    }
    futex2_flags(flags)?;
    // The value must fit the futex's size.
    let val = u32::try_from(val).map_err(|_| Errno::EINVAL)?;
    Ok(WaitvEntry { val, uaddr, flags })
}

/// futex_waitv(2): waits on up to 128 futexes at once; returns the index of the one
/// woken.
pub fn futex_waitv(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (waiters, nr, flags, timeout, clock) = (a[0], a[1] as u32, a[2] as u32, a[3], a[4] as i32);
    if flags != 0 || nr == 0 || u64::from(nr) > FUTEX_WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let d = futex2_deadline(t, timeout, clock)?;
    let mut entries = Vec::with_capacity(nr as usize);
    for i in 0..u64::from(nr) {
        let at = waiters.checked_add(i * 24).ok_or(Errno::EFAULT)?;
        entries.push(read_waitv(t, at)?);
    }
    let mut keyed = Vec::with_capacity(entries.len());
    for e in &entries {
        keyed.push((futex2_key(t, e.uaddr, e.flags)?, e.uaddr, e.val, u32::MAX));
    }
    t.k.futexes
        .wait_multiple(&t.mm, &keyed, d)
        .map(|i| i as u64)
}

/// futex_wake(2) (futex2): wakes up to `nr` waiters whose bitset meets `mask`.
pub fn futex_wake(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uaddr, mask, nr, flags) = (a[0], a[1], a[2] as i32, a[3] as u32);
    futex2_flags(flags)?;
    let mask = u32::try_from(mask).map_err(|_| Errno::EINVAL)?;
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    let key = futex2_key(t, uaddr, flags)?;
    if nr == 0 {
        return Ok(0);
    }
    t.k.futexes.wake(key, nr, mask).map(u64::from)
}

/// futex_wait(2) (futex2): FUTEX_WAIT_BITSET with an absolute timeout on a chosen clock.
pub fn futex_wait(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uaddr, val, mask, flags, timeout, clock) =
        (a[0], a[1], a[2], a[3] as u32, a[4], a[5] as i32);
    futex2_flags(flags)?;
    let val = u32::try_from(val).map_err(|_| Errno::EINVAL)?;
    let mask = u32::try_from(mask).map_err(|_| Errno::EINVAL)?;
    let d = futex2_deadline(t, timeout, clock)?;
    if mask == 0 {
        return Err(Errno::EINVAL);
    }
    let key = futex2_key(t, uaddr, flags)?;
    t.k.futexes.wait(&t.mm, key, uaddr, val, mask, d).map(|_| 0)
}

/// futex_requeue(2) (futex2): FUTEX_CMP_REQUEUE described by two futex_waitv entries
/// (the first's value is the expected one); both must have the same flags.
pub fn futex_requeue(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (waiters, flags, nr_wake, nr_requeue) = (a[0], a[1] as u32, a[2] as i32, a[3] as i32);
    if flags != 0 || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let from = read_waitv(t, waiters)?;
    let to = read_waitv(t, waiters.checked_add(24).ok_or(Errno::EFAULT)?)?;
    if from.flags != to.flags || nr_wake < 0 || nr_requeue < 0 {
        return Err(Errno::EINVAL);
    }
    let k1 = futex2_key(t, from.uaddr, from.flags)?;
    let k2 = futex2_key(t, to.uaddr, to.flags)?;
    t.k.futexes
        .requeue(&t.mm, k1, k2, nr_wake, nr_requeue, Some((from.uaddr, from.val)))
        .map(u64::from)
}

/// Wakes one waiter of the futex at `addr` (clear_child_tid on thread exit).
pub fn wake_one(t: &Task, addr: u64) {
    if let Ok(key) = Futexes::key(&t.mm, addr, false) {
        let _ = t.k.futexes.wake(key, 1, u32::MAX);
    }
}

/// Linux's handle_futex_death for the word at `addr`: a futex word the exiting thread
/// owns gets OWNER_DIED (keeping FUTEX_WAITERS) and, unless it is a PI futex (whose
/// waiters the PI hand-off serves), one waiter is woken; a pending non-PI operation on a
/// free word wakes a waiter too. Err when the walk must stop (a misaligned or
/// inaccessible word).
fn futex_death(
    t: &Task,
    addr: u64,
    pi: bool,
    pending: bool,
    wake: &mut dyn FnMut(Key),
) -> Result<(), ()> {
    if !addr.is_multiple_of(4) {
        return Err(());
    }
    let mut b = [0u8; 4];
    t.mm.copy_in(addr, &mut b).map_err(|_| ())?;
    let uval = u32::from_le_bytes(b);
    let mut wake_key = || {
        if let Ok(key) = Futexes::key(&t.mm, addr, false) {
            wake(key);
        }
    };
    if pending && !pi && uval & FUTEX_TID_MASK == 0 {
        wake_key();
        return Ok(());
    }
    let segs = t.mm.segments(addr, 4, true);
    let seg = segs.first().filter(|s| s.len >= 4).ok_or(())?;
    let tid = t.tid as u32;
    let old = crate::host::atomic_update_u32(seg, |v| {
        if v & FUTEX_TID_MASK == tid {
            (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED
        } else {
            v
        }
    })
    .ok_or(())?;
    if old & FUTEX_TID_MASK == tid && !pi && old & FUTEX_WAITERS != 0 {
        wake_key();
    }
    Ok(())
}

/// Walks the exiting thread's robust list (set_robust_list(2)) as Linux's
/// exit_robust_list: every futex it still holds is marked OWNER_DIED and a waiter woken.
/// An entry's bit 0 marks a PI futex. Bounded, as Linux (ROBUST_LIST_LIMIT).
fn exit_robust_list(t: &Task, wake: &mut dyn FnMut(Key)) {
    const LIMIT: usize = 2048;
    let (head, len) = t.robust_list;
    if head == 0 || len != 24 {
        return;
    }
    let rd = |addr: u64| -> Option<u64> { super::read_u64(t, addr).ok() };
    let Some(first) = rd(head) else {
        return;
    };
    let Some(offset) = rd(head.wrapping_add(8)) else {
        return;
    };
    let Some(pending) = rd(head.wrapping_add(16)) else {
        return;
    };
    let (pending, pending_pi) = (pending & !1, pending & 1 != 0);
    let (mut entry, mut pi) = (first & !1, first & 1 != 0);
    let mut limit = LIMIT;
    while entry != head {
        let next = rd(entry);
        if entry != pending && futex_death(t, entry.wrapping_add(offset), pi, false, wake).is_err()
        {
            return;
        }
        let Some(next) = next else {
            return;
        };
        entry = next & !1;
        pi = next & 1 != 0;
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending != 0 {
        let _ = futex_death(t, pending.wrapping_add(offset), pending_pi, true, wake);
    }
}

/// What a thread leaving its memory does to futexes (Linux's futex_exit_release, and
/// futex_exec_release for exec): its robust list is walked and the PI futexes
/// `pi_owner` owns with waiters go to their first waiters with OWNER_DIED. `exiting`:
/// the thread is gone for good, so PI futex words naming it have no live owner.
pub fn release_futexes(t: &Task, pi_owner: i32, exiting: bool) {
    let dead = exiting.then_some(&t.shared.futex_exited);
    t.k.futexes
        .exit(pi_owner, dead, |wake| exit_robust_list(t, wake));
}
