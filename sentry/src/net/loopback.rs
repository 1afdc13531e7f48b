//! `--network=none`: the sandbox's own loopback network, inside the sentry, with no host
//! socket at all. The only interface is `lo`: 127.0.0.0/8 and ::1 (and v4-mapped
//! ::ffff:127.x on IPv6 sockets) are local, any other destination is unreachable.
//!
//! A TCP connection is a pair of AF_UNIX stream endpoints (`unix::Endpoint`) from a
//! registry of its own, invisible to AF_UNIX sockets: connect, the listen backlog,
//! accept, the byte streams, shutdown, blocking with SO_RCVTIMEO/SO_SNDTIMEO and signals,
//! poll events and the SOL_SOCKET options are theirs. This module adds what is inet: the
//! port table (binding, ephemeral ports, EADDRINUSE, SO_REUSEADDR/SO_REUSEPORT),
//! addresses, TCP's states and errors (ECONNREFUSED, a non-blocking connect's
//! EINPROGRESS and SO_ERROR) and the IP/TCP options. A client's endpoint is bound to a
//! private name carrying its address, which is how an accepted connection learns its
//! peer's address. UDP datagrams are queued here directly (dropped when the receive
//! buffer is full or nobody is bound, as UDP does); their socket's options live in an
//! unused AF_UNIX datagram endpoint, whose wait queue is the socket's.
//!
//! Differences from Linux (in the syscall table): a write to a connection whose peer
//! has closed fails at once with EPIPE (Linux's first write succeeds and draws a reset);
//! there is no TIME_WAIT; MSG_OOB (urgent data) is refused; control messages are not
//! delivered.
//!
//! Locks: a socket's `st`, then the port table (`Net::ports`), which is a leaf: no
//! socket lock is taken, and no socket reference upgraded (its drop would unbind), with
//! the port table held.

use super::inet::{AF_INET, AF_INET6, InetOps, Recvd};
use super::unix::{self, Endpoint, Names, Outgoing, RecvFlags, SockType, Ucred};
use crate::host::{self, Seg};
use crate::wait::{self, WaitError, WaitQueue};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;
use syscalls_table::Errno;

/// net.ipv4.ip_local_port_range.
const EPHEMERAL: (u16, u16) = (32768, 60999);
/// net.ipv4.tcp_wmem[1], tcp_rmem[1]; UDP's are net.core.{w,r}mem_default.
const TCP_SNDBUF: usize = 16384;
const TCP_RCVBUF: usize = 131072;
const UDP_BUF: usize = unix::DEFAULT_BUF;
/// The largest UDP payload over IPv4 and IPv6.
const UDP_MAX_V4: usize = 65507;
const UDP_MAX_V6: usize = 65527;
/// What a queued datagram costs beyond its bytes (an sk_buff).
const DGRAM_OVERHEAD: usize = 768;
/// TCP_MSS_DEFAULT, and the MSS of a loopback connection (MTU 65536).
const MSS_DEFAULT: i32 = 536;
const MSS_LOOPBACK: i32 = 65483;
/// The default TTL and hop limit.
const DEFAULT_TTL: i32 = 64;

const SOL_SOCKET: i32 = 1;
const IPPROTO_IP: i32 = 0;
const IPPROTO_TCP: i32 = 6;
const IPPROTO_IPV6: i32 = 41;

const RCV_SHUTDOWN: u8 = 1;
const SEND_SHUTDOWN: u8 = 2;

const MSG_OOB: u32 = 0x1;
const MSG_PEEK: u32 = 0x2;
const MSG_TRUNC: u32 = 0x20;
const MSG_WAITALL: u32 = 0x100;

type Ip = [u8; 16];
const MAPPED: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const LOOP6: Ip = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const LOOP4: Ip = mapped([127, 0, 0, 1]);
const ANY6: Ip = [0; 16];
const ANY4: Ip = mapped([0; 4]);

const fn mapped(a: [u8; 4]) -> Ip {
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a[0], a[1], a[2], a[3],
    ]
}

fn is_v4(ip: &Ip) -> bool {
    ip[..12] == MAPPED
}

fn is_any(ip: &Ip) -> bool {
    *ip == ANY6 || *ip == ANY4
}

/// Whether `ip` is an address of `lo`.
fn is_local(ip: &Ip) -> bool {
    (is_v4(ip) && ip[12] == 127) || *ip == LOOP6
}

/// The sockaddr of (ip, port) as a socket of `family` reports it.
fn encode(family: i32, ip: &Ip, port: u16) -> Vec<u8> {
    if family == AF_INET {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&(AF_INET as u16).to_le_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip[12..]);
        b
    } else {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&(AF_INET6 as u16).to_le_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(ip);
        b
    }
}

/// One socket's claim on a port.
struct Binding {
    id: u64,
    ip: Ip,
    /// An IPv6 socket (`::` covers IPv4 too unless `v6only`).
    v6: bool,
    v6only: bool,
    reuseaddr: bool,
    reuseport: bool,
    /// UDP: the connected peer (only its datagrams are delivered).
    peer: Option<(Ip, u16)>,
    /// The socket's listening flag (read here without upgrading `sock`: dropping the
    /// last reference with the table locked would unbind under the lock).
    listening: Arc<AtomicBool>,
    sock: Weak<LoopSock>,
}

impl Binding {
    /// Whether a datagram or connection for `ip` reaches this binding.
    fn covers(&self, ip: &Ip) -> bool {
        if *ip == self.ip {
            return true;
        }
        if self.ip == ANY6 && self.v6 {
            return !is_v4(ip) || !self.v6only;
        }
        if self.ip == ANY4 || (self.ip == ANY6 && !self.v6) {
            return is_v4(ip);
        }
        false
    }

    /// Whether the two claim some address in common.
    fn overlaps(&self, o: &Binding) -> bool {
        match (is_any(&self.ip), is_any(&o.ip)) {
            (false, false) => self.ip == o.ip,
            (true, false) => self.covers(&o.ip),
            (false, true) => o.covers(&self.ip),
            (true, true) => {
                let v4 = |b: &Binding| b.covers(&ANY4) || b.covers(&LOOP4);
                let v6 = |b: &Binding| b.covers(&LOOP6);
                (v4(self) && v4(o)) || (v6(self) && v6(o))
            }
        }
    }
}

/// The sandbox's loopback: the port table and the private AF_UNIX registry the TCP
/// endpoints live in.
#[derive(Default)]
pub struct Net {
    names: Arc<Names>,
    ports: Mutex<HashMap<(bool, u16), Vec<Binding>>>,
    next_id: AtomicU64,
}

impl Net {
    fn ports(&self) -> MutexGuard<'_, HashMap<(bool, u16), Vec<Binding>>> {
        self.ports.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `b` may take `port` (inet_csk_bind_conflict, udp_lib_lport_inuse): no
    /// overlapping binding unless both have SO_REUSEPORT, or both SO_REUSEADDR and (TCP)
    /// the other is not listening.
    fn free(
        &self,
        map: &HashMap<(bool, u16), Vec<Binding>>,
        stream: bool,
        port: u16,
        b: &Binding,
    ) -> bool {
        let Some(list) = map.get(&(stream, port)) else {
            return true;
        };
        list.iter().all(|o| {
            if o.id == b.id || !o.overlaps(b) {
                return true;
            }
            if b.reuseport && o.reuseport {
                return true;
            }
            let listening = o.listening.load(Ordering::SeqCst);
            b.reuseaddr && o.reuseaddr && (!stream || !listening)
        })
    }

    /// Adds `b` at `port` (0: an ephemeral port); the port taken.
    fn bind(&self, stream: bool, port: u16, b: Binding) -> Result<u16, Errno> {
        let mut map = self.ports();
        let port = if port != 0 {
            if !self.free(&map, stream, port, &b) {
                return Err(Errno::EADDRINUSE);
            }
            port
        } else {
            let n = (EPHEMERAL.1 - EPHEMERAL.0) as u64 + 1;
            let start = host::random_u64() % n;
            (0..n)
                .map(|i| EPHEMERAL.0 + ((start + i) % n) as u16)
                .find(|&p| self.free(&map, stream, p, &b))
                .ok_or(Errno::EADDRINUSE)?
        };
        map.entry((stream, port)).or_default().push(b);
        Ok(port)
    }

    fn unbind(&self, stream: bool, port: u16, id: u64) {
        let mut map = self.ports();
        if let Some(list) = map.get_mut(&(stream, port)) {
            list.retain(|b| b.id != id);
            if list.is_empty() {
                map.remove(&(stream, port));
            }
        }
    }

    /// Changes what binding `id` claims (its address after connect, its UDP peer).
    fn update(&self, stream: bool, port: u16, id: u64, f: impl FnOnce(&mut Binding)) {
        if let Some(b) = self
            .ports()
            .get_mut(&(stream, port))
            .and_then(|l| l.iter_mut().find(|b| b.id == id))
        {
            f(b);
        }
    }

    /// The socket bound at `port` that `ip` reaches (an exact address before a wildcard):
    /// a listener (TCP), or a socket whose peer, if any, is `from` (UDP).
    fn find(&self, stream: bool, ip: &Ip, port: u16, from: (Ip, u16)) -> Option<Arc<LoopSock>> {
        let found = {
            let map = self.ports();
            let list = map.get(&(stream, port))?;
            let ok = |b: &&Binding| {
                b.covers(ip)
                    && b.sock.strong_count() > 0
                    && if stream {
                        b.listening.load(Ordering::SeqCst)
                    } else {
                        b.peer.is_none_or(|p| p == from)
                    }
            };
            let exact = list.iter().filter(ok).find(|b| b.ip == *ip);
            exact.or_else(|| list.iter().find(ok))?.sock.clone()
        };
        // Upgraded with the table unlocked (see `Binding::listening`).
        found.upgrade()
    }
}

/// One queued datagram.
struct Dgram {
    from: (Ip, u16),
    data: Vec<u8>,
}

/// IP and TCP options kept to be read back (and TCP_MAXSEG's).
#[derive(Clone, Copy)]
struct Opts {
    nodelay: bool,
    cork: bool,
    keepidle: i32,
    keepintvl: i32,
    keepcnt: i32,
    maxseg: i32,
    ttl: i32,
    tos: i32,
    hops: i32,
    v6only: bool,
    reuseport: bool,
    sndbuf: usize,
    rcvbuf: usize,
}

struct St {
    /// The bound (or connected-from) address; the port is 0 until there is one.
    ip: Ip,
    port: u16,
    /// The address was given to bind(2) (it stays after a UDP disconnect).
    ip_locked: bool,
    /// The port came from bind(2) (not an automatic one).
    port_locked: bool,
    peer: Option<(Ip, u16)>,
    /// TCP: established (until closed; a peer's close is the endpoints' business).
    connected: bool,
    /// TCP: a non-blocking connect said EINPROGRESS; the next connect reports the end.
    connecting: bool,
    err: Option<Errno>,
    /// TCP: the connection was reset (or refused, for a non-blocking connect not yet
    /// told): poll shows it hung up and readable, a read gives EOF.
    reset: bool,
    /// UDP: the socket's shutdown; TCP: what this side asked of shutdown(2) (the
    /// endpoint also marks what the peer's close implies, which TCP shows differently).
    shutdown: u8,
    queue: VecDeque<Dgram>,
    queued: usize,
    opts: Opts,
}

/// An AF_INET or AF_INET6 socket of the loopback network.
pub struct LoopSock {
    me: Weak<LoopSock>,
    net: Arc<Net>,
    id: u64,
    family: i32,
    stream: bool,
    /// TCP: the connection's endpoint; UDP: the holder of the SOL_SOCKET options.
    ep: Arc<Endpoint>,
    listening: Arc<AtomicBool>,
    st: Mutex<St>,
}

impl Drop for LoopSock {
    fn drop(&mut self) {
        let port = self.lock().port;
        if port != 0 {
            self.net.unbind(self.stream, port, self.id);
        }
        unix::release(&self.ep, false);
    }
}

/// The credentials the TCP endpoints carry (SO_PEERCRED of inet sockets is not theirs).
const NO_CRED: Ucred = Ucred {
    pid: 0,
    uid: u32::MAX,
    gid: u32::MAX,
};

/// The private name of a connecting endpoint: its address and the one it connected to.
fn client_name(id: u64, ip: &Ip, port: u16, dest: &Ip) -> Vec<u8> {
    let mut n = 1u16.to_le_bytes().to_vec();
    n.extend_from_slice(&[0, b'C']);
    n.extend_from_slice(ip);
    n.extend_from_slice(&port.to_be_bytes());
    n.extend_from_slice(dest);
    n.extend_from_slice(&id.to_le_bytes());
    n
}

fn parse_client_name(n: &[u8]) -> Option<(Ip, u16, Ip)> {
    if n.len() != 4 + 16 + 2 + 16 + 8 || n[3] != b'C' {
        return None;
    }
    let ip: Ip = n[4..20].try_into().ok()?;
    let port = u16::from_be_bytes([n[20], n[21]]);
    let dest: Ip = n[22..38].try_into().ok()?;
    Some((ip, port, dest))
}

fn int(v: i32) -> Result<Vec<u8>, Errno> {
    Ok(v.to_le_bytes().to_vec())
}

impl LoopSock {
    pub fn new(net: &Arc<Net>, family: i32, ty: i32) -> Arc<LoopSock> {
        let stream = ty == libc::SOCK_STREAM;
        let kind = if stream {
            SockType::Stream
        } else {
            SockType::Dgram
        };
        let (sndbuf, rcvbuf) = if stream {
            (TCP_SNDBUF, TCP_RCVBUF)
        } else {
            (UDP_BUF, UDP_BUF)
        };
        let opts = Opts {
            nodelay: false,
            cork: false,
            keepidle: 7200,
            keepintvl: 75,
            keepcnt: 9,
            maxseg: 0,
            ttl: -1,
            tos: 0,
            hops: -1,
            v6only: false,
            reuseport: false,
            sndbuf,
            rcvbuf,
        };
        Self::with(net, family, stream, Endpoint::new(&net.names, kind), opts)
    }

    fn with(
        net: &Arc<Net>,
        family: i32,
        stream: bool,
        ep: Arc<Endpoint>,
        opts: Opts,
    ) -> Arc<LoopSock> {
        Arc::new_cyclic(|me| LoopSock {
            me: me.clone(),
            net: net.clone(),
            id: net.next_id.fetch_add(1, Ordering::Relaxed),
            family,
            stream,
            ep,
            listening: Arc::new(AtomicBool::new(false)),
            st: Mutex::new(St {
                ip: if family == AF_INET { ANY4 } else { ANY6 },
                port: 0,
                ip_locked: false,
                port_locked: false,
                peer: None,
                connected: false,
                connecting: false,
                err: None,
                reset: false,
                shutdown: 0,
                queue: VecDeque::new(),
                queued: 0,
                opts,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reuseaddr(&self) -> bool {
        self.ep
            .getsockopt(libc::SO_REUSEADDR)
            .is_ok_and(|v| v.first().is_some_and(|&b| b != 0))
    }

    fn binding(&self, s: &St, ip: Ip) -> Binding {
        Binding {
            id: self.id,
            ip,
            v6: self.family == AF_INET6,
            v6only: s.opts.v6only,
            reuseaddr: self.reuseaddr(),
            reuseport: s.opts.reuseport,
            peer: s.peer,
            listening: self.listening.clone(),
            sock: self.me.clone(),
        }
    }

    /// An address given to bind, connect or sendto: (ip, port), checked as the family's
    /// code checks it (EINVAL for a short one, EAFNOSUPPORT for another family).
    /// `unspec_any`: AF_UNSPEC with INADDR_ANY stands for AF_INET (inet_bind's rule).
    fn parse(&self, a: &[u8], unspec_any: bool) -> Result<(Ip, u16), Errno> {
        let fam = if a.len() >= 2 {
            u16::from_le_bytes([a[0], a[1]]) as i32
        } else {
            -1
        };
        if self.family == AF_INET {
            if a.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let ip = mapped([a[4], a[5], a[6], a[7]]);
            if fam != AF_INET && !(unspec_any && fam == 0 && ip == ANY4) {
                return Err(Errno::EAFNOSUPPORT);
            }
            Ok((ip, u16::from_be_bytes([a[2], a[3]])))
        } else {
            if a.len() < 24 {
                return Err(Errno::EINVAL);
            }
            if fam != AF_INET6 {
                return Err(Errno::EAFNOSUPPORT);
            }
            let ip: Ip = a[8..24].try_into().map_err(|_| Errno::EINVAL)?;
            Ok((ip, u16::from_be_bytes([a[2], a[3]])))
        }
    }

    /// Where a destination `ip` really goes: INADDR_ANY and `::` mean this host.
    fn route(&self, s: &St, ip: Ip) -> Result<Ip, Errno> {
        if self.family == AF_INET6 && is_v4(&ip) && s.opts.v6only {
            return Err(Errno::ENETUNREACH);
        }
        let dest = match ip {
            ANY4 => LOOP4,
            ANY6 => LOOP6,
            ip => ip,
        };
        if !is_local(&dest) {
            return Err(Errno::ENETUNREACH);
        }
        Ok(dest)
    }

    /// The source address for `dest`: the bound one, or lo's of the same version.
    fn source(s: &St, dest: &Ip) -> Ip {
        if !is_any(&s.ip) {
            s.ip
        } else if is_v4(dest) {
            LOOP4
        } else {
            LOOP6
        }
    }

    /// Takes an ephemeral port for an unbound socket (autobind), with address `ip`.
    fn autobind(&self, s: &mut St, ip: Ip) -> Result<(), Errno> {
        if s.port != 0 {
            return Ok(());
        }
        let b = self.binding(s, ip);
        s.port = self.net.bind(self.stream, 0, b)?;
        s.ip = ip;
        Ok(())
    }

    /// Sets the address of a bound socket (its source address once connected).
    fn set_ip(&self, s: &mut St, ip: Ip) {
        s.ip = ip;
        self.net.update(self.stream, s.port, self.id, |b| b.ip = ip);
    }

    /// The socket's timeout for receiving (or sending) as a deadline; None: no wait.
    fn deadline(&self, send: bool) -> (bool, Option<Instant>) {
        let (r, w) = self.ep.timeouts();
        match (if send { w } else { r }).duration() {
            None => (false, None),
            Some(d) => (true, Instant::now().checked_add(d)),
        }
    }

    // ---- TCP ----

    fn tcp_connect(&self, addr: &[u8], nonblock: bool) -> Result<(), Errno> {
        let mut s = self.lock();
        if s.connecting {
            s.connecting = false;
            if s.connected {
                return Ok(());
            }
            // The failed attempt is dissolved (tcp_disconnect).
            s.reset = false;
            return Err(s.err.take().unwrap_or(Errno::ECONNABORTED));
        }
        if s.connected || self.listening.load(Ordering::SeqCst) {
            return Err(Errno::EISCONN);
        }
        let (ip, port) = self.parse(addr, false)?;
        let dest = self.route(&s, ip)?;
        let src = Self::source(&s, &dest);
        if s.port == 0 {
            self.autobind(&mut s, src)?;
        } else {
            self.set_ip(&mut s, src);
        }
        let target = self.net.find(true, &dest, port, (src, s.port));
        let refused = |mut s: MutexGuard<'_, St>| {
            // The port stays taken; the address goes back to none.
            if !s.ip_locked {
                let any = if self.family == AF_INET { ANY4 } else { ANY6 };
                self.set_ip(&mut s, any);
            }
            if nonblock {
                s.err = Some(Errno::ECONNREFUSED);
                s.reset = true;
                s.connecting = true;
                drop(s);
                self.ep.wq.notify_all();
                Err(Errno::EINPROGRESS)
            } else {
                Err(Errno::ECONNREFUSED)
            }
        };
        let Some(target) = target else {
            return refused(s);
        };
        if !self.ep.is_bound() {
            self.ep
                .bind_abstract(client_name(self.id, &src, s.port, &dest))?;
        }
        drop(s);
        let r = self.ep.connect(&target.ep, nonblock, NO_CRED);
        let mut s = self.lock();
        match r {
            Ok(()) => {
                s.connected = true;
                s.peer = Some((dest, port));
                if nonblock {
                    s.connecting = true;
                    return Err(Errno::EINPROGRESS);
                }
                Ok(())
            }
            Err(Errno::ECONNREFUSED) | Err(Errno::EAGAIN) => refused(s),
            Err(e) => Err(e),
        }
    }

    fn tcp_accept(&self, nonblock: bool) -> Result<(Arc<dyn InetOps>, Vec<u8>), Errno> {
        if !self.listening.load(Ordering::SeqCst) {
            return Err(Errno::EINVAL);
        }
        let e = self.ep.accept(nonblock)?;
        let (cip, cport, dest) = e
            .peer_addr()
            .ok()
            .flatten()
            .and_then(|n| parse_client_name(&n))
            .unwrap_or((LOOP4, 0, LOOP4));
        // The new socket inherits the listener's options.
        for opt in [
            libc::SO_KEEPALIVE,
            libc::SO_REUSEADDR,
            libc::SO_OOBINLINE,
            libc::SO_RCVLOWAT,
            libc::SO_LINGER,
            libc::SO_RCVTIMEO,
            libc::SO_SNDTIMEO,
        ] {
            if let Ok(v) = self.ep.getsockopt(opt) {
                let _ = e.setsockopt(opt, v.len(), &|n| Ok(v[..n.min(v.len())].to_vec()), true);
            }
        }
        let (opts, port) = {
            let s = self.lock();
            (s.opts, s.port)
        };
        let c = LoopSock::with(&self.net, self.family, true, e, opts);
        {
            let mut s = c.lock();
            s.ip = dest;
            s.port = port;
            s.port_locked = true;
            s.connected = true;
            s.peer = Some((cip, cport));
            let b = c.binding(&s, dest);
            // The connection holds its listener's port (Linux's bind bucket).
            c.net.ports().entry((true, port)).or_default().push(b);
        }
        Ok((c, encode(self.family, &cip, cport)))
    }

    /// A write to a connection whose peer has gone succeeds once (Linux's peer answers it
    /// with a reset); the next says EPIPE.
    fn tcp_send(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<usize, Errno> {
        {
            let mut s = self.lock();
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            if !s.connected {
                return Err(Errno::EPIPE);
            }
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let r = self.ep.send(Outgoing {
            data,
            fds: Vec::new(),
            creds: None,
            own: NO_CRED,
            to: None,
            has_addr: false,
            nonblock,
            oob: false,
            inflight_limit: None,
        });
        if r == Err(Errno::EPIPE) {
            let mut s = self.lock();
            if s.shutdown & SEND_SHUTDOWN == 0 && !s.reset {
                s.reset = true;
                s.err = Some(Errno::EPIPE);
                drop(s);
                self.ep.wq.notify_all();
                return Ok(host::segs_len(data));
            }
        }
        r
    }

    fn tcp_recv(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        {
            let mut s = self.lock();
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            if !s.connected {
                if s.reset || s.shutdown & RCV_SHUTDOWN != 0 {
                    return Ok(Recvd {
                        n: 0,
                        from: None,
                        flags: 0,
                    });
                }
                return Err(Errno::ENOTCONN);
            }
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EINVAL);
        }
        let f = RecvFlags {
            peek: flags & MSG_PEEK != 0,
            waitall: flags & MSG_WAITALL != 0,
            nonblock,
            ..Default::default()
        };
        let r = self.ep.recv(data, f);
        if r.as_ref().err() == Some(&Errno::ECONNRESET) {
            self.lock().reset = true;
        }
        let r = r?;
        Ok(Recvd {
            n: r.n,
            from: None,
            flags: 0,
        })
    }

    // ---- UDP ----

    fn udp_connect(&self, addr: &[u8]) -> Result<(), Errno> {
        let mut s = self.lock();
        let (ip, port) = self.parse(addr, false)?;
        let dest = self.route(&s, ip)?;
        let src = Self::source(&s, &dest);
        self.autobind(&mut s, src)?;
        if !s.ip_locked {
            self.set_ip(&mut s, src);
        }
        s.peer = Some((dest, port));
        let peer = s.peer;
        self.net.update(false, s.port, self.id, |b| b.peer = peer);
        Ok(())
    }

    /// connect(AF_UNSPEC): no peer; an automatic port and address are given back.
    fn udp_disconnect(&self) {
        let mut s = self.lock();
        s.peer = None;
        let port = s.port;
        self.net.update(false, port, self.id, |b| b.peer = None);
        if !s.ip_locked {
            let any = if self.family == AF_INET { ANY4 } else { ANY6 };
            self.set_ip(&mut s, any);
        }
        if !s.port_locked && port != 0 {
            self.net.unbind(false, port, self.id);
            s.port = 0;
        }
    }

    fn udp_send(&self, data: &[Seg], to: Option<&[u8]>) -> Result<usize, Errno> {
        let len = host::segs_len(data);
        let (dest, dport, src) = {
            let mut s = self.lock();
            let (ip, port) = match to {
                Some(a) => {
                    if self.family == AF_INET && a.len() >= 16 && a[0] == 0 && a[1] == 0 {
                        // AF_UNSPEC: sent as AF_INET (udp_sendmsg).
                        (
                            mapped([a[4], a[5], a[6], a[7]]),
                            u16::from_be_bytes([a[2], a[3]]),
                        )
                    } else {
                        self.parse(a, false)?
                    }
                }
                None => s.peer.ok_or(Errno::EDESTADDRREQ)?,
            };
            let max = if self.family == AF_INET {
                UDP_MAX_V4
            } else {
                UDP_MAX_V6
            };
            if len > max {
                return Err(Errno::EMSGSIZE);
            }
            if port == 0 {
                return Err(Errno::EINVAL);
            }
            let dest = self.route(&s, ip)?;
            // A refusal heard since the last call (sock_alloc_send_pskb's sock_error).
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            if s.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            let any = if self.family == AF_INET { ANY4 } else { ANY6 };
            self.autobind(&mut s, any)?;
            (dest, port, (Self::source(&s, &dest), s.port))
        };
        let mut buf = vec![0u8; len];
        host::copy_from_segs(data, &mut buf);
        match self.net.find(false, &dest, dport, src) {
            Some(r) => r.deliver(src, buf),
            None => {
                // Port unreachable: a connected socket hears of it (ICMP), on its next call.
                let mut s = self.lock();
                if s.peer.is_some() && to.is_none() {
                    s.err = Some(Errno::ECONNREFUSED);
                    drop(s);
                    self.ep.wq.notify_all();
                }
            }
        }
        Ok(len)
    }

    /// Queues a datagram unless the receive buffer is full (then it is dropped).
    fn deliver(&self, from: (Ip, u16), data: Vec<u8>) {
        let mut s = self.lock();
        let cost = data.len() + DGRAM_OVERHEAD;
        if s.queued + cost > s.opts.rcvbuf || s.shutdown & RCV_SHUTDOWN != 0 {
            return;
        }
        s.queued += cost;
        s.queue.push_back(Dgram { from, data });
        drop(s);
        self.ep
            .wq
            .notify_events((libc::POLLIN | libc::POLLRDNORM) as u32);
    }

    fn udp_recv(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let attempt = || -> Option<Result<Recvd, Errno>> {
            let mut s = self.lock();
            if let Some(e) = s.err.take() {
                return Some(Err(e));
            }
            let Some(d) = s.queue.front() else {
                return (s.shutdown & RCV_SHUTDOWN != 0).then_some(Ok(Recvd {
                    n: 0,
                    from: None,
                    flags: 0,
                }));
            };
            let n = host::copy_to_segs(data, &d.data);
            let full = d.data.len();
            let from = encode(self.family, &d.from.0, d.from.1);
            if flags & MSG_PEEK == 0
                && let Some(d) = s.queue.pop_front()
            {
                s.queued -= d.data.len() + DGRAM_OVERHEAD;
            }
            Some(Ok(Recvd {
                n: if flags & MSG_TRUNC != 0 { full } else { n },
                from: Some(from),
                flags: if n < full { MSG_TRUNC } else { 0 },
            }))
        };
        if nonblock {
            return attempt().unwrap_or(Err(Errno::EAGAIN));
        }
        let (timed, deadline) = self.deadline(false);
        match wait::wait_until(&[&self.ep.wq], deadline, attempt) {
            Ok(r) => r,
            Err(WaitError::Interrupted) if timed => Err(Errno::EINTR),
            Err(WaitError::Interrupted) => Err(Errno::ERESTARTSYS),
            Err(WaitError::TimedOut) => Err(Errno::EAGAIN),
        }
    }

    fn udp_poll(&self) -> u32 {
        let s = self.lock();
        let mut ev = (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32;
        if s.err.is_some() {
            ev |= libc::POLLERR as u32;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            ev |= (libc::POLLRDHUP | libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        if s.shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN {
            ev |= libc::POLLHUP as u32;
        }
        if !s.queue.is_empty() {
            ev |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        ev
    }

    // ---- options ----

    fn ip_getsockopt(&self, s: &St, opt: i32) -> Result<Vec<u8>, Errno> {
        match opt {
            libc::IP_TTL => int(if s.opts.ttl < 0 {
                DEFAULT_TTL
            } else {
                s.opts.ttl
            }),
            libc::IP_TOS => int(s.opts.tos),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn ip_setsockopt(&self, s: &mut St, opt: i32, val: i32) -> Result<(), Errno> {
        match opt {
            libc::IP_TTL => {
                if val != -1 && !(1..=255).contains(&val) {
                    return Err(Errno::EINVAL);
                }
                s.opts.ttl = val;
            }
            libc::IP_TOS => {
                let mut v = val & 0xff;
                if self.stream {
                    v = (v & !3) | (s.opts.tos & 3);
                }
                s.opts.tos = v;
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }
}

impl InetOps for LoopSock {
    fn sock_type(&self) -> i32 {
        if self.stream {
            libc::SOCK_STREAM
        } else {
            libc::SOCK_DGRAM
        }
    }

    /// bind(2) (inet_bind, inet6_bind): the address must be lo's or the wildcard.
    fn bind(&self, addr: &[u8], privileged: bool) -> Result<(), Errno> {
        let (ip, port) = self.parse(addr, true)?;
        let mut s = self.lock();
        if self.family == AF_INET6 && is_v4(&ip) && s.opts.v6only {
            return Err(Errno::EINVAL);
        }
        if !is_any(&ip) && !is_local(&ip) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        if (1..1024).contains(&port) && !privileged {
            return Err(Errno::EACCES);
        }
        if s.port != 0 || s.connected || self.listening.load(Ordering::SeqCst) {
            return Err(Errno::EINVAL);
        }
        let b = self.binding(&s, ip);
        s.port = self.net.bind(self.stream, port, b)?;
        s.ip = ip;
        s.ip_locked = !is_any(&ip);
        s.port_locked = true;
        Ok(())
    }

    /// listen(2): an unbound socket gets an ephemeral port; a second listen only changes
    /// the backlog.
    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut s = self.lock();
        if s.connected || s.connecting {
            return Err(Errno::EINVAL);
        }
        let backlog = (backlog as u32).min(unix::SOMAXCONN);
        if !self.listening.load(Ordering::SeqCst) {
            let any = if self.family == AF_INET { ANY4 } else { ANY6 };
            self.autobind(&mut s, any)?;
            // Another listener on an overlapping address wins (unless both reuse ports).
            let me = self.binding(&s, s.ip);
            {
                let map = self.net.ports();
                let clash = map.get(&(true, s.port)).is_some_and(|l| {
                    l.iter().any(|o| {
                        o.id != self.id
                            && o.overlaps(&me)
                            && !(o.reuseport && me.reuseport)
                            && o.listening.load(Ordering::SeqCst)
                    })
                });
                if clash {
                    return Err(Errno::EADDRINUSE);
                }
            }
            if !self.ep.is_bound() {
                let mut n = 1u16.to_le_bytes().to_vec();
                n.extend_from_slice(&[0, b'L']);
                n.extend_from_slice(&self.id.to_le_bytes());
                self.ep.bind_abstract(n)?;
            }
        }
        self.ep.listen(backlog, NO_CRED)?;
        self.listening.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn connect(&self, addr: &[u8], nonblock: bool) -> Result<(), Errno> {
        if addr.len() < 2 {
            return Err(Errno::EINVAL);
        }
        if u16::from_le_bytes([addr[0], addr[1]]) == 0 {
            // AF_UNSPEC: dissolve the association.
            if !self.stream {
                self.udp_disconnect();
            }
            return Ok(());
        }
        if self.stream {
            self.tcp_connect(addr, nonblock)
        } else {
            self.udp_connect(addr)
        }
    }

    fn accept(&self, nonblock: bool) -> Result<(Arc<dyn InetOps>, Vec<u8>), Errno> {
        if !self.stream {
            return Err(Errno::EOPNOTSUPP);
        }
        self.tcp_accept(nonblock)
    }

    fn sockname(&self) -> Result<Vec<u8>, Errno> {
        let s = self.lock();
        Ok(encode(self.family, &s.ip, s.port))
    }

    fn peername(&self) -> Result<Vec<u8>, Errno> {
        let s = self.lock();
        match s.peer {
            Some((ip, port)) if !self.stream || s.connected => Ok(encode(self.family, &ip, port)),
            _ => Err(Errno::ENOTCONN),
        }
    }

    /// shutdown(2) (inet_shutdown): an unconnected socket says ENOTCONN; a listener
    /// shut for reading stops listening.
    fn shutdown(&self, how: i32) -> Result<(), Errno> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        if self.stream {
            let connected = self.lock().connected;
            if self.listening.load(Ordering::SeqCst) {
                if mode & RCV_SHUTDOWN != 0 {
                    self.ep.shutdown(how)?;
                }
                return Ok(());
            }
            self.lock().shutdown |= mode;
            if !connected {
                // Marked all the same (inet_shutdown), so reads then give EOF.
                self.ep.wq.notify_all();
                return Err(Errno::ENOTCONN);
            }
            return self.ep.shutdown(how);
        }
        let mut s = self.lock();
        s.shutdown |= mode;
        let connected = s.peer.is_some();
        drop(s);
        self.ep.wq.notify_all();
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }

    fn getsockopt(&self, level: i32, opt: i32, _len: usize) -> Result<Vec<u8>, Errno> {
        let mut s = self.lock();
        match level {
            SOL_SOCKET => match opt {
                libc::SO_TYPE => int(self.sock_type()),
                libc::SO_DOMAIN => int(self.family),
                libc::SO_PROTOCOL => int(if self.stream { 6 } else { 17 }),
                libc::SO_ACCEPTCONN => int(self.listening.load(Ordering::SeqCst) as i32),
                libc::SO_SNDBUF => int(s.opts.sndbuf as i32),
                libc::SO_RCVBUF => int(s.opts.rcvbuf as i32),
                libc::SO_REUSEPORT => int(s.opts.reuseport as i32),
                libc::SO_PEERCRED => Ok(NO_CRED.to_bytes().to_vec()),
                libc::SO_ERROR => match s.err.take() {
                    Some(e) => int(e.0),
                    None => {
                        drop(s);
                        self.ep.getsockopt(opt)
                    }
                },
                _ => {
                    drop(s);
                    self.ep.getsockopt(opt)
                }
            },
            IPPROTO_TCP if self.stream => match opt {
                libc::TCP_NODELAY => int(s.opts.nodelay as i32),
                libc::TCP_CORK => int(s.opts.cork as i32),
                libc::TCP_KEEPIDLE => int(s.opts.keepidle),
                libc::TCP_KEEPINTVL => int(s.opts.keepintvl),
                libc::TCP_KEEPCNT => int(s.opts.keepcnt),
                libc::TCP_MAXSEG => int(match (s.connected, s.opts.maxseg) {
                    (true, m) if m > 0 => m.min(MSS_LOOPBACK),
                    (true, _) => MSS_LOOPBACK,
                    (false, m) if m > 0 => m,
                    (false, _) => MSS_DEFAULT,
                }),
                _ => Err(Errno::ENOPROTOOPT),
            },
            IPPROTO_IP => self.ip_getsockopt(&s, opt),
            IPPROTO_IPV6 if self.family == AF_INET6 => match opt {
                libc::IPV6_V6ONLY => int(s.opts.v6only as i32),
                libc::IPV6_UNICAST_HOPS => int(if s.opts.hops < 0 {
                    DEFAULT_TTL
                } else {
                    s.opts.hops
                }),
                _ => Err(Errno::ENOPROTOOPT),
            },
            _ if self.family == AF_INET6 => Err(Errno::ENOPROTOOPT),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    fn setsockopt(
        &self,
        level: i32,
        opt: i32,
        optlen: usize,
        read: &dyn Fn(usize) -> Result<Vec<u8>, Errno>,
        privileged: bool,
    ) -> Result<(), Errno> {
        let val = || -> Result<i32, Errno> {
            if optlen < 4 {
                return Err(Errno::EINVAL);
            }
            let b = read(4)?;
            Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        match level {
            SOL_SOCKET => match opt {
                libc::SO_SNDBUF | libc::SO_RCVBUF => {
                    let v = val()?;
                    let v = (v as u32).min(unix::MAX_BUF as u32) as usize * 2;
                    let mut s = self.lock();
                    if opt == libc::SO_SNDBUF {
                        s.opts.sndbuf = v.max(unix::MIN_SNDBUF);
                    } else {
                        s.opts.rcvbuf = v.max(unix::MIN_RCVBUF);
                    }
                    Ok(())
                }
                libc::SO_REUSEPORT => {
                    let v = val()?;
                    self.lock().opts.reuseport = v != 0;
                    Ok(())
                }
                libc::SO_TYPE
                | libc::SO_DOMAIN
                | libc::SO_PROTOCOL
                | libc::SO_ACCEPTCONN
                | libc::SO_ERROR
                | libc::SO_PEERCRED => Err(Errno::ENOPROTOOPT),
                _ => self.ep.setsockopt(opt, optlen, read, privileged),
            },
            IPPROTO_TCP if self.stream => {
                let v = val()?;
                let mut s = self.lock();
                match opt {
                    libc::TCP_NODELAY => s.opts.nodelay = v != 0,
                    libc::TCP_CORK => s.opts.cork = v != 0,
                    libc::TCP_KEEPIDLE | libc::TCP_KEEPINTVL => {
                        if !(1..=32767).contains(&v) {
                            return Err(Errno::EINVAL);
                        }
                        if opt == libc::TCP_KEEPIDLE {
                            s.opts.keepidle = v;
                        } else {
                            s.opts.keepintvl = v;
                        }
                    }
                    libc::TCP_KEEPCNT => {
                        if !(1..=127).contains(&v) {
                            return Err(Errno::EINVAL);
                        }
                        s.opts.keepcnt = v;
                    }
                    libc::TCP_MAXSEG => {
                        if v != 0 && !(88..=32767).contains(&v) {
                            return Err(Errno::EINVAL);
                        }
                        s.opts.maxseg = v;
                    }
                    _ => return Err(Errno::ENOPROTOOPT),
                }
                Ok(())
            }
            IPPROTO_IP => {
                let v = val()?;
                let mut s = self.lock();
                self.ip_setsockopt(&mut s, opt, v)
            }
            IPPROTO_IPV6 if self.family == AF_INET6 => {
                let v = val()?;
                let mut s = self.lock();
                match opt {
                    libc::IPV6_V6ONLY => {
                        if s.port != 0 {
                            return Err(Errno::EINVAL);
                        }
                        s.opts.v6only = v != 0;
                    }
                    libc::IPV6_UNICAST_HOPS => {
                        if !(-1..=255).contains(&v) {
                            return Err(Errno::EINVAL);
                        }
                        s.opts.hops = v;
                    }
                    _ => return Err(Errno::ENOPROTOOPT),
                }
                Ok(())
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn send(
        &self,
        data: &[Seg],
        to: Option<&[u8]>,
        flags: u32,
        nonblock: bool,
    ) -> Result<usize, Errno> {
        if self.stream {
            self.tcp_send(data, flags, nonblock)
        } else {
            self.udp_send(data, to)
        }
    }

    fn recv(&self, data: &[Seg], flags: u32, nonblock: bool) -> Result<Recvd, Errno> {
        if self.stream {
            self.tcp_recv(data, flags, nonblock)
        } else {
            self.udp_recv(data, flags, nonblock)
        }
    }

    fn precheck(&self, send: bool, to: Option<&[u8]>, nonblock: bool) -> Result<(), Errno> {
        let mut s = self.lock();
        if let Some(e) = s.err.take() {
            return Err(e);
        }
        if self.stream {
            if !s.connected && (send || !(s.reset || s.shutdown & RCV_SHUTDOWN != 0)) {
                return Err(if send { Errno::EPIPE } else { Errno::ENOTCONN });
            }
            drop(s);
            if !send && nonblock && self.ep.poll() & libc::POLLIN as u32 == 0 {
                return Err(Errno::EAGAIN);
            }
            return Ok(());
        }
        if send {
            match to {
                Some(a) => {
                    let (ip, _) = self.parse(a, false)?;
                    self.route(&s, ip)?;
                }
                None if s.peer.is_none() => return Err(Errno::EDESTADDRREQ),
                None => {}
            }
        } else if nonblock && s.queue.is_empty() {
            return Err(Errno::EAGAIN);
        }
        Ok(())
    }

    /// tcp_poll: an unconnected socket is writable and hung up; a listener is readable
    /// with connections waiting; a connection is its endpoint.
    fn poll(&self) -> u32 {
        if !self.stream {
            return self.udp_poll();
        }
        const HUP: u32 = libc::POLLHUP as u32;
        const RESET: u32 =
            (libc::POLLIN | libc::POLLRDNORM | libc::POLLRDHUP | libc::POLLHUP) as u32;
        let (connected, err, reset, own) = {
            let s = self.lock();
            (s.connected, s.err.is_some(), s.reset, s.shutdown)
        };
        let mut ev = if self.listening.load(Ordering::SeqCst) {
            self.ep.poll()
        } else if connected {
            // The peer's close is a FIN: readable to EOF, not hung up (until a reset or
            // this side's own shutdown of sending).
            let ev = self.ep.poll();
            if own & SEND_SHUTDOWN == 0 && ev & libc::POLLERR as u32 == 0 {
                ev & !HUP
            } else {
                ev
            }
        } else if own & RCV_SHUTDOWN != 0 {
            (libc::POLLOUT | libc::POLLWRNORM) as u32 | RESET
        } else {
            (libc::POLLOUT | libc::POLLWRNORM) as u32 | HUP
        };
        if reset {
            ev |= RESET;
        }
        if err {
            ev |= libc::POLLERR as u32;
        }
        ev
    }

    fn wait_queue(&self) -> Arc<WaitQueue> {
        self.ep.wq.clone()
    }

    fn queued(&self, out: bool) -> Result<usize, Errno> {
        if self.stream {
            if self.listening.load(Ordering::SeqCst) {
                return Err(Errno::EINVAL);
            }
            if out || !self.lock().connected {
                return Ok(0);
            }
            return self.ep.inq();
        }
        if out {
            return Ok(0);
        }
        Ok(self.lock().queue.front().map_or(0, |d| d.data.len()))
    }
}
