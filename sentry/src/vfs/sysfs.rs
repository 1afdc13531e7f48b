//! A minimal /sys, enough for the probes common programs make: the CPU lists under
//! /sys/devices/system/cpu and an empty /sys/fs/cgroup. Built once as a read-only tree.

use super::inode::*;
use super::tmpfs::{Tmpfs, TmpfsInode};
use crate::host;
use std::sync::Arc;
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

/// Builds the tree; the caller mounts it read-only.
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
    Ok(root)
}
