//! AF_INET and AF_INET6 sockets: what every implementation gives the socket calls
//! (`InetOps`) and the file of one open socket (`InetFile`). `--network=host` serves
//! them with host sockets (`hostnet`), `--network=none` with the sentry's own loopback
//! (`loopback`). Addresses and option values reach an implementation as bytes the
//! sentry copied; the application's pointers never do.

use crate::host::{self, Seg};
use crate::vfs::file::{FileDescription, O_NONBLOCK, O_RDWR};
use crate::vfs::inode::{FileOps, IoctlResult};
use crate::wait::WaitQueue;
use std::any::Any;
use std::sync::Arc;
use syscalls_table::Errno;

pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 10;

/// Which network the sandbox's AF_INET/AF_INET6 sockets reach (`--network`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Network {
    /// Loopback only, inside the sentry: no host socket is ever made.
    None,
    /// Host sockets made and used by the sentry on the application's behalf.
    #[default]
    Host,
}

/// What one receive produced.
pub struct Recvd {
    pub n: usize,
    /// The sender's address (datagrams; None: none to report).
    pub from: Option<Vec<u8>>,
    /// MSG_TRUNC and the like, for msg_flags.
    pub flags: u32,
}

/// The operations of an AF_INET/AF_INET6 socket. `nonblock` is O_NONBLOCK or
/// MSG_DONTWAIT; blocking ones wait interruptibly (ERESTARTSYS, or EINTR with a
/// SO_RCVTIMEO/SO_SNDTIMEO, whose expiry gives EAGAIN).
pub trait InetOps: Send + Sync {
    /// SOCK_STREAM or SOCK_DGRAM.
    fn sock_type(&self) -> i32;
    /// `privileged`: the caller has CAP_NET_BIND_SERVICE (ports below 1024).
    fn bind(&self, addr: &[u8], privileged: bool) -> Result<(), Errno>;
    fn listen(&self, backlog: i32) -> Result<(), Errno>;
    fn connect(&self, addr: &[u8], nonblock: bool) -> Result<(), Errno>;
    /// The new connection and its peer's address.
    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn InetOps>, Vec<u8>), Errno>;
    fn sockname(&self) -> Result<Vec<u8>, Errno>;
    fn peername(&self) -> Result<Vec<u8>, Errno>;
    fn shutdown(&self, how: i32) -> Result<(), Errno>;
    /// The option's value, at most `len` bytes of it.
    fn getsockopt(&self, level: i32, opt: i32, len: usize) -> Result<Vec<u8>, Errno>;
    /// `read(n)` copies n bytes of the value from the application (EFAULT is its);
    /// `privileged`: the caller has CAP_NET_ADMIN.
    fn setsockopt(
        &self,
        level: i32,
        opt: i32,
        optlen: usize,
        read: &dyn Fn(usize) -> Result<Vec<u8>, Errno>,
        privileged: bool,
    ) -> Result<(), Errno>;
    /// `flags`: the MSG_* flags of the call.
    fn send(
        &self,
        data: &[Seg],
        to: Option<&[u8]>,
        flags: u32,
        nonblock: bool,
    ) -> Result<usize, Errno>;
    fn recv(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<Recvd, Errno>;
    /// The error a send (`send`) or receive gives before it touches the data, for a call
    /// whose buffer is bad: Linux copies late, so a state error wins over EFAULT.
    fn precheck(&self, send: bool, to: Option<&[u8]>, nonblock: bool) -> Result<(), Errno>;
    fn poll(&self) -> u32;
    fn wait_queue(&self) -> Arc<WaitQueue>;
    /// SIOCINQ (`out` false) or SIOCOUTQ.
    fn queued(&self, out: bool) -> Result<usize, Errno>;
}

/// The file of an open AF_INET/AF_INET6 socket.
pub struct InetFile {
    pub ops: Arc<dyn InetOps>,
    /// AF_INET or AF_INET6.
    pub family: i32,
}

/// A new open socket description for `ops`.
pub fn inet_file(
    ops: Arc<dyn InetOps>,
    family: i32,
    uid: u32,
    gid: u32,
    nonblock: bool,
) -> Arc<FileDescription> {
    let ino = super::next_ino();
    let inode = Arc::new(super::SockInode::new(ino, uid, gid));
    let name = format!("socket:[{ino}]").into_bytes();
    let flags = O_RDWR | if nonblock { O_NONBLOCK } else { 0 };
    FileDescription::anonymous(Arc::new(InetFile { ops, family }), inode, flags, name)
}

const FIONREAD: u64 = 0x541b;
const TIOCOUTQ: u64 = 0x5411;

impl FileOps for InetFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.read_flags(segs, off, 0)
    }

    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.write_flags(segs, off, 0)
    }

    /// read(2): recv without flags; a read of nothing returns 0 at once.
    fn read_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        if host::segs_len(segs) == 0 {
            return Ok(0);
        }
        self.ops.recv(segs, 0, flags & O_NONBLOCK != 0).map(|r| r.n)
    }

    fn write_flags(&self, segs: &[Seg], _off: Option<u64>, flags: u32) -> Result<usize, Errno> {
        self.ops.send(segs, None, 0, flags & O_NONBLOCK != 0)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self) -> u32 {
        self.ops.poll()
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.ops.wait_queue())
    }

    fn ioctl(&self, req: u64) -> Option<IoctlResult> {
        let out = match req {
            FIONREAD => false,
            TIOCOUTQ => true,
            _ => return None,
        };
        Some(match self.ops.queued(out) {
            Ok(n) => IoctlResult::Out((n.min(i32::MAX as usize) as i32).to_le_bytes().to_vec()),
            Err(e) => IoctlResult::Err(e),
        })
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

/// The inet socket behind a file, if it is one.
pub fn of(f: &FileDescription) -> Option<&InetFile> {
    f.ops.as_any()?.downcast_ref::<InetFile>()
}
