//! /proc, so far: `self`, and per process `exe`, `cwd`, `root` and `fd/` (magic links that
//! lead to the place itself, as Linux's do). Which process is asking — "self" — is the
//! task running on the calling sentry thread (tasks are 1:1 with host threads).

use super::Path;
use super::file::FileDescription;
use super::inode::*;
use std::any::Any;
use std::cell::Cell;
use std::sync::Arc;
use syscalls_table::Errno;

pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;

thread_local! {
    static CURRENT_PID: Cell<i32> = const { Cell::new(0) };
}

/// Records which process the calling thread runs (set by the task loop).
pub fn set_current_pid(pid: i32) {
    CURRENT_PID.with(|c| c.set(pid));
}

fn current_pid() -> i32 {
    CURRENT_PID.with(|c| c.get())
}

/// What procfs needs to know about processes; implemented by the kernel.
pub trait ProcSource: Send + Sync {
    fn pids(&self) -> Vec<i32>;
    /// The executable's path as /proc/PID/exe shows it.
    fn exe(&self, pid: i32) -> Option<Vec<u8>>;
    fn cwd(&self, pid: i32) -> Option<(Path, Vec<u8>)>;
    fn root(&self, pid: i32) -> Option<(Path, Vec<u8>)>;
    fn fds(&self, pid: i32) -> Vec<(i32, Arc<FileDescription>)>;
    /// The name a file description shows in /proc/PID/fd.
    fn fd_name(&self, pid: i32, f: &FileDescription) -> Vec<u8>;
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

const PID_ENTRIES: &[&str] = &["cwd", "exe", "fd", "root"];

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
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(dir_stat(self.dev, 1))
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        if name == b"self" || name == b"thread-self" {
            return Ok(Arc::new(ProcLink {
                dev: self.dev,
                ino: 2,
                kind: LinkKind::SelfPid,
                src: self.src.clone(),
            }));
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
        Ok(StatFs {
            fs_type: PROC_SUPER_MAGIC,
            bsize: 4096,
            namelen: 255,
            ..Default::default()
        })
    }
}

struct PidDir {
    pid: i32,
    dev: u64,
    src: Arc<dyn ProcSource>,
}

impl Inode for PidDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(dir_stat(self.dev, 1000 + self.pid as u64))
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn lookup(&self, name: &[u8]) -> Result<InodeRef, Errno> {
        let ino = 100_000 + self.pid as u64 * 64;
        let kind = match name {
            b"exe" => LinkKind::Exe(self.pid),
            b"cwd" => LinkKind::Cwd(self.pid),
            b"root" => LinkKind::Root(self.pid),
            b"fd" => {
                return Ok(Arc::new(FdDir {
                    pid: self.pid,
                    dev: self.dev,
                    src: self.src.clone(),
                }));
            }
            _ => return Err(Errno::ENOENT),
        };
        Ok(Arc::new(ProcLink {
            dev: self.dev,
            ino: ino + 1,
            kind,
            src: self.src.clone(),
        }))
    }
    fn readdir(&self) -> Result<Vec<DirEntry>, Errno> {
        Ok(PID_ENTRIES
            .iter()
            .enumerate()
            .map(|(i, n)| DirEntry {
                name: n.as_bytes().to_vec(),
                ino: 100_000 + self.pid as u64 * 64 + 2 + i as u64,
                kind: if *n == "fd" { 4 } else { 10 },
            })
            .collect())
    }
}

struct FdDir {
    pid: i32,
    dev: u64,
    src: Arc<dyn ProcSource>,
}

impl Inode for FdDir {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(Stat {
            mode: S_IFDIR | 0o500,
            ..dir_stat(self.dev, 200_000 + self.pid as u64)
        })
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
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
                ino: 300_000 + n as u64,
                kind: 10,
            })
            .collect())
    }
}

enum LinkKind {
    SelfPid,
    Exe(i32),
    Cwd(i32),
    Root(i32),
    Fd(i32, Arc<FileDescription>),
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
    fn readlink(&self) -> Result<Vec<u8>, Errno> {
        match &self.kind {
            LinkKind::SelfPid => Ok(current_pid().to_string().into_bytes()),
            LinkKind::Exe(pid) => self.src.exe(*pid).ok_or(Errno::ENOENT),
            LinkKind::Cwd(pid) => self.src.cwd(*pid).map(|c| c.1).ok_or(Errno::ENOENT),
            LinkKind::Root(pid) => self.src.root(*pid).map(|c| c.1).ok_or(Errno::ENOENT),
            LinkKind::Fd(pid, f) => Ok(self.src.fd_name(*pid, f)),
        }
    }
    fn follow_magic(&self) -> Option<Result<Path, Errno>> {
        match &self.kind {
            LinkKind::SelfPid => None,
            // The executable lives outside the sandbox's tree until execve goes through
            // the VFS: nothing to follow to.
            LinkKind::Exe(_) => Some(Err(Errno::ENOENT)),
            LinkKind::Cwd(pid) => Some(self.src.cwd(*pid).map(|c| c.0).ok_or(Errno::ENOENT)),
            LinkKind::Root(pid) => Some(self.src.root(*pid).map(|c| c.0).ok_or(Errno::ENOENT)),
            LinkKind::Fd(_, f) => Some(f.path.clone().ok_or(Errno::ENOENT)),
        }
    }
}
