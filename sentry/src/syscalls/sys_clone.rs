//! The life of tasks: clone(2), clone3(2), fork(2), vfork(2), execve(2), execveat(2),
//! exit(2), exit_group(2), wait4(2), waitid(2), and what a thread does when it ends.
//!
//! A new task runs on a new host thread. What must be made on that thread (the platform
//! context, and for a new process its address space: a ptrace stub is traced by the
//! thread that created it) is made there; the parent waits until the child is ready so
//! that errors reach it as clone's errno.

use super::{read_u64, write_u32};
use crate::kernel::{ExitStatus, Kernel};
use crate::loader::{self, Image, LoadError};
use crate::mm::{MemoryManager, page_down};
use crate::process::ProcessInfo;
use crate::signals;
use crate::task::{Creds, SIG_DFL, SIG_IGN, SigAction, SignalState, Task, VforkDone};
use crate::tasks::{self, Group, Report, TaskEntry};
use crate::vfs::file::FdTable;
use crate::{log, wait};
use platform::{CpuState, Regs};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use syscalls_table::Errno;

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_FS: u64 = 0x200;
pub const CLONE_FILES: u64 = 0x400;
pub const CLONE_SIGHAND: u64 = 0x800;
pub const CLONE_PIDFD: u64 = 0x1000;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_PARENT: u64 = 0x8000;
pub const CLONE_THREAD: u64 = 0x10000;
pub const CLONE_NEWNS: u64 = 0x20000;
pub const CLONE_SETTLS: u64 = 0x80000;
pub const CLONE_PARENT_SETTID: u64 = 0x100000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x200000;
pub const CLONE_DETACHED: u64 = 0x400000;
pub const CLONE_CHILD_SETTID: u64 = 0x1000000;
pub const CLONE_NEWCGROUP: u64 = 0x2000000;
pub const CLONE_NEWUTS: u64 = 0x4000000;
pub const CLONE_NEWIPC: u64 = 0x8000000;
pub const CLONE_NEWUSER: u64 = 0x10000000;
pub const CLONE_NEWPID: u64 = 0x20000000;
pub const CLONE_NEWNET: u64 = 0x40000000;
pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
pub const CLONE_NEWTIME: u64 = 0x80;
const NAMESPACES: u64 = CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWTIME;

/// Host stack of a task's thread: the sentry's deepest paths (path walks, ELF loading)
/// need far less.
const TASK_THREAD_STACK: usize = 1 << 20;

#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    pub flags: u64,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
    pub tls: u64,
}

/// clone(2): flags, stack, parent_tid, child_tid, tls (the x86-64 argument order).
pub fn clone(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[0];
    let args = CloneArgs {
        flags: flags & !0xff & 0xffff_ffff,
        // CLONE_PIDFD in clone(2) returns the fd through parent_tid.
        pidfd: a[2],
        child_tid: a[3],
        parent_tid: a[2],
        exit_signal: flags & 0xff,
        stack: a[1],
        stack_size: 0,
        tls: a[4],
    };
    if args.flags & CLONE_PIDFD != 0 && args.flags & CLONE_PARENT_SETTID != 0 {
        return Err(Errno::EINVAL);
    }
    // CLONE_DETACHED is ignored by clone(2) (and rejected by clone3).
    let mut args = args;
    args.flags &= !CLONE_DETACHED;
    do_clone(t, args)
}

/// clone3(2).
pub fn clone3(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const VER0: u64 = 64;
    let (uargs, size) = (a[0], a[1]);
    if !(VER0..=4096).contains(&size) {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; size as usize];
    t.mm.copy_in(uargs, &mut b)?;
    // Fields past what we know must be zero (E2BIG otherwise), as copy_struct_from_user.
    const KNOWN: usize = 88;
    if b.len() > KNOWN && b[KNOWN..].iter().any(|&x| x != 0) {
        return Err(Errno::E2BIG);
    }
    let w = |i: usize| -> u64 {
        b.get(i * 8..i * 8 + 8)
            .map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or_default()))
    };
    let args = CloneArgs {
        flags: w(0),
        pidfd: w(1),
        child_tid: w(2),
        parent_tid: w(3),
        exit_signal: w(4),
        stack: w(5),
        stack_size: w(6),
        tls: w(7),
    };
    let set_tid = w(8);
    let set_tid_size = w(9);
    let cgroup = w(10);
    if set_tid_size != 0 || set_tid != 0 {
        // Choosing pids needs CAP_SYS_ADMIN in the owning namespace: not offered.
        return Err(if set_tid_size > 32 {
            Errno::EINVAL
        } else {
            Errno::EPERM
        });
    }
    if args.flags & CLONE_INTO_CGROUP != 0 || cgroup != 0 {
        return Err(Errno::EINVAL);
    }
    if args.flags & CLONE_DETACHED != 0 || args.exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if (args.stack == 0) != (args.stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    let known = 0xffff_ff00u64 | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP | CLONE_NEWTIME;
    if args.flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    let mut args = args;
    if args.stack != 0 {
        args.stack = args.stack.wrapping_add(args.stack_size);
    }
    do_clone(t, args)
}

/// fork(2).
pub fn fork(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    do_clone(
        t,
        CloneArgs {
            exit_signal: libc::SIGCHLD as u64,
            ..Default::default()
        },
    )
}

/// vfork(2).
pub fn vfork(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    do_clone(
        t,
        CloneArgs {
            flags: CLONE_VM | CLONE_VFORK,
            exit_signal: libc::SIGCHLD as u64,
            ..Default::default()
        },
    )
}

/// Everything a new task needs, made by its parent; the child's thread adds its context
/// (and, for a new process, its address space).
struct ChildSpec {
    k: Arc<Kernel>,
    cpu: CpuState,
    mm: ChildMm,
    tid: i32,
    tgid: i32,
    shared: Arc<tasks::TaskShared>,
    fds: Arc<Mutex<FdTable>>,
    fs: Arc<Mutex<crate::vfs::FsContext>>,
    sig: SignalState,
    process: Arc<ProcessInfo>,
    creds: Creds,
    affinity: Vec<u8>,
    clear_child_tid: u64,
    child_settid: Option<u64>,
    rseq: Option<(u64, u32, u32)>,
    vfork_done: Option<Arc<VforkDone>>,
}

enum ChildMm {
    Shared(Arc<MemoryManager>),
    Forked(crate::mm::ForkedMm),
}

fn validate(t: &Task, a: &CloneArgs) -> Result<(), Errno> {
    let f = a.flags;
    if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_FS != 0 && f & CLONE_NEWNS != 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_PIDFD != 0 && f & CLONE_THREAD != 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_CLEAR_SIGHAND != 0 && f & CLONE_SIGHAND != 0 {
        return Err(Errno::EINVAL);
    }
    if f & CLONE_THREAD != 0 && a.exit_signal != 0 {
        // clone(2) ignores the exit signal of a thread; clone3 rejects it.
    }
    if a.exit_signal > 64 {
        return Err(Errno::EINVAL);
    }
    if f & NAMESPACES != 0 {
        // New namespaces are not offered inside the sandbox.
        return Err(Errno::EPERM);
    }
    if f & CLONE_SETTLS != 0 && a.tls >= crate::mm::TASK_SIZE {
        return Err(Errno::EPERM);
    }
    let _ = t;
    Ok(())
}

pub fn do_clone(t: &mut Task, a: CloneArgs) -> Result<u64, Errno> {
    validate(t, &a)?;
    let f = a.flags;
    // RLIMIT_NPROC (counted per real uid), which root, CAP_SYS_RESOURCE and
    // CAP_SYS_ADMIN are not held to.
    let exempt = t.creds.ruid == 0
        || t.capable(crate::caps::CAP_SYS_RESOURCE)
        || t.capable(crate::caps::CAP_SYS_ADMIN);
    if !exempt {
        let limit = t.rlimit(libc::RLIMIT_NPROC as usize);
        let tree = t.tree();
        let mine = tree
            .groups
            .values()
            .filter(|g| g.uid == t.creds.ruid && !g.zombie)
            .map(|g| g.threads.len() as u64)
            .sum::<u64>();
        if mine >= limit {
            return Err(Errno::EAGAIN);
        }
    }

    // The child's memory.
    let mm = if f & CLONE_VM != 0 {
        t.mm.aspace().prepare_thread().map_err(|e| {
            log::warn(&format!("clone: a new thread in the address space: {e}"));
            Errno::EAGAIN
        })?;
        ChildMm::Shared(t.mm.clone())
    } else {
        ChildMm::Forked(t.mm.fork()?)
    };

    let tid = t.tree().alloc_pid()?;
    let shared = tasks::Tree::new_shared(&t.k.tree, tid);
    let thread = f & CLONE_THREAD != 0;
    let tgid = if thread { t.tgid } else { tid };

    let mut regs: Regs = t.cpu.regs;
    regs.rax = 0;
    if a.stack != 0 {
        regs.rsp = a.stack;
    }
    if f & CLONE_SETTLS != 0 {
        regs.fs_base = a.tls;
    }
    // As Linux copies the FPU state on fork and clone, the child starts with the caller's
    // (rounding modes, control words, vector registers).
    let fp = match t.ctx.load_fp(&mut t.cpu) {
        Ok(()) => t.cpu.fp.clone(),
        Err(e) => {
            log::warn(&format!("clone: the caller's FP state: {e}"));
            Vec::new()
        }
    };
    let cpu = CpuState {
        regs,
        fp,
        fp_loaded: false,
    };
    let fds = if f & CLONE_FILES != 0 {
        t.fds.clone()
    } else {
        Arc::new(Mutex::new(t.fds().clone()))
    };
    let fs = if f & CLONE_FS != 0 {
        t.fs.clone()
    } else {
        Arc::new(Mutex::new(t.fs()))
    };
    let actions = if f & CLONE_SIGHAND != 0 {
        t.sig.actions.clone()
    } else {
        let mut acts = *t.sig.actions.lock().unwrap_or_else(|e| e.into_inner());
        if f & CLONE_CLEAR_SIGHAND != 0 {
            for act in acts.iter_mut() {
                if act.handler != SIG_IGN {
                    *act = SigAction::default();
                }
            }
        }
        Arc::new(Mutex::new(acts))
    };
    // A thread sharing the memory gets no alternate stack (unless vfork'ed).
    let altstack = if f & CLONE_VM != 0 && f & CLONE_VFORK == 0 {
        (0, signals::SS_DISABLE, 0)
    } else {
        t.sig.altstack
    };
    let sig = SignalState {
        actions: actions.clone(),
        mask: t.sig.mask,
        altstack,
    };
    let mm_for_info = match &mm {
        ChildMm::Shared(m) => Some(m.clone()),
        ChildMm::Forked(_) => None,
    };
    let my_comm = t.comm();
    let process = if thread {
        t.process.clone()
    } else {
        let p = &t.process;
        Arc::new(ProcessInfo {
            fds: fds.clone(),
            fs: fs.clone(),
            exe: p.exe.clone(),
            exe_path: p.exe_path.clone(),
            mm: Mutex::new(mm_for_info),
            // A new process is named as the thread that forked it.
            comm: Mutex::new(my_comm.clone()),
            rlimits: Mutex::new(*t.rlimits()),
            auxv: p.auxv.clone(),
            creds: p.creds,
            ppid: AtomicI32::new(0),
            pgid: AtomicI32::new(p.pgid.load(Ordering::Relaxed)),
            sid: AtomicI32::new(p.sid.load(Ordering::Relaxed)),
            state: AtomicU8::new(b'R'),
            reaped: AtomicBool::new(false),
            timers: Default::default(),
        })
    };
    let vfork_done = (f & CLONE_VFORK != 0).then(|| Arc::new(VforkDone::default()));

    // Into the tree.
    {
        let mut tree = t.tree();
        let Some(pg) = tree.groups.get(&t.tgid) else {
            return Err(Errno::EAGAIN);
        };
        if pg.exit.is_some() {
            // The caller's group is exiting: no new tasks (Linux's fatal_signal_pending).
            return Err(Errno::ERESTARTNOINTR);
        }
        // The sandbox's pids limit (pids cgroup: EAGAIN, threads count).
        if tree.pids_full() {
            return Err(Errno::EAGAIN);
        }
        let (ppid_group, pgid, sid, uid) = (pg.parent, pg.pgid, pg.sid, pg.uid);
        let suid = pg.suid;
        let no_new_privs = pg.no_new_privs;
        let dumpable = pg.dumpable;
        let prctl = pg.prctl;
        let euid = pg.euid;
        let Some(sched) = tree.sched_of(t.tid) else {
            return Err(Errno::EAGAIN);
        };
        tree.tasks.insert(
            tid,
            TaskEntry {
                shared: shared.clone(),
                tgid,
                mask: t.sig.mask,
                pending: Default::default(),
                killed: false,
                stopped: false,
                sigwait: 0,
                mm_id: match &mm {
                    ChildMm::Shared(m) => Arc::as_ptr(m) as usize,
                    ChildMm::Forked(_) => 0,
                },
                sched: sched.for_child(),
                // A new thread or process is named as its creator.
                comm: my_comm,
                creds: t.creds.clone(),
            },
        );
        if thread {
            if let Some(g) = tree.groups.get_mut(&tgid) {
                g.threads.push(tid);
            }
        } else {
            let parent = if f & CLONE_PARENT != 0 {
                ppid_group
            } else {
                t.tgid
            };
            process.ppid.store(parent, Ordering::Relaxed);
            tree.groups.insert(
                tid,
                Group {
                    tgid: tid,
                    threads: vec![tid],
                    parent,
                    children: Default::default(),
                    pgid,
                    sid,
                    shared_pending: Default::default(),
                    actions,
                    exit: None,
                    zombie: false,
                    stopped: None,
                    stop_notify: None,
                    report: None,
                    exit_signal: a.exit_signal as i32,
                    execed: false,
                    subreaper: false,
                    info: process.clone(),
                    child_wq: Default::default(),
                    uid,
                    suid,
                    pdeathsig: 0,
                    parent_tid: if f & CLONE_PARENT != 0 { 0 } else { t.tid },
                    adopted: false,
                    dumpable,
                    no_new_privs,
                    prctl,
                    euid,
                    leader_sched: None,
                },
            );
            if let Some(p) = tree.groups.get_mut(&parent) {
                p.children.insert(tid);
            }
        }
        if let Some(r) = &tree.registry
            && !thread
        {
            r.insert(tid, process.clone());
        }
    }

    // Results the parent writes.
    if f & CLONE_PARENT_SETTID != 0 {
        let _ = write_u32(t, a.parent_tid, tid as u32);
    }
    if f & CLONE_PIDFD != 0 {
        match crate::syscalls::sys_pidfd::install_pidfd(t, tgid, libc::O_CLOEXEC as u32) {
            Ok(fd) => {
                let _ = write_u32(t, a.pidfd, fd as u32);
            }
            Err(e) => {
                abandon(t, tid, tgid, thread);
                return Err(e);
            }
        }
    }

    let spec = ChildSpec {
        k: t.k.clone(),
        cpu,
        mm,
        tid,
        tgid,
        shared,
        fds,
        fs,
        sig,
        process,
        creds: t.creds.clone(),
        affinity: t.affinity.clone(),
        clear_child_tid: if f & CLONE_CHILD_CLEARTID != 0 {
            a.child_tid
        } else {
            0
        },
        child_settid: (f & CLONE_CHILD_SETTID != 0).then_some(a.child_tid),
        rseq: if f & CLONE_VM != 0 { None } else { t.rseq },
        vfork_done: vfork_done.clone(),
    };
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), Errno>>();
    t.k.thread_started();
    let k = t.k.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("task-{tid}"))
        .stack_size(TASK_THREAD_STACK)
        .spawn(move || {
            let k = spec.k.clone();
            match start_child(spec) {
                Ok(mut task) => {
                    let _ = ready_tx.send(Ok(()));
                    drop(ready_tx);
                    task.run();
                    task.exit_thread();
                    drop(task);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
            wait::set_current(None);
            k.thread_done();
        });
    if spawned.is_err() {
        k.thread_done();
        abandon(t, tid, tgid, thread);
        return Err(Errno::EAGAIN);
    }
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            abandon(t, tid, tgid, thread);
            return Err(e);
        }
        Err(_) => {
            abandon(t, tid, tgid, thread);
            return Err(Errno::EAGAIN);
        }
    }

    if let Some(v) = vfork_done {
        // The parent sleeps until the child execs or exits; only a fatal signal ends the
        // wait early (other signals wait until after).
        wait::wait_uninterruptible(&[&v.wq], || {
            if v.done.load(Ordering::SeqCst) {
                return true;
            }
            let tree = t.tree();
            tree.tasks.get(&t.tid).is_none_or(|e| e.killed)
                || tree.groups.get(&t.tgid).is_none_or(|g| g.exit.is_some())
        });
    }
    Ok(tid as u64)
}

/// Takes back a child that could not start.
fn abandon(t: &Task, tid: i32, tgid: i32, thread: bool) {
    let mut tree = t.tree();
    tree.tasks.remove(&tid);
    if thread {
        if let Some(g) = tree.groups.get_mut(&tgid) {
            g.threads.retain(|&x| x != tid);
        }
    } else {
        if let Some(g) = tree.groups.remove(&tid)
            && let Some(p) = tree.groups.get_mut(&g.parent)
        {
            p.children.remove(&tid);
        }
        if let Some(r) = &tree.registry {
            r.remove(tid);
        }
    }
}

/// On the child's own thread: its context and, for a new process, its address space.
fn start_child(spec: ChildSpec) -> Result<Task, Errno> {
    let k = spec.k;
    let platform_err = |what: &str, e: platform::PlatformError| {
        log::warn(&format!("clone: {what}: {e}"));
        Errno::EAGAIN
    };
    let mm = match spec.mm {
        ChildMm::Shared(m) => m,
        ChildMm::Forked(f) => {
            let aspace = k
                .platform
                .new_address_space()
                .map_err(|e| platform_err("a new address space", e))?;
            let m = Arc::new(f.attach(aspace));
            *spec.process.mm.lock().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
            if let Some(e) = tasks::lock(&k.tree).tasks.get_mut(&spec.tid) {
                e.mm_id = Arc::as_ptr(&m) as usize;
            }
            m
        }
    };
    let mut ctx = k
        .platform
        .new_context()
        .map_err(|e| platform_err("a new context", e))?;
    let mut cpu = spec.cpu;
    if !cpu.fp.is_empty() {
        ctx.store_fp(&mut cpu)
            .map_err(|e| platform_err("the inherited FP state", e))?;
    }
    let aspace_owner = Arc::strong_count(&mm) <= 2;
    let task = Task {
        k,
        cpu,
        ctx,
        mm,
        tid: spec.tid,
        tgid: spec.tgid,
        shared: spec.shared,
        fds: spec.fds,
        fs: spec.fs,
        sig: spec.sig,
        process: spec.process,
        creds: spec.creds,
        affinity: spec.affinity,
        clear_child_tid: spec.clear_child_tid,
        robust_list: (0, 0),
        rseq: spec.rseq,
        exit: None,
        restart: None,
        restart_block: None,
        vfork_done: spec.vfork_done,
        aspace_owner,
        saved_mask: None,
        retried_fault: None,
        patch_retries: 0,
    };
    if let Some(addr) = spec.child_settid {
        let _ = write_u32(&task, addr, spec.tid as u32);
    }
    Ok(task)
}

impl Task {
    /// What a thread does when it ends: clear_child_tid, its vfork parent, the files of
    /// its process when it is the last thread, and its place in the tree.
    pub fn exit_thread(&mut self) {
        let status = self.exit.unwrap_or(ExitStatus::Exited(0));
        crate::syscalls::sys_futex::release_futexes(self, self.tid, true);
        if self.clear_child_tid != 0 {
            let addr = self.clear_child_tid;
            self.clear_child_tid = 0;
            if write_u32(self, addr, 0).is_ok() {
                crate::syscalls::sys_futex::wake_one(self, addr);
            }
        }
        if let Some(v) = self.vfork_done.take() {
            v.complete();
        }
        let last = self
            .tree()
            .groups
            .get(&self.tgid)
            .is_none_or(|g| g.threads.len() <= 1);
        crate::timers::thread_exit(self, last);
        if last {
            crate::ipc::process_exit(self);
            // The process's files close before its parent hears of its exit (so a reader
            // of its pipe sees end-of-file first).
            let files = if Arc::strong_count(&self.fds) <= 2 {
                std::mem::take(&mut *self.fds())
            } else {
                FdTable::default()
            };
            for (_, f) in files.list() {
                super::sys_lock::release_posix(self.tgid, &f);
            }
            drop(files);
            *self.process.mm.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        let init_exited = {
            let mut tree = self.tree();
            let n = tree.exit_task(self.tid, status);
            if n.group_exited && self.tgid == 1 {
                tree.shutdown = true;
                let all: Vec<i32> = tree.groups.keys().copied().collect();
                for g in all {
                    tree.group_exit(g, ExitStatus::Signaled(libc::SIGKILL));
                }
                true
            } else {
                false
            }
        };
        let _ = init_exited;
        // The thread that made the address space stays until no other task runs in it
        // (its stub process dies with it).
        if self.aspace_owner {
            let id = Arc::as_ptr(&self.mm) as usize;
            let wq = self.tree().exit_wq.clone();
            wait::wait_uninterruptible(&[&wq], || {
                !self.tree().tasks.values().any(|e| e.mm_id == id)
            });
        }
    }
}

/// exit(2): ends the calling thread.
pub fn exit(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.exit = Some(ExitStatus::Exited((a[0] & 0xff) as i32));
    Ok(0)
}

/// exit_group(2).
pub fn exit_group(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let st = ExitStatus::Exited((a[0] & 0xff) as i32);
    t.tree().group_exit(t.tgid, st);
    t.exit = Some(st);
    Ok(0)
}

// ---- execve ----

/// Reads a NULL-terminated array of string pointers (argv, envp) with Linux's limits.
fn read_strings(t: &Task, mut addr: u64, total: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    const MAX_ARG_STRINGS: usize = 0x7fff_ffff;
    const MAX_ARG_STRLEN: usize = 32 * 4096;
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    let limit = (t.rlimit(libc::RLIMIT_STACK as usize) / 4).clamp(32 * 4096, 6 << 20) as usize;
    loop {
        let p = read_u64(t, addr)?;
        if p == 0 {
            break;
        }
        let s = t.mm.read_cstr(p, MAX_ARG_STRLEN).map_err(|e| {
            if e == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                e
            }
        })?;
        *total += s.len() + 1 + 8;
        if *total > limit || out.len() >= MAX_ARG_STRINGS {
            return Err(Errno::E2BIG);
        }
        out.push(s);
        addr += 8;
    }
    Ok(out)
}

fn load_errno(e: &LoadError) -> Errno {
    match e {
        LoadError::NotFound(_) => Errno::ENOENT,
        LoadError::IsDirectory(_) | LoadError::PermissionDenied(_) => Errno::EACCES,
        LoadError::Io(..) => Errno::EIO,
        LoadError::NotElf(_)
        | LoadError::WrongArch(..)
        | LoadError::NotExecutable(..)
        | LoadError::Malformed(..) => Errno::ENOEXEC,
        LoadError::Errno(_, e) => *e,
        LoadError::TooManyInterpreters(_) => Errno::ELOOP,
        LoadError::NoMemory(_) => Errno::ENOMEM,
    }
}

/// execve(2).
pub fn execve(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_execve(t, libc::AT_FDCWD as u64, a[0], a[1], a[2], 0)
}

/// execveat(2).
pub fn execveat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_execve(t, a[0], a[1], a[2], a[3], a[4])
}

fn do_execve(
    t: &mut Task,
    dirfd: u64,
    path: u64,
    argv: u64,
    envp: u64,
    flags: u64,
) -> Result<u64, Errno> {
    const AT_EMPTY_PATH: u64 = 0x1000;
    const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = t.mm.read_cstr(path, 4096)?;
    // The path the program is found by: relative to dirfd, or the file dirfd is.
    let vcreds = t.vcreds();
    let fsctx = t.fs();
    let vfs = t.k.vfs.clone();
    // `program` is where the file is found; `shown` the name the new program is told
    // (AT_EXECFN, a script's argument): /dev/fd/N[/name] for descriptor-relative execs.
    let by_fd = name.is_empty() || (name[0] != b'/' && dirfd as i32 != libc::AT_FDCWD);
    let (program, shown): (Vec<u8>, Vec<u8>) = if name.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let f = t.fds().get(dirfd)?;
        let p = f.path.clone().ok_or(Errno::EACCES)?;
        (
            vfs.path_name(&fsctx.root, &p),
            format!("/dev/fd/{}", dirfd as i32).into_bytes(),
        )
    } else if !by_fd {
        (name.clone(), name.clone())
    } else {
        let f = t.fds().get(dirfd)?;
        let p = f.path.clone().ok_or(Errno::EBADF)?;
        let mut d = vfs.path_name(&fsctx.root, &p);
        d.push(b'/');
        d.extend_from_slice(&name);
        let mut s = format!("/dev/fd/{}/", dirfd as i32).into_bytes();
        s.extend_from_slice(&name);
        (d, s)
    };
    let fd_cloexec = by_fd && t.fds().cloexec(dirfd).unwrap_or(false);
    if flags & AT_SYMLINK_NOFOLLOW != 0
        && let Ok(p) = vfs.resolve(&fsctx, vcreds, &fsctx.cwd, &program, false)
        && p.stat()
            .is_ok_and(|s| s.file_type() == crate::vfs::inode::S_IFLNK)
    {
        return Err(Errno::ELOOP);
    }
    match vfs.resolve(&fsctx, vcreds, &fsctx.cwd, &program, true) {
        Ok(p) if t.k.processes.open_for_write(&p.dentry.inode) => return Err(Errno::ETXTBSY),
        // Linux opens the program before it copies argv and envp: a path that does not
        // lead to a file fails first (and cheaply: execvp tries every PATH entry).
        Err(e @ (Errno::ENOENT | Errno::ENOTDIR)) => return Err(e),
        _ => {}
    }
    let mut total = 0;
    let mut argv = read_strings(t, argv, &mut total)?;
    let envp = read_strings(t, envp, &mut total)?;
    // An empty argv gets one empty string (Linux 5.18+), so argv[0] always exists.
    if argv.is_empty() {
        argv.push(Vec::new());
    }
    let argc0 = argv.len();
    let (exe, exe_name, exe_path) =
        crate::exec::find_no_search(&vfs, &fsctx, vcreds, &program, &mut argv)
            .map_err(|e| load_errno(&e))?;
    if argv.len() != argc0 {
        // A script: the interpreter is told the name the caller used, and cannot open a
        // close-on-exec descriptor's /dev/fd path (Linux's PATH_INACCESSIBLE).
        if by_fd && fd_cloexec {
            return Err(Errno::ENOENT);
        }
        let i = argv.len() - argc0;
        if let Some(slot) = argv.get_mut(i) {
            *slot = shown.clone();
        }
    }

    // The new memory: an address space made by this thread, which will run in it.
    let k = t.k.clone();
    let aspace = k.platform.new_address_space().map_err(|e| {
        log::warn(&format!("execve: a new address space: {e}"));
        Errno::ENOMEM
    })?;
    let mm = Arc::new(MemoryManager::new(
        aspace,
        k.memfile.clone(),
        k.platform.min_user_addr(),
        k.platform.max_user_addr(),
    ));
    let stack_limit = t
        .rlimit(libc::RLIMIT_STACK as usize)
        .clamp(128 << 10, 1 << 30);
    let img = Image {
        argv: &argv,
        envp: &envp,
        execfn: &shown,
        uid: t.creds.uid,
        gid: t.creds.gid,
        stack_limit,
    };
    let stack_top = page_down(k.platform.max_user_addr()) - 0x1000;
    let loaded = loader::load(&mm, &exe, &img, stack_top).map_err(|e| load_errno(&e))?;
    drop(exe);
    let ctx = k.platform.new_context().map_err(|e| {
        log::warn(&format!("execve: a new context: {e}"));
        Errno::ENOMEM
    })?;

    // Point of no return: the other threads of the group go (de_thread).
    let old_tid = t.tid;
    de_thread(t)?;
    crate::timers::exec(t);
    // As Linux's exec_mm_release: the robust list (in the old memory) and the PI futexes
    // the thread owns with waiters are released.
    crate::syscalls::sys_futex::release_futexes(t, old_tid, false);

    t.mm = mm.clone();
    t.ctx = ctx;
    t.aspace_owner = true;
    *t.shared
        .interrupter
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(t.ctx.interrupter());
    // A shared FD table is unshared, then close-on-exec descriptors close.
    if Arc::strong_count(&t.fds) > 2 {
        let copy = t.fds().clone();
        t.fds = Arc::new(Mutex::new(copy));
    }
    {
        let mut fds = t.fds();
        let closing: Vec<i32> = fds
            .list()
            .into_iter()
            .filter(|(fd, _)| fds.cloexec(*fd as u64).unwrap_or(false))
            .map(|(fd, _)| fd)
            .collect();
        for fd in closing {
            if let Ok(f) = fds.get(fd as u64) {
                super::sys_lock::release_posix(t.tgid, &f);
            }
            let _ = fds.close(fd as u64);
        }
    }
    // Handled signals go back to their default; ignored ones stay ignored.
    let mut acts = *t.sig.actions.lock().unwrap_or_else(|e| e.into_inner());
    for act in acts.iter_mut() {
        if act.handler != SIG_IGN && act.handler != SIG_DFL {
            *act = SigAction::default();
        } else {
            act.flags = 0;
            act.mask = 0;
            act.restorer = 0;
        }
    }
    t.sig.actions = Arc::new(Mutex::new(acts));
    t.sig.altstack = (0, signals::SS_DISABLE, 0);
    t.clear_child_tid = 0;
    t.robust_list = (0, 0);
    t.rseq = None;
    t.restart_block = None;
    t.saved_mask = None;
    // The saved and file-system ids become the effective ones, and the capability sets
    // transform (capabilities(7); no file capabilities, no set-user-ID files).
    let nnp = t.tree().groups.get(&t.tgid).is_some_and(|g| g.no_new_privs);
    let c = &mut t.creds;
    (c.suid, c.fsuid, c.sgid, c.fsgid) = (c.uid, c.uid, c.gid, c.gid);
    crate::caps::exec(&mut c.caps, &mut c.securebits, c.ruid, c.uid, nnp);
    t.commit_creds();

    let comm: Vec<u8> = {
        // Descriptor-relative execs take the file's own name.
        let src = if by_fd { &exe_name } else { &name };
        let base = src.rsplit(|&b| b == b'/').next().unwrap_or(src);
        base.iter().copied().take(15).collect()
    };
    let old = t.process.clone();
    let info = Arc::new(ProcessInfo {
        fds: t.fds.clone(),
        fs: t.fs.clone(),
        exe: exe_name,
        exe_path: Some(exe_path),
        mm: Mutex::new(Some(mm.clone())),
        comm: Mutex::new(comm),
        rlimits: Mutex::new(*old.rlimits.lock().unwrap_or_else(|e| e.into_inner())),
        auxv: loaded.auxv.clone(),
        creds: old.creds,
        ppid: AtomicI32::new(old.ppid.load(Ordering::Relaxed)),
        pgid: AtomicI32::new(old.pgid.load(Ordering::Relaxed)),
        sid: AtomicI32::new(old.sid.load(Ordering::Relaxed)),
        state: AtomicU8::new(b'R'),
        reaped: AtomicBool::new(false),
        timers: old.timers.clone(),
    });
    t.process = info.clone();
    {
        let mut tree = t.tree();
        if let Some(g) = tree.groups.get_mut(&t.tgid) {
            g.info = info.clone();
            g.actions = t.sig.actions.clone();
            g.execed = true;
            g.dumpable = 1;
        }
        if let Some(e) = tree.tasks.get_mut(&t.tid) {
            e.mm_id = Arc::as_ptr(&mm) as usize;
            e.comm = info.comm.lock().unwrap_or_else(|e| e.into_inner()).clone();
        }
        if let Some(r) = &tree.registry {
            r.insert(t.tgid, info);
        }
    }
    t.update_shows();
    if let Some(v) = t.vfork_done.take() {
        v.complete();
    }
    t.cpu = CpuState {
        regs: Regs {
            rip: loaded.entry,
            rsp: loaded.sp,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        },
        ..Default::default()
    };
    Ok(0)
}

/// Kills the other threads of the caller's group and waits until they are gone; the
/// caller takes the group leader's tid.
fn de_thread(t: &mut Task) -> Result<(), Errno> {
    {
        let mut tree = t.tree();
        let Some(g) = tree.groups.get(&t.tgid) else {
            return Err(Errno::EAGAIN);
        };
        if g.exit.is_some() {
            return Err(Errno::ERESTARTNOINTR);
        }
        let others: Vec<i32> = g.threads.iter().copied().filter(|&x| x != t.tid).collect();
        if others.is_empty() {
            return Ok(());
        }
        for o in others {
            if let Some(e) = tree.tasks.get_mut(&o) {
                e.killed = true;
                e.shared.kick();
            }
        }
    }
    let wq = t.tree().exit_wq.clone();
    let mut exiting = false;
    wait::wait_uninterruptible(&[&wq], || {
        let tree = t.tree();
        let g = tree.groups.get(&t.tgid);
        exiting = g.is_none_or(|g| g.exit.is_some());
        exiting || g.is_some_and(|g| g.threads.len() == 1)
    });
    if exiting {
        return Err(Errno::ERESTARTNOINTR);
    }
    if t.tid != t.tgid {
        let k = t.k.clone();
        let mut tree = tasks::lock(&k.tree);
        if let Some(mut e) = tree.tasks.remove(&t.tid) {
            e.shared.tid.store(t.tgid, Ordering::Relaxed);
            e.killed = false;
            tree.tasks.insert(t.tgid, e);
        }
        let tgid = t.tgid;
        if let Some(g) = tree.groups.get_mut(&tgid) {
            g.threads = vec![tgid];
        }
        t.tid = tgid;
        crate::vfs::procfs::set_current(tgid, tgid);
    }
    Ok(())
}

// ---- wait ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Any,
    Pid(i32),
    Pgid(i32),
}

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

struct Waited {
    pid: i32,
    uid: u32,
    /// si_code (CLD_*) and si_status.
    code: i32,
    status: i32,
    /// The wait(2) status word.
    word: i32,
    /// The child's rusage (its own and its waited-for children's).
    usage: crate::timers::Usage,
}

/// Looks for a child in a reportable state; Ok(None): children exist, none ready;
/// Err(ECHILD): no child matches.
fn find_waitable(t: &Task, which: Which, opts: u64) -> Result<Option<Waited>, Errno> {
    let mut tree = t.tree();
    let Some(g) = tree.groups.get(&t.tgid) else {
        return Err(Errno::ECHILD);
    };
    let mut children: Vec<i32> = g.children.iter().copied().collect();
    // Children of other threads of the group are the group's, unless __WNOTHREAD (which
    // the sentry does not distinguish: children belong to the group).
    let _ = WNOTHREAD;
    children.sort_unstable();
    let mut any = false;
    for c in children {
        let Some(cg) = tree.groups.get(&c) else {
            continue;
        };
        let matches = match which {
            Which::Any => true,
            Which::Pid(p) => p == c,
            Which::Pgid(pg) => cg.pgid == pg,
        };
        if !matches {
            continue;
        }
        let clone_child = cg.exit_signal != libc::SIGCHLD;
        if opts & WALL == 0 && clone_child != (opts & WCLONE != 0) {
            continue;
        }
        any = true;
        if cg.zombie && opts & WEXITED != 0 {
            let st = cg.exit.unwrap_or(ExitStatus::Exited(0));
            let (code, status) = tasks::child_code(st);
            let reap = opts & WNOWAIT == 0;
            let w = Waited {
                pid: c,
                uid: cg.uid,
                code,
                status,
                word: tasks::wait_status(st),
                usage: crate::timers::wait_usage(&t.process, &cg.info, reap),
            };
            if opts & WNOWAIT == 0 {
                tree.reap(c);
            }
            return Ok(Some(w));
        }
        match cg.report {
            Some(Report::Stopped(sig)) if opts & WUNTRACED != 0 && cg.stopped.is_some() => {
                let w = Waited {
                    pid: c,
                    uid: cg.uid,
                    code: libc::CLD_STOPPED,
                    status: sig,
                    word: 0x7f | (sig << 8),
                    usage: crate::timers::wait_usage(&t.process, &cg.info, false),
                };
                if opts & WNOWAIT == 0
                    && let Some(cg) = tree.groups.get_mut(&c)
                {
                    cg.report = None;
                }
                return Ok(Some(w));
            }
            Some(Report::Continued) if opts & WCONTINUED != 0 => {
                let w = Waited {
                    pid: c,
                    uid: cg.uid,
                    code: libc::CLD_CONTINUED,
                    status: libc::SIGCONT,
                    word: 0xffff,
                    usage: crate::timers::wait_usage(&t.process, &cg.info, false),
                };
                if opts & WNOWAIT == 0
                    && let Some(cg) = tree.groups.get_mut(&c)
                {
                    cg.report = None;
                }
                return Ok(Some(w));
            }
            _ => {}
        }
    }
    if any { Ok(None) } else { Err(Errno::ECHILD) }
}

fn do_wait(t: &Task, which: Which, opts: u64) -> Result<Option<Waited>, Errno> {
    let wq = t.tree().groups.get(&t.tgid).map(|g| g.child_wq.clone());
    let Some(wq) = wq else {
        return Err(Errno::ECHILD);
    };
    let r = wait::wait_until(&[&wq], None, || match find_waitable(t, which, opts) {
        Ok(None) if opts & WNOHANG == 0 => None,
        other => Some(other),
    });
    match r {
        Ok(v) => v,
        Err(e) => Err(e.restartsys()),
    }
}

/// The rusage a wait reports: the child's (see `timers::cputime`).
fn write_rusage(t: &Task, addr: u64, usage: &crate::timers::Usage) -> Result<(), Errno> {
    if addr != 0 {
        t.mm.copy_out(addr, &usage.to_rusage_bytes())?;
    }
    Ok(())
}

/// wait4(2).
pub fn wait4(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (pid, wstatus, opts, rusage) = (a[0] as i32, a[1], a[2], a[3]);
    if opts & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid {
        -1 => Which::Any,
        0 => Which::Pgid(t.tree().groups.get(&t.tgid).map_or(0, |g| g.pgid)),
        p if p < -1 => Which::Pgid(p.checked_neg().ok_or(Errno::ESRCH)?),
        p => Which::Pid(p),
    };
    match do_wait(t, which, opts | WEXITED)? {
        None => Ok(0),
        Some(w) => {
            if wstatus != 0 {
                write_u32(t, wstatus, w.word as u32)?;
            }
            write_rusage(t, rusage, &w.usage)?;
            Ok(w.pid as u64)
        }
    }
}

/// waitid(2).
pub fn waitid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const P_ALL: u64 = 0;
    const P_PID: u64 = 1;
    const P_PGID: u64 = 2;
    const P_PIDFD: u64 = 3;
    let (idtype, id, infop, opts, rusage) = (a[0], a[1] as u32 as i32, a[2], a[3], a[4]);
    if opts & !(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
        || opts & (WEXITED | WUNTRACED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    let mut nonblock_pidfd = false;
    let which = match idtype {
        P_ALL => Which::Any,
        P_PID if id > 0 => Which::Pid(id),
        P_PID => return Err(Errno::EINVAL),
        P_PGID if id > 0 => Which::Pgid(id),
        P_PGID if id == 0 => Which::Pgid(t.tree().groups.get(&t.tgid).map_or(0, |g| g.pgid)),
        P_PGID => return Err(Errno::EINVAL),
        P_PIDFD => {
            let f = t.fds().get(id as u32 as u64)?;
            let pid = crate::syscalls::sys_pidfd::pidfd_pid(&f).ok_or(Errno::EBADF)?;
            if f.flags() & libc::O_NONBLOCK as u32 != 0 {
                nonblock_pidfd = true;
            }
            Which::Pid(pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    // A PIDFD_NONBLOCK pidfd waits like WNOHANG but reports EAGAIN instead of 0.
    let opts = if nonblock_pidfd { opts | WNOHANG } else { opts };
    let r = do_wait(t, which, opts)?;
    if r.is_none() && nonblock_pidfd {
        return Err(Errno::EAGAIN);
    }
    if infop != 0 {
        let mut si = [0u8; 128];
        if let Some(w) = &r {
            si[0..4].copy_from_slice(&libc::SIGCHLD.to_le_bytes());
            si[8..12].copy_from_slice(&w.code.to_le_bytes());
            si[16..20].copy_from_slice(&w.pid.to_le_bytes());
            si[20..24].copy_from_slice(&w.uid.to_le_bytes());
            si[24..28].copy_from_slice(&w.status.to_le_bytes());
        }
        // With WNOHANG and nothing to report, the fields Linux clears are zero.
        t.mm.copy_out(infop, &si[..32])?;
    }
    // Linux writes the rusage only when a child was found.
    if let Some(w) = &r {
        write_rusage(t, rusage, &w.usage)?;
    }
    Ok(0)
}
