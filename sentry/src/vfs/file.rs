//! Open file descriptions and the FD table. A description holds the file's I/O ops, the
//! path it was opened by, its offset and status flags; the FD table maps descriptor
//! numbers to descriptions with a close-on-exec flag each.

use super::Path;
use super::inode::{DirEntry, FileOps, InodeRef};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use syscalls_table::Errno;

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_PATH: u32 = 0o10000000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_DIRECT: u32 = 0o40000;
pub const O_NOATIME: u32 = 0o1000000;
/// Status flags F_SETFL may change.
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | 0o20000 | 0o40000 | O_NOATIME;

pub struct FileDescription {
    pub ops: Arc<dyn FileOps>,
    pub inode: InodeRef,
    /// The path it was opened by (None for anonymous files such as stdio).
    pub path: Option<Path>,
    flags: AtomicU32,
    pub offset: Mutex<u64>,
    /// Directory entries snapshot for getdents64 (taken at offset 0).
    pub dir_snapshot: Mutex<Option<Vec<DirEntry>>>,
    /// What /proc/PID/fd shows for a file without a path (e.g. `pipe:[123]`).
    pub name: Vec<u8>,
    /// Whether OFD or flock locks were ever taken through it (released on drop).
    locked: std::sync::atomic::AtomicBool,
}

impl Drop for FileDescription {
    fn drop(&mut self) {
        if self.locked.load(Ordering::Relaxed) {
            let owner = super::lock::Owner::Description(self as *const FileDescription as usize);
            super::lock::table().release(super::lock::Space::Record, None, owner);
            super::lock::table().release(super::lock::Space::Flock, None, owner);
        }
    }
}

impl FileDescription {
    pub fn new(
        ops: Arc<dyn FileOps>,
        inode: InodeRef,
        path: Option<Path>,
        flags: u32,
    ) -> Arc<FileDescription> {
        Arc::new(FileDescription {
            ops,
            inode,
            path,
            flags: AtomicU32::new(flags),
            offset: Mutex::new(0),
            dir_snapshot: Mutex::new(None),
            name: Vec::new(),
            locked: Default::default(),
        })
    }

    /// A file without a path, shown as `name` in /proc/PID/fd.
    pub fn anonymous(
        ops: Arc<dyn FileOps>,
        inode: InodeRef,
        flags: u32,
        name: Vec<u8>,
    ) -> Arc<FileDescription> {
        Arc::new(FileDescription {
            ops,
            inode,
            path: None,
            flags: AtomicU32::new(flags),
            offset: Mutex::new(0),
            dir_snapshot: Mutex::new(None),
            name,
            locked: Default::default(),
        })
    }

    /// Notes that OFD or flock locks are owned by this description.
    pub fn mark_locked(&self) {
        self.locked.store(true, Ordering::Relaxed);
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    pub fn set_status_flags(&self, f: u32) {
        let old = self.flags();
        self.flags
            .store((old & !SETFL_MASK) | (f & SETFL_MASK), Ordering::Relaxed);
    }

    pub fn readable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let f = self.flags();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn is_path_only(&self) -> bool {
        self.flags() & O_PATH != 0
    }
}

#[derive(Clone)]
struct Entry {
    file: Arc<FileDescription>,
    cloexec: bool,
}

#[derive(Default, Clone)]
pub struct FdTable {
    fds: BTreeMap<i32, Entry>,
}

fn fd_num(fd: u64) -> Result<i32, Errno> {
    i32::try_from(fd as i64)
        .ok()
        .filter(|&f| f >= 0)
        .ok_or(Errno::EBADF)
}

impl FdTable {
    pub fn get(&self, fd: u64) -> Result<Arc<FileDescription>, Errno> {
        let fd = fd_num(fd)?;
        self.fds
            .get(&fd)
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        let fd = fd_num(fd)?;
        self.fds.remove(&fd).map(|_| ()).ok_or(Errno::EBADF)
    }

    /// close_range(2) without flags: closes every open descriptor in [first, last].
    pub fn close_range(&mut self, first: u32, last: u32, cloexec_only: bool) {
        let keys: Vec<i32> = self
            .fds
            .range(first.min(i32::MAX as u32) as i32..=last.min(i32::MAX as u32) as i32)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            if cloexec_only {
                if let Some(e) = self.fds.get_mut(&k) {
                    e.cloexec = true;
                }
            } else {
                self.fds.remove(&k);
            }
        }
    }

    pub fn cloexec(&self, fd: u64) -> Result<bool, Errno> {
        let fd = fd_num(fd)?;
        self.fds.get(&fd).map(|e| e.cloexec).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&mut self, fd: u64, on: bool) -> Result<(), Errno> {
        let fd = fd_num(fd)?;
        self.fds
            .get_mut(&fd)
            .map(|e| e.cloexec = on)
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor ≥ `min` below `limit`.
    pub fn install(
        &mut self,
        file: Arc<FileDescription>,
        min: u64,
        cloexec: bool,
        limit: u64,
    ) -> Result<u64, Errno> {
        let fd = self.free_slot(min, limit)?;
        self.fds.insert(fd as i32, Entry { file, cloexec });
        Ok(fd)
    }

    /// The lowest free descriptor ≥ `min`; EMFILE when it would be ≥ `limit`. open(2)
    /// asks before it walks the path, so a full table creates no file.
    pub fn free_slot(&self, min: u64, limit: u64) -> Result<u64, Errno> {
        let mut fd = min;
        for (&k, _) in self.fds.range(i32::try_from(min).unwrap_or(i32::MAX)..) {
            if k as u64 != fd {
                break;
            }
            fd += 1;
        }
        if fd >= limit || fd > i32::MAX as u64 {
            return Err(Errno::EMFILE);
        }
        Ok(fd)
    }

    /// Installs `file` at exactly `fd`, replacing what was there.
    pub fn install_at(
        &mut self,
        file: Arc<FileDescription>,
        fd: u64,
        cloexec: bool,
        limit: u64,
    ) -> Result<(), Errno> {
        if fd >= limit {
            return Err(Errno::EBADF);
        }
        let fd = fd_num(fd)?;
        self.fds.insert(fd, Entry { file, cloexec });
        Ok(())
    }

    /// Open descriptors in order (for /proc/self/fd).
    pub fn list(&self) -> Vec<(i32, Arc<FileDescription>)> {
        self.fds.iter().map(|(k, e)| (*k, e.file.clone())).collect()
    }

    /// Descriptor `fd` and its close-on-exec flag (for /proc/self/fdinfo).
    pub fn entry(&self, fd: i32) -> Option<(Arc<FileDescription>, bool)> {
        self.fds.get(&fd).map(|e| (e.file.clone(), e.cloexec))
    }
}
