//! Futexes (futex(2)): tasks waiting on a 32-bit word of application memory. A private
//! futex is keyed by its address space and address; a shared one by the memory-file page
//! behind it, so processes mapping the same shared page meet on the same key. Waiters
//! sleep on their task's waiter (`crate::wait`), so signals and exits interrupt them.

use crate::mm::MemoryManager;
use crate::wait::{self, Waiter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use syscalls_table::Errno;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// Address space, address, and whether the caller used the shared (non-private)
    /// form: Linux keeps the two apart even in a private mapping.
    Private(usize, u64, bool),
    Shared(usize),
}

struct FutexWaiter {
    waiter: Arc<Waiter>,
    bitset: u32,
    woken: AtomicBool,
}

#[derive(Default)]
pub struct Futexes {
    queues: Mutex<HashMap<Key, Vec<Arc<FutexWaiter>>>>,
}

impl Futexes {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Vec<Arc<FutexWaiter>>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of the futex word at `addr`. `private`: FUTEX_PRIVATE_FLAG, or a private
    /// mapping. Fails with EFAULT when the word cannot be accessed.
    pub fn key(mm: &Arc<MemoryManager>, addr: u64, private: bool) -> Result<Key, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        if addr >= crate::mm::TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        if private || !mm.is_shared_at(addr) {
            // As Linux, a private key needs no mapping; reading the word may fault.
            return Ok(Key::Private(Arc::as_ptr(mm) as usize, addr, !private));
        }
        let segs = mm.segments(addr, 4, false);
        match segs.first() {
            Some(s) if s.len >= 4 => Ok(Key::Shared(s.ptr as usize)),
            _ => Err(Errno::EFAULT),
        }
    }

    /// FUTEX_WAIT: sleeps if the word still holds `val` (checked under the futex lock,
    /// so a wake after the change is never missed).
    pub fn wait(
        &self,
        mm: &MemoryManager,
        key: Key,
        addr: u64,
        val: u32,
        bitset: u32,
        deadline: Option<Instant>,
    ) -> Result<(), Errno> {
        let cur = wait::current();
        let fw = Arc::new(FutexWaiter {
            waiter: cur.waiter().clone(),
            bitset,
            woken: AtomicBool::new(false),
        });
        {
            let mut q = self.lock();
            let mut b = [0u8; 4];
            mm.copy_in(addr, &mut b)?;
            if u32::from_le_bytes(b) != val {
                return Err(Errno::EAGAIN);
            }
            q.entry(key).or_default().push(fw.clone());
        }
        let r = wait::wait_until(&[], deadline, || fw.woken.load(Ordering::SeqCst).then_some(()));
        if r.is_err() {
            // Leave the queue; a wake that raced with the interruption counts.
            let mut q = self.lock();
            for v in q.values_mut() {
                v.retain(|w| !Arc::ptr_eq(w, &fw));
            }
            q.retain(|_, v| !v.is_empty());
            if fw.woken.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        r.map_err(|e| e.restartsys())
    }

    /// FUTEX_WAKE: wakes up to `n` waiters whose bitset meets `bitset`.
    pub fn wake(&self, key: Key, n: u32, bitset: u32) -> u32 {
        let mut q = self.lock();
        Self::wake_locked(&mut q, key, n, bitset)
    }

    fn wake_locked(
        q: &mut HashMap<Key, Vec<Arc<FutexWaiter>>>,
        key: Key,
        n: u32,
        bitset: u32,
    ) -> u32 {
        let Some(v) = q.get_mut(&key) else {
            return 0;
        };
        let mut woken = 0;
        v.retain(|w| {
            if woken < n && w.bitset & bitset != 0 {
                woken += 1;
                w.woken.store(true, Ordering::SeqCst);
                w.waiter.notify();
                false
            } else {
                true
            }
        });
        if v.is_empty() {
            q.remove(&key);
        }
        woken
    }

    /// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes `nwake` waiters of `from`, moves up to
    /// `nmove` others to `to`. `cmp`: (address, expected value) checked first.
    pub fn requeue(
        &self,
        mm: &MemoryManager,
        from: Key,
        to: Key,
        nwake: u32,
        nmove: u32,
        cmp: Option<(u64, u32)>,
    ) -> Result<u32, Errno> {
        let mut q = self.lock();
        if let Some((addr, val)) = cmp {
            let mut b = [0u8; 4];
            mm.copy_in(addr, &mut b)?;
            if u32::from_le_bytes(b) != val {
                return Err(Errno::EAGAIN);
            }
        }
        let woken = Self::wake_locked(&mut q, from, nwake, u32::MAX);
        let mut moved = Vec::new();
        if let Some(v) = q.get_mut(&from) {
            let k = (nmove as usize).min(v.len());
            moved = v.drain(..k).collect();
            if v.is_empty() {
                q.remove(&from);
            }
        }
        let n = moved.len() as u32;
        if !moved.is_empty() {
            q.entry(to).or_default().extend(moved);
        }
        Ok(woken + n)
    }

    /// FUTEX_WAKE_OP: applies `op` to the word at `addr2`, wakes `n1` waiters of `k1`
    /// and, if the old value meets the comparison, `n2` of `k2`.
    #[allow(clippy::too_many_arguments)]
    pub fn wake_op(
        &self,
        mm: &MemoryManager,
        k1: Key,
        k2: Key,
        addr2: u64,
        n1: u32,
        n2: u32,
        op: u32,
    ) -> Result<u32, Errno> {
        let mut q = self.lock();
        let shift = op & (8 << 28) != 0;
        let kind = (op >> 28) & 7;
        let cmp = (op >> 24) & 15;
        let mut oparg = (op >> 12) & 0xfff;
        let cmparg = op & 0xfff;
        // Sign-extended 12-bit arguments.
        let sext = |v: u32| ((v << 20) as i32 >> 20) as u32;
        oparg = sext(oparg);
        let cmparg = sext(cmparg);
        if shift {
            if oparg > 31 {
                return Err(Errno::EINVAL);
            }
            oparg = 1 << oparg;
        }
        if kind > 4 {
            return Err(Errno::ENOSYS);
        }
        if !addr2.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let segs = mm.segments(addr2, 4, true);
        let seg = segs.first().filter(|s| s.len >= 4).ok_or(Errno::EFAULT)?;
        let old = crate::host::atomic_update_u32(seg, |v| match kind {
            0 => oparg,
            1 => v.wrapping_add(oparg),
            2 => v | oparg,
            3 => v & !oparg,
            _ => v ^ oparg,
        })
        .ok_or(Errno::EFAULT)?;
        // As Linux, an unknown comparison fails only after the operation was applied.
        if cmp > 5 {
            return Err(Errno::ENOSYS);
        }
        let mut woken = Self::wake_locked(&mut q, k1, n1, u32::MAX);
        let (o, c) = (old as i32, cmparg as i32);
        let hit = match cmp {
            0 => o == c,
            1 => o != c,
            2 => o < c,
            3 => o <= c,
            4 => o > c,
            _ => o >= c,
        };
        if hit {
            woken += Self::wake_locked(&mut q, k2, n2, u32::MAX);
        }
        Ok(woken)
    }
}
