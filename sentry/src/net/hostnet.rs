//! `--network=host`: AF_INET/AF_INET6 TCP and UDP sockets served by host sockets the
//! sentry makes and uses on the application's behalf (the application never makes a
//! host syscall itself). Each host socket is non-blocking on the host; a call that must
//! block waits on the socket's wait queue, which the notifier thread (a host epoll
//! instance, edge-triggered, watching every host socket) wakes when the host reports a
//! change. So a signal ends the wait as for any sentry wait (ERESTARTSYS, or EINTR with
//! a socket timeout), and poll/select/epoll see host sockets like sentry files.
//!
//! Only the options in `OPTIONS` reach the host, with values the sentry copied and sized;
//! others get ENOPROTOOPT. Control messages are not passed either way.

use super::inet::{InetOps, Recvd};
use super::unix::Timeo;
use crate::host::{self, Seg};
use crate::wait::{self, WaitError, WaitQueue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use syscalls_table::Errno;

/// The host system calls host networking makes (for the sentry's seccomp allowlist):
/// the socket calls, plus the notifier's epoll and the non-blocking readiness check.
pub const HOST_NET_SYSCALLS: &[&str] = &[
    "socket",
    "bind",
    "connect",
    "listen",
    "accept4",
    "getsockname",
    "getpeername",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "sendmsg",
    "recvmsg",
    "ioctl",
    "poll",
    "close",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
];

const SOL_SOCKET: i32 = 1;
const IPPROTO_IP: i32 = 0;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_IPV6: i32 = 41;

/// The options passed to the host, with the most value bytes each takes (`get_only`:
/// setting it is the host's business to refuse, but it is not passed).
const OPTIONS: &[(i32, i32, usize)] = &[
    (SOL_SOCKET, 2, 4),     // SO_REUSEADDR
    (SOL_SOCKET, 3, 4),     // SO_TYPE
    (SOL_SOCKET, 4, 4),     // SO_ERROR
    (SOL_SOCKET, 5, 4),     // SO_DONTROUTE
    (SOL_SOCKET, 6, 4),     // SO_BROADCAST
    (SOL_SOCKET, 7, 4),     // SO_SNDBUF
    (SOL_SOCKET, 8, 4),     // SO_RCVBUF
    (SOL_SOCKET, 9, 4),     // SO_KEEPALIVE
    (SOL_SOCKET, 10, 4),    // SO_OOBINLINE
    (SOL_SOCKET, 11, 4),    // SO_NO_CHECK
    (SOL_SOCKET, 12, 4),    // SO_PRIORITY
    (SOL_SOCKET, 13, 8),    // SO_LINGER
    (SOL_SOCKET, 15, 4),    // SO_REUSEPORT
    (SOL_SOCKET, 18, 4),    // SO_RCVLOWAT
    (SOL_SOCKET, 19, 4),    // SO_SNDLOWAT
    (SOL_SOCKET, 20, 16),   // SO_RCVTIMEO_OLD
    (SOL_SOCKET, 21, 16),   // SO_SNDTIMEO_OLD
    (SOL_SOCKET, 30, 4),    // SO_ACCEPTCONN
    (SOL_SOCKET, 38, 4),    // SO_PROTOCOL
    (SOL_SOCKET, 39, 4),    // SO_DOMAIN
    (SOL_SOCKET, 66, 16),   // SO_RCVTIMEO_NEW
    (SOL_SOCKET, 67, 16),   // SO_SNDTIMEO_NEW
    (IPPROTO_TCP, 1, 4),    // TCP_NODELAY
    (IPPROTO_TCP, 2, 4),    // TCP_MAXSEG
    (IPPROTO_TCP, 3, 4),    // TCP_CORK
    (IPPROTO_TCP, 4, 4),    // TCP_KEEPIDLE
    (IPPROTO_TCP, 5, 4),    // TCP_KEEPINTVL
    (IPPROTO_TCP, 6, 4),    // TCP_KEEPCNT
    (IPPROTO_TCP, 7, 4),    // TCP_SYNCNT
    (IPPROTO_TCP, 8, 4),    // TCP_LINGER2
    (IPPROTO_TCP, 9, 4),    // TCP_DEFER_ACCEPT
    (IPPROTO_TCP, 10, 4),   // TCP_WINDOW_CLAMP
    (IPPROTO_TCP, 11, 232), // TCP_INFO
    (IPPROTO_TCP, 12, 4),   // TCP_QUICKACK
    (IPPROTO_TCP, 13, 16),  // TCP_CONGESTION
    (IPPROTO_TCP, 18, 4),   // TCP_USER_TIMEOUT
    (IPPROTO_TCP, 25, 4),   // TCP_NOTSENT_LOWAT
    (IPPROTO_IP, 1, 4),     // IP_TOS
    (IPPROTO_IP, 2, 4),     // IP_TTL
    (IPPROTO_IP, 10, 4),    // IP_MTU_DISCOVER
    (IPPROTO_IP, 33, 4),    // IP_MULTICAST_TTL
    (IPPROTO_IP, 34, 4),    // IP_MULTICAST_LOOP
    (IPPROTO_IPV6, 16, 4),  // IPV6_UNICAST_HOPS
    (IPPROTO_IPV6, 18, 4),  // IPV6_MULTICAST_HOPS
    (IPPROTO_IPV6, 19, 4),  // IPV6_MULTICAST_LOOP
    (IPPROTO_IPV6, 26, 4),  // IPV6_V6ONLY
    (IPPROTO_IPV6, 67, 4),  // IPV6_TCLASS
];

/// Options that may only be read (setting them is refused as Linux refuses it).
const GET_ONLY: &[(i32, i32)] = &[
    (SOL_SOCKET, 3),
    (SOL_SOCKET, 4),
    (SOL_SOCKET, 17),
    (SOL_SOCKET, 30),
    (SOL_SOCKET, 38),
    (SOL_SOCKET, 39),
    (IPPROTO_TCP, 11),
];

fn option_size(level: i32, opt: i32) -> Option<usize> {
    OPTIONS
        .iter()
        .find(|o| o.0 == level && o.1 == opt)
        .map(|o| o.2)
}

const MSG_OOB: u32 = 0x1;
const MSG_PEEK: u32 = 0x2;
const MSG_DONTROUTE: u32 = 0x4;
const MSG_TRUNC: u32 = 0x20;
const MSG_EOR: u32 = 0x80;
const MSG_WAITALL: u32 = 0x100;
const MSG_CONFIRM: u32 = 0x800;
const MSG_MORE: u32 = 0x8000;
const HOST_ALWAYS: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

const ALL_EVENTS: u32 = (libc::EPOLLIN
    | libc::EPOLLOUT
    | libc::EPOLLRDHUP
    | libc::EPOLLPRI
    | libc::EPOLLERR
    | libc::EPOLLHUP) as u32;

// ---- the notifier ----

struct Notifier {
    epfd: i32,
    queues: Mutex<HashMap<i32, Weak<WaitQueue>>>,
}

fn notifier() -> Option<&'static Notifier> {
    static N: OnceLock<Option<&'static Notifier>> = OnceLock::new();
    *N.get_or_init(|| {
        let epfd = host::epoll_create().ok()?;
        let n: &'static Notifier = Box::leak(Box::new(Notifier {
            epfd,
            queues: Mutex::new(HashMap::new()),
        }));
        std::thread::Builder::new()
            .name("host-net-notifier".into())
            .spawn(move || n.run())
            .ok()?;
        Some(n)
    })
}

impl Notifier {
    fn run(&self) {
        loop {
            let evs = match host::epoll_wait(self.epfd) {
                Ok(e) => e,
                Err(Errno::EINTR) => continue,
                Err(_) => return,
            };
            for (fd, ev) in evs {
                let q = {
                    let m = self.queues.lock().unwrap_or_else(|e| e.into_inner());
                    m.get(&(fd as i32)).and_then(Weak::upgrade)
                };
                if let Some(q) = q {
                    q.notify_events(ev);
                }
            }
        }
    }

    fn add(&self, fd: i32, q: &Arc<WaitQueue>) -> Result<(), Errno> {
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fd, Arc::downgrade(q));
        host::epoll_ctl(self.epfd, fd, ALL_EVENTS | libc::EPOLLET as u32, true).inspect_err(|_| {
            self.queues
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&fd);
        })
    }

    fn remove(&self, fd: i32) {
        let _ = host::epoll_ctl(self.epfd, fd, 0, false);
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&fd);
    }
}

// ---- host sockets ----

/// One host socket.
pub struct HostSock {
    fd: i32,
    family: i32,
    ty: i32,
    wq: Arc<WaitQueue>,
    /// SO_RCVTIMEO and SO_SNDTIMEO (also set on the host, which reads them back).
    timeo: Mutex<(Timeo, Timeo)>,
}

impl Drop for HostSock {
    fn drop(&mut self) {
        if let Some(n) = notifier() {
            n.remove(self.fd);
        }
        host::close(self.fd);
    }
}

impl HostSock {
    /// socket(2): the host checks the family, type and protocol.
    pub fn new(family: i32, ty: i32, protocol: i32) -> Result<Arc<HostSock>, Errno> {
        if ty != libc::SOCK_STREAM && ty != libc::SOCK_DGRAM {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        let fd = host::socket(
            family,
            ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )?;
        Self::adopt(fd, family, ty, Default::default())
    }

    fn adopt(fd: i32, family: i32, ty: i32, timeo: (Timeo, Timeo)) -> Result<Arc<HostSock>, Errno> {
        let s = Arc::new(HostSock {
            fd,
            family,
            ty,
            wq: Arc::new(WaitQueue::default()),
            timeo: Mutex::new(timeo),
        });
        let n = notifier().ok_or(Errno::ENOMEM)?;
        n.add(fd, &s.wq)?;
        Ok(s)
    }

    /// The socket timeout (SO_RCVTIMEO, or SO_SNDTIMEO with `send`), as the sentry
    /// keeps it (the host's read-back cannot tell "none" from "do not wait").
    fn timeout(&self, send: bool) -> Timeo {
        let t = *self.timeo.lock().unwrap_or_else(|e| e.into_inner());
        if send { t.1 } else { t.0 }
    }

    /// Runs `attempt` until it gives something other than EAGAIN, waiting for the host
    /// to report a change in between (unless `nonblock`).
    fn block<T>(
        &self,
        nonblock: bool,
        send: bool,
        mut attempt: impl FnMut() -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        if nonblock {
            return attempt();
        }
        let timeo = self.timeout(send).duration();
        if timeo == Some(Duration::ZERO) {
            return attempt();
        }
        let deadline = timeo.and_then(|d| Instant::now().checked_add(d));
        let r = wait::wait_until(&[&self.wq], deadline, || match attempt() {
            Err(Errno::EAGAIN) => None,
            r => Some(r),
        });
        match r {
            Ok(r) => r,
            Err(WaitError::Interrupted) if timeo.is_some() => Err(Errno::EINTR),
            Err(WaitError::Interrupted) => Err(Errno::ERESTARTSYS),
            Err(WaitError::TimedOut) => Err(Errno::EAGAIN),
        }
    }
}

impl InetOps for HostSock {
    fn sock_type(&self) -> i32 {
        self.ty
    }

    /// A port below 1024 needs privilege in the sandbox, whatever the sentry has.
    fn bind(&self, addr: &[u8], privileged: bool) -> Result<(), Errno> {
        if !privileged && addr.len() >= 4 {
            let port = u16::from_be_bytes([addr[2], addr[3]]);
            if (1..1024).contains(&port) {
                return Err(Errno::EACCES);
            }
        }
        host::bind_connect(self.fd, addr, false)
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        host::listen(self.fd, backlog)
    }

    /// A blocking connect that the host starts (EINPROGRESS) waits and asks the host
    /// again at each change until it gives the end: 0 once connected, or the error (and
    /// the host then dissolves the attempt, as Linux's blocking connect does). Restarted
    /// after a signal (EALREADY) it goes on waiting. Its time-out gives EINPROGRESS.
    fn connect(&self, addr: &[u8], nonblock: bool) -> Result<(), Errno> {
        let r = host::bind_connect(self.fd, addr, true);
        if nonblock || self.ty != libc::SOCK_STREAM {
            return r;
        }
        match r {
            Err(Errno::EINPROGRESS) | Err(Errno::EALREADY) => {}
            r => return r,
        }
        let r = self.block(false, true, || {
            match host::bind_connect(self.fd, addr, true) {
                Err(Errno::EINPROGRESS) | Err(Errno::EALREADY) => Err(Errno::EAGAIN),
                r => r,
            }
        });
        match r {
            Err(Errno::EAGAIN) => Err(Errno::EINPROGRESS),
            r => r,
        }
    }

    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn InetOps>, Vec<u8>), Errno> {
        let (fd, addr) = self.block(nonblock, false, || {
            host::accept4(self.fd, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
        })?;
        // The connection inherits the listener's timeouts, as on Linux.
        let timeo = *self.timeo.lock().unwrap_or_else(|e| e.into_inner());
        let s = HostSock::adopt(fd, self.family, self.ty, timeo)?;
        Ok((s, addr))
    }

    fn sockname(&self) -> Result<Vec<u8>, Errno> {
        host::sock_name(self.fd, false)
    }

    fn peername(&self) -> Result<Vec<u8>, Errno> {
        host::sock_name(self.fd, true)
    }

    fn shutdown(&self, how: i32) -> Result<(), Errno> {
        host::shutdown(self.fd, how)
    }

    /// An option not passed to the host gets what Linux says of an unknown one: within
    /// a level the socket has, ENOPROTOOPT; of another level, EOPNOTSUPP from an IPv4
    /// socket (ip_getsockopt) and ENOPROTOOPT from an IPv6 one.
    fn getsockopt(&self, level: i32, opt: i32, len: usize) -> Result<Vec<u8>, Errno> {
        let Some(max) = option_size(level, opt) else {
            const IPPROTO_UDP: i32 = 17;
            let known = level == SOL_SOCKET
                || level == IPPROTO_IP
                || (level == IPPROTO_TCP && self.ty == libc::SOCK_STREAM)
                || (level == IPPROTO_UDP && self.ty == libc::SOCK_DGRAM)
                || (level == IPPROTO_IPV6 && self.family == libc::AF_INET6);
            return Err(if known || self.family == libc::AF_INET6 {
                Errno::ENOPROTOOPT
            } else {
                Errno::EOPNOTSUPP
            });
        };
        if level == IPPROTO_TCP && self.ty != libc::SOCK_STREAM {
            return Err(if self.family == libc::AF_INET6 {
                Errno::ENOPROTOOPT
            } else {
                Errno::EOPNOTSUPP
            });
        }
        host::getsockopt(self.fd, level, opt, len.min(max))
    }

    fn setsockopt(
        &self,
        level: i32,
        opt: i32,
        optlen: usize,
        read: &dyn Fn(usize) -> Result<Vec<u8>, Errno>,
        privileged: bool,
    ) -> Result<(), Errno> {
        let max = option_size(level, opt).ok_or(Errno::ENOPROTOOPT)?;
        if GET_ONLY.contains(&(level, opt)) {
            return Err(Errno::ENOPROTOOPT);
        }
        let val = read(optlen.min(max))?;
        // SO_PRIORITY above 6 needs CAP_NET_ADMIN in the sandbox, whatever the sentry has.
        if level == SOL_SOCKET && opt == libc::SO_PRIORITY && !privileged && val.len() >= 4 {
            let v = i32::from_le_bytes([val[0], val[1], val[2], val[3]]);
            if !(0..=6).contains(&v) {
                return Err(Errno::EPERM);
            }
        }
        host::setsockopt(self.fd, level, opt, &val)?;
        const SO_RCVTIMEO_NEW: i32 = 66;
        const SO_SNDTIMEO_NEW: i32 = 67;
        let rcv = matches!(opt, libc::SO_RCVTIMEO | SO_RCVTIMEO_NEW);
        let snd = matches!(opt, libc::SO_SNDTIMEO | SO_SNDTIMEO_NEW);
        if level == SOL_SOCKET && (rcv || snd) && val.len() >= 16 {
            let sec = i64::from_le_bytes(val[..8].try_into().unwrap_or_default());
            let usec = i64::from_le_bytes(val[8..16].try_into().unwrap_or_default());
            let t = Timeo::from_timeval(sec, usec)?;
            let mut g = self.timeo.lock().unwrap_or_else(|e| e.into_inner());
            if rcv {
                g.0 = t;
            } else {
                g.1 = t;
            }
        }
        Ok(())
    }

    /// A blocking stream send goes on until everything is sent (or a signal or the
    /// timeout ends it after some was: that much is the result).
    fn send(
        &self,
        data: &[Seg],
        to: Option<&[u8]>,
        flags: u32,
        nonblock: bool,
    ) -> Result<usize, Errno> {
        let hflags = (flags & (MSG_OOB | MSG_DONTROUTE | MSG_EOR | MSG_CONFIRM | MSG_MORE)) as i32
            | HOST_ALWAYS;
        let total = host::segs_len(data);
        if self.ty != libc::SOCK_STREAM || nonblock {
            return self.block(nonblock, true, || host::sendmsg(self.fd, data, to, hflags));
        }
        let mut done = 0;
        loop {
            let rest = host::sub_segs(data, done, total - done);
            match self.block(false, true, || host::sendmsg(self.fd, &rest, to, hflags)) {
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => return Ok(done),
            }
            if done >= total {
                return Ok(done);
            }
        }
    }

    /// MSG_WAITALL on a blocking stream goes on until the buffer is full, the peer has
    /// finished, or a signal or the timeout comes after some data.
    fn recv(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        let hflags = (flags & (MSG_OOB | MSG_PEEK | MSG_TRUNC)) as i32 | HOST_ALWAYS;
        let total = host::segs_len(data);
        let once = |segs: &[Seg]| {
            self.block(nonblock, false, || {
                let (n, from, f) = host::recvmsg(self.fd, segs, hflags)?;
                Ok(Recvd {
                    n,
                    from: (!from.is_empty()).then_some(from),
                    flags: f as u32,
                })
            })
        };
        let waitall = flags & MSG_WAITALL != 0
            && flags & MSG_PEEK == 0
            && !nonblock
            && self.ty == libc::SOCK_STREAM;
        if !waitall {
            return once(data);
        }
        let mut done = 0;
        let mut last = Recvd {
            n: 0,
            from: None,
            flags: 0,
        };
        while done < total {
            let rest = host::sub_segs(data, done, total - done);
            match once(&rest) {
                Ok(r) if r.n == 0 => break,
                Ok(r) => {
                    done += r.n;
                    last = r;
                }
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        last.n = done;
        Ok(last)
    }

    /// A send of nothing asks the host for a stream's state (a datagram would be sent,
    /// so only the missing destination is looked for); a peek at nothing, for a receive.
    fn precheck(&self, send: bool, to: Option<&[u8]>, nonblock: bool) -> Result<(), Errno> {
        let r = if !send {
            host::recvmsg(self.fd, &[], libc::MSG_PEEK | HOST_ALWAYS).map(|_| ())
        } else if self.ty == libc::SOCK_STREAM {
            host::sendmsg(self.fd, &[], None, HOST_ALWAYS).map(|_| ())
        } else if to.is_none() && host::sock_name(self.fd, true).is_err() {
            Err(Errno::EDESTADDRREQ)
        } else {
            Ok(())
        };
        match r {
            Err(Errno::EAGAIN) if !nonblock => Ok(()),
            r => r,
        }
    }

    fn poll(&self) -> u32 {
        let all = libc::POLLIN
            | libc::POLLPRI
            | libc::POLLOUT
            | libc::POLLRDNORM
            | libc::POLLWRNORM
            | libc::POLLRDBAND
            | libc::POLLWRBAND
            | libc::POLLRDHUP;
        host::poll_now(self.fd, all)
    }

    fn wait_queue(&self) -> Arc<WaitQueue> {
        self.wq.clone()
    }

    fn queued(&self, out: bool) -> Result<usize, Errno> {
        let req = if out { 0x5411 } else { 0x541b };
        host::ioctl_int(self.fd, req).map(|n| n.max(0) as usize)
    }
}
