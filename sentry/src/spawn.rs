//! A new process started in a running sandbox from outside it (OCI `exec`): loaded from
//! the sandbox's own tree like init, in a session of its own with no parent (ppid 0),
//! its stdio the caller's host FDs, run on a host thread of its own.

use crate::host;
use crate::kernel::{Error, ExitStatus, Kernel, User, stdio_table};
use crate::loader::{self, Image};
use crate::mm::{MemoryManager, page_down};
use crate::process::ProcessInfo;
use crate::task::{Creds, SigAction, SignalState, Task};
use crate::tasks::{Group, TaskEntry, Tree};
use crate::vfs::FsContext;
use platform::{CpuState, Regs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8};
use std::sync::{Arc, Mutex, mpsc};

/// What to run.
pub struct ExecSpec {
    /// Looked up in the sandbox's $PATH (from `envp`) when it has no slash.
    pub program: String,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    /// Absolute; must exist in the sandbox.
    pub cwd: Vec<u8>,
    pub user: User,
    /// Host FDs that become the process's 0, 1 and 2.
    pub stdio: [OwnedFd; 3],
}

/// A process started by `Control::exec`.
pub struct Spawned {
    pub pid: i32,
    done: mpsc::Receiver<ExitStatus>,
}

impl Spawned {
    /// Waits for the process to end; how it ended. A process killed with the sandbox
    /// (its init exited) reports SIGKILL.
    pub fn wait(self) -> ExitStatus {
        self.done
            .recv()
            .unwrap_or(ExitStatus::Signaled(libc::SIGKILL))
    }
}

/// Loads `spec` into a new address space on a new host thread and starts it.
pub(crate) fn spawn(k: &Arc<Kernel>, spec: ExecSpec) -> Result<Spawned, Error> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<i32, Error>>();
    let (done_tx, done_rx) = mpsc::channel::<ExitStatus>();
    let kernel = k.clone();
    k.thread_started();
    let spawned = std::thread::Builder::new()
        .name("task-exec".into())
        .stack_size(1 << 20)
        .spawn(move || {
            // The address space and context belong to the thread that runs the task.
            match build(&kernel, spec) {
                Ok(mut task) => {
                    let _ = ready_tx.send(Ok(task.tgid));
                    drop(ready_tx);
                    let thread_status = task.run();
                    // The group's status (exit_group, a fatal signal) or, for a leader
                    // that exits on its own, its own (a leader that ends before its
                    // other threads reports its status, not theirs).
                    let status = crate::tasks::lock(&kernel.tree)
                        .groups
                        .get(&task.tgid)
                        .and_then(|g| g.exit)
                        .unwrap_or(thread_status);
                    task.exit_thread();
                    drop(task);
                    let _ = done_tx.send(status);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
            crate::wait::set_current(None);
            kernel.thread_done();
        });
    if spawned.is_err() {
        k.thread_done();
        return Err(Error::Setup("no host thread for the process".into()));
    }
    let pid = ready_rx
        .recv()
        .map_err(|_| Error::Setup("the process's thread ended early".into()))??;
    Ok(Spawned { pid, done: done_rx })
}

fn build(k: &Arc<Kernel>, spec: ExecSpec) -> Result<Task, Error> {
    let perr = |e| Error::Platform("exec".into(), e);
    let aspace = k.platform.new_address_space().map_err(perr)?;
    let ctx = k.platform.new_context().map_err(perr)?;
    let mm = Arc::new(MemoryManager::new(
        aspace,
        k.memfile.clone(),
        k.platform.min_user_addr(),
        k.platform.max_user_addr(),
    ));
    let u = &spec.user;
    let vcreds = crate::vfs::Creds {
        uid: u.uid,
        gid: u.gid,
        caps: u.caps.effective,
    };
    // The limits are init's (an exec'd process of a container shares them).
    let rlimits = crate::tasks::lock(&k.tree)
        .groups
        .get(&1)
        .map(|g| *g.info.rlimits.lock().unwrap_or_else(|e| e.into_inner()))
        .ok_or_else(|| Error::Setup("the container is not running".into()))?;
    let root = k.vfs.root();
    let mut ctx_fs = FsContext {
        root: root.clone(),
        cwd: root.clone(),
        umask: 0o022,
    };
    if !spec.cwd.starts_with(b"/") {
        return Err(Error::Setup("cwd must be an absolute path".into()));
    }
    let cwd = k
        .vfs
        .resolve(&ctx_fs, vcreds, &root, &spec.cwd, true)
        .map_err(|e| Error::Setup(format!("cwd {}: {e:?}", String::from_utf8_lossy(&spec.cwd))))?;
    if !cwd.stat().is_ok_and(|s| s.is_dir()) {
        return Err(Error::Setup(format!(
            "cwd {}: not a directory",
            String::from_utf8_lossy(&spec.cwd)
        )));
    }
    ctx_fs.cwd = cwd;
    let mut argv = spec.argv.clone();
    let (exe, exe_name, exe_path) = crate::exec::find(
        &k.vfs,
        &ctx_fs,
        vcreds,
        spec.program.as_bytes(),
        &mut argv,
        &spec.envp,
    )?;
    let stack_limit = rlimits[libc::RLIMIT_STACK as usize]
        .0
        .clamp(128 << 10, 1 << 30);
    let img = Image {
        argv: &argv,
        envp: &spec.envp,
        execfn: exe.program.path.as_bytes(),
        uid: u.uid,
        gid: u.gid,
        stack_limit,
    };
    let stack_top = page_down(k.platform.max_user_addr()) - 0x1000;
    let loaded = loader::load(&mm, &exe, &img, stack_top)?;
    drop(exe);

    let fs = Arc::new(Mutex::new(ctx_fs));
    let fds = Arc::new(Mutex::new(stdio_table(
        spec.stdio.each_ref().map(|f| f.as_raw_fd()),
    )));
    // stdio_table took duplicates.
    drop(spec.stdio);
    // Named as execve(2) names it: the last component of the path asked for (a
    // symlink's own name, a script's), not of the file it resolved to.
    let comm: Vec<u8> = {
        let base = spec.program.as_bytes();
        let base = base.rsplit(|&b| b == b'/').next().unwrap_or(base);
        base.iter().copied().take(15).collect()
    };
    let actions = Arc::new(Mutex::new([SigAction::default(); 64]));
    let mut t = crate::tasks::lock(&k.tree);
    if t.shutdown || t.groups.get(&1).is_none_or(|g| g.exit.is_some()) {
        return Err(Error::Setup("the container is not running".into()));
    }
    let pid = t
        .alloc_pid()
        .map_err(|e| Error::Setup(format!("no pid: {e:?}")))?;
    let process = Arc::new(ProcessInfo {
        fds: fds.clone(),
        fs: fs.clone(),
        exe: exe_name,
        exe_path: Some(exe_path),
        mm: Mutex::new(Some(mm.clone())),
        comm: Mutex::new(comm.clone()),
        rlimits: Mutex::new(rlimits),
        auxv: loaded.auxv.clone(),
        creds: (u.uid, u.gid),
        ppid: AtomicI32::new(0),
        pgid: AtomicI32::new(pid),
        sid: AtomicI32::new(pid),
        state: AtomicU8::new(b'R'),
        reaped: AtomicBool::new(false),
        timers: Default::default(),
    });
    let shared = Tree::new_shared(&k.tree, pid);
    t.tasks.insert(
        pid,
        TaskEntry {
            shared: shared.clone(),
            tgid: pid,
            mask: 0,
            pending: Default::default(),
            killed: false,
            stopped: false,
            sigwait: 0,
            mm_id: Arc::as_ptr(&mm) as usize,
            sched: crate::sched::host().initial,
            comm,
            creds: Creds::new(u.uid, u.gid, u.groups.clone(), u.caps),
        },
    );
    let mut leader = Group::leader(pid, actions.clone(), process.clone(), u.uid);
    leader.no_new_privs = u.no_new_privs;
    t.groups.insert(pid, leader);
    if let Some(r) = &t.registry {
        r.insert(pid, process.clone());
    }
    drop(t);
    let regs = Regs {
        rip: loaded.entry,
        rsp: loaded.sp,
        cs: 0x33,
        ss: 0x2b,
        eflags: 0x202,
        ..Default::default()
    };
    Ok(Task {
        k: k.clone(),
        cpu: CpuState {
            regs,
            ..Default::default()
        },
        ctx,
        mm,
        tid: pid,
        tgid: pid,
        shared,
        fds,
        fs,
        sig: SignalState {
            actions,
            mask: 0,
            altstack: (0, libc::SS_DISABLE as u32, 0),
        },
        process,
        creds: Creds::new(u.uid, u.gid, u.groups.clone(), u.caps),
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
    })
}
