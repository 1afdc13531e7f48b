//! A task: one application thread (DESIGN.md §5 "Tasks"), run by its own host thread.
//! Owns its registers, platform context, signal mask and alternate stack, and handles to
//! what it shares per its clone flags (memory, FD table, fs context, signal handlers).
//! The task loop: switch → handle the event → deliver signals → repeat. What other tasks
//! may change (pending signals, exit and stop requests) is in the tree (`crate::tasks`).

use crate::caps::Caps;
use crate::kernel::{ExitStatus, Kernel};
use crate::mm::{FaultError, MemoryManager};
use crate::signals::{self, SigInfo};
use crate::tasks::{self, Actions, TaskShared, bit, default_ignored, default_stops};
use crate::vfs::FsContext;
use crate::vfs::file::FdTable;
use crate::{log, syscalls};
use platform::{Context, CpuState, Event};
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::signal;

/// `struct k_sigaction` as the kernel stores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

#[derive(Clone, Debug)]
pub struct SignalState {
    /// The handlers, shared with the tasks this one shares them with (CLONE_SIGHAND).
    pub actions: Actions,
    /// The blocked set; the tree holds the copy other tasks see (`Task::set_mask`).
    pub mask: u64,
    pub altstack: (u64, u32, u64),
}

/// A task's identity. `uid`/`gid` are the effective ids (what permission checks use,
/// with fsuid/fsgid following them as Linux does unless set apart); `ruid`/`suid` and
/// `rgid`/`sgid` the real and saved ones (credentials(7)). The capability sets and
/// securebits are per thread too (capabilities(7)).
#[derive(Clone, Debug)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub ruid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub rgid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub caps: Caps,
    pub securebits: u32,
}

impl Creds {
    pub fn new(uid: u32, gid: u32, groups: Vec<u32>, caps: Caps) -> Creds {
        Creds {
            uid,
            gid,
            groups,
            ruid: uid,
            suid: uid,
            fsuid: uid,
            rgid: gid,
            sgid: gid,
            fsgid: gid,
            caps,
            securebits: 0,
        }
    }

    /// Whether `cap` is in the effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.caps.has(cap)
    }
}

pub struct Task {
    pub k: Arc<Kernel>,
    pub cpu: CpuState,
    pub ctx: Box<dyn Context>,
    pub mm: Arc<MemoryManager>,
    pub tid: i32,
    /// The thread group (process) id.
    pub tgid: i32,
    pub shared: Arc<TaskShared>,
    pub fds: Arc<Mutex<FdTable>>,
    pub fs: Arc<Mutex<FsContext>>,
    pub sig: SignalState,
    /// The process this task belongs to (FD table, fs context, limits, /proc view).
    pub process: Arc<crate::process::ProcessInfo>,
    pub creds: Creds,
    /// CPU affinity mask (sched_setaffinity), as bytes.
    pub affinity: Vec<u8>,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    /// Registered rseq area: (address, length, signature).
    pub rseq: Option<(u64, u32, u32)>,
    /// Set when this thread must end (its exit, its group's exit).
    pub exit: Option<ExitStatus>,
    /// The restart code the last syscall returned, until signal delivery decides.
    pub restart: Option<syscalls_table::Errno>,
    /// What restart_syscall(2) resumes.
    pub restart_block: Option<RestartBlock>,
    /// Set for a vfork child until it execs or exits: wakes the parent.
    pub vfork_done: Option<Arc<VforkDone>>,
    /// Whether this thread made its address space (and so its stub process): it then
    /// stays until the rest of its group has gone (the stub dies with its creator).
    pub aspace_owner: bool,
    /// The mask to restore after a sigsuspend/pselect/ppoll-style temporary mask, once
    /// the signal that ended it was delivered.
    pub saved_mask: Option<u64>,
    /// The last fault retried as possibly stale: (address, instruction).
    pub retried_fault: Option<(u64, u64)>,
    /// SIGILLs in a row taken as a patched site being (un)patched (bounded, so a site
    /// the application itself broke ends in SIGILL).
    pub patch_retries: u32,
}

/// See `Task::patch_retries`.
const MAX_PATCH_RETRIES: u32 = 10_000;

/// What restart_syscall(2) continues after a signal interrupted a sleep.
#[derive(Clone, Copy, Debug)]
pub enum RestartBlock {
    /// nanosleep/clock_nanosleep: sleep until `deadline` on `clock`; write the remaining
    /// time to `rmtp` if interrupted again (relative sleeps only).
    Sleep {
        clock: i32,
        deadline: std::time::Instant,
        rmtp: u64,
    },
    /// poll(2): poll `nfds` entries at `ufds` again, until `deadline` (None: no timeout).
    Poll {
        ufds: u64,
        nfds: u64,
        deadline: Option<std::time::Instant>,
    },
}

/// A vfork parent waits on this until its child execs or exits.
#[derive(Default)]
pub struct VforkDone {
    pub done: std::sync::atomic::AtomicBool,
    pub wq: crate::wait::WaitQueue,
}

impl VforkDone {
    pub fn complete(&self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wq.notify_all();
    }
}

impl Task {
    pub fn fds(&self) -> MutexGuard<'_, FdTable> {
        self.fds.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn fs(&self) -> FsContext {
        self.fs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn vcreds(&self) -> crate::vfs::Creds {
        crate::vfs::Creds {
            uid: self.creds.fsuid,
            gid: self.creds.fsgid,
            caps: self.creds.caps.effective,
        }
    }

    /// Whether `cap` is in the thread's effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.creds.capable(cap)
    }

    /// Publishes `self.creds` after a change: what other tasks check (kill, scheduling,
    /// capget, /proc) reads the tree's copy.
    pub fn commit_creds(&mut self) {
        let c = self.creds.clone();
        let (tid, tgid) = (self.tid, self.tgid);
        let mut tree = self.tree();
        if let Some(g) = tree.groups.get_mut(&tgid) {
            g.uid = c.ruid;
            g.euid = c.uid;
            g.suid = c.suid;
        }
        if let Some(e) = tree.tasks.get_mut(&tid) {
            e.creds = c;
        }
    }

    /// The thread's name (PR_GET_NAME).
    pub fn comm(&self) -> Vec<u8> {
        let own = self.tree().tasks.get(&self.tid).map(|e| e.comm.clone());
        own.unwrap_or_else(|| {
            self.process
                .comm
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
    }

    pub fn tree(&self) -> MutexGuard<'_, tasks::Tree> {
        tasks::lock(&self.k.tree)
    }

    pub fn action(&self, signo: i32) -> SigAction {
        self.sig.actions.lock().unwrap_or_else(|e| e.into_inner())[(signo - 1) as usize]
    }

    pub fn set_action(&self, signo: i32, a: SigAction) {
        self.sig.actions.lock().unwrap_or_else(|e| e.into_inner())[(signo - 1) as usize] = a;
    }

    /// Sets the blocked set (SIGKILL and SIGSTOP cannot be blocked). Unblocking may make
    /// a pending signal deliverable: the task looks at its signals again.
    pub fn set_mask(&mut self, mask: u64) {
        let mask = mask & !signals::UNBLOCKABLE;
        let unblocked = self.sig.mask & !mask;
        self.sig.mask = mask;
        let mut tree = self.tree();
        if let Some(e) = tree.tasks.get_mut(&self.tid) {
            e.mask = mask;
        }
        // Signals sent to the group while this thread blocked them may have found no
        // thread; now this one can take them.
        drop(tree);
        if unblocked != 0 {
            self.shared
                .hint
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A group leader shows its sleeps in its process's /proc state.
    pub fn update_shows(&self) {
        *self.shared.shows.lock().unwrap_or_else(|e| e.into_inner()) =
            (self.tid == self.tgid).then(|| self.process.clone());
    }

    /// Runs the task until it ends; returns how its thread ended.
    pub fn run(&mut self) -> ExitStatus {
        crate::vfs::procfs::set_current(self.tgid, self.tid);
        crate::wait::set_current(Some(self.shared.clone()));
        *self
            .shared
            .interrupter
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(self.ctx.interrupter());
        self.update_shows();
        // A signal may have arrived between the clone and now.
        self.deliver_signals();
        while self.exit.is_none() {
            // A paused sandbox runs no application code (OCI `pause`); what arrived
            // meanwhile (a SIGKILL) is handled before it runs again.
            if self.k.freeze_point(self.tgid) {
                self.deliver_signals();
                continue;
            }
            let aspace = self.mm.aspace();
            let ev = match self.ctx.switch(aspace.as_ref(), &mut self.cpu) {
                Ok(ev) => ev,
                Err(e) => {
                    log::warn(&format!("task {}: {e}", self.tid));
                    self.tree()
                        .group_exit(self.tgid, ExitStatus::Signaled(libc::SIGKILL));
                    self.exit = Some(ExitStatus::Signaled(libc::SIGKILL));
                    break;
                }
            };
            match ev {
                Event::Syscall => {
                    self.patch_retries = 0;
                    if self.ctx.syscall_trapped() && self.cpu.regs.gs_base == 0 {
                        let platform = self.k.platform.clone();
                        self.mm.patch_syscall(
                            self.cpu.regs.rip,
                            self.cpu.regs.orig_rax,
                            |setup, ret| platform.syscall_trampoline(setup, ret),
                        );
                    }
                    syscalls::dispatch(self)
                }
                Event::Fault {
                    addr,
                    access,
                    signo,
                    code,
                } => self.fault(addr, access, signo, code),
                Event::Interrupted => {}
            }
            crate::timers::after_event(self);
            if self.restart.is_some() || self.shared.hint.load(std::sync::atomic::Ordering::SeqCst)
            {
                self.deliver_signals();
            }
        }
        self.exit.unwrap_or(ExitStatus::Exited(0))
    }

    fn fault(&mut self, addr: u64, access: platform::Access, signo: i32, mut code: i32) {
        if signo == signal::SIGILL
            && let Some((site, inner)) = self.mm.patched_fault(addr)
            && self.patch_retries < MAX_PATCH_RETRIES
        {
            // A thread that raced with the (un)patching of a syscall site, or the restart
            // of a syscall made there (mm::patch): run the site again; a restart through
            // restart_syscall(2) is that syscall.
            self.patch_retries += 1;
            if inner && self.cpu.regs.rax == libc::SYS_restart_syscall as u64 {
                self.cpu.regs.orig_rax = self.cpu.regs.rax;
                self.cpu.regs.rip = site + 7;
                syscalls::dispatch(self);
            } else {
                self.cpu.regs.rip = site;
            }
            return;
        }
        self.patch_retries = 0;
        const SEGV_MAPERR: i32 = 1;
        const SEGV_ACCERR: i32 = 2;
        const BUS_ADRERR: i32 = 2;
        if signo == signal::SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR) {
            match self.mm.handle_fault(addr, access) {
                Ok(()) => {
                    self.retried_fault = None;
                    return;
                }
                Err(FaultError::OutOfMemory) => {
                    // Under a memory limit, the OOM killer may free memory elsewhere:
                    // then the instruction runs again.
                    if self.k.memfile.limit().is_some() && !self.k.oom_kill(self.tgid) {
                        return;
                    }
                    log::warn("out of memory in the memory file; killing the application");
                    self.tree()
                        .group_exit(self.tgid, ExitStatus::Signaled(libc::SIGKILL));
                    self.exit = Some(ExitStatus::Signaled(libc::SIGKILL));
                    return;
                }
                // The memory manager knows better than the platform which it was.
                Err(FaultError::MapErr) => code = SEGV_MAPERR,
                // Without the access kind (ptrace), a fault on a page another thread has
                // just made writable (a COW break) looks forbidden: retry the instruction
                // once before calling it a violation.
                Err(FaultError::AccErr)
                    if access.is_unknown()
                        && self.retried_fault != Some((addr, self.cpu.regs.rip)) =>
                {
                    self.retried_fault = Some((addr, self.cpu.regs.rip));
                    return;
                }
                Err(FaultError::AccErr) => code = SEGV_ACCERR,
                Err(FaultError::Bus) => {
                    log::warn(&format!(
                        "task {}: SIGBUS at {addr:#x} (shared mapping past the end of its file)",
                        self.tid
                    ));
                    self.force_signal(SigInfo::fault(libc::SIGBUS, BUS_ADRERR, addr));
                    return;
                }
            }
        }
        log::warn(&format!(
            "task {}: {} (code {code}) at {addr:#x}, rip {:#x}",
            self.tid,
            signal::name(signo).unwrap_or("signal"),
            self.cpu.regs.rip
        ));
        self.force_signal(SigInfo::fault(signo, code, addr));
    }

    /// Queues a synchronous signal (a fault): one that is blocked or ignored cannot be,
    /// so its action is reset to the default and it is unblocked (Linux's force_sig_info).
    pub fn force_signal(&mut self, info: SigInfo) {
        let signo = info.signo();
        let mut a = self.action(signo);
        let blocked = self.sig.mask & bit(signo) != 0;
        if a.handler == SIG_IGN || blocked {
            a.handler = SIG_DFL;
            self.set_action(signo, a);
            if blocked {
                let m = self.sig.mask & !bit(signo);
                self.set_mask(m);
            }
        }
        self.tree().send(self.tgid, Some(self.tid), info);
        self.shared
            .hint
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sends a signal to this thread (SIGPIPE, SIGXFSZ: signals the kernel raises for
    /// what the thread did).
    pub fn send_signal(&mut self, info: SigInfo) {
        self.tree().send(self.tgid, Some(self.tid), info);
    }

    /// A signal the kernel sends the thread for what it just did (send_sig(): SIGPIPE on
    /// a broken pipe, SIGXFSZ past RLIMIT_FSIZE), as from the process itself.
    pub fn kernel_signal(&mut self, signo: i32) {
        let info = SigInfo::from_process(signo, signals::SI_USER, self.tgid, self.creds.ruid);
        self.send_signal(info);
    }

    /// Applies the restart decision for an interrupted syscall: `handler` says whether a
    /// handler is about to run, with which flags.
    fn fix_restart(&mut self, handler: Option<u64>) {
        use syscalls_table::Errno;
        let Some(code) = self.restart.take() else {
            return;
        };
        let restart = match (code, handler) {
            (Errno::ERESTARTNOINTR, _) => true,
            (Errno::ERESTARTSYS, Some(flags)) => flags & tasks::SA_RESTART != 0,
            (_, Some(_)) => false,
            (_, None) => true,
        };
        let r = &mut self.cpu.regs;
        if !restart {
            r.rax = (-(libc::EINTR as i64)) as u64;
            if handler.is_some() {
                self.restart_block = None;
            }
            return;
        }
        r.rip = r.rip.wrapping_sub(2);
        r.rax = if code == Errno::ERESTART_RESTARTBLOCK {
            libc::SYS_restart_syscall as u64
        } else {
            r.orig_rax
        };
    }

    /// Delivers the pending signals the mask lets through, on the way back to the
    /// application: a handler gets a signal frame; otherwise the default action. Also
    /// where the task notices its group's exit and stops.
    pub fn deliver_signals(&mut self) {
        use std::sync::atomic::Ordering;
        let k = self.k.clone();
        while self.exit.is_none() {
            let mut tree = tasks::lock(&k.tree);
            let Some(e) = tree.tasks.get(&self.tid) else {
                self.exit = Some(ExitStatus::Signaled(libc::SIGKILL));
                return;
            };
            let tgid = e.tgid;
            let killed = e.killed;
            let (gexit, stopped) = tree
                .groups
                .get(&tgid)
                .map_or((Some(ExitStatus::Signaled(libc::SIGKILL)), None), |g| {
                    (g.exit, g.stopped)
                });
            if killed || gexit.is_some() {
                self.exit = Some(gexit.unwrap_or(ExitStatus::Signaled(libc::SIGKILL)));
                return;
            }
            if stopped.is_some() {
                // Park until continued or killed.
                if let Some(e) = tree.tasks.get_mut(&self.tid) {
                    e.stopped = true;
                }
                tree.complete_stop(tgid);
                let seen = self.shared.waiter.seq();
                let still = tree
                    .groups
                    .get(&tgid)
                    .is_some_and(|g| g.stopped.is_some() && g.exit.is_none());
                drop(tree);
                if still {
                    self.shared.waiter.sleep(seen, None);
                    continue;
                }
                if let Some(e) = self.tree().tasks.get_mut(&self.tid) {
                    e.stopped = false;
                }
                continue;
            }
            if let Some(e) = tree.tasks.get_mut(&self.tid) {
                e.stopped = false;
            }
            // Nothing to deliver: clear the hint under the lock, so a send after this
            // point sets it again.
            let Some(info) = tree.dequeue(self.tid) else {
                self.shared.hint.store(false, Ordering::SeqCst);
                drop(tree);
                break;
            };
            drop(tree);
            let signo = info.signo();
            let action = self.action(signo);
            match action.handler {
                SIG_IGN => {}
                SIG_DFL if default_ignored(signo) => {}
                SIG_DFL if default_stops(signo) => {
                    let mut tree = self.tree();
                    // Terminal stops in an orphaned process group are discarded.
                    let pgid = tree.groups.get(&tgid).map_or(0, |g| g.pgid);
                    if signo != libc::SIGSTOP && tree.pgrp_orphaned(pgid) {
                        continue;
                    }
                    // Terminal stops in an orphaned process group are discarded.
                    if let Some(g) = tree.groups.get_mut(&tgid)
                        && g.exit.is_none()
                    {
                        // Every thread stops; the last to do so reports the stop.
                        g.stopped = Some(signo);
                        g.stop_notify = Some(signo);
                        tasks::set_state(&g.info, b'T');
                        let threads = g.threads.clone();
                        for t in threads {
                            if let Some(e) = tree.tasks.get(&t) {
                                e.shared.kick();
                            }
                        }
                    }
                }
                SIG_DFL => {
                    self.tree().group_exit(tgid, ExitStatus::Signaled(signo));
                    self.exit = Some(ExitStatus::Signaled(signo));
                    return;
                }
                _ => {
                    self.fix_restart(Some(action.flags));
                    // After sigsuspend, the frame saves the original mask (saved_mask)
                    // and the handler runs with the temporary one plus its own.
                    if let Err(e) = signals::setup_frame(self, &info, &action) {
                        log::warn(&format!(
                            "task {}: cannot deliver {} ({e:?}): killed by SIGSEGV",
                            self.tid,
                            signal::name(signo).unwrap_or("signal")
                        ));
                        self.tree()
                            .group_exit(tgid, ExitStatus::Signaled(libc::SIGSEGV));
                        self.exit = Some(ExitStatus::Signaled(libc::SIGSEGV));
                        return;
                    }
                    self.saved_mask = None;
                    let m = self.sig.mask;
                    self.set_mask(m);
                }
            }
        }
        if self.exit.is_none() {
            self.fix_restart(None);
            if let Some(m) = self.saved_mask.take() {
                self.set_mask(m);
            }
        }
    }

    /// The limit `resource` (RLIMIT_*) currently in force (soft).
    pub fn rlimit(&self, resource: usize) -> u64 {
        self.rlimits().get(resource).map_or(u64::MAX, |r| r.0)
    }

    pub fn rlimits(&self) -> MutexGuard<'_, [(u64, u64); 16]> {
        self.process
            .rlimits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}
