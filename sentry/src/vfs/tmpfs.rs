//! tmpfs: a filesystem held in sentry memory. Regular files, directories, symlinks, hard
//! links, fifos and device nodes; used for `/tmp`, `/dev/shm` and (until the gofer root
//! exists) the root. File data lives in memory-file pages, which shared mappings of the
//! file map directly.

use super::inode::*;
use super::sparse::SparseData;
use crate::host::{self, Seg};
use crate::mm::memfile::Frame;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

pub const TMPFS_MAGIC: u64 = 0x0102_1994;
pub const SEAL_SEAL: u32 = 1;
pub const SEAL_SHRINK: u32 = 2;
pub const SEAL_GROW: u32 = 4;
pub const SEAL_WRITE: u32 = 8;
pub const SEAL_FUTURE_WRITE: u32 = 0x10;
/// Largest file size (the host's MAX_LFS_FILESIZE).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// The capacity statfs reports (16 GiB), in pages. No one file may hold more pages than
/// that: ENOSPC, as a full tmpfs gives.
const CAPACITY_BLOCKS: u64 = 1 << 22;

/// One tmpfs instance.
pub struct Tmpfs {
    dev: u64,
    next_ino: AtomicU64,
}

enum Kind {
    Dir(BTreeMap<Vec<u8>, Arc<TmpfsInode>>),
    File(SparseData),
    Symlink(Vec<u8>),
    /// A fifo and the pipe everyone who opens it shares.
    Fifo(Arc<super::pipe::Pipe>),
    /// Sockets and device nodes: only metadata here.
    Special,
}

struct Node {
    /// An overlay's "opaque" mark on an upper directory: the lower one is hidden.
    opaque: bool,
    /// Extended attributes, by name.
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// memfd seals (F_SEAL_*).
    seals: u32,
    /// An O_TMPFILE file (made without O_EXCL) may be linked in although unlinked.
    linkable_orphan: bool,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    kind: Kind,
}

pub struct TmpfsInode {
    fs: Arc<Tmpfs>,
    ino: u64,
    node: Mutex<Node>,
}

impl Tmpfs {
    /// A new tmpfs whose root directory has `mode` and owner `cred`.
    pub fn new_root(dev: u64, mode: u32, cred: Cred) -> Arc<TmpfsInode> {
        let fs = Arc::new(Tmpfs {
            dev,
            next_ino: AtomicU64::new(1),
        });
        fs.new_inode(
            S_IFDIR | (mode & 0o7777),
            0,
            cred,
            Kind::Dir(BTreeMap::new()),
        )
    }

    fn new_inode(
        self: &Arc<Self>,
        mode: u32,
        rdev: u64,
        cred: Cred,
        kind: Kind,
    ) -> Arc<TmpfsInode> {
        let now = Timespec::now();
        let nlink = if matches!(kind, Kind::Dir(_)) { 2 } else { 1 };
        Arc::new(TmpfsInode {
            fs: self.clone(),
            ino: self.next_ino.fetch_add(1, Ordering::Relaxed),
            node: Mutex::new(Node {
                opaque: false,
                xattrs: BTreeMap::new(),
                // Ordinary tmpfs files cannot be sealed (memfd_create sets its own).
                seals: SEAL_SEAL,
                linkable_orphan: false,
                mode,
                uid: cred.uid,
                gid: cred.gid,
                nlink,
                rdev,
                atime: now,
                mtime: now,
                ctime: now,
                kind,
            }),
        })
    }
}

fn touch(n: &mut Node) {
    let now = Timespec::now();
    n.mtime = now;
    n.ctime = now;
}

impl TmpfsInode {
    fn lock(&self) -> MutexGuard<'_, Node> {
        self.node.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_dir(&self) -> bool {
        matches!(self.lock().kind, Kind::Dir(_))
    }

    fn mine(&self, other: &InodeRef) -> Result<Arc<TmpfsInode>, Errno> {
        let t = other
            .clone()
            .into_any()
            .downcast::<TmpfsInode>()
            .map_err(|_| Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(t)
    }

    /// Adds `child` as `name` (EEXIST if taken).
    fn insert(&self, name: &[u8], child: Arc<TmpfsInode>) -> Result<(), Errno> {
        let child_is_dir = child.is_dir();
        let mut n = self.lock();
        if n.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let Kind::Dir(c) = &mut n.kind else {
            return Err(Errno::ENOTDIR);
        };
        if c.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        c.insert(name.to_vec(), child);
        if child_is_dir {
            n.nlink += 1;
        }
        touch(&mut n);
        Ok(())
    }

    fn dir_is_empty(&self) -> bool {
        matches!(&self.lock().kind, Kind::Dir(c) if c.is_empty())
    }

    fn drop_link(&self) {
        let mut n = self.lock();
        let is_dir = matches!(n.kind, Kind::Dir(_));
        n.nlink = if is_dir { 0 } else { n.nlink.saturating_sub(1) };
        n.ctime = Timespec::now();
    }
}

impl Inode for TmpfsInode {
    fn stat(&self) -> Result<Stat, Errno> {
        let n = self.lock();
        let size = match &n.kind {
            Kind::File(d) => d.len(),
            Kind::Symlink(t) => t.len() as u64,
            Kind::Dir(c) => 40 + 20 * c.len() as u64,
            Kind::Special | Kind::Fifo(_) => 0,
        };
        let blocks = match &n.kind {
            Kind::File(d) => d.blocks(),
            _ => 0,
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: n.mode,
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            rdev: n.rdev,
            size,
            blksize: 4096,
            blocks,
            atime: n.atime,
            mtime: n.mtime,
            ctime: n.ctime,
        })
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        match &self.lock().kind {
            Kind::Dir(c) => c
                .get(name)
                .map(|i| i.clone() as InodeRef)
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        match &self.lock().kind {
            Kind::Dir(c) => Ok(c
                .iter()
                .map(|(name, i)| DirEntry {
                    name: name.clone(),
                    ino: i.ino,
                    kind: dt_type(i.lock().mode),
                })
                .collect()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn create(&self, name: &[u8], mode: u32, rdev: u64, cred: Cred) -> Result<InodeRef, Errno> {
        let kind = match mode & S_IFMT {
            S_IFDIR => Kind::Dir(BTreeMap::new()),
            S_IFREG => Kind::File(SparseData::default()),
            S_IFIFO => Kind::Fifo(super::pipe::Pipe::new(cred.uid, cred.gid)),
            S_IFCHR | S_IFBLK | S_IFSOCK => Kind::Special,
            _ => return Err(Errno::EINVAL),
        };
        let gid = self.setgid_group(cred);
        // Under a set-group-ID directory, a new directory is set-group-ID too.
        let mode = if mode & S_IFMT == S_IFDIR && self.lock().mode & 0o2000 != 0 {
            mode | 0o2000
        } else {
            mode
        };
        let child = self
            .fs
            .new_inode(mode, rdev, Cred { uid: cred.uid, gid }, kind);
        self.insert(name, child.clone())?;
        Ok(child)
    }

    fn create_tmpfile(&self, mode: u32, cred: Cred, linkable: bool) -> Result<InodeRef, Errno> {
        self.make_tmpfile(mode, cred, linkable)
    }

    fn symlink(&self, name: &[u8], target: &[u8], cred: Cred) -> Result<InodeRef, Errno> {
        let child = self
            .fs
            .new_inode(S_IFLNK | 0o777, 0, cred, Kind::Symlink(target.to_vec()));
        self.insert(name, child.clone())?;
        Ok(child)
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let t = self.mine(target)?;
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        {
            let mut tn = t.lock();
            if tn.nlink == 0 {
                if !tn.linkable_orphan {
                    return Err(Errno::ENOENT);
                }
                tn.linkable_orphan = false;
                tn.nlink = 0;
            }
        }
        self.insert(name, t.clone())?;
        let mut n = t.lock();
        n.nlink += 1;
        n.ctime = Timespec::now();
        Ok(())
    }

    fn remove(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let mut n = self.lock();
        let Kind::Dir(c) = &mut n.kind else {
            return Err(Errno::ENOTDIR);
        };
        let child = c.get(name).cloned().ok_or(Errno::ENOENT)?;
        let child_dir = child.is_dir();
        if dir && !child_dir {
            return Err(Errno::ENOTDIR);
        }
        if !dir && child_dir {
            return Err(Errno::EISDIR);
        }
        if child_dir && !child.dir_is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        c.remove(name);
        if child_dir {
            n.nlink -= 1;
        }
        touch(&mut n);
        drop(n);
        child.drop_link();
        Ok(())
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        const NOREPLACE: u32 = 1;
        const EXCHANGE: u32 = 2;
        let nd = self.mine(new_dir)?;
        let src = self.lookup_tmpfs(old)?;
        let dst = nd.lookup_tmpfs(new).ok();
        if let Some(d) = &dst {
            if Arc::ptr_eq(d, &src) {
                return Ok(());
            }
            if flags & NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
        } else if flags & EXCHANGE != 0 {
            return Err(Errno::ENOENT);
        }
        if flags & EXCHANGE != 0 {
            let d = dst.ok_or(Errno::ENOENT)?;
            self.replace_child(old, d.clone());
            nd.replace_child(new, src.clone());
            self.fix_dir_links(&d, &src);
            nd.fix_dir_links(&src, &d);
            return Ok(());
        }
        if let Some(d) = &dst {
            let (sd, dd) = (src.is_dir(), d.is_dir());
            if sd && !dd {
                return Err(Errno::ENOTDIR);
            }
            if !sd && dd {
                return Err(Errno::EISDIR);
            }
            if dd && !d.dir_is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            nd.remove(new, dd)?;
        }
        // Remove from the old directory and add to the new one.
        {
            let mut n = self.lock();
            if let Kind::Dir(c) = &mut n.kind {
                c.remove(old);
            }
            if src.is_dir() {
                n.nlink -= 1;
            }
            touch(&mut n);
        }
        nd.insert(new, src.clone())?;
        src.lock().ctime = Timespec::now();
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.lock().kind {
            Kind::Symlink(t) => Ok(t.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        let mut n = self.lock();
        if let Some(size) = a.size {
            let seals = n.seals;
            match &mut n.kind {
                Kind::File(d) => {
                    let (shrinks, grows) = (size < d.len(), size > d.len());
                    if (shrinks && seals & SEAL_SHRINK != 0) || (grows && seals & SEAL_GROW != 0) {
                        return Err(Errno::EPERM);
                    }
                    if size > MAX_FILE_SIZE {
                        return Err(Errno::EFBIG);
                    }
                    // Growing leaves a hole; no memory is used until written.
                    d.set_len(size);
                    touch(&mut n);
                }
                Kind::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        if let Some(m) = a.mode {
            n.mode = (n.mode & S_IFMT) | (m & 0o7777);
        }
        if let Some(u) = a.uid {
            n.uid = u;
        }
        if let Some(g) = a.gid {
            n.gid = g;
        }
        if let Some(t) = a.atime {
            n.atime = t;
        }
        if let Some(t) = a.mtime {
            n.mtime = t;
        }
        n.ctime = Timespec::now();
        Ok(())
    }

    fn punch_hole(&self, off: u64, len: u64) -> Result<(), Errno> {
        let mut n = self.lock();
        if n.seals & (SEAL_WRITE | SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let Kind::File(d) = &mut n.kind else {
            return Err(Errno::ENODEV);
        };
        d.punch(off, len);
        touch(&mut n);
        Ok(())
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: 4096,
            blocks: CAPACITY_BLOCKS,
            bfree: CAPACITY_BLOCKS,
            bavail: CAPACITY_BLOCKS,
            files: 1 << 20,
            ffree: 1 << 20,
            namelen: 255,
            flags: 0,
        })
    }

    fn xattr_get(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.lock().xattrs.get(name).cloned().ok_or(Errno::ENODATA)
    }

    fn xattr_set(&self, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result<(), Errno> {
        let mut n = self.lock();
        let present = n.xattrs.contains_key(name);
        if flags & XATTR_CREATE != 0 && present {
            return Err(Errno::EEXIST);
        }
        if (flags & XATTR_REPLACE != 0 || value.is_none()) && !present {
            return Err(Errno::ENODATA);
        }
        match value {
            Some(v) => {
                n.xattrs.insert(name.to_vec(), v.to_vec());
            }
            None => {
                n.xattrs.remove(name);
            }
        }
        n.ctime = Timespec::now();
        Ok(())
    }

    fn xattr_list(&self) -> Result<Vec<Vec<u8>>, Errno> {
        Ok(self.lock().xattrs.keys().cloned().collect())
    }

    fn fifo(&self) -> Option<Arc<super::pipe::Pipe>> {
        match &self.lock().kind {
            Kind::Fifo(p) => Some(p.clone()),
            _ => None,
        }
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        match self.lock().kind {
            Kind::File(_) => {}
            _ => return Err(Errno::ENXIO),
        }
        Ok(Arc::new(TmpfsFile {
            inode: self.clone(),
        }))
    }
}

impl TmpfsInode {
    pub fn seals(&self) -> u32 {
        self.lock().seals
    }

    /// Makes an unnamed regular file in this directory (O_TMPFILE): created under a
    /// hidden name and unlinked at once.
    fn make_tmpfile(&self, mode: u32, cred: Cred, linkable: bool) -> Result<InodeRef, Errno> {
        let name = format!(".#tmpfile-{}", self.fs.next_ino.load(Ordering::Relaxed));
        let f = self.create(name.as_bytes(), S_IFREG | (mode & 0o7777), 0, cred)?;
        self.remove(name.as_bytes(), false)?;
        let t = f
            .clone()
            .into_any()
            .downcast::<TmpfsInode>()
            .map_err(|_| Errno::EIO)?;
        t.lock().linkable_orphan = linkable;
        Ok(f)
    }

    /// Sets the initial seals of a memfd.
    pub fn init_seals(&self, seals: u32) {
        self.lock().seals = seals;
    }

    /// F_ADD_SEALS: EPERM once F_SEAL_SEAL is set.
    pub fn add_seals(&self, seals: u32) -> Result<(), Errno> {
        let mut n = self.lock();
        if n.seals & SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        n.seals |= seals;
        Ok(())
    }

    pub fn set_opaque(&self, on: bool) {
        self.lock().opaque = on;
    }

    pub fn is_opaque(&self) -> bool {
        self.lock().opaque
    }

    /// Replaces a regular file's contents (building fixed trees such as /sys).
    pub fn set_data(&self, data: &[u8]) -> Result<(), Errno> {
        let mut n = self.lock();
        match &mut n.kind {
            Kind::File(d) => d.set_data(data),
            _ => Err(Errno::EISDIR),
        }
    }

    fn lookup_tmpfs(&self, name: &[u8]) -> Result<Arc<TmpfsInode>, Errno> {
        match &self.lock().kind {
            Kind::Dir(c) => c.get(name).cloned().ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn replace_child(&self, name: &[u8], child: Arc<TmpfsInode>) {
        let mut n = self.lock();
        if let Kind::Dir(c) = &mut n.kind {
            c.insert(name.to_vec(), child);
        }
        touch(&mut n);
    }

    /// After an exchange put `added` where `removed` was, fix this directory's link count.
    fn fix_dir_links(&self, added: &Arc<TmpfsInode>, removed: &Arc<TmpfsInode>) {
        let (a, r) = (added.is_dir(), removed.is_dir());
        let mut n = self.lock();
        if a && !r {
            n.nlink += 1;
        } else if r && !a {
            n.nlink -= 1;
        }
    }

    /// The group of a new child: the directory's if it is set-group-ID.
    fn setgid_group(&self, cred: Cred) -> u32 {
        let n = self.lock();
        if n.mode & 0o2000 != 0 {
            n.gid
        } else {
            cred.gid
        }
    }
}

/// An open tmpfs regular file.
struct TmpfsFile {
    inode: Arc<TmpfsInode>,
}

impl FileOps for TmpfsFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        let n = self.inode.lock();
        let Kind::File(d) = &n.kind else {
            return Err(Errno::EISDIR);
        };
        Ok(d.read_at(off.unwrap_or(0), segs))
    }

    fn accessed(&self) {
        // As on a relatime mount: only when atime is not newer than mtime or ctime, or
        // is a day old.
        let mut n = self.inode.lock();
        let now = Timespec::now();
        if n.atime <= n.mtime || n.atime <= n.ctime || now.sec - n.atime.sec >= 24 * 3600 {
            n.atime = now;
        }
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        let len = host::segs_len(segs);
        // An empty write changes nothing, not even the times (nor minds seals).
        if len == 0 {
            return Ok(0);
        }
        let mut n = self.inode.lock();
        let seals = n.seals;
        let Kind::File(d) = &mut n.kind else {
            return Err(Errno::EISDIR);
        };
        if seals & (SEAL_WRITE | SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let off = off.unwrap_or(d.len());
        if seals & SEAL_GROW != 0 && off.saturating_add(len as u64) > d.len() {
            return Err(Errno::EPERM);
        }
        off.checked_add(len as u64)
            .filter(|&e| e <= MAX_FILE_SIZE)
            .ok_or(Errno::EFBIG)?;
        let mut src = Vec::new();
        src.try_reserve_exact(len).map_err(|_| Errno::ENOSPC)?;
        src.resize(len, 0);
        let got = host::copy_from_segs(segs, &mut src);
        d.write_at(off, &src[..got], CAPACITY_BLOCKS)?;
        touch(&mut n);
        Ok(got)
    }

    fn size(&self) -> Result<u64, Errno> {
        match &self.inode.lock().kind {
            Kind::File(d) => Ok(d.len()),
            _ => Ok(0),
        }
    }

    fn map_shared(&self, write: bool) -> Result<(), Errno> {
        let n = self.inode.lock();
        if write && n.seals & (SEAL_WRITE | SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        match n.kind {
            Kind::File(_) => Ok(()),
            _ => Err(Errno::ENODEV),
        }
    }

    fn shared_frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        match &mut self.inode.lock().kind {
            Kind::File(d) => d.frame(idx, CAPACITY_BLOCKS),
            _ => Err(Errno::ENODEV),
        }
    }

    fn seek_data_hole(&self, off: u64, hole: bool) -> Option<Result<u64, Errno>> {
        match &self.inode.lock().kind {
            Kind::File(d) => Some(if hole {
                d.seek_hole(off)
            } else {
                d.seek_data(off)
            }),
            _ => None,
        }
    }
}
