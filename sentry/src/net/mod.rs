//! Sockets (DESIGN.md §5 "VFS": sockets are files like pipe ends). AF_UNIX (`unix`) is
//! served wholly inside the sentry with no host sockets; AF_INET and AF_INET6 (`inet`)
//! by host sockets with `--network=host` (`hostnet`) or by the sentry's own loopback
//! with `--network=none` (`loopback`). A socket is a `SocketFile` — the file operations of one open
//! socket, whose drop (the last close) releases its endpoint — on an inode of the socket
//! filesystem (S_IFSOCK, shown as `socket:[INO]` in /proc/PID/fd).

pub mod hostnet;
pub mod inet;
pub mod loopback;
pub mod unix;

pub use inet::Network;
pub use unix::next_ino;

use crate::host::{self, Seg};
use crate::vfs::file::{FileDescription, O_NONBLOCK, O_RDWR};
use crate::vfs::inode::*;
use std::any::Any;
use std::sync::Arc;
use syscalls_table::Errno;
use unix::{Endpoint, Outgoing, RecvFlags, Ucred};

/// The device number sockfs inodes show (an anonymous device, like pipefs's).
const SOCKFS_DEV: u64 = 0x09;
/// SOCKFS_MAGIC, what fstatfs(2) reports for a socket.
const SOCKFS_MAGIC: u64 = 0x534f_434b;
/// FIONREAD (SIOCINQ) and TIOCOUTQ (SIOCOUTQ).
const FIONREAD: u64 = 0x541b;
const TIOCOUTQ: u64 = 0x5411;

/// The file operations of an open socket.
pub struct SocketFile {
    pub ep: Arc<Endpoint>,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        unix::release(&self.ep, false);
    }
}

impl SocketFile {
    /// Whether a failed write with EPIPE raises SIGPIPE: streams do, datagram and
    /// sequenced-packet sockets do not (Linux's unix_dgram_sendmsg sends no signal).
    pub fn epipe_signals(&self) -> bool {
        self.ep.kind == unix::SockType::Stream
    }

    /// write(2) by a task with credentials `own` and status flags `flags`.
    pub fn write_as(&self, segs: &[Seg], flags: u32, own: Ucred) -> Result<usize, Errno> {
        self.ep.send(Outgoing {
            data: segs,
            fds: Vec::new(),
            creds: None,
            own,
            to: None,
            has_addr: false,
            nonblock: flags & O_NONBLOCK != 0,
            oob: false,
            inflight_limit: None,
        })
    }
}

/// A new open socket description for `ep`, owned by (uid, gid).
pub fn socket_file(ep: Arc<Endpoint>, uid: u32, gid: u32, nonblock: bool) -> Arc<FileDescription> {
    let inode = Arc::new(SockInode {
        ino: ep.ino,
        uid,
        gid,
        ctime: Timespec::now(),
    });
    let name = format!("socket:[{}]", ep.ino).into_bytes();
    let flags = O_RDWR | if nonblock { O_NONBLOCK } else { 0 };
    FileDescription::anonymous(Arc::new(SocketFile { ep }), inode, flags, name)
}

impl FileOps for SocketFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.read_flags(segs, off, 0)
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.write_flags(segs, off, 0)
    }

    /// read(2): recv with no flags; a read of nothing returns 0 without looking at the
    /// socket (sock_read_iter). Descriptors that came with the data are closed.
    fn read_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        if host::segs_len(segs) == 0 {
            return Ok(0);
        }
        let f = RecvFlags {
            nonblock: flags & O_NONBLOCK != 0,
            ..Default::default()
        };
        self.ep.recv(segs, f).map(|r| r.n)
    }

    /// write(2) without a task at hand: the data carries no credentials of its writer.
    fn write_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        let nobody = Ucred {
            pid: 0,
            uid: 65534,
            gid: 65534,
        };
        self.write_as(segs, flags, nobody)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self) -> u32 {
        self.ep.poll()
    }

    fn wait_queue(&self) -> Option<Arc<crate::wait::WaitQueue>> {
        Some(self.ep.wq.clone())
    }

    fn ioctl(&self, req: u64) -> Option<IoctlResult> {
        let n = match req {
            FIONREAD => match self.ep.inq() {
                Ok(n) => n,
                Err(e) => return Some(IoctlResult::Err(e)),
            },
            TIOCOUTQ => self.ep.outq(),
            _ => return None,
        };
        Some(IoctlResult::Out((n as i32).to_le_bytes().to_vec()))
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn as_socket(&self) -> Option<&SocketFile> {
        Some(self)
    }
}

/// A socket's inode in the socket filesystem.
pub struct SockInode {
    ino: u64,
    uid: u32,
    gid: u32,
    ctime: Timespec,
}

impl SockInode {
    pub fn new(ino: u64, uid: u32, gid: u32) -> SockInode {
        SockInode {
            ino,
            uid,
            gid,
            ctime: Timespec::now(),
        }
    }
}

impl Inode for SockInode {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.ino,
            mode: S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            blksize: 4096,
            atime: self.ctime,
            mtime: self.ctime,
            ctime: self.ctime,
            ..Default::default()
        })
    }

    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            fs_type: SOCKFS_MAGIC,
            bsize: 4096,
            namelen: 255,
            ..Default::default()
        })
    }

    /// Opening a socket again through /proc/PID/fd fails as on Linux.
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
