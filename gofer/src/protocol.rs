//! The gofer wire protocol (DESIGN.md §6): message ids, layouts, and their encoding and
//! decoding. Owns every byte that crosses a gofer channel. Both ends treat the other as
//! hostile, so the decoders are total: every length is checked against the bytes that
//! arrived, nothing is allocated from a claimed length, and a bad message is a
//! `DecodeError`, never a panic.
//!
//! Framing: one message per `SOCK_SEQPACKET` packet, little-endian:
//!
//! ```text
//! header  magic u32 ("GOFR") | version u16 | id u16 | tag u32 | payload length u32
//! request payload   the request's fields (layouts below, in `Request`)
//! response payload  errno i32 (0 = success) | the response's fields, on success only
//! ```
//!
//! A response carries the request's id with `REPLY` set and the request's tag. Byte
//! strings (names, symlink targets) are a u16 length and the bytes. `Open` and `Create`
//! responses carry exactly one host FD as `SCM_RIGHTS`; no other message carries FDs.

use syscalls_table::Errno;
use thiserror::Error;

/// "GOFR" read as a little-endian u32.
pub const MAGIC: u32 = u32::from_le_bytes(*b"GOFR");
/// The protocol version this crate speaks; any other is refused.
pub const VERSION: u16 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 16;
/// The largest payload either side sends or accepts.
pub const MAX_PAYLOAD: usize = 64 * 1024;
/// The largest packet either side sends or accepts.
pub const MAX_MESSAGE: usize = HEADER_LEN + MAX_PAYLOAD;
/// Longest file name (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Longest symlink target, without its NUL (Linux `PATH_MAX` - 1).
pub const TARGET_MAX: usize = 4095;
/// Set in a response's id.
pub const REPLY: u16 = 0x8000;

/// `SetStat` mask bits, as they travel.
const SET_MODE: u32 = 1;
const SET_UID: u32 = 2;
const SET_GID: u32 = 4;
const SET_SIZE: u32 = 8;
const SET_ATIME: u32 = 16;
const SET_MTIME: u32 = 32;
const SET_ATIME_NOW: u32 = 64;
const SET_MTIME_NOW: u32 = 128;
const SET_ALL: u32 = 255;

/// The uid/gid value meaning "leave as created" in create-like requests.
pub const NO_OWNER: u32 = u32::MAX;

/// Why a message was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("message of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLong(usize),
    #[error("bad magic {0:#010x}")]
    BadMagic(u32),
    #[error("unsupported protocol version {0}")]
    BadVersion(u16),
    #[error("unknown message id {0:#06x}")]
    UnknownId(u16),
    #[error("header claims a {claimed}-byte payload, {actual} bytes arrived")]
    LengthMismatch { claimed: u32, actual: usize },
    #[error("payload ends inside a field")]
    Truncated,
    #[error("{0} trailing bytes after the last field")]
    Trailing(usize),
    #[error("{what} of {len} bytes exceeds its limit")]
    FieldTooLong { what: &'static str, len: usize },
    #[error("invalid {0}")]
    BadValue(&'static str),
}

/// Message ids. A response uses the request's id with `REPLY` set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MsgId {
    Mount = 1,
    Walk = 2,
    Open = 3,
    Create = 4,
    Mkdir = 5,
    Mknod = 6,
    Symlink = 7,
    Link = 8,
    Unlink = 9,
    Rename = 10,
    Readlink = 11,
    Getdents = 12,
    Stat = 13,
    Setstat = 14,
    Statfs = 15,
    Fsync = 16,
    Close = 17,
}

impl MsgId {
    pub const ALL: [MsgId; 17] = [
        MsgId::Mount,
        MsgId::Walk,
        MsgId::Open,
        MsgId::Create,
        MsgId::Mkdir,
        MsgId::Mknod,
        MsgId::Symlink,
        MsgId::Link,
        MsgId::Unlink,
        MsgId::Rename,
        MsgId::Readlink,
        MsgId::Getdents,
        MsgId::Stat,
        MsgId::Setstat,
        MsgId::Statfs,
        MsgId::Fsync,
        MsgId::Close,
    ];

    pub fn from_u16(v: u16) -> Option<MsgId> {
        MsgId::ALL.iter().copied().find(|m| *m as u16 == v)
    }

    /// Whether a successful response to this request carries one donated FD.
    pub fn donates_fd(self) -> bool {
        matches!(self, MsgId::Open | MsgId::Create)
    }
}

/// A gofer-side handle: names one `O_PATH` FD in the gofer's handle table. 0 is never a
/// valid handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u64);

/// Seconds and nanoseconds, as in `struct timespec`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: u32,
}

/// File attributes, as `statx` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits (`S_IFMT | 07777`).
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blocks: u64,
    pub blksize: u32,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    /// The `S_IFMT` bits.
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
}

/// A handle and the attributes of the file it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub handle: Handle,
    pub stat: Stat,
}

/// A time to set: now, or a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetTime {
    Now,
    At(Timespec),
}

/// The attributes a `Setstat` changes; `None` leaves one alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetStat {
    /// Permission bits (07777); the file type cannot change.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Truncate or extend to this size (regular files only).
    pub size: Option<u64>,
    pub atime: Option<SetTime>,
    pub mtime: Option<SetTime>,
}

/// File system statistics, as `statfs` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statfs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

/// One directory entry. `cookie` is where the next `Getdents` continues after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirent {
    pub ino: u64,
    pub cookie: u64,
    /// `DT_*` type.
    pub dtype: u8,
    pub name: Vec<u8>,
}

/// Encoded size of a `Dirent` with an `n`-byte name.
pub const fn dirent_len(n: usize) -> usize {
    8 + 8 + 1 + 2 + n
}

/// A request, sent by the sentry. Names are one path component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Attach to the gofer's root: a new handle on it.
    Mount,
    /// `dir u64 | name`: one component, never following a symlink.
    Walk { dir: Handle, name: Vec<u8> },
    /// `handle u64 | flags u32`: donates an FD opened for I/O (`O_ACCMODE`, `O_TRUNC`,
    /// `O_APPEND`, `O_DIRECT`, `O_DSYNC`, `O_SYNC`, `O_NOATIME`, `O_NONBLOCK`).
    Open { handle: Handle, flags: u32 },
    /// `dir u64 | name | flags u32 | mode u32 | uid u32 | gid u32`: `O_CREAT|O_EXCL`;
    /// donates an FD and returns a handle.
    Create {
        dir: Handle,
        name: Vec<u8>,
        flags: u32,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// `dir u64 | name | mode u32 | uid u32 | gid u32`.
    Mkdir {
        dir: Handle,
        name: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// `dir u64 | name | mode u32 | uid u32 | gid u32`: a FIFO or regular file only.
    Mknod {
        dir: Handle,
        name: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    /// `dir u64 | name | target | uid u32 | gid u32`.
    Symlink {
        dir: Handle,
        name: Vec<u8>,
        target: Vec<u8>,
        uid: u32,
        gid: u32,
    },
    /// `dir u64 | name | target u64`: a new name in `dir` for the file `target`.
    Link {
        dir: Handle,
        name: Vec<u8>,
        target: Handle,
    },
    /// `dir u64 | name | flags u32` (`AT_REMOVEDIR`).
    Unlink {
        dir: Handle,
        name: Vec<u8>,
        flags: u32,
    },
    /// `old_dir u64 | old_name | new_dir u64 | new_name | flags u32`
    /// (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`).
    Rename {
        old_dir: Handle,
        old_name: Vec<u8>,
        new_dir: Handle,
        new_name: Vec<u8>,
        flags: u32,
    },
    /// `handle u64`.
    Readlink { handle: Handle },
    /// `dir u64 | cookie u64 | max_bytes u32`: entries after `cookie` (0 = start),
    /// at most `max_bytes` of encoded entries. No entries means the end.
    Getdents {
        dir: Handle,
        cookie: u64,
        max_bytes: u32,
    },
    /// `handle u64`.
    Stat { handle: Handle },
    /// `handle u64 | mask u32 | mode u32 | uid u32 | gid u32 | size u64 |
    /// atime sec i64, nsec u32 | mtime sec i64, nsec u32`.
    Setstat { handle: Handle, attr: SetStat },
    /// `handle u64`.
    Statfs { handle: Handle },
    /// `handle u64 | datasync u8`.
    Fsync { handle: Handle, datasync: bool },
    /// `handle u64`: releases the handle.
    Close { handle: Handle },
}

/// A successful response, sent by the gofer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `handle u64 | stat` (Mount, Walk, Create, Mkdir, Mknod, Symlink, Link).
    Entry(Entry),
    /// No fields (Open, which donates an FD; Unlink, Rename, Setstat, Fsync, Close).
    Empty,
    /// `target` (Readlink).
    Target(Vec<u8>),
    /// `count u32 | count × (ino u64 | cookie u64 | type u8 | name)` (Getdents).
    Dirents(Vec<Dirent>),
    /// `stat` (Stat).
    Stat(Stat),
    /// `statfs` (Statfs).
    Statfs(Statfs),
}

impl Request {
    pub fn id(&self) -> MsgId {
        match self {
            Request::Mount => MsgId::Mount,
            Request::Walk { .. } => MsgId::Walk,
            Request::Open { .. } => MsgId::Open,
            Request::Create { .. } => MsgId::Create,
            Request::Mkdir { .. } => MsgId::Mkdir,
            Request::Mknod { .. } => MsgId::Mknod,
            Request::Symlink { .. } => MsgId::Symlink,
            Request::Link { .. } => MsgId::Link,
            Request::Unlink { .. } => MsgId::Unlink,
            Request::Rename { .. } => MsgId::Rename,
            Request::Readlink { .. } => MsgId::Readlink,
            Request::Getdents { .. } => MsgId::Getdents,
            Request::Stat { .. } => MsgId::Stat,
            Request::Setstat { .. } => MsgId::Setstat,
            Request::Statfs { .. } => MsgId::Statfs,
            Request::Fsync { .. } => MsgId::Fsync,
            Request::Close { .. } => MsgId::Close,
        }
    }

    /// Whether the request changes the file system (refused with `EROFS` by a read-only
    /// gofer). `Open` is judged by its flags, at the server.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Mkdir { .. }
                | Request::Mknod { .. }
                | Request::Symlink { .. }
                | Request::Link { .. }
                | Request::Unlink { .. }
                | Request::Rename { .. }
                | Request::Setstat { .. }
        )
    }
}

/// The response layout a request expects.
fn response_kind(id: MsgId) -> ResponseKind {
    match id {
        MsgId::Mount
        | MsgId::Walk
        | MsgId::Create
        | MsgId::Mkdir
        | MsgId::Mknod
        | MsgId::Symlink
        | MsgId::Link => ResponseKind::Entry,
        MsgId::Open
        | MsgId::Unlink
        | MsgId::Rename
        | MsgId::Setstat
        | MsgId::Fsync
        | MsgId::Close => ResponseKind::Empty,
        MsgId::Readlink => ResponseKind::Target,
        MsgId::Getdents => ResponseKind::Dirents,
        MsgId::Stat => ResponseKind::Stat,
        MsgId::Statfs => ResponseKind::Statfs,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ResponseKind {
    Entry,
    Empty,
    Target,
    Dirents,
    Stat,
    Statfs,
}

impl Response {
    fn kind(&self) -> ResponseKind {
        match self {
            Response::Entry(_) => ResponseKind::Entry,
            Response::Empty => ResponseKind::Empty,
            Response::Target(_) => ResponseKind::Target,
            Response::Dirents(_) => ResponseKind::Dirents,
            Response::Stat(_) => ResponseKind::Stat,
            Response::Statfs(_) => ResponseKind::Statfs,
        }
    }

    /// Whether this is the layout a response to `id` must have.
    pub fn answers(&self, id: MsgId) -> bool {
        self.kind() == response_kind(id)
    }
}

/// A decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub tag: u32,
    pub len: u32,
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// Appends little-endian fields to a message under construction.
struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    fn new(id: u16, tag: u32) -> Encoder {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&MAGIC.to_le_bytes());
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&id.to_le_bytes());
        buf.extend_from_slice(&tag.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Encoder { buf }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A u16 length and the bytes. Callers keep `b` within `u16::MAX` (names and targets
    /// are checked against `NAME_MAX`/`TARGET_MAX` before they get here); a longer one
    /// is cut, which the peer refuses as a length mismatch rather than misreading.
    fn bytes(&mut self, b: &[u8]) {
        let n = b.len().min(u16::MAX as usize);
        self.u16(n as u16);
        self.buf.extend_from_slice(&b[..n]);
    }
    fn timespec(&mut self, t: Timespec) {
        self.i64(t.sec);
        self.u32(t.nsec);
    }
    fn stat(&mut self, s: &Stat) {
        self.u64(s.dev);
        self.u64(s.ino);
        self.u32(s.mode);
        self.u64(s.nlink);
        self.u32(s.uid);
        self.u32(s.gid);
        self.u64(s.rdev);
        self.u64(s.size);
        self.u64(s.blocks);
        self.u32(s.blksize);
        self.timespec(s.atime);
        self.timespec(s.mtime);
        self.timespec(s.ctime);
    }
    fn finish(mut self) -> Vec<u8> {
        let len = (self.buf.len() - HEADER_LEN) as u32;
        self.buf[12..16].copy_from_slice(&len.to_le_bytes());
        self.buf
    }
}

/// Encodes a request as one packet.
pub fn encode_request(tag: u32, req: &Request) -> Vec<u8> {
    let mut e = Encoder::new(req.id() as u16, tag);
    match req {
        Request::Mount => {}
        Request::Walk { dir, name } => {
            e.u64(dir.0);
            e.bytes(name);
        }
        Request::Open { handle, flags } => {
            e.u64(handle.0);
            e.u32(*flags);
        }
        Request::Create {
            dir,
            name,
            flags,
            mode,
            uid,
            gid,
        } => {
            e.u64(dir.0);
            e.bytes(name);
            e.u32(*flags);
            e.u32(*mode);
            e.u32(*uid);
            e.u32(*gid);
        }
        Request::Mkdir {
            dir,
            name,
            mode,
            uid,
            gid,
        }
        | Request::Mknod {
            dir,
            name,
            mode,
            uid,
            gid,
        } => {
            e.u64(dir.0);
            e.bytes(name);
            e.u32(*mode);
            e.u32(*uid);
            e.u32(*gid);
        }
        Request::Symlink {
            dir,
            name,
            target,
            uid,
            gid,
        } => {
            e.u64(dir.0);
            e.bytes(name);
            e.bytes(target);
            e.u32(*uid);
            e.u32(*gid);
        }
        Request::Link { dir, name, target } => {
            e.u64(dir.0);
            e.bytes(name);
            e.u64(target.0);
        }
        Request::Unlink { dir, name, flags } => {
            e.u64(dir.0);
            e.bytes(name);
            e.u32(*flags);
        }
        Request::Rename {
            old_dir,
            old_name,
            new_dir,
            new_name,
            flags,
        } => {
            e.u64(old_dir.0);
            e.bytes(old_name);
            e.u64(new_dir.0);
            e.bytes(new_name);
            e.u32(*flags);
        }
        Request::Readlink { handle }
        | Request::Stat { handle }
        | Request::Statfs { handle }
        | Request::Close { handle } => e.u64(handle.0),
        Request::Getdents {
            dir,
            cookie,
            max_bytes,
        } => {
            e.u64(dir.0);
            e.u64(*cookie);
            e.u32(*max_bytes);
        }
        Request::Setstat { handle, attr } => {
            e.u64(handle.0);
            let mut mask = 0;
            let mut time = |t: Option<SetTime>, set: u32, now: u32| match t {
                None => Timespec::default(),
                Some(SetTime::Now) => {
                    mask |= set | now;
                    Timespec::default()
                }
                Some(SetTime::At(ts)) => {
                    mask |= set;
                    ts
                }
            };
            let atime = time(attr.atime, SET_ATIME, SET_ATIME_NOW);
            let mtime = time(attr.mtime, SET_MTIME, SET_MTIME_NOW);
            for (opt, bit) in [
                (attr.mode.is_some(), SET_MODE),
                (attr.uid.is_some(), SET_UID),
                (attr.gid.is_some(), SET_GID),
                (attr.size.is_some(), SET_SIZE),
            ] {
                if opt {
                    mask |= bit;
                }
            }
            e.u32(mask);
            e.u32(attr.mode.unwrap_or(0));
            e.u32(attr.uid.unwrap_or(0));
            e.u32(attr.gid.unwrap_or(0));
            e.u64(attr.size.unwrap_or(0));
            e.timespec(atime);
            e.timespec(mtime);
        }
        Request::Fsync { handle, datasync } => {
            e.u64(handle.0);
            e.u8(*datasync as u8);
        }
    }
    e.finish()
}

/// Encodes the response to request `id` as one packet.
pub fn encode_response(tag: u32, id: MsgId, res: &Result<Response, Errno>) -> Vec<u8> {
    let mut e = Encoder::new(id as u16 | REPLY, tag);
    match res {
        Err(errno) => {
            // An errno outside 1..=MAX_ERRNO would be refused by the peer: send EIO.
            let v = if (1..=Errno::MAX_ERRNO).contains(&errno.0) {
                errno.0
            } else {
                Errno::EIO.0
            };
            e.i32(v);
        }
        Ok(r) => {
            e.i32(0);
            match r {
                Response::Entry(en) => {
                    e.u64(en.handle.0);
                    e.stat(&en.stat);
                }
                Response::Empty => {}
                Response::Target(t) => e.bytes(t),
                Response::Dirents(ds) => {
                    e.u32(ds.len() as u32);
                    for d in ds {
                        e.u64(d.ino);
                        e.u64(d.cookie);
                        e.u8(d.dtype);
                        e.bytes(&d.name);
                    }
                }
                Response::Stat(s) => e.stat(s),
                Response::Statfs(s) => {
                    for v in [
                        s.fs_type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree,
                        s.namelen, s.frsize, s.flags,
                    ] {
                        e.u64(v);
                    }
                }
            }
        }
    }
    e.finish()
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// Reads little-endian fields from a payload; every read is bounds-checked.
struct Decoder<'a> {
    buf: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_le_bytes)
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        self.array().map(i32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        self.array().map(i64::from_le_bytes)
    }
    fn handle(&mut self) -> Result<Handle, DecodeError> {
        self.u64().map(Handle)
    }
    /// A length-prefixed byte string of at most `max` bytes.
    fn bytes(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, DecodeError> {
        let len = self.u16()? as usize;
        if len > max {
            return Err(DecodeError::FieldTooLong { what, len });
        }
        Ok(self.take(len)?.to_vec())
    }
    fn name(&mut self) -> Result<Vec<u8>, DecodeError> {
        self.bytes("name", NAME_MAX)
    }
    fn timespec(&mut self) -> Result<Timespec, DecodeError> {
        let sec = self.i64()?;
        let nsec = self.u32()?;
        if nsec >= 1_000_000_000 {
            return Err(DecodeError::BadValue("timespec nanoseconds"));
        }
        Ok(Timespec { sec, nsec })
    }
    fn stat(&mut self) -> Result<Stat, DecodeError> {
        Ok(Stat {
            dev: self.u64()?,
            ino: self.u64()?,
            mode: self.u32()?,
            nlink: self.u64()?,
            uid: self.u32()?,
            gid: self.u32()?,
            rdev: self.u64()?,
            size: self.u64()?,
            blocks: self.u64()?,
            blksize: self.u32()?,
            atime: self.timespec()?,
            mtime: self.timespec()?,
            ctime: self.timespec()?,
        })
    }
    fn end(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.buf.len()))
        }
    }
}

/// Checks the header of a packet and returns it with the payload.
pub fn decode_header(msg: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    if msg.len() > MAX_MESSAGE {
        return Err(DecodeError::TooLong(msg.len()));
    }
    if msg.len() < HEADER_LEN {
        return Err(DecodeError::Short(msg.len()));
    }
    let mut d = Decoder { buf: msg };
    let magic = d.u32()?;
    if magic != MAGIC {
        return Err(DecodeError::BadMagic(magic));
    }
    let version = d.u16()?;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    let h = Header {
        id: d.u16()?,
        tag: d.u32()?,
        len: d.u32()?,
    };
    let payload = d.buf;
    if h.len as usize != payload.len() {
        return Err(DecodeError::LengthMismatch {
            claimed: h.len,
            actual: payload.len(),
        });
    }
    Ok((h, payload))
}

/// Decodes a request packet into its tag and request.
pub fn decode_request(msg: &[u8]) -> Result<(u32, Request), DecodeError> {
    let (h, payload) = decode_header(msg)?;
    let id = MsgId::from_u16(h.id).ok_or(DecodeError::UnknownId(h.id))?;
    let mut d = Decoder { buf: payload };
    let req = match id {
        MsgId::Mount => Request::Mount,
        MsgId::Walk => Request::Walk {
            dir: d.handle()?,
            name: d.name()?,
        },
        MsgId::Open => Request::Open {
            handle: d.handle()?,
            flags: d.u32()?,
        },
        MsgId::Create => Request::Create {
            dir: d.handle()?,
            name: d.name()?,
            flags: d.u32()?,
            mode: d.u32()?,
            uid: d.u32()?,
            gid: d.u32()?,
        },
        MsgId::Mkdir => Request::Mkdir {
            dir: d.handle()?,
            name: d.name()?,
            mode: d.u32()?,
            uid: d.u32()?,
            gid: d.u32()?,
        },
        MsgId::Mknod => Request::Mknod {
            dir: d.handle()?,
            name: d.name()?,
            mode: d.u32()?,
            uid: d.u32()?,
            gid: d.u32()?,
        },
        MsgId::Symlink => Request::Symlink {
            dir: d.handle()?,
            name: d.name()?,
            target: d.bytes("symlink target", TARGET_MAX)?,
            uid: d.u32()?,
            gid: d.u32()?,
        },
        MsgId::Link => Request::Link {
            dir: d.handle()?,
            name: d.name()?,
            target: d.handle()?,
        },
        MsgId::Unlink => Request::Unlink {
            dir: d.handle()?,
            name: d.name()?,
            flags: d.u32()?,
        },
        MsgId::Rename => Request::Rename {
            old_dir: d.handle()?,
            old_name: d.name()?,
            new_dir: d.handle()?,
            new_name: d.name()?,
            flags: d.u32()?,
        },
        MsgId::Readlink => Request::Readlink {
            handle: d.handle()?,
        },
        MsgId::Getdents => Request::Getdents {
            dir: d.handle()?,
            cookie: d.u64()?,
            max_bytes: d.u32()?,
        },
        MsgId::Stat => Request::Stat {
            handle: d.handle()?,
        },
        MsgId::Setstat => {
            let handle = d.handle()?;
            let mask = d.u32()?;
            if mask & !SET_ALL != 0 {
                return Err(DecodeError::BadValue("setstat mask"));
            }
            let mode = d.u32()?;
            let uid = d.u32()?;
            let gid = d.u32()?;
            let size = d.u64()?;
            let atime = d.timespec()?;
            let mtime = d.timespec()?;
            let time = |t: Timespec, set: u32, now: u32| {
                if mask & set == 0 {
                    None
                } else if mask & now != 0 {
                    Some(SetTime::Now)
                } else {
                    Some(SetTime::At(t))
                }
            };
            let opt = |v, bit: u32| (mask & bit != 0).then_some(v);
            Request::Setstat {
                handle,
                attr: SetStat {
                    mode: opt(mode, SET_MODE),
                    uid: opt(uid, SET_UID),
                    gid: opt(gid, SET_GID),
                    size: (mask & SET_SIZE != 0).then_some(size),
                    atime: time(atime, SET_ATIME, SET_ATIME_NOW),
                    mtime: time(mtime, SET_MTIME, SET_MTIME_NOW),
                },
            }
        }
        MsgId::Statfs => Request::Statfs {
            handle: d.handle()?,
        },
        MsgId::Fsync => Request::Fsync {
            handle: d.handle()?,
            datasync: match d.u8()? {
                0 => false,
                1 => true,
                _ => return Err(DecodeError::BadValue("fsync datasync flag")),
            },
        },
        MsgId::Close => Request::Close {
            handle: d.handle()?,
        },
    };
    d.end()?;
    Ok((h.tag, req))
}

/// Decodes a response packet into its tag, the request id it answers, and the result.
/// Besides the framing, it checks what a hostile gofer could get wrong: the errno range,
/// names in directory entries, and that the layout is the one the id calls for.
pub fn decode_response(msg: &[u8]) -> Result<(u32, MsgId, Result<Response, Errno>), DecodeError> {
    let (h, payload) = decode_header(msg)?;
    if h.id & REPLY == 0 {
        return Err(DecodeError::BadValue("response without the reply bit"));
    }
    let raw = h.id & !REPLY;
    let id = MsgId::from_u16(raw).ok_or(DecodeError::UnknownId(h.id))?;
    let mut d = Decoder { buf: payload };
    let errno = d.i32()?;
    if errno != 0 {
        if !(1..=Errno::MAX_ERRNO).contains(&errno) {
            return Err(DecodeError::BadValue("errno"));
        }
        d.end()?;
        return Ok((h.tag, id, Err(Errno(errno))));
    }
    let res = match response_kind(id) {
        ResponseKind::Entry => {
            let handle = d.handle()?;
            if handle.0 == 0 {
                return Err(DecodeError::BadValue("handle 0"));
            }
            Response::Entry(Entry {
                handle,
                stat: d.stat()?,
            })
        }
        ResponseKind::Empty => Response::Empty,
        ResponseKind::Target => Response::Target(d.bytes("symlink target", TARGET_MAX)?),
        ResponseKind::Dirents => {
            let count = d.u32()? as usize;
            // Each entry takes at least dirent_len(1) bytes: a count the payload cannot
            // hold is refused before anything is allocated for it.
            if count > d.buf.len() / dirent_len(1) {
                return Err(DecodeError::BadValue("directory entry count"));
            }
            let mut ents = Vec::with_capacity(count);
            for _ in 0..count {
                let ino = d.u64()?;
                let cookie = d.u64()?;
                let dtype = d.u8()?;
                let name = d.name()?;
                if check_name(&name).is_err() {
                    return Err(DecodeError::BadValue("directory entry name"));
                }
                ents.push(Dirent {
                    ino,
                    cookie,
                    dtype,
                    name,
                });
            }
            Response::Dirents(ents)
        }
        ResponseKind::Stat => Response::Stat(d.stat()?),
        ResponseKind::Statfs => {
            let mut v = [0u64; 10];
            for x in &mut v {
                *x = d.u64()?;
            }
            Response::Statfs(Statfs {
                fs_type: v[0],
                bsize: v[1],
                blocks: v[2],
                bfree: v[3],
                bavail: v[4],
                files: v[5],
                ffree: v[6],
                namelen: v[7],
                frsize: v[8],
                flags: v[9],
            })
        }
    };
    d.end()?;
    Ok((h.tag, id, Ok(res)))
}

/// Whether `name` is one path component the gofer may resolve: 1..=NAME_MAX bytes, no
/// `/` or NUL, and not `.` or `..` (the sentry resolves those itself).
pub fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0)
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Whether `target` can be a symlink's target: 1..=TARGET_MAX bytes without NUL.
pub fn check_target(target: &[u8]) -> Result<(), Errno> {
    if target.len() > TARGET_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if target.is_empty() || target.contains(&0) {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Request> {
        let h = Handle(7);
        vec![
            Request::Mount,
            Request::Walk {
                dir: h,
                name: b"etc".to_vec(),
            },
            Request::Open {
                handle: h,
                flags: libc::O_RDWR as u32,
            },
            Request::Create {
                dir: h,
                name: b"f".to_vec(),
                flags: 2,
                mode: 0o644,
                uid: NO_OWNER,
                gid: 5,
            },
            Request::Mkdir {
                dir: h,
                name: b"d".to_vec(),
                mode: 0o755,
                uid: 1,
                gid: 2,
            },
            Request::Mknod {
                dir: h,
                name: b"p".to_vec(),
                mode: libc::S_IFIFO | 0o600,
                uid: 1,
                gid: 2,
            },
            Request::Symlink {
                dir: h,
                name: b"l".to_vec(),
                target: b"/x/y".to_vec(),
                uid: 0,
                gid: 0,
            },
            Request::Link {
                dir: h,
                name: b"n".to_vec(),
                target: Handle(9),
            },
            Request::Unlink {
                dir: h,
                name: b"n".to_vec(),
                flags: libc::AT_REMOVEDIR as u32,
            },
            Request::Rename {
                old_dir: h,
                old_name: b"a".to_vec(),
                new_dir: Handle(8),
                new_name: b"b".to_vec(),
                flags: 1,
            },
            Request::Readlink { handle: h },
            Request::Getdents {
                dir: h,
                cookie: 99,
                max_bytes: 4096,
            },
            Request::Stat { handle: h },
            Request::Setstat {
                handle: h,
                attr: SetStat {
                    mode: Some(0o600),
                    uid: None,
                    gid: Some(3),
                    size: Some(0),
                    atime: Some(SetTime::Now),
                    mtime: Some(SetTime::At(Timespec { sec: -5, nsec: 7 })),
                },
            },
            Request::Setstat {
                handle: h,
                attr: SetStat::default(),
            },
            Request::Statfs { handle: h },
            Request::Fsync {
                handle: h,
                datasync: true,
            },
            Request::Close { handle: h },
        ]
    }

    #[test]
    fn requests_round_trip() {
        for (i, r) in samples().into_iter().enumerate() {
            let msg = encode_request(i as u32, &r);
            assert_eq!(decode_request(&msg), Ok((i as u32, r)));
        }
    }

    #[test]
    fn responses_round_trip() {
        let stat = Stat {
            dev: 1,
            ino: 2,
            mode: libc::S_IFREG | 0o644,
            nlink: 1,
            size: 10,
            atime: Timespec { sec: 1, nsec: 2 },
            ..Stat::default()
        };
        let cases = [
            (
                MsgId::Walk,
                Ok(Response::Entry(Entry {
                    handle: Handle(3),
                    stat,
                })),
            ),
            (MsgId::Open, Ok(Response::Empty)),
            (MsgId::Readlink, Ok(Response::Target(b"../x".to_vec()))),
            (
                MsgId::Getdents,
                Ok(Response::Dirents(vec![Dirent {
                    ino: 5,
                    cookie: 6,
                    dtype: libc::DT_REG,
                    name: b"a".to_vec(),
                }])),
            ),
            (MsgId::Stat, Ok(Response::Stat(stat))),
            (
                MsgId::Statfs,
                Ok(Response::Statfs(Statfs {
                    namelen: 255,
                    ..Statfs::default()
                })),
            ),
            (MsgId::Mkdir, Err(Errno::EEXIST)),
        ];
        for (id, res) in cases {
            let msg = encode_response(42, id, &res);
            assert_eq!(decode_response(&msg), Ok((42, id, res)));
        }
    }

    #[test]
    fn every_truncation_is_refused() {
        for r in samples() {
            let msg = encode_request(1, &r);
            for n in 0..msg.len() {
                assert!(decode_request(&msg[..n]).is_err(), "{r:?} cut at {n}");
            }
            // The same bytes with a header that claims the shorter length.
            for n in HEADER_LEN..msg.len() {
                let mut m = msg[..n].to_vec();
                m[12..16].copy_from_slice(&((n - HEADER_LEN) as u32).to_le_bytes());
                assert!(decode_request(&m).is_err(), "{r:?} re-framed at {n}");
            }
        }
    }

    #[test]
    fn header_checks() {
        let good = encode_request(1, &Request::Mount);
        let mut m = good.clone();
        m[0] ^= 1;
        assert!(matches!(decode_request(&m), Err(DecodeError::BadMagic(_))));
        let mut m = good.clone();
        m[4] = 2;
        assert_eq!(decode_request(&m), Err(DecodeError::BadVersion(2)));
        let mut m = good.clone();
        m[6] = 200;
        assert_eq!(decode_request(&m), Err(DecodeError::UnknownId(200)));
        let mut m = good.clone();
        m[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_request(&m),
            Err(DecodeError::LengthMismatch { .. })
        ));
        let mut m = good.clone();
        m.push(0);
        assert!(decode_request(&m).is_err());
        let big = vec![0u8; MAX_MESSAGE + 1];
        assert!(matches!(decode_request(&big), Err(DecodeError::TooLong(_))));
        // A request id is not a response, and the reverse.
        assert!(decode_response(&good).is_err());
        let resp = encode_response(1, MsgId::Close, &Ok(Response::Empty));
        assert!(decode_request(&resp).is_err());
    }

    #[test]
    fn field_limits() {
        let long = Request::Walk {
            dir: Handle(1),
            name: vec![b'a'; NAME_MAX + 1],
        };
        assert!(matches!(
            decode_request(&encode_request(1, &long)),
            Err(DecodeError::FieldTooLong { .. })
        ));
        // A dirent count larger than the payload could hold.
        let mut m = encode_response(1, MsgId::Getdents, &Ok(Response::Dirents(vec![])));
        m[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_response(&m).is_err());
        // A hostile dirent name.
        for bad in [&b".."[..], b"a/b", b""] {
            let m = encode_response(
                1,
                MsgId::Getdents,
                &Ok(Response::Dirents(vec![Dirent {
                    ino: 1,
                    cookie: 1,
                    dtype: 0,
                    name: bad.to_vec(),
                }])),
            );
            assert!(decode_response(&m).is_err(), "{bad:?}");
        }
        // Errno out of range.
        let mut m = encode_response(1, MsgId::Stat, &Err(Errno::ENOENT));
        m[16..20].copy_from_slice(&(-3i32).to_le_bytes());
        assert!(decode_response(&m).is_err());
        // Handle 0 in an entry.
        let m = encode_response(
            1,
            MsgId::Walk,
            &Ok(Response::Entry(Entry {
                handle: Handle(0),
                stat: Stat::default(),
            })),
        );
        assert!(decode_response(&m).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(check_name(b"a"), Ok(()));
        assert_eq!(check_name(b"..."), Ok(()));
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0"] {
            assert_eq!(check_name(bad), Err(Errno::EINVAL), "{bad:?}");
        }
        assert_eq!(check_name(&[b'x'; 256]), Err(Errno::ENAMETOOLONG));
        assert_eq!(check_name(&[b'x'; 255]), Ok(()));
        assert_eq!(check_target(&[b'x'; 4096]), Err(Errno::ENAMETOOLONG));
        assert_eq!(check_target(b""), Err(Errno::ENOENT));
    }
}
