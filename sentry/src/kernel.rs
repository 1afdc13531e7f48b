//! The sandbox kernel: state shared by all tasks of one sandbox (platform, memory file,
//! options); `Sandbox`, which loads the initial program and runs it to its exit, and
//! `Control`, what a runtime outside may do to a running sandbox (signal, list, freeze).

use crate::loader::{self, Image, LoadError};
use crate::mm::memfile::MemoryFile;
use crate::mm::{MemoryManager, page_down};
use crate::process::{ProcessInfo, Processes};
use crate::task::{Creds, SigAction, SignalState, Task};
use crate::tasks::{Group, TaskEntry, Tree, TreeRef};
use crate::vfs::file::{FdTable, FileDescription, O_RDONLY, O_WRONLY};
use crate::vfs::goferfs::GoferFs;
use crate::vfs::hostfd::HostFd;
use crate::vfs::inode::{Cred, InodeRef, S_IFDIR, S_IFREG, make_dev};
use crate::vfs::overlay::OverlayInode;
use crate::vfs::procfs::ProcRoot;
use crate::vfs::tmpfs::Tmpfs;
use crate::vfs::{FsContext, Path, Vfs, devfs};
use crate::{host, log};
use platform::{CpuState, Platform, PlatformError, Regs};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How a thread group ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The exit code a shell reports: the status, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// What the sandbox's root filesystem is.
pub enum RootFs {
    /// An empty in-memory tree.
    Tmpfs,
    /// A gofer's tree, over these channels. With `overlay`, the gofer serves it read-only
    /// and writes go to an in-memory upper layer; without, writes reach the gofer's tree.
    Gofer {
        channels: Vec<std::os::fd::OwnedFd>,
        overlay: bool,
    },
}

/// A filesystem mounted on the root's tree after the sandbox's own (an OCI bundle's
/// `mounts`), in order, so a later one may sit on an earlier one.
pub struct Mount {
    /// An absolute path in the sandbox; missing directories on the way are made (in a
    /// writable root).
    pub destination: Vec<u8>,
    pub fs: MountFs,
    /// Mounted read-only (MS_RDONLY).
    pub read_only: bool,
}

pub enum MountFs {
    /// A fresh in-memory filesystem whose root has this mode.
    Tmpfs { mode: u32 },
    /// A gofer's tree over these channels (a bind mount of a host directory, served by
    /// a gofer of its own, read-only when the mount is). A gofer whose root is a regular
    /// file (a bind mount of a file) is mounted over a file, made empty where missing.
    Gofer {
        channels: Vec<std::os::fd::OwnedFd>,
        /// How the mount is named in /proc/mounts (the host source path).
        source: String,
    },
}

/// The identity the initial process runs with (an OCI bundle's `process.user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Its capability sets (`process.capabilities`).
    pub caps: crate::caps::Caps,
    /// Runs with no_new_privs set (`process.noNewPrivileges`).
    pub no_new_privs: bool,
}

pub struct Config {
    pub platform: String,
    pub root: RootFs,
    pub strace: bool,
    /// seccomp: patch syscall sites (`--seccomp-patch`).
    pub seccomp_patch: bool,
    /// Host path of the program.
    pub program: String,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    /// The initial process's credentials; None: the sentry's own (as `runsc do`).
    pub user: Option<User>,
    /// The hostname uname(2) shows; None: the host's.
    pub hostname: Option<String>,
    /// Resource limits `(resource, soft, hard)` that replace, for the initial process,
    /// the sentry's own (which it otherwise inherits).
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Mounts on top of the sandbox's own `/dev`, `/tmp`, `/proc` and `/sys`.
    pub mounts: Vec<Mount>,
    /// What AF_INET/AF_INET6 sockets reach (`--network`).
    pub network: crate::net::Network,
    /// The sandbox's resource limits (`linux.resources`).
    pub resources: Resources,
}

/// Limits on the whole sandbox, as the memory and pids cgroups of a container
/// (`linux.resources`); None: unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    /// Bytes of application memory (memory.max): anonymous memory and file data in the
    /// memory file.
    pub memory: Option<u64>,
    /// Tasks, threads included (pids.max).
    pub pids: Option<u64>,
}

/// What the sandbox uses against its limits (`runsc events --stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub memory: u64,
    pub memory_limit: Option<u64>,
    pub pids: u64,
    pub pids_limit: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("platform {0}: {1}")]
    Platform(String, PlatformError),
    #[error("memory file: {0}")]
    MemoryFile(std::io::Error),
    #[error("{0}")]
    Setup(String),
}

/// State shared by every task of a sandbox.
pub struct Kernel {
    pub platform: Arc<dyn Platform>,
    pub memfile: Arc<MemoryFile>,
    pub strace: bool,
    /// The initial program's path as `/proc/self/exe` shows it.
    pub exe: Vec<u8>,
    /// Syscall numbers already reported as unsupported (each is logged once).
    pub unsupported_logged: Mutex<HashSet<u64>>,
    pub vfs: Arc<Vfs>,
    pub processes: Arc<Processes>,
    /// The hidden tmpfs memfd_create(2) files live in (unlinked at once).
    pub memfd_root: Arc<crate::vfs::tmpfs::TmpfsInode>,
    pub memfd_seq: std::sync::atomic::AtomicU64,
    /// Every task and thread group.
    pub tree: TreeRef,
    pub futexes: crate::futex::Futexes,
    /// The timer service (its thread stops when the sandbox ends).
    pub timers: crate::timers::TimerService,
    /// System V IPC objects.
    pub ipc: crate::ipc::Ipc,
    /// AF_UNIX names (abstract and filesystem bindings).
    pub unix: Arc<crate::net::unix::Names>,
    /// What AF_INET/AF_INET6 sockets reach (`--network`).
    pub network: crate::net::Network,
    /// The sandbox's own loopback network (`--network=none`).
    pub loopback: Arc<crate::net::loopback::Net>,
    /// Host threads running tasks other than the initial one.
    live: Mutex<usize>,
    live_cv: Condvar,
    /// Set while the sandbox is paused: no task runs application code. Read on every
    /// return to application code, so a flag; `freeze_lock` and `frozen_cv` park tasks.
    frozen: AtomicBool,
    /// The process the OOM killer last killed, until its memory has come back
    /// (`oom_kill`).
    oom_victim: Mutex<Option<OomVictim>>,
    freeze_lock: Mutex<()>,
    frozen_cv: Condvar,
}

impl Kernel {
    pub fn thread_started(&self) {
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    pub fn thread_done(&self) {
        let mut n = self.live.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        self.live_cv.notify_all();
    }

    /// Parks the calling task while the sandbox is paused (`Control::pause`), until it
    /// is resumed or the task's group must exit (a SIGKILL ends a paused sandbox).
    /// Returns whether it parked.
    pub fn freeze_point(&self, tgid: i32) -> bool {
        if !self.frozen.load(Ordering::SeqCst) {
            return false;
        }
        let mut f = self.freeze_lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.frozen.load(Ordering::SeqCst) {
            if crate::tasks::lock(&self.tree)
                .groups
                .get(&tgid)
                .is_none_or(|g| g.exit.is_some())
            {
                break;
            }
            // `Control` notifies after every signal; the timeout covers exits that
            // start inside the sandbox (init's end kills every task).
            f = self
                .frozen_cv
                .wait_timeout(f, std::time::Duration::from_millis(200))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Wakes the tasks parked in `freeze_point` to look again.
    fn thaw_check(&self) {
        let _g = self.freeze_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.frozen_cv.notify_all();
    }

    /// Waits until every task thread has ended.
    fn wait_threads(&self) {
        let mut n = self.live.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            n = self.live_cv.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Builds the sandbox's mount tree: the root (a gofer's tree, or an empty tmpfs), `/dev`
/// (with a tmpfs on `/dev/shm`), a tmpfs on `/tmp`, `/proc` and a read-only `/sys`.
/// Returns the tree and the working directory (`cwd`, or `/` where it does not exist).
fn build_vfs(
    cwd: &[u8],
    processes: &Arc<Processes>,
    rootfs: RootFs,
    mounts: Vec<Mount>,
) -> Result<(Arc<Vfs>, Path), syscalls_table::Errno> {
    let root_cred = Cred { uid: 0, gid: 0 };
    let vcreds = crate::vfs::Creds::KERNEL;
    let mut minor = 0;
    let mut anon_dev = || {
        minor += 1;
        make_dev(0, 40 + minor)
    };
    let (vfs, writable_root) = match rootfs {
        RootFs::Tmpfs => (
            Vfs::new(
                Tmpfs::new_root(anon_dev(), 0o755, root_cred),
                "tmpfs",
                false,
            ),
            true,
        ),
        RootFs::Gofer { channels, overlay } => {
            let lower: InodeRef = GoferFs::mount(gofer::client::Client::new(channels), overlay)?;
            if overlay {
                let root: InodeRef = OverlayInode::new_root(lower, anon_dev())?;
                (Vfs::new(root, "overlay", false), true)
            } else {
                (Vfs::new(lower, "9p", false), true)
            }
        }
    };
    let ctx = FsContext {
        root: vfs.root(),
        cwd: vfs.root(),
        umask: 0,
    };
    let lookup = |dir: &Path, name: &[u8]| vfs.resolve(&ctx, vcreds, dir, name, true);
    // A directory to mount on: made in a writable root, else it must exist.
    let mountpoint = |name: &[u8], mode: u32| -> Option<Path> {
        let root = vfs.root();
        if let Ok(p) = lookup(&root, name) {
            return p.stat().is_ok_and(|s| s.is_dir()).then_some(p);
        }
        if writable_root {
            return vfs.create(&root, name, S_IFDIR | mode, 0, vcreds).ok();
        }
        log::warn(&format!(
            "no /{} in the root filesystem: not mounted",
            String::from_utf8_lossy(name)
        ));
        None
    };
    if let Some(dev) = mountpoint(b"dev", 0o755) {
        let devfs_root: InodeRef = devfs::new_dev_tree(anon_dev())?;
        let m = vfs.mount(&dev, devfs_root, "devtmpfs", "none", false)?;
        let shm = lookup(
            &Path {
                mnt: m.clone(),
                dentry: m.root.clone(),
            },
            b"shm",
        )?;
        vfs.mount(
            &shm,
            Tmpfs::new_root(anon_dev(), 0o1777, root_cred),
            "tmpfs",
            "shm",
            false,
        )?;
    }
    if let Some(tmp) = mountpoint(b"tmp", 0o1777) {
        vfs.mount(
            &tmp,
            Tmpfs::new_root(anon_dev(), 0o1777, root_cred),
            "tmpfs",
            "tmpfs",
            false,
        )?;
    }
    if let Some(p) = mountpoint(b"proc", 0o555) {
        vfs.mount(
            &p,
            ProcRoot::new(processes.clone(), anon_dev()),
            "proc",
            "proc",
            false,
        )?;
    }
    if let Some(p) = mountpoint(b"sys", 0o555) {
        vfs.mount(
            &p,
            crate::vfs::sysfs::new_sys_tree(anon_dev())?,
            "sysfs",
            "sysfs",
            false,
        )?;
    }
    for m in mounts {
        let name = String::from_utf8_lossy(&m.destination).into_owned();
        let (inode, fstype, source): (InodeRef, _, String) = match m.fs {
            MountFs::Tmpfs { mode } => (
                Tmpfs::new_root(anon_dev(), mode & 0o7777, root_cred),
                "tmpfs",
                "tmpfs".into(),
            ),
            MountFs::Gofer { channels, source } => (
                GoferFs::mount(gofer::client::Client::new(channels), m.read_only)?,
                "9p",
                source,
            ),
        };
        // Its mount point, made where it is missing (as for the working directory): a
        // directory, or for a gofer that serves one file (a bind mount of a file) an
        // empty regular file in a directory.
        let root_is_dir = inode.stat()?.is_dir();
        let comps: Vec<&[u8]> = m
            .destination
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        let mut at = vfs.root();
        for (i, comp) in comps.iter().enumerate() {
            let kind = if root_is_dir || i + 1 < comps.len() {
                S_IFDIR | 0o755
            } else {
                S_IFREG | 0o644
            };
            at = match lookup(&at, comp) {
                Ok(p) => p,
                Err(_) => vfs.create(&at, comp, kind, 0, vcreds)?,
            };
        }
        if let Err(e) = vfs.mount(&at, inode, fstype, &source, m.read_only) {
            log::warn(&format!("mount on {name}: {e:?}"));
            return Err(e);
        }
    }
    processes.set_vfs(&vfs);
    // The working directory is preserved: its directories are made where they do not
    // exist (e.g. below the fresh tmpfs on /tmp); `/` when that cannot be done.
    let mut cur = vfs.root();
    for comp in cwd.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        cur = match lookup(&cur, comp) {
            Ok(p) if p.stat()?.is_dir() => p,
            _ => match vfs.create(&cur, comp, S_IFDIR | 0o755, 0, vcreds) {
                Ok(p) => p,
                Err(e) => {
                    log::warn(&format!(
                        "the working directory cannot be made in the sandbox ({e:?}): using /"
                    ));
                    return Ok((vfs.clone(), vfs.root()));
                }
            },
        };
    }
    Ok((vfs, cur))
}

/// FDs 0–2 of the application: host FDs `from` (the sandbox's own stdio for init, the
/// caller's for an exec), duplicated, as host-FD files.
pub(crate) fn stdio_table(from: [i32; 3]) -> FdTable {
    let mut t = FdTable::default();
    for (fd, src) in from.into_iter().enumerate() {
        let Some(h) = HostFd::dup_of(src) else {
            continue;
        };
        let access = match host::fcntl(h.fd(), libc::F_GETFL, 0) {
            Ok(fl) => fl as u32,
            Err(_) => {
                if fd == 0 {
                    O_RDONLY
                } else {
                    O_WRONLY
                }
            }
        };
        // A terminal is named as the sandbox sees it (/dev/pts/N), not as the host does.
        let name = crate::tty::register(&h).unwrap_or_else(|| host::describe_fd(src));
        let file = FileDescription::anonymous(h.clone(), h, access, name);
        let _ = t.install_at(file, fd as u64, false, u64::MAX);
    }
    t
}

/// Loads and runs `cfg.program` in a new sandbox on the calling thread; returns how it
/// ended.
pub fn run(cfg: Config) -> Result<ExitStatus, Error> {
    Ok(Sandbox::new(cfg)?.run())
}

/// A sandbox whose initial process is loaded but has not run an instruction yet. The
/// OCI runtime makes one at `create` and runs it at `start`; `Control` reaches it from
/// other threads meanwhile. It runs on the thread that made it (the platform context of
/// the initial task belongs to that thread).
pub struct Sandbox {
    kernel: Arc<Kernel>,
    task: Task,
}

/// One process as `Control::processes` lists it (what `ps` shows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessEntry {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// R, S, T or Z, as /proc/PID/stat shows it.
    pub state: char,
    pub comm: String,
    pub threads: usize,
}

/// What a runtime outside the sandbox may do to it while it runs (OCI `kill`, `ps`,
/// `pause`, `resume`). Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Control {
    k: Arc<Kernel>,
}

/// A `Control` that does not keep the sandbox's kernel (and so its files and gofer
/// channels) alive once the sandbox has ended.
#[derive(Clone)]
pub struct WeakControl {
    k: std::sync::Weak<Kernel>,
}

impl WeakControl {
    /// The `Control`, while the sandbox's kernel exists.
    pub fn upgrade(&self) -> Option<Control> {
        self.k.upgrade().map(|k| Control { k })
    }
}

impl Control {
    pub fn downgrade(&self) -> WeakControl {
        WeakControl {
            k: Arc::downgrade(&self.k),
        }
    }

    /// Sends `signo` to the initial process, or with `all` to every process, as kill(2)
    /// from outside the sandbox does (SI_USER, sender pid 0). ESRCH once the initial
    /// process is exiting; EINVAL for a number that is no signal.
    pub fn signal(&self, signo: i32, all: bool) -> Result<(), syscalls_table::Errno> {
        use syscalls_table::Errno;
        if !(1..=64).contains(&signo) {
            return Err(Errno::EINVAL);
        }
        {
            let mut t = crate::tasks::lock(&self.k.tree);
            let alive = |g: &Group| g.exit.is_none() && !g.zombie;
            if t.shutdown || !t.groups.get(&1).is_some_and(alive) {
                return Err(Errno::ESRCH);
            }
            let targets: Vec<i32> = if all {
                t.groups
                    .values()
                    .filter(|g| alive(g))
                    .map(|g| g.tgid)
                    .collect()
            } else {
                vec![1]
            };
            for tgid in targets {
                let info =
                    crate::signals::SigInfo::from_process(signo, crate::signals::SI_USER, 0, 0);
                t.send(tgid, None, info);
            }
        }
        // A paused task that must now exit leaves its freeze point.
        self.k.thaw_check();
        Ok(())
    }

    /// Records that the host terminal `rdev` (the host's device number) is the sandbox
    /// process's controlling terminal: its line discipline signals us, and we pass the
    /// signals on with `terminal_signal`.
    pub fn set_controlling_terminal(&self, rdev: u64) {
        crate::tty::set_controlling(rdev);
    }

    /// Delivers a signal the controlling host terminal generated (SIGINT, SIGQUIT,
    /// SIGTSTP, SIGWINCH, SIGHUP) inside the sandbox as Linux's tty layer would: to the
    /// terminal's foreground process group (SIGHUP: to its session leader). Returns
    /// whether any process got it.
    pub fn terminal_signal(&self, signo: i32) -> bool {
        let sent = {
            let mut t = crate::tasks::lock(&self.k.tree);
            !t.shutdown && crate::tty::deliver(&mut t, signo)
        };
        self.k.thaw_check();
        sent
    }

    /// Whether the sandbox runs job control on its controlling host terminal: a shell
    /// inside handles ^Z; else the job that stops is the whole sandbox.
    pub fn terminal_job_control(&self) -> bool {
        crate::tty::has_job_control()
    }

    /// Every process of the sandbox, by pid.
    pub fn processes(&self) -> Vec<ProcessEntry> {
        let t = crate::tasks::lock(&self.k.tree);
        t.groups
            .values()
            .map(|g| {
                let state = if g.zombie {
                    'Z'
                } else if g.stopped.is_some() {
                    'T'
                } else {
                    g.info.state.load(Ordering::Relaxed) as char
                };
                let comm = g.info.comm.lock().unwrap_or_else(|e| e.into_inner());
                ProcessEntry {
                    pid: g.tgid,
                    ppid: g.parent,
                    uid: g.uid,
                    state,
                    comm: String::from_utf8_lossy(&comm).into_owned(),
                    threads: g.threads.len(),
                }
            })
            .collect()
    }

    /// Pauses the sandbox: every task stops before its next instruction of application
    /// code (one running it is interrupted) until `resume`. Unlike SIGSTOP, the
    /// application cannot see it (no job-control stop, no SIGCHLD to the parent).
    pub fn pause(&self) {
        self.k.frozen.store(true, Ordering::SeqCst);
        let t = crate::tasks::lock(&self.k.tree);
        for e in t.tasks.values() {
            if let Some(i) = e
                .shared
                .interrupter
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                i.interrupt();
            }
        }
    }

    /// Lets the tasks of a paused sandbox run again.
    pub fn resume(&self) {
        self.k.frozen.store(false, Ordering::SeqCst);
        self.k.thaw_check();
    }

    /// Starts a new process in the running sandbox (OCI `exec`); see `crate::spawn`.
    pub fn exec(&self, spec: crate::spawn::ExecSpec) -> Result<crate::spawn::Spawned, Error> {
        crate::spawn::spawn(&self.k, spec)
    }

    /// Whether the initial process has exited or is exiting (so the sandbox ends once
    /// it is let run).
    pub fn init_exiting(&self) -> bool {
        let t = crate::tasks::lock(&self.k.tree);
        t.shutdown || t.groups.get(&1).is_none_or(|g| g.exit.is_some())
    }

    pub fn paused(&self) -> bool {
        self.k.frozen.load(Ordering::SeqCst)
    }

    /// Changes the limits live (OCI `update`): a field that is None stays as it is.
    /// A memory limit below the current use is reached as a memory cgroup's is: caches
    /// are dropped, then the OOM killer kills the largest processes (a few rounds at
    /// most); a pids limit below the current count only stops growth.
    pub fn update_resources(&self, memory: Option<Option<u64>>, pids: Option<Option<u64>>) {
        if let Some(m) = memory {
            self.k.memfile.set_limit(m);
            if m.is_some() && !self.k.memfile.has_room(0) {
                self.k.memfile.relieve();
                for _ in 0..3 {
                    // No task asks: every process may be chosen.
                    if self.k.memfile.has_room(0) || self.k.oom_kill(0) {
                        break;
                    }
                }
            }
        }
        if let Some(p) = pids {
            crate::tasks::lock(&self.k.tree).pids_max = p;
        }
    }

    /// The sandbox's use of memory and tasks, and the limits.
    pub fn usage(&self) -> Usage {
        let (pids, pids_limit) = {
            let t = crate::tasks::lock(&self.k.tree);
            (t.pids_current(), t.pids_max)
        };
        Usage {
            memory: self.k.memfile.in_use(),
            memory_limit: self.k.memfile.limit(),
            pids,
            pids_limit,
        }
    }
}

impl Kernel {
    /// The memory limit is reached and dropping caches did not help (the memory cgroup's
    /// OOM killer): the process with the largest resident set is killed by SIGKILL.
    /// Returns true when the caller's process `me` is that process (or nothing else can
    /// be freed); false when another one was killed and has released enough memory for
    /// the caller to try again. While a killed process is still exiting nobody else is
    /// killed: the caller waits (woken by each exit) for its memory.
    pub fn oom_kill(&self, me: i32) -> bool {
        const ROUNDS: u32 = 200;
        const WAIT: Duration = Duration::from_millis(10);
        // How long a victim's memory may take to come back before another is chosen.
        const RELEASE: Duration = Duration::from_secs(1);
        for round in 0..ROUNDS {
            // After a wait, memory may have come back (a victim's): the caller tries
            // again. Not before: its allocation may need more than this one page, and
            // retrying without a kill would never end.
            if round > 0 {
                self.memfile.reclaim();
                if self.memfile.has_room(1) {
                    return false;
                }
            }
            // (tgid, exiting or exited, still has threads, address space)
            type Seen = (i32, bool, bool, Option<Arc<MemoryManager>>);
            let (groups, exit_wq) = {
                let t = crate::tasks::lock(&self.tree);
                let g: Vec<Seen> = t
                    .groups
                    .values()
                    .map(|g| {
                        let mm = g.info.mm.lock().unwrap_or_else(|e| e.into_inner()).clone();
                        let threads = t.tasks.values().any(|e| e.tgid == g.tgid);
                        (g.tgid, g.exit.is_some() || g.zombie, threads, mm)
                    })
                    .collect();
                (g, t.exit_wq.clone())
            };
            // The caller's own process is being killed (by another of its threads).
            if groups.iter().any(|(tgid, gone, _, _)| *tgid == me && *gone) {
                return true;
            }
            let rss = |mm: &Option<Arc<MemoryManager>>| mm.as_ref().map_or(0, |m| m.resident());
            // A victim's pages come back while its address space is torn down, after
            // its threads have gone: until most of them have, nobody else is killed.
            let in_use = self.memfile.in_use();
            let releasing = {
                let mut v = self.oom_victim.lock().unwrap_or_else(|e| e.into_inner());
                let still = v
                    .as_ref()
                    .is_some_and(|v| in_use > v.target && Instant::now() < v.deadline);
                if !still {
                    *v = None;
                }
                still
            };
            let dying = releasing
                || groups
                    .iter()
                    .any(|(_, gone, threads, mm)| *gone && (*threads || rss(mm) > 0));
            if !dying {
                let victim = groups
                    .iter()
                    .filter(|(_, gone, _, _)| !gone)
                    .map(|(tgid, _, _, mm)| (*tgid, rss(mm)))
                    .max_by_key(|(tgid, rss)| (*rss, std::cmp::Reverse(*tgid)));
                match victim {
                    Some((v, size)) if v != me => {
                        crate::log::warn(&format!(
                            "memory limit reached ({in_use} bytes in use, limit {:?}): killing process {v} (largest resident set: {size} bytes)",
                            self.memfile.limit()
                        ));
                        *self.oom_victim.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(OomVictim {
                                target: in_use.saturating_sub(size / 2),
                                deadline: Instant::now() + RELEASE,
                            });
                        crate::tasks::lock(&self.tree)
                            .group_exit(v, ExitStatus::Signaled(libc::SIGKILL));
                        self.thaw_check();
                    }
                    _ => return true,
                }
            }
            let w = crate::wait::Waiter::new();
            let _reg = exit_wq.register(&w);
            let seen = w.seq();
            w.sleep(seen, Some(Instant::now() + WAIT));
        }
        true
    }
}

/// A process the OOM killer killed: its memory is expected back (the memory file's use
/// down to `target`) by `deadline`.
struct OomVictim {
    target: u64,
    deadline: Instant,
}

impl Sandbox {
    /// Builds the kernel and the mount tree, finds and loads `cfg.program` as pid 1.
    pub fn new(cfg: Config) -> Result<Sandbox, Error> {
        // What the sentry reads of the host once, read now: after setup it opens no
        // host files (runsc installs a seccomp allowlist without open/openat).
        crate::sched::host();
        crate::host::getauxval(libc::AT_HWCAP);
        // The sandbox's CPUs, before the platform pins any thread.
        crate::host::sched_getaffinity();
        let memfile = MemoryFile::global()
            .cloned()
            .ok_or_else(|| Error::MemoryFile(std::io::Error::last_os_error()))?;
        memfile.set_limit(cfg.resources.memory);
        let opts = platform::Options {
            seccomp_patch: cfg.seccomp_patch,
        };
        let platform = platform::new_platform(&cfg.platform, memfile.fd(), opts)
            .map_err(|e| Error::Platform(cfg.platform.clone(), e))?;
        let perr = |e| Error::Platform(cfg.platform.clone(), e);
        let aspace = platform.new_address_space().map_err(perr)?;
        let ctx = platform.new_context().map_err(perr)?;
        let mm = Arc::new(MemoryManager::new(
            aspace,
            memfile.clone(),
            platform.min_user_addr(),
            platform.max_user_addr(),
        ));

        let ids = match &cfg.user {
            Some(u) => host::Ids {
                uid: u.uid,
                gid: u.gid,
                groups: u.groups.clone(),
            },
            None => host::ids(),
        };
        let (caps, no_new_privs) = match &cfg.user {
            Some(u) => (u.caps, u.no_new_privs),
            None => (crate::caps::Caps::for_uid(ids.uid), false),
        };
        // Read the host's auxiliary vector now, while the sentry may still open files.
        host::getauxval(0);
        crate::sched::init_host();
        let mut rlimits = [(0u64, 0u64); 16];
        for (i, r) in rlimits.iter_mut().enumerate() {
            *r = host::getrlimit(i as u32);
        }
        for &(res, soft, hard) in &cfg.rlimits {
            match rlimits.get_mut(res as usize) {
                Some(r) if soft <= hard => *r = (soft, hard),
                _ => {
                    return Err(Error::Setup(format!(
                        "rlimit {res}: soft {soft} above hard {hard} or no such resource"
                    )));
                }
            }
        }
        let stack_limit = rlimits[libc::RLIMIT_STACK as usize]
            .0
            .clamp(128 << 10, 1 << 30);

        let processes = Arc::new(Processes::default());
        if let Some(h) = &cfg.hostname {
            let _ = processes.hostname.set(h.clone());
        }
        let (vfs, cwd_path) = build_vfs(&cfg.cwd, &processes, cfg.root, cfg.mounts)
            .map_err(|e| Error::Setup(format!("building the mount tree: {e:?}")))?;
        let fs_ctx = FsContext {
            root: vfs.root(),
            cwd: cwd_path,
            umask: 0o022,
        };

        // The program, found and read inside the sandbox.
        let vcreds = crate::vfs::Creds {
            uid: ids.uid,
            gid: ids.gid,
            caps: caps.effective,
        };
        let mut argv = cfg.argv.clone();
        let (exe, exe_name, exe_path) = crate::exec::find(
            &vfs,
            &fs_ctx,
            vcreds,
            cfg.program.as_bytes(),
            &mut argv,
            &cfg.envp,
        )?;
        let img = Image {
            argv: &argv,
            envp: &cfg.envp,
            execfn: exe.program.path.as_bytes(),
            uid: ids.uid,
            gid: ids.gid,
            stack_limit,
        };
        let stack_top = page_down(platform.max_user_addr()) - 0x1000;
        let loaded = loader::load(&mm, &exe, &img, stack_top)?;
        drop(exe);

        let fs = Arc::new(Mutex::new(fs_ctx));
        let fds = Arc::new(Mutex::new(stdio_table([0, 1, 2])));
        // The console is the initial process's controlling terminal, as runc makes it.
        if host::isatty(0)
            && let Ok(b) = host::fstat(0)
        {
            crate::tty::set_session_terminal(1, crate::vfs::hostfd::stat_from_host(&b).rdev);
        }
        let comm: Vec<u8> = {
            let base = exe_name.as_slice();
            let base = base.rsplit(|&b| b == b'/').next().unwrap_or(base);
            base.iter().copied().take(15).collect()
        };
        let process = Arc::new(ProcessInfo {
            fds: fds.clone(),
            fs: fs.clone(),
            exe: exe_name.clone(),
            exe_path: Some(exe_path),
            mm: Mutex::new(Some(mm.clone())),
            comm: Mutex::new(comm),
            rlimits: Mutex::new(rlimits),
            auxv: loaded.auxv.clone(),
            creds: (ids.uid, ids.gid),
            ppid: AtomicI32::new(0),
            pgid: AtomicI32::new(1),
            sid: AtomicI32::new(1),
            state: AtomicU8::new(b'R'),
            reaped: AtomicBool::new(false),
            timers: Default::default(),
        });
        processes.insert(1, process.clone());
        let tree: TreeRef = Arc::new(Mutex::new(Tree::default()));
        let shared = Tree::new_shared(&tree, 1);
        let actions = Arc::new(Mutex::new([SigAction::default(); 64]));
        {
            let mut t = crate::tasks::lock(&tree);
            t.registry = Some(processes.clone());
            let _ = processes.tree.set(Arc::downgrade(&tree));
            let pid = t
                .alloc_pid()
                .map_err(|e| Error::Setup(format!("pid 1: {e:?}")))?;
            debug_assert_eq!(pid, 1);
            t.tasks.insert(
                1,
                TaskEntry {
                    shared: shared.clone(),
                    tgid: 1,
                    mask: 0,
                    pending: Default::default(),
                    killed: false,
                    stopped: false,
                    sigwait: 0,
                    mm_id: Arc::as_ptr(&mm) as usize,
                    sched: crate::sched::host().initial,
                    comm: process
                        .comm
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone(),
                    creds: Creds::new(ids.uid, ids.gid, ids.groups.clone(), caps),
                },
            );
            let mut leader = Group::leader(1, actions.clone(), process.clone(), ids.uid);
            leader.no_new_privs = no_new_privs;
            t.groups.insert(1, leader);
            t.pids_max = cfg.resources.pids;
        }
        let kernel = Arc::new(Kernel {
            platform,
            memfile,
            strace: cfg.strace,
            exe: exe_name,
            unsupported_logged: Mutex::new(HashSet::new()),
            vfs,
            processes,
            memfd_root: Tmpfs::new_root(make_dev(0, 39), 0o1777, Cred { uid: 0, gid: 0 }),
            memfd_seq: std::sync::atomic::AtomicU64::new(0),
            tree,
            futexes: Default::default(),
            timers: Default::default(),
            ipc: Default::default(),
            unix: Default::default(),
            network: cfg.network,
            loopback: Default::default(),
            live: Mutex::new(0),
            live_cv: Condvar::new(),
            frozen: AtomicBool::new(false),
            oom_victim: Mutex::new(None),
            freeze_lock: Mutex::new(()),
            frozen_cv: Condvar::new(),
        });
        let regs = Regs {
            rip: loaded.entry,
            rsp: loaded.sp,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        };
        let task = Task {
            k: kernel.clone(),
            cpu: CpuState {
                regs,
                ..Default::default()
            },
            ctx,
            mm,
            tid: 1,
            tgid: 1,
            shared,
            fds,
            fs,
            sig: SignalState {
                actions,
                mask: 0,
                altstack: (0, libc::SS_DISABLE as u32, 0),
            },
            process,
            creds: Creds::new(ids.uid, ids.gid, ids.groups, caps),
            affinity: host::sched_getaffinity(),
            clear_child_tid: 0,
            robust_list: (0, 0),
            rseq: None,
            exit: None,
            restart: None,
            restart_block: None,
            vfork_done: None,
            aspace_owner: true,
            saved_mask: None,
            retried_fault: None,
            patch_retries: 0,
        };
        Ok(Sandbox { kernel, task })
    }

    /// A handle to signal, list and pause the sandbox from other threads.
    pub fn control(&self) -> Control {
        Control {
            k: self.kernel.clone(),
        }
    }

    /// Runs the initial process on the calling thread until it exits (every other task
    /// is killed with it); returns how it ended.
    pub fn run(self) -> ExitStatus {
        let Sandbox { kernel, mut task } = self;
        task.run();
        task.exit_thread();
        drop(task);
        crate::wait::set_current(None);
        // Init is gone: every other task was killed with it; wait for their threads.
        kernel.wait_threads();
        kernel.timers.shutdown();
        let status = crate::tasks::lock(&kernel.tree)
            .groups
            .get(&1)
            .and_then(|g| g.exit)
            .unwrap_or(ExitStatus::Exited(0));
        // Release the file tree (and so the gofer's channels) and the process registry,
        // which refer to each other through /proc.
        kernel.vfs.shutdown();
        kernel.processes.clear();
        {
            let mut t = crate::tasks::lock(&kernel.tree);
            t.registry = None;
            t.groups.clear();
            t.tasks.clear();
        }
        status
    }
}
