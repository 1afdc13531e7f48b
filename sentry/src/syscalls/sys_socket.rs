//! Socket calls: socket(2), socketpair(2), bind(2), listen(2), accept(2), accept4(2),
//! connect(2), getsockname(2), getpeername(2), shutdown(2), setsockopt(2),
//! getsockopt(2), sendto(2), sendmsg(2), sendmmsg(2), recvfrom(2), recvmsg(2),
//! recvmmsg(2). They decode and check arguments in Linux's order (net/socket.c), parse
//! socket addresses and control messages, install received descriptors, and leave the
//! socket itself to `net::unix` (AF_UNIX) or `net::inet` (AF_INET, AF_INET6: host sockets
//! or the sentry's loopback, per `--network`). Every other family gets EAFNOSUPPORT, as
//! from a kernel built without it.

use super::sys_rw::{read_iovecs, segments};
use super::{write_u32, write_u64};
use crate::host::{self, Seg};
use crate::net::inet::{self, AF_INET, AF_INET6, InetOps, inet_file};
use crate::net::unix::{
    self, AF_UNIX, AF_UNSPEC, Endpoint, Outgoing, Received, RecvFlags, SockType, Ucred,
};
use crate::net::{Network, SocketFile, socket_file};
use crate::task::Task;
use crate::vfs::file::{FileDescription, O_NONBLOCK};
use crate::vfs::inode::S_IFSOCK;
use std::sync::Arc;
use syscalls_table::Errno;

const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
/// AF_MAX (NPROTO) and SOCK_MAX.
const NPROTO: i32 = 46;
const SOCK_MAX: i32 = 11;
/// SOCK_PACKET: the old packet interface (AF_PACKET with AF_INET).
const SOCK_PACKET: i32 = 10;

const MSG_OOB: u64 = 0x1;
const MSG_PEEK: u64 = 0x2;
const MSG_CTRUNC: u32 = 0x8;
const MSG_TRUNC: u64 = 0x20;
const MSG_DONTWAIT: u64 = 0x40;
const MSG_WAITALL: u64 = 0x100;
const MSG_ERRQUEUE: u64 = 0x2000;
const MSG_NOSIGNAL: u64 = 0x4000;
const MSG_WAITFORONE: u64 = 0x10000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const MSG_CMSG_COMPAT: u64 = 0x8000_0000;

const SOL_SOCKET: i32 = 1;
const SCM_RIGHTS: i32 = 1;
const SCM_CREDENTIALS: i32 = 2;
/// sizeof(struct sockaddr_storage), sizeof(struct sockaddr_un).
const SOCKADDR_STORAGE: usize = 128;
const SOCKADDR_UN: usize = 110;
/// sizeof(struct cmsghdr).
const CMSGHDR: usize = 16;
/// net.core.optmem_max: the largest control buffer sendmsg takes.
const OPTMEM_MAX: u64 = 131072;
const UIO_MAXIOV: u64 = 1024;
const MAX_RW_COUNT: u64 = 0x7fff_f000;

fn cmsg_align(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The socket behind descriptor `fd`: EBADF for no descriptor (or an O_PATH one),
/// ENOTSOCK for another file.
fn socket_of(t: &Task, fd: u64) -> Result<(Arc<FileDescription>, Arc<Endpoint>), Errno> {
    let f = t.fds().get(fd as u32 as u64)?;
    // Socket calls do not see O_PATH descriptors at all (fdget).
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let ep = f
        .ops
        .as_socket()
        .map(|s| s.ep.clone())
        .ok_or(Errno::ENOTSOCK)?;
    Ok((f, ep))
}

fn read_i32(t: &Task, addr: u64) -> Result<i32, Errno> {
    let mut b = [0u8; 4];
    t.mm.copy_in(addr, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

/// move_addr_to_kernel: EINVAL outside [0, sizeof(sockaddr_storage)], EFAULT.
fn read_sockaddr(t: &Task, addr: u64, len: i32) -> Result<Vec<u8>, Errno> {
    if !(0..=SOCKADDR_STORAGE as i32).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    if len > 0 {
        t.mm.copy_in(addr, &mut b)?;
    }
    Ok(b)
}

/// move_addr_to_user: copies as much of `kaddr` as the caller's length allows and
/// stores the full length.
fn write_sockaddr(t: &Task, addr: u64, lenp: u64, kaddr: &[u8]) -> Result<(), Errno> {
    let len = read_i32(t, lenp)?.min(kaddr.len() as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if len > 0 {
        t.mm.copy_out(addr, &kaddr[..len as usize])?;
    }
    write_u32(t, lenp, kaddr.len() as u32)
}

fn family(addr: &[u8]) -> u16 {
    u16::from_le_bytes([addr[0], addr[1]])
}

/// The address an unbound socket reports: just the family.
fn unnamed() -> Vec<u8> {
    AF_UNIX.to_le_bytes().to_vec()
}

enum UnixName {
    /// A filesystem path (up to the first NUL).
    Path(Vec<u8>),
    /// An abstract name: the sun_path bytes given, leading NUL included.
    Abstract(Vec<u8>),
}

/// unix_validate_addr and the name in it.
fn unix_name(addr: &[u8]) -> Result<UnixName, Errno> {
    if addr.len() <= 2 || addr.len() > SOCKADDR_UN || family(addr) != AF_UNIX {
        return Err(Errno::EINVAL);
    }
    let p = &addr[2..];
    Ok(if p[0] != 0 {
        let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
        UnixName::Path(p[..end].to_vec())
    } else {
        UnixName::Abstract(p.to_vec())
    })
}

/// Credentials SO_PEERCRED reports for the caller (effective ids).
fn peer_cred(t: &Task) -> Ucred {
    Ucred {
        pid: t.tgid,
        uid: t.creds.uid,
        gid: t.creds.gid,
    }
}

/// Credentials SCM_CREDENTIALS carries by default (real ids).
fn own_cred(t: &Task) -> Ucred {
    Ucred {
        pid: t.tgid,
        uid: t.creds.ruid,
        gid: t.creds.rgid,
    }
}

/// The socket bound to `name` that a socket of `kind` may reach: ECONNREFUSED when none
/// is (or the path is no socket), EACCES without write permission on the socket file,
/// EPROTOTYPE for another socket type.
fn lookup(t: &Task, name: &UnixName, kind: SockType) -> Result<Arc<Endpoint>, Errno> {
    match name {
        UnixName::Abstract(n) => t.k.unix.find_abstract(kind, n).ok_or(Errno::ECONNREFUSED),
        UnixName::Path(p) => {
            let ctx = t.fs();
            let creds = t.vcreds();
            let node = t.k.vfs.resolve(&ctx, creds, &ctx.cwd, p, true)?;
            let st = node.stat()?;
            if !crate::vfs::permitted(&st, creds, crate::vfs::MAY_WRITE) {
                return Err(Errno::EACCES);
            }
            if st.file_type() != S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            let ep =
                t.k.unix
                    .find_path((st.dev, st.ino))
                    .ok_or(Errno::ECONNREFUSED)?;
            if ep.kind != kind {
                return Err(Errno::EPROTOTYPE);
            }
            Ok(ep)
        }
    }
}

/// The type and SOCK_* flags of socket(2)/socketpair(2), checked in Linux's order.
fn socket_args(family: i32, ty: i32, protocol: i32) -> Result<(SockType, u64), Errno> {
    let flags = (ty & !0xf) as u32 as u64;
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if !(0..NPROTO).contains(&family) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let ty = ty & 0xf;
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if family != AF_UNIX as i32 {
        return Err(Errno::EAFNOSUPPORT);
    }
    if protocol != 0 && protocol != AF_UNIX as i32 {
        return Err(Errno::EPROTONOSUPPORT);
    }
    let kind = match ty {
        libc::SOCK_STREAM => SockType::Stream,
        // SOCK_RAW is taken as SOCK_DGRAM, as Linux does for AF_UNIX.
        libc::SOCK_DGRAM | libc::SOCK_RAW => SockType::Dgram,
        libc::SOCK_SEQPACKET => SockType::Seqpacket,
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    Ok((kind, flags))
}

fn new_file(t: &Task, ep: Arc<Endpoint>, nonblock: bool) -> Arc<FileDescription> {
    socket_file(ep, t.creds.fsuid, t.creds.fsgid, nonblock)
}

fn install(t: &Task, f: Arc<FileDescription>, cloexec: bool) -> Result<u64, Errno> {
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(f, 0, cloexec, lim)
}

/// socket(2).
pub fn socket(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((ops, family, flags)) = inet_socket(t, a[0] as i32, a[1] as i32, a[2] as i32)? {
        let f = inet_file(
            ops,
            family,
            t.creds.fsuid,
            t.creds.fsgid,
            flags & SOCK_NONBLOCK != 0,
        );
        return install(t, f, flags & SOCK_CLOEXEC != 0);
    }
    let (kind, flags) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32)?;
    let ep = Endpoint::new(&t.k.unix, kind);
    let f = new_file(t, ep, flags & SOCK_NONBLOCK != 0);
    install(t, f, flags & SOCK_CLOEXEC != 0)
}

/// socketpair(2).
pub fn socketpair(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    // AF_INET and AF_INET6 make the socket, then find it has no pairs.
    if inet_socket(t, a[0] as i32, a[1] as i32, a[2] as i32)?.is_some() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (kind, flags) = socket_args(a[0] as i32, a[1] as i32, a[2] as i32)?;
    let (x, y) = Endpoint::pair(&t.k.unix, kind, peer_cred(t));
    let nonblock = flags & SOCK_NONBLOCK != 0;
    let cloexec = flags & SOCK_CLOEXEC != 0;
    let (fx, fy) = (new_file(t, x, nonblock), new_file(t, y, nonblock));
    let d1 = install(t, fx, cloexec)?;
    let d2 = match install(t, fy, cloexec) {
        Ok(d) => d,
        Err(e) => {
            let _ = t.fds().close(d1);
            return Err(e);
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(d1 as i32).to_le_bytes());
    out[4..].copy_from_slice(&(d2 as i32).to_le_bytes());
    if let Err(e) = t.mm.copy_out(a[3], &out) {
        let _ = t.fds().close(d1);
        let _ = t.fds().close(d2);
        return Err(e);
    }
    Ok(0)
}

/// bind(2): a filesystem path (a new S_IFSOCK node; EADDRINUSE if the name exists), an
/// abstract name, or with only the family an automatic abstract name.
pub fn bind(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        let addr = read_sockaddr(t, a[1], a[2] as i32)?;
        return s.bind(&addr, t.creds.uid == 0).map(|_| 0);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let addr = read_sockaddr(t, a[1], a[2] as i32)?;
    if addr.len() == 2 && family(&addr) == AF_UNIX {
        return ep.autobind().map(|_| 0);
    }
    match unix_name(&addr)? {
        UnixName::Abstract(_) => ep.bind_abstract(addr).map(|_| 0),
        UnixName::Path(p) => bind_path(t, &ep, &p).map(|_| 0),
    }
}

fn bind_path(t: &Task, ep: &Endpoint, path: &[u8]) -> Result<(), Errno> {
    let in_use = |e: Errno| {
        if e == Errno::EEXIST {
            Errno::EADDRINUSE
        } else {
            e
        }
    };
    let (dir, name) = super::sys_file::new_name(t, -100i64 as u64, path, false).map_err(in_use)?;
    let mode = S_IFSOCK | (0o777 & !t.fs().umask);
    let creds = t.vcreds();
    let node =
        t.k.vfs
            .create(&dir, &name, mode, 0, creds)
            .map_err(in_use)?;
    let st = node.stat()?;
    let mut addr = unnamed();
    addr.extend_from_slice(path);
    addr.push(0);
    if let Err(e) = ep.bind_path(addr, (st.dev, st.ino)) {
        let _ = t.k.vfs.remove(&dir, &name, false, creds);
        return Err(e);
    }
    Ok(())
}

/// listen(2): the backlog is capped at somaxconn (a negative one too, as unsigned).
pub fn listen(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        return s.listen(a[1] as i32).map(|_| 0);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let backlog = (a[1] as i32 as u32).min(unix::SOMAXCONN);
    ep.listen(backlog, peer_cred(t)).map(|_| 0)
}

/// connect(2).
pub fn connect(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((f, s)) = inet_of(t, a[0])? {
        let addr = read_sockaddr(t, a[1], a[2] as i32)?;
        return s.connect(&addr, f.flags() & O_NONBLOCK != 0).map(|_| 0);
    }
    let (f, ep) = socket_of(t, a[0])?;
    let addr = read_sockaddr(t, a[1], a[2] as i32)?;
    if ep.kind == SockType::Dgram {
        if addr.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if family(&addr) == AF_UNSPEC {
            return ep.connect_dgram(None).map(|_| 0);
        }
    }
    let name = unix_name(&addr)?;
    if ep.passcred() {
        ep.autobind()?;
    }
    let target = lookup(t, &name, ep.kind)?;
    if ep.kind == SockType::Dgram {
        return ep.connect_dgram(Some(&target)).map(|_| 0);
    }
    let nonblock = f.flags() & O_NONBLOCK != 0;
    ep.connect(&target, nonblock, peer_cred(t)).map(|_| 0)
}

/// accept(2).
pub fn accept(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_accept(t, a[0], a[1], a[2], 0)
}

/// accept4(2): SOCK_NONBLOCK and SOCK_CLOEXEC for the new descriptor.
pub fn accept4(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_accept(t, a[0], a[1], a[2], a[3] as u32 as u64)
}

fn do_accept(t: &mut Task, fd: u64, addr: u64, lenp: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((f, s)) = inet_of(t, fd)? {
        let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
        t.fds().free_slot(0, lim)?;
        let family = inet::of(&f).map_or(AF_INET, |i| i.family);
        let (ops, peer) = s.accept(f.flags() & O_NONBLOCK != 0)?;
        let nf = inet_file(
            ops,
            family,
            t.creds.fsuid,
            t.creds.fsgid,
            flags & SOCK_NONBLOCK != 0,
        );
        if addr != 0 {
            write_sockaddr(t, addr, lenp, &peer)?;
        }
        return install(t, nf, flags & SOCK_CLOEXEC != 0);
    }
    let (f, ep) = socket_of(t, fd)?;
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().free_slot(0, lim)?;
    let e = ep.accept(f.flags() & O_NONBLOCK != 0)?;
    let peer = e.peer_addr().ok().flatten().unwrap_or_else(unnamed);
    let nf = new_file(t, e, flags & SOCK_NONBLOCK != 0);
    if addr != 0 {
        // A bad address buffer loses the connection, as on Linux.
        write_sockaddr(t, addr, lenp, &peer)?;
    }
    install(t, nf, flags & SOCK_CLOEXEC != 0)
}

/// getsockname(2).
pub fn getsockname(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        let name = s.sockname()?;
        return write_sockaddr(t, a[1], a[2], &name).map(|_| 0);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let name = ep.addr().unwrap_or_else(unnamed);
    write_sockaddr(t, a[1], a[2], &name).map(|_| 0)
}

/// getpeername(2).
pub fn getpeername(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        let name = s.peername()?;
        return write_sockaddr(t, a[1], a[2], &name).map(|_| 0);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let name = ep.peer_addr()?.unwrap_or_else(unnamed);
    write_sockaddr(t, a[1], a[2], &name).map(|_| 0)
}

/// shutdown(2).
pub fn shutdown(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        return s.shutdown(a[1] as i32).map(|_| 0);
    }
    let (_, ep) = socket_of(t, a[0])?;
    ep.shutdown(a[1] as i32).map(|_| 0)
}

/// setsockopt(2): SOL_SOCKET options only (other levels: EOPNOTSUPP, as AF_UNIX has no
/// protocol options).
pub fn setsockopt(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        return inet_setsockopt(t, &s, a);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let (level, opt, val, len) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    let mm = t.mm.clone();
    let read = move |n: usize| -> Result<Vec<u8>, Errno> {
        let mut b = vec![0u8; n];
        mm.copy_in(val, &mut b)?;
        Ok(b)
    };
    ep.setsockopt(opt, len as usize, &read, t.creds.uid == 0)
        .map(|_| 0)
}

/// getsockopt(2): copies as much of the value as the caller's length allows.
pub fn getsockopt(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((_, s)) = inet_of(t, a[0])? {
        return inet_getsockopt(t, &s, a);
    }
    let (_, ep) = socket_of(t, a[0])?;
    let (level, opt, val, lenp) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    if level != SOL_SOCKET {
        return Err(Errno::EOPNOTSUPP);
    }
    let len = read_i32(t, lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v = ep.getsockopt(opt)?;
    let n = (len as usize).min(v.len());
    if n > 0 {
        t.mm.copy_out(val, &v[..n])?;
    }
    write_u32(t, lenp, n as u32).map(|_| 0)
}

// ---- sending ----

/// What a send carries, as read from the caller.
struct MsgOut {
    iov: Vec<(u64, u64)>,
    name: Option<Vec<u8>>,
    control: Vec<u8>,
}

/// struct user_msghdr.
struct MsgHdr {
    name: u64,
    namelen: i32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

fn read_msghdr(t: &Task, addr: u64) -> Result<MsgHdr, Errno> {
    let mut b = [0u8; 56];
    t.mm.copy_in(addr, &mut b)?;
    let q = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
    let mut h = MsgHdr {
        name: q(0),
        namelen: i32::from_le_bytes(b[8..12].try_into().unwrap_or_default()),
        iov: q(16),
        iovlen: q(24),
        control: q(32),
        controllen: q(40),
    };
    // __copy_msghdr: no name, no length; a negative one is refused; a long one clamped.
    if h.name == 0 {
        h.namelen = 0;
    }
    if h.namelen < 0 {
        return Err(Errno::EINVAL);
    }
    h.namelen = h.namelen.min(SOCKADDR_STORAGE as i32);
    Ok(h)
}

/// The name, iovecs and control buffer of a sendmsg header, checked in Linux's order.
fn read_msg_out(t: &Task, h: &MsgHdr) -> Result<MsgOut, Errno> {
    let name = if h.name != 0 && h.namelen > 0 {
        Some(read_sockaddr(t, h.name, h.namelen)?)
    } else {
        None
    };
    if h.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(t, h.iov, h.iovlen)?;
    if h.controllen > i32::MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let mut control = Vec::new();
    if h.controllen > 0 {
        if h.controllen >= OPTMEM_MAX {
            return Err(Errno::ENOBUFS);
        }
        control = vec![0u8; h.controllen as usize];
        t.mm.copy_in(h.control, &mut control)?;
    }
    Ok(MsgOut { iov, name, control })
}

/// SCM_RIGHTS and SCM_CREDENTIALS of a control buffer (__scm_send).
#[derive(Default)]
struct Control {
    fds: Vec<Arc<FileDescription>>,
    creds: Option<Ucred>,
}

fn parse_control(t: &Task, ctl: &[u8]) -> Result<Control, Errno> {
    let mut out = Control::default();
    let mut off = 0usize;
    while off + CMSGHDR <= ctl.len() {
        let len = u64::from_le_bytes(ctl[off..off + 8].try_into().unwrap_or_default());
        let level = i32::from_le_bytes(ctl[off + 8..off + 12].try_into().unwrap_or_default());
        let ty = i32::from_le_bytes(ctl[off + 12..off + 16].try_into().unwrap_or_default());
        if len < CMSGHDR as u64 || len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        let data = &ctl[off + CMSGHDR..off + len];
        if level == SOL_SOCKET {
            match ty {
                SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if n > 0 {
                        if out.fds.len() + n > unix::SCM_MAX_FD {
                            return Err(Errno::EINVAL);
                        }
                        let fds = t.fds();
                        for c in data.chunks_exact(4).take(n) {
                            let fd = i32::from_le_bytes(c.try_into().unwrap_or_default());
                            if fd < 0 {
                                return Err(Errno::EBADF);
                            }
                            out.fds.push(fds.get(fd as u64)?);
                        }
                    }
                }
                SCM_CREDENTIALS => {
                    if len != CMSGHDR + 12 {
                        return Err(Errno::EINVAL);
                    }
                    let c = Ucred {
                        pid: i32::from_le_bytes(data[0..4].try_into().unwrap_or_default()),
                        uid: u32::from_le_bytes(data[4..8].try_into().unwrap_or_default()),
                        gid: u32::from_le_bytes(data[8..12].try_into().unwrap_or_default()),
                    };
                    check_creds(t, c)?;
                    out.creds = Some(c);
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        off += cmsg_align(len);
    }
    Ok(out)
}

/// scm_check_creds: ids must be valid (EINVAL); without privilege the pid must be the
/// caller's and the ids among its real, effective and saved ones (EPERM); the pid must
/// exist (ESRCH).
fn check_creds(t: &Task, c: Ucred) -> Result<(), Errno> {
    if c.uid == u32::MAX || c.gid == u32::MAX {
        return Err(Errno::EINVAL);
    }
    let privileged = t.creds.uid == 0;
    let cr = &t.creds;
    let pid_ok = c.pid == t.tgid || privileged;
    let uid_ok = [cr.ruid, cr.uid, cr.suid].contains(&c.uid) || privileged;
    let gid_ok = [cr.rgid, cr.gid, cr.sgid].contains(&c.gid) || privileged;
    if !(pid_ok && uid_ok && gid_ok) {
        return Err(Errno::EPERM);
    }
    let tree = t.tree();
    if c.pid <= 0 || !(tree.tasks.contains_key(&c.pid) || tree.groups.contains_key(&c.pid)) {
        return Err(Errno::ESRCH);
    }
    Ok(())
}

/// One send: returns (bytes sent, bytes asked). Raises SIGPIPE for a stream's EPIPE
/// unless MSG_NOSIGNAL.
fn send_one(
    t: &mut Task,
    f: &FileDescription,
    ep: &Arc<Endpoint>,
    m: MsgOut,
    flags: u64,
) -> Result<(usize, usize), Errno> {
    let r = send_inner(t, f, ep, m, flags);
    if r == Err(Errno::EPIPE) && ep.kind == SockType::Stream && flags & MSG_NOSIGNAL == 0 {
        t.kernel_signal(libc::SIGPIPE);
    }
    r
}

fn send_inner(
    t: &Task,
    f: &FileDescription,
    ep: &Arc<Endpoint>,
    m: MsgOut,
    flags: u64,
) -> Result<(usize, usize), Errno> {
    ep.send_precheck()?;
    let ctl = parse_control(t, &m.control)?;
    let asked: u64 = m.iov.iter().map(|r| r.1).sum::<u64>().min(MAX_RW_COUNT);
    // unix_dgram_sendmsg's order: MSG_OOB, the name (or a peer), the size, then (after
    // the buffer is taken) the lookup of the name.
    let mut name = None;
    if ep.kind != SockType::Stream && flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if ep.kind == SockType::Dgram {
        match &m.name {
            Some(n) => name = Some(unix_name(n)?),
            None if !ep.has_peer() => return Err(Errno::ENOTCONN),
            None => {}
        }
    }
    // A datagram that can never fit is refused before its data is looked at.
    if ep.kind != SockType::Stream && asked as usize + 32 > ep.sndbuf() {
        return Err(Errno::EMSGSIZE);
    }
    let to = match name {
        Some(n) => Some(lookup(t, &n, SockType::Dgram)?),
        None => None,
    };
    let segs = segments(t, &m.iov, false)?;
    if ep.kind != SockType::Stream && (host::segs_len(&segs) as u64) < asked {
        return Err(Errno::EFAULT);
    }
    let limit = t.rlimit(libc::RLIMIT_NOFILE as usize);
    let n = ep.send(Outgoing {
        data: &segs,
        fds: ctl.fds,
        creds: ctl.creds,
        own: own_cred(t),
        to,
        has_addr: m.name.is_some(),
        nonblock: flags & MSG_DONTWAIT != 0 || f.flags() & O_NONBLOCK != 0,
        oob: flags & MSG_OOB != 0,
        inflight_limit: (t.creds.uid != 0).then_some(limit),
    })?;
    Ok((n, asked as usize))
}

/// write(2), writev(2) and friends on a socket (sys_rw routes them here so the data
/// carries the writer's credentials).
pub(crate) fn write_socket(
    t: &Task,
    f: &FileDescription,
    s: &SocketFile,
    segs: &[Seg],
) -> Result<usize, Errno> {
    s.write_as(segs, f.flags(), own_cred(t))
}

/// sendto(2).
pub fn sendto(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((f, s)) = inet_of(t, a[0])? {
        let name = if a[4] != 0 {
            Some(read_sockaddr(t, a[4], a[5] as i32)?)
        } else {
            None
        };
        let m = MsgOut {
            iov: vec![(a[1], a[2].min(MAX_RW_COUNT))],
            name,
            control: Vec::new(),
        };
        return inet_send(t, &f, &s, m, a[3] as u32 as u64).map(|r| r.0 as u64);
    }
    let (f, ep) = socket_of(t, a[0])?;
    let name = if a[4] != 0 {
        Some(read_sockaddr(t, a[4], a[5] as i32)?)
    } else {
        None
    };
    let m = MsgOut {
        iov: vec![(a[1], a[2].min(MAX_RW_COUNT))],
        name,
        control: Vec::new(),
    };
    send_one(t, &f, &ep, m, a[3]).map(|r| r.0 as u64)
}

/// sendmsg(2).
pub fn sendmsg(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[2] as u32 as u64;
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((f, s)) = inet_of(t, a[0])? {
        let h = read_msghdr(t, a[1])?;
        let m = read_msg_out(t, &h)?;
        return inet_send(t, &f, &s, m, flags).map(|r| r.0 as u64);
    }
    let (f, ep) = socket_of(t, a[0])?;
    let h = read_msghdr(t, a[1])?;
    let m = read_msg_out(t, &h)?;
    send_one(t, &f, &ep, m, flags).map(|r| r.0 as u64)
}

/// sendmmsg(2): stops at the first error (reported only if nothing was sent) or at a
/// partial send.
pub fn sendmmsg(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[3] as u32 as u64;
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let inet = inet_of(t, a[0])?;
    let (f, ep) = match &inet {
        Some((f, _)) => (f.clone(), None),
        None => {
            let (f, ep) = socket_of(t, a[0])?;
            (f, Some(ep))
        }
    };
    let vlen = (a[2] as u32 as u64).min(UIO_MAXIOV);
    let mut done = 0u64;
    let mut err = None;
    while done < vlen {
        let entry = a[1].wrapping_add(done * 64);
        let r = read_msghdr(t, entry)
            .and_then(|h| read_msg_out(t, &h))
            .and_then(|m| match (&ep, &inet) {
                (Some(ep), _) => send_one(t, &f, ep, m, flags),
                (None, Some((_, s))) => inet_send(t, &f, s, m, flags),
                (None, None) => Err(Errno::ENOTSOCK),
            });
        let (sent, asked) = match r {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        if let Err(e) = write_u32(t, entry + 56, sent as u32) {
            err = Some(e);
            break;
        }
        done += 1;
        if sent < asked {
            break;
        }
    }
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done),
    }
}

// ---- receiving ----

fn recv_flags(f: &FileDescription, flags: u64, want_addr: bool) -> RecvFlags {
    RecvFlags {
        peek: flags & MSG_PEEK != 0,
        waitall: flags & MSG_WAITALL != 0,
        trunc: flags & MSG_TRUNC != 0,
        oob: flags & MSG_OOB != 0,
        nonblock: flags & MSG_DONTWAIT != 0 || f.flags() & O_NONBLOCK != 0,
        want_addr,
    }
}

fn recv_into(
    t: &Task,
    f: &FileDescription,
    ep: &Arc<Endpoint>,
    iov: &[(u64, u64)],
    flags: u64,
    want_addr: bool,
) -> Result<Received, Errno> {
    let segs = segments(t, iov, true)?;
    let asked: u64 = iov.iter().map(|r| r.1).sum::<u64>().min(MAX_RW_COUNT);
    if ep.kind != SockType::Stream && (host::segs_len(&segs) as u64) < asked {
        return Err(Errno::EFAULT);
    }
    ep.recv(&segs, recv_flags(f, flags, want_addr))
}

/// recvfrom(2): descriptors that came with the data are closed.
pub fn recvfrom(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some((f, s)) = inet_of(t, a[0])? {
        let flags = a[3] as u32 as u64;
        let r = inet_recv(t, &f, &s, &[(a[1], a[2].min(MAX_RW_COUNT))], flags)?;
        if a[4] != 0 {
            write_sockaddr(t, a[4], a[5], r.from.as_deref().unwrap_or(&[]))?;
        }
        return Ok(r.n as u64);
    }
    let (f, ep) = socket_of(t, a[0])?;
    let flags = a[3] as u32 as u64;
    let r = recv_into(
        t,
        &f,
        &ep,
        &[(a[1], a[2].min(MAX_RW_COUNT))],
        flags,
        a[4] != 0,
    )?;
    if a[4] != 0 {
        write_sockaddr(t, a[4], a[5], r.from.as_deref().unwrap_or(&[]))?;
    }
    Ok(r.n as u64)
}

/// Writes the control messages of a receive to the caller's buffer (scm_recv): the
/// credentials, then the descriptors, installed as they fit; what does not fit sets
/// MSG_CTRUNC (descriptors that do not fit are closed). Returns the bytes used.
struct CtlOut {
    addr: u64,
    left: u64,
    used: u64,
}

impl CtlOut {
    fn advance(&mut self, n: u64) {
        let n = n.min(self.left);
        self.addr = self.addr.wrapping_add(n);
        self.left -= n;
        self.used += n;
    }

    /// put_cmsg.
    fn put(&mut self, t: &Task, ty: i32, data: &[u8], flags: &mut u32) {
        if self.left < CMSGHDR as u64 {
            *flags |= MSG_CTRUNC;
            return;
        }
        let mut cmlen = (CMSGHDR + data.len()) as u64;
        if self.left < cmlen {
            *flags |= MSG_CTRUNC;
            cmlen = self.left;
        }
        let mut b = Vec::with_capacity(cmlen as usize);
        b.extend_from_slice(&cmlen.to_le_bytes());
        b.extend_from_slice(&SOL_SOCKET.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&data[..cmlen as usize - CMSGHDR]);
        if t.mm.copy_out(self.addr, &b).is_err() {
            return;
        }
        self.advance((CMSGHDR + cmsg_align(data.len())) as u64);
    }

    /// scm_detach_fds.
    fn put_fds(
        &mut self,
        t: &Task,
        fds: Vec<Arc<FileDescription>>,
        cloexec: bool,
        flags: &mut u32,
    ) {
        let room = if self.left > CMSGHDR as u64 {
            ((self.left - CMSGHDR as u64) / 4) as usize
        } else {
            0
        };
        let max = room.min(fds.len());
        let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
        let mut given = 0usize;
        let count = fds.len();
        for (i, file) in fds.into_iter().enumerate().take(max) {
            let Ok(fd) = t.fds().install(file, 0, cloexec, lim) else {
                break;
            };
            let at = self.addr.wrapping_add((CMSGHDR + 4 * i) as u64);
            if write_u32(t, at, fd as u32).is_err() {
                let _ = t.fds().close(fd);
                break;
            }
            given += 1;
        }
        if given > 0 {
            let cmlen = (CMSGHDR + 4 * given) as u64;
            let mut h = cmlen.to_le_bytes().to_vec();
            h.extend_from_slice(&SOL_SOCKET.to_le_bytes());
            h.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
            if t.mm.copy_out(self.addr, &h).is_ok() {
                self.advance((CMSGHDR + cmsg_align(4 * given)) as u64);
            }
        }
        if given < count {
            *flags |= MSG_CTRUNC;
        }
    }
}

/// One recvmsg into the header at `hdr`; returns the byte count and the flags reported.
fn recvmsg_one(
    t: &mut Task,
    f: &FileDescription,
    ep: &Arc<Endpoint>,
    hdr: u64,
    flags: u64,
) -> Result<(usize, u32), Errno> {
    let h = read_msghdr(t, hdr)?;
    if h.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(t, h.iov, h.iovlen)?;
    let r = recv_into(t, f, ep, &iov, flags, h.name != 0)?;
    let mut mflags = (flags & MSG_CMSG_CLOEXEC) as u32;
    if r.trunc {
        mflags |= MSG_TRUNC as u32;
    }
    let mut ctl = CtlOut {
        addr: h.control,
        left: h.controllen.min(i32::MAX as u64),
        used: 0,
    };
    if let Some(c) = r.creds {
        ctl.put(t, SCM_CREDENTIALS, &c.to_bytes(), &mut mflags);
    }
    if !r.fds.is_empty() {
        ctl.put_fds(t, r.fds, flags & MSG_CMSG_CLOEXEC != 0, &mut mflags);
    }
    if h.name != 0 {
        write_sockaddr(t, h.name, hdr + 8, r.from.as_deref().unwrap_or(&[]))?;
    }
    write_u32(t, hdr + 48, mflags)?;
    write_u64(t, hdr + 40, ctl.used)?;
    Ok((r.n, mflags))
}

/// recvmsg(2).
pub fn recvmsg(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[2] as u32 as u64;
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    if let Some((f, s)) = inet_of(t, a[0])? {
        return inet_recvmsg(t, &f, &s, a[1], flags).map(|r| r.0 as u64);
    }
    let (f, ep) = socket_of(t, a[0])?;
    recvmsg_one(t, &f, &ep, a[1], flags).map(|r| r.0 as u64)
}

/// recvmmsg(2): a pending socket error first; MSG_WAITFORONE stops waiting after the
/// first message; the timeout is looked at between messages (as Linux does) and the
/// time left is written back. An error after some messages is kept for the next call.
pub fn recvmmsg(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mut flags = a[3] as u32 as u64;
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let end = if a[4] != 0 {
        let ts = super::sys_time::read_timespec(t, a[4])?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(Errno::EINVAL);
        }
        let d = std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        Some(std::time::Instant::now().checked_add(d))
    } else {
        None
    };
    let inet = inet_of(t, a[0])?;
    let (f, ep) = match &inet {
        Some((f, _)) => (f.clone(), None),
        None => {
            let (f, ep) = socket_of(t, a[0])?;
            (f, Some(ep))
        }
    };
    if flags & MSG_ERRQUEUE == 0
        && let Some(e) = ep.as_ref().and_then(|ep| ep.take_error())
    {
        return Err(e);
    }
    let vlen = (a[2] as u32 as u64).min(UIO_MAXIOV);
    let mut done = 0u64;
    let mut err = None;
    let mut left = None;
    while done < vlen {
        let entry = a[1].wrapping_add(done * 64);
        let one = match (&ep, &inet) {
            (Some(ep), _) => recvmsg_one(t, &f, ep, entry, flags & !MSG_WAITFORONE),
            (None, Some((_, s))) => inet_recvmsg(t, &f, s, entry, flags & !MSG_WAITFORONE),
            (None, None) => Err(Errno::ENOTSOCK),
        };
        let (n, mflags) = match one {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        if let Err(e) = write_u32(t, entry + 56, n as u32) {
            err = Some(e);
            break;
        }
        done += 1;
        if flags & MSG_WAITFORONE != 0 {
            flags |= MSG_DONTWAIT;
        }
        if let Some(end) = end {
            let rem = end
                .map(|e| e.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or(std::time::Duration::MAX);
            left = Some(rem);
            if rem.is_zero() {
                break;
            }
        }
        if mflags as u64 & MSG_OOB != 0 {
            break;
        }
    }
    if let Some(e) = err {
        if done == 0 {
            return Err(e);
        }
        if e != Errno::EAGAIN
            && !matches!(e, Errno::ERESTARTSYS)
            && let Some(ep) = &ep
        {
            ep.set_error(e);
        }
    }
    if done > 0
        && let Some(rem) = left
    {
        let secs = rem.as_secs().min(i64::MAX as u64);
        let mut b = secs.to_le_bytes().to_vec();
        b.extend_from_slice(&(rem.subsec_nanos() as u64).to_le_bytes());
        t.mm.copy_out(a[4], &b)?;
    }
    Ok(done)
}

// ---- AF_INET and AF_INET6 ----

/// An open inet socket: its description and its operations.
type InetSock = (Arc<FileDescription>, Arc<dyn InetOps>);

/// A new inet socket's operations, family and SOCK_* flags.
type NewInet = (Arc<dyn InetOps>, i32, u64);

/// The inet socket behind `fd`, if it is one (EBADF as `socket_of`).
fn inet_of(t: &Task, fd: u64) -> Result<Option<InetSock>, Errno> {
    let f = t.fds().get(fd as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let ops = inet::of(&f).map(|i| i.ops.clone());
    Ok(ops.map(|o| (f, o)))
}

/// socket(2) for AF_INET and AF_INET6 (None: another family), checked as inet_create
/// and inet6_create do: raw and packet sockets need CAP_NET_RAW, which the sandbox
/// never gives (EPERM); ping sockets are outside the default ping_group_range (EACCES).
fn inet_socket(t: &Task, family: i32, ty: i32, protocol: i32) -> Result<Option<NewInet>, Errno> {
    if family != AF_INET && family != AF_INET6 {
        return Ok(None);
    }
    let flags = (ty & !0xf) as u32 as u64;
    if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let ty = ty & 0xf;
    if ty >= SOCK_MAX {
        return Err(Errno::EINVAL);
    }
    if family == AF_INET && ty == SOCK_PACKET {
        return Err(Errno::EPERM);
    }
    if !(0..256).contains(&protocol) {
        return Err(Errno::EINVAL);
    }
    const TCP: i32 = 6;
    const UDP: i32 = 17;
    const ICMP: i32 = 1;
    match ty {
        libc::SOCK_STREAM if protocol == 0 || protocol == TCP => {}
        libc::SOCK_DGRAM if protocol == 0 || protocol == UDP => {}
        libc::SOCK_DGRAM if protocol == ICMP && family == AF_INET => return Err(Errno::EACCES),
        libc::SOCK_STREAM | libc::SOCK_DGRAM => return Err(Errno::EPROTONOSUPPORT),
        libc::SOCK_RAW if protocol == 0 => return Err(Errno::EPROTONOSUPPORT),
        libc::SOCK_RAW => return Err(Errno::EPERM),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    }
    let ops: Arc<dyn InetOps> = match t.k.network {
        Network::Host => crate::net::hostnet::HostSock::new(family, ty, protocol)?,
        Network::None => crate::net::loopback::LoopSock::new(&t.k.loopback, family, ty),
    };
    Ok(Some((ops, family, flags)))
}

/// The largest option value read from the application.
const MAX_OPTLEN: usize = 256;

fn inet_setsockopt(t: &Task, s: &Arc<dyn InetOps>, a: &[u64; 6]) -> Result<u64, Errno> {
    let (level, opt, val, len) = (a[1] as i32, a[2] as i32, a[3], a[4] as i32);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm.clone();
    let read = move |n: usize| -> Result<Vec<u8>, Errno> {
        let mut b = vec![0u8; n.min(MAX_OPTLEN)];
        mm.copy_in(val, &mut b)?;
        Ok(b)
    };
    s.setsockopt(level, opt, len as usize, &read, t.creds.uid == 0)
        .map(|_| 0)
}

fn inet_getsockopt(t: &Task, s: &Arc<dyn InetOps>, a: &[u64; 6]) -> Result<u64, Errno> {
    let (level, opt, val, lenp) = (a[1] as i32, a[2] as i32, a[3], a[4]);
    let len = read_i32(t, lenp)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let v = s.getsockopt(level, opt, (len as usize).min(MAX_OPTLEN))?;
    let n = (len as usize).min(v.len());
    if n > 0 {
        t.mm.copy_out(val, &v[..n])?;
    }
    write_u32(t, lenp, n as u32).map(|_| 0)
}

/// Control messages on an inet socket (__sock_cmsg_send): each must be well formed;
/// at SOL_SOCKET, SCM_RIGHTS and SCM_CREDENTIALS are ignored (they belong to AF_UNIX),
/// SO_MARK, SO_TIMESTAMPING and SCM_TXTIME are taken and not acted on, others are
/// EINVAL; IP-level ones are not acted on.
fn inet_check_control(ctl: &[u8]) -> Result<(), Errno> {
    const SO_MARK: i32 = 36;
    const SO_TIMESTAMPING_OLD: i32 = 37;
    const SCM_TXTIME: i32 = 61;
    let mut off = 0;
    while off + CMSGHDR <= ctl.len() {
        let len = u64::from_le_bytes(ctl[off..off + 8].try_into().unwrap_or_default());
        let level = i32::from_le_bytes(ctl[off + 8..off + 12].try_into().unwrap_or_default());
        if len < CMSGHDR as u64 || len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let ty = i32::from_le_bytes(ctl[off + 12..off + 16].try_into().unwrap_or_default());
        if level == SOL_SOCKET
            && ![
                SCM_RIGHTS,
                SCM_CREDENTIALS,
                SO_MARK,
                SO_TIMESTAMPING_OLD,
                SCM_TXTIME,
            ]
            .contains(&ty)
        {
            return Err(Errno::EINVAL);
        }
        off += cmsg_align(len as usize);
    }
    Ok(())
}

/// One send on an inet socket: (bytes sent, bytes asked). A stream's EPIPE raises
/// SIGPIPE unless MSG_NOSIGNAL.
fn inet_send(
    t: &mut Task,
    f: &FileDescription,
    s: &Arc<dyn InetOps>,
    m: MsgOut,
    flags: u64,
) -> Result<(usize, usize), Errno> {
    let r = (|| {
        inet_check_control(&m.control)?;
        let asked: u64 = m.iov.iter().map(|r| r.1).sum::<u64>().min(MAX_RW_COUNT);
        let nonblock = flags & MSG_DONTWAIT != 0 || f.flags() & O_NONBLOCK != 0;
        let segs = segments(t, &m.iov, false).map_err(|e| {
            match s.precheck(true, m.name.as_deref(), nonblock) {
                Err(first) if e == Errno::EFAULT => first,
                _ => e,
            }
        })?;
        let n = s.send(&segs, m.name.as_deref(), flags as u32, nonblock)?;
        Ok((n, asked as usize))
    })();
    if r == Err(Errno::EPIPE) && s.sock_type() == libc::SOCK_STREAM && flags & MSG_NOSIGNAL == 0 {
        t.kernel_signal(libc::SIGPIPE);
    }
    r
}

fn inet_recv(
    t: &Task,
    f: &FileDescription,
    s: &Arc<dyn InetOps>,
    iov: &[(u64, u64)],
    flags: u64,
) -> Result<inet::Recvd, Errno> {
    let nonblock = flags & MSG_DONTWAIT != 0 || f.flags() & O_NONBLOCK != 0;
    let segs = segments(t, iov, true).map_err(|e| match s.precheck(false, None, nonblock) {
        Err(first) if e == Errno::EFAULT => first,
        _ => e,
    })?;
    s.recv(&segs, flags as u32, nonblock)
}

/// One recvmsg on an inet socket into the header at `hdr`: no control messages.
fn inet_recvmsg(
    t: &mut Task,
    f: &FileDescription,
    s: &Arc<dyn InetOps>,
    hdr: u64,
    flags: u64,
) -> Result<(usize, u32), Errno> {
    let h = read_msghdr(t, hdr)?;
    if h.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let iov = read_iovecs(t, h.iov, h.iovlen)?;
    let r = inet_recv(t, f, s, &iov, flags)?;
    let mflags = r.flags | (flags & MSG_CMSG_CLOEXEC) as u32;
    if h.name != 0 {
        write_sockaddr(t, h.name, hdr + 8, r.from.as_deref().unwrap_or(&[]))?;
    }
    write_u32(t, hdr + 48, mflags)?;
    write_u64(t, hdr + 40, 0)?;
    Ok((r.n, mflags))
}
