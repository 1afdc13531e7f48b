//! /proc: `self`, `thread-self`, per process `exe`, `cwd`, `root` and `fd/` (magic links
//! that lead to the place itself, as Linux's do), generated files, and per thread
//! `task/TID/` with the thread's own `comm`, `stat` and `status`. Which process and
//! thread are asking — "self", "thread-self" — is the task running on the calling
//! sentry thread (tasks are 1:1 with host threads).

use super::Path;
use super::file::FileDescription;
use super::inode::*;
use std::any::Any;
use std::cell::Cell;
use std::sync::Arc;
use syscalls_table::Errno;

pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

thread_local! {
    static CURRENT: Cell<(i32, i32)> = const { Cell::new((0, 0)) };
}

/// Records which process and thread the calling host thread runs (set by the task loop,
/// and again when an exec makes the thread its group's leader).
pub fn set_current(pid: i32, tid: i32) {
    CURRENT.with(|c| c.set((pid, tid)));
}

fn current_pid() -> i32 {
    CURRENT.with(|c| c.get().0)
}

fn current_tid() -> i32 {
    CURRENT.with(|c| c.get().1)
}

/// What procfs needs to know about processes; implemented by the kernel.
pub trait ProcSource: Send + Sync {
    fn pids(&self) -> Vec<i32>;
    /// The executable's path as /proc/PID/exe shows it.
    fn exe(&self, pid: i32) -> Option<Vec<u8>>;
    fn exe_path(&self, pid: i32) -> Option<Path>;
    /// The thread ids of process `pid`.
    fn threads(&self, pid: i32) -> Vec<i32>;
    fn cwd(&self, pid: i32) -> Option<(Path, Vec<u8>)>;
    fn root(&self, pid: i32) -> Option<(Path, Vec<u8>)>;
    fn fds(&self, pid: i32) -> Vec<(i32, Arc<FileDescription>)>;
    /// The name a file description shows in /proc/PID/fd.
    fn fd_name(&self, pid: i32, f: &FileDescription) -> Vec<u8>;
    /// The contents of /proc/PID/NAME (NAME from PID_FILES), or with `tid` of
    /// /proc/PID/task/TID/NAME (the thread's own view).
    fn pid_file(&self, pid: i32, tid: Option<i32>, name: &str) -> Result<Vec<u8>, Errno>;
    /// A write of `data` to /proc/PID/NAME or /proc/PID/task/TID/NAME (the writable
    /// ones: comm). The caller has checked that the writer is of process `pid`.
    fn write_pid_file(
        &self,
        pid: i32,
        tid: Option<i32>,
        name: &str,
        data: &[u8],
    ) -> Result<usize, Errno>;
    /// The contents of /proc/PID/fdinfo/FD.
    fn fd_info(&self, pid: i32, fd: i32) -> Result<Vec<u8>, Errno>;
    /// The contents of /proc/PATH (PATH from GLOBAL_FILES).
    fn global_file(&self, path: &str) -> Result<Vec<u8>, Errno>;
}

/// Generated files in every /proc/PID directory.
pub const PID_FILES: &[&str] = &[
    "auxv",
    "cmdline",
    "comm",
    "environ",
    "limits",
    "maps",
    "mountinfo",
    "mounts",
    "stat",
    "statm",
    "status",
];

/// The sysctls below /proc/sys that are writable (mode 0644); the others are 0444.
const WRITABLE_SYSCTLS: &[&str] = &[
    "sys/fs/pipe-max-size",
    "sys/kernel/hostname",
    "sys/kernel/pid_max",
    "sys/vm/overcommit_memory",
];

/// The permission bits of /proc/PID/NAME (0444 unless listed).
fn pid_file_mode(name: &str) -> u32 {
    match name {
        "auxv" | "environ" => 0o400,
        "comm" => 0o644,
        _ => 0o444,
    }
}

/// Generated files below /proc (directories are implied by the paths).
pub const GLOBAL_FILES: &[&str] = &[
    "cpuinfo",
    "filesystems",
    "loadavg",
    "meminfo",
    "stat",
    "uptime",
    "version",
    "sys/fs/pipe-max-size",
    "sys/kernel/cap_last_cap",
    "sys/kernel/hostname",
    "sys/kernel/ngroups_max",
    "sys/kernel/osrelease",
    "sys/kernel/ostype",
    "sys/kernel/pid_max",
    "sys/kernel/random/boot_id",
    "sys/kernel/random/uuid",
    "sys/kernel/version",
    "sys/vm/overcommit_memory",
];

fn ino_of(path: &str) -> u64 {
    // Stable small inode numbers for generated nodes (FNV-1a of the path).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    0x1000_0000 | (h & 0x0fff_ffff)
}

/// The directory operations procfs refuses. Linux's proc lookups fail with ENOENT for
/// names that do not exist, before any create; removing or renaming an existing entry
/// finds no operation (EPERM), or below /proc/sys fails the permission check that binds
/// root too (EACCES).
macro_rules! read_only_dir {
    ($remove:expr) => {
        fn create(&self, _: &[u8], _: u32, _: u64, _: Cred) -> Result<InodeRef, Errno> {
            Err(Errno::ENOENT)
        }
        fn symlink(&self, _: &[u8], _: &[u8], _: Cred) -> Result<InodeRef, Errno> {
            Err(Errno::ENOENT)
        }
        fn link(&self, _: &[u8], _: &InodeRef) -> Result<(), Errno> {
            Err(Errno::ENOENT)
        }
        fn remove(&self, _: &[u8], _: bool) -> Result<(), Errno> {
            Err($remove)
        }
        fn rename(&self, _: &[u8], dir: &InodeRef, new: &[u8], _: u32) -> Result<(), Errno> {
            match dir.lookup(new) {
                Ok(_) => Err($remove),
                Err(_) => Err(Errno::ENOENT),
            }
        }
    };
}

/// Every /proc node reports the proc filesystem.
fn proc_statfs() -> Result<StatFs, Errno> {
    Ok(StatFs {
        fs_type: PROC_SUPER_MAGIC,
        bsize: 4096,
        namelen: 255,
        ..Default::default()
    })
}

/// A generated file: its text is produced when it is opened.
struct ProcFile {
    dev: u64,
    ino: u64,
    /// Permission bits.
    mode: u32,
    /// Below /proc/sys: the mode binds root too (Linux's proc_sys_permission).
    sysctl: bool,
    generate: Box<dyn Fn() -> Result<Vec<u8>, Errno> + Send + Sync>,
    /// What a write does, for the writable files.
    write: Option<Writer>,
}

type Writer = Arc<dyn Fn(&[u8]) -> Result<usize, Errno> + Send + Sync>;

impl Inode for ProcFile {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            dev: self.dev,
            ino: self.ino,
            mode: S_IFREG | self.mode,
            nlink: 1,
            blksize: 4096,
            ..Default::default()
        })
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
        use super::file::{O_ACCMODE, O_RDONLY};
        if self.sysctl && flags & O_ACCMODE != O_RDONLY && self.mode & 0o200 == 0 {
            return Err(Errno::EACCES);
        }
        Ok(Arc::new(Snapshot((self.generate)()?, self.write.clone())))
    }
}

/// The text of a generated file as it was when opened, and what writes do.
struct Snapshot(Vec<u8>, Option<Writer>);

impl FileOps for Snapshot {
    fn read(&self, segs: &[crate::host::Seg], off: Option<u64>) -> Result<usize, Errno> {
        let off = off.unwrap_or(0) as usize;
        if off >= self.0.len() {
            return Ok(0);
        }
        Ok(crate::host::copy_to_segs(segs, &self.0[off..]))
    }
    fn write(&self, segs: &[crate::host::Seg], _off: Option<u64>) -> Result<usize, Errno> {
        // EIO is what Linux's proc files without a write operation give.
        let w = self.1.as_ref().ok_or(Errno::EIO)?;
        let mut data = vec![0u8; crate::host::segs_len(segs).min(1 << 16)];
        let n = crate::host::copy_from_segs(segs, &mut data);
        w(&data[..n])
    }
    fn size(&self) -> Result<u64, Errno> {
        Ok(self.0.len() as u64)
    }
    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}

/// A directory of GLOBAL_FILES below /proc (e.g. /proc/sys/kernel).
struct GlobalDir {
    dev: u64,
    prefix: String,
    src: Arc<dyn ProcSource>,
}

/// The immediate children of directory `prefix` ("" for /proc) among GLOBAL_FILES:
/// (name, is_dir).
fn global_children(prefix: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for f in GLOBAL_FILES {
        let rest = if prefix.is_empty() {
            Some(*f)
        } else {
            f.strip_prefix(prefix).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else { continue };
        let (name, is_dir) = match rest.split_once('/') {
            Some((d, _)) => (d.to_string(), true),
            None => (rest.to_string(), false),
        };
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, is_dir));
        }
    }
    out
}

fn global_lookup(
    dev: u64,
    prefix: &str,
    name: &[u8],
    src: &Arc<dyn ProcSource>,
) -> Result<InodeRef, Errno> {
    let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
    let (_, is_dir) = global_children(prefix)
        .into_iter()
        .find(|(n, _)| n == name)
        .ok_or(Errno::ENOENT)?;
    let path = if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    };
    if is_dir {
        return Ok(Arc::new(GlobalDir {
            dev,
            prefix: path,
            src: src.clone(),
        }));
    }
    let s = src.clone();
    let ino = ino_of(&path);
    let sysctl = path.starts_with("sys/");
    let mode = if WRITABLE_SYSCTLS.contains(&path.as_str()) {
        0o644
    } else {
        0o444
    };
    Ok(Arc::new(ProcFile {
        dev,
        ino,
        mode,
        sysctl,
        generate: Box::new(move || s.global_file(&path)),
        write: None,
    }))
}

fn global_entries(prefix: &str) -> Vec<DirEntry> {
    global_children(prefix)
        .into_iter()
        .map(|(n, d)| {
            let path = if prefix.is_empty() {
                n.clone()
            } else {
                format!("{prefix}/{n}")
            };
            DirEntry {
                ino: ino_of(&path),
                name: n.into_bytes(),
                kind: if d { 4 } else { 8 },
            }
        })
        .collect()
}

impl Inode for GlobalDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(dir_stat(self.dev, ino_of(&self.prefix)))
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        global_lookup(self.dev, &self.prefix, name, &self.src)
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(global_entries(&self.prefix))
    }
    read_only_dir!(Errno::EACCES);
}

fn dir_stat(dev: u64, ino: u64) -> Stat {
    Stat {
        dev,
        ino,
        mode: S_IFDIR | 0o555,
        nlink: 2,
        blksize: 4096,
        ..Default::default()
    }
}

fn link_stat(dev: u64, ino: u64) -> Stat {
    Stat {
        dev,
        ino,
        mode: S_IFLNK | 0o777,
        nlink: 1,
        blksize: 4096,
        ..Default::default()
    }
}

const PID_ENTRIES: &[&str] = &["cwd", "exe", "fd", "fdinfo", "root"];

/// The root of /proc.
pub struct ProcRoot {
    src: Arc<dyn ProcSource>,
    dev: u64,
}

impl ProcRoot {
    pub fn new(src: Arc<dyn ProcSource>, dev: u64) -> Arc<ProcRoot> {
        Arc::new(ProcRoot { src, dev })
    }
}

impl Inode for ProcRoot {
    /// Processes, threads and descriptors come and go: names are looked up afresh.
    fn cache_children(&self) -> bool {
        false
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(dir_stat(self.dev, 1))
    }
    read_only_dir!(Errno::EPERM);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if name == b"self" || name == b"thread-self" {
            return Ok(Arc::new(ProcLink {
                dev: self.dev,
                ino: if name == b"self" { 2 } else { 3 },
                kind: if name == b"self" {
                    LinkKind::SelfPid
                } else {
                    LinkKind::ThreadSelf
                },
                src: self.src.clone(),
            }));
        }
        if name == b"mounts" {
            return Ok(Arc::new(ProcLink {
                dev: self.dev,
                ino: 4,
                kind: LinkKind::Fixed(b"self/mounts".to_vec()),
                src: self.src.clone(),
            }));
        }
        if let Ok(i) = global_lookup(self.dev, "", name, &self.src) {
            return Ok(i);
        }
        let pid: i32 = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        if !self.src.pids().contains(&pid) {
            return Err(Errno::ENOENT);
        }
        Ok(Arc::new(PidDir {
            pid,
            tid: None,
            dev: self.dev,
            src: self.src.clone(),
        }))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let mut v = vec![
            DirEntry {
                name: b"self".to_vec(),
                ino: 2,
                kind: 10,
            },
            DirEntry {
                name: b"thread-self".to_vec(),
                ino: 3,
                kind: 10,
            },
        ];
        v.push(DirEntry {
            name: b"mounts".to_vec(),
            ino: 4,
            kind: 10,
        });
        v.extend(global_entries(""));
        for pid in self.src.pids() {
            v.push(DirEntry {
                name: pid.to_string().into_bytes(),
                ino: 1000 + pid as u64,
                kind: 4,
            });
        }
        Ok(v)
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
}

/// /proc/PID, or with `tid` /proc/PID/task/TID: the same entries (but `task`), the
/// generated files showing the thread's own data.
struct PidDir {
    pid: i32,
    tid: Option<i32>,
    dev: u64,
    src: Arc<dyn ProcSource>,
}

impl PidDir {
    /// The first of the inode numbers of the entries of this directory.
    fn base_ino(&self) -> u64 {
        match self.tid {
            None => 100_000 + self.pid as u64 * 64,
            Some(t) => 0x4000_0000 + t as u64 * 64,
        }
    }
}

/// The inode number of directory /proc/PID/task/TID.
fn task_dir_ino(tid: i32) -> u64 {
    0x3000_0000 + tid as u64
}

impl Inode for PidDir {
    /// Processes, threads and descriptors come and go: names are looked up afresh.
    fn cache_children(&self) -> bool {
        false
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(dir_stat(
            self.dev,
            match self.tid {
                None => 1000 + self.pid as u64,
                Some(t) => task_dir_ino(t),
            },
        ))
    }
    read_only_dir!(Errno::EPERM);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let ino = self.base_ino();
        let kind = match name {
            b"exe" => LinkKind::Exe(self.pid),
            b"cwd" => LinkKind::Cwd(self.pid),
            b"root" => LinkKind::Root(self.pid),
            b"task" if self.tid.is_none() => {
                return Ok(Arc::new(TaskDir {
                    pid: self.pid,
                    dev: self.dev,
                    src: self.src.clone(),
                }));
            }
            b"fd" | b"fdinfo" => {
                return Ok(Arc::new(FdDir {
                    pid: self.pid,
                    dev: self.dev,
                    src: self.src.clone(),
                    info: name == b"fdinfo",
                }));
            }
            _ => {
                let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
                let i = PID_FILES
                    .iter()
                    .position(|f| *f == name)
                    .ok_or(Errno::ENOENT)?;
                let (src, pid, tid, file) = (self.src.clone(), self.pid, self.tid, PID_FILES[i]);
                let mode = pid_file_mode(file);
                let write: Option<Writer> = if mode & 0o200 != 0 {
                    let src = src.clone();
                    Some(Arc::new(move |d: &[u8]| {
                        // Only a thread of the same process may rename (comm_write).
                        if current_pid() != pid {
                            return Err(Errno::EINVAL);
                        }
                        src.write_pid_file(pid, tid, file, d)
                    }))
                } else {
                    None
                };
                return Ok(Arc::new(ProcFile {
                    dev: self.dev,
                    ino: ino + 16 + i as u64,
                    mode,
                    sysctl: false,
                    generate: Box::new(move || src.pid_file(pid, tid, file)),
                    write,
                }));
            }
        };
        Ok(Arc::new(ProcLink {
            dev: self.dev,
            ino: ino + 1,
            kind,
            src: self.src.clone(),
        }))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        let base = self.base_ino();
        let mut v: Vec<DirEntry> = PID_ENTRIES
            .iter()
            .enumerate()
            .map(|(i, n)| DirEntry {
                name: n.as_bytes().to_vec(),
                ino: base + 2 + i as u64,
                kind: if n.starts_with("fd") { 4 } else { 10 },
            })
            .collect();
        if self.tid.is_none() {
            v.push(DirEntry {
                name: b"task".to_vec(),
                ino: base + 15,
                kind: 4,
            });
        }
        v.extend(PID_FILES.iter().enumerate().map(|(i, n)| DirEntry {
            name: n.as_bytes().to_vec(),
            ino: base + 16 + i as u64,
            kind: 8,
        }));
        Ok(v)
    }
}

/// /proc/PID/task: a directory per thread.
struct TaskDir {
    pid: i32,
    dev: u64,
    src: Arc<dyn ProcSource>,
}

impl Inode for TaskDir {
    /// Processes, threads and descriptors come and go: names are looked up afresh.
    fn cache_children(&self) -> bool {
        false
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            mode: S_IFDIR | 0o555,
            ..dir_stat(self.dev, 100_000 + self.pid as u64 * 64 + 15)
        })
    }
    read_only_dir!(Errno::EPERM);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let tid: i32 = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        if !self.src.threads(self.pid).contains(&tid) {
            return Err(Errno::ENOENT);
        }
        Ok(Arc::new(PidDir {
            pid: self.pid,
            tid: Some(tid),
            dev: self.dev,
            src: self.src.clone(),
        }))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self
            .src
            .threads(self.pid)
            .into_iter()
            .map(|t| DirEntry {
                name: t.to_string().into_bytes(),
                ino: task_dir_ino(t),
                kind: 4,
            })
            .collect())
    }
}

/// /proc/PID/fd (links to the open files) or, with `info`, /proc/PID/fdinfo (their
/// position, flags, mount and inode).
struct FdDir {
    pid: i32,
    dev: u64,
    src: Arc<dyn ProcSource>,
    info: bool,
}

impl Inode for FdDir {
    /// Processes, threads and descriptors come and go: names are looked up afresh.
    fn cache_children(&self) -> bool {
        false
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            mode: S_IFDIR | if self.info { 0o555 } else { 0o500 },
            ..dir_stat(self.dev, 200_000 + self.pid as u64 * 2 + self.info as u64)
        })
    }
    read_only_dir!(Errno::EPERM);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let fd: i32 = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(Errno::ENOENT)?;
        let file = self
            .src
            .fds(self.pid)
            .into_iter()
            .find(|(n, _)| *n == fd)
            .map(|(_, f)| f)
            .ok_or(Errno::ENOENT)?;
        if self.info {
            let (src, pid) = (self.src.clone(), self.pid);
            return Ok(Arc::new(ProcFile {
                dev: self.dev,
                ino: 400_000 + fd as u64,
                mode: 0o444,
                sysctl: false,
                generate: Box::new(move || src.fd_info(pid, fd)),
                write: None,
            }));
        }
        Ok(Arc::new(ProcLink {
            dev: self.dev,
            ino: 300_000 + fd as u64,
            kind: LinkKind::Fd(self.pid, file),
            src: self.src.clone(),
        }))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(self
            .src
            .fds(self.pid)
            .into_iter()
            .map(|(n, _)| DirEntry {
                name: n.to_string().into_bytes(),
                ino: if self.info { 400_000 } else { 300_000 } + n as u64,
                kind: if self.info { 8 } else { 10 },
            })
            .collect())
    }
}

enum LinkKind {
    SelfPid,
    /// /proc/thread-self: PID/task/TID of the caller.
    ThreadSelf,
    Exe(i32),
    Cwd(i32),
    Root(i32),
    Fd(i32, Arc<FileDescription>),
    /// A plain symlink with fixed text.
    Fixed(Vec<u8>),
}

struct ProcLink {
    dev: u64,
    ino: u64,
    kind: LinkKind,
    src: Arc<dyn ProcSource>,
}

impl Inode for ProcLink {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(link_stat(self.dev, self.ino))
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn statfs(&self) -> Result<StatFs, Errno> {
        proc_statfs()
    }
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.kind {
            LinkKind::SelfPid => Ok(current_pid().to_string().into_bytes()),
            LinkKind::ThreadSelf => {
                Ok(format!("{}/task/{}", current_pid(), current_tid()).into_bytes())
            }
            LinkKind::Exe(pid) => self.src.exe(*pid).ok_or(Errno::ENOENT),
            LinkKind::Cwd(pid) => self.src.cwd(*pid).map(|c| c.1).ok_or(Errno::ENOENT),
            LinkKind::Root(pid) => self.src.root(*pid).map(|c| c.1).ok_or(Errno::ENOENT),
            LinkKind::Fd(pid, f) => Ok(self.src.fd_name(*pid, f)),
            LinkKind::Fixed(t) => Ok(t.clone()),
        }
    }
    fn follow_magic(&self) -> Option<Result<Path, Errno>> {
        match &self.kind {
            LinkKind::SelfPid | LinkKind::ThreadSelf | LinkKind::Fixed(_) => None,
            LinkKind::Exe(pid) => Some(self.src.exe_path(*pid).ok_or(Errno::ENOENT)),
            LinkKind::Cwd(pid) => Some(self.src.cwd(*pid).map(|c| c.0).ok_or(Errno::ENOENT)),
            LinkKind::Root(pid) => Some(self.src.root(*pid).map(|c| c.0).ok_or(Errno::ENOENT)),
            LinkKind::Fd(_, f) => Some(Ok(f
                .path
                .clone()
                .unwrap_or_else(|| super::anon_path(f.inode.clone(), f.name.clone())))),
        }
    }
}
