//! The gofer-backed filesystem (DESIGN.md §6): every node is a gofer handle; lookups,
//! directory listings and metadata changes are gofer requests; file I/O goes straight to
//! the host file descriptor the gofer donated on open (pread/pwrite, no copies through
//! the gofer). Stat values are the host's, so `ls -l` of a host tree reads as natively.

use super::inode::*;
use crate::host::{self, Seg};
use gofer::client::{Client, Owner};
use gofer::protocol::{Handle, SetStat, SetTime};
use std::any::Any;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use syscalls_table::Errno;

pub struct GoferFs {
    client: Client,
    /// Served read-only (the overlay's lower layer): nothing in the sandbox changes it,
    /// so attributes are kept once known instead of asked for again.
    read_only: bool,
}

impl GoferFs {
    /// Attaches to the gofer's root; returns the root inode.
    pub fn mount(client: Client, read_only: bool) -> Result<Arc<GoferInode>, Errno> {
        let fs = Arc::new(GoferFs { client, read_only });
        let e = fs.client.mount()?;
        Ok(Arc::new(GoferInode {
            fs,
            handle: e.handle,
            fresh: Mutex::new(Some(convert(&e.stat))),
        }))
    }
}

pub struct GoferInode {
    fs: Arc<GoferFs>,
    handle: Handle,
    /// The stat that came with the walk, served once before asking the gofer again.
    fresh: Mutex<Option<Stat>>,
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        let _ = self.fs.client.close(self.handle);
    }
}

fn convert(s: &gofer::protocol::Stat) -> Stat {
    let ts = |t: gofer::protocol::Timespec| Timespec {
        sec: t.sec,
        nsec: t.nsec as i64,
    };
    Stat {
        dev: s.dev,
        ino: s.ino,
        mode: s.mode,
        nlink: s.nlink,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev,
        size: s.size,
        blksize: s.blksize as u64,
        blocks: s.blocks,
        atime: ts(s.atime),
        mtime: ts(s.mtime),
        ctime: ts(s.ctime),
    }
}

impl GoferInode {
    fn child(&self, e: gofer::protocol::Entry) -> InodeRef {
        Arc::new(GoferInode {
            fs: self.fs.clone(),
            handle: e.handle,
            fresh: Mutex::new(Some(convert(&e.stat))),
        })
    }

    fn mine(&self, other: &InodeRef) -> Result<Arc<GoferInode>, Errno> {
        let g = other
            .clone()
            .into_any()
            .downcast::<GoferInode>()
            .map_err(|_| Errno::EXDEV)?;
        if !Arc::ptr_eq(&g.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        Ok(g)
    }

    fn forget_stat(&self) {
        *self.fresh.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Inode for GoferInode {
    fn stat(&self) -> Result<Stat, Errno> {
        let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        if self.fs.read_only {
            if let Some(s) = *fresh {
                return Ok(s);
            }
            let s = convert(&self.fs.client.stat(self.handle)?);
            *fresh = Some(s);
            return Ok(s);
        }
        if let Some(s) = fresh.take() {
            return Ok(s);
        }
        drop(fresh);
        self.fs.client.stat(self.handle).map(|s| convert(&s))
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    fn cache_children(&self) -> bool {
        // A writable host tree can change under the sandbox.
        self.fs.read_only
    }

    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        self.fs
            .client
            .walk(self.handle, name)
            .map(|e| self.child(e))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut out = Vec::new();
        let mut cookie = 0;
        loop {
            let batch = self.fs.client.getdents(self.handle, cookie, 32 * 1024)?;
            let Some(last) = batch.last() else { break };
            cookie = last.cookie;
            for d in batch {
                if d.name != b"." && d.name != b".." {
                    out.push(DirEntry {
                        name: d.name,
                        ino: d.ino,
                        kind: d.dtype,
                    });
                }
            }
        }
        Ok(out)
    }

    fn create(&self, name: &[u8], mode: u32, _rdev: u64, cred: Cred) -> Result<InodeRef, Errno> {
        self.forget_stat();
        let owner = Owner::new(cred.uid, cred.gid);
        let e = match mode & S_IFMT {
            S_IFREG => {
                self.fs
                    .client
                    .create(self.handle, name, libc::O_RDWR, mode & 0o7777, owner)?
                    .0
            }
            S_IFDIR => self
                .fs
                .client
                .mkdir(self.handle, name, mode & 0o7777, owner)?,
            S_IFIFO | S_IFSOCK => self.fs.client.mknod(self.handle, name, mode, owner)?,
            // Device nodes are never made on the host.
            _ => return Err(Errno::EPERM),
        };
        Ok(self.child(e))
    }

    fn symlink(&self, name: &[u8], target: &[u8], cred: Cred) -> Result<InodeRef, Errno> {
        self.forget_stat();
        self.fs
            .client
            .symlink(self.handle, name, target, Owner::new(cred.uid, cred.gid))
            .map(|e| self.child(e))
    }

    fn link(&self, name: &[u8], target: &InodeRef) -> Result<(), Errno> {
        let t = self.mine(target)?;
        self.forget_stat();
        t.forget_stat();
        self.fs.client.link(self.handle, name, t.handle).map(|_| ())
    }

    fn remove(&self, name: &[u8], dir: bool) -> Result<(), Errno> {
        self.forget_stat();
        self.fs
            .client
            .unlink(self.handle, name, if dir { libc::AT_REMOVEDIR } else { 0 })
    }

    fn rename(&self, old: &[u8], new_dir: &InodeRef, new: &[u8], flags: u32) -> Result<(), Errno> {
        let nd = self.mine(new_dir)?;
        self.forget_stat();
        nd.forget_stat();
        self.fs
            .client
            .rename(self.handle, old, nd.handle, new, flags)
    }

    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        self.fs.client.readlink(self.handle)
    }

    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        self.forget_stat();
        let t = |v: Option<Timespec>| {
            v.map(|t| {
                SetTime::At(gofer::protocol::Timespec {
                    sec: t.sec,
                    nsec: t.nsec as u32,
                })
            })
        };
        let s = SetStat {
            mode: a.mode,
            uid: a.uid,
            gid: a.gid,
            size: a.size,
            atime: t(a.atime),
            mtime: t(a.mtime),
        };
        self.fs.client.setstat(self.handle, &s)
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        let s = self.fs.client.statfs(self.handle)?;
        Ok(StatFs {
            fs_type: s.fs_type,
            bsize: s.bsize,
            blocks: s.blocks,
            bfree: s.bfree,
            bavail: s.bavail,
            files: s.files,
            ffree: s.ffree,
            namelen: s.namelen,
            flags: s.flags,
        })
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        self.forget_stat();
        let acc = (flags & 3) as i32;
        let fd = self.fs.client.open(self.handle, acc)?;
        Ok(Arc::new(GoferFile { fd, inode: self }))
    }
}

/// An open gofer file: I/O on the donated host descriptor at the VFS's offsets.
struct GoferFile {
    fd: OwnedFd,
    inode: Arc<GoferInode>,
}

impl FileOps for GoferFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        host::readv(self.fd.as_raw_fd(), segs, Some(off.unwrap_or(0) as i64)).map(|n| n as usize)
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.inode.forget_stat();
        host::writev(self.fd.as_raw_fd(), segs, Some(off.unwrap_or(0) as i64)).map(|n| n as usize)
    }

    fn size(&self) -> Result<u64, Errno> {
        host::fstat(self.fd.as_raw_fd()).map(|b| super::hostfd::stat_from_host(&b).size)
    }

    fn fsync(&self) -> Result<(), Errno> {
        self.inode.fs.client.fsync(self.inode.handle, false)
    }
}
