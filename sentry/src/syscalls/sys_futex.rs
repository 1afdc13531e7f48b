//! futex(2): WAIT, WAKE, their BITSET forms, REQUEUE, CMP_REQUEUE and WAKE_OP, private and
//! shared keys (`crate::futex`). The PI operations are ENOSYS (the table says so).

use crate::futex::Futexes;
use crate::task::Task;
use std::time::Instant;
use syscalls_table::Errno;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// The deadline of a futex timeout: relative for FUTEX_WAIT, absolute on the chosen clock
/// for FUTEX_WAIT_BITSET.
fn deadline(t: &Task, addr: u64, absolute: bool, clock: i32) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = super::sys_time::read_timespec(t, addr)?;
    super::sys_time::to_deadline(clock, &ts, absolute).map(Some)
}

/// futex(2).
pub fn futex(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uaddr, op, val, timeout, uaddr2, val3) =
        (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT {
        return Err(Errno::ENOSYS);
    }
    let f: &Futexes = &t.k.futexes;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT_BITSET { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let clock = if op & FUTEX_CLOCK_REALTIME != 0 {
                libc::CLOCK_REALTIME
            } else {
                libc::CLOCK_MONOTONIC
            };
            let key = Futexes::key(&t.mm, uaddr, private)?;
            let d = deadline(t, timeout, cmd == FUTEX_WAIT_BITSET, clock)?;
            f.wait(&t.mm, key, uaddr, val, bitset, d).map(|_| 0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE_BITSET { val3 } else { u32::MAX };
            if bitset == 0 {
                return Err(Errno::EINVAL);
            }
            let key = Futexes::key(&t.mm, uaddr, private)?;
            Ok(u64::from(f.wake(key, val, bitset)))
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // val2 (the requeue count) travels in the timeout argument.
            let nmove = timeout as u32;
            if (val as i32) < 0 || (nmove as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            let cmp = (cmd == FUTEX_CMP_REQUEUE).then_some((uaddr, val3));
            f.requeue(&t.mm, k1, k2, val, nmove, cmp).map(u64::from)
        }
        FUTEX_WAKE_OP => {
            let k1 = Futexes::key(&t.mm, uaddr, private)?;
            let k2 = Futexes::key(&t.mm, uaddr2, private)?;
            f.wake_op(&t.mm, k1, k2, uaddr2, val, timeout as u32, val3)
                .map(u64::from)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// Wakes one waiter of the futex at `addr` (clear_child_tid on thread exit).
pub fn wake_one(t: &Task, addr: u64) {
    if let Ok(key) = Futexes::key(&t.mm, addr, false) {
        t.k.futexes.wake(key, 1, u32::MAX);
    }
}

/// Linux's handle_futex_death: a futex word the exiting thread owns gets OWNER_DIED and
/// one waiter is woken.
fn futex_death(t: &Task, addr: u64) {
    const FUTEX_WAITERS: u32 = 0x8000_0000;
    const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    if !addr.is_multiple_of(4) {
        return;
    }
    let segs = t.mm.segments(addr, 4, true);
    let Some(seg) = segs.first().filter(|s| s.len >= 4) else {
        return;
    };
    let tid = t.tid as u32;
    let mut waiters = false;
    let old = crate::host::atomic_update_u32(seg, |v| {
        if v & FUTEX_TID_MASK == tid {
            (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED
        } else {
            v
        }
    });
    if let Some(v) = old
        && v & FUTEX_TID_MASK == tid
    {
        waiters = v & FUTEX_WAITERS != 0;
    }
    if waiters {
        wake_one(t, addr);
    }
}

/// Walks the exiting thread's robust list (set_robust_list(2)): every futex it still
/// holds is marked OWNER_DIED and a waiter woken. Bounded, as Linux (ROBUST_LIST_LIMIT).
pub fn exit_robust_list(t: &Task) {
    const LIMIT: usize = 2048;
    let (head, len) = t.robust_list;
    if head == 0 || len != 24 {
        return;
    }
    let rd = |addr: u64| -> Option<u64> { super::read_u64(t, addr).ok() };
    let Some(mut entry) = rd(head) else {
        return;
    };
    let Some(offset) = rd(head + 8) else {
        return;
    };
    let pending = rd(head + 16).unwrap_or(0) & !1;
    let mut n = 0;
    while entry & !1 != head && n < LIMIT {
        let e = entry & !1;
        if e == 0 {
            break;
        }
        let next = rd(e);
        if e != pending {
            futex_death(t, e.wrapping_add(offset));
        }
        let Some(next) = next else {
            break;
        };
        entry = next;
        n += 1;
    }
    if pending != 0 {
        futex_death(t, pending.wrapping_add(offset));
    }
}
