//! The gofer-backed filesystem (DESIGN.md §6): every node is a gofer handle; lookups,
//! directory listings and metadata changes are gofer requests; file I/O goes straight to
//! the host file descriptor the gofer donated on open (pread/pwrite, no copies through
//! the gofer). Stat values are the host's, so `ls -l` of a host tree reads as natively.
//!
//! Shared mappings go through a per-file page cache in the memory file (DESIGN.md §5):
//! pages are read from the host when first mapped, reads and writes of the file see and
//! update the cached pages, and the pages are written back to the host on msync, fsync
//! and when the last open file (or mapping) of it goes.

use super::inode::*;
use crate::host::{self, Seg};
use crate::mm::memfile::{Frame, MemoryFile};
use gofer::client::{Client, Owner};
use gofer::protocol::{Handle, SetStat, SetTime};
use std::any::Any;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

pub struct GoferFs {
    client: Client,
    /// Served read-only (the overlay's lower layer): nothing in the sandbox changes it,
    /// so attributes are kept once known instead of asked for again.
    read_only: bool,
}

impl GoferFs {
    /// Attaches to the gofer's root; returns the root inode.
    pub fn mount(client: Client, read_only: bool) -> Result<Arc<GoferInode>, Errno> {
        crate::mm::memfile::on_pressure(drop_retained);
        let fs = Arc::new(GoferFs { client, read_only });
        let e = fs.client.mount()?;
        Ok(Arc::new(GoferInode {
            fs,
            handle: e.handle,
            fresh: Mutex::new(Some(convert(&e.stat))),
            cache: Mutex::default(),
            link: Mutex::default(),
            read_fd: Mutex::default(),
        }))
    }
}

pub struct GoferInode {
    fs: Arc<GoferFs>,
    handle: Handle,
    /// The stat that came with the walk, served once before asking the gofer again.
    fresh: Mutex<Option<Stat>>,
    /// Pages of the file that shared mappings use.
    cache: Mutex<PageCache>,
    /// A read-only tree's symlink target, once read.
    link: Mutex<Option<Vec<u8>>>,
    /// A read-only tree's file opened for reading, kept for later opens (all I/O is
    /// positional, so descriptions can share it): opening again needs no gofer request.
    read_fd: Mutex<Option<Arc<OwnedFd>>>,
}

/// How many read descriptors read-only trees keep open in the sentry at most.
const MAX_KEPT_READ_FDS: usize = 4096;
static KEPT_READ_FDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

const PAGE: u64 = 4096;

#[derive(Default)]
struct PageCache {
    pages: BTreeMap<u64, Arc<Frame>>,
    /// A writable host descriptor for writing pages back, taken from the first open
    /// file that made a writable shared mapping.
    writeback: Option<OwnedFd>,
}

impl PageCache {
    /// For each cached page overlapping the `n` bytes at file offset `off`, calls `f` with
    /// that part of the page and the matching part of `segs` (which hold those bytes).
    fn each_page(&self, off: u64, n: usize, segs: &[Seg], mut f: impl FnMut(Seg, Vec<Seg>)) {
        let end = off + n as u64;
        for (&idx, frame) in self.pages.range(off / PAGE..end.div_ceil(PAGE)) {
            let lo = (idx * PAGE).max(off);
            let hi = ((idx + 1) * PAGE).min(end);
            let len = (hi - lo) as usize;
            f(
                frame.seg((lo - idx * PAGE) as usize, len),
                host::sub_segs(segs, (lo - off) as usize, len),
            );
        }
    }

    /// Writes every cached page back to the host, up to the file's current size (a
    /// mapping never grows a file).
    fn write_back(&self) -> Result<(), Errno> {
        let Some(fd) = &self.writeback else {
            return Ok(());
        };
        if self.pages.is_empty() {
            return Ok(());
        }
        let fd = fd.as_raw_fd();
        let size = super::hostfd::stat_from_host(&host::fstat(fd)?).size;
        for (&idx, f) in &self.pages {
            let start = idx * PAGE;
            if start >= size {
                break;
            }
            let len = (size - start).min(PAGE) as usize;
            host::writev(fd, &[f.seg(0, len)], Some(start as i64))?;
        }
        Ok(())
    }

    /// Forgets the pages no mapping uses any more.
    fn trim(&mut self) {
        self.pages.retain(|_, f| Arc::strong_count(f) > 1);
        if self.pages.is_empty() {
            self.writeback = None;
        }
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if self
            .read_fd
            .get_mut()
            .map(|f| f.take().is_some())
            .unwrap_or(false)
        {
            KEPT_READ_FDS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = self.fs.client.close(self.handle);
    }
}

fn convert(s: &gofer::protocol::Stat) -> Stat {
    let ts = |t: gofer::protocol::Timespec| Timespec {
        sec: t.sec,
        nsec: t.nsec as i64,
    };
    Stat {
        dev: s.dev,
        ino: s.ino,
        mode: s.mode,
        nlink: s.nlink,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev,
        size: s.size,
        blksize: s.blksize as u64,
        blocks: s.blocks,
        atime: ts(s.atime),
        mtime: ts(s.mtime),
        ctime: ts(s.ctime),
    }
}

impl GoferInode {
    fn child(&self, e: gofer::protocol::Entry) -> InodeRef {
        Arc::new(GoferInode {
            fs: self.fs.clone(),
            handle: e.handle,
            fresh: Mutex::new(Some(convert(&e.stat))),
            cache: Mutex::default(),
            link: Mutex::default(),
            read_fd: Mutex::default(),
        })
    }

    fn cache(&self) -> MutexGuard<'_, PageCache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn mine(&self, other: &InodeRef) -> Result<Arc<GoferInode>, Errno> {
        let g = other
            .clone()
            .into_any()
            .downcast::<GoferInode>()
            .map_err(|_| Errno::EXDEV)?;
        if !Arc::ptr_eq(&g.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(g)
    }

    fn forget_stat(&self) {
        *self.fresh.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Inode for GoferInode {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        if self.fs.read_only {
            if let Some(s) = *fresh {
                return Ok(s);
            }
            let s = convert(&self.fs.client.stat(self.handle)?);
            *fresh = Some(s);
            return Ok(s);
        }
        if let Some(s) = fresh.take() {
            return Ok(s);
        }
        drop(fresh);
        self.fs.client.stat(self.handle).map(|s| convert(&s))
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn cache_children(&self) -> bool {
        // A writable host tree can change under the sandbox.
        self.fs.read_only
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        self.fs
            .client
            .walk(self.handle, name)
            .map(|e| self.child(e))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut out = Vec::new();
        let mut cookie = 0;
        loop {
            let batch = self.fs.client.getdents(self.handle, cookie, 32 * 1024)?;
            let Some(last) = batch.last() else { break };
            cookie = last.cookie;
            for d in batch {
                if d.name != b"." && d.name != b".." {
                    out.push(DirEntry {
                        name: d.name,
                        ino: d.ino,
                        kind: d.dtype,
                    });
                }
            }
        }
        Ok(out)
    }

    fn create(&self, name: &[u8], mode: u32, _rdev: u64, cred: Cred) -> Result<InodeRef, Errno> {
        self.forget_stat();
        let owner = Owner::new(cred.uid, cred.gid);
        let e = match mode & S_IFMT {
            S_IFREG => {
                self.fs
                    .client
                    .create(self.handle, name, libc::O_RDWR, mode & 0o7777, owner)?
                    .0
            }
            S_IFDIR => self
                .fs
                .client
                .mkdir(self.handle, name, mode & 0o7777, owner)?,
            S_IFIFO | S_IFSOCK => self.fs.client.mknod(self.handle, name, mode, owner)?,
            // Device nodes are never made on the host.
            _ => return Err(Errno::EPERM),
        };
        Ok(self.child(e))
    }

    fn symlink(&self, name: &[u8], target: &[u8], cred: Cred) -> Result<InodeRef, Errno> {
        self.forget_stat();
        self.fs
            .client
            .symlink(self.handle, name, target, Owner::new(cred.uid, cred.gid))
            .map(|e| self.child(e))
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let t = self.mine(target)?;
        self.forget_stat();
        t.forget_stat();
        self.fs.client.link(self.handle, name, t.handle).map(|_| ())
    }

    fn remove(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        self.forget_stat();
        self.fs
            .client
            .unlink(self.handle, name, if dir { libc::AT_REMOVEDIR } else { 0 })
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        let nd = self.mine(new_dir)?;
        self.forget_stat();
        nd.forget_stat();
        self.fs
            .client
            .rename(self.handle, old, nd.handle, new, flags)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        if !self.fs.read_only {
            return self.fs.client.readlink(self.handle);
        }
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = &*link {
            return Ok(t.clone());
        }
        let t = self.fs.client.readlink(self.handle)?;
        *link = Some(t.clone());
        Ok(t)
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        self.forget_stat();
        let t = |v: Option<Timespec>| {
            v.map(|t| {
                SetTime::At(gofer::protocol::Timespec {
                    sec: t.sec,
                    nsec: t.nsec as u32,
                })
            })
        };
        let s = SetStat {
            mode: a.mode,
            uid: a.uid,
            gid: a.gid,
            size: a.size,
            atime: t(a.atime),
            mtime: t(a.mtime),
        };
        self.fs.client.setstat(self.handle, &s)?;
        if let Some(size) = a.size {
            // Cached pages past the new end are gone; the tail of the last one reads zero.
            let mut c = self.cache();
            c.pages.retain(|&i, _| i < size.div_ceil(PAGE));
            if size % PAGE != 0
                && let Some(f) = c.pages.get(&(size / PAGE))
            {
                let tail = (size % PAGE) as usize;
                f.memfile()
                    .zero(f.off() + tail as u64, PAGE as usize - tail);
            }
        }
        Ok(())
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        let s = self.fs.client.statfs(self.handle)?;
        Ok(StatFs {
            fs_type: s.fs_type,
            bsize: s.bsize,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            namelen: s.namelen,
            flags: s.flags,
        })
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        use std::sync::atomic::Ordering;
        let acc = (flags & 3) as i32;
        if !self.fs.read_only {
            self.forget_stat();
            let fd = Arc::new(self.fs.client.open(self.handle, acc)?);
            return Ok(Arc::new(GoferFile { fd, inode: self }));
        }
        // A read-only tree: its files are only ever read, through one kept descriptor.
        let fd = {
            let mut kept = self.read_fd.lock().unwrap_or_else(|e| e.into_inner());
            match &*kept {
                Some(fd) => fd.clone(),
                None => {
                    let fd = Arc::new(self.fs.client.open(self.handle, acc)?);
                    if KEPT_READ_FDS.fetch_add(1, Ordering::Relaxed) < MAX_KEPT_READ_FDS {
                        *kept = Some(fd.clone());
                    } else {
                        KEPT_READ_FDS.fetch_sub(1, Ordering::Relaxed);
                    }
                    fd
                }
            }
        };
        Ok(Arc::new(GoferFile { fd, inode: self }))
    }
}

/// An open gofer file: I/O on the donated host descriptor at the VFS's offsets.
struct GoferFile {
    fd: Arc<OwnedFd>,
    inode: Arc<GoferInode>,
}

impl Drop for GoferFile {
    fn drop(&mut self) {
        let mut c = self.inode.cache();
        if let Err(e) = c.write_back() {
            crate::log::warn(&format!("writing back a shared mapping's pages: {e:?}"));
        }
        if !self.inode.fs.read_only {
            c.trim();
            return;
        }
        // A read-only tree never changes under the sandbox: its pages are kept for the
        // next open (the next exec of the same binary), within a sandbox-wide budget.
        let pages = c.pages.len();
        drop(c);
        retain(&self.inode, pages);
    }
}

/// Page-cache pages of read-only trees kept after the last open file of theirs closes
/// (the oldest files' unused pages are dropped beyond this): 128 MiB.
const RETAINED_PAGES: usize = 32768;

/// Files whose page caches are kept, oldest first, with the pages each had then; and
/// the total.
type Retained = (std::collections::VecDeque<(std::sync::Weak<GoferInode>, usize)>, usize);
static RETAINED: Mutex<Retained> = Mutex::new((std::collections::VecDeque::new(), 0));

/// Drops every kept page nothing maps (the memory file is full).
fn drop_retained() {
    let list = std::mem::take(&mut *RETAINED.lock().unwrap_or_else(|e| e.into_inner()));
    for (w, _) in list.0 {
        // The allocation that ran out may be for a page cache whose lock its caller
        // holds: that one is skipped, not waited for.
        if let Some(i) = w.upgrade()
            && let Ok(mut c) = i.cache.try_lock()
        {
            c.trim();
        }
    }
}

/// Records that `inode`'s cache (`pages` pages) is kept, and trims the oldest kept
/// caches while the total is over budget. Called without any page-cache lock held.
fn retain(inode: &Arc<GoferInode>, pages: usize) {
    let mut evict = Vec::new();
    {
        let mut r = RETAINED.lock().unwrap_or_else(|e| e.into_inner());
        let (list, total) = &mut *r;
        if let Some(i) = list
            .iter()
            .position(|(w, _)| std::ptr::eq(w.as_ptr(), Arc::as_ptr(inode)))
        {
            let (_, n) = list.remove(i).unwrap_or_default();
            *total -= n;
        }
        if pages == 0 {
            return;
        }
        list.push_back((Arc::downgrade(inode), pages));
        *total += pages;
        while *total > RETAINED_PAGES {
            let Some((w, n)) = list.pop_front() else {
                break;
            };
            *total -= n;
            evict.push(w);
        }
    }
    // Pages still mapped somewhere stay (they belong to those mappings).
    for w in evict {
        if let Some(i) = w.upgrade() {
            i.cache().trim();
        }
    }
}

impl FileOps for GoferFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        let off = off.unwrap_or(0);
        let c = self.inode.cache();
        let n = host::readv(self.fd.as_raw_fd(), segs, Some(off as i64))? as usize;
        // Cached pages may hold stores not yet written back: they are the file's data.
        c.each_page(off, n, segs, |page, user| {
            host::copy_segs(&user, &[page]);
        });
        Ok(n)
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.inode.forget_stat();
        let off = off.unwrap_or(0);
        let c = self.inode.cache();
        let n = host::writev(self.fd.as_raw_fd(), segs, Some(off as i64))? as usize;
        c.each_page(off, n, segs, |page, user| {
            host::copy_segs(&[page], &user);
        });
        Ok(n)
    }

    fn map_shared(&self, write: bool) -> Result<(), Errno> {
        if write {
            let mut c = self.inode.cache();
            if c.writeback.is_none() {
                c.writeback = Some(host::dup_owned(self.fd.as_raw_fd())?);
            }
        }
        Ok(())
    }

    fn shared_frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        let mut v = self.shared_frames(idx, 1)?;
        v.pop().ok_or(Errno::EFAULT)
    }

    /// Cached pages as they are; the missing ones read in one preadv per run.
    fn shared_frames(&self, first: u64, n: u64) -> Result<Vec<Arc<Frame>>, Errno> {
        let mut c = self.inode.cache();
        let mut end = first.saturating_add(n);
        let missing: Vec<u64> = (first..end).filter(|i| !c.pages.contains_key(i)).collect();
        if !missing.is_empty() {
            // Pages past the end of the file do not exist (SIGBUS for the access).
            end = end.min(self.size()?.div_ceil(PAGE));
            let missing: Vec<u64> = missing.into_iter().filter(|&i| i < end).collect();
            if !missing.is_empty() {
                let frames = MemoryFile::global()
                    .and_then(|mf| mf.alloc_frames(missing.len() as u64))
                    .ok_or(Errno::ENOMEM)?;
                let mut at = 0;
                for run in missing.chunk_by(|a, b| *b == *a + 1) {
                    let segs: Vec<_> = frames[at..at + run.len()]
                        .iter()
                        .map(|f| f.seg(0, PAGE as usize))
                        .collect();
                    host::readv(self.fd.as_raw_fd(), &segs, Some((run[0] * PAGE) as i64))?;
                    at += run.len();
                }
                for (i, f) in missing.into_iter().zip(frames) {
                    c.pages.insert(i, f);
                }
            }
        }
        let v: Vec<Arc<Frame>> = (first..end).map_while(|i| c.pages.get(&i).cloned()).collect();
        if v.is_empty() {
            return Err(Errno::EFAULT);
        }
        Ok(v)
    }

    fn cached_frames(&self, first: u64, n: u64) -> Vec<(u64, Arc<Frame>)> {
        let c = self.inode.cache();
        c.pages
            .range(first..first.saturating_add(n))
            .map(|(i, f)| (*i, f.clone()))
            .collect()
    }

    fn size(&self) -> Result<u64, Errno> {
        host::fstat(self.fd.as_raw_fd()).map(|b| super::hostfd::stat_from_host(&b).size)
    }

    fn fsync(&self) -> Result<(), Errno> {
        self.inode.cache().write_back()?;
        self.inode.fs.client.fsync(self.inode.handle, false)
    }
}
