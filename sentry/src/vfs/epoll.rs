//! epoll instances (epoll(7)), shaped like Linux's fs/eventpoll.c: an interest list keyed
//! by (file description, fd number) and a ready list. Each interest has a waiter on its
//! file's wait queue whose function (Linux's ep_poll_callback) puts the interest on the
//! ready list when a wakeup concerns its events; epoll_wait takes from the ready list,
//! polls each file again, and puts level-triggered interests back. Edge-triggered ones
//! come back only with their file's next wakeup, one-shot ones only with EPOLL_CTL_MOD.
//!
//! Interests hold their file weakly: the last close of a description removes it from
//! every set, as Linux's eventpoll_release does. Host files have no wakeups in the sentry
//! yet: their interests are polled at every scan instead (edge-triggered ones report
//! a rise of their events).
//!
//! Locks: `interests` (Linux's ep->mtx) is held while files are polled; `ready` (ep->lock)
//! only briefly, and never while polling. Wakeup functions take only `ready` and the
//! instance's wait queue, so polling a file while holding `interests` cannot deadlock
//! with that file waking us. Nested instances lock outer before inner; ELOOP keeps the
//! nesting a tree.

use super::file::FileDescription;
use super::inode::FileOps;
use crate::host::Seg;
use crate::wait::{ALL_EVENTS, OwnedRegistration, WaitQueue, Waiter};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls_table::Errno;

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLPRI: u32 = 0x002;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDNORM: u32 = 0x040;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// Bits that are modes, not events (EP_PRIVATE_BITS).
const PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// Linux's EPOLL_MAX_NESTS: the longest chain of epoll instances watching each other.
const MAX_NESTS: usize = 4;

/// Serialises additions of epoll instances to epoll instances, so that the loop and
/// depth checks see a stable graph (Linux's epnested_mutex).
static NESTED: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One interest: a file (as a description and the fd number it was added by).
pub struct Item {
    fd: i32,
    file: Weak<FileDescription>,
    /// The interest's events, with its mode bits; a one-shot interest that fired keeps
    /// only its mode bits (disabled).
    events: AtomicU32,
    data: AtomicU64,
    /// On the ready list (or in a scan's hands); changed under `EventPoll::ready`.
    linked: AtomicBool,
    removed: AtomicBool,
    /// The file has no wait queue (a host file): polled at every scan.
    polled: bool,
    /// For polled edge-triggered interests: the events seen at the last poll.
    last: AtomicU32,
    owner: Weak<EventPoll>,
    reg: Mutex<Option<OwnedRegistration>>,
}

impl Item {
    fn file(&self) -> Option<Arc<FileDescription>> {
        if self.removed.load(Ordering::SeqCst) {
            return None;
        }
        self.file.upgrade()
    }

    /// The events that hold now among those asked for (ep_item_poll).
    fn poll(&self) -> u32 {
        let Some(f) = self.file() else { return 0 };
        f.ops.poll() & self.events.load(Ordering::SeqCst)
    }

    fn alive(&self) -> bool {
        self.file().is_some()
    }
}

struct Interests {
    items: BTreeMap<(usize, i32), Arc<Item>>,
}

pub struct EventPoll {
    me: Weak<EventPoll>,
    interests: Mutex<Interests>,
    ready: Mutex<VecDeque<Arc<Item>>>,
    /// epoll_wait callers and whoever polls the epoll file wait here.
    wq: Arc<WaitQueue>,
    /// Interests of other instances in this one (for the nesting depth).
    watchers: Mutex<Vec<Weak<Item>>>,
}

/// What epoll_ctl asks.
pub enum Ctl {
    Add,
    Del,
    Mod,
}

fn key_of(f: &Arc<FileDescription>, fd: i32) -> (usize, i32) {
    (Arc::as_ptr(f) as usize, fd)
}

/// The epoll instance behind a description, if it is one.
pub fn of(f: &FileDescription) -> Option<&EventPoll> {
    f.ops.as_any()?.downcast_ref::<EventPoll>()
}

/// Whether epoll can watch the file (Linux's file_can_poll): files with wakeups, and
/// host files other than regular files and directories. Regular files and directories
/// of the sandbox's filesystems cannot (EPERM).
pub fn can_poll(f: &FileDescription) -> bool {
    if f.ops.wait_queue().is_some() {
        return true;
    }
    f.ops.host_fd().is_some()
        && f.inode
            .stat()
            .is_ok_and(|s| !matches!(s.file_type(), super::inode::S_IFREG | super::inode::S_IFDIR))
}

impl EventPoll {
    pub fn new() -> Arc<EventPoll> {
        Arc::new_cyclic(|me| EventPoll {
            me: me.clone(),
            interests: Mutex::new(Interests {
                items: BTreeMap::new(),
            }),
            ready: Mutex::new(VecDeque::new()),
            wq: Default::default(),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// The wakeup function of `item` (ep_poll_callback).
    fn wake(&self, item: &Arc<Item>, key: u32) {
        let ev = item.events.load(Ordering::SeqCst);
        if ev & !PRIVATE_BITS == 0 {
            return;
        }
        if key != ALL_EVENTS && key & ev == 0 {
            return;
        }
        {
            let mut r = lock(&self.ready);
            if item.removed.load(Ordering::SeqCst) {
                return;
            }
            if !item.linked.load(Ordering::SeqCst) {
                item.linked.store(true, Ordering::SeqCst);
                r.push_back(item.clone());
            }
        }
        // Waiters and watching instances hear of every wakeup, even of an interest
        // already on the ready list.
        self.wq.notify_events(EPOLLIN | EPOLLRDNORM);
    }

    /// Puts `item` on the ready list if it is not there, and wakes waiters.
    fn link(&self, item: &Arc<Item>) {
        {
            let mut r = lock(&self.ready);
            if item.linked.load(Ordering::SeqCst) {
                return;
            }
            item.linked.store(true, Ordering::SeqCst);
            r.push_back(item.clone());
        }
        self.wq.notify_events(EPOLLIN | EPOLLRDNORM);
    }

    /// Forgets interests whose file was closed for good.
    fn purge(&self, ints: &mut Interests) {
        let dead: Vec<(usize, i32)> = ints
            .items
            .iter()
            .filter(|(_, i)| !i.alive())
            .map(|(k, _)| *k)
            .collect();
        for k in dead {
            if let Some(i) = ints.items.remove(&k) {
                Self::remove_item(&i);
            }
        }
    }

    fn remove_item(item: &Item) {
        item.removed.store(true, Ordering::SeqCst);
        *lock(&item.reg) = None;
    }

    /// epoll_ctl(2) on this instance for `file` as descriptor `fd`. The caller checked
    /// the arguments (EBADF, EPERM, EINVAL for the pairing and EPOLLEXCLUSIVE rules).
    pub fn ctl(
        &self,
        op: Ctl,
        file: &Arc<FileDescription>,
        fd: i32,
        events: u32,
        data: u64,
    ) -> Result<(), Errno> {
        let nested = of(file).is_some();
        // Adding an epoll instance: the loop and depth checks and the insertion happen
        // under the global nesting lock.
        let _nest = (matches!(op, Ctl::Add) && nested).then(|| lock(&NESTED));
        if let (Ctl::Add, Some(to)) = (&op, of(file))
            && self.loop_check(to)
        {
            return Err(Errno::ELOOP);
        }
        let mut ints = lock(&self.interests);
        self.purge(&mut ints);
        let key = key_of(file, fd);
        match op {
            Ctl::Add => {
                if ints.items.contains_key(&key) {
                    return Err(Errno::EEXIST);
                }
                let wq = file.ops.wait_queue();
                let item = Arc::new(Item {
                    fd,
                    file: Arc::downgrade(file),
                    events: AtomicU32::new(events | EPOLLERR | EPOLLHUP),
                    data: AtomicU64::new(data),
                    linked: AtomicBool::new(false),
                    removed: AtomicBool::new(false),
                    polled: wq.is_none(),
                    last: AtomicU32::new(0),
                    owner: self.me.clone(),
                    reg: Mutex::new(None),
                });
                if let Some(q) = wq {
                    let weak = Arc::downgrade(&item);
                    let w = Waiter::with_func(move |key| {
                        if let Some(item) = weak.upgrade()
                            && let Some(ep) = item.owner.upgrade()
                        {
                            ep.wake(&item, key);
                        }
                    });
                    *lock(&item.reg) = Some(q.register_owned(&w));
                }
                if let Some(to) = of(file) {
                    lock(&to.watchers).push(Arc::downgrade(&item));
                }
                ints.items.insert(key, item.clone());
                if !item.polled && item.poll() != 0 {
                    self.link(&item);
                }
                if item.polled {
                    // A host file: the next scans look at it anyway.
                    self.wq.notify_events(EPOLLIN | EPOLLRDNORM);
                }
                Ok(())
            }
            Ctl::Del => {
                let item = ints.items.remove(&key).ok_or(Errno::ENOENT)?;
                Self::remove_item(&item);
                Ok(())
            }
            Ctl::Mod => {
                let item = ints.items.get(&key).ok_or(Errno::ENOENT)?.clone();
                if item.events.load(Ordering::SeqCst) & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                item.events
                    .store(events | EPOLLERR | EPOLLHUP, Ordering::SeqCst);
                item.data.store(data, Ordering::SeqCst);
                item.last.store(0, Ordering::SeqCst);
                if !item.polled && item.poll() != 0 {
                    self.link(&item);
                }
                Ok(())
            }
        }
    }

    /// The live interests of this instance in other instances.
    fn children(&self) -> Vec<Arc<FileDescription>> {
        let ints = lock(&self.interests);
        ints.items
            .values()
            .filter_map(|i| i.file())
            .filter(|f| of(f).is_some())
            .collect()
    }

    /// How deep the instances below this one go; None if `target` is among them.
    fn depth_below(&self, target: &EventPoll, seen: usize) -> Option<usize> {
        if std::ptr::eq(self, target) {
            return None;
        }
        if seen > MAX_NESTS + 1 {
            // Deeper than any check needs: stop looking.
            return Some(seen);
        }
        let mut depth = 0;
        for f in self.children() {
            let Some(child) = of(&f) else { continue };
            depth = depth.max(1 + child.depth_below(target, seen + 1)?);
        }
        Some(depth)
    }

    /// How many instances watch this one in a chain, at most.
    fn depth_above(&self, seen: usize) -> usize {
        if seen > MAX_NESTS + 1 {
            return seen;
        }
        let watchers: Vec<Arc<Item>> = {
            let mut w = lock(&self.watchers);
            w.retain(|i| i.upgrade().is_some_and(|i| i.alive()));
            w.iter().filter_map(Weak::upgrade).collect()
        };
        watchers
            .iter()
            .filter_map(|i| i.owner.upgrade())
            .map(|ep| 1 + ep.depth_above(seen + 1))
            .max()
            .unwrap_or(0)
    }

    /// Whether adding `to` to this instance would make a loop or a chain longer than
    /// EPOLL_MAX_NESTS (ep_loop_check).
    fn loop_check(&self, to: &EventPoll) -> bool {
        match to.depth_below(self, 0) {
            None => true,
            Some(down) => down + 1 + self.depth_above(0) > MAX_NESTS,
        }
    }

    /// Interests of host files: not on the ready list by wakeups, so every scan
    /// considers them.
    fn polled_items(ints: &Interests) -> Vec<Arc<Item>> {
        ints.items
            .values()
            .filter(|i| i.polled && i.alive())
            .cloned()
            .collect()
    }

    /// Whether a wait on this instance must re-check host files by itself (it or an
    /// instance below it watches some).
    pub fn needs_polling(&self) -> bool {
        self.needs_polling_at(0)
    }

    fn needs_polling_at(&self, depth: usize) -> bool {
        if depth > MAX_NESTS + 1 {
            return false;
        }
        let files: Vec<Arc<FileDescription>> = {
            let ints = lock(&self.interests);
            if ints.items.values().any(|i| i.polled && i.alive()) {
                return true;
            }
            ints.items.values().filter_map(|i| i.file()).collect()
        };
        files
            .iter()
            .filter_map(|f| of(f))
            .any(|ep| ep.needs_polling_at(depth + 1))
    }

    /// The events a polled (host file) interest reports now: edge-triggered ones only
    /// when events rose since the last look.
    fn poll_polled(item: &Item, consume: bool) -> u32 {
        let now = item.poll();
        let ev = item.events.load(Ordering::SeqCst);
        if ev & EPOLLET == 0 {
            return now;
        }
        let last = if consume {
            item.last.swap(now, Ordering::SeqCst)
        } else {
            item.last.load(Ordering::SeqCst)
        };
        if now & !last != 0 { now } else { 0 }
    }

    /// Takes up to `max` events (ep_send_events): (events, data) pairs.
    pub fn send_events(&self, max: usize) -> Vec<(u32, u64)> {
        let mut ints = lock(&self.interests);
        self.purge(&mut ints);
        let mut tx: VecDeque<Arc<Item>> = std::mem::take(&mut *lock(&self.ready));
        let mut out = Vec::new();
        let mut relist = Vec::new();
        while let Some(item) = tx.pop_front() {
            if out.len() >= max {
                tx.push_front(item);
                break;
            }
            {
                let _r = lock(&self.ready);
                item.linked.store(false, Ordering::SeqCst);
            }
            let revents = item.poll();
            if revents == 0 {
                continue;
            }
            out.push((revents, item.data.load(Ordering::SeqCst)));
            let ev = item.events.load(Ordering::SeqCst);
            if ev & EPOLLONESHOT != 0 {
                item.events.store(ev & PRIVATE_BITS, Ordering::SeqCst);
            } else if ev & EPOLLET == 0 {
                let _r = lock(&self.ready);
                item.linked.store(true, Ordering::SeqCst);
                relist.push(item);
            }
        }
        for item in Self::polled_items(&ints) {
            if out.len() >= max {
                break;
            }
            let revents = Self::poll_polled(&item, true);
            if revents == 0 {
                continue;
            }
            out.push((revents, item.data.load(Ordering::SeqCst)));
            let ev = item.events.load(Ordering::SeqCst);
            if ev & EPOLLONESHOT != 0 {
                item.events.store(ev & PRIVATE_BITS, Ordering::SeqCst);
            }
        }
        // What was not taken goes first, then what woke during the scan, then the
        // level-triggered interests just reported (ep_done_scan).
        self.requeue(tx, relist);
        out
    }

    /// Puts back the ready list after a scan: `tx` (not looked at) first, then what
    /// woke meanwhile, then `relist`; an interest that is in two of them stays once.
    fn requeue(&self, mut tx: VecDeque<Arc<Item>>, relist: Vec<Arc<Item>>) {
        let mut r = lock(&self.ready);
        let during = std::mem::take(&mut *r);
        let mut seen: std::collections::HashSet<usize> =
            tx.iter().map(|i| Arc::as_ptr(i) as usize).collect();
        for i in during.into_iter().chain(relist) {
            if seen.insert(Arc::as_ptr(&i) as usize) {
                tx.push_back(i);
            }
        }
        *r = tx;
    }

    /// Whether epoll_wait would report something now (ep_eventpoll_poll): interests on
    /// the ready list that are not ready after all are dropped from it.
    fn has_events(&self) -> bool {
        let ints = lock(&self.interests);
        let mut tx: VecDeque<Arc<Item>> = std::mem::take(&mut *lock(&self.ready));
        let mut found = false;
        while let Some(item) = tx.pop_front() {
            if item.poll() != 0 {
                tx.push_front(item);
                found = true;
                break;
            }
            let _r = lock(&self.ready);
            item.linked.store(false, Ordering::SeqCst);
        }
        self.requeue(tx, Vec::new());
        found
            || Self::polled_items(&ints)
                .iter()
                .any(|i| Self::poll_polled(i, false) != 0)
    }

    pub fn wq(&self) -> &Arc<WaitQueue> {
        &self.wq
    }

    /// The fd numbers and events of the interests (for /proc/PID/fdinfo and tests).
    pub fn interests(&self) -> Vec<(i32, u32, u64)> {
        let mut ints = lock(&self.interests);
        self.purge(&mut ints);
        ints.items
            .values()
            .map(|i| {
                (
                    i.fd,
                    i.events.load(Ordering::SeqCst),
                    i.data.load(Ordering::SeqCst),
                )
            })
            .collect()
    }
}

impl FileOps for EventPoll {
    fn read(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn write(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self) -> u32 {
        if self.has_events() {
            EPOLLIN | EPOLLRDNORM
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host;
    use crate::vfs::anon::AnonInode;
    use crate::vfs::eventfd::EventFd;
    use crate::vfs::file::{O_NONBLOCK, O_RDWR};

    fn eventfd_file() -> (Arc<EventFd>, Arc<FileDescription>) {
        let e = EventFd::new(0, true);
        let f = FileDescription::anonymous(e.clone(), AnonInode::new(0, 0), O_RDWR, Vec::new());
        (e, f)
    }

    fn add(e: &EventFd, n: u64) {
        let mut b = n.to_ne_bytes();
        assert_eq!(e.write(&[host::seg_of(&mut b)], None), Ok(8));
    }

    fn take(e: &EventFd) {
        let mut b = [0u8; 8];
        assert_eq!(
            e.read_flags(&[host::seg_of(&mut b)], None, O_NONBLOCK),
            Ok(8)
        );
    }

    #[test]
    fn level_edge_and_oneshot() {
        let ep = EventPoll::new();
        let (e, f) = eventfd_file();
        ep.ctl(Ctl::Add, &f, 3, EPOLLIN, 7).unwrap();
        assert_eq!(ep.ctl(Ctl::Add, &f, 3, EPOLLIN, 7), Err(Errno::EEXIST));
        assert!(ep.send_events(4).is_empty());
        add(&e, 2);
        assert_eq!(ep.send_events(4), vec![(EPOLLIN, 7)]);
        assert_eq!(ep.send_events(4), vec![(EPOLLIN, 7)]);
        ep.ctl(Ctl::Mod, &f, 3, EPOLLIN | EPOLLET, 8).unwrap();
        assert_eq!(ep.send_events(4), vec![(EPOLLIN, 8)]);
        assert!(ep.send_events(4).is_empty());
        // A read wakes with POLLOUT only: nothing new for an EPOLLIN interest.
        take(&e);
        assert!(ep.send_events(4).is_empty());
        add(&e, 1);
        assert_eq!(ep.send_events(4), vec![(EPOLLIN, 8)]);
        ep.ctl(Ctl::Mod, &f, 3, EPOLLIN | EPOLLONESHOT, 9).unwrap();
        assert_eq!(ep.send_events(4), vec![(EPOLLIN, 9)]);
        add(&e, 1);
        assert!(ep.send_events(4).is_empty());
        assert_eq!(ep.interests().len(), 1);
        // The last reference to the description goes: so does the interest.
        drop(f);
        assert!(ep.interests().is_empty());
    }

    #[test]
    fn nesting_loops_are_refused() {
        let a = EventPoll::new();
        let b = EventPoll::new();
        let fa = FileDescription::anonymous(a.clone(), AnonInode::new(0, 0), O_RDWR, Vec::new());
        let fb = FileDescription::anonymous(b.clone(), AnonInode::new(0, 0), O_RDWR, Vec::new());
        a.ctl(Ctl::Add, &fb, 4, EPOLLIN, 0).unwrap();
        assert_eq!(b.ctl(Ctl::Add, &fa, 3, EPOLLIN, 0), Err(Errno::ELOOP));
        let (e, f) = eventfd_file();
        b.ctl(Ctl::Add, &f, 5, EPOLLIN, 1).unwrap();
        assert_eq!(a.poll(), 0);
        add(&e, 1);
        assert_eq!(a.poll(), EPOLLIN | EPOLLRDNORM);
        assert_eq!(a.send_events(4), vec![(EPOLLIN, 0)]);
    }
}
