//! Extended attributes: getxattr(2), setxattr(2), listxattr(2), removexattr(2) and their
//! l*/f* forms. tmpfs (and so /tmp, /dev/shm and the overlay's upper layer) stores them
//! in the "user.", "trusted." and "security." namespaces, as Linux's tmpfs; files of the
//! gofer's tree show none (ENODATA, an empty list) until they are copied up, and other
//! filesystems refuse to store any (EOPNOTSUPP). Paths, descriptors, names and the
//! namespace rules are checked in Linux's order (fs/xattr.c).

use super::sys_file::path_arg;
use crate::task::Task;
use crate::vfs::inode::{InodeRef, S_IFDIR, S_IFMT, S_IFREG, XATTR_CREATE, XATTR_REPLACE};
use crate::vfs::{MAY_READ, MAY_WRITE, permitted};
use syscalls_table::Errno;

const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_LIST_MAX: u64 = 65536;

/// The file an xattr call names: by path (following the last symlink or not) or by fd.
enum Target {
    Path(u64, bool),
    Fd(u64),
}

/// The file, and whether its mount is read-only.
fn resolve(t: &Task, target: Target) -> Result<(InodeRef, bool), Errno> {
    match target {
        Target::Path(addr, follow) => {
            let path = path_arg(t, addr)?;
            let fs = t.fs();
            let start = fs.cwd.clone();
            let p = t.k.vfs.resolve(&fs, t.vcreds(), &start, &path, follow)?;
            Ok((p.dentry.inode.clone(), p.mnt.readonly))
        }
        Target::Fd(fd) => {
            let f = t.fds().get(fd as u32 as u64)?;
            if f.is_path_only() {
                return Err(Errno::EBADF);
            }
            let ro = f.path.as_ref().is_some_and(|p| p.mnt.readonly);
            Ok((f.inode.clone(), ro))
        }
    }
}

fn read_name(t: &Task, addr: u64) -> Result<Vec<u8>, Errno> {
    let name = t.mm.read_cstr(addr, XATTR_NAME_MAX + 1).map_err(|e| {
        if e == Errno::ENAMETOOLONG {
            Errno::ERANGE
        } else {
            e
        }
    })?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(Errno::ERANGE);
    }
    Ok(name)
}

/// xattr_permission(): the namespace rules and the file's permission bits.
fn permission(t: &Task, inode: &InodeRef, name: &[u8], write: bool) -> Result<(), Errno> {
    let st = inode.stat()?;
    let ns = ["user.", "trusted.", "security.", "system."]
        .into_iter()
        .find(|p| name.starts_with(p.as_bytes()))
        .ok_or(Errno::EOPNOTSUPP)?;
    if name.len() == ns.len() {
        return Err(Errno::EINVAL);
    }
    let creds = t.vcreds();
    match ns {
        "trusted." if !creds.capable(crate::caps::CAP_SYS_ADMIN) => {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        "user." => {
            let ft = st.mode & S_IFMT;
            if ft != S_IFREG && ft != S_IFDIR {
                return Err(if write { Errno::EPERM } else { Errno::ENODATA });
            }
        }
        // POSIX ACLs are not supported.
        "system." => return Err(Errno::EOPNOTSUPP),
        _ => {}
    }
    if ns == "user." || !creds.capable(crate::caps::CAP_SYS_ADMIN) {
        let want = if write { MAY_WRITE } else { MAY_READ };
        if !permitted(&st, creds, want) {
            return Err(Errno::EACCES);
        }
    }
    Ok(())
}

fn get(t: &Task, target: Target, name: u64, buf: u64, size: u64) -> Result<u64, Errno> {
    let name = read_name(t, name)?;
    let (inode, _) = resolve(t, target)?;
    permission(t, &inode, &name, false)?;
    let value = inode.xattr_get(&name)?;
    if size == 0 {
        return Ok(value.len() as u64);
    }
    if (value.len() as u64) > size.min(XATTR_SIZE_MAX) {
        return Err(Errno::ERANGE);
    }
    t.mm.copy_out(buf, &value)?;
    Ok(value.len() as u64)
}

fn set(
    t: &Task,
    target: Target,
    name: u64,
    value: u64,
    size: u64,
    flags: u64,
) -> Result<u64, Errno> {
    if flags & !u64::from(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(t, name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut data = vec![0u8; size as usize];
    t.mm.copy_in(value, &mut data)?;
    let (inode, readonly) = resolve(t, target)?;
    if readonly {
        return Err(Errno::EROFS);
    }
    permission(t, &inode, &name, true)?;
    inode.xattr_set(&name, Some(&data), flags as u32).map(|_| 0)
}

fn list(t: &Task, target: Target, buf: u64, size: u64) -> Result<u64, Errno> {
    let (inode, _) = resolve(t, target)?;
    let trusted = t.capable(crate::caps::CAP_SYS_ADMIN);
    let mut out = Vec::new();
    for n in inode.xattr_list()? {
        // trusted.* names are only listed for the privileged.
        if !trusted && n.starts_with(b"trusted.") {
            continue;
        }
        out.extend_from_slice(&n);
        out.push(0);
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if out.len() as u64 > size.min(XATTR_LIST_MAX) {
        return Err(if out.len() as u64 > XATTR_LIST_MAX {
            Errno::E2BIG
        } else {
            Errno::ERANGE
        });
    }
    t.mm.copy_out(buf, &out)?;
    Ok(out.len() as u64)
}

fn remove(t: &Task, target: Target, name: u64) -> Result<u64, Errno> {
    let name = read_name(t, name)?;
    let (inode, readonly) = resolve(t, target)?;
    if readonly {
        return Err(Errno::EROFS);
    }
    permission(t, &inode, &name, true)?;
    inode.xattr_set(&name, None, XATTR_REPLACE).map(|_| 0)
}

/// getxattr(2).
pub fn getxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Path(a[0], true), a[1], a[2], a[3])
}
/// lgetxattr(2).
pub fn lgetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Path(a[0], false), a[1], a[2], a[3])
}
/// fgetxattr(2).
pub fn fgetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Fd(a[0]), a[1], a[2], a[3])
}
/// setxattr(2).
pub fn setxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Path(a[0], true), a[1], a[2], a[3], a[4])
}
/// lsetxattr(2).
pub fn lsetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Path(a[0], false), a[1], a[2], a[3], a[4])
}
/// fsetxattr(2).
pub fn fsetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Fd(a[0]), a[1], a[2], a[3], a[4])
}
/// listxattr(2).
pub fn listxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Path(a[0], true), a[1], a[2])
}
/// llistxattr(2).
pub fn llistxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Path(a[0], false), a[1], a[2])
}
/// flistxattr(2).
pub fn flistxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Fd(a[0]), a[1], a[2])
}
/// removexattr(2).
pub fn removexattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(t, Target::Path(a[0], true), a[1])
}
/// lremovexattr(2).
pub fn lremovexattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(t, Target::Path(a[0], false), a[1])
}
/// fremovexattr(2).
pub fn fremovexattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(t, Target::Fd(a[0]), a[1])
}
