//! Process-level state shared by a thread group and reachable from /proc: the FD table,
//! the filesystem context and the executable's name; and the registry of processes that
//! procfs reads.

use crate::vfs::file::{FdTable, FileDescription};
use crate::vfs::procfs::ProcSource;
use crate::vfs::{FsContext, Path, Vfs};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

pub struct ProcessInfo {
    pub fds: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub exe: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every process of the sandbox, by pid.
#[derive(Default)]
pub struct Processes {
    procs: Mutex<BTreeMap<i32, Arc<ProcessInfo>>>,
    vfs: OnceLock<Weak<Vfs>>,
}

impl Processes {
    pub fn set_vfs(&self, vfs: &Arc<Vfs>) {
        let _ = self.vfs.set(Arc::downgrade(vfs));
    }

    pub fn insert(&self, pid: i32, p: Arc<ProcessInfo>) {
        lock(&self.procs).insert(pid, p);
    }

    fn get(&self, pid: i32) -> Option<Arc<ProcessInfo>> {
        lock(&self.procs).get(&pid).cloned()
    }

    fn name_of(&self, p: &ProcessInfo, path: &Path) -> Vec<u8> {
        let root = lock(&p.fs).root.clone();
        match self.vfs.get().and_then(|w| w.upgrade()) {
            Some(vfs) => vfs.path_name(&root, path),
            None => b"/".to_vec(),
        }
    }
}

impl ProcSource for Processes {
    fn pids(&self) -> Vec<i32> {
        lock(&self.procs).keys().copied().collect()
    }

    fn exe(&self, pid: i32) -> Option<Vec<u8>> {
        self.get(pid).map(|p| p.exe.clone())
    }

    fn cwd(&self, pid: i32) -> Option<(Path, Vec<u8>)> {
        let p = self.get(pid)?;
        let cwd = lock(&p.fs).cwd.clone();
        let name = self.name_of(&p, &cwd);
        Some((cwd, name))
    }

    fn root(&self, pid: i32) -> Option<(Path, Vec<u8>)> {
        let p = self.get(pid)?;
        let root = lock(&p.fs).root.clone();
        Some((root, b"/".to_vec()))
    }

    fn fds(&self, pid: i32) -> Vec<(i32, Arc<FileDescription>)> {
        self.get(pid)
            .map(|p| lock(&p.fds).list())
            .unwrap_or_default()
    }

    fn fd_name(&self, pid: i32, f: &FileDescription) -> Vec<u8> {
        match (&f.path, self.get(pid)) {
            (Some(path), Some(p)) => self.name_of(&p, path),
            _ => f.name.clone(),
        }
    }
}
