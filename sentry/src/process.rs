//! Process-level state shared by a thread group and reachable from /proc: the FD table,
//! the filesystem context and the executable's name; and the registry of processes that
//! procfs reads.

use crate::host;
use crate::mm::{MemoryManager, VmaKind};
use crate::sched::SchedAttr;
use crate::vfs::file::{FdTable, FileDescription};
use crate::vfs::procfs::ProcSource;
use crate::vfs::{FsContext, Path, Vfs};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use syscalls_table::Errno;

pub struct ProcessInfo {
    pub fds: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub exe: Vec<u8>,
    /// The executable's file, for /proc/PID/exe to follow.
    pub exe_path: Option<Path>,
    /// The address space; None once the process has exited.
    pub mm: Mutex<Option<Arc<MemoryManager>>>,
    /// The command name (PR_SET_NAME, /proc/PID/comm): at most 15 bytes.
    pub comm: Mutex<Vec<u8>>,
    pub rlimits: Mutex<[(u64, u64); 16]>,
    pub auxv: Vec<(u64, u64)>,
    pub creds: (u32, u32),
    pub ppid: AtomicI32,
    pub pgid: AtomicI32,
    pub sid: AtomicI32,
    /// The state /proc shows: R, S, T or Z.
    pub state: AtomicU8,
    /// The process was reaped: /proc no longer shows it.
    pub reaped: AtomicBool,
    /// Interval and POSIX timers, CPU time (kept across exec).
    pub timers: Arc<crate::timers::ProcTimers>,
}

impl ProcessInfo {
    /// Sets the command name as PR_SET_NAME and writes to /proc/PID/comm do: up to the
    /// first NUL, at most 15 bytes.
    pub fn set_comm(&self, name: &[u8]) {
        let end = name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name.len())
            .min(15);
        *lock(&self.comm) = name[..end].to_vec();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every process of the sandbox, by pid.
#[derive(Default)]
pub struct Processes {
    procs: Mutex<BTreeMap<i32, Arc<ProcessInfo>>>,
    vfs: OnceLock<Weak<Vfs>>,
    boot_id: OnceLock<String>,
    /// The task tree (thread lists).
    pub tree: OnceLock<Weak<Mutex<crate::tasks::Tree>>>,
    cpuinfo: OnceLock<Vec<u8>>,
    /// The sandbox's hostname (an OCI bundle's `hostname`); unset: the host's.
    pub hostname: OnceLock<String>,
}

/// A random version-4 UUID, as /proc/sys/kernel/random/uuid gives.
fn uuid() -> String {
    let a = host::random_u64();
    let b = host::random_u64();
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0xc << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// Field `i` of the host's struct utsname.
pub fn uname_field(i: usize) -> String {
    let u = host::uname();
    let f = &u[i * 65..(i + 1) * 65];
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    String::from_utf8_lossy(&f[..end]).into_owned()
}

const LIMITS: [(&str, &str); 16] = [
    ("Max cpu time", "seconds"),
    ("Max file size", "bytes"),
    ("Max data size", "bytes"),
    ("Max stack size", "bytes"),
    ("Max core file size", "bytes"),
    ("Max resident set", "bytes"),
    ("Max processes", "processes"),
    ("Max open files", "files"),
    ("Max locked memory", "bytes"),
    ("Max address space", "bytes"),
    ("Max file locks", "locks"),
    ("Max pending signals", "signals"),
    ("Max msgqueue size", "bytes"),
    ("Max nice priority", ""),
    ("Max realtime priority", ""),
    ("Max realtime timeout", "us"),
];

/// What /proc shows of one thread, or for a process's own files of its leader.
struct ThreadView {
    tid: i32,
    comm: Vec<u8>,
    /// R, S, T or Z.
    state: u8,
    sched: SchedAttr,
    /// The exit signal of /proc/PID/stat: the process's, −1 for a thread that is not
    /// the leader.
    exit_signal: i32,
    own_pending: u64,
    shared_pending: u64,
    threads: usize,
    /// The thread's credentials (None once it has gone).
    creds: Option<crate::task::Creds>,
    no_new_privs: bool,
}

impl Processes {
    /// The thread `tid` of process `pid` (its leader when None) as /proc shows it.
    fn view(&self, p: &ProcessInfo, pid: i32, tid: Option<i32>) -> Result<ThreadView, Errno> {
        let mut v = ThreadView {
            tid: tid.unwrap_or(pid),
            comm: lock(&p.comm).clone(),
            state: p.state.load(Ordering::Relaxed),
            sched: SchedAttr::default(),
            exit_signal: libc::SIGCHLD,
            own_pending: 0,
            shared_pending: 0,
            threads: 1,
            creds: None,
            no_new_privs: false,
        };
        let Some(tree) = self.tree.get().and_then(|w| w.upgrade()) else {
            return match tid {
                Some(_) => Err(Errno::ENOENT),
                None => Ok(v),
            };
        };
        let t = crate::tasks::lock(&tree);
        if let Some(g) = t.groups.get(&pid) {
            v.shared_pending = g.shared_pending.bits;
            v.threads = g.threads.len().max(1);
            v.exit_signal = g.exit_signal;
            v.no_new_privs = g.no_new_privs;
        }
        if let Some(s) = t.sched_of(v.tid) {
            v.sched = s;
        }
        match (tid, t.tasks.get(&v.tid)) {
            (Some(tid), Some(e)) if e.tgid == pid => {
                v.comm = e.comm.clone();
                v.state = if e.stopped {
                    b'T'
                } else {
                    e.shared.state.load(Ordering::Relaxed)
                };
                v.own_pending = e.pending.bits;
                v.creds = Some(e.creds.clone());
                if tid != pid {
                    v.exit_signal = -1;
                }
            }
            (Some(_), _) => return Err(Errno::ENOENT),
            (None, Some(e)) => {
                v.own_pending = e.pending.bits;
                v.creds = Some(e.creds.clone());
            }
            (None, None) => {}
        }
        Ok(v)
    }

    /// The hostname uname(2) and /proc/sys/kernel/hostname show.
    pub fn nodename(&self) -> String {
        self.hostname
            .get()
            .cloned()
            .unwrap_or_else(|| uname_field(1))
    }

    pub fn set_vfs(&self, vfs: &Arc<Vfs>) {
        let _ = self.vfs.set(Arc::downgrade(vfs));
        let _ = self.boot_id.set(uuid());
        let _ = self.cpuinfo.set(host_cpuinfo().to_vec());
    }

    fn vfs(&self) -> Option<Arc<Vfs>> {
        self.vfs.get().and_then(|w| w.upgrade())
    }

    fn mounts_text(&self, info: bool) -> Vec<u8> {
        let mut out = String::new();
        let Some(vfs) = self.vfs() else {
            return Vec::new();
        };
        let root = vfs.root();
        for m in vfs.mounts() {
            let at = match &m.parent {
                Some((pm, pd)) => vfs.path_name(
                    &root,
                    &Path {
                        mnt: pm.clone(),
                        dentry: pd.clone(),
                    },
                ),
                None => b"/".to_vec(),
            };
            let at = String::from_utf8_lossy(&at).into_owned();
            let rw = if m.readonly { "ro" } else { "rw" };
            if info {
                let parent = m.parent.as_ref().map_or(m.id, |(pm, _)| pm.id);
                let dev = m.root.inode.stat().map(|s| s.dev).unwrap_or(0);
                let (maj, min) = crate::vfs::inode::split_dev(dev);
                let _ = writeln!(
                    out,
                    "{} {} {}:{} / {} {},relatime - {} {} {}",
                    m.id, parent, maj, min, at, rw, m.fstype, m.source, rw
                );
            } else {
                let _ = writeln!(out, "{} {} {} {},relatime 0 0", m.source, at, m.fstype, rw);
            }
        }
        out.into_bytes()
    }

    /// Forgets every process (the sandbox has ended).
    pub fn clear(&self) {
        lock(&self.procs).clear();
    }

    pub fn insert(&self, pid: i32, p: Arc<ProcessInfo>) {
        lock(&self.procs).insert(pid, p);
    }

    fn get(&self, pid: i32) -> Option<Arc<ProcessInfo>> {
        lock(&self.procs)
            .get(&pid)
            .filter(|p| !p.reaped.load(Ordering::Relaxed))
            .cloned()
    }

    /// Whether any process has `inode` open for writing (execve's ETXTBSY).
    pub fn open_for_write(&self, inode: &crate::vfs::inode::InodeRef) -> bool {
        let procs: Vec<Arc<ProcessInfo>> = lock(&self.procs).values().cloned().collect();
        procs.iter().any(|p| {
            lock(&p.fds).list().iter().any(|(_, f)| {
                f.writable() && std::ptr::addr_eq(Arc::as_ptr(&f.inode), Arc::as_ptr(inode))
            })
        })
    }

    pub fn remove(&self, pid: i32) {
        lock(&self.procs).remove(&pid);
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
        lock(&self.procs)
            .iter()
            .filter(|(_, p)| !p.reaped.load(Ordering::Relaxed))
            .map(|(k, _)| *k)
            .collect()
    }

    fn threads(&self, pid: i32) -> Vec<i32> {
        let Some(tree) = self.tree.get().and_then(|w| w.upgrade()) else {
            return Vec::new();
        };
        let t = crate::tasks::lock(&tree);
        let mut v = t
            .groups
            .get(&pid)
            .map(|g| g.threads.clone())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    fn exe_path(&self, pid: i32) -> Option<Path> {
        self.get(pid).and_then(|p| p.exe_path.clone())
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

    fn pid_file(&self, pid: i32, tid: Option<i32>, name: &str) -> Result<Vec<u8>, Errno> {
        let p = self.get(pid).ok_or(Errno::ENOENT)?;
        let v = self.view(&p, pid, tid)?;
        let comm = String::from_utf8_lossy(&v.comm).into_owned();
        let id = v.tid;
        let mm = lock(&p.mm).clone();
        let vm = |f: fn(&MemoryManager) -> u64| mm.as_deref().map_or(0, f);
        let read_range = |lo: u64, hi: u64| -> Vec<u8> {
            let mut b = vec![0u8; hi.saturating_sub(lo).min(1 << 20) as usize];
            if mm.as_deref().is_none_or(|m| m.copy_in(lo, &mut b).is_err()) {
                b.clear();
            }
            b
        };
        let (arg_start, arg_end, env_start, env_end) =
            mm.as_deref().map_or((0, 0, 0, 0), |m| m.arg_env());
        let mut out = String::new();
        match name {
            "cmdline" => return Ok(read_range(arg_start, arg_end)),
            "environ" => return Ok(read_range(env_start, env_end)),
            "comm" => {
                let mut b = v.comm.clone();
                b.push(b'\n');
                return Ok(b);
            }
            "auxv" => {
                return Ok(p
                    .auxv
                    .iter()
                    .flat_map(|(k, v)| [k.to_le_bytes(), v.to_le_bytes()])
                    .flatten()
                    .collect());
            }
            "limits" => {
                let _ = writeln!(
                    out,
                    "{:<25} {:<20} {:<20} {:<10}",
                    "Limit", "Soft Limit", "Hard Limit", "Units"
                );
                let lim = *lock(&p.rlimits);
                let show = |v: u64| {
                    if v == u64::MAX {
                        "unlimited".to_string()
                    } else {
                        v.to_string()
                    }
                };
                for (i, (label, unit)) in LIMITS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{:<25} {:<20} {:<20} {:<10}",
                        label,
                        show(lim[i].0),
                        show(lim[i].1),
                        unit
                    );
                }
            }
            "maps" => {
                for (start, v) in mm.as_deref().map(|m| m.maps()).unwrap_or_default() {
                    let (mut offset, mut dev, mut ino) = (0u64, 0u64, 0u64);
                    let name = match (&v.file, v.kind) {
                        (Some(f), _) => {
                            (offset, dev, ino) = (f.offset, f.dev, f.ino);
                            String::from_utf8_lossy(&f.name).into_owned()
                        }
                        (None, VmaKind::Heap) => "[heap]".to_string(),
                        (None, VmaKind::Stack) => "[stack]".to_string(),
                        (None, VmaKind::Vdso) => "[vdso]".to_string(),
                        (None, VmaKind::Image) => String::from_utf8_lossy(&p.exe).into_owned(),
                        (None, VmaKind::Anon | VmaKind::Patch) => String::new(),
                    };
                    let (maj, min) = crate::vfs::inode::split_dev(dev);
                    let line = format!(
                        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {}",
                        start,
                        v.end,
                        if v.perms.read { 'r' } else { '-' },
                        if v.perms.write { 'w' } else { '-' },
                        if v.perms.exec { 'x' } else { '-' },
                        if v.shared { 's' } else { 'p' },
                        offset,
                        maj,
                        min,
                        ino
                    );
                    if name.is_empty() {
                        let _ = writeln!(out, "{line} ");
                    } else {
                        let _ = writeln!(out, "{line:<72} {name}");
                    }
                }
            }
            "mounts" => return Ok(self.mounts_text(false)),
            "mountinfo" => return Ok(self.mounts_text(true)),
            "stat" => {
                let (brk_start, _) = mm.as_deref().map_or((0, 0), |m| m.brk_range());
                let vsize = vm(MemoryManager::total_vm);
                let rss = vm(MemoryManager::resident) / 4096;
                let st = v.state as char;
                let pgid = p.pgid.load(Ordering::Relaxed);
                let sid = p.sid.load(Ordering::Relaxed);
                let (prio, nice) = (v.sched.proc_priority(), v.sched.nice);
                let (nthreads, exit_signal) = (v.threads, v.exit_signal);
                let (rt_prio, policy) = (v.sched.rt_priority, v.sched.policy);
                let _ = writeln!(
                    out,
                    "{id} ({comm}) {st} {} {pgid} {sid} 0 -1 4194560 0 0 0 0 0 0 0 0 {prio} {nice} {nthreads} 0 0 {vsize} {rss} {} 0 0 0 0 0 0 0 0 0 0 0 0 {exit_signal} 0 {rt_prio} {policy} 0 0 0 0 0 {brk_start} {arg_start} {arg_end} {env_start} {env_end} 0",
                    p.ppid.load(Ordering::Relaxed),
                    u64::MAX,
                );
            }
            "statm" => {
                let size = vm(MemoryManager::total_vm) / 4096;
                let rss = vm(MemoryManager::resident) / 4096;
                let _ = writeln!(out, "{size} {rss} 0 0 0 {rss} 0");
            }
            "status" => {
                let umask = lock(&p.fs).umask;
                let (uid, gid) = p.creds;
                let c = v.creds.clone().unwrap_or_else(|| {
                    crate::task::Creds::new(uid, gid, Vec::new(), Default::default())
                });
                // Space-separated, with a trailing space even when there is none (Linux).
                let mut groups = c
                    .groups
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(" ");
                groups.push(' ');
                let caps = c.caps;
                let (ruid, euid, suid, fsuid) = (c.ruid, c.uid, c.suid, c.fsuid);
                let (rgid, egid, sgid, fsgid) = (c.rgid, c.gid, c.sgid, c.fsgid);
                let kb = |b: u64| b / 1024;
                let _ = write!(
                    out,
                    "Name:\t{comm}\nUmask:\t{umask:04o}\nState:\t{}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{id}\nPPid:\t{}\nTracerPid:\t0\n\
                     Uid:\t{ruid}\t{euid}\t{suid}\t{fsuid}\nGid:\t{rgid}\t{egid}\t{sgid}\t{fsgid}\nFDSize:\t64\nGroups:\t{groups}\n\
                     NStgid:\t{pid}\nNSpid:\t{id}\nNSpgid:\t{}\nNSsid:\t{}\n\
                     VmPeak:\t{:8} kB\nVmSize:\t{:8} kB\nVmRSS:\t{:8} kB\nThreads:\t{}\n\
                     SigQ:\t0/0\nSigPnd:\t{:016x}\nShdPnd:\t{:016x}\n\
                     CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\n\
                     NoNewPrivs:\t{}\nSeccomp:\t0\nCpus_allowed_list:\t0-{}\n",
                    match v.state {
                        b'S' => "S (sleeping)",
                        b'T' => "T (stopped)",
                        b'Z' => "Z (zombie)",
                        _ => "R (running)",
                    },
                    p.ppid.load(Ordering::Relaxed),
                    p.pgid.load(Ordering::Relaxed),
                    p.sid.load(Ordering::Relaxed),
                    kb(vm(MemoryManager::total_vm)),
                    kb(vm(MemoryManager::total_vm)),
                    kb(vm(MemoryManager::resident)),
                    v.threads,
                    v.own_pending,
                    v.shared_pending,
                    caps.inheritable,
                    caps.permitted,
                    caps.effective,
                    caps.bounding,
                    caps.ambient,
                    u8::from(v.no_new_privs),
                    host::sched_getaffinity()
                        .iter()
                        .map(|b| b.count_ones())
                        .sum::<u32>()
                        .saturating_sub(1),
                );
            }
            _ => return Err(Errno::ENOENT),
        }
        Ok(out.into_bytes())
    }

    fn global_file(&self, path: &str) -> Result<Vec<u8>, Errno> {
        let si = host::sysinfo();
        let w = |o: usize| u64::from_le_bytes(si[o..o + 8].try_into().unwrap_or_default());
        let unit = u32::from_le_bytes(si[104..108].try_into().unwrap_or_default()).max(1) as u64;
        let (uptime, loads, total, free, shared, buffers, swap_total, swap_free) = (
            w(0),
            [w(8), w(16), w(24)],
            w(32) * unit,
            w(40) * unit,
            w(48) * unit,
            w(56) * unit,
            w(64) * unit,
            w(72) * unit,
        );
        let text = match path {
            "cpuinfo" => return Ok(self.cpuinfo.get().cloned().unwrap_or_default()),
            "filesystems" => {
                "nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tsysfs\n".to_string()
            }
            "loadavg" => {
                let l = |v: u64| v as f64 / 65536.0;
                format!(
                    "{:.2} {:.2} {:.2} 1/{} {}\n",
                    l(loads[0]),
                    l(loads[1]),
                    l(loads[2]),
                    self.pids().len(),
                    self.pids().last().copied().unwrap_or(1)
                )
            }
            "meminfo" => {
                let kb = |b: u64| b / 1024;
                format!(
                    "MemTotal:       {:8} kB\nMemFree:        {:8} kB\nMemAvailable:   {:8} kB\nBuffers:        {:8} kB\nCached:         {:8} kB\n\
                     SwapCached:            0 kB\nSwapTotal:      {:8} kB\nSwapFree:       {:8} kB\nShmem:          {:8} kB\n\
                     HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n",
                    kb(total),
                    kb(free),
                    kb(free + buffers),
                    kb(buffers),
                    0,
                    kb(swap_total),
                    kb(swap_free),
                    kb(shared)
                )
            }
            "stat" => {
                let ncpu = host::sched_getaffinity()
                    .iter()
                    .map(|b| b.count_ones())
                    .sum::<u32>()
                    .max(1);
                let idle = uptime * 100;
                let now = host::clock_gettime(libc::CLOCK_REALTIME)
                    .map(|t| t.tv_sec as u64)
                    .unwrap_or(0);
                let mut s = format!("cpu  0 0 0 {} 0 0 0 0 0 0\n", idle * ncpu as u64);
                for i in 0..ncpu {
                    let _ = writeln!(s, "cpu{i} 0 0 0 {idle} 0 0 0 0 0 0");
                }
                let _ = write!(
                    s,
                    "intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\n",
                    now.saturating_sub(uptime),
                    self.pids().len()
                );
                s
            }
            "uptime" => {
                let bt = host::clock_gettime(libc::CLOCK_BOOTTIME)
                    .map(|t| t.tv_sec as f64 + t.tv_nsec as f64 / 1e9)
                    .unwrap_or(uptime as f64);
                format!("{bt:.2} {:.2}\n", bt)
            }
            "version" => format!(
                "{} version {} (runsc) {}\n",
                uname_field(0),
                uname_field(2),
                uname_field(3)
            ),
            "sys/kernel/ostype" => format!("{}\n", uname_field(0)),
            "sys/kernel/hostname" => format!("{}\n", self.nodename()),
            "sys/kernel/osrelease" => format!("{}\n", uname_field(2)),
            "sys/kernel/version" => format!("{}\n", uname_field(3)),
            "sys/kernel/pid_max" => "4194304\n".to_string(),
            "sys/kernel/ngroups_max" => "65536\n".to_string(),
            "sys/kernel/cap_last_cap" => "40\n".to_string(),
            "sys/kernel/random/boot_id" => {
                format!("{}\n", self.boot_id.get().cloned().unwrap_or_default())
            }
            "sys/kernel/random/uuid" => format!("{}\n", uuid()),
            "sys/fs/pipe-max-size" => "1048576\n".to_string(),
            "sys/vm/overcommit_memory" => "0\n".to_string(),
            _ => return Err(Errno::ENOENT),
        };
        Ok(text.into_bytes())
    }

    fn write_pid_file(
        &self,
        pid: i32,
        tid: Option<i32>,
        name: &str,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let p = self.get(pid).ok_or(Errno::ESRCH)?;
        match name {
            "comm" => {
                // Linux copies at most 15 bytes and names the thread up to a NUL (a
                // newline stays part of the name).
                let name = &data[..data.len().min(15)];
                let tid = tid.unwrap_or(pid);
                let tree = self.tree.get().and_then(|w| w.upgrade());
                let mut tree = tree.as_ref().map(|t| crate::tasks::lock(t));
                match tree.as_mut() {
                    Some(t) if t.tasks.get(&tid).is_some_and(|e| e.tgid == pid) => {
                        t.set_comm(tid, name)
                    }
                    // The leader has exited (a zombie still has a name).
                    _ if tid == pid => p.set_comm(name),
                    _ => return Err(Errno::ESRCH),
                }
                Ok(data.len())
            }
            _ => Err(Errno::EIO),
        }
    }

    fn fd_info(&self, pid: i32, fd: i32) -> Result<Vec<u8>, Errno> {
        let p = self.get(pid).ok_or(Errno::ENOENT)?;
        let (f, cloexec) = lock(&p.fds).entry(fd).ok_or(Errno::ENOENT)?;
        const O_CLOEXEC: u32 = 0o2000000;
        let flags = f.flags() | if cloexec { O_CLOEXEC } else { 0 };
        let pos = *lock(&f.offset);
        let mnt_id = f.path.as_ref().map_or(0, |p| p.mnt.id);
        let ino = f.inode.stat()?.ino;
        let mut s = format!("pos:\t{pos}\nflags:\t0{flags:o}\nmnt_id:\t{mnt_id}\nino:\t{ino}\n");
        if let Some(pid) = crate::syscalls::pidfd_pid(&f) {
            let _ = writeln!(s, "Pid:\t{pid}\nNSpid:\t{pid}");
        }
        if let Some(e) = f
            .ops
            .as_any()
            .and_then(|a| a.downcast_ref::<crate::vfs::eventfd::EventFd>())
        {
            let _ = write!(
                s,
                "eventfd-count: {:16x}\neventfd-id: {}\neventfd-semaphore: {}\n",
                e.count(),
                e.id(),
                e.semaphore() as u8
            );
        }
        Ok(s.into_bytes())
    }

    fn fd_name(&self, pid: i32, f: &FileDescription) -> Vec<u8> {
        match (&f.path, self.get(pid)) {
            (Some(path), Some(p)) => self.name_of(&p, path),
            _ => f.name.clone(),
        }
    }
}

/// The host's /proc/cpuinfo, read once (see `host::prepare`).
pub(crate) fn host_cpuinfo() -> &'static [u8] {
    static CPUINFO: OnceLock<Vec<u8>> = OnceLock::new();
    CPUINFO.get_or_init(|| std::fs::read("/proc/cpuinfo").unwrap_or_default())
}
