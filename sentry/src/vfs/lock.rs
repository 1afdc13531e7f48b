//! Advisory file locks: POSIX record locks (fcntl F_SETLK…, owned by a process and
//! released by any close of the file in it), open-file-description locks (F_OFD_*) and
//! flock(2) locks (owned by the open file description). POSIX/OFD locks and flock locks
//! do not see each other, as on Linux. Waiters block on a condition variable.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use syscalls_table::Errno;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A process (POSIX record locks).
    Process(i32),
    /// An open file description, by address (OFD locks, flock).
    Description(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

#[derive(Clone, Copy, Debug)]
struct Lock {
    owner: Owner,
    kind: Kind,
    /// Inclusive range; `end` is u64::MAX for "to the end of the file".
    start: u64,
    end: u64,
}

/// A conflicting lock, as F_GETLK reports it.
#[derive(Clone, Copy, Debug)]
pub struct Conflict {
    pub kind: Kind,
    pub start: u64,
    pub end: u64,
    pub owner: Owner,
}

/// Which lock namespace: record locks (POSIX and OFD share it) or flock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Space {
    Record,
    Flock,
}

/// The sandbox's lock table (one sandbox per sentry process).
pub fn table() -> &'static LockTable {
    static TABLE: std::sync::LazyLock<LockTable> = std::sync::LazyLock::new(LockTable::default);
    &TABLE
}

#[derive(Default)]
pub struct LockTable {
    locks: Mutex<HashMap<(Space, u64, u64), Vec<Lock>>>,
    changed: Condvar,
}

fn overlaps(a: &Lock, start: u64, end: u64) -> bool {
    a.start <= end && start <= a.end
}

impl LockTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<(Space, u64, u64), Vec<Lock>>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first lock of another owner that conflicts with `kind` over [start, end].
    pub fn conflict(
        &self,
        space: Space,
        file: (u64, u64),
        owner: Owner,
        kind: Kind,
        start: u64,
        end: u64,
    ) -> Option<Conflict> {
        let t = self.lock();
        find_conflict(t.get(&(space, file.0, file.1))?, owner, kind, start, end)
    }

    /// Takes (or with `kind` None, releases) a lock over [start, end]. With `wait`, blocks
    /// until no other owner conflicts; else a conflict is EAGAIN.
    pub fn set(
        &self,
        space: Space,
        file: (u64, u64),
        owner: Owner,
        kind: Option<Kind>,
        (start, end): (u64, u64),
        wait: bool,
    ) -> Result<(), Errno> {
        let key = (space, file.0, file.1);
        let mut t = self.lock();
        if let Some(k) = kind {
            loop {
                let c = t
                    .get(&key)
                    .and_then(|v| find_conflict(v, owner, k, start, end));
                if c.is_none() {
                    break;
                }
                if !wait {
                    return Err(if space == Space::Flock {
                        Errno::EWOULDBLOCK
                    } else {
                        Errno::EAGAIN
                    });
                }
                t = self.changed.wait(t).unwrap_or_else(|e| e.into_inner());
            }
        }
        let list = t.entry(key).or_default();
        // A new lock absorbs the owner's locks of the same kind that overlap or touch it
        // (they are disjoint and never adjacent to each other, so one pass does).
        let (mut start, mut end) = (start, end);
        if let Some(k) = kind {
            for l in list.iter() {
                if l.owner == owner
                    && l.kind == k
                    && l.start <= end.saturating_add(1)
                    && start <= l.end.saturating_add(1)
                {
                    start = start.min(l.start);
                    end = end.max(l.end);
                }
            }
        }
        // Replace this owner's locks over the range: keep the parts outside it.
        let mut kept = Vec::with_capacity(list.len() + 2);
        for l in list.drain(..) {
            if l.owner != owner || !overlaps(&l, start, end) {
                kept.push(l);
                continue;
            }
            if l.start < start {
                kept.push(Lock {
                    end: start - 1,
                    ..l
                });
            }
            if l.end > end {
                kept.push(Lock {
                    start: end + 1,
                    ..l
                });
            }
        }
        if let Some(k) = kind {
            kept.push(Lock {
                owner,
                kind: k,
                start,
                end,
            });
        }
        kept.sort_by_key(|l| l.start);
        *list = kept;
        if list.is_empty() {
            t.remove(&key);
        }
        self.changed.notify_all();
        Ok(())
    }

    /// Drops every lock `owner` holds (on one file, or on all files when `file` is None).
    pub fn release(&self, space: Space, file: Option<(u64, u64)>, owner: Owner) {
        let mut t = self.lock();
        t.retain(|(s, dev, ino), v| {
            if *s == space && file.is_none_or(|f| f == (*dev, *ino)) {
                v.retain(|l| l.owner != owner);
            }
            !v.is_empty()
        });
        self.changed.notify_all();
    }
}

fn find_conflict(
    list: &[Lock],
    owner: Owner,
    kind: Kind,
    start: u64,
    end: u64,
) -> Option<Conflict> {
    list.iter()
        .find(|l| {
            l.owner != owner
                && overlaps(l, start, end)
                && (kind == Kind::Write || l.kind == Kind::Write)
        })
        .map(|l| Conflict {
            kind: l.kind,
            start: l.start,
            end: l.end,
            owner: l.owner,
        })
}
