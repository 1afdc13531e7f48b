//! File descriptions and the FD table. Until the VFS exists the only files are the host
//! descriptors the sandbox was given for stdio (DESIGN.md §5 "host-FD files").

use crate::host;
use std::collections::BTreeMap;
use std::sync::Arc;
use syscalls_table::Errno;

/// A host file descriptor owned by the sentry (a duplicate of one the sandbox was given).
#[derive(Debug)]
pub struct HostFile {
    fd: i32,
}

impl HostFile {
    pub fn fd(&self) -> i32 {
        self.fd
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        host::close(self.fd);
    }
}

#[derive(Clone, Debug)]
struct Entry {
    file: Arc<HostFile>,
    cloexec: bool,
}

#[derive(Default, Debug)]
pub struct FdTable {
    fds: BTreeMap<i32, Entry>,
}

impl FdTable {
    /// A table whose 0, 1, 2 are duplicates of the sentry's own stdio (those that are open).
    pub fn from_host_stdio() -> FdTable {
        let mut t = FdTable::default();
        for fd in 0..3 {
            if let Ok(dup) = host::dup_cloexec(fd, 100) {
                t.fds.insert(
                    fd,
                    Entry {
                        file: Arc::new(HostFile { fd: dup }),
                        cloexec: false,
                    },
                );
            }
        }
        t
    }

    pub fn get(&self, fd: u64) -> Result<Arc<HostFile>, Errno> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds
            .get(&fd)
            .map(|e| e.file.clone())
            .ok_or(Errno::EBADF)
    }

    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds.remove(&fd).map(|_| ()).ok_or(Errno::EBADF)
    }

    pub fn cloexec(&self, fd: u64) -> Result<bool, Errno> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds.get(&fd).map(|e| e.cloexec).ok_or(Errno::EBADF)
    }

    pub fn set_cloexec(&mut self, fd: u64, on: bool) -> Result<(), Errno> {
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds
            .get_mut(&fd)
            .map(|e| e.cloexec = on)
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor ≥ `min` below `limit`.
    pub fn install(
        &mut self,
        file: Arc<HostFile>,
        min: u64,
        cloexec: bool,
        limit: u64,
    ) -> Result<u64, Errno> {
        let mut fd = min;
        for (&k, _) in self.fds.range(i32::try_from(min).unwrap_or(i32::MAX)..) {
            if k as u64 != fd {
                break;
            }
            fd += 1;
        }
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        self.fds.insert(fd as i32, Entry { file, cloexec });
        Ok(fd)
    }

    /// Installs `file` at exactly `fd`, replacing what was there.
    pub fn install_at(
        &mut self,
        file: Arc<HostFile>,
        fd: u64,
        cloexec: bool,
        limit: u64,
    ) -> Result<(), Errno> {
        if fd >= limit {
            return Err(Errno::EBADF);
        }
        let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
        self.fds.insert(fd, Entry { file, cloexec });
        Ok(())
    }
}
