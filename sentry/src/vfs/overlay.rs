//! The root overlay (DESIGN.md §5): a read-only lower tree (the gofer's) under a writable
//! in-memory upper tree (tmpfs), so nothing the application writes reaches the host.
//! Files are copied up on their first change; deletions leave whiteouts in the upper
//! layer (a character device 0:0, as overlayfs does), and a directory made where one was
//! deleted is opaque (the lower one no longer shows through). Renaming a directory that
//! has lower contents is refused with EXDEV, as overlayfs does without redirect_dir.

use super::inode::*;
use super::tmpfs::{Tmpfs, TmpfsInode};
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls_table::Errno;

pub struct OverlayInode {
    me: Weak<OverlayInode>,
    upper: Mutex<Option<Arc<TmpfsInode>>>,
    lower: Option<InodeRef>,
    /// The directory it was found in and its name there (for copy-up), None for the root.
    parent: Mutex<Option<(Arc<OverlayInode>, Vec<u8>)>>,
    /// Held (on the directory) while one of its children is copied up, so that two
    /// tasks copying up the same name, or the same directory, do not race.
    copying: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_whiteout(i: &InodeRef) -> bool {
    i.stat()
        .is_ok_and(|s| s.file_type() == S_IFCHR && s.rdev == 0)
}

fn as_tmpfs(i: InodeRef) -> Result<Arc<TmpfsInode>, Errno> {
    i.into_any()
        .downcast::<TmpfsInode>()
        .map_err(|_| Errno::EIO)
}

const ROOT: Cred = Cred { uid: 0, gid: 0 };

impl OverlayInode {
    /// The root of an overlay of `lower` under a fresh tmpfs on device `dev`.
    pub fn new_root(lower: InodeRef, dev: u64) -> Result<Arc<OverlayInode>, Errno> {
        let st = lower.stat()?;
        let upper = Tmpfs::new_root(
            dev,
            st.mode & 0o7777,
            Cred {
                uid: st.uid,
                gid: st.gid,
            },
        );
        Ok(Self::node(Some(upper), Some(lower), None))
    }

    fn node(
        upper: Option<Arc<TmpfsInode>>,
        lower: Option<InodeRef>,
        parent: Option<(Arc<OverlayInode>, Vec<u8>)>,
    ) -> Arc<OverlayInode> {
        Arc::new_cyclic(|me| OverlayInode {
            me: me.clone(),
            upper: Mutex::new(upper),
            lower,
            parent: Mutex::new(parent),
            copying: Mutex::new(()),
        })
    }

    fn arc(&self) -> Result<Arc<OverlayInode>, Errno> {
        self.me.upgrade().ok_or(Errno::ENOENT)
    }

    fn upper(&self) -> Option<Arc<TmpfsInode>> {
        lock(&self.upper).clone()
    }

    /// The layer that answers for this node now.
    fn top(&self) -> Result<InodeRef, Errno> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        self.lower.clone().ok_or(Errno::ENOENT)
    }

    /// Whether a lower directory shows through this one.
    fn merges_lower(&self) -> bool {
        let Some(l) = &self.lower else { return false };
        match self.upper() {
            None => true,
            Some(u) => {
                !u.is_opaque()
                    && u.stat().is_ok_and(|s| s.is_dir())
                    && l.stat().is_ok_and(|s| s.is_dir())
            }
        }
    }

    fn mine(&self, other: &InodeRef) -> Result<Arc<OverlayInode>, Errno> {
        other
            .clone()
            .into_any()
            .downcast::<OverlayInode>()
            .map_err(|_| Errno::EXDEV)
    }

    /// Makes sure this node exists in the upper layer (copying it and its ancestors up)
    /// and returns the upper node.
    fn copy_up(&self) -> Result<Arc<TmpfsInode>, Errno> {
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        let lower = self.lower.clone().ok_or(Errno::ENOENT)?;
        let (parent, name) = lock(&self.parent).clone().ok_or(Errno::EIO)?;
        let pup = parent.copy_up()?;
        let _copying = lock(&parent.copying);
        if let Some(u) = self.upper() {
            return Ok(u);
        }
        // Another node for the same name may have copied it up already.
        if let Ok(existing) = pup.lookup(&name)
            && !is_whiteout(&existing)
        {
            let up = as_tmpfs(existing)?;
            *lock(&self.upper) = Some(up.clone());
            return Ok(up);
        }
        let st = lower.stat()?;
        let owner = Cred {
            uid: st.uid,
            gid: st.gid,
        };
        let made: InodeRef = match st.file_type() {
            S_IFDIR => pup.create(&name, S_IFDIR | (st.mode & 0o7777), 0, owner)?,
            S_IFLNK => pup.symlink(&name, &lower.readlink()?, owner)?,
            S_IFREG => {
                let f = pup.create(&name, S_IFREG | (st.mode & 0o7777), 0, owner)?;
                // Copied a chunk at a time: the upper file's pages are the only copy.
                let src = lower.clone().open(0)?;
                let dst = f.clone().open(super::file::O_WRONLY)?;
                let mut buf = vec![0u8; 1 << 20];
                let mut off = 0u64;
                loop {
                    let n = src.read(&[crate::host::seg_of(&mut buf)], Some(off))?;
                    if n == 0 {
                        break;
                    }
                    let mut put = 0;
                    while put < n {
                        put += dst.write(
                            &[crate::host::seg_of(&mut buf[put..n])],
                            Some(off + put as u64),
                        )?;
                    }
                    off += n as u64;
                }
                f
            }
            t => pup.create(&name, t | (st.mode & 0o7777), st.rdev, owner)?,
        };
        made.setattr(&SetAttr {
            atime: Some(st.atime),
            mtime: Some(st.mtime),
            ..Default::default()
        })?;
        let up = as_tmpfs(made)?;
        *lock(&self.upper) = Some(up.clone());
        Ok(up)
    }

    /// The merged child `name`, if it exists.
    fn child(&self, name: &[u8]) -> Result<Arc<OverlayInode>, Errno> {
        let upper_child = match self.upper() {
            Some(u) => match u.lookup(name) {
                Ok(c) if is_whiteout(&c) => return Err(Errno::ENOENT),
                Ok(c) => Some(c),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        // The lower entry is always recorded (a later delete must leave a whiteout);
        // whether it merges into the upper one is `merges_lower`'s decision.
        let lower_child = if self.merges_lower() {
            match self.lower.as_ref().map(|l| l.lookup(name)) {
                Some(Ok(l)) => Some(l),
                Some(Err(Errno::ENOENT)) | Some(Err(Errno::ENOTDIR)) | None => None,
                Some(Err(e)) => return Err(e),
            }
        } else {
            None
        };
        if upper_child.is_none() && lower_child.is_none() {
            return Err(Errno::ENOENT);
        }
        let upper = upper_child.map(as_tmpfs).transpose()?;
        Ok(Self::node(
            upper,
            lower_child,
            Some((self.arc()?, name.to_vec())),
        ))
    }

    /// Merged directory entries.
    fn entries(&self) -> Result<BTreeMap<Vec<u8>, DirEntry>, Errno> {
        let mut out = BTreeMap::new();
        let mut hidden = Vec::new();
        if let Some(u) = self.upper() {
            for e in u.readdir()? {
                if e.kind == 2 && u.lookup(&e.name).is_ok_and(|c| is_whiteout(&c)) {
                    hidden.push(e.name);
                    continue;
                }
                out.insert(e.name.clone(), e);
            }
        }
        if self.merges_lower()
            && let Some(l) = &self.lower
        {
            for e in l.readdir()? {
                if !out.contains_key(&e.name) && !hidden.contains(&e.name) {
                    out.insert(e.name.clone(), e);
                }
            }
        }
        Ok(out)
    }

    /// Removes `name` from the upper layer if there, and leaves a whiteout if the lower
    /// layer has it.
    fn erase(&self, name: &[u8], child: &OverlayInode, dir: bool) -> Result<(), Errno> {
        let up = self.copy_up()?;
        if let Some(cu) = child.upper() {
            if dir {
                // Only whiteouts can be left in it (it is empty in the merged view).
                for e in cu.readdir()? {
                    cu.remove(&e.name, false)?;
                }
            }
            up.remove(name, dir)?;
        }
        if child.lower.is_some() {
            up.create(name, S_IFCHR, 0, ROOT)?;
        }
        Ok(())
    }

    /// Prepares `name` in this (copied-up) directory for a new node: drops a whiteout
    /// there; returns whether there was one.
    fn clear_whiteout(&self, up: &Arc<TmpfsInode>, name: &[u8]) -> Result<bool, Errno> {
        match up.lookup(name) {
            Ok(c) if is_whiteout(&c) => {
                up.remove(name, false)?;
                Ok(true)
            }
            Ok(_) => Err(Errno::EEXIST),
            Err(_) => Ok(false),
        }
    }

    /// A new upper-only child (after a create in this directory).
    fn upper_child(&self, name: &[u8], made: InodeRef) -> Result<InodeRef, Errno> {
        Ok(Self::node(
            Some(as_tmpfs(made)?),
            None,
            Some((self.arc()?, name.to_vec())),
        ))
    }
}

impl Inode for OverlayInode {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut st = self.top()?.stat()?;
        // A copied-up node keeps the identity it had below.
        if self.upper().is_some()
            && let Some(l) = &self.lower
            && let Ok(ls) = l.stat()
            && ls.file_type() == st.file_type()
        {
            st.dev = ls.dev;
            st.ino = ls.ino;
        }
        Ok(st)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if !self.stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.child(name).map(|c| c as InodeRef)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self.entries()?.into_values().collect())
    }

    fn create(&self, name: &[u8], mode: u32, rdev: u64, cred: Cred) -> Result<InodeRef, Errno> {
        if self.child(name).is_ok() {
            return Err(Errno::EEXIST);
        }
        let up = self.copy_up()?;
        let was_whiteout = self.clear_whiteout(&up, name)?;
        let made = up.create(name, mode, rdev, cred)?;
        if was_whiteout && mode & S_IFMT == S_IFDIR {
            as_tmpfs(made.clone())?.set_opaque(true);
        }
        self.upper_child(name, made)
    }

    fn create_tmpfile(&self, mode: u32, cred: Cred, linkable: bool) -> Result<InodeRef, Errno> {
        let up = self.copy_up()?;
        let made = up.create_tmpfile(mode, cred, linkable)?;
        Ok(Self::node(Some(as_tmpfs(made)?), None, None))
    }

    fn symlink(&self, name: &[u8], target: &[u8], cred: Cred) -> Result<InodeRef, Errno> {
        if self.child(name).is_ok() {
            return Err(Errno::EEXIST);
        }
        let up = self.copy_up()?;
        self.clear_whiteout(&up, name)?;
        let made = up.symlink(name, target, cred)?;
        self.upper_child(name, made)
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let t = self.mine(target)?;
        if self.child(name).is_ok() {
            return Err(Errno::EEXIST);
        }
        let tu: InodeRef = t.copy_up()?;
        let up = self.copy_up()?;
        self.clear_whiteout(&up, name)?;
        up.link(name, &tu)
    }

    fn remove(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        let child = self.child(name)?;
        let is_dir = child.stat()?.is_dir();
        if dir && !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if !dir && is_dir {
            return Err(Errno::EISDIR);
        }
        if is_dir && !child.entries()?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        self.erase(name, &child, dir)
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        const NOREPLACE: u32 = 1;
        const EXCHANGE: u32 = 2;
        let nd = self.mine(new_dir)?;
        let src = self.child(old)?;
        let src_dir = src.stat()?.is_dir();
        let dst = nd.child(new).ok();
        if flags & EXCHANGE != 0 {
            // Only between nodes that live entirely in the upper layer.
            let d = dst.as_ref().ok_or(Errno::ENOENT)?;
            if src.lower.is_some() || d.lower.is_some() {
                return Err(Errno::EXDEV);
            }
        } else if let Some(d) = &dst {
            if Arc::ptr_eq(&d.top()?, &src.top()?) {
                return Ok(());
            }
            if flags & NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            let dd = d.stat()?.is_dir();
            if src_dir && !dd {
                return Err(Errno::ENOTDIR);
            }
            if !src_dir && dd {
                return Err(Errno::EISDIR);
            }
            if dd && !d.entries()?.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
        }
        if src_dir && src.lower.is_some() && src.merges_lower() {
            return Err(Errno::EXDEV);
        }
        src.copy_up()?;
        let up = self.copy_up()?;
        let nup = nd.copy_up()?;
        let nup_ref: InodeRef = nup.clone();
        if flags & EXCHANGE == 0 {
            if let Some(d) = &dst {
                // Replace the target: clear it (and its lower copy) first.
                nd.erase(new, d, d.stat()?.is_dir())?;
            }
            let _ = nd.clear_whiteout(&nup, new);
        }
        up.rename(old, &nup_ref, new, flags)?;
        if flags & EXCHANGE == 0 && src.lower.is_some() {
            up.create(old, S_IFCHR, 0, ROOT)?;
        }
        Ok(())
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.top()?.readlink()
    }

    fn xattr_get(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.top()?.xattr_get(name)
    }

    fn xattr_set(&self, name: &[u8], value: Option<&[u8]>, flags: u32) -> Result<(), Errno> {
        self.copy_up()?.xattr_set(name, value, flags)
    }

    fn xattr_list(&self) -> Result<Vec<Vec<u8>>, Errno> {
        self.top()?.xattr_list()
    }

    fn fifo(&self) -> Option<Arc<super::pipe::Pipe>> {
        self.top().ok()?.fifo()
    }

    fn setattr(&self, attr: &SetAttr) -> Result<(), Errno> {
        self.copy_up()?.setattr(attr)
    }

    fn punch_hole(&self, off: u64, len: u64) -> Result<(), Errno> {
        self.copy_up()?.punch_hole(off, len)
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        match self.upper() {
            Some(u) => u.statfs(),
            None => self.top()?.statfs(),
        }
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        let writing = flags & 3 != 0 || flags & 0o1000 != 0;
        if writing {
            return self.copy_up()?.open(flags);
        }
        self.top()?.open(flags)
    }
}
