//! The VFS (DESIGN.md §5): mounts, dentries, path walking with symlinks resolved in the
//! sentry, and the file descriptions that FD tables point to. Filesystems implement
//! `inode::Inode`; everything about names — `.` and `..`, mount crossing, symlink limits,
//! trailing slashes, permission to search — is decided here, once for all of them.

pub mod anon;
pub mod devfs;
pub mod epoll;
pub mod eventfd;
pub mod file;
pub mod goferfs;
pub mod hostfd;
pub mod inode;
pub mod lock;
pub mod overlay;
pub mod pipe;
pub mod procfs;
pub mod signalfd;
pub mod sparse;
pub mod sysfs;
pub mod timerfd;
pub mod tmpfs;

use inode::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use syscalls_table::Errno;

pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;
/// Linux's MAXSYMLINKS.
const MAX_SYMLINKS: u32 = 40;

/// A name in the tree: an inode as reached through a parent directory.
pub struct Dentry {
    name: Mutex<Vec<u8>>,
    parent: Mutex<Option<Arc<Dentry>>>,
    pub inode: InodeRef,
    /// Looked-up children (a dentry cache): kept until removed or renamed, or only while
    /// in use where the filesystem can change behind the sentry's back.
    children: Mutex<HashMap<Vec<u8>, Cached>>,
}

enum Cached {
    Strong(Arc<Dentry>),
    Weak(Weak<Dentry>),
    /// The name does not exist (a negative dentry): kept, like strong entries, only in
    /// directories whose children the sentry sees every change of (`cache_children`),
    /// and dropped by every create, link, rename and unlink of the name through the VFS.
    Missing,
}

impl Cached {
    fn get(&self) -> Option<Arc<Dentry>> {
        match self {
            Cached::Strong(d) => Some(d.clone()),
            Cached::Weak(w) => w.upgrade(),
            Cached::Missing => None,
        }
    }
}

/// At most this many negative entries are kept per directory (an application probing
/// endless made-up names cannot grow the cache without bound).
const MAX_MISSING: usize = 1024;

impl Dentry {
    pub fn new_root(inode: InodeRef) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Mutex::new(b"/".to_vec()),
            parent: Mutex::new(None),
            inode,
            children: Mutex::default(),
        })
    }

    pub fn name(&self) -> Vec<u8> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.parent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the name was removed (unlinked, rmdir'ed, renamed over) or never linked
    /// (O_TMPFILE): its parent no longer holds it (Linux's d_unlinked()).
    pub fn unlinked(&self) -> bool {
        let Some(parent) = self.parent() else {
            return false;
        };
        parent
            .cached(&self.name())
            .is_none_or(|d| !std::ptr::eq(Arc::as_ptr(&d), self))
    }

    /// A dentry for an unnamed file (O_TMPFILE) below `parent`, not in any cache.
    pub fn detached(parent: &Arc<Dentry>, name: Vec<u8>, inode: InodeRef) -> Arc<Dentry> {
        Arc::new(Dentry {
            name: Mutex::new(name),
            parent: Mutex::new(Some(parent.clone())),
            inode,
            children: Mutex::default(),
        })
    }

    /// The child `name`, from the cache or looked up in the filesystem.
    fn child(self: &Arc<Self>, name: &[u8]) -> Result<Arc<Dentry>, Errno> {
        let mut cache = self.children.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(name) {
            Some(Cached::Missing) => return Err(Errno::ENOENT),
            Some(c) => {
                if let Some(d) = c.get() {
                    return Ok(d);
                }
            }
            None => {}
        }
        let inode = match self.inode.lookup(name) {
            Ok(i) => i,
            Err(Errno::ENOENT) if self.inode.cache_children() => {
                // Counted only when the directory holds that many names at all, so the
                // lookup path does not walk every small directory's cache.
                let full = cache.len() >= MAX_MISSING
                    && cache
                        .values()
                        .filter(|c| matches!(c, Cached::Missing))
                        .count()
                        >= MAX_MISSING;
                if !full {
                    cache.insert(name.to_vec(), Cached::Missing);
                }
                return Err(Errno::ENOENT);
            }
            Err(e) => return Err(e),
        };
        let d = Arc::new(Dentry {
            name: Mutex::new(name.to_vec()),
            parent: Mutex::new(Some(self.clone())),
            inode,
            children: Mutex::default(),
        });
        let entry = if self.inode.cache_children() {
            Cached::Strong(d.clone())
        } else {
            Cached::Weak(Arc::downgrade(&d))
        };
        cache.insert(name.to_vec(), entry);
        Ok(d)
    }

    fn cached(&self, name: &[u8]) -> Option<Arc<Dentry>> {
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .and_then(Cached::get)
    }

    /// Moves this dentry under `parent` as `name`.
    fn reparent(self: &Arc<Self>, parent: &Arc<Dentry>, name: &[u8]) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name.to_vec();
        *self.parent.lock().unwrap_or_else(|e| e.into_inner()) = Some(parent.clone());
        parent
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_vec(), Cached::Strong(self.clone()));
    }

    /// Caches `inode`, just created as `name`, as a child.
    fn add_child(self: &Arc<Self>, name: &[u8], inode: InodeRef) -> Arc<Dentry> {
        let d = Arc::new(Dentry {
            name: Mutex::new(name.to_vec()),
            parent: Mutex::new(Some(self.clone())),
            inode,
            children: Mutex::default(),
        });
        let entry = if self.inode.cache_children() {
            Cached::Strong(d.clone())
        } else {
            Cached::Weak(Arc::downgrade(&d))
        };
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_vec(), entry);
        d
    }

    /// Forgets the cached child `name` (after unlink, rename or create over it).
    fn invalidate(&self, name: &[u8]) {
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

static NEXT_MOUNT_ID: AtomicU64 = AtomicU64::new(1);

/// A filesystem mounted somewhere (or the root mount).
pub struct Mount {
    pub id: u64,
    pub root: Arc<Dentry>,
    /// Where it is mounted: the parent mount and the dentry it covers.
    pub parent: Option<(Arc<Mount>, Arc<Dentry>)>,
    pub readonly: bool,
    pub fstype: &'static str,
    pub source: String,
}

/// The filesystem type of the mounts that hold files without a path (host stdio, pipes)
/// when they are reached through /proc/PID/fd.
pub const ANON_FS: &str = "anon";

/// A path for a file that has none, as /proc/PID/fd links lead to: its own detached
/// mount (so `..` goes nowhere), named `name`.
pub fn anon_path(inode: InodeRef, name: Vec<u8>) -> Path {
    let dentry = Arc::new(Dentry {
        name: Mutex::new(name),
        parent: Mutex::new(None),
        inode,
        children: Mutex::default(),
    });
    Path {
        mnt: Arc::new(Mount {
            id: 0,
            root: dentry.clone(),
            parent: None,
            readonly: false,
            fstype: ANON_FS,
            source: "none".into(),
        }),
        dentry,
    }
}

/// A place in the tree: a dentry as reached through a mount.
#[derive(Clone)]
pub struct Path {
    pub mnt: Arc<Mount>,
    pub dentry: Arc<Dentry>,
}

impl Path {
    pub fn same(&self, other: &Path) -> bool {
        Arc::ptr_eq(&self.mnt, &other.mnt) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }
    pub fn stat(&self) -> Result<Stat, Errno> {
        self.dentry.inode.stat()
    }
}

/// The mount namespace: the root mount and what is mounted where.
pub struct Vfs {
    root: Arc<Mount>,
    /// (parent mount id, covered dentry address) → the mount on top.
    mounts: Mutex<HashMap<(u64, usize), Arc<Mount>>>,
    all: Mutex<Vec<Arc<Mount>>>,
}

/// openat2(2)'s RESOLVE_* restrictions on a walk.
#[derive(Clone, Copy, Debug, Default)]
pub struct Restrict {
    pub no_xdev: bool,
    pub no_magic: bool,
    pub no_symlinks: bool,
    pub beneath: bool,
    pub in_root: bool,
}

impl Restrict {
    pub fn from_resolve(flags: u64) -> Restrict {
        Restrict {
            no_xdev: flags & 0x01 != 0,
            no_magic: flags & 0x02 != 0,
            no_symlinks: flags & 0x04 != 0,
            beneath: flags & 0x08 != 0,
            in_root: flags & 0x10 != 0,
        }
    }
}

/// Per-task filesystem context: root, working directory, umask.
#[derive(Clone)]
pub struct FsContext {
    pub root: Path,
    pub cwd: Path,
    pub umask: u32,
}

/// The caller's identity for permission checks: file-system ids and the effective
/// capabilities (`crate::caps`).
#[derive(Clone, Copy, Debug)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub caps: u64,
}

impl Creds {
    /// The sentry's own identity: root with every capability.
    pub const KERNEL: Creds = Creds {
        uid: 0,
        gid: 0,
        caps: crate::caps::ALL,
    };

    pub fn capable(&self, cap: u32) -> bool {
        self.caps & crate::caps::bit(cap) != 0
    }

    fn cred(&self) -> Cred {
        Cred {
            uid: self.uid,
            gid: self.gid,
        }
    }
}

pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

/// Linux's generic_permission for owner/group/other bits; then CAP_DAC_OVERRIDE passes
/// everything except executing a file without any execute bit, and CAP_DAC_READ_SEARCH
/// reading, and searching or listing a directory.
pub fn permitted(st: &Stat, c: Creds, want: u32) -> bool {
    let bits = if st.uid == c.uid {
        (st.mode >> 6) & 7
    } else if st.gid == c.gid {
        (st.mode >> 3) & 7
    } else {
        st.mode & 7
    };
    if bits & want == want {
        return true;
    }
    let exec_ok = want & MAY_EXEC == 0 || st.is_dir() || st.mode & 0o111 != 0;
    if exec_ok && c.capable(crate::caps::CAP_DAC_OVERRIDE) {
        return true;
    }
    let read_search = want == MAY_READ || (st.is_dir() && want & MAY_WRITE == 0);
    read_search && c.capable(crate::caps::CAP_DAC_READ_SEARCH)
}

fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        Err(Errno::ENAMETOOLONG)
    } else {
        Ok(())
    }
}

impl Vfs {
    pub fn new(root_inode: InodeRef, fstype: &'static str, readonly: bool) -> Arc<Vfs> {
        let root = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new_root(root_inode),
            parent: None,
            readonly,
            fstype,
            source: "none".into(),
        });
        Arc::new(Vfs {
            root: root.clone(),
            mounts: Mutex::default(),
            all: Mutex::new(vec![root]),
        })
    }

    pub fn root(&self) -> Path {
        Path {
            mnt: self.root.clone(),
            dentry: self.root.root.clone(),
        }
    }

    /// Mounts a filesystem whose root is `inode` on `at`. As with mount(2)'s bind mounts,
    /// a directory goes over a directory and anything else over a non-directory (a bind
    /// mount of a file).
    pub fn mount(
        &self,
        at: &Path,
        inode: InodeRef,
        fstype: &'static str,
        source: &str,
        readonly: bool,
    ) -> Result<Arc<Mount>, Errno> {
        match (at.stat()?.is_dir(), inode.stat()?.is_dir()) {
            (false, true) => return Err(Errno::ENOTDIR),
            (true, false) => return Err(Errno::EISDIR),
            _ => {}
        }
        let m = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new_root(inode),
            parent: Some((at.mnt.clone(), at.dentry.clone())),
            readonly,
            fstype,
            source: source.into(),
        });
        self.mounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((at.mnt.id, Arc::as_ptr(&at.dentry) as usize), m.clone());
        self.all
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(m.clone());
        Ok(m)
    }

    /// Tears the tree down when the sandbox ends: the dentry cache holds parent and child
    /// in both directions, so it is emptied explicitly, releasing every inode (and with
    /// the last gofer inode, the gofer's channels, which ends the gofer).
    pub fn shutdown(&self) {
        let mounts: Vec<Arc<Mount>> =
            std::mem::take(&mut *self.all.lock().unwrap_or_else(|e| e.into_inner()));
        self.mounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let mut stack: Vec<Arc<Dentry>> = mounts.iter().map(|m| m.root.clone()).collect();
        while let Some(d) = stack.pop() {
            let children: Vec<Arc<Dentry>> = d
                .children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
                .filter_map(|(_, c)| c.get())
                .collect();
            for c in &children {
                *c.parent.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            stack.extend(children);
        }
    }

    /// Every mount, in mount order (for /proc/self/mounts).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Follows mounts stacked on `p`.
    fn cross_mounts(&self, mut p: Path) -> Path {
        let mounts = self.mounts.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(m) = mounts.get(&(p.mnt.id, Arc::as_ptr(&p.dentry) as usize)) {
            p = Path {
                mnt: m.clone(),
                dentry: m.root.clone(),
            };
        }
        p
    }

    /// `..` of `p`, never above `root`.
    fn parent_of(&self, root: &Path, p: &Path) -> Path {
        let mut p = p.clone();
        loop {
            if p.same(root) {
                return p;
            }
            if Arc::ptr_eq(&p.dentry, &p.mnt.root) {
                match &p.mnt.parent {
                    Some((pm, pd)) => {
                        p = Path {
                            mnt: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    None => return p,
                }
            }
            return match p.dentry.parent() {
                Some(d) => Path {
                    mnt: p.mnt.clone(),
                    dentry: d,
                },
                None => p,
            };
        }
    }

    /// Looks up one component in directory `dir` (which the caller may search).
    fn step(&self, ctx: &FsContext, dir: &Path, name: &[u8]) -> Result<Path, Errno> {
        match name {
            b"." => Ok(dir.clone()),
            b".." => Ok(self.parent_of(&ctx.root, dir)),
            _ => {
                check_name(name)?;
                let d = dir.dentry.child(name)?;
                Ok(self.cross_mounts(Path {
                    mnt: dir.mnt.clone(),
                    dentry: d,
                }))
            }
        }
    }

    /// Resolves `path` from `start` (or the root for absolute paths). The final component
    /// is followed if it is a symlink when `follow` is set.
    pub fn resolve(
        &self,
        ctx: &FsContext,
        creds: Creds,
        start: &Path,
        path: &[u8],
        follow: bool,
    ) -> Result<Path, Errno> {
        self.resolve_with(ctx, creds, start, path, follow, &Restrict::default())
    }

    /// `resolve` under openat2's RESOLVE_* restrictions.
    pub fn resolve_with(
        &self,
        ctx: &FsContext,
        creds: Creds,
        start: &Path,
        path: &[u8],
        follow: bool,
        r: &Restrict,
    ) -> Result<Path, Errno> {
        let mut links = 0;
        if r.in_root {
            let ctx = FsContext {
                root: start.clone(),
                cwd: start.clone(),
                umask: ctx.umask,
            };
            return self.walk(&ctx, creds, start, path, follow, &mut links, r, start);
        }
        self.walk(ctx, creds, start, path, follow, &mut links, r, start)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        ctx: &FsContext,
        creds: Creds,
        start: &Path,
        path: &[u8],
        follow: bool,
        links: &mut u32,
        r: &Restrict,
        base: &Path,
    ) -> Result<Path, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if path[0] == b'/' && r.beneath {
            return Err(Errno::EXDEV);
        }
        let mut cur = if path[0] == b'/' {
            ctx.root.clone()
        } else {
            start.clone()
        };
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        let trailing_slash = path.ends_with(b"/");
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let st = cur.stat()?;
            if !st.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if !permitted(&st, creds, MAY_EXEC) {
                return Err(Errno::EACCES);
            }
            if *comp == b".." && r.beneath && cur.same(base) {
                return Err(Errno::EXDEV);
            }
            let next = self.step(ctx, &cur, comp)?;
            if r.no_xdev && !Arc::ptr_eq(&next.mnt, &cur.mnt) {
                return Err(Errno::EXDEV);
            }
            let nst = next.stat()?;
            if nst.file_type() == S_IFLNK && (!last || follow || trailing_slash) {
                if r.no_symlinks {
                    return Err(Errno::ELOOP);
                }
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                if let Some(p) = next.dentry.inode.follow_magic() {
                    if r.no_magic || r.beneath || r.in_root {
                        return Err(if r.no_magic {
                            Errno::ELOOP
                        } else {
                            Errno::EXDEV
                        });
                    }
                    cur = p?;
                } else {
                    let target = next.dentry.inode.readlink()?;
                    cur = self.walk(ctx, creds, &cur, &target, true, links, r, base)?;
                }
            } else {
                cur = next;
            }
        }
        if trailing_slash && !cur.stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Resolves all but the last component of `path`: returns the parent directory and
    /// the last name (None for paths like "/" or "a/.." whose last component is not a
    /// plain name), and whether the path had a trailing slash.
    pub fn resolve_parent(
        &self,
        ctx: &FsContext,
        creds: Creds,
        start: &Path,
        path: &[u8],
    ) -> Result<(Path, Option<Vec<u8>>, bool), Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let trailing = path.ends_with(b"/");
        let trimmed = {
            let mut p = path;
            while p.len() > 1 && p.ends_with(b"/") {
                p = &p[..p.len() - 1];
            }
            p
        };
        let (dir, last): (&[u8], &[u8]) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(0) => (b"/", &trimmed[1..]),
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (b".", trimmed),
        };
        let parent = self.resolve(ctx, creds, start, dir, true)?;
        let pst = parent.stat()?;
        if !pst.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !permitted(&pst, creds, MAY_EXEC) {
            return Err(Errno::EACCES);
        }
        if last.is_empty() || last == b"." || last == b".." || trimmed == b"/" {
            return Ok((parent, None, trailing));
        }
        check_name(last)?;
        Ok((parent, Some(last.to_vec()), trailing))
    }

    /// The absolute path of `p` as seen from `root` (getcwd, /proc/self/cwd).
    pub fn path_name(&self, root: &Path, p: &Path) -> Vec<u8> {
        self.path_name_reach(root, p).0
    }

    /// `path_name`, and whether the walk up met `root` (false: `p` lies outside it and
    /// the path is from the top of the tree).
    pub fn path_name_reach(&self, root: &Path, p: &Path) -> (Vec<u8>, bool) {
        if p.mnt.fstype == ANON_FS {
            return (p.dentry.name(), true);
        }
        let mut reached = false;
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = p.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                reached = true;
                break;
            }
            if Arc::ptr_eq(&cur.dentry, &cur.mnt.root) {
                match &cur.mnt.parent {
                    Some((pm, pd)) => {
                        cur = Path {
                            mnt: pm.clone(),
                            dentry: pd.clone(),
                        };
                        continue;
                    }
                    None => break,
                }
            }
            parts.push(cur.dentry.name());
            match cur.dentry.parent() {
                Some(d) => {
                    cur = Path {
                        mnt: cur.mnt.clone(),
                        dentry: d,
                    }
                }
                None => break,
            }
        }
        let mut out = Vec::new();
        for part in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(part);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        (out, reached)
    }

    /// Checks that a directory-modifying operation may happen in `dir`.
    pub fn may_modify(&self, dir: &Path, creds: Creds) -> Result<(), Errno> {
        if dir.mnt.readonly {
            return Err(Errno::EROFS);
        }
        let st = dir.stat()?;
        if !permitted(&st, creds, MAY_WRITE | MAY_EXEC) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// Creates `name` in `dir` (a regular file, directory, fifo or device per `mode`).
    pub fn create(
        &self,
        dir: &Path,
        name: &[u8],
        mode: u32,
        rdev: u64,
        creds: Creds,
    ) -> Result<Path, Errno> {
        self.may_modify(dir, creds)?;
        let inode = dir.dentry.inode.create(name, mode, rdev, creds.cred())?;
        let d = dir.dentry.add_child(name, inode);
        Ok(Path {
            mnt: dir.mnt.clone(),
            dentry: d,
        })
    }

    pub fn symlink(
        &self,
        dir: &Path,
        name: &[u8],
        target: &[u8],
        creds: Creds,
    ) -> Result<(), Errno> {
        self.may_modify(dir, creds)?;
        dir.dentry.inode.symlink(name, target, creds.cred())?;
        dir.dentry.invalidate(name);
        Ok(())
    }

    pub fn link(&self, dir: &Path, name: &[u8], target: &Path, creds: Creds) -> Result<(), Errno> {
        if !Arc::ptr_eq(&dir.mnt, &target.mnt) {
            return Err(Errno::EXDEV);
        }
        self.may_modify(dir, creds)?;
        dir.dentry.inode.link(name, &target.dentry.inode)?;
        dir.dentry.invalidate(name);
        Ok(())
    }

    /// unlink (dir = false) or rmdir (dir = true) of `name` in `dir`.
    pub fn remove(&self, dir: &Path, name: &[u8], is_dir: bool, creds: Creds) -> Result<(), Errno> {
        self.may_modify(dir, creds)?;
        let child = self.step_plain(dir, name)?;
        if self.is_mountpoint(&child) {
            return Err(Errno::EBUSY);
        }
        self.sticky_check(dir, &child, creds)?;
        dir.dentry.inode.remove(name, is_dir)?;
        dir.dentry.invalidate(name);
        Ok(())
    }

    fn step_plain(&self, dir: &Path, name: &[u8]) -> Result<Path, Errno> {
        let d = dir.dentry.child(name)?;
        Ok(Path {
            mnt: dir.mnt.clone(),
            dentry: d,
        })
    }

    fn is_mountpoint(&self, p: &Path) -> bool {
        self.mounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&(p.mnt.id, Arc::as_ptr(&p.dentry) as usize))
    }

    /// In a sticky directory only the owner of the file or the directory (or CAP_FOWNER) may
    /// remove or rename it.
    fn sticky_check(&self, dir: &Path, child: &Path, creds: Creds) -> Result<(), Errno> {
        let dst = dir.stat()?;
        if dst.mode & 0o1000 == 0 || creds.capable(crate::caps::CAP_FOWNER) {
            return Ok(());
        }
        let cst = child.stat()?;
        if cst.uid == creds.uid || dst.uid == creds.uid {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// rename(2) family.
    pub fn rename(
        &self,
        od: &Path,
        oname: &[u8],
        nd: &Path,
        nname: &[u8],
        flags: u32,
        creds: Creds,
    ) -> Result<(), Errno> {
        if !Arc::ptr_eq(&od.mnt, &nd.mnt) {
            return Err(Errno::EXDEV);
        }
        self.may_modify(od, creds)?;
        self.may_modify(nd, creds)?;
        let src = self.step_plain(od, oname)?;
        if self.is_mountpoint(&src) {
            return Err(Errno::EBUSY);
        }
        self.sticky_check(od, &src, creds)?;
        // A directory cannot move below itself.
        if src.stat()?.is_dir() {
            let mut p = nd.clone();
            for _ in 0..4096 {
                if Arc::ptr_eq(&p.dentry, &src.dentry) {
                    return Err(Errno::EINVAL);
                }
                match p.dentry.parent() {
                    Some(d) => {
                        p = Path {
                            mnt: p.mnt.clone(),
                            dentry: d,
                        }
                    }
                    None => break,
                }
            }
        }
        if let Ok(dst) = self.step_plain(nd, nname)
            && self.is_mountpoint(&dst)
        {
            return Err(Errno::EBUSY);
        }
        const EXCHANGE: u32 = 2;
        let moved = od.dentry.cached(oname);
        let other = if flags & EXCHANGE != 0 {
            nd.dentry.cached(nname)
        } else {
            None
        };
        od.dentry
            .inode
            .rename(oname, &nd.dentry.inode, nname, flags)?;
        od.dentry.invalidate(oname);
        nd.dentry.invalidate(nname);
        // Cached dentries follow their inodes, so a working directory inside a moved
        // directory keeps its (new) name.
        if let Some(d) = moved {
            d.reparent(&nd.dentry, nname);
        }
        if let Some(d) = other {
            d.reparent(&od.dentry, oname);
        }
        Ok(())
    }
}
