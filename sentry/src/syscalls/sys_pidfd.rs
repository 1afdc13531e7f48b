//! pidfds: pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2) and CLONE_PIDFD. A pidfd
//! refers to a process; it polls readable once the process has exited.

use crate::host::Seg;
use crate::signals::{SI_USER, SigInfo};
use crate::task::Task;
use crate::tasks::TreeRef;
use crate::vfs::anon::AnonInode;
use crate::vfs::file::{FileDescription, O_RDWR};
use crate::vfs::inode::FileOps;
use crate::wait::WaitQueue;
use std::sync::{Arc, Weak};
use syscalls_table::Errno;

pub struct PidFd {
    pub pid: i32,
    tree: Weak<std::sync::Mutex<crate::tasks::Tree>>,
    wq: Arc<WaitQueue>,
}

impl FileOps for PidFd {
    fn read(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self) -> u32 {
        let Some(tree) = self.tree.upgrade() else {
            return (libc::POLLIN | libc::POLLHUP) as u32;
        };
        let t = crate::tasks::lock(&tree);
        match t.groups.get(&self.pid) {
            Some(g) if !g.zombie => 0,
            // Exited (a zombie) or reaped.
            Some(_) => libc::POLLIN as u32,
            None => (libc::POLLIN | libc::POLLHUP) as u32,
        }
    }
    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The pid a pidfd refers to.
pub fn pidfd_pid(f: &FileDescription) -> Option<i32> {
    f.ops.as_any()?.downcast_ref::<PidFd>().map(|p| p.pid)
}

pub fn new_pidfd(tree: &TreeRef, pid: i32) -> Arc<PidFd> {
    let wq = crate::tasks::lock(tree).exit_wq.clone();
    Arc::new(PidFd {
        pid,
        tree: Arc::downgrade(tree),
        wq,
    })
}

/// Installs a pidfd for process `pid` in the caller's table.
pub fn install_pidfd(t: &Task, pid: i32, flags: u32) -> Result<u64, Errno> {
    let ops = new_pidfd(&t.k.tree, pid);
    let inode = AnonInode::new(t.creds.uid, t.creds.gid);
    let file = FileDescription::anonymous(
        ops,
        inode,
        O_RDWR | (flags & libc::O_NONBLOCK as u32),
        b"anon_inode:[pidfd]".to_vec(),
    );
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds()
        .install(file, 0, flags & libc::O_CLOEXEC as u32 != 0, lim)
}

/// pidfd_open(2).
pub fn pidfd_open(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const PIDFD_THREAD: u64 = libc::O_EXCL as u64;
    let (pid, flags) = (a[0] as i32, a[1]);
    if flags & !(libc::O_NONBLOCK as u64 | PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    {
        let tree = t.tree();
        match tree.groups.get(&pid) {
            // A zombie may still be opened; a thread that is not a leader may not.
            Some(_) => {}
            None if tree.tasks.contains_key(&pid) => return Err(Errno::ENOENT),
            None => return Err(Errno::ESRCH),
        }
    }
    install_pidfd(
        t,
        pid,
        libc::O_CLOEXEC as u32 | (flags as u32 & libc::O_NONBLOCK as u32),
    )
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (fd, sig, uinfo, flags) = (a[0], a[1], a[2], a[3]);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = t.fds().get(fd)?;
    let pid = pidfd_pid(&f).ok_or(Errno::EBADF)?;
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    let info = if uinfo != 0 {
        let mut b = [0u8; 128];
        t.mm.copy_in(uinfo, &mut b)?;
        let i = SigInfo(b);
        if i.signo() != sig as i32 {
            return Err(Errno::EINVAL);
        }
        // Only the kernel may send SI_USER-or-positive codes to another process.
        if pid != t.tgid && (i.code() >= 0 || i.code() == crate::signals::SI_TKILL) {
            return Err(Errno::EPERM);
        }
        i
    } else {
        SigInfo::from_process(sig as i32, SI_USER, t.tgid, t.creds.uid)
    };
    super::sys_signal::send_to_process(t, pid, sig as i32, info).map(|_| 0)
}

/// pidfd_getfd(2): a duplicate of another process's descriptor. Permission is ptrace's
/// (PTRACE_MODE_ATTACH_REALCREDS): same uid or root.
pub fn pidfd_getfd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pidfd, targetfd, flags) = (a[0], a[1], a[2]);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = t.fds().get(pidfd)?;
    let pid = pidfd_pid(&f).ok_or(Errno::EBADF)?;
    let (info, uid) = {
        let tree = t.tree();
        let g = tree.groups.get(&pid).ok_or(Errno::ESRCH)?;
        if g.zombie {
            return Err(Errno::ESRCH);
        }
        (g.info.clone(), g.uid)
    };
    if !t.capable(crate::caps::CAP_SYS_PTRACE) && t.creds.uid != uid {
        return Err(Errno::EPERM);
    }
    let file = info
        .fds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(targetfd)?;
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, true, lim)
}
