//! Extended attributes: getxattr(2), setxattr(2), listxattr(2), removexattr(2) and their
//! l*/f* forms. No filesystem of the sandbox stores attributes yet, so every file has
//! none: get and remove find nothing (ENODATA, as Linux for a file without the
//! attribute), list is empty, and set is refused (EOPNOTSUPP). Paths, descriptors and
//! names are checked first, in Linux's order.

use super::sys_file::path_arg;
use crate::task::Task;
use syscalls_table::Errno;

const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;

/// The file an xattr call names: by path (following the last symlink or not) or by fd.
enum Target {
    Path(u64, bool),
    Fd(u64),
}

fn check_target(t: &Task, target: Target) -> Result<(), Errno> {
    match target {
        Target::Path(addr, follow) => {
            let path = path_arg(t, addr)?;
            let fs = t.fs();
            let start = fs.cwd.clone();
            t.k.vfs
                .resolve(&fs, t.vcreds(), &start, &path, follow)
                .map(|_| ())
        }
        Target::Fd(fd) => {
            let f = t.fds().get(fd as u32 as u64)?;
            if f.is_path_only() {
                return Err(Errno::EBADF);
            }
            Ok(())
        }
    }
}

fn check_name(t: &Task, addr: u64) -> Result<(), Errno> {
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
    Ok(())
}

fn get(t: &Task, target: Target, name: u64) -> Result<u64, Errno> {
    check_name(t, name)?;
    check_target(t, target)?;
    Err(Errno::ENODATA)
}

fn set(t: &Task, target: Target, name: u64, size: u64, flags: u64) -> Result<u64, Errno> {
    const XATTR_CREATE: u64 = 1;
    const XATTR_REPLACE: u64 = 2;
    if flags & !(XATTR_CREATE | XATTR_REPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    check_name(t, name)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    check_target(t, target)?;
    if flags & XATTR_REPLACE != 0 {
        return Err(Errno::ENODATA);
    }
    Err(Errno::EOPNOTSUPP)
}

fn list(t: &Task, target: Target) -> Result<u64, Errno> {
    check_target(t, target)?;
    Ok(0)
}

fn remove(t: &Task, target: Target, name: u64) -> Result<u64, Errno> {
    check_name(t, name)?;
    check_target(t, target)?;
    Err(Errno::ENODATA)
}

/// getxattr(2).
pub fn getxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Path(a[0], true), a[1])
}
/// lgetxattr(2).
pub fn lgetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Path(a[0], false), a[1])
}
/// fgetxattr(2).
pub fn fgetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    get(t, Target::Fd(a[0]), a[1])
}
/// setxattr(2).
pub fn setxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Path(a[0], true), a[1], a[3], a[4])
}
/// lsetxattr(2).
pub fn lsetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Path(a[0], false), a[1], a[3], a[4])
}
/// fsetxattr(2).
pub fn fsetxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    set(t, Target::Fd(a[0]), a[1], a[3], a[4])
}
/// listxattr(2).
pub fn listxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Path(a[0], true))
}
/// llistxattr(2).
pub fn llistxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Path(a[0], false))
}
/// flistxattr(2).
pub fn flistxattr(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    list(t, Target::Fd(a[0]))
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
