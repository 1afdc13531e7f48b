//! A minimal /sys, enough for the probes common programs make: the CPU lists under
//! /sys/devices/system/cpu and an empty /sys/fs/cgroup. Built once on a tmpfs, shown
//! through `SysNode`, which refuses changes with the errnos Linux's sysfs gives.

use super::inode::*;
use super::tmpfs::{Tmpfs, TmpfsInode};
use crate::host;
use std::any::Any;
use std::sync::Arc;

pub const SYSFS_MAGIC: u64 = 0x6265_6572;
use syscalls_table::Errno;

/// "0-N" for the CPUs the sandbox may use.
fn cpu_list() -> String {
    let n: u32 = host::sched_getaffinity()
        .iter()
        .map(|b| b.count_ones())
        .sum::<u32>()
        .max(1);
    if n == 1 {
        "0\n".to_string()
    } else {
        format!("0-{}\n", n - 1)
    }
}

fn dir(parent: &Arc<TmpfsInode>, name: &str) -> Result<Arc<TmpfsInode>, Errno> {
    let c = Cred { uid: 0, gid: 0 };
    let i = parent.create(name.as_bytes(), S_IFDIR | 0o755, 0, c)?;
    i.into_any()
        .downcast::<TmpfsInode>()
        .map_err(|_| Errno::EIO)
}

fn file(parent: &Arc<TmpfsInode>, name: &str, text: &str) -> Result<(), Errno> {
    let c = Cred { uid: 0, gid: 0 };
    let i = parent.create(name.as_bytes(), S_IFREG | 0o444, 0, c)?;
    let f = i
        .into_any()
        .downcast::<TmpfsInode>()
        .map_err(|_| Errno::EIO)?;
    f.set_data(text.as_bytes())
}

/// A node of the tree as sysfs shows it: reads pass through; creating fails with EACCES
/// for files (no ->create) and EPERM otherwise, as do removals and renames; opening a
/// file without write permission bits for writing is EACCES even for root.
struct SysNode(InodeRef);

impl Inode for SysNode {
    fn stat(&self) -> Result<Stat, Errno> {
        self.0.stat()
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        Ok(Arc::new(SysNode(self.0.lookup(name)?)))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        self.0.readdir()
    }
    fn create(&self, _: &[u8], mode: u32, _: u64, _: Cred) -> Result<InodeRef, Errno> {
        Err(if mode & S_IFMT == S_IFREG {
            Errno::EACCES
        } else {
            Errno::EPERM
        })
    }
    fn symlink(&self, _: &[u8], _: &[u8], _: Cred) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }
    fn link(&self, _: &[u8], _: &InodeRef) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn remove(&self, _: &[u8], _: bool) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn rename(&self, _: &[u8], _: &InodeRef, _: &[u8], _: u32) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.0.readlink()
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: SYSFS_MAGIC,
            ..self.0.statfs()?
        })
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        use super::file::{O_ACCMODE, O_RDONLY};
        if flags & O_ACCMODE != O_RDONLY && self.0.stat()?.mode & 0o222 == 0 {
            return Err(Errno::EACCES);
        }
        self.0.clone().open(flags)
    }
}

/// Builds the tree.
pub fn new_sys_tree(dev: u64) -> Result<InodeRef, Errno> {
    let root = Tmpfs::new_root(dev, 0o555, Cred { uid: 0, gid: 0 });
    let cpus = cpu_list();
    let devices = dir(&root, "devices")?;
    let system = dir(&devices, "system")?;
    let cpu = dir(&system, "cpu")?;
    for f in ["online", "possible", "present"] {
        file(&cpu, f, &cpus)?;
    }
    let fs = dir(&root, "fs")?;
    dir(&fs, "cgroup")?;
    dir(&root, "kernel")?;
    dir(&root, "class")?;
    Ok(Arc::new(SysNode(root)))
}
