//! Path-based file syscalls: the open family (open, openat, openat2, creat), the stat
//! family (stat, lstat, newfstatat, statx), mkdir[at], mknod[at], rmdir, unlink[at],
//! rename[at|at2], link[at], symlink[at], readlink[at], chdir, getcwd, access/faccessat/
//! faccessat2, chmod/fchmodat, truncate, utimensat, statfs. Path walking and permission
//! rules are the VFS's; these handlers decode arguments and apply Linux's checks in
//! Linux's order.

use crate::caps;
use crate::host::Seg;
use crate::task::Task;
use crate::vfs::devfs;
use crate::vfs::file::*;
use crate::vfs::inode::*;
use crate::vfs::{MAY_EXEC, MAY_READ, MAY_WRITE, PATH_MAX, Path, permitted};
use std::sync::Arc;
use syscalls_table::Errno;

const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_EACCESS: u64 = 0x200;
const AT_STATX_SYNC_TYPE: u64 = 0x6000;

const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_NOCTTY: u32 = 0o400;
const O_TRUNC: u32 = 0o1000;
const O_NOFOLLOW: u32 = 0o400000;
const O_CLOEXEC: u32 = 0o2000000;
const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;
/// The flags O_PATH may come with.
const O_PATH_FLAGS: u32 = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
const O_LARGEFILE: u32 = 0o100000;
/// Every open flag Linux knows (VALID_OPEN_FLAGS).
const VALID_OPEN_FLAGS: u32 = 0o3
    | O_CREAT
    | O_EXCL
    | O_NOCTTY
    | O_TRUNC
    | O_APPEND
    | O_NONBLOCK
    | 0o10000
    | 0o20000
    | 0o40000
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | 0o1000000
    | O_CLOEXEC
    | O_PATH
    | O_TMPFILE
    | 0o4000000;

/// Reads a path argument (ENAMETOOLONG when it has no NUL within PATH_MAX bytes).
pub(crate) fn path_arg(t: &Task, addr: u64) -> Result<Vec<u8>, Errno> {
    t.mm.read_cstr(addr, PATH_MAX)
}

/// Where a relative path starts: the cwd for AT_FDCWD, else the directory `dirfd` names.
fn start_dir(t: &Task, dirfd: u64, path: &[u8]) -> Result<Path, Errno> {
    let fs = t.fs();
    if path.first() == Some(&b'/') || dirfd as i32 == AT_FDCWD {
        return Ok(fs.cwd);
    }
    let f = t.fds().get(dirfd as u32 as u64)?;
    let p = f.path.clone().ok_or(Errno::ENOTDIR)?;
    if !p.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(p)
}

/// Resolves (dirfd, path) to a place; `empty_ok` is AT_EMPTY_PATH (the dirfd itself).
fn lookup(t: &Task, dirfd: u64, path: &[u8], follow: bool, empty_ok: bool) -> Result<Path, Errno> {
    if path.is_empty() {
        if !empty_ok {
            return Err(Errno::ENOENT);
        }
        if dirfd as i32 == AT_FDCWD {
            return Ok(t.fs().cwd);
        }
        let f = t.fds().get(dirfd as u32 as u64)?;
        return f.path.clone().ok_or(Errno::ENOENT);
    }
    let start = start_dir(t, dirfd, path)?;
    t.k.vfs.resolve(&t.fs(), t.vcreds(), &start, path, follow)
}

/// The inode (dirfd, path) names, also for AT_EMPTY_PATH on a file without a path.
fn lookup_inode(
    t: &Task,
    dirfd: u64,
    path: &[u8],
    follow: bool,
    empty_ok: bool,
) -> Result<(InodeRef, Option<Path>), Errno> {
    if path.is_empty() && empty_ok && dirfd as i32 != AT_FDCWD {
        let f = t.fds().get(dirfd as u32 as u64)?;
        return Ok((f.inode.clone(), f.path.clone()));
    }
    let p = lookup(t, dirfd, path, follow, empty_ok)?;
    Ok((p.dentry.inode.clone(), Some(p)))
}

/// A directory opened for reading entries.
struct DirOps;

impl FileOps for DirOps {
    fn read(&self, _s: &[Seg], _o: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
    fn write(&self, _s: &[Seg], _o: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EISDIR)
    }
}

/// An O_PATH descriptor: names a place, allows no I/O.
struct PathOps;

impl FileOps for PathOps {
    fn read(&self, _s: &[Seg], _o: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn write(&self, _s: &[Seg], _o: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn seekable(&self) -> bool {
        false
    }
}

/// open(2) family core. `resolve` carries openat2's RESOLVE_* flags.
fn do_open(
    t: &mut Task,
    dirfd: u64,
    path_addr: u64,
    flags: u32,
    mode: u32,
    resolve: u64,
) -> Result<u64, Errno> {
    let path = path_arg(t, path_addr)?;
    // O_PATH keeps only the flags that go with it (openat2 has refused the others) and
    // does so first: O_TMPFILE and O_CREAT are dropped, not checked, as Linux does.
    let (flags, mode) = if flags & O_PATH != 0 {
        (flags & O_PATH_FLAGS, 0)
    } else {
        (flags, mode)
    };
    if flags & O_TMPFILE & !O_DIRECTORY != 0 {
        // __O_TMPFILE needs O_DIRECTORY, no O_CREAT, and a writable access mode.
        if flags & (O_TMPFILE | O_CREAT) != O_TMPFILE || flags & O_ACCMODE == O_RDONLY {
            return Err(Errno::EINVAL);
        }
    }
    // A descriptor must be free before anything is looked up or created (EMFILE).
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().free_slot(0, lim)?;
    if flags & O_TMPFILE & !O_DIRECTORY != 0 {
        return open_tmpfile(t, dirfd, &path, flags, mode);
    }
    // O_CREAT with O_DIRECTORY (outside O_TMPFILE) is meaningless: EINVAL since Linux 6.4.
    if flags & O_CREAT != 0 && flags & O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    let creds = t.vcreds();
    let vfs = t.k.vfs.clone();
    let mut ctx = t.fs();
    let restrict = crate::vfs::Restrict::from_resolve(resolve);
    let start = if restrict.in_root || restrict.beneath {
        // The walk is scoped to dirfd itself, even for absolute paths.
        start_dir(t, dirfd, b"x")?
    } else {
        start_dir(t, dirfd, &path)?
    };
    if restrict.in_root {
        ctx.root = start.clone();
    }
    if resolve != 0 {
        if flags & O_CREAT != 0 {
            // The restrictions are on the walk: check it, then create as usual.
            match vfs.resolve_with(&ctx, creds, &start, &path, false, &restrict) {
                Ok(_) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
        } else {
            let p = vfs.resolve_with(
                &ctx,
                creds,
                &start,
                &path,
                flags & O_NOFOLLOW == 0,
                &restrict,
            )?;
            if p.stat()?.file_type() == S_IFLNK && flags & O_PATH == 0 {
                return Err(Errno::ELOOP);
            }
            return install_open(t, p, flags, false);
        }
    }
    let target = if flags & O_CREAT != 0 {
        // Follow a trailing symlink by hand: O_CREAT through a dangling link creates its
        // target, as Linux does.
        let (mut start, mut path) = (start, path);
        let mut found = None;
        for _ in 0..=40 {
            let (dir, name, trailing) = vfs.resolve_parent(&ctx, creds, &start, &path)?;
            let Some(name) = name else {
                return Err(Errno::EISDIR);
            };
            match vfs.resolve(&ctx, creds, &dir, &name, false) {
                Ok(existing) => {
                    if flags & O_EXCL != 0 {
                        return Err(Errno::EEXIST);
                    }
                    let st = existing.stat()?;
                    if st.file_type() == S_IFLNK {
                        if flags & O_NOFOLLOW != 0 {
                            return Err(Errno::ELOOP);
                        }
                        if existing.dentry.inode.follow_magic().is_some() {
                            found = Some(vfs.resolve(&ctx, creds, &dir, &name, true)?);
                            break;
                        }
                        path = existing.dentry.inode.readlink()?;
                        start = dir;
                        continue;
                    }
                    if trailing || st.is_dir() {
                        return Err(Errno::EISDIR);
                    }
                    found = Some(existing);
                    break;
                }
                Err(Errno::ENOENT) => {
                    if trailing {
                        return Err(Errno::EISDIR);
                    }
                    let m = S_IFREG | (mode & 0o7777 & !ctx.umask);
                    let p = vfs.create(&dir, &name, m, 0, creds)?;
                    return install_open(t, p, flags & !O_TRUNC, true);
                }
                Err(e) => return Err(e),
            }
        }
        found.ok_or(Errno::ELOOP)?
    } else {
        let p = vfs.resolve(&ctx, creds, &start, &path, flags & O_NOFOLLOW == 0)?;
        if p.stat()?.file_type() == S_IFLNK && flags & O_PATH == 0 {
            return Err(Errno::ELOOP);
        }
        p
    };
    install_open(t, target, flags, false)
}

/// O_TMPFILE: an unnamed file in the directory `path` names.
fn open_tmpfile(
    t: &mut Task,
    dirfd: u64,
    path: &[u8],
    flags: u32,
    mode: u32,
) -> Result<u64, Errno> {
    let dir = lookup(t, dirfd, path, true, false)?;
    let st = dir.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    t.k.vfs.may_modify(&dir, t.vcreds())?;
    let umask = t.fs().umask;
    let cred = Cred {
        uid: t.creds.uid,
        gid: t.creds.gid,
    };
    let inode =
        dir.dentry
            .inode
            .create_tmpfile(mode & 0o7777 & !umask, cred, flags & O_EXCL == 0)?;
    let ino = inode.stat()?.ino;
    let dentry = crate::vfs::Dentry::detached(
        &dir.dentry,
        format!("#{ino} (deleted)").into_bytes(),
        inode.clone(),
    );
    let p = Path {
        mnt: dir.mnt.clone(),
        dentry,
    };
    let ops = inode.open(flags)?;
    let stored = (flags & !(O_TMPFILE | O_EXCL | O_CLOEXEC)) | O_LARGEFILE;
    let file = FileDescription::new(ops, p.dentry.inode.clone(), Some(p), stored);
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, flags & O_CLOEXEC != 0, lim)
}

/// Opens `p` with `flags` (permission and type checks) and installs the descriptor.
pub(crate) fn install_open(t: &mut Task, p: Path, flags: u32, created: bool) -> Result<u64, Errno> {
    let st = p.stat()?;
    let ftype = st.file_type();
    if flags & O_DIRECTORY != 0 && ftype != S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & O_ACCMODE;
    let ops: Arc<dyn FileOps> = if flags & O_PATH != 0 {
        Arc::new(PathOps)
    } else {
        let want_write = acc == O_WRONLY || acc == O_RDWR || flags & O_TRUNC != 0;
        if ftype == S_IFDIR && (acc == O_WRONLY || acc == O_RDWR || flags & O_TRUNC != 0) {
            return Err(Errno::EISDIR);
        }
        if !created {
            let mut want = 0;
            if acc == O_RDONLY || acc == O_RDWR || acc == 3 {
                want |= MAY_READ;
            }
            if want_write || acc == 3 {
                want |= MAY_WRITE;
            }
            if !permitted(&st, t.vcreds(), want) {
                return Err(Errno::EACCES);
            }
        }
        if want_write && p.mnt.readonly && ftype != S_IFCHR && ftype != S_IFIFO {
            return Err(Errno::EROFS);
        }
        match ftype {
            // A file without a path reached through /proc/PID/fd (host stdio, a pipe):
            // the file itself opens again.
            _ if p.mnt.fstype == crate::vfs::ANON_FS => p.dentry.inode.clone().open(flags)?,
            S_IFDIR => Arc::new(DirOps),
            S_IFCHR => {
                let sid = t.tree().groups.get(&t.tgid).map_or(0, |g| g.sid);
                devfs::open_char_device(st.rdev, flags, sid)?
            }
            S_IFREG => {
                // Linux truncates even for O_RDONLY|O_TRUNC (write permission was checked).
                if flags & O_TRUNC != 0 && st.size != 0 {
                    p.dentry.inode.setattr(&SetAttr {
                        size: Some(0),
                        ..Default::default()
                    })?;
                }
                p.dentry.inode.clone().open(flags)?
            }
            // Fifos of the sandbox's own filesystems; sockets come with the network stack.
            S_IFIFO => p
                .dentry
                .inode
                .fifo()
                .ok_or(Errno::ENXIO)?
                .open_fifo(flags)?,
            _ => return Err(Errno::ENXIO),
        }
    };
    let stored = (flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC))
        | if flags & O_PATH == 0 { O_LARGEFILE } else { 0 };
    let file = FileDescription::new(ops, p.dentry.inode.clone(), Some(p), stored);
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, flags & O_CLOEXEC != 0, lim)
}

/// open(2).
pub fn open(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    openat(t, &[AT_FDCWD as u64, a[0], a[1], a[2], 0, 0])
}

/// openat(2). Unknown flag bits are ignored, as Linux does for open/openat.
pub fn openat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[2] as u32 & VALID_OPEN_FLAGS;
    do_open(t, a[0], a[1], flags, a[3] as u32, 0)
}

/// creat(2).
pub fn creat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    openat(
        t,
        &[
            AT_FDCWD as u64,
            a[0],
            (O_CREAT | O_WRONLY | O_TRUNC) as u64,
            a[1],
            0,
            0,
        ],
    )
}

/// openat2(2).
pub fn openat2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const OPEN_HOW_SIZE_VER0: u64 = 24;
    const RESOLVE_ALL: u64 = 0x3f;
    let (how_addr, size) = (a[2], a[3]);
    if size < OPEN_HOW_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut how = vec![0u8; size as usize];
    t.mm.copy_in(how_addr, &mut how)?;
    if how[24..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let w = |i: usize| u64::from_le_bytes(how[i..i + 8].try_into().unwrap_or_default());
    let (flags, mode, resolve) = (w(0), w(8), w(16));
    if flags & !(VALID_OPEN_FLAGS as u64) != 0 || resolve & !RESOLVE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    if flags & O_PATH != 0 && flags & !O_PATH_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    // Mode is only allowed with O_CREAT or O_TMPFILE, and must fit S_IALLUGO.
    if mode & !0o7777 != 0 || (mode != 0 && flags & O_CREAT == 0 && flags & O_TMPFILE != O_TMPFILE)
    {
        return Err(Errno::EINVAL);
    }
    // RESOLVE_BENEATH and RESOLVE_IN_ROOT exclude each other.
    if resolve & 0x08 != 0 && resolve & 0x10 != 0 {
        return Err(Errno::EINVAL);
    }
    do_open(t, a[0], a[1], flags, mode as u32, resolve)
}

fn write_stat(t: &Task, inode: &InodeRef, addr: u64) -> Result<u64, Errno> {
    let st = inode.stat()?;
    t.mm.copy_out(addr, &st.to_stat_bytes()).map(|_| 0)
}

/// stat(2).
pub fn stat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    write_stat(t, &p.dentry.inode, a[1])
}

/// lstat(2).
pub fn lstat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, false, false)?;
    write_stat(t, &p.dentry.inode, a[1])
}

/// newfstatat(2).
pub fn newfstatat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[3];
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(t, a[1])?;
    let (inode, _) = lookup_inode(
        t,
        a[0],
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    write_stat(t, &inode, a[2])
}

/// statx(2).
pub fn statx(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (dirfd, flags, mask, buf) = (a[0], a[2], a[3] as u32, a[4]);
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & 0x8000_0000 != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = if a[1] == 0 && flags & AT_EMPTY_PATH != 0 {
        Vec::new()
    } else {
        path_arg(t, a[1])?
    };
    let (inode, p) = lookup_inode(
        t,
        dirfd,
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let st = inode.stat()?;
    let mnt_id = p.map_or(0, |p| p.mnt.id);
    t.mm.copy_out(buf, &st.to_statx_bytes(mnt_id)).map(|_| 0)
}

/// Creates a non-directory or directory node at (dirfd, path).
fn make_node(t: &mut Task, dirfd: u64, path_addr: u64, mode: u32, rdev: u64) -> Result<u64, Errno> {
    let path = path_arg(t, path_addr)?;
    let (dir, name) = new_name(t, dirfd, &path, mode & S_IFMT == S_IFDIR)?;
    let umask = t.fs().umask;
    let m = (mode & S_IFMT) | (mode & 0o7777 & !umask);
    t.k.vfs.create(&dir, &name, m, rdev, t.vcreds()).map(|_| 0)
}

/// The directory and name for a new node at (dirfd, path): EEXIST when the name is taken
/// (or is "/", "." or ".."), ENOENT for a trailing slash unless `dir_ok` (mkdir).
pub(crate) fn new_name(
    t: &Task,
    dirfd: u64,
    path: &[u8],
    dir_ok: bool,
) -> Result<(Path, Vec<u8>), Errno> {
    let ctx = t.fs();
    let creds = t.vcreds();
    let start = start_dir(t, dirfd, path)?;
    let (dir, name, trailing) = t.k.vfs.resolve_parent(&ctx, creds, &start, path)?;
    let Some(name) = name else {
        return Err(Errno::EEXIST);
    };
    if t.k.vfs.resolve(&ctx, creds, &dir, &name, false).is_ok() {
        return Err(Errno::EEXIST);
    }
    if trailing && !dir_ok {
        return Err(Errno::ENOENT);
    }
    Ok((dir, name))
}

/// mkdir(2): set-user-ID and set-group-ID are not taken from the mode (a new
/// directory inherits set-group-ID from its parent instead).
pub fn mkdir(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    make_node(
        t,
        AT_FDCWD as u64,
        a[0],
        S_IFDIR | (a[1] as u32 & 0o1777),
        0,
    )
}

/// mkdirat(2).
pub fn mkdirat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    make_node(t, a[0], a[1], S_IFDIR | (a[2] as u32 & 0o1777), 0)
}

fn mknod_common(t: &mut Task, dirfd: u64, path: u64, mode: u32, dev: u64) -> Result<u64, Errno> {
    let mode = if mode & S_IFMT == 0 {
        mode | S_IFREG
    } else {
        mode
    };
    match mode & S_IFMT {
        S_IFREG | S_IFIFO | S_IFSOCK => make_node(t, dirfd, path, mode, 0),
        S_IFCHR | S_IFBLK => {
            if !t.capable(caps::CAP_MKNOD) {
                return Err(Errno::EPERM);
            }
            let d = make_dev(
                ((dev >> 8) & 0xfff) as u32 | ((dev >> 32) as u32 & !0xfff),
                (dev & 0xff) as u32 | ((dev >> 12) as u32 & !0xff),
            );
            make_node(t, dirfd, path, mode, d)
        }
        S_IFDIR => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

/// mknod(2).
pub fn mknod(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mknod_common(t, AT_FDCWD as u64, a[0], a[1] as u32, a[2])
}

/// mknodat(2).
pub fn mknodat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    mknod_common(t, a[0], a[1], a[2] as u32, a[3])
}

fn remove(t: &mut Task, dirfd: u64, path_addr: u64, is_dir: bool) -> Result<u64, Errno> {
    let path = path_arg(t, path_addr)?;
    let start = start_dir(t, dirfd, &path)?;
    let ctx = t.fs();
    let creds = t.vcreds();
    let vfs = t.k.vfs.clone();
    let (dir, name, trailing) = vfs.resolve_parent(&ctx, creds, &start, &path)?;
    let Some(name) = name else {
        // ".", ".." or "/".
        let last = path
            .split(|&b| b == b'/')
            .rfind(|c| !c.is_empty())
            .unwrap_or(b"/");
        return Err(if !is_dir {
            Errno::EISDIR
        } else if last == b"." {
            Errno::EINVAL
        } else if last == b".." {
            Errno::ENOTEMPTY
        } else {
            Errno::EBUSY
        });
    };
    if !is_dir && trailing {
        let p = vfs.resolve(&ctx, creds, &dir, &name, false)?;
        return Err(if p.stat()?.is_dir() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    vfs.remove(&dir, &name, is_dir, creds).map(|_| 0)
}

/// rmdir(2).
pub fn rmdir(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(t, AT_FDCWD as u64, a[0], true)
}

/// unlink(2).
pub fn unlink(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    remove(t, AT_FDCWD as u64, a[0], false)
}

/// unlinkat(2).
pub fn unlinkat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[2] & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    remove(t, a[0], a[1], a[2] & AT_REMOVEDIR != 0)
}

fn do_rename(t: &mut Task, od: u64, op: u64, nd: u64, np: u64, flags: u64) -> Result<u64, Errno> {
    const NOREPLACE: u64 = 1;
    const EXCHANGE: u64 = 2;
    const WHITEOUT: u64 = 4;
    if flags & !(NOREPLACE | EXCHANGE | WHITEOUT) != 0
        || (flags & NOREPLACE != 0 && flags & EXCHANGE != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & WHITEOUT != 0 {
        return Err(Errno::EINVAL);
    }
    let opath = path_arg(t, op)?;
    let npath = path_arg(t, np)?;
    let ctx = t.fs();
    let creds = t.vcreds();
    let vfs = t.k.vfs.clone();
    let os = start_dir(t, od, &opath)?;
    let ns = start_dir(t, nd, &npath)?;
    let (odir, oname, otrail) = vfs.resolve_parent(&ctx, creds, &os, &opath)?;
    let (ndir, nname, ntrail) = vfs.resolve_parent(&ctx, creds, &ns, &npath)?;
    let (Some(oname), Some(nname)) = (oname, nname) else {
        return Err(Errno::EBUSY);
    };
    let src = vfs.resolve(&ctx, creds, &odir, &oname, false)?;
    if (otrail || ntrail) && !src.stat()?.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    vfs.rename(&odir, &oname, &ndir, &nname, flags as u32, creds)
        .map(|_| 0)
}

/// rename(2).
pub fn rename(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_rename(t, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

/// renameat(2).
pub fn renameat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_rename(t, a[0], a[1], a[2], a[3], 0)
}

/// renameat2(2).
pub fn renameat2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_rename(t, a[0], a[1], a[2], a[3], a[4] & 0xffff_ffff)
}

fn do_link(t: &mut Task, od: u64, op: u64, nd: u64, np: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let opath = path_arg(t, op)?;
    let npath = path_arg(t, np)?;
    let src = lookup(
        t,
        od,
        &opath,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    if src.stat()?.is_dir() {
        return Err(Errno::EPERM);
    }
    let (ndir, nname) = new_name(t, nd, &npath, false)?;
    t.k.vfs.link(&ndir, &nname, &src, t.vcreds()).map(|_| 0)
}

/// link(2).
pub fn link(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_link(t, AT_FDCWD as u64, a[0], AT_FDCWD as u64, a[1], 0)
}

/// linkat(2).
pub fn linkat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_link(t, a[0], a[1], a[2], a[3], a[4])
}

fn do_symlink(t: &mut Task, target_addr: u64, nd: u64, np: u64) -> Result<u64, Errno> {
    let target = path_arg(t, target_addr)?;
    let npath = path_arg(t, np)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (ndir, nname) = new_name(t, nd, &npath, false)?;
    t.k.vfs
        .symlink(&ndir, &nname, &target, t.vcreds())
        .map(|_| 0)
}

/// symlink(2).
pub fn symlink(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_symlink(t, a[0], AT_FDCWD as u64, a[1])
}

/// symlinkat(2).
pub fn symlinkat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_symlink(t, a[0], a[1], a[2])
}

fn do_readlink(
    t: &mut Task,
    dirfd: u64,
    path_addr: u64,
    buf: u64,
    size: u64,
) -> Result<u64, Errno> {
    let path = path_arg(t, path_addr)?;
    if size as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    let (inode, _) = lookup_inode(t, dirfd, &path, false, true)?;
    if inode.stat()?.file_type() != S_IFLNK {
        return Err(if path.is_empty() {
            Errno::ENOENT
        } else {
            Errno::EINVAL
        });
    }
    let target = inode.readlink()?;
    let n = target.len().min(size as u32 as usize);
    t.mm.copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

/// readlink(2).
pub fn readlink(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_readlink(t, AT_FDCWD as u64, a[0], a[1], a[2])
}

/// readlinkat(2).
pub fn readlinkat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_readlink(t, a[0], a[1], a[2], a[3])
}

/// chdir(2).
pub fn chdir(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    let st = p.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(&st, t.vcreds(), MAY_EXEC) {
        return Err(Errno::EACCES);
    }
    t.fs.lock().unwrap_or_else(|e| e.into_inner()).cwd = p;
    Ok(0)
}

/// getcwd(2): returns the length including the NUL. A removed directory has no path
/// (ENOENT); one outside the root is marked "(unreachable)".
pub fn getcwd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let ctx = t.fs();
    if ctx.cwd.dentry.unlinked() {
        return Err(Errno::ENOENT);
    }
    let (name, reached) = t.k.vfs.path_name_reach(&ctx.root, &ctx.cwd);
    let mut cwd = if reached {
        Vec::new()
    } else {
        b"(unreachable)".to_vec()
    };
    cwd.extend_from_slice(&name);
    cwd.push(0);
    if (a[1] as usize) < cwd.len() {
        return Err(Errno::ERANGE);
    }
    t.mm.copy_out(a[0], &cwd)?;
    Ok(cwd.len() as u64)
}

fn do_access(
    t: &mut Task,
    dirfd: u64,
    path_addr: u64,
    mode: u64,
    flags: u64,
) -> Result<u64, Errno> {
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(t, path_addr)?;
    let (inode, p) = lookup_inode(
        t,
        dirfd,
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let st = inode.stat()?;
    if mode & 2 != 0
        && p.is_some_and(|p| p.mnt.readonly)
        && matches!(st.file_type(), S_IFREG | S_IFDIR | S_IFLNK)
    {
        return Err(Errno::EROFS);
    }
    let want = ((mode & 4 != 0) as u32 * MAY_READ)
        | ((mode & 2 != 0) as u32 * MAY_WRITE)
        | ((mode & 1 != 0) as u32 * MAY_EXEC);
    if !permitted(&st, t.vcreds(), want) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

/// access(2).
pub fn access(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_access(t, AT_FDCWD as u64, a[0], a[1], 0)
}

/// faccessat(2) (no flags argument in the syscall).
pub fn faccessat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_access(t, a[0], a[1], a[2], 0)
}

/// faccessat2(2).
pub fn faccessat2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_access(t, a[0], a[1], a[2], a[3])
}

/// chmod on an inode: the owner or root may.
pub(crate) fn chmod_inode(
    t: &Task,
    inode: &InodeRef,
    readonly: bool,
    mode: u32,
) -> Result<u64, Errno> {
    let st = inode.stat()?;
    if readonly {
        return Err(Errno::EROFS);
    }
    // A symlink's mode cannot change.
    if st.file_type() == S_IFLNK {
        return Err(Errno::EOPNOTSUPP);
    }
    if !t.capable(caps::CAP_FOWNER) && st.uid != t.creds.fsuid {
        return Err(Errno::EPERM);
    }
    let mut mode = mode & 0o7777;
    // Without CAP_FSETID a non-member of the group loses set-group-ID.
    let member = st.gid == t.creds.fsgid || t.creds.groups.contains(&st.gid);
    if !t.capable(caps::CAP_FSETID) && !member {
        mode &= !0o2000;
    }
    inode
        .setattr(&SetAttr {
            mode: Some(mode),
            ..Default::default()
        })
        .map(|_| 0)
}

/// chmod(2).
pub fn chmod(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    chmod_inode(t, &p.dentry.inode, p.mnt.readonly, a[1] as u32)
}

/// fchmodat(2).
pub fn fchmodat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[1])?;
    let p = lookup(t, a[0], &path, true, false)?;
    chmod_inode(t, &p.dentry.inode, p.mnt.readonly, a[2] as u32)
}

/// fchmodat2(2): fchmodat with flags (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
pub fn fchmodat2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[3];
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(t, a[1])?;
    let (inode, p) = lookup_inode(
        t,
        a[0],
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    chmod_inode(t, &inode, p.is_some_and(|p| p.mnt.readonly), a[2] as u32)
}

/// truncate(2).
pub fn truncate(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    let st = p.stat()?;
    if st.is_dir() {
        return Err(Errno::EISDIR);
    }
    if st.file_type() != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if p.mnt.readonly {
        return Err(Errno::EROFS);
    }
    if !permitted(&st, t.vcreds(), MAY_WRITE) {
        return Err(Errno::EACCES);
    }
    if a[1] > t.rlimit(libc::RLIMIT_FSIZE as usize) {
        t.kernel_signal(libc::SIGXFSZ);
        return Err(Errno::EFBIG);
    }
    p.dentry
        .inode
        .setattr(&SetAttr {
            size: Some(a[1]),
            ..Default::default()
        })
        .map(|_| 0)
}

/// utimensat(2), also with a NULL path (the descriptor itself).
pub fn utimensat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let (dirfd, path_addr, times, flags) = (a[0], a[1], a[2], a[3]);
    let mut ts = [0u8; 32];
    let nsec =
        |ts: &[u8; 32], i: usize| i64::from_le_bytes(ts[i..i + 8].try_into().unwrap_or_default());
    if times != 0 {
        t.mm.copy_in(times, &mut ts)?;
        // Both omitted: nothing to do, and Linux does not even look at the path.
        if nsec(&ts, 8) == UTIME_OMIT && nsec(&ts, 24) == UTIME_OMIT {
            return Ok(0);
        }
    } else {
        ts[8..16].copy_from_slice(&UTIME_NOW.to_le_bytes());
        ts[24..32].copy_from_slice(&UTIME_NOW.to_le_bytes());
    }
    let (inode, p) = if path_addr == 0 && dirfd as i32 != AT_FDCWD {
        // The futimens form: no flags, and not on an O_PATH descriptor.
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let f = t.fds().get(dirfd as u32 as u64)?;
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        (f.inode.clone(), f.path.clone())
    } else {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        let path = path_arg(t, path_addr)?;
        lookup_inode(
            t,
            dirfd,
            &path,
            flags & AT_SYMLINK_NOFOLLOW == 0,
            flags & AT_EMPTY_PATH != 0,
        )?
    };
    // Both times UTIME_NOW is treated as a NULL array for permission purposes.
    let explicit = times != 0 && !(nsec(&ts, 8) == UTIME_NOW && nsec(&ts, 24) == UTIME_NOW);
    set_times(t, &inode, p.as_ref(), &ts, explicit)
}

/// Writes `struct statfs` (120 bytes) for `inode`'s filesystem.
pub(crate) fn write_statfs(
    t: &Task,
    inode: &InodeRef,
    readonly: bool,
    addr: u64,
) -> Result<u64, Errno> {
    const ST_RDONLY: u64 = 1;
    let s = inode.statfs()?;
    let mut b = [0u8; 120];
    let vals = [
        s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree,
    ];
    for (i, v) in vals.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    // f_fsid (8 bytes) stays zero, then f_namelen, f_frsize, f_flags.
    b[64..72].copy_from_slice(&s.namelen.to_le_bytes());
    b[72..80].copy_from_slice(&s.bsize.to_le_bytes());
    let flags = s.flags | if readonly { ST_RDONLY } else { 0 } | 0x20; // ST_RELATIME
    b[80..88].copy_from_slice(&flags.to_le_bytes());
    t.mm.copy_out(addr, &b).map(|_| 0)
}

/// statfs(2).
pub fn statfs(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    write_statfs(t, &p.dentry.inode, p.mnt.readonly, a[1])
}

/// chown on an inode: root may set anything; the owner may only change the group to one
/// of its own groups (uid unchanged). −1 leaves an id alone.
fn chown_inode(
    t: &Task,
    inode: &InodeRef,
    readonly: bool,
    uid: u32,
    gid: u32,
) -> Result<u64, Errno> {
    let st = inode.stat()?;
    if readonly {
        return Err(Errno::EROFS);
    }
    let new_uid = (uid != u32::MAX).then_some(uid);
    let new_gid = (gid != u32::MAX).then_some(gid);
    if !t.capable(caps::CAP_CHOWN) {
        let uid_ok = new_uid.is_none_or(|u| u == st.uid);
        let gid_ok = new_gid
            .is_none_or(|g| g == st.gid || g == t.creds.fsgid || t.creds.groups.contains(&g));
        if st.uid != t.creds.fsuid || !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
    }
    // Any chown of a non-directory, even to -1/-1, drops set-user-ID and set-group-ID
    // (the latter only when group-executable).
    let mut mode = None;
    if !st.is_dir() && st.mode & 0o6000 != 0 {
        let mut m = st.mode & 0o7777 & !0o4000;
        if st.mode & 0o010 != 0 {
            m &= !0o2000;
        }
        mode = Some(m);
    }
    inode
        .setattr(&SetAttr {
            uid: new_uid,
            gid: new_gid,
            mode,
            ..Default::default()
        })
        .map(|_| 0)
}

/// chown(2).
pub fn chown(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    chown_inode(t, &p.dentry.inode, p.mnt.readonly, a[1] as u32, a[2] as u32)
}

/// lchown(2).
pub fn lchown(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, false, false)?;
    chown_inode(t, &p.dentry.inode, p.mnt.readonly, a[1] as u32, a[2] as u32)
}

/// fchown(2).
pub fn fchown(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let ro = f.path.as_ref().is_some_and(|p| p.mnt.readonly);
    chown_inode(t, &f.inode, ro, a[1] as u32, a[2] as u32)
}

/// fchownat(2).
pub fn fchownat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[4];
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(t, a[1])?;
    let (inode, p) = lookup_inode(
        t,
        a[0],
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    chown_inode(
        t,
        &inode,
        p.is_some_and(|p| p.mnt.readonly),
        a[2] as u32,
        a[3] as u32,
    )
}

/// Applies (atime, mtime) given as struct timeval pairs (utimes, futimesat) or NULL (now).
fn utimes_common(t: &mut Task, dirfd: u64, path_addr: u64, times: u64) -> Result<u64, Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    let mut ts = [0u8; 32];
    if times != 0 {
        let mut tv = [0u8; 32];
        t.mm.copy_in(times, &mut tv)?;
        for i in 0..2 {
            let sec = i64::from_le_bytes(tv[i * 16..i * 16 + 8].try_into().unwrap_or_default());
            let usec =
                i64::from_le_bytes(tv[i * 16 + 8..i * 16 + 16].try_into().unwrap_or_default());
            if !(0..1_000_000).contains(&usec) {
                return Err(Errno::EINVAL);
            }
            ts[i * 16..i * 16 + 8].copy_from_slice(&sec.to_le_bytes());
            ts[i * 16 + 8..i * 16 + 16].copy_from_slice(&(usec * 1000).to_le_bytes());
        }
    } else {
        for i in 0..2 {
            ts[i * 16 + 8..i * 16 + 16].copy_from_slice(&UTIME_NOW.to_le_bytes());
        }
    }
    // Reuse utimensat with the converted times in a scratch spot: the application's
    // stack is not touched; the values go straight to the inode.
    let path = path_arg(t, path_addr)?;
    let (inode, p) = lookup_inode(t, dirfd, &path, true, false)?;
    // Both times UTIME_NOW is treated as a NULL array for permission purposes.
    let nsec = |i: usize| i64::from_le_bytes(ts[i..i + 8].try_into().unwrap_or_default());
    let explicit = times != 0 && !(nsec(8) == UTIME_NOW && nsec(24) == UTIME_NOW);
    set_times(t, &inode, p.as_ref(), &ts, explicit)
}

/// Sets atime/mtime from two encoded timespecs (UTIME_NOW/UTIME_OMIT allowed).
fn set_times(
    t: &Task,
    inode: &InodeRef,
    p: Option<&Path>,
    b: &[u8; 32],
    explicit: bool,
) -> Result<u64, Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    let r = |i: usize| i64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let parse = |sec: i64, nsec: i64| -> Result<Option<Timespec>, Errno> {
        match nsec {
            UTIME_OMIT => Ok(None),
            UTIME_NOW => Ok(Some(Timespec::now())),
            0..=999_999_999 => Ok(Some(Timespec { sec, nsec })),
            _ => Err(Errno::EINVAL),
        }
    };
    let (at, mt) = (parse(r(0), r(8))?, parse(r(16), r(24))?);
    if at.is_none() && mt.is_none() {
        return Ok(0);
    }
    if p.is_some_and(|p| p.mnt.readonly) {
        return Err(Errno::EROFS);
    }
    let st = inode.stat()?;
    if !t.capable(caps::CAP_FOWNER)
        && st.uid != t.creds.fsuid
        && (explicit || !permitted(&st, t.vcreds(), MAY_WRITE))
    {
        return Err(if explicit {
            Errno::EPERM
        } else {
            Errno::EACCES
        });
    }
    inode
        .setattr(&SetAttr {
            atime: at,
            mtime: mt,
            ..Default::default()
        })
        .map(|_| 0)
}

/// utimes(2).
pub fn utimes(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    utimes_common(t, AT_FDCWD as u64, a[0], a[1])
}

/// futimesat(2).
pub fn futimesat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    utimes_common(t, a[0], a[1], a[2])
}

/// utime(2): struct utimbuf { actime, modtime } in seconds, or NULL for now.
pub fn utime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    let mut ts = [0u8; 32];
    if a[1] != 0 {
        let mut b = [0u8; 16];
        t.mm.copy_in(a[1], &mut b)?;
        ts[0..8].copy_from_slice(&b[0..8]);
        ts[16..24].copy_from_slice(&b[8..16]);
    } else {
        ts[8..16].copy_from_slice(&UTIME_NOW.to_le_bytes());
        ts[24..32].copy_from_slice(&UTIME_NOW.to_le_bytes());
    }
    let path = path_arg(t, a[0])?;
    let (inode, p) = lookup_inode(t, AT_FDCWD as u64, &path, true, false)?;
    set_times(t, &inode, p.as_ref(), &ts, a[1] != 0)
}

/// chroot(2): needs CAP_SYS_CHROOT (root in the sandbox has it).
pub fn chroot(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let path = path_arg(t, a[0])?;
    let p = lookup(t, AT_FDCWD as u64, &path, true, false)?;
    let st = p.stat()?;
    if !st.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(&st, t.vcreds(), MAY_EXEC) {
        return Err(Errno::EACCES);
    }
    if !t.capable(caps::CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    t.fs.lock().unwrap_or_else(|e| e.into_inner()).root = p;
    Ok(0)
}
