//! The gofer client the sentry uses (DESIGN.md §6): a pool of channels, each carrying one
//! request at a time, and a typed method per request. Owns request tags and the checks
//! on responses: the gofer is treated as hostile, so a response with the wrong id, tag,
//! layout or FDs, or a dead channel, is `EIO` and retires that channel, never a panic.

use crate::protocol::{
    self, Dirent, Entry, Handle, MAX_MESSAGE, NO_OWNER, Request, Response, SetStat, Stat, Statfs,
    check_name, check_target,
};
use crate::sys;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use syscalls_table::Errno;

/// The owner of a file a create-like request makes; `None` keeps the gofer's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Owner {
    pub fn new(uid: u32, gid: u32) -> Owner {
        Owner {
            uid: Some(uid),
            gid: Some(gid),
        }
    }
    fn wire(self) -> (u32, u32) {
        (self.uid.unwrap_or(NO_OWNER), self.gid.unwrap_or(NO_OWNER))
    }
}

struct Channel {
    /// `None` once the channel has failed.
    fd: Option<OwnedFd>,
    /// Why it failed, for the sentry's log.
    failure: Option<String>,
    tag: u32,
    buf: Vec<u8>,
}

/// A thread-safe connection to one gofer over several channels.
pub struct Client {
    channels: Vec<Mutex<Channel>>,
    next: AtomicUsize,
}

fn lock(m: &Mutex<Channel>) -> MutexGuard<'_, Channel> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Client {
    /// A client over `channels` (the sentry's ends of the gofer's socket pairs).
    pub fn new(channels: Vec<OwnedFd>) -> Client {
        Client {
            channels: channels
                .into_iter()
                .map(|fd| {
                    Mutex::new(Channel {
                        fd: Some(fd),
                        failure: None,
                        tag: 0,
                        buf: Vec::new(),
                    })
                })
                .collect(),
            next: AtomicUsize::new(0),
        }
    }

    /// How many channels are still usable.
    pub fn live_channels(&self) -> usize {
        self.channels
            .iter()
            .filter(|c| lock(c).fd.is_some())
            .count()
    }

    /// Why channels were retired, one line each (for the caller's log).
    pub fn failures(&self) -> Vec<String> {
        self.channels
            .iter()
            .filter_map(|c| lock(c).failure.clone())
            .collect()
    }

    /// Sends `req` on a free channel (or waits for a busy one) and returns the checked
    /// response with its donated FD, if the request donates one.
    fn call(&self, req: &Request) -> Result<(Response, Option<OwnedFd>), Errno> {
        let n = self.channels.len();
        if n == 0 {
            return Err(Errno::EIO);
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(mut ch) = self.channels[(start + i) % n].try_lock()
                && ch.fd.is_some()
            {
                return Self::call_on(&mut ch, req);
            }
        }
        for i in 0..n {
            let mut ch = lock(&self.channels[(start + i) % n]);
            if ch.fd.is_some() {
                return Self::call_on(&mut ch, req);
            }
        }
        Err(Errno::EIO)
    }

    fn call_on(ch: &mut Channel, req: &Request) -> Result<(Response, Option<OwnedFd>), Errno> {
        match Self::exchange(ch, req) {
            Ok(r) => r,
            Err(why) => {
                // A channel that misbehaved once is not trusted again.
                ch.fd = None;
                ch.failure = Some(why);
                Err(Errno::EIO)
            }
        }
    }

    /// One request/response on `ch`. The outer error means the channel is broken.
    #[allow(clippy::type_complexity)]
    fn exchange(
        ch: &mut Channel,
        req: &Request,
    ) -> Result<Result<(Response, Option<OwnedFd>), Errno>, String> {
        ch.tag = ch.tag.wrapping_add(1);
        let tag = ch.tag;
        let msg = protocol::encode_request(tag, req);
        if msg.len() > MAX_MESSAGE {
            return Ok(Err(Errno::EINVAL));
        }
        if ch.buf.len() != MAX_MESSAGE + 1 {
            ch.buf = vec![0u8; MAX_MESSAGE + 1];
        }
        let Channel { fd, buf, .. } = ch;
        let fd = fd.as_ref().ok_or("closed")?;
        sys::send_msg(fd.as_fd(), &msg, None).map_err(|e| format!("send: {e}"))?;
        let got = sys::recv_msg(fd.as_fd(), buf).map_err(|e| format!("receive: {e}"))?;
        if got.len == 0 && got.fds.is_empty() {
            return Err("gofer closed the channel".into());
        }
        if got.truncated {
            return Err("oversized response".into());
        }
        let (rtag, rid, res) =
            protocol::decode_response(&buf[..got.len]).map_err(|e| e.to_string())?;
        if rtag != tag || rid != req.id() {
            return Err("response does not answer the request".into());
        }
        let mut fds = got.fds;
        match res {
            Err(e) => {
                if !fds.is_empty() {
                    return Err("FDs with an error".into());
                }
                Ok(Err(e))
            }
            Ok(r) => {
                if !r.answers(rid) {
                    return Err("wrong response layout".into());
                }
                let want = usize::from(rid.donates_fd());
                if fds.len() != want {
                    return Err("wrong number of FDs".into());
                }
                Ok(Ok((r, fds.pop())))
            }
        }
    }

    fn entry(&self, req: &Request) -> Result<Entry, Errno> {
        match self.call(req)? {
            (Response::Entry(e), _) => Ok(e),
            _ => Err(Errno::EIO),
        }
    }

    fn empty(&self, req: &Request) -> Result<(), Errno> {
        match self.call(req)? {
            (Response::Empty, _) => Ok(()),
            _ => Err(Errno::EIO),
        }
    }

    /// A new handle on the gofer's root.
    pub fn mount(&self) -> Result<Entry, Errno> {
        self.entry(&Request::Mount)
    }

    /// The file `name` (one component, not `.` or `..`) in directory `dir`; a symlink is
    /// not followed (its handle names the link).
    pub fn walk(&self, dir: Handle, name: &[u8]) -> Result<Entry, Errno> {
        check_name(name)?;
        self.entry(&Request::Walk {
            dir,
            name: name.to_vec(),
        })
    }

    /// A host FD on the handle's file, opened with `flags` (`O_ACCMODE` and
    /// `O_TRUNC|O_APPEND|O_DIRECT|O_DSYNC|O_SYNC|O_NOATIME|O_NONBLOCK`).
    pub fn open(&self, handle: Handle, flags: i32) -> Result<OwnedFd, Errno> {
        match self.call(&Request::Open {
            handle,
            flags: flags as u32,
        })? {
            (Response::Empty, Some(fd)) => Ok(fd),
            _ => Err(Errno::EIO),
        }
    }

    /// Creates `name` in `dir` (`O_CREAT|O_EXCL`) with exactly `mode`'s permission bits:
    /// its handle and an FD opened with `flags`.
    pub fn create(
        &self,
        dir: Handle,
        name: &[u8],
        flags: i32,
        mode: u32,
        owner: Owner,
    ) -> Result<(Entry, OwnedFd), Errno> {
        check_name(name)?;
        let (uid, gid) = owner.wire();
        match self.call(&Request::Create {
            dir,
            name: name.to_vec(),
            flags: flags as u32,
            mode,
            uid,
            gid,
        })? {
            (Response::Entry(e), Some(fd)) => Ok((e, fd)),
            _ => Err(Errno::EIO),
        }
    }

    pub fn mkdir(&self, dir: Handle, name: &[u8], mode: u32, owner: Owner) -> Result<Entry, Errno> {
        check_name(name)?;
        let (uid, gid) = owner.wire();
        self.entry(&Request::Mkdir {
            dir,
            name: name.to_vec(),
            mode,
            uid,
            gid,
        })
    }

    /// A FIFO (`S_IFIFO`), socket node (`S_IFSOCK`) or regular file (`S_IFREG` or no
    /// type); other types are `EPERM`.
    pub fn mknod(&self, dir: Handle, name: &[u8], mode: u32, owner: Owner) -> Result<Entry, Errno> {
        check_name(name)?;
        let (uid, gid) = owner.wire();
        self.entry(&Request::Mknod {
            dir,
            name: name.to_vec(),
            mode,
            uid,
            gid,
        })
    }

    pub fn symlink(
        &self,
        dir: Handle,
        name: &[u8],
        target: &[u8],
        owner: Owner,
    ) -> Result<Entry, Errno> {
        check_name(name)?;
        check_target(target)?;
        let (uid, gid) = owner.wire();
        self.entry(&Request::Symlink {
            dir,
            name: name.to_vec(),
            target: target.to_vec(),
            uid,
            gid,
        })
    }

    /// A new name `name` in `dir` for the file of `target`; returns a handle on it.
    pub fn link(&self, dir: Handle, name: &[u8], target: Handle) -> Result<Entry, Errno> {
        check_name(name)?;
        self.entry(&Request::Link {
            dir,
            name: name.to_vec(),
            target,
        })
    }

    /// `unlinkat`; `flags` is 0 or `AT_REMOVEDIR`.
    pub fn unlink(&self, dir: Handle, name: &[u8], flags: i32) -> Result<(), Errno> {
        check_name(name)?;
        self.empty(&Request::Unlink {
            dir,
            name: name.to_vec(),
            flags: flags as u32,
        })
    }

    /// `renameat2`; `flags` is 0, `RENAME_NOREPLACE` or `RENAME_EXCHANGE`.
    pub fn rename(
        &self,
        old_dir: Handle,
        old_name: &[u8],
        new_dir: Handle,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        check_name(old_name)?;
        check_name(new_name)?;
        self.empty(&Request::Rename {
            old_dir,
            old_name: old_name.to_vec(),
            new_dir,
            new_name: new_name.to_vec(),
            flags,
        })
    }

    pub fn readlink(&self, handle: Handle) -> Result<Vec<u8>, Errno> {
        match self.call(&Request::Readlink { handle })? {
            (Response::Target(t), _) => Ok(t),
            _ => Err(Errno::EIO),
        }
    }

    /// Entries of `dir` after `cookie` (0 = from the start), at most `max_bytes` of
    /// them encoded; empty at the end. Continue from the last entry's `cookie`.
    pub fn getdents(&self, dir: Handle, cookie: u64, max_bytes: u32) -> Result<Vec<Dirent>, Errno> {
        match self.call(&Request::Getdents {
            dir,
            cookie,
            max_bytes,
        })? {
            (Response::Dirents(d), _) => Ok(d),
            _ => Err(Errno::EIO),
        }
    }

    pub fn stat(&self, handle: Handle) -> Result<Stat, Errno> {
        match self.call(&Request::Stat { handle })? {
            (Response::Stat(s), _) => Ok(s),
            _ => Err(Errno::EIO),
        }
    }

    pub fn setstat(&self, handle: Handle, attr: &SetStat) -> Result<(), Errno> {
        self.empty(&Request::Setstat {
            handle,
            attr: *attr,
        })
    }

    pub fn statfs(&self, handle: Handle) -> Result<Statfs, Errno> {
        match self.call(&Request::Statfs { handle })? {
            (Response::Statfs(s), _) => Ok(s),
            _ => Err(Errno::EIO),
        }
    }

    pub fn fsync(&self, handle: Handle, datasync: bool) -> Result<(), Errno> {
        self.empty(&Request::Fsync { handle, datasync })
    }

    /// Releases a handle.
    pub fn close(&self, handle: Handle) -> Result<(), Errno> {
        self.empty(&Request::Close { handle })
    }
}
