//! AF_UNIX sockets (unix(7)), entirely inside the sentry: stream, datagram and
//! sequenced-packet endpoints, their receive queues, the listen backlog, the name
//! registry (filesystem bindings by inode, the abstract namespace), SCM_RIGHTS and
//! SCM_CREDENTIALS payloads, shutdown and the poll events Linux reports.
//!
//! An `Endpoint` is Linux's `struct sock`: it lives as long as something refers to it
//! (its file, its peer, messages it sent), while `release` — the last close of its file —
//! is what disconnects it. Messages are charged to the sender's send buffer by the size
//! Linux's sk_buffs would have (`truesize`), so a program that fills a socket stops after
//! as many writes as it would on Linux. Blocking goes through the task's waiter
//! (`wait::wait_until`/`wait_guard`): a signal ends the wait with ERESTARTSYS, or EINTR
//! when a SO_RCVTIMEO/SO_SNDTIMEO timeout is set; the timeout itself gives EAGAIN.
//!
//! Descriptors in flight are counted, and sockets reachable only through them (cycles of
//! sockets sent to each other) are collected at each release, as Linux's unix_gc does.
//!
//! Locks: the in-flight count (`Names::inflight`) comes before endpoint locks; each
//! endpoint's `state`, two taken together only through `lock2` (in inode order; a new
//! connection's endpoint, not yet visible to anyone, is set up under both). `bound`, the
//! registry map and the
//! wait queues are leaves. Messages (which may hold the last reference to a socket) are
//! never dropped with an endpoint lock held.

use crate::host::{self, Seg};
use crate::vfs::file::FileDescription;
use crate::wait::{self, WaitError, WaitQueue};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use syscalls_table::Errno;

pub const AF_UNSPEC: u16 = 0;
pub const AF_UNIX: u16 = 1;

const RCV_SHUTDOWN: u8 = 1;
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = 3;

/// net.core.{w,r}mem_default and _max (Linux's defaults; the host may be tuned
/// differently, the sandbox is not).
pub const DEFAULT_BUF: usize = 212_992;
pub const MAX_BUF: usize = 212_992;
/// SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF of x86-64 Linux.
pub const MIN_SNDBUF: usize = 4608;
pub const MIN_RCVBUF: usize = 2304;
/// net.unix.max_dgram_qlen.
const MAX_DGRAM_QLEN: usize = 10;
/// net.core.somaxconn.
pub const SOMAXCONN: u32 = 4096;
/// SCM_MAX_FD: descriptors one message may carry.
pub const SCM_MAX_FD: usize = 253;
/// Socket timeouts are kept in jiffies, as Linux does (CONFIG_HZ=250), so what
/// getsockopt reports back is rounded the same way.
const HZ: u64 = 250;
/// overflowuid/overflowgid: what a message without credentials shows.
const OVERFLOW_ID: u32 = 65534;

// Linux's sk_buff sizes on x86-64, for the send-buffer accounting.
const SKB_SHINFO: usize = 320;
const SKB_STRUCT: usize = 256;
const PAGE: usize = 4096;
/// SKB_MAX_HEAD(0): the linear part of a stream skb before pages are used.
const SKB_MAX_HEAD: usize = PAGE - SKB_SHINFO;
/// SKB_MAX_ALLOC: the linear part of a datagram before pages are used.
const SKB_MAX_ALLOC: usize = 4 * PAGE - SKB_SHINFO;
/// MAX_SKB_FRAGS pages.
const MAX_FRAG_BYTES: usize = 17 * PAGE;
/// The largest stream skb (SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ).
const MAX_STREAM_SKB: usize = SKB_MAX_HEAD + 32768;

/// What an sk_buff with `linear` bytes in its head and `paged` bytes in pages costs
/// (its truesize): the head comes from kmalloc (a power of two here), plus the struct.
fn truesize(linear: usize, paged: usize) -> usize {
    let head = linear.div_ceil(64) * 64 + SKB_SHINFO;
    head.next_power_of_two() + SKB_STRUCT + paged
}

/// The truesize of a stream skb carrying `size` bytes.
fn stream_truesize(size: usize) -> usize {
    let paged = if size > SKB_MAX_HEAD {
        size.min((size - SKB_MAX_HEAD).div_ceil(PAGE) * PAGE)
    } else {
        0
    };
    truesize(size - paged, paged)
}

/// The truesize of a datagram of `len` bytes.
fn dgram_truesize(len: usize) -> usize {
    let paged = if len > SKB_MAX_ALLOC {
        (len - SKB_MAX_ALLOC).min(MAX_FRAG_BYTES).div_ceil(PAGE) * PAGE
    } else {
        0
    };
    truesize(len - paged, paged)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SockType {
    Stream,
    Dgram,
    Seqpacket,
}

impl SockType {
    /// The SOCK_* number.
    pub fn linux(self) -> i32 {
        match self {
            SockType::Stream => libc::SOCK_STREAM,
            SockType::Dgram => libc::SOCK_DGRAM,
            SockType::Seqpacket => libc::SOCK_SEQPACKET,
        }
    }

    /// Whether the type has connections (listen/accept).
    pub fn connection(self) -> bool {
        self != SockType::Dgram
    }
}

/// Process credentials as SO_PEERCRED and SCM_CREDENTIALS carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// What a message that carries no credentials shows.
    const NOBODY: Ucred = Ucred {
        pid: 0,
        uid: OVERFLOW_ID,
        gid: OVERFLOW_ID,
    };

    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..].copy_from_slice(&self.gid.to_le_bytes());
        b
    }
}

/// A socket timeout in jiffies (None: wait forever).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeo(Option<u64>);

impl Timeo {
    /// sock_set_timeout: EDOM for microseconds outside [0, 1e6); a negative time means
    /// "do not wait at all"; zero means no timeout.
    pub fn from_timeval(sec: i64, usec: i64) -> Result<Timeo, Errno> {
        if !(0..1_000_000).contains(&usec) {
            return Err(Errno::EDOM);
        }
        if sec < 0 {
            return Ok(Timeo(Some(0)));
        }
        if sec == 0 && usec == 0 {
            return Ok(Timeo(None));
        }
        if sec as u64 >= i64::MAX as u64 / HZ - 1 {
            return Ok(Timeo(None));
        }
        Ok(Timeo(Some(
            sec as u64 * HZ + (usec as u64).div_ceil(1_000_000 / HZ),
        )))
    }

    /// sock_get_timeout: (seconds, microseconds).
    pub fn to_timeval(self) -> (i64, i64) {
        match self.0 {
            None => (0, 0),
            Some(j) => ((j / HZ) as i64, ((j % HZ) * 1_000_000 / HZ) as i64),
        }
    }

    /// How long a call may wait: None forever, zero not at all.
    pub fn duration(self) -> Option<Duration> {
        self.0
            .map(|j| Duration::from_micros(j.saturating_mul(1_000_000 / HZ)))
    }

    /// The wait a call with this timeout makes (`nonblock`: none at all).
    fn wait(self, nonblock: bool) -> Wait {
        match (nonblock, self.0) {
            (true, _) | (false, Some(0)) => Wait::No,
            (false, None) => Wait::Forever,
            (false, Some(j)) => {
                let d = Duration::from_micros(j * (1_000_000 / HZ));
                Wait::Until(Instant::now().checked_add(d))
            }
        }
    }
}

/// How long a call may block.
#[derive(Clone, Copy)]
enum Wait {
    No,
    Forever,
    /// A timeout (None: too far to represent, i.e. forever but still "timed").
    Until(Option<Instant>),
}

impl Wait {
    fn deadline(self) -> Option<Instant> {
        match self {
            Wait::Until(d) => d,
            _ => None,
        }
    }

    /// sock_intr_errno and the time-out result.
    fn error(self, e: WaitError) -> Errno {
        match (e, self) {
            (WaitError::Interrupted, Wait::Forever) => Errno::ERESTARTSYS,
            (WaitError::Interrupted, _) => Errno::EINTR,
            (WaitError::TimedOut, _) => Errno::EAGAIN,
        }
    }
}

/// Runs `attempt` until it gives a result, sleeping on `queues` between attempts as
/// `how` allows (EAGAIN when it does not allow waiting).
fn block<T>(
    queues: &[&WaitQueue],
    how: Wait,
    mut attempt: impl FnMut() -> Option<Result<T, Errno>>,
) -> Result<T, Errno> {
    if let Wait::No = how {
        return attempt().unwrap_or(Err(Errno::EAGAIN));
    }
    match wait::wait_until(queues, how.deadline(), attempt) {
        Ok(r) => r,
        Err(e) => Err(how.error(e)),
    }
}

/// The descriptors a message carries, counted as in flight for their sender's user
/// until received or dropped.
struct Rights {
    fds: Vec<Arc<FileDescription>>,
    uid: u32,
    names: Arc<Names>,
}

impl Rights {
    /// The descriptors, no longer in flight. Called without endpoint locks held (the
    /// in-flight count's lock comes before them, see `Names::collect_garbage`).
    fn into_fds(mut self) -> Vec<Arc<FileDescription>> {
        let fds = std::mem::take(&mut self.fds);
        self.names.uncount_inflight(self.uid, &fds);
        fds
    }
}

impl Drop for Rights {
    fn drop(&mut self) {
        self.names.uncount_inflight(self.uid, &self.fds);
    }
}

/// One sk_buff: a datagram, or a piece of a stream.
struct Message {
    data: Vec<u8>,
    /// Bytes already read (streams).
    off: usize,
    truesize: usize,
    /// The endpoint the message is charged to (and whose address recvfrom reports).
    sender: Arc<Endpoint>,
    creds: Option<Ucred>,
    rights: Option<Rights>,
}

impl Message {
    fn left(&self) -> usize {
        self.data.len() - self.off
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        self.sender.uncharge(self.truesize);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    /// TCP_CLOSE.
    Unconnected,
    Listening,
    /// TCP_ESTABLISHED (stays so after the peer goes away).
    Connected,
}

/// Where a bound name is registered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum BindKey {
    Abstract(SockType, Vec<u8>),
    Path(u64, u64),
}

struct Bound {
    /// The address as getsockname returns it (family included).
    addr: Vec<u8>,
    /// None for an accepted socket, which shows its listener's name without owning it.
    key: Option<BindKey>,
}

/// SOL_SOCKET options kept only to be read back.
#[derive(Clone, Copy, Default)]
struct Flags {
    reuseaddr: bool,
    keepalive: bool,
    broadcast: bool,
    dontroute: bool,
    oobinline: bool,
    debug: bool,
    passsec: bool,
    priority: i32,
    linger: (i32, i32),
}

struct State {
    conn: Conn,
    peer: Option<Arc<Endpoint>>,
    /// Listening: the maximum queued connections beyond the first, and the connections
    /// (endpoints already joined to their clients) waiting for accept.
    backlog: usize,
    pending: VecDeque<Arc<Endpoint>>,
    queue: VecDeque<Message>,
    shutdown: u8,
    err: Option<Errno>,
    passcred: bool,
    rcvbuf: usize,
    rcvtimeo: Timeo,
    sndtimeo: Timeo,
    rcvlowat: i32,
    peercred: Option<Ucred>,
    flags: Flags,
    /// Senders told "not writable" because this (datagram) socket's queue was full;
    /// woken when it drains (Linux's unix_dgram_peer_wake_me).
    peer_wakers: Vec<Weak<Endpoint>>,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A new socket inode number (shared by every family, so no two sockets show the same).
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

pub struct Endpoint {
    /// The endpoint itself, for the registry's weak references.
    me: Weak<Endpoint>,
    pub ino: u64,
    pub kind: SockType,
    names: Arc<Names>,
    state: Mutex<State>,
    /// Readers, writers, acceptors and pollers of this socket.
    pub wq: Arc<WaitQueue>,
    /// Who waits for room in this socket's receive queue or backlog (peer_wait).
    peer_wait: WaitQueue,
    /// Bytes (truesize) of messages this socket sent that are still queued somewhere.
    wmem: AtomicUsize,
    sndbuf: AtomicUsize,
    bound: Mutex<Option<Bound>>,
    dead: AtomicBool,
}

/// Locks two endpoints in a fixed order; the second guard is None when they are the same.
fn lock2<'a>(
    a: &'a Endpoint,
    b: &'a Endpoint,
) -> (MutexGuard<'a, State>, Option<MutexGuard<'a, State>>) {
    if std::ptr::eq(a, b) {
        return (a.lock(), None);
    }
    if a.ino < b.ino {
        let ga = a.lock();
        (ga, Some(b.lock()))
    } else {
        let gb = b.lock();
        (a.lock(), Some(gb))
    }
}

fn same(a: &Option<Arc<Endpoint>>, b: &Endpoint) -> bool {
    a.as_ref().is_some_and(|x| std::ptr::eq(Arc::as_ptr(x), b))
}

/// What one receive produced.
#[derive(Default)]
pub struct Received {
    /// The call's result (the full datagram length with MSG_TRUNC).
    pub n: usize,
    /// A datagram did not fit (MSG_TRUNC in msg_flags).
    pub trunc: bool,
    /// The sender's address (None: unbound, or none asked).
    pub from: Option<Vec<u8>>,
    /// SCM_CREDENTIALS to report (the receiver has SO_PASSCRED).
    pub creds: Option<Ucred>,
    /// SCM_RIGHTS descriptors.
    pub fds: Vec<Arc<FileDescription>>,
}

/// recvmsg flags that matter here.
#[derive(Clone, Copy, Default)]
pub struct RecvFlags {
    pub peek: bool,
    pub waitall: bool,
    pub trunc: bool,
    pub oob: bool,
    pub nonblock: bool,
    pub want_addr: bool,
}

/// One send.
pub struct Outgoing<'a> {
    pub data: &'a [Seg],
    /// SCM_RIGHTS.
    pub fds: Vec<Arc<FileDescription>>,
    /// SCM_CREDENTIALS given by the sender.
    pub creds: Option<Ucred>,
    /// The sender's own credentials (attached when either side passes credentials).
    pub own: Ucred,
    /// A datagram's destination (sendto, sendmsg with a name).
    pub to: Option<Arc<Endpoint>>,
    /// A name was given (a stream refuses it).
    pub has_addr: bool,
    pub nonblock: bool,
    pub oob: bool,
    /// The in-flight descriptor limit of the sender's user (None: privileged).
    pub inflight_limit: Option<u64>,
}

impl Endpoint {
    pub fn new(names: &Arc<Names>, kind: SockType) -> Arc<Endpoint> {
        Arc::new_cyclic(|me| Endpoint {
            me: me.clone(),
            ino: next_ino(),
            kind,
            names: names.clone(),
            state: Mutex::new(State {
                conn: Conn::Unconnected,
                peer: None,
                backlog: 0,
                pending: VecDeque::new(),
                queue: VecDeque::new(),
                shutdown: 0,
                err: None,
                passcred: false,
                rcvbuf: DEFAULT_BUF,
                rcvtimeo: Timeo::default(),
                sndtimeo: Timeo::default(),
                rcvlowat: 1,
                peercred: None,
                flags: Flags::default(),
                peer_wakers: Vec::new(),
            }),
            wq: Default::default(),
            peer_wait: Default::default(),
            wmem: AtomicUsize::new(0),
            sndbuf: AtomicUsize::new(DEFAULT_BUF),
            bound: Mutex::new(None),
            dead: AtomicBool::new(false),
        })
    }

    /// socketpair(2): two connected endpoints, each with the creator as its peer.
    pub fn pair(names: &Arc<Names>, kind: SockType, cred: Ucred) -> (Arc<Endpoint>, Arc<Endpoint>) {
        let a = Endpoint::new(names, kind);
        let b = Endpoint::new(names, kind);
        for (x, y) in [(&a, &b), (&b, &a)] {
            let mut s = x.lock();
            s.conn = Conn::Connected;
            s.peer = Some(y.clone());
            s.peercred = Some(cred);
        }
        (a, b)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bound(&self) -> MutexGuard<'_, Option<Bound>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO.
    pub fn timeouts(&self) -> (Timeo, Timeo) {
        let s = self.lock();
        (s.rcvtimeo, s.sndtimeo)
    }

    /// The bound address (None: unbound).
    pub fn addr(&self) -> Option<Vec<u8>> {
        self.bound().as_ref().map(|b| b.addr.clone())
    }

    /// getpeername: the peer's address (None: the peer is unbound); ENOTCONN without one.
    pub fn peer_addr(&self) -> Result<Option<Vec<u8>>, Errno> {
        let peer = self.lock().peer.clone().ok_or(Errno::ENOTCONN)?;
        Ok(peer.addr())
    }

    pub fn passcred(&self) -> bool {
        self.lock().passcred
    }

    /// Releases `n` bytes of send buffer; writers wake once a quarter or less is used
    /// (unix_write_space).
    fn uncharge(&self, n: usize) {
        let left = self.wmem.fetch_sub(n, Ordering::SeqCst).saturating_sub(n);
        if (left + 1) * 4 <= self.sndbuf.load(Ordering::SeqCst) {
            self.wq
                .notify_events((libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32);
        }
    }

    fn writable(&self, s: &State) -> bool {
        s.conn != Conn::Listening
            && (self.wmem.load(Ordering::SeqCst) + 1) * 4 <= self.sndbuf.load(Ordering::SeqCst)
    }

    // ---- names ----

    /// bind(2) to an abstract name (`addr` is the whole sockaddr).
    pub fn bind_abstract(&self, addr: Vec<u8>) -> Result<(), Errno> {
        let mut b = self.bound();
        if b.is_some() {
            return Err(Errno::EINVAL);
        }
        let key = BindKey::Abstract(self.kind, addr[2..].to_vec());
        self.names.register(&key, self)?;
        *b = Some(Bound {
            addr,
            key: Some(key),
        });
        Ok(())
    }

    /// bind(2) to a filesystem node the caller created: `node` is its (dev, ino).
    /// EINVAL if already bound (the caller then removes the node, as Linux does).
    pub fn bind_path(&self, addr: Vec<u8>, node: (u64, u64)) -> Result<(), Errno> {
        let mut b = self.bound();
        if b.is_some() {
            return Err(Errno::EINVAL);
        }
        let key = BindKey::Path(node.0, node.1);
        self.names.register(&key, self)?;
        *b = Some(Bound {
            addr,
            key: Some(key),
        });
        Ok(())
    }

    /// Whether the socket has a name.
    pub fn is_bound(&self) -> bool {
        self.bound().is_some()
    }

    /// Autobind: an abstract name of five hex digits; nothing if already bound.
    pub fn autobind(&self) -> Result<(), Errno> {
        let mut b = self.bound();
        if b.is_some() {
            return Ok(());
        }
        let start = (host::random_u64() & 0xfffff) as u32;
        for i in 0..=0xfffffu32 {
            let n = (start.wrapping_add(i + 1)) & 0xfffff;
            let mut addr = AF_UNIX.to_le_bytes().to_vec();
            addr.push(0);
            addr.extend_from_slice(format!("{n:05x}").as_bytes());
            let key = BindKey::Abstract(self.kind, addr[2..].to_vec());
            if self.names.register(&key, self).is_ok() {
                *b = Some(Bound {
                    addr,
                    key: Some(key),
                });
                return Ok(());
            }
        }
        Err(Errno::ENOSPC)
    }

    // ---- connections ----

    /// listen(2).
    pub fn listen(&self, backlog: u32, cred: Ucred) -> Result<(), Errno> {
        if !self.kind.connection() {
            return Err(Errno::EOPNOTSUPP);
        }
        if !self.is_bound() {
            return Err(Errno::EINVAL);
        }
        let mut s = self.lock();
        if s.conn == Conn::Connected {
            return Err(Errno::EINVAL);
        }
        let grow = backlog as usize > s.backlog;
        s.backlog = backlog as usize;
        s.conn = Conn::Listening;
        // Connecting sockets get the listener's credentials as their peer's.
        s.peercred = Some(cred);
        drop(s);
        if grow {
            self.peer_wait.notify_all();
        }
        Ok(())
    }

    /// connect(2) of a stream or seqpacket socket to the listening `target`: a new
    /// endpoint joined to this one waits in the target's backlog for accept. A full
    /// backlog makes the caller wait (SO_SNDTIMEO) or fail with EAGAIN.
    pub fn connect(
        self: &Arc<Self>,
        target: &Arc<Endpoint>,
        nonblock: bool,
        cred: Ucred,
    ) -> Result<(), Errno> {
        let how = self.lock().sndtimeo.wait(nonblock);
        let r = block(&[&target.peer_wait], how, || self.try_connect(target, cred));
        if r.is_ok() {
            target
                .wq
                .notify_events((libc::POLLIN | libc::POLLRDNORM) as u32);
            self.wq.notify_all();
        }
        r
    }

    fn try_connect(
        self: &Arc<Self>,
        target: &Arc<Endpoint>,
        cred: Ucred,
    ) -> Option<Result<(), Errno>> {
        if target.is_dead() {
            return Some(Err(Errno::ECONNREFUSED));
        }
        let (mut me, other) = lock2(self, target);
        let Some(mut other) = other else {
            // Connecting a socket to itself: it would have to be listening, and a
            // listening socket cannot connect.
            return Some(Err(
                if me.conn != Conn::Listening || me.shutdown & RCV_SHUTDOWN != 0 {
                    Errno::ECONNREFUSED
                } else if me.pending.len() > me.backlog {
                    return None;
                } else {
                    Errno::EINVAL
                },
            ));
        };
        if other.conn != Conn::Listening || other.shutdown & RCV_SHUTDOWN != 0 {
            return Some(Err(Errno::ECONNREFUSED));
        }
        if other.pending.len() > other.backlog {
            return None;
        }
        match me.conn {
            Conn::Connected => return Some(Err(Errno::EISCONN)),
            Conn::Listening => return Some(Err(Errno::EINVAL)),
            Conn::Unconnected => {}
        }
        let e = Endpoint::new(&self.names, self.kind);
        {
            let mut es = e.lock();
            es.conn = Conn::Connected;
            es.peer = Some(self.clone());
            es.peercred = Some(cred);
        }
        *e.bound() = target.addr().map(|addr| Bound { addr, key: None });
        me.peer = Some(e.clone());
        me.conn = Conn::Connected;
        me.peercred = other.peercred;
        other.pending.push_back(e);
        Some(Ok(()))
    }

    /// accept(2): the next connection, which inherits the listener's SO_PASSCRED.
    pub fn accept(&self, nonblock: bool) -> Result<Arc<Endpoint>, Errno> {
        if !self.kind.connection() {
            return Err(Errno::EOPNOTSUPP);
        }
        let how = {
            let s = self.lock();
            if s.conn != Conn::Listening {
                return Err(Errno::EINVAL);
            }
            s.rcvtimeo.wait(nonblock)
        };
        let blocking = !matches!(how, Wait::No);
        let e = block(&[&self.wq], how, || {
            let mut s = self.lock();
            if let Some(e) = s.err.take() {
                return Some(Err(e));
            }
            if let Some(e) = s.pending.pop_front() {
                return Some(Ok((e, s.passcred)));
            }
            // A listener shut down for reading has nothing more to give; a blocking
            // accept says so with EINVAL, a non-blocking one just finds nothing.
            (blocking && s.shutdown & RCV_SHUTDOWN != 0).then_some(Err(Errno::EINVAL))
        });
        let (e, passcred) = e?;
        e.lock().passcred = passcred;
        self.peer_wait.notify_all();
        Ok(e)
    }

    /// connect(2) of a datagram socket: sets (or with None, clears) the default
    /// destination. A socket connected elsewhere refuses us (EPERM).
    pub fn connect_dgram(self: &Arc<Self>, target: Option<&Arc<Endpoint>>) -> Result<(), Errno> {
        let old = match target {
            Some(t) => {
                if t.is_dead() {
                    return Err(Errno::ECONNREFUSED);
                }
                let (mut me, other) = lock2(self, t);
                let may = match &other {
                    Some(o) => o.peer.is_none() || same(&o.peer, self),
                    None => true,
                };
                if !may {
                    return Err(Errno::EPERM);
                }
                me.conn = Conn::Connected;
                me.peer.replace(t.clone())
            }
            None => {
                let mut me = self.lock();
                me.conn = Conn::Unconnected;
                me.peer.take()
            }
        };
        if let Some(old) = old
            && target.is_none_or(|t| !Arc::ptr_eq(t, &old))
        {
            self.dgram_disconnected(&old);
        }
        self.wq.notify_all();
        Ok(())
    }

    /// Leaving datagram peer `old` drops what we had queued; if it was connected back to
    /// us, it learns of it (ECONNRESET) — unix_dgram_disconnected.
    fn dgram_disconnected(&self, old: &Arc<Endpoint>) {
        let purged = std::mem::take(&mut self.lock().queue);
        if purged.is_empty() {
            return;
        }
        self.peer_wait.notify_all();
        if !old.is_dead() {
            let mut o = old.lock();
            if same(&o.peer, self) {
                o.err = Some(Errno::ECONNRESET);
                drop(o);
                old.wq.notify_all();
            }
        }
        drop(purged);
    }

    /// shutdown(2); a connection's peer sees the other half.
    pub fn shutdown(&self, how: i32) -> Result<(), Errno> {
        if !(0..=2).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        let peer = {
            let mut s = self.lock();
            s.shutdown |= mode;
            s.peer.clone()
        };
        self.wq.notify_all();
        self.peer_wait.notify_all();
        if self.kind.connection()
            && let Some(p) = peer
        {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            p.lock().shutdown |= peer_mode;
            p.wq.notify_all();
        }
        Ok(())
    }

    // ---- data ----

    /// Takes `truesize` bytes of send buffer (sock_alloc_send_pskb): a pending error or
    /// a shut-down sending side fail first; a full buffer waits or gives EAGAIN.
    fn alloc(&self, size: usize, how: Wait) -> Result<(), Errno> {
        block(&[&self.wq], how, || {
            let mut s = self.lock();
            if let Some(e) = s.err.take() {
                return Some(Err(e));
            }
            if s.shutdown & SEND_SHUTDOWN != 0 {
                return Some(Err(Errno::EPIPE));
            }
            if self.wmem.load(Ordering::SeqCst) < self.sndbuf.load(Ordering::SeqCst) {
                self.wmem.fetch_add(size, Ordering::SeqCst);
                return Some(Ok(()));
            }
            None
        })
    }

    fn rights(
        &self,
        fds: Vec<Arc<FileDescription>>,
        uid: u32,
        limit: Option<u64>,
    ) -> Result<Option<Rights>, Errno> {
        if fds.is_empty() {
            return Ok(None);
        }
        self.names.count_inflight(uid, &fds, limit)?;
        Ok(Some(Rights {
            fds,
            uid,
            names: self.names.clone(),
        }))
    }

    /// What a sequenced-packet socket checks before anything of the message: a pending
    /// error, then the connection (unix_seqpacket_sendmsg).
    pub fn send_precheck(&self) -> Result<(), Errno> {
        if self.kind != SockType::Seqpacket {
            return Ok(());
        }
        let mut s = self.lock();
        if let Some(e) = s.err.take() {
            return Err(e);
        }
        if s.conn != Conn::Connected {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    /// The send buffer size (a datagram may be at most 32 bytes less).
    pub fn sndbuf(&self) -> usize {
        self.sndbuf.load(Ordering::SeqCst)
    }

    /// Whether a default destination is set.
    pub fn has_peer(&self) -> bool {
        self.lock().peer.is_some()
    }

    /// Takes the pending error (sock_error).
    pub fn take_error(&self) -> Option<Errno> {
        self.lock().err.take()
    }

    /// Records an error for the next call to report (recvmmsg's deferred error).
    pub fn set_error(&self, e: Errno) {
        self.lock().err = Some(e);
        self.wq.notify_all();
    }

    /// sendmsg(2) and write(2).
    pub fn send(self: &Arc<Self>, m: Outgoing<'_>) -> Result<usize, Errno> {
        match self.kind {
            SockType::Stream => self.send_stream(m),
            SockType::Seqpacket => {
                self.send_precheck()?;
                // The destination is the peer whatever name was given.
                self.send_dgram(Outgoing { to: None, ..m })
            }
            SockType::Dgram => self.send_dgram(m),
        }
    }

    fn send_stream(self: &Arc<Self>, m: Outgoing<'_>) -> Result<usize, Errno> {
        if m.oob {
            return Err(Errno::EOPNOTSUPP);
        }
        let (peer, passcred, how) = {
            let s = self.lock();
            if m.has_addr {
                return Err(if s.conn == Conn::Connected {
                    Errno::EISCONN
                } else {
                    Errno::EOPNOTSUPP
                });
            }
            let Some(peer) = s.peer.clone() else {
                return Err(Errno::ENOTCONN);
            };
            if s.shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            (peer, s.passcred, s.sndtimeo.wait(m.nonblock))
        };
        let len = host::segs_len(m.data);
        let uid = m.own.uid;
        let mut rights = self.rights(m.fds, uid, m.inflight_limit)?;
        let mut sent = 0usize;
        while sent < len {
            let sndbuf = self.sndbuf.load(Ordering::SeqCst);
            let size = (len - sent).min(sndbuf / 2 - 64).min(MAX_STREAM_SKB);
            let cost = stream_truesize(size);
            if let Err(e) = self.alloc(cost, how) {
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
            let mut data = vec![0u8; size];
            host::copy_from_segs(&host::sub_segs(m.data, sent, size), &mut data);
            let mut msg = Message {
                data,
                off: 0,
                truesize: cost,
                sender: self.clone(),
                creds: None,
                rights: rights.take(),
            };
            let mut p = peer.lock();
            if peer.is_dead() || p.shutdown & RCV_SHUTDOWN != 0 {
                drop(p);
                drop(msg);
                return if sent > 0 {
                    Ok(sent)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            if m.creds.is_some() || passcred || p.passcred {
                msg.creds = Some(m.creds.unwrap_or(m.own));
            }
            p.queue.push_back(msg);
            drop(p);
            peer.wq
                .notify_events((libc::POLLIN | libc::POLLRDNORM | libc::POLLRDBAND) as u32);
            sent += size;
        }
        Ok(sent)
    }

    fn send_dgram(self: &Arc<Self>, m: Outgoing<'_>) -> Result<usize, Errno> {
        if m.oob {
            return Err(Errno::EOPNOTSUPP);
        }
        let (target, passcred, how) = {
            let s = self.lock();
            let t = match (&m.to, &s.peer) {
                (Some(t), _) => t.clone(),
                (None, Some(p)) => p.clone(),
                (None, None) => return Err(Errno::ENOTCONN),
            };
            (t, s.passcred, s.sndtimeo.wait(m.nonblock))
        };
        if passcred {
            self.autobind()?;
        }
        let len = host::segs_len(m.data);
        if len + 32 > self.sndbuf.load(Ordering::SeqCst) {
            return Err(Errno::EMSGSIZE);
        }
        // The buffer may be large (SO_SNDBUFFORCE): failing to get it is ENOBUFS.
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| Errno::ENOBUFS)?;
        data.resize(len, 0);
        let rights = self.rights(m.fds, m.own.uid, m.inflight_limit)?;
        let cost = dgram_truesize(len);
        self.alloc(cost, how)?;
        host::copy_from_segs(m.data, &mut data);
        let mut msg = Some(Message {
            data,
            off: 0,
            truesize: cost,
            sender: self.clone(),
            creds: None,
            rights,
        });
        let explicit = m.creds;
        let own = m.own;
        let seqpacket = self.kind == SockType::Seqpacket;
        let mut refused = false;
        let r = block(&[&target.peer_wait], how, || {
            if target.is_dead() {
                if seqpacket {
                    return Some(Err(Errno::EPIPE));
                }
                refused = true;
                return Some(Err(Errno::ECONNREFUSED));
            }
            let (mut me, other) = lock2(self, &target);
            let selfsend = other.is_none();
            let mut other = other;
            let o: &mut State = match other.as_mut() {
                Some(o) => o,
                None => &mut me,
            };
            // unix_may_send: a receiver connected elsewhere takes nothing from us.
            if o.peer.is_some() && !same(&o.peer, self) {
                return Some(Err(Errno::EPERM));
            }
            if o.shutdown & RCV_SHUTDOWN != 0 {
                return Some(Err(Errno::EPIPE));
            }
            if !selfsend && !same(&o.peer, self) && o.queue.len() > MAX_DGRAM_QLEN {
                if !o
                    .peer_wakers
                    .iter()
                    .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
                {
                    o.peer_wakers.push(Arc::downgrade(self));
                }
                return None;
            }
            let mut msg = msg.take()?;
            if explicit.is_some() || passcred || o.passcred {
                msg.creds = Some(explicit.unwrap_or(own));
            }
            o.queue.push_back(msg);
            Some(Ok(len))
        });
        if refused {
            // Our connected peer is gone: forget it (later sends give ENOTCONN).
            let mut me = self.lock();
            if same(&me.peer, &target) {
                me.peer = None;
                me.conn = Conn::Unconnected;
                drop(me);
                self.dgram_disconnected(&target);
            }
        }
        if r.is_ok() {
            target
                .wq
                .notify_events((libc::POLLIN | libc::POLLRDNORM | libc::POLLRDBAND) as u32);
        }
        drop(msg);
        r
    }

    /// recvmsg(2) and read(2).
    pub fn recv(&self, segs: &[Seg], f: RecvFlags) -> Result<Received, Errno> {
        match self.kind {
            SockType::Stream => self.recv_stream(segs, f),
            SockType::Seqpacket => {
                if self.lock().conn != Conn::Connected {
                    return Err(Errno::ENOTCONN);
                }
                self.recv_dgram(segs, f)
            }
            SockType::Dgram => self.recv_dgram(segs, f),
        }
    }

    fn recv_stream(&self, segs: &[Seg], f: RecvFlags) -> Result<Received, Errno> {
        let (how, lowat) = {
            let s = self.lock();
            if s.conn != Conn::Connected {
                return Err(Errno::EINVAL);
            }
            (s.rcvtimeo.wait(f.nonblock), s.rcvlowat)
        };
        if f.oob {
            return Err(Errno::EOPNOTSUPP);
        }
        let total = host::segs_len(segs);
        let target = if f.waitall {
            total
        } else {
            total.min(lowat.max(0) as usize)
        }
        .max(1);
        let mut out = Received::default();
        let mut copied = 0usize;
        let mut size = total;
        // The credentials of the data read: None until a message is looked at (then a
        // receiver with SO_PASSCRED gets zeros, Linux's empty scm), Some(None) for data
        // that came without any.
        let mut creds: Option<Option<Ucred>> = None;
        let mut check_creds = false;
        let mut addr_done = false;
        let mut used: Vec<Message> = Vec::new();
        let mut rights: Option<Rights> = None;
        let mut s = self.lock();
        let err = loop {
            if s.queue.is_empty() {
                if copied >= target {
                    break None;
                }
                if let Some(e) = s.err.take() {
                    break Some(e);
                }
                if s.shutdown & RCV_SHUTDOWN != 0 {
                    break None;
                }
                if let Wait::No = how {
                    break Some(Errno::EAGAIN);
                }
                match wait::wait_guard(&self.wq, &self.state, s, how.deadline()) {
                    Ok(g) => {
                        s = g;
                        continue;
                    }
                    Err(e) => {
                        s = self.lock();
                        break Some(how.error(e));
                    }
                }
            }
            let passcred = s.passcred;
            let mut idx = 0;
            let mut stop = false;
            while idx < s.queue.len() {
                let m = &mut s.queue[idx];
                // Never glue data from different writers when credentials are passed.
                if check_creds {
                    if Some(m.creds) != creds {
                        stop = true;
                        break;
                    }
                } else if passcred {
                    creds = Some(m.creds);
                    check_creds = true;
                }
                if f.want_addr && !addr_done {
                    out.from = m.sender.addr();
                    addr_done = true;
                }
                let chunk = m.left().min(size);
                host::copy_to_segs(
                    &host::sub_segs(segs, copied, chunk),
                    &m.data[m.off..m.off + chunk],
                );
                copied += chunk;
                size -= chunk;
                if !f.peek {
                    m.off += chunk;
                    let had = m.rights.is_some();
                    if had {
                        rights = m.rights.take();
                    }
                    if m.left() > 0 {
                        stop = true;
                        break;
                    }
                    used.extend(s.queue.pop_front());
                    if had {
                        stop = true;
                        break;
                    }
                } else {
                    if let Some(r) = &m.rights {
                        out.fds = r.fds.clone();
                        stop = true;
                        break;
                    }
                    idx += 1;
                    if idx >= s.queue.len() {
                        stop = true;
                        break;
                    }
                }
                if size == 0 {
                    stop = true;
                    break;
                }
            }
            if stop {
                break None;
            }
        };
        let passcred = s.passcred;
        drop(s);
        drop(used);
        if let Some(r) = rights {
            out.fds = r.into_fds();
        }
        if copied == 0
            && let Some(e) = err
        {
            return Err(e);
        }
        out.n = copied;
        if passcred {
            out.creds = Some(match creds {
                None => Ucred {
                    pid: 0,
                    uid: 0,
                    gid: 0,
                },
                Some(c) => c.unwrap_or(Ucred::NOBODY),
            });
        }
        Ok(out)
    }

    fn recv_dgram(&self, segs: &[Seg], f: RecvFlags) -> Result<Received, Errno> {
        if f.oob {
            return Err(Errno::EOPNOTSUPP);
        }
        let seqpacket = self.kind == SockType::Seqpacket;
        let mut s = self.lock();
        let how = s.rcvtimeo.wait(f.nonblock);
        let m = loop {
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            if !s.queue.is_empty() {
                break if f.peek { None } else { s.queue.pop_front() };
            }
            let eof = s.shutdown & RCV_SHUTDOWN != 0;
            if let Wait::No = how {
                // Signal EOF on a disconnected non-blocking SEQPACKET socket.
                return if seqpacket && eof {
                    Ok(Received::default())
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            if eof {
                return Ok(Received::default());
            }
            if seqpacket && s.conn == Conn::Unconnected {
                return Err(Errno::ENOTCONN);
            }
            match wait::wait_guard(&self.wq, &self.state, s, how.deadline()) {
                Ok(g) => s = g,
                Err(e) => {
                    let e = how.error(e);
                    let eof = self.lock().shutdown & RCV_SHUTDOWN != 0;
                    return if e == Errno::EAGAIN && seqpacket && eof {
                        Ok(Received::default())
                    } else {
                        Err(e)
                    };
                }
            }
        };
        let passcred = s.passcred;
        let mut out = Received::default();
        let mut taken = m;
        let msg: &mut Message = match taken.as_mut() {
            Some(m) => m,
            None => match s.queue.front_mut() {
                Some(m) => m,
                None => return Err(Errno::EAGAIN),
            },
        };
        let size = host::segs_len(segs);
        let len = msg.data.len();
        let n = size.min(len);
        out.trunc = n < len;
        host::copy_to_segs(segs, &msg.data[..n]);
        out.n = if f.trunc { len } else { n };
        if f.want_addr {
            out.from = msg.sender.addr();
        }
        if passcred {
            out.creds = Some(msg.creds.unwrap_or(Ucred::NOBODY));
        }
        let mut rights = None;
        if f.peek {
            if let Some(r) = &msg.rights {
                out.fds = r.fds.clone();
            }
        } else {
            rights = msg.rights.take();
        }
        let wakers = if taken.is_some() {
            std::mem::take(&mut s.peer_wakers)
        } else {
            Vec::new()
        };
        drop(s);
        if let Some(r) = rights {
            out.fds = r.into_fds();
        }
        if taken.is_some() {
            drop(taken);
            self.peer_wait
                .notify_events((libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32);
            for w in wakers.iter().filter_map(Weak::upgrade) {
                w.wq.notify_events((libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32);
            }
        }
        Ok(out)
    }

    /// The poll(2) events that hold now (unix_poll, unix_dgram_poll).
    pub fn poll(self: &Arc<Self>) -> u32 {
        const IN: u32 = (libc::POLLIN | libc::POLLRDNORM) as u32;
        const OUT: u32 = (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32;
        const RDHUP: u32 = libc::POLLRDHUP as u32;
        let s = self.lock();
        let mut ev = 0;
        if s.err.is_some() {
            ev |= libc::POLLERR as u32;
        }
        if s.shutdown == SHUTDOWN_MASK {
            ev |= libc::POLLHUP as u32;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            ev |= RDHUP | IN;
        }
        if !s.queue.is_empty() || !s.pending.is_empty() {
            ev |= IN;
        }
        if self.kind.connection() && s.conn == Conn::Unconnected {
            ev |= libc::POLLHUP as u32;
        }
        let writable = self.writable(&s);
        let peer = s.peer.clone();
        drop(s);
        if !writable {
            return ev;
        }
        if self.kind != SockType::Stream
            && let Some(p) = peer
            && !Arc::ptr_eq(&p, self)
        {
            let mut o = p.lock();
            if !same(&o.peer, self) && o.queue.len() > MAX_DGRAM_QLEN {
                if !o
                    .peer_wakers
                    .iter()
                    .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
                {
                    o.peer_wakers.push(Arc::downgrade(self));
                }
                return ev;
            }
        }
        ev | OUT
    }

    /// SIOCINQ/FIONREAD: queued bytes (streams and seqpacket: all of them; datagrams: the
    /// next one); EINVAL on a listening socket.
    pub fn inq(&self) -> Result<usize, Errno> {
        let s = self.lock();
        if s.conn == Conn::Listening {
            return Err(Errno::EINVAL);
        }
        Ok(match self.kind {
            SockType::Dgram => s.queue.front().map_or(0, |m| m.data.len()),
            _ => s.queue.iter().map(Message::left).sum(),
        })
    }

    /// SIOCOUTQ/TIOCOUTQ: the send buffer in use.
    pub fn outq(&self) -> usize {
        self.wmem.load(Ordering::SeqCst)
    }

    // ---- options (SOL_SOCKET) ----

    /// getsockopt(2): the option's full value (the caller copies what fits).
    pub fn getsockopt(&self, opt: i32) -> Result<Vec<u8>, Errno> {
        let mut s = self.lock();
        let int = |v: i32| Ok(v.to_le_bytes().to_vec());
        match opt {
            libc::SO_TYPE => int(self.kind.linux()),
            libc::SO_DOMAIN => int(AF_UNIX as i32),
            libc::SO_PROTOCOL => int(0),
            libc::SO_ACCEPTCONN => int((s.conn == Conn::Listening) as i32),
            libc::SO_SNDBUF => int(self.sndbuf.load(Ordering::SeqCst) as i32),
            libc::SO_RCVBUF => int(s.rcvbuf as i32),
            libc::SO_PASSCRED => int(s.passcred as i32),
            libc::SO_REUSEADDR => int(s.flags.reuseaddr as i32),
            libc::SO_KEEPALIVE => int(s.flags.keepalive as i32),
            libc::SO_BROADCAST => int(s.flags.broadcast as i32),
            libc::SO_DONTROUTE => int(s.flags.dontroute as i32),
            libc::SO_OOBINLINE => int(s.flags.oobinline as i32),
            libc::SO_DEBUG => int(s.flags.debug as i32),
            libc::SO_PASSSEC => int(s.flags.passsec as i32),
            libc::SO_PRIORITY => int(s.flags.priority),
            libc::SO_RCVLOWAT => int(s.rcvlowat),
            libc::SO_SNDLOWAT => int(1),
            libc::SO_REUSEPORT => int(0),
            libc::SO_LINGER => {
                let mut b = s.flags.linger.0.to_le_bytes().to_vec();
                b.extend_from_slice(&s.flags.linger.1.to_le_bytes());
                Ok(b)
            }
            libc::SO_PEERCRED => Ok(s
                .peercred
                .unwrap_or(Ucred {
                    pid: 0,
                    uid: u32::MAX,
                    gid: u32::MAX,
                })
                .to_bytes()
                .to_vec()),
            libc::SO_RCVTIMEO | libc::SO_SNDTIMEO | SO_RCVTIMEO_NEW | SO_SNDTIMEO_NEW => {
                let t = if matches!(opt, libc::SO_RCVTIMEO | SO_RCVTIMEO_NEW) {
                    s.rcvtimeo
                } else {
                    s.sndtimeo
                };
                let (sec, usec) = t.to_timeval();
                let mut b = sec.to_le_bytes().to_vec();
                b.extend_from_slice(&usec.to_le_bytes());
                Ok(b)
            }
            libc::SO_ERROR => int(s.err.take().map_or(0, |e| e.0)),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    /// setsockopt(2). `read(n)` copies n bytes of the option value (EFAULT/EINVAL are
    /// its); `privileged` stands for CAP_NET_ADMIN.
    pub fn setsockopt(
        &self,
        opt: i32,
        optlen: usize,
        read: &dyn Fn(usize) -> Result<Vec<u8>, Errno>,
        privileged: bool,
    ) -> Result<(), Errno> {
        if optlen < 4 {
            return Err(Errno::EINVAL);
        }
        let b = read(4)?;
        let val = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let on = val != 0;
        let mut s = self.lock();
        match opt {
            libc::SO_SNDBUF | libc::SO_SNDBUFFORCE => {
                let v = if opt == libc::SO_SNDBUF {
                    (val as u32).min(MAX_BUF as u32) as usize
                } else {
                    if !privileged {
                        return Err(Errno::EPERM);
                    }
                    val.max(0) as usize
                };
                let v = (v.min(i32::MAX as usize / 2) * 2).max(MIN_SNDBUF);
                self.sndbuf.store(v, Ordering::SeqCst);
                let w = self.writable(&s);
                drop(s);
                if w {
                    self.wq.notify_events(
                        (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32,
                    );
                }
                return Ok(());
            }
            libc::SO_RCVBUF | libc::SO_RCVBUFFORCE => {
                let v = if opt == libc::SO_RCVBUF {
                    (val as u32).min(MAX_BUF as u32) as usize
                } else {
                    if !privileged {
                        return Err(Errno::EPERM);
                    }
                    val.max(0) as usize
                };
                s.rcvbuf = (v.min(i32::MAX as usize / 2) * 2).max(MIN_RCVBUF);
            }
            libc::SO_PASSCRED => s.passcred = on,
            libc::SO_REUSEADDR => s.flags.reuseaddr = on,
            libc::SO_KEEPALIVE => s.flags.keepalive = on,
            libc::SO_BROADCAST => s.flags.broadcast = on,
            libc::SO_DONTROUTE => s.flags.dontroute = on,
            libc::SO_OOBINLINE => s.flags.oobinline = on,
            libc::SO_PASSSEC => s.flags.passsec = on,
            libc::SO_DEBUG => {
                if on && !privileged {
                    return Err(Errno::EACCES);
                }
                s.flags.debug = on;
            }
            libc::SO_PRIORITY => {
                if !(0..=6).contains(&val) && !privileged {
                    return Err(Errno::EPERM);
                }
                s.flags.priority = val;
            }
            libc::SO_RCVLOWAT => {
                let v = if val < 0 { i32::MAX } else { val };
                s.rcvlowat = if v == 0 { 1 } else { v };
            }
            libc::SO_REUSEPORT => {
                if on {
                    return Err(Errno::EOPNOTSUPP);
                }
            }
            libc::SO_LINGER => {
                if optlen < 8 {
                    return Err(Errno::EINVAL);
                }
                drop(s);
                let b = read(8)?;
                let onoff = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let secs = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let mut s = self.lock();
                s.flags.linger = if onoff == 0 { (0, 0) } else { (1, secs.max(0)) };
            }
            libc::SO_RCVTIMEO | libc::SO_SNDTIMEO | SO_RCVTIMEO_NEW | SO_SNDTIMEO_NEW => {
                if optlen < 16 {
                    return Err(Errno::EINVAL);
                }
                drop(s);
                let b = read(16)?;
                let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
                let usec = i64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
                let t = Timeo::from_timeval(sec, usec)?;
                let mut s = self.lock();
                if matches!(opt, libc::SO_RCVTIMEO | SO_RCVTIMEO_NEW) {
                    s.rcvtimeo = t;
                } else {
                    s.sndtimeo = t;
                }
            }
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    // ---- garbage collection ----

    /// The in-flight descriptions (addresses) this socket's queue holds, with those of
    /// its unaccepted connections.
    fn inflight_refs(&self) -> Vec<usize> {
        let (mut out, pending) = {
            let s = self.lock();
            let out: Vec<usize> = s
                .queue
                .iter()
                .filter_map(|m| m.rights.as_ref())
                .flat_map(|r| r.fds.iter().map(|f| Arc::as_ptr(f) as usize))
                .collect();
            (out, s.pending.iter().cloned().collect::<Vec<_>>())
        };
        for e in pending {
            out.extend(e.inflight_refs());
        }
        out
    }

    /// Empties the queues of an unreachable socket (and of its unaccepted connections).
    fn purge(&self) -> Vec<Message> {
        let (mut out, pending) = {
            let mut s = self.lock();
            let q: Vec<Message> = std::mem::take(&mut s.queue).into();
            (q, s.pending.iter().cloned().collect::<Vec<_>>())
        };
        for e in pending {
            out.extend(e.purge());
        }
        out
    }

    // ---- release ----

    /// The last close: the name goes, a connection's peer sees the end (ECONNRESET if
    /// we drop unread data), queued messages and unaccepted connections are dropped.
    fn do_release(self: &Arc<Self>, embryo: bool) {
        self.dead.store(true, Ordering::SeqCst);
        let key = self.bound().as_ref().and_then(|b| b.key.clone());
        if let Some(k) = key {
            self.names.unregister(&k, self);
        }
        let (peer, queue, pending) = {
            let mut s = self.lock();
            s.shutdown = SHUTDOWN_MASK;
            s.conn = Conn::Unconnected;
            s.peer_wakers.clear();
            (
                s.peer.take(),
                std::mem::take(&mut s.queue),
                std::mem::take(&mut s.pending),
            )
        };
        self.wq.notify_all();
        self.peer_wait.notify_all();
        if let Some(p) = peer
            && self.kind.connection()
        {
            let mut ps = p.lock();
            ps.shutdown = SHUTDOWN_MASK;
            if !queue.is_empty() || embryo {
                ps.err = Some(Errno::ECONNRESET);
            }
            drop(ps);
            p.wq.notify_all();
        }
        for e in pending {
            release(&e, true);
        }
        drop(queue);
    }
}

/// Endpoints waiting to be released, with whether each is an unaccepted connection.
type Releases = Vec<(Arc<Endpoint>, bool)>;

thread_local! {
    /// Endpoints whose release waits for the one this thread is doing: releasing one
    /// drops its queued messages, whose descriptors may be the last references to more
    /// sockets; they are released one after another instead of recursively, so a chain
    /// of sockets inside sockets cannot exhaust the stack.
    static RELEASING: RefCell<Option<Releases>> = const { RefCell::new(None) };
}

/// Releases `ep` (the last close of its file, or an unaccepted connection of a closed
/// listener when `embryo`).
pub fn release(ep: &Arc<Endpoint>, embryo: bool) {
    let outer = RELEASING.with(|r| {
        let mut r = r.borrow_mut();
        match r.as_mut() {
            Some(v) => {
                v.push((ep.clone(), embryo));
                false
            }
            None => {
                *r = Some(Vec::new());
                true
            }
        }
    });
    if !outer {
        return;
    }
    ep.do_release(embryo);
    let names = ep.names.clone();
    loop {
        while let Some((e, emb)) = RELEASING.with(|r| r.borrow_mut().as_mut().and_then(Vec::pop)) {
            e.do_release(emb);
        }
        // A close may leave sockets that only reach each other (unix_gc). Each round
        // that finds garbage drops messages, so this ends.
        let garbage = names.collect_garbage();
        let done = garbage.is_empty();
        drop(garbage);
        if done && RELEASING.with(|r| r.borrow().as_ref().is_none_or(Vec::is_empty)) {
            break;
        }
    }
    RELEASING.with(|r| *r.borrow_mut() = None);
}

/// SO_RCVTIMEO_NEW / SO_SNDTIMEO_NEW (64-bit time; the same layout on x86-64).
pub const SO_RCVTIMEO_NEW: i32 = 66;
pub const SO_SNDTIMEO_NEW: i32 = 67;

/// The sandbox's AF_UNIX names (one network namespace): abstract names (per socket type,
/// as Linux hashes them) and filesystem bindings by node; plus what is in flight.
#[derive(Default)]
pub struct Names {
    bindings: Mutex<HashMap<BindKey, Weak<Endpoint>>>,
    inflight: Mutex<Inflight>,
}

/// Descriptors inside messages (SCM_RIGHTS not yet received).
#[derive(Default)]
struct Inflight {
    /// Per user, for too_many_unix_fds.
    per_user: HashMap<u32, usize>,
    /// Socket descriptions in flight (by address): the description and how many
    /// messages hold it. What the garbage collector starts from.
    sockets: HashMap<usize, (Weak<FileDescription>, usize)>,
}

/// What a collection frees: the queues of unreachable sockets (dropping them drops the
/// descriptors in flight, and with the last of them the sockets themselves).
pub struct Garbage {
    queues: Vec<Message>,
    files: Vec<Arc<FileDescription>>,
}

impl Garbage {
    fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

impl Drop for Garbage {
    fn drop(&mut self) {
        // The messages first: they hold the in-flight references; our own go last.
        drop(std::mem::take(&mut self.queues));
        drop(std::mem::take(&mut self.files));
    }
}

impl Names {
    fn map(&self) -> MutexGuard<'_, HashMap<BindKey, Weak<Endpoint>>> {
        self.bindings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `ep` under `key`. An abstract name held by a live socket is in use. A
    /// node was just created by the caller, so a live binding to the same (dev, ino) is
    /// stale — its node was unlinked and the number reused (host filesystems do) — and
    /// is replaced.
    fn register(&self, key: &BindKey, ep: &Endpoint) -> Result<(), Errno> {
        let mut m = self.map();
        if matches!(key, BindKey::Abstract(..))
            && m.get(key)
                .and_then(Weak::upgrade)
                .is_some_and(|e| !e.is_dead())
        {
            return Err(Errno::EADDRINUSE);
        }
        m.insert(key.clone(), ep.me.clone());
        Ok(())
    }

    fn unregister(&self, key: &BindKey, ep: &Endpoint) {
        let mut m = self.map();
        if m.get(key).is_some_and(|w| std::ptr::eq(w.as_ptr(), ep)) {
            m.remove(key);
        }
    }

    fn find(&self, key: &BindKey) -> Option<Arc<Endpoint>> {
        self.map()
            .get(key)
            .and_then(Weak::upgrade)
            .filter(|e| !e.is_dead())
    }

    /// The socket bound to abstract `name` (sun_path bytes) with type `kind`.
    pub fn find_abstract(&self, kind: SockType, name: &[u8]) -> Option<Arc<Endpoint>> {
        self.find(&BindKey::Abstract(kind, name.to_vec()))
    }

    /// The socket bound to the filesystem node (dev, ino).
    pub fn find_path(&self, node: (u64, u64)) -> Option<Arc<Endpoint>> {
        self.find(&BindKey::Path(node.0, node.1))
    }

    fn inflight(&self) -> MutexGuard<'_, Inflight> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `fds` as in flight for `uid`. too_many_unix_fds: a user already past
    /// RLIMIT_NOFILE descriptors in flight gets ETOOMANYREFS unless privileged (`limit`
    /// None).
    fn count_inflight(
        &self,
        uid: u32,
        fds: &[Arc<FileDescription>],
        limit: Option<u64>,
    ) -> Result<(), Errno> {
        let mut m = self.inflight();
        let cur = m.per_user.entry(uid).or_default();
        if let Some(l) = limit
            && *cur as u64 > l
        {
            return Err(Errno::ETOOMANYREFS);
        }
        *cur += fds.len();
        for f in fds.iter().filter(|f| f.ops.as_socket().is_some()) {
            m.sockets
                .entry(Arc::as_ptr(f) as usize)
                .or_insert_with(|| (Arc::downgrade(f), 0))
                .1 += 1;
        }
        Ok(())
    }

    fn uncount_inflight(&self, uid: u32, fds: &[Arc<FileDescription>]) {
        if fds.is_empty() {
            return;
        }
        let mut m = self.inflight();
        if let Some(c) = m.per_user.get_mut(&uid) {
            *c = c.saturating_sub(fds.len());
        }
        for f in fds.iter().filter(|f| f.ops.as_socket().is_some()) {
            let key = Arc::as_ptr(f) as usize;
            if let Some(e) = m.sockets.get_mut(&key) {
                e.1 -= 1;
                if e.1 == 0 {
                    m.sockets.remove(&key);
                }
            }
        }
    }

    /// Finds sockets nothing can reach any more (unix_gc): every reference to their
    /// descriptions is inside messages queued on other such sockets, as when two sockets
    /// were sent to each other and closed. Candidates are in-flight sockets with no
    /// reference but the in-flight ones; a candidate referenced from anywhere else (a
    /// live socket's queue, a message being sent or received) is alive, and so is all a
    /// live candidate's queue refers to. The rest are purged; the caller drops the
    /// result with no locks held.
    ///
    /// The in-flight count's lock is held throughout, so no descriptor enters or leaves
    /// flight meanwhile; endpoint locks are taken under it (and never the other way).
    fn collect_garbage(&self) -> Garbage {
        let mut g = Garbage {
            queues: Vec::new(),
            files: Vec::new(),
        };
        let inf = self.inflight();
        if inf.sockets.is_empty() {
            return g;
        }
        // Candidates: (description, endpoint, in-flight references not yet accounted).
        let mut cand: HashMap<usize, (Arc<FileDescription>, Arc<Endpoint>, usize)> = HashMap::new();
        for (&key, (w, n)) in &inf.sockets {
            let Some(f) = w.upgrade() else { continue };
            // Our upgrade is one more reference.
            if Arc::strong_count(&f) != n + 1 {
                continue;
            }
            let Some(ep) = f.ops.as_socket().map(|s| s.ep.clone()) else {
                continue;
            };
            cand.insert(key, (f, ep, *n));
        }
        if cand.is_empty() {
            return g;
        }
        let mut edges: HashMap<usize, Vec<usize>> = HashMap::new();
        let keys: Vec<usize> = cand.keys().copied().collect();
        for k in &keys {
            let refs = cand[k].1.inflight_refs();
            for r in refs {
                if let Some(c) = cand.get_mut(&r) {
                    c.2 = c.2.saturating_sub(1);
                    edges.entry(*k).or_default().push(r);
                }
            }
        }
        let mut alive: Vec<usize> = keys.iter().copied().filter(|k| cand[k].2 > 0).collect();
        let mut live: std::collections::HashSet<usize> = alive.iter().copied().collect();
        while let Some(k) = alive.pop() {
            for r in edges.get(&k).into_iter().flatten() {
                if live.insert(*r) {
                    alive.push(*r);
                }
            }
        }
        for k in keys {
            if live.contains(&k) {
                continue;
            }
            let Some((f, ep, _)) = cand.remove(&k) else {
                continue;
            };
            g.queues.extend(ep.purge());
            g.files.push(f);
        }
        drop(inf);
        g
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truesizes_match_linux() {
        // Measured on Linux 6.x x86-64: 278 one-byte writes fill a 212992-byte buffer,
        // 93 of 1000 bytes, 44 stream writes of 4096, 26 datagrams of 4096.
        let fill = |cost: usize| DEFAULT_BUF.div_ceil(cost);
        assert_eq!(stream_truesize(1), 768);
        assert_eq!(fill(stream_truesize(1)), 278);
        assert_eq!(fill(stream_truesize(1000)), 93);
        assert_eq!(fill(stream_truesize(4096)), 44);
        assert_eq!(fill(dgram_truesize(4096)), 26);
        assert_eq!(fill(dgram_truesize(10000)), 13);
        assert_eq!(dgram_truesize(65536), 69888);
    }

    #[test]
    fn timeouts_round_to_jiffies() {
        let t = Timeo::from_timeval(1, 1).unwrap();
        assert_eq!(t.to_timeval(), (1, 4000));
        assert_eq!(Timeo::from_timeval(0, 0).unwrap(), Timeo(None));
        assert_eq!(Timeo::from_timeval(-1, 0).unwrap(), Timeo(Some(0)));
        assert_eq!(Timeo::from_timeval(0, 1_000_000), Err(Errno::EDOM));
    }
}
