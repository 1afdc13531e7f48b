//! The gofer server (DESIGN.md §6): serves the protocol on its channels, one thread per
//! channel, against one root directory. Owns the handle table (handle id → `O_PATH` FD
//! and where it was found) and the rules that keep every operation under the root.
//!
//! How it stays under the root:
//! - A handle is an `O_PATH` FD, never a path. `Walk` resolves exactly one component
//!   (never `.`, `..`, or anything with `/`) from a directory handle with `openat2`
//!   (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, falling back to
//!   `openat` with `O_NOFOLLOW` on kernels without it). A symlink comes back as a handle on
//!   the link itself; walking through it is `ENOTDIR`, opening it `ELOOP`.
//! - Every other operation is an `*at()` call on a handle's FD and a checked name, or an
//!   `AT_EMPTY_PATH` call on the handle's own FD (stat, chown, chmod via `fchmodat2`,
//!   utimensat, readlink, statfs).
//! - Opening for I/O. Linux cannot turn an `O_PATH` FD into an I/O FD without a path (no
//!   `O_EMPTY_PATH`), and `/proc/self/fd/N` is a magic link we refuse to use. So a
//!   directory is reopened as `"."` from its own handle (no name involved), and a regular
//!   file is reopened by name from its parent's handle, with `O_NOFOLLOW|O_NONBLOCK`, and
//!   then checked: if the FD's (dev, ino) is not the handle's, the name was swapped and
//!   the open fails with `ESTALE`. A swap can therefore make an open fail but never open
//!   another file; a symlink swapped in fails with `ELOOP`, a FIFO cannot block the
//!   gofer, and `O_TRUNC` is applied with `ftruncate` only after the check. Each handle
//!   keeps its parent handle and name for this; `Rename` through the gofer updates them.
//!   Only regular files and directories are opened; other types are `EPERM` (the sentry
//!   emulates FIFOs and devices).
//! - Read-only mode refuses every mutating request with `EROFS`.
//! - A gofer may serve one regular file instead of a tree (`serve_file`, for an OCI bind
//!   mount of a file such as Docker's `/etc/hosts`): its root handle is that file, found
//!   by name in its parent directory, which the gofer holds for reopening the file (as
//!   for any regular file) but never hands out: walks from the root are `ENOTDIR` and
//!   every request that names a child needs a directory handle.
//!
//! Sandboxing the gofer process itself (mount namespace, seccomp) is the caller's job:
//! `serve` only needs the root FD and the channel FDs, so it can be called after those
//! are applied.

use crate::protocol::{
    self, DecodeError, Dirent, Entry, Handle, MAX_MESSAGE, MAX_PAYLOAD, NO_OWNER, Request,
    Response, SetStat, Stat, Statfs, Timespec, check_name, check_target, dirent_len,
};
use crate::sys;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

/// How a gofer serves.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Refuse every mutating request with `EROFS`.
    pub read_only: bool,
    /// The most handles open at once; more is `ENFILE`.
    pub max_handles: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            read_only: false,
            max_handles: 64 * 1024,
        }
    }
}

/// Serves `channels` against `root` (an `O_PATH` or ordinary FD on a directory) until
/// every channel is closed by its peer or for a malformed message. Blocks the caller.
pub fn serve(root: OwnedFd, channels: Vec<OwnedFd>, read_only: bool) -> io::Result<()> {
    serve_with(
        root,
        channels,
        Config {
            read_only,
            ..Config::default()
        },
    )
}

/// `serve` with every setting given.
pub fn serve_with(root: OwnedFd, channels: Vec<OwnedFd>, config: Config) -> io::Result<()> {
    let gofer = Gofer::new(root, config)?;
    gofer.serve_all(channels);
    Ok(())
}

impl Gofer {
    /// One thread per channel, until each has closed.
    fn serve_all(&self, channels: Vec<OwnedFd>) {
        let gofer = self;
        std::thread::scope(|s| {
            for (i, ch) in channels.into_iter().enumerate() {
                let g = &gofer;
                let spawned = std::thread::Builder::new()
                    .name(format!("gofer-ch{i}"))
                    .spawn_scoped(s, move || g.serve_channel(i, ch));
                if let Err(e) = spawned {
                    eprintln!("gofer: channel {i}: cannot start its thread: {e}; closing it");
                }
            }
        });
    }
}

/// Serves `channels` with one regular file as the root: `name` (one component) in the
/// directory `dir` (an `O_PATH` FD from `open_root`). See the module comment.
pub fn serve_file(
    dir: OwnedFd,
    name: &[u8],
    channels: Vec<OwnedFd>,
    read_only: bool,
) -> io::Result<()> {
    let config = Config {
        read_only,
        ..Config::default()
    };
    let gofer = Gofer::new_file(dir, name, config)?;
    gofer.serve_all(channels);
    Ok(())
}

/// Opens `path` as the `O_PATH` directory FD `serve` takes.
pub fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    sys::open_root(path.as_os_str().as_bytes()).map_err(|e| io::Error::from_raw_os_error(e.0))
}

/// Takes ownership of an inherited channel FD (checked to be an open socket).
pub fn adopt_channel(fd: i32) -> io::Result<OwnedFd> {
    sys::adopt_socket(fd)
}

/// A file the gofer has a handle on.
struct Node {
    /// `O_PATH`, never followed through a symlink.
    fd: OwnedFd,
    dev: u64,
    ino: u64,
    /// `S_IFMT` bits.
    ftype: u32,
    /// The parent directory's node and this file's name in it; `None` for the root.
    loc: Mutex<Option<(Arc<Node>, Vec<u8>)>>,
}

impl Node {
    fn new(fd: OwnedFd, parent: Option<(Arc<Node>, Vec<u8>)>) -> Result<(Node, Stat), Errno> {
        let st = sys::fstat(fd.as_fd())?;
        Ok((
            Node {
                fd,
                dev: st.st_dev,
                ino: st.st_ino,
                ftype: st.st_mode & libc::S_IFMT,
                loc: Mutex::new(parent),
            },
            stat_from(&st),
        ))
    }

    fn is_dir(&self) -> bool {
        self.ftype == libc::S_IFDIR
    }

    fn same_file(&self, st: &libc::stat) -> bool {
        st.st_dev == self.dev && st.st_ino == self.ino
    }

    fn loc(&self) -> Option<(Arc<Node>, Vec<u8>)> {
        lock(&self.loc).clone()
    }

    /// Opens the file for I/O with `flags` (see the module comment). The FD is
    /// `O_NONBLOCK` and close-on-exec.
    fn reopen(&self, flags: i32) -> Result<OwnedFd, Errno> {
        let flags = flags | libc::O_NONBLOCK | libc::O_NOCTTY;
        let fd = match self.ftype {
            libc::S_IFDIR => {
                if flags & libc::O_ACCMODE != libc::O_RDONLY {
                    return Err(Errno::EISDIR);
                }
                sys::open_beneath(self.fd.as_fd(), b".", flags | libc::O_DIRECTORY, 0)?
            }
            libc::S_IFREG => {
                let (parent, name) = self.loc().ok_or(Errno::ESTALE)?;
                sys::open_beneath(parent.fd.as_fd(), &name, flags, 0)?
            }
            libc::S_IFLNK => return Err(Errno::ELOOP),
            _ => return Err(Errno::EPERM),
        };
        if !self.same_file(&sys::fstat(fd.as_fd())?) {
            return Err(Errno::ESTALE);
        }
        Ok(fd)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn stat_from(st: &libc::stat) -> Stat {
    let ts = |sec: i64, nsec: i64| Timespec {
        sec,
        nsec: nsec.clamp(0, 999_999_999) as u32,
    };
    Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
        blksize: st.st_blksize.clamp(0, u32::MAX as i64) as u32,
        atime: ts(st.st_atime, st.st_atime_nsec),
        mtime: ts(st.st_mtime, st.st_mtime_nsec),
        ctime: ts(st.st_ctime, st.st_ctime_nsec),
    }
}

struct Handles {
    map: HashMap<u64, Arc<Node>>,
    next: u64,
}

/// One gofer: its root, its handle table (shared by all channels, since the sentry may
/// use any channel for any handle) and its configuration.
struct Gofer {
    root: Arc<Node>,
    handles: Mutex<Handles>,
    config: Config,
}

/// Flags `Open` and `Create` accept besides the access mode.
const OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_DIRECT
    | libc::O_DSYNC
    | libc::O_SYNC
    | libc::O_NOATIME
    | libc::O_NONBLOCK
    | libc::O_LARGEFILE;

fn check_open_flags(flags: u32) -> Result<i32, Errno> {
    let flags = i32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    if flags & !OPEN_FLAGS != 0 || flags & libc::O_ACCMODE == libc::O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    Ok(flags)
}

fn writes(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0
}

impl Gofer {
    fn new(root: OwnedFd, config: Config) -> io::Result<Gofer> {
        let (node, _) = Node::new(root, None).map_err(|e| io::Error::from_raw_os_error(e.0))?;
        if !node.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(Gofer::with_root(Arc::new(node), config))
    }

    /// A gofer whose root is the regular file `name` in the directory `dir`.
    fn new_file(dir: OwnedFd, name: &[u8], config: Config) -> io::Result<Gofer> {
        let os = |e: Errno| io::Error::from_raw_os_error(e.0);
        check_name(name).map_err(os)?;
        let (parent, _) = Node::new(dir, None).map_err(os)?;
        if !parent.is_dir() {
            return Err(os(Errno::ENOTDIR));
        }
        let fd = sys::open_beneath(parent.fd.as_fd(), name, libc::O_PATH, 0).map_err(os)?;
        let (node, _) = Node::new(fd, Some((Arc::new(parent), name.to_vec()))).map_err(os)?;
        if node.ftype != libc::S_IFREG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(Gofer::with_root(Arc::new(node), config))
    }

    fn with_root(root: Arc<Node>, config: Config) -> Gofer {
        Gofer {
            root,
            handles: Mutex::new(Handles {
                map: HashMap::new(),
                next: 1,
            }),
            config,
        }
    }

    /// Receives, executes and answers requests on one channel until its peer closes it
    /// or sends a malformed message.
    fn serve_channel(&self, index: usize, ch: OwnedFd) {
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        loop {
            let got = match sys::recv_msg(ch.as_fd(), &mut buf) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("gofer: channel {index}: receive failed: {e}; closing it");
                    return;
                }
            };
            if got.len == 0 && got.fds.is_empty() {
                return; // The peer closed the channel.
            }
            let bad = if got.truncated {
                Some(DecodeError::TooLong(got.len).to_string())
            } else if !got.fds.is_empty() {
                Some(format!("{} unexpected file descriptors", got.fds.len()))
            } else {
                None
            };
            // Any FDs that came along are closed here, with `got`.
            drop(got.fds);
            let decoded = match bad {
                Some(b) => Err(b),
                None => protocol::decode_request(&buf[..got.len]).map_err(|e| e.to_string()),
            };
            let (tag, req) = match decoded {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("gofer: channel {index}: malformed message: {e}; closing it");
                    return;
                }
            };
            let id = req.id();
            let (res, fd) = match self.execute(req) {
                Ok((r, fd)) => (Ok(r), fd),
                Err(e) => (Err(e), None),
            };
            let msg = protocol::encode_response(tag, id, &res);
            debug_assert!(msg.len() <= MAX_MESSAGE);
            if let Err(e) = sys::send_msg(ch.as_fd(), &msg, fd.as_ref().map(|f| f.as_fd())) {
                if e != Errno::EPIPE && e != Errno::ECONNRESET {
                    eprintln!("gofer: channel {index}: send failed: {e}; closing it");
                }
                return;
            }
        }
    }

    fn get(&self, h: Handle) -> Result<Arc<Node>, Errno> {
        lock(&self.handles)
            .map
            .get(&h.0)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn dir(&self, h: Handle) -> Result<Arc<Node>, Errno> {
        let n = self.get(h)?;
        if !n.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(n)
    }

    fn insert(&self, node: Arc<Node>) -> Result<Handle, Errno> {
        let mut t = lock(&self.handles);
        if t.map.len() >= self.config.max_handles {
            return Err(Errno::ENFILE);
        }
        let id = t.next;
        t.next += 1;
        t.map.insert(id, node);
        Ok(Handle(id))
    }

    /// A new handle on `name` in `dir`, opened `O_PATH` without following a symlink.
    /// `want` is the file type the caller just created, if any: another type means the
    /// name was swapped and is `ESTALE`.
    fn entry(&self, dir: &Arc<Node>, name: &[u8], want: Option<u32>) -> Result<Entry, Errno> {
        let fd = sys::open_beneath(dir.fd.as_fd(), name, libc::O_PATH, 0)?;
        let (node, stat) = Node::new(fd, Some((dir.clone(), name.to_vec())))?;
        if want.is_some_and(|t| t != node.ftype) {
            return Err(Errno::ESTALE);
        }
        let handle = self.insert(Arc::new(node))?;
        Ok(Entry { handle, stat })
    }

    fn execute(&self, req: Request) -> Result<(Response, Option<OwnedFd>), Errno> {
        if self.config.read_only && req.mutates() {
            return Err(Errno::EROFS);
        }
        let entry = |e: Entry| Ok((Response::Entry(e), None));
        let empty = || Ok((Response::Empty, None));
        match req {
            Request::Mount => {
                let stat = stat_from(&sys::fstat(self.root.fd.as_fd())?);
                let handle = self.insert(self.root.clone())?;
                entry(Entry { handle, stat })
            }
            Request::Walk { dir, name } => {
                check_name(&name)?;
                entry(self.entry(&self.dir(dir)?, &name, None)?)
            }
            Request::Open { handle, flags } => {
                let flags = check_open_flags(flags)?;
                if self.config.read_only && writes(flags) {
                    return Err(Errno::EROFS);
                }
                let node = self.get(handle)?;
                let fd = node.reopen(flags & !libc::O_TRUNC)?;
                if flags & libc::O_TRUNC != 0 && node.ftype == libc::S_IFREG {
                    sys::ftruncate(fd.as_fd(), 0)?;
                }
                if flags & libc::O_NONBLOCK == 0 {
                    sys::clear_nonblock(fd.as_fd())?;
                }
                Ok((Response::Empty, Some(fd)))
            }
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => {
                check_name(&name)?;
                let flags = check_open_flags(flags)?;
                let perm = perm_of(mode, libc::S_IFREG)?;
                let d = self.dir(dir)?;
                let fd = sys::open_beneath(
                    d.fd.as_fd(),
                    &name,
                    flags | libc::O_CREAT | libc::O_EXCL | libc::O_NONBLOCK | libc::O_NOCTTY,
                    perm,
                )?;
                let e = self.entry(&d, &name, Some(libc::S_IFREG))?;
                let node = self.get(e.handle)?;
                let finish = || -> Result<Stat, Errno> {
                    let st = sys::fstat(fd.as_fd())?;
                    if !node.same_file(&st) {
                        return Err(Errno::ESTALE);
                    }
                    self.set_owner(&node, uid, gid)?;
                    if sys::fstat(fd.as_fd())?.st_mode & 0o7777 != perm {
                        sys::fchmod(fd.as_fd(), perm)?;
                    }
                    if flags & libc::O_NONBLOCK == 0 {
                        sys::clear_nonblock(fd.as_fd())?;
                    }
                    Ok(stat_from(&sys::fstat(fd.as_fd())?))
                };
                match finish() {
                    Ok(stat) => Ok((
                        Response::Entry(Entry {
                            handle: e.handle,
                            stat,
                        }),
                        Some(fd),
                    )),
                    Err(err) => {
                        self.forget(e.handle);
                        Err(err)
                    }
                }
            }
            Request::Mkdir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                check_name(&name)?;
                let perm = perm_of(mode, libc::S_IFDIR)?;
                let d = self.dir(dir)?;
                sys::mkdirat(d.fd.as_fd(), &name, perm)?;
                entry(self.finish_new(&d, &name, libc::S_IFDIR, Some(perm), uid, gid)?)
            }
            Request::Mknod {
                dir,
                name,
                mode,
                uid,
                gid,
            } => {
                check_name(&name)?;
                let ftype = match mode & libc::S_IFMT {
                    0 | libc::S_IFREG => libc::S_IFREG,
                    libc::S_IFIFO => libc::S_IFIFO,
                    // The node an AF_UNIX socket binds to (the socket itself lives in
                    // the sentry; on the host the node is inert).
                    libc::S_IFSOCK => libc::S_IFSOCK,
                    _ => return Err(Errno::EPERM),
                };
                let perm = mode & 0o7777;
                let d = self.dir(dir)?;
                sys::mknodat(d.fd.as_fd(), &name, ftype | perm)?;
                entry(self.finish_new(&d, &name, ftype, Some(perm), uid, gid)?)
            }
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => {
                check_name(&name)?;
                check_target(&target)?;
                let d = self.dir(dir)?;
                sys::symlinkat(&target, d.fd.as_fd(), &name)?;
                entry(self.finish_new(&d, &name, libc::S_IFLNK, None, uid, gid)?)
            }
            Request::Link { dir, name, target } => {
                check_name(&name)?;
                let d = self.dir(dir)?;
                let t = self.get(target)?;
                self.link(&d, &name, &t)?;
                entry(self.entry(&d, &name, Some(t.ftype))?)
            }
            Request::Unlink { dir, name, flags } => {
                check_name(&name)?;
                if flags & !(libc::AT_REMOVEDIR as u32) != 0 {
                    return Err(Errno::EINVAL);
                }
                let d = self.dir(dir)?;
                sys::unlinkat(d.fd.as_fd(), &name, flags as i32)?;
                empty()
            }
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => {
                check_name(&old_name)?;
                check_name(&new_name)?;
                let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE;
                if flags & !known != 0 || flags == known {
                    return Err(Errno::EINVAL);
                }
                let od = self.dir(old_dir)?;
                let nd = self.dir(new_dir)?;
                sys::renameat2(od.fd.as_fd(), &old_name, nd.fd.as_fd(), &new_name, flags)?;
                self.moved(&od, &old_name, &nd, &new_name, flags);
                empty()
            }
            Request::Readlink { handle } => {
                let n = self.get(handle)?;
                if n.ftype != libc::S_IFLNK {
                    return Err(Errno::EINVAL);
                }
                Ok((Response::Target(sys::readlink_fd(n.fd.as_fd())?), None))
            }
            Request::Getdents {
                dir,
                cookie,
                max_bytes,
            } => {
                let d = self.dir(dir)?;
                Ok((Response::Dirents(getdents(&d, cookie, max_bytes)?), None))
            }
            Request::Stat { handle } => {
                let n = self.get(handle)?;
                Ok((Response::Stat(stat_from(&sys::fstat(n.fd.as_fd())?)), None))
            }
            Request::Setstat { handle, attr } => {
                self.setstat(&*self.get(handle)?, &attr)?;
                empty()
            }
            Request::Statfs { handle } => {
                let s = sys::fstatfs(self.get(handle)?.fd.as_fd())?;
                Ok((
                    Response::Statfs(Statfs {
                        fs_type: s.f_type as u64,
                        bsize: s.f_bsize as u64,
                        blocks: s.f_blocks,
                        bfree: s.f_bfree,
                        bavail: s.f_bavail,
                        files: s.f_files,
                        ffree: s.f_ffree,
                        namelen: s.f_namelen as u64,
                        frsize: s.f_frsize as u64,
                        flags: s.f_flags as u64,
                    }),
                    None,
                ))
            }
            Request::Fsync { handle, datasync } => {
                let n = self.get(handle)?;
                let fd = match n.reopen(libc::O_RDONLY) {
                    Err(Errno::EACCES) => n.reopen(libc::O_WRONLY)?,
                    other => other?,
                };
                sys::fsync(fd.as_fd(), datasync)?;
                empty()
            }
            Request::Close { handle } => {
                lock(&self.handles)
                    .map
                    .remove(&handle.0)
                    .ok_or(Errno::EBADF)?;
                empty()
            }
        }
    }

    fn forget(&self, h: Handle) {
        lock(&self.handles).map.remove(&h.0);
    }

    /// After creating `name` in `d`: a handle on it (checked to be of type `ftype`), the
    /// requested owner, and the exact permission bits (the process umask may have cut
    /// them).
    fn finish_new(
        &self,
        d: &Arc<Node>,
        name: &[u8],
        ftype: u32,
        perm: Option<u32>,
        uid: u32,
        gid: u32,
    ) -> Result<Entry, Errno> {
        let e = self.entry(d, name, Some(ftype))?;
        let node = self.get(e.handle)?;
        let finish = || -> Result<Stat, Errno> {
            self.set_owner(&node, uid, gid)?;
            if let Some(perm) = perm
                && sys::fstat(node.fd.as_fd())?.st_mode & 0o7777 != perm
            {
                chmod(&node, perm)?;
            }
            Ok(stat_from(&sys::fstat(node.fd.as_fd())?))
        };
        match finish() {
            Ok(stat) => Ok(Entry {
                handle: e.handle,
                stat,
            }),
            Err(err) => {
                self.forget(e.handle);
                Err(err)
            }
        }
    }

    fn set_owner(&self, node: &Node, uid: u32, gid: u32) -> Result<(), Errno> {
        if uid != NO_OWNER || gid != NO_OWNER {
            sys::chown_fd(node.fd.as_fd(), uid, gid)?;
        }
        Ok(())
    }

    /// A new name `name` in `d` for the file `t`. `linkat(fd, "", AT_EMPTY_PATH)` links
    /// the handle's file itself but needs `CAP_DAC_READ_SEARCH`; without it, link by the
    /// handle's parent and name (never following a symlink) and undo the link if the file
    /// it made is not the handle's.
    fn link(&self, d: &Arc<Node>, name: &[u8], t: &Node) -> Result<(), Errno> {
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        match sys::linkat(t.fd.as_fd(), b"", d.fd.as_fd(), name, libc::AT_EMPTY_PATH) {
            Err(Errno::ENOENT) if sys::fstat(t.fd.as_fd())?.st_nlink > 0 => {}
            other => return other,
        }
        let (parent, old) = t.loc().ok_or(Errno::ESTALE)?;
        sys::linkat(parent.fd.as_fd(), &old, d.fd.as_fd(), name, 0)?;
        match sys::stat_at(d.fd.as_fd(), name, 0) {
            Ok(st) if t.same_file(&st) => Ok(()),
            _ => {
                let _ = sys::unlinkat(d.fd.as_fd(), name, 0);
                Err(Errno::ESTALE)
            }
        }
    }

    /// Keeps the handles' (parent, name) right after a rename through the gofer, so a
    /// handle on a moved file still reopens.
    fn moved(&self, od: &Node, old: &[u8], nd: &Arc<Node>, new: &[u8], flags: u32) {
        let od_dir = self.node_for(od);
        let nodes: Vec<Arc<Node>> = lock(&self.handles).map.values().cloned().collect();
        for n in nodes {
            let mut loc = lock(&n.loc);
            if let Some((p, name)) = loc.as_mut() {
                let same = |a: &Node, b: &Node| a.dev == b.dev && a.ino == b.ino;
                if same(p, od) && name.as_slice() == old {
                    *p = nd.clone();
                    *name = new.to_vec();
                } else if flags & libc::RENAME_EXCHANGE != 0
                    && same(p, nd)
                    && name.as_slice() == new
                    && let Some(od) = &od_dir
                {
                    *p = od.clone();
                    *name = old.to_vec();
                }
            }
        }
    }

    /// An `Arc` on a node for the same directory as `n` (for `moved`).
    fn node_for(&self, n: &Node) -> Option<Arc<Node>> {
        let t = lock(&self.handles);
        t.map
            .values()
            .find(|x| x.dev == n.dev && x.ino == n.ino)
            .cloned()
    }

    fn setstat(&self, n: &Node, attr: &SetStat) -> Result<(), Errno> {
        if let Some(size) = attr.size {
            match n.ftype {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            let fd = n.reopen(libc::O_WRONLY)?;
            sys::ftruncate(fd.as_fd(), size)?;
        }
        if attr.uid.is_some() || attr.gid.is_some() {
            self.set_owner(
                n,
                attr.uid.unwrap_or(NO_OWNER),
                attr.gid.unwrap_or(NO_OWNER),
            )?;
        }
        if let Some(mode) = attr.mode {
            if mode & !0o7777 != 0 {
                return Err(Errno::EINVAL);
            }
            chmod(n, mode)?;
        }
        if attr.atime.is_some() || attr.mtime.is_some() {
            let times = [sys::time_arg(attr.atime), sys::time_arg(attr.mtime)];
            sys::utimens_fd(n.fd.as_fd(), &times)?;
        }
        Ok(())
    }
}

/// chmod through the handle: `fchmodat2(AT_EMPTY_PATH)`, or on kernels before 6.6 an
/// `fchmod` on a checked reopen.
fn chmod(n: &Node, perm: u32) -> Result<(), Errno> {
    match sys::chmod_fd(n.fd.as_fd(), perm) {
        Err(Errno::ENOSYS) => {}
        other => return other,
    }
    if n.ftype == libc::S_IFLNK {
        return Err(Errno::EOPNOTSUPP);
    }
    let fd = match n.reopen(libc::O_RDONLY) {
        Err(Errno::EACCES) => n.reopen(libc::O_WRONLY)?,
        other => other?,
    };
    sys::fchmod(fd.as_fd(), perm)
}

/// The permission bits of a create-like request's mode; a file type, if given, must be
/// `ftype`.
fn perm_of(mode: u32, ftype: u32) -> Result<u32, Errno> {
    let t = mode & libc::S_IFMT;
    if t != 0 && t != ftype {
        return Err(Errno::EINVAL);
    }
    Ok(mode & 0o7777)
}

/// Entries of `d` after `cookie`, at most `max_bytes` of them encoded, never `.` or `..`
/// (the sentry makes those; the root's `..` would name a host directory).
fn getdents(d: &Node, cookie: u64, max_bytes: u32) -> Result<Vec<Dirent>, Errno> {
    let fd = d.reopen(libc::O_RDONLY)?;
    sys::lseek_set(fd.as_fd(), cookie)?;
    // Room for the count and the header of the response besides the entries.
    let max = (max_bytes as usize).min(MAX_PAYLOAD - 64);
    if max < dirent_len(1) {
        return Err(Errno::EINVAL);
    }
    // A raw linux_dirent64 (19 bytes + name + NUL, 8-aligned) is never smaller than its
    // encoding, so what one read returns always fits in `max`.
    let mut buf = vec![0u8; max];
    loop {
        let n = sys::getdents64(fd.as_fd(), &mut buf)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let ents = parse_dirents(&buf[..n.min(buf.len())]);
        if !ents.is_empty() {
            return Ok(ents);
        }
        // Only `.`/`..` in this batch: read on, so an empty answer always means the end.
    }
}

fn parse_dirents(mut b: &[u8]) -> Vec<Dirent> {
    let mut out = Vec::new();
    while b.len() >= 19 {
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let reclen = u16::from_le_bytes([b[16], b[17]]) as usize;
        if reclen < 20 || reclen > b.len() {
            break;
        }
        let raw = &b[19..reclen];
        let name = &raw[..raw.iter().position(|&c| c == 0).unwrap_or(raw.len())];
        if check_name(name).is_ok() {
            out.push(Dirent {
                ino: u64_at(0),
                cookie: u64_at(8),
                dtype: b[18],
                name: name.to_vec(),
            });
        }
        b = &b[reclen..];
    }
    out
}
