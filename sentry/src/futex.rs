//! Futexes (futex(2), futex_waitv(2)): tasks waiting on a 32-bit word of application
//! memory. A private futex is keyed by its address space and address; a shared one by the
//! memory-file page behind it, so processes mapping the same shared page meet on the same
//! key. Waiters sleep on their task's waiter (`crate::wait`), so signals and exits
//! interrupt them.
//!
//! Priority-inheritance futexes (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, the requeue-PI pair)
//! follow Linux's protocol on the word: the owner's TID, FUTEX_WAITERS while the kernel
//! may hold waiters, FUTEX_OWNER_DIED once an owner died holding it. While a PI futex has
//! waiters the kernel also knows its owner (Linux's pi_state): unlocking hands the lock
//! straight to the first waiter, an owner that exits hands it on with OWNER_DIED, and a
//! waiter whose wait would close a cycle of owners gets EDEADLK. Waiters are served in
//! arrival order, which is Linux's order for tasks that are not real-time; priorities
//! are not boosted (the sandbox has no real-time scheduling to boost).
//!
//! One lock covers every queue, as Linux's hash-bucket locks cover theirs, so a word
//! check and the queueing that depends on it are atomic with respect to wakers.

use crate::mm::MemoryManager;
use crate::wait::{self, Waiter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use syscalls_table::Errno;

pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// Linux's max_lock_depth: a longer chain of PI owners counts as a deadlock.
const MAX_LOCK_DEPTH: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// Address space, address, and whether the caller used the shared (non-private)
    /// form: Linux keeps the two apart even in a private mapping.
    Private(usize, u64, bool),
    Shared(usize),
}

/// A waiter's progress, changed only under the futex lock.
const WAITING: u8 = 0;
/// Woken by a wake, or given the PI lock it waited for.
const WOKEN: u8 = 1;
/// A FUTEX_WAIT_REQUEUE_PI waiter moved onto its PI futex.
const REQUEUED: u8 = 2;

struct FutexWaiter {
    waiter: Arc<Waiter>,
    tid: i32,
    bitset: u32,
    state: AtomicU8,
}

impl FutexWaiter {
    fn new(tid: i32, bitset: u32) -> Arc<FutexWaiter> {
        Arc::new(FutexWaiter {
            waiter: wait::current().waiter().clone(),
            tid,
            bitset,
            state: AtomicU8::new(WAITING),
        })
    }

    fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    fn wake(&self) {
        self.state.store(WOKEN, Ordering::SeqCst);
        self.waiter.notify();
    }
}

/// What a queued waiter waits for (Linux tells these apart by a futex_q's pi_state and
/// rt_waiter; wakes and requeues refuse the kinds that are not theirs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// FUTEX_WAIT and its forms, futex_waitv entries.
    Plain,
    /// FUTEX_WAIT_REQUEUE_PI, not requeued yet: waits to be moved to the PI futex `Key`.
    RequeuePi(Key),
    /// Blocked on a PI futex (LOCK_PI, or requeued).
    Pi,
}

/// A PI futex word as one waiter sees it: where an exiting owner's lock is written over
/// to that waiter.
#[derive(Clone)]
struct Word {
    mm: Arc<MemoryManager>,
    addr: u64,
}

struct Entry {
    w: Arc<FutexWaiter>,
    kind: Kind,
    /// For Pi and RequeuePi waiters: their PI futex word.
    word: Option<Word>,
}

#[derive(Default)]
struct Inner {
    /// The waiters of each key, in arrival order.
    queues: HashMap<Key, Vec<Entry>>,
    /// The owner (tid) of each PI futex that has PI waiters.
    pi: HashMap<Key, i32>,
    /// The PI futex each blocked PI waiter waits for (deadlock detection).
    blocked_on: HashMap<i32, Key>,
}

#[derive(Default)]
pub struct Futexes {
    inner: Mutex<Inner>,
}

/// The thread that makes a PI operation, and a view of the others.
pub struct PiCaller<'a> {
    pub mm: &'a Arc<MemoryManager>,
    pub tid: i32,
    /// FUTEX_PRIVATE_FLAG: the owner named by the word must share the caller's memory.
    pub private: bool,
    /// The memory manager (as `Arc::as_ptr` address) of the live thread `tid`; None for
    /// a tid that names no thread or one whose futex exit already ran.
    pub threads: &'a dyn Fn(i32) -> Option<usize>,
}

/// The outcome of one attempt at taking a PI futex word.
enum Attempt {
    Acquired,
    /// Owned by someone else; the kernel now knows the owner.
    Contended,
    /// The word changed under us: try again.
    Retry,
}

fn read_word(mm: &MemoryManager, addr: u64) -> Result<u32, Errno> {
    let mut b = [0u8; 4];
    mm.copy_in(addr, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Compare-and-exchange on the word at `addr`, which must be writable (EFAULT).
fn cmpxchg_word(mm: &MemoryManager, addr: u64, old: u32, new: u32) -> Result<u32, Errno> {
    let segs = mm.segments(addr, 4, true);
    let seg = segs.first().filter(|s| s.len >= 4).ok_or(Errno::EFAULT)?;
    crate::host::atomic_cmpxchg_u32(seg, old, new).ok_or(Errno::EFAULT)
}

impl Inner {
    fn first(&self, key: Key) -> Option<&Entry> {
        self.queues.get(&key).and_then(|v| v.first())
    }

    fn has_pi_waiters(&self, key: Key) -> bool {
        self.queues
            .get(&key)
            .is_some_and(|v| v.iter().any(|e| e.kind == Kind::Pi))
    }

    /// Forgets the owner of `key` once no PI waiter is left (Linux frees the pi_state).
    fn tidy(&mut self, key: Key) {
        if !self.has_pi_waiters(key) {
            self.pi.remove(&key);
        }
        if self.queues.get(&key).is_some_and(|v| v.is_empty()) {
            self.queues.remove(&key);
        }
    }

    /// Takes `w` off whatever queue it is on.
    fn remove(&mut self, w: &Arc<FutexWaiter>) {
        let mut found = None;
        for (k, v) in self.queues.iter_mut() {
            if let Some(i) = v.iter().position(|e| Arc::ptr_eq(&e.w, w)) {
                let e = v.remove(i);
                found = Some((*k, e.kind));
                break;
            }
        }
        if let Some((k, kind)) = found {
            if kind == Kind::Pi && self.blocked_on.get(&w.tid) == Some(&k) {
                self.blocked_on.remove(&w.tid);
            }
            self.tidy(k);
        }
    }

    /// Linux's futex_wake: wakes matching waiters in order until `nr` were woken (at
    /// least one: Linux counts before comparing); a PI or requeue-PI waiter met on the way
    /// makes it EINVAL, the waiters woken before it staying woken.
    fn wake(&mut self, key: Key, nr: i32, bitset: u32) -> Result<u32, Errno> {
        let Some(v) = self.queues.get_mut(&key) else {
            return Ok(0);
        };
        let mut woken = 0u32;
        let mut err = None;
        let mut i = 0;
        while i < v.len() {
            if v[i].kind != Kind::Plain {
                err = Some(Errno::EINVAL);
                break;
            }
            if v[i].w.bitset & bitset == 0 {
                i += 1;
                continue;
            }
            v.remove(i).w.wake();
            woken += 1;
            if woken as i64 >= i64::from(nr) {
                break;
            }
        }
        self.tidy(key);
        err.map_or(Ok(woken), Err)
    }

    /// Whether blocking task `tid` on the PI futex `key` would close a cycle of owners
    /// (or a chain longer than Linux follows).
    fn deadlocks(&self, key: Key, tid: i32) -> bool {
        let mut k = key;
        for _ in 0..MAX_LOCK_DEPTH {
            let Some(&owner) = self.pi.get(&k) else {
                return false;
            };
            if owner == tid {
                return true;
            }
            match self.blocked_on.get(&owner) {
                Some(&next) => k = next,
                None => return false,
            }
        }
        true
    }

    /// Linux's futex_lock_pi_atomic for task `tid` on the word at `addr` (key `key`), as
    /// `c` asks: takes a free word, or marks it FUTEX_WAITERS and learns its owner.
    /// `set_waiters`: FUTEX_WAITERS also when the word is taken (requeue-PI with more
    /// waiters to move).
    fn lock_pi_atomic(
        &mut self,
        c: &PiCaller<'_>,
        key: Key,
        addr: u64,
        tid: i32,
        set_waiters: bool,
    ) -> Result<Attempt, Errno> {
        let uval = read_word(c.mm, addr)?;
        if uval & FUTEX_TID_MASK == tid as u32 {
            return Err(Errno::EDEADLK);
        }
        if let Some(top) = self.first(key) {
            // Attach to the kernel's state, which the word must agree with.
            if top.kind != Kind::Pi {
                return Err(Errno::EINVAL);
            }
            let pid = uval & FUTEX_TID_MASK;
            if uval & FUTEX_OWNER_DIED != 0 && pid == 0 {
                return Ok(Attempt::Contended);
            }
            return match self.pi.get(&key) {
                Some(&owner) if owner as u32 == pid => Ok(Attempt::Contended),
                _ => Err(Errno::EINVAL),
            };
        }
        if uval & FUTEX_TID_MASK == 0 {
            // Free (perhaps with OWNER_DIED, which the new owner keeps seeing).
            let mut new = (uval & FUTEX_OWNER_DIED) | tid as u32;
            if set_waiters {
                new |= FUTEX_WAITERS;
            }
            if cmpxchg_word(c.mm, addr, uval, new)? != uval {
                return Ok(Attempt::Retry);
            }
            if set_waiters {
                self.pi.insert(key, tid);
            }
            return Ok(Attempt::Acquired);
        }
        let new = uval | FUTEX_WAITERS;
        if cmpxchg_word(c.mm, addr, uval, new)? != uval {
            return Ok(Attempt::Retry);
        }
        // The first waiter: the owner the word names must be a live thread.
        let pid = (new & FUTEX_TID_MASK) as i32;
        match (c.threads)(pid) {
            None => {
                // Linux's handle_exit_race: the word may have changed meanwhile.
                if read_word(c.mm, addr)? != new {
                    return Ok(Attempt::Retry);
                }
                return Err(Errno::ESRCH);
            }
            Some(mm) if c.private && mm != Arc::as_ptr(c.mm) as usize => {
                return Err(Errno::EPERM);
            }
            Some(_) => {}
        }
        self.pi.insert(key, pid);
        Ok(Attempt::Contended)
    }

    /// Gives the PI futex `key` to its first PI waiter (whose word the caller already
    /// wrote) and wakes it; the lock keeps the other waiters.
    fn grant_first(&mut self, key: Key) -> Option<Entry> {
        let v = self.queues.get_mut(&key)?;
        let i = v.iter().position(|e| e.kind == Kind::Pi)?;
        let e = v.remove(i);
        if self.blocked_on.get(&e.w.tid) == Some(&key) {
            self.blocked_on.remove(&e.w.tid);
        }
        self.pi.insert(key, e.w.tid);
        e.w.wake();
        self.tidy(key);
        Some(e)
    }

    fn first_pi_tid(&self, key: Key) -> Option<i32> {
        self.queues
            .get(&key)?
            .iter()
            .find(|e| e.kind == Kind::Pi)
            .map(|e| e.w.tid)
    }
}

impl Futexes {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of the futex word at `addr`. `private`: FUTEX_PRIVATE_FLAG, or a private
    /// mapping. Fails with EINVAL for a misaligned word and EFAULT when a shared-form
    /// word cannot be accessed (a private key needs no mapping, as in Linux).
    pub fn key(mm: &Arc<MemoryManager>, addr: u64, private: bool) -> Result<Key, Errno> {
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        if addr >= crate::mm::TASK_SIZE {
            return Err(Errno::EFAULT);
        }
        if private || !mm.is_shared_at(addr) {
            if !private && mm.segments(addr, 4, false).is_empty() {
                return Err(Errno::EFAULT);
            }
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
        self.wait_multiple(mm, &[(key, addr, val, bitset)], deadline)
            .map(|_| ())
    }

    /// futex_waitv: sleeps on every `(key, address, value, bitset)` whose word still
    /// holds its value (EAGAIN as soon as one does not); returns the index of the woken
    /// entry (the last one, when several were woken).
    pub fn wait_multiple(
        &self,
        mm: &MemoryManager,
        entries: &[(Key, u64, u32, u32)],
        deadline: Option<Instant>,
    ) -> Result<usize, Errno> {
        let tid = wait::current().tid().unwrap_or(0);
        let ws: Vec<Arc<FutexWaiter>> = entries
            .iter()
            .map(|&(_, _, _, bitset)| FutexWaiter::new(tid, bitset))
            .collect();
        {
            let mut g = self.lock();
            for &(_, addr, val, _) in entries {
                if read_word(mm, addr)? != val {
                    return Err(Errno::EAGAIN);
                }
            }
            for (w, &(key, ..)) in ws.iter().zip(entries) {
                g.queues.entry(key).or_default().push(Entry {
                    w: w.clone(),
                    kind: Kind::Plain,
                    word: None,
                });
            }
        }
        let woken = || ws.iter().rposition(|w| w.state() == WOKEN);
        let r = wait::wait_until(&[], deadline, woken);
        // Leave the queues; a wake that raced with the interruption counts.
        let mut g = self.lock();
        for w in &ws {
            if w.state() == WAITING {
                g.remove(w);
            }
        }
        drop(g);
        match woken() {
            Some(i) => Ok(i),
            None => r.map_err(|e| e.restartsys()),
        }
    }

    /// FUTEX_WAKE: wakes up to `nr` waiters whose bitset meets `bitset` (at least one,
    /// as Linux, for `nr` <= 0); EINVAL if PI waiters are met.
    pub fn wake(&self, key: Key, nr: i32, bitset: u32) -> Result<u32, Errno> {
        self.lock().wake(key, nr, bitset)
    }

    /// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wakes `nr_wake` waiters of `from`, moves up to
    /// `nr_requeue` others to `to`. `cmp`: (address, expected value) checked first.
    pub fn requeue(
        &self,
        mm: &MemoryManager,
        from: Key,
        to: Key,
        nr_wake: i32,
        nr_requeue: i32,
        cmp: Option<(u64, u32)>,
    ) -> Result<u32, Errno> {
        let mut g = self.lock();
        if let Some((addr, val)) = cmp
            && read_word(mm, addr)? != val
        {
            return Err(Errno::EAGAIN);
        }
        let mut count: i64 = 0;
        let mut err = None;
        let mut woken = Vec::new();
        let mut moved = Vec::new();
        if let Some(v) = g.queues.get_mut(&from) {
            let mut i = 0;
            while i < v.len() {
                if count - i64::from(nr_wake) >= i64::from(nr_requeue) {
                    break;
                }
                if v[i].kind != Kind::Plain {
                    err = Some(Errno::EINVAL);
                    break;
                }
                count += 1;
                if count <= i64::from(nr_wake) {
                    woken.push(v.remove(i));
                } else if from == to {
                    // Same queue: the waiter keeps its place.
                    i += 1;
                } else {
                    moved.push(v.remove(i));
                }
            }
        }
        for e in woken {
            e.w.wake();
        }
        if !moved.is_empty() {
            g.queues.entry(to).or_default().extend(moved);
        }
        g.tidy(from);
        err.map_or(Ok(count as u32), Err)
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
        n1: i32,
        n2: i32,
        op: u32,
    ) -> Result<u32, Errno> {
        let mut g = self.lock();
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
            // Linux masks an out-of-range shift (and logs it) rather than failing.
            oparg = 1 << (oparg & 31);
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
        let mut woken = g.wake(k1, n1, u32::MAX)?;
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
            woken += g.wake(k2, n2, u32::MAX)?;
        }
        Ok(woken)
    }

    /// FUTEX_LOCK_PI / FUTEX_LOCK_PI2 / FUTEX_TRYLOCK_PI on the word at `addr`: takes
    /// it if free, else (unless `trylock`: EAGAIN) waits until an unlock or the owner's
    /// exit hands it over, `deadline` passes (ETIMEDOUT) or a signal comes (the call
    /// restarts, as Linux's ERESTARTNOINTR).
    pub fn lock_pi(
        &self,
        c: &PiCaller<'_>,
        key: Key,
        addr: u64,
        deadline: Option<Instant>,
        trylock: bool,
    ) -> Result<(), Errno> {
        let fw = FutexWaiter::new(c.tid, u32::MAX);
        {
            let mut g = self.lock();
            loop {
                let r = g.lock_pi_atomic(c, key, addr, c.tid, false);
                match r {
                    Ok(Attempt::Retry) => continue,
                    Ok(Attempt::Acquired) => return Ok(()),
                    Ok(Attempt::Contended) => break,
                    Err(e) => {
                        g.tidy(key);
                        return Err(e);
                    }
                }
            }
            if trylock {
                g.tidy(key);
                return Err(Errno::EAGAIN);
            }
            if g.deadlocks(key, c.tid) {
                g.tidy(key);
                return Err(Errno::EDEADLK);
            }
            g.queues.entry(key).or_default().push(Entry {
                w: fw.clone(),
                kind: Kind::Pi,
                word: Some(Word {
                    mm: c.mm.clone(),
                    addr,
                }),
            });
            g.blocked_on.insert(c.tid, key);
        }
        let r = wait::wait_until(&[], deadline, || (fw.state() == WOKEN).then_some(()));
        if let Err(e) = r {
            let mut g = self.lock();
            if fw.state() == WOKEN {
                // Handed the lock as the wait ended: it is ours.
                return Ok(());
            }
            g.remove(&fw);
            return Err(match e {
                wait::WaitError::Interrupted => Errno::ERESTARTNOINTR,
                wait::WaitError::TimedOut => Errno::ETIMEDOUT,
            });
        }
        Ok(())
    }

    /// FUTEX_UNLOCK_PI: EPERM unless the word names the caller; hands the lock to the
    /// first waiter (its TID with FUTEX_WAITERS) or, with none, clears the word.
    pub fn unlock_pi(&self, c: &PiCaller<'_>, addr: u64) -> Result<(), Errno> {
        let mut key = None;
        loop {
            let uval = read_word(c.mm, addr)?;
            if uval & FUTEX_TID_MASK != c.tid as u32 {
                return Err(Errno::EPERM);
            }
            let k = match key {
                Some(k) => k,
                None => *key.insert(Self::key(c.mm, addr, c.private)?),
            };
            let mut g = self.lock();
            if let Some(top) = g.first(k) {
                if top.kind != Kind::Pi || g.pi.get(&k) != Some(&c.tid) {
                    return Err(Errno::EINVAL);
                }
                let Some(next) = g.first_pi_tid(k) else {
                    return Err(Errno::EINVAL);
                };
                let cur = cmpxchg_word(c.mm, addr, uval, FUTEX_WAITERS | next as u32)?;
                if cur == uval {
                    g.grant_first(k);
                    return Ok(());
                }
                // The word gained bits since it was read: try again; anything else is
                // user space meddling with a PI futex.
                if cur & FUTEX_TID_MASK == uval {
                    continue;
                }
                return Err(Errno::EINVAL);
            }
            let cur = cmpxchg_word(c.mm, addr, uval, 0)?;
            return if cur == uval {
                Ok(())
            } else {
                Err(Errno::EAGAIN)
            };
        }
    }

    /// FUTEX_WAIT_REQUEUE_PI: waits on the word at `addr1` (if it still holds `val`)
    /// until FUTEX_CMP_REQUEUE_PI moves the caller to the PI futex at `addr2` (`key2`)
    /// and it gets that lock. A signal before the requeue restarts the call; after it,
    /// the call fails with EAGAIN (as Linux, which cannot restart it then).
    #[allow(clippy::too_many_arguments)]
    pub fn wait_requeue_pi(
        &self,
        c: &PiCaller<'_>,
        key1: Key,
        addr1: u64,
        val: u32,
        key2: Key,
        addr2: u64,
        deadline: Option<Instant>,
    ) -> Result<(), Errno> {
        let fw = FutexWaiter::new(c.tid, u32::MAX);
        {
            let mut g = self.lock();
            if read_word(c.mm, addr1)? != val {
                return Err(Errno::EAGAIN);
            }
            g.queues.entry(key1).or_default().push(Entry {
                w: fw.clone(),
                kind: Kind::RequeuePi(key2),
                word: Some(Word {
                    mm: c.mm.clone(),
                    addr: addr2,
                }),
            });
        }
        let r = wait::wait_until(&[], deadline, || (fw.state() == WOKEN).then_some(()));
        if let Err(e) = r {
            let mut g = self.lock();
            let requeued = match fw.state() {
                WOKEN => return Ok(()),
                s => s == REQUEUED,
            };
            g.remove(&fw);
            return Err(match e {
                wait::WaitError::TimedOut => Errno::ETIMEDOUT,
                wait::WaitError::Interrupted if requeued => Errno::EAGAIN,
                wait::WaitError::Interrupted => Errno::ERESTARTNOINTR,
            });
        }
        Ok(())
    }

    /// FUTEX_CMP_REQUEUE_PI (nr_wake 1): if the word at `addr1` holds `cmpval`, takes the
    /// PI futex at `addr2` for the first FUTEX_WAIT_REQUEUE_PI waiter of `key1` if it is
    /// free (waking it as the owner), then moves waiters onto the PI futex until
    /// `nr_requeue` were moved besides the woken one (one more if none was woken).
    /// Returns how many were woken or moved.
    #[allow(clippy::too_many_arguments)]
    pub fn cmp_requeue_pi(
        &self,
        c: &PiCaller<'_>,
        key1: Key,
        addr1: u64,
        key2: Key,
        addr2: u64,
        nr_requeue: i32,
        cmpval: u32,
    ) -> Result<u32, Errno> {
        let mut g = self.lock();
        let mut count: i64 = 0;
        loop {
            if read_word(c.mm, addr1)? != cmpval {
                return Err(Errno::EAGAIN);
            }
            read_word(c.mm, addr2)?;
            let Some(top) = g.first(key1) else {
                break;
            };
            if top.kind != Kind::RequeuePi(key2) {
                return Err(Errno::EINVAL);
            }
            let tid = top.w.tid;
            match g.lock_pi_atomic(c, key2, addr2, tid, nr_requeue > 0) {
                Ok(Attempt::Retry) => continue,
                Ok(Attempt::Acquired) => {
                    if let Some(v) = g.queues.get_mut(&key1) {
                        v.remove(0).w.wake();
                    }
                    g.tidy(key1);
                    count = 1;
                    break;
                }
                Ok(Attempt::Contended) => break,
                Err(e) => {
                    g.tidy(key2);
                    return Err(e);
                }
            }
        }
        let mut err = None;
        let g = &mut *g;
        while let Some(e) = g.first(key1) {
            // Linux's `task_count - nr_wake >= nr_requeue`, nr_wake being 1.
            if count > i64::from(nr_requeue) {
                break;
            }
            match e.kind {
                Kind::RequeuePi(k) if k == key2 => {}
                _ => {
                    err = Some(Errno::EINVAL);
                    break;
                }
            }
            let tid = e.w.tid;
            if g.deadlocks(key2, tid) {
                err = Some(Errno::EDEADLK);
                break;
            }
            let Some(v) = g.queues.get_mut(&key1) else {
                break;
            };
            let mut e = v.remove(0);
            e.kind = Kind::Pi;
            e.w.state.store(REQUEUED, Ordering::SeqCst);
            g.queues.entry(key2).or_default().push(e);
            g.blocked_on.insert(tid, key2);
            count += 1;
        }
        g.tidy(key1);
        g.tidy(key2);
        err.map_or(Ok(count as u32), Err)
    }

    /// What a thread's exit (or exec) does to futexes, atomically with respect to every
    /// futex operation: `dead` is set (no PI futex may name the thread as a live owner
    /// from then on), `robust` walks its robust list (given a function that wakes one
    /// waiter of a key), and every PI futex `tid` owns with waiters goes to its first
    /// waiter with FUTEX_OWNER_DIED (Linux's exit_pi_state_list).
    pub fn exit(
        &self,
        tid: i32,
        dead: Option<&AtomicBool>,
        robust: impl FnOnce(&mut dyn FnMut(Key)),
    ) {
        let mut g = self.lock();
        if let Some(d) = dead {
            d.store(true, Ordering::SeqCst);
        }
        robust(&mut |key| {
            let _ = g.wake(key, 1, u32::MAX);
        });
        let owned: Vec<Key> = g
            .pi
            .iter()
            .filter(|&(_, &o)| o == tid)
            .map(|(&k, _)| k)
            .collect();
        for key in owned {
            let word = g.queues.get(&key).and_then(|v| {
                v.iter()
                    .find(|e| e.kind == Kind::Pi)
                    .and_then(|e| e.word.clone().map(|w| (w, e.w.tid)))
            });
            if let Some((w, next)) = word {
                let segs = w.mm.segments(w.addr, 4, true);
                if let Some(seg) = segs.first() {
                    crate::host::atomic_update_u32(seg, |_| {
                        next as u32 | FUTEX_WAITERS | FUTEX_OWNER_DIED
                    });
                }
            }
            if g.grant_first(key).is_none() {
                g.pi.remove(&key);
            }
        }
    }
}
