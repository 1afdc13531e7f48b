//! What a filesystem implements: `Inode` (a file, directory, symlink or device in one
//! filesystem) and `FileOps` (an open file's I/O). The VFS (mod.rs) owns names, mounts
//! and path walking; inodes only answer for themselves and their direct children.

use crate::host::Seg;
use std::any::Any;
use std::sync::Arc;
use syscalls_table::Errno;

pub type InodeRef = Arc<dyn Inode>;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
/// setxattr(2) flags.
pub const XATTR_CREATE: u32 = 1;
pub const XATTR_REPLACE: u32 = 2;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

impl Timespec {
    pub fn now() -> Timespec {
        let ts = crate::host::clock_gettime(libc::CLOCK_REALTIME).unwrap_or(libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        });
        Timespec {
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
        }
    }
}

/// Everything `stat(2)`/`statx(2)` report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blksize: u64,
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

impl Stat {
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// The x86-64 `struct stat` (144 bytes).
    pub fn to_stat_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &self.dev.to_le_bytes());
        put(8, &self.ino.to_le_bytes());
        put(16, &self.nlink.to_le_bytes());
        put(24, &self.mode.to_le_bytes());
        put(28, &self.uid.to_le_bytes());
        put(32, &self.gid.to_le_bytes());
        put(40, &self.rdev.to_le_bytes());
        put(48, &self.size.to_le_bytes());
        put(56, &self.blksize.to_le_bytes());
        put(64, &self.blocks.to_le_bytes());
        for (off, t) in [(72, self.atime), (88, self.mtime), (104, self.ctime)] {
            put(off, &t.sec.to_le_bytes());
            put(off + 8, &t.nsec.to_le_bytes());
        }
        b
    }

    /// `struct statx` (256 bytes) with the basic fields (STATX_BASIC_STATS).
    pub fn to_statx_bytes(&self, mnt_id: u64) -> [u8; 256] {
        const STATX_BASIC_STATS: u32 = 0x7ff;
        const STATX_MNT_ID: u32 = 0x1000;
        let mut b = [0u8; 256];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &(STATX_BASIC_STATS | STATX_MNT_ID).to_le_bytes());
        put(4, &(self.blksize as u32).to_le_bytes());
        put(16, &(self.nlink as u32).to_le_bytes());
        put(20, &self.uid.to_le_bytes());
        put(24, &self.gid.to_le_bytes());
        put(28, &(self.mode as u16).to_le_bytes());
        put(32, &self.ino.to_le_bytes());
        put(40, &self.size.to_le_bytes());
        put(48, &self.blocks.to_le_bytes());
        for (off, t) in [(64, self.atime), (96, self.ctime), (112, self.mtime)] {
            put(off, &t.sec.to_le_bytes());
            put(off + 8, &(t.nsec as u32).to_le_bytes());
        }
        let (rmaj, rmin) = split_dev(self.rdev);
        let (dmaj, dmin) = split_dev(self.dev);
        put(128, &rmaj.to_le_bytes());
        put(132, &rmin.to_le_bytes());
        put(136, &dmaj.to_le_bytes());
        put(140, &dmin.to_le_bytes());
        put(144, &mnt_id.to_le_bytes());
        b
    }
}

/// Linux's `new_encode_dev` split: (major, minor).
pub fn split_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major as u32, minor as u32)
}

pub fn make_dev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12) | ((ma & !0xfff) << 32)
}

/// One directory entry, as getdents64 reports it.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// DT_* type.
    pub kind: u8,
}

pub fn dt_type(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFDIR => 4,
        S_IFREG => 8,
        S_IFLNK => 10,
        S_IFCHR => 2,
        S_IFBLK => 6,
        S_IFIFO => 1,
        S_IFSOCK => 12,
        _ => 0,
    }
}

/// Attribute changes for `setattr` (chmod, chown, truncate, utimes).
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
}

/// `struct statfs` fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub flags: u64,
}

/// The identity making a request (for permission checks and new files' owners).
#[derive(Clone, Copy, Debug)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
}

/// One node of a filesystem. Directory operations take a child name (never "." or "..",
/// never containing '/'); the VFS has checked permissions and name validity.
pub trait Inode: Send + Sync + Any {
    fn stat(&self) -> Result<Stat, Errno>;
    /// For a filesystem to recognise its own inodes (link, rename).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;

    fn lookup(&self, _name: &[u8]) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Whether names found below this directory may be remembered until removed (true
    /// when nothing but the sentry changes the tree); otherwise only while in use.
    fn cache_children(&self) -> bool {
        true
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Creates a child: a regular file, fifo or device (`mode` carries the type), a
    /// directory, or a symlink to `target`.
    fn create(&self, _name: &[u8], _mode: u32, _rdev: u64, _cred: Cred) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// O_TMPFILE: an unnamed regular file in this directory; `linkable` unless O_EXCL.
    fn create_tmpfile(&self, _mode: u32, _cred: Cred, _linkable: bool) -> Result<InodeRef, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn symlink(&self, _name: &[u8], _target: &[u8], _cred: Cred) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }
    fn link(&self, _name: &[u8], _target: &InodeRef) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Removes the child `name`; `dir` says whether rmdir (the child must be an empty
    /// directory) or unlink (the child must not be a directory) was asked.
    fn remove(&self, _name: &[u8], _dir: bool) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }
    /// Moves child `old` to `new_dir`/`new` (same filesystem). `flags`: RENAME_*.
    fn rename(
        &self,
        _old: &[u8],
        _new_dir: &InodeRef,
        _new: &[u8],
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }
    /// For procfs "magic links" (/proc/self/cwd, /proc/self/fd/N): following the link
    /// goes straight to this place instead of walking the text readlink shows.
    fn follow_magic(&self) -> Option<Result<super::Path, Errno>> {
        None
    }
    fn setattr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): [off, off+len) reads as
    /// zeroes afterwards and, where whole pages, takes no space.
    fn punch_hole(&self, _off: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        Ok(StatFs {
            bsize: 4096,
            namelen: 255,
            ..Default::default()
        })
    }
    /// The extended attribute `name` (ENODATA if absent).
    fn xattr_get(&self, _name: &[u8]) -> Result<Vec<u8>, Errno> {
        Err(Errno::ENODATA)
    }
    /// Sets (`value` Some) or removes (None) the attribute `name`; `flags` are
    /// XATTR_CREATE (EEXIST if present) and XATTR_REPLACE (ENODATA if absent).
    fn xattr_set(&self, _name: &[u8], _value: Option<&[u8]>, _flags: u32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The names of the attributes present.
    fn xattr_list(&self) -> Result<Vec<Vec<u8>>, Errno> {
        Ok(Vec::new())
    }
    /// The pipe of a fifo node.
    fn fifo(&self) -> Option<Arc<super::pipe::Pipe>> {
        None
    }
    /// Opens the node for I/O. `flags` are the open(2) flags.
    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }
}

/// The I/O of an open file. Offsets are managed by the file description; `pread`/`pwrite`
/// get the position to use (None for streams, which ignore it).
pub trait FileOps: Send + Sync {
    /// Reads into application memory segments; returns bytes read.
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno>;
    /// Writes from application memory segments; returns bytes written. `append` asks for
    /// O_APPEND semantics (write at the end; the new end is returned via `end`).
    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno>;
    /// Whether the file has positions (lseek works, reads advance the offset).
    fn seekable(&self) -> bool {
        true
    }
    /// Whether every lseek leaves the position at 0 and returns 0 (Linux's memory
    /// devices: null_lseek, noop_llseek).
    fn seeks_to_zero(&self) -> bool {
        false
    }
    /// Size for SEEK_END and O_APPEND.
    fn size(&self) -> Result<u64, Errno> {
        Ok(0)
    }
    fn ioctl(&self, _req: u64) -> Option<IoctlResult> {
        None
    }
    /// The host descriptor behind the file, if any (stdio).
    fn host_fd(&self) -> Option<i32> {
        None
    }
    /// SEEK_DATA (`hole` false) or SEEK_HOLE for files that know their holes; None means
    /// the whole file is data.
    fn seek_data_hole(&self, _off: u64, _hole: bool) -> Option<Result<u64, Errno>> {
        None
    }
    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }
    /// read() honouring the description's status flags (O_NONBLOCK); files that never
    /// block ignore them.
    fn read_flags(&self, segs: &[Seg], off: Option<u64>, _flags: u32) -> Result<usize, Errno> {
        self.read(segs, off)
    }
    /// write() honouring the description's status flags (O_NONBLOCK, O_DIRECT).
    fn write_flags(&self, segs: &[Seg], off: Option<u64>, _flags: u32) -> Result<usize, Errno> {
        self.write(segs, off)
    }
    /// The pipe end behind the file, for pipes and fifos.
    fn as_pipe(&self) -> Option<&super::pipe::PipeEnd> {
        None
    }
    /// The socket behind the file, for sockets.
    fn as_socket(&self) -> Option<&crate::net::SocketFile> {
        None
    }
    /// Called after a read of a nonzero count through a description without O_NOATIME,
    /// for files that keep their own access time (Linux's file_accessed()).
    fn accessed(&self) {}
    /// Whether the file can back a shared mapping (`write`: a writable one) through its
    /// own pages: Ok, ENODEV when it has no page cache, EPERM when seals forbid writes.
    fn map_shared(&self, _write: bool) -> Result<(), Errno> {
        Err(Errno::ENODEV)
    }
    /// The page at index `idx` of the file, for a shared mapping (EFAULT past the end of
    /// the file: the access gets SIGBUS).
    fn shared_frame(&self, _idx: u64) -> Result<Arc<crate::mm::memfile::Frame>, Errno> {
        Err(Errno::ENODEV)
    }
    /// Pages `first..first + n` of the file as `shared_frame` gives them, stopping before
    /// the first that fails (whose error is returned when it is the first).
    fn shared_frames(
        &self,
        first: u64,
        n: u64,
    ) -> Result<Vec<Arc<crate::mm::memfile::Frame>>, Errno> {
        let mut v = Vec::new();
        for i in first..first.saturating_add(n) {
            match self.shared_frame(i) {
                Ok(f) => v.push(f),
                Err(e) if v.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(v)
    }
    /// The pages among `first..first + n` that the file's page cache holds already, with
    /// their indices: what a mapping can take without reading (fault-around).
    fn cached_frames(&self, _first: u64, _n: u64) -> Vec<(u64, Arc<crate::mm::memfile::Frame>)> {
        Vec::new()
    }
    /// The poll(2) events that hold now (POLLIN, POLLOUT, POLLHUP, …). Files that never
    /// block are always readable and writable.
    fn poll(&self) -> u32 {
        (libc::POLLIN | libc::POLLOUT | libc::POLLRDNORM | libc::POLLWRNORM) as u32
    }
    /// The file as `Any`, for files a syscall must recognise (pidfd, eventfd, epoll).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// The queue notified when `poll` may have changed; None if it never does.
    fn wait_queue(&self) -> Option<Arc<crate::wait::WaitQueue>> {
        None
    }
}

/// Result of a file-specific ioctl: bytes to copy out to the argument pointer.
pub enum IoctlResult {
    Out(Vec<u8>),
    Err(Errno),
}
