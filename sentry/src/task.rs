//! A task: one application thread (DESIGN.md §5 "Tasks"). Owns its registers, platform
//! context, signal state and, for now, the per-process state it shares with nobody yet
//! (FD table, limits, credentials). The task loop: switch → handle the event → repeat.

use crate::kernel::{ExitStatus, Kernel};
use crate::mm::{FaultError, MemoryManager};
use crate::signals::{self, SigInfo};
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
    /// Indexed by signal number − 1.
    pub actions: [SigAction; 64],
    pub mask: u64,
    /// Signals sent and not delivered yet, as a bit set (bit n−1 for signal n).
    pub pending: u64,
    /// The siginfo of each pending signal (standard signals do not queue twice).
    pub infos: std::collections::BTreeMap<i32, SigInfo>,
    pub altstack: (u64, u32, u64),
}

fn bit(signo: i32) -> u64 {
    1u64 << (signo - 1)
}

#[derive(Clone, Debug)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

pub struct Task {
    pub k: Arc<Kernel>,
    pub cpu: CpuState,
    pub ctx: Box<dyn Context>,
    pub mm: Arc<MemoryManager>,
    pub tid: i32,
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
    /// Set when the thread group has exited.
    pub exit: Option<ExitStatus>,
}

/// Signals whose default action is to do nothing.
fn default_ignored(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

/// Signals whose default action is to stop the process.
fn default_stops(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
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
            uid: self.creds.uid,
            gid: self.creds.gid,
        }
    }

    /// Runs the task until its thread group exits.
    pub fn run(&mut self) -> Result<ExitStatus, platform::PlatformError> {
        crate::vfs::procfs::set_current_pid(self.tid);
        loop {
            let aspace = self.mm.aspace();
            let ev = self.ctx.switch(aspace.as_ref(), &mut self.cpu)?;
            match ev {
                Event::Syscall => syscalls::dispatch(self),
                Event::Fault {
                    addr,
                    access,
                    signo,
                    code,
                } => self.fault(addr, access, signo, code),
                Event::Interrupted => {}
            }
            self.deliver_signals();
            if let Some(status) = self.exit {
                return Ok(status);
            }
        }
    }

    fn fault(&mut self, addr: u64, access: platform::Access, signo: i32, mut code: i32) {
        const SEGV_MAPERR: i32 = 1;
        const SEGV_ACCERR: i32 = 2;
        const BUS_ADRERR: i32 = 2;
        if signo == signal::SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR) {
            match self.mm.handle_fault(addr, access) {
                Ok(()) => return,
                Err(FaultError::OutOfMemory) => {
                    log::warn("out of memory in the memory file; killing the application");
                    self.exit = Some(ExitStatus::Signaled(libc::SIGKILL));
                    return;
                }
                // The memory manager knows better than the platform which it was.
                Err(FaultError::MapErr) => code = SEGV_MAPERR,
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
        let i = (signo - 1) as usize;
        if self.sig.actions[i].handler == SIG_IGN || self.sig.mask & bit(signo) != 0 {
            self.sig.actions[i].handler = SIG_DFL;
            self.sig.mask &= !bit(signo);
        }
        self.queue(info);
    }

    /// Sends a signal to this task (kill(2), tgkill(2) of itself, SIGPIPE): discarded if
    /// ignored and not blocked, else pending until delivered.
    pub fn send_signal(&mut self, info: SigInfo) {
        let signo = info.signo();
        let action = self.sig.actions[(signo - 1) as usize];
        let unstoppable = signo == libc::SIGKILL || signo == libc::SIGSTOP;
        // Blocked signals are never ignored: the action may change before they unblock.
        let blocked = !unstoppable && self.sig.mask & bit(signo) != 0;
        if !blocked
            && ((!unstoppable && action.handler == SIG_IGN)
                || (action.handler == SIG_DFL && default_ignored(signo)))
        {
            return;
        }
        self.queue(info);
    }

    fn queue(&mut self, info: SigInfo) {
        let signo = info.signo();
        if self.sig.pending & bit(signo) == 0 {
            self.sig.pending |= bit(signo);
            self.sig.infos.insert(signo, info);
        }
    }

    /// Delivers the pending signals the mask lets through, on the way back to the
    /// application: a handler gets a signal frame; otherwise the default action.
    /// Synchronous signals go first, as in Linux.
    pub fn deliver_signals(&mut self) {
        const SYNCHRONOUS: u64 = (1 << (libc::SIGSEGV - 1))
            | (1 << (libc::SIGBUS - 1))
            | (1 << (libc::SIGILL - 1))
            | (1 << (libc::SIGTRAP - 1))
            | (1 << (libc::SIGFPE - 1))
            | (1 << (libc::SIGSYS - 1));
        while self.exit.is_none() {
            let ready = self.sig.pending & (!self.sig.mask | signals::UNBLOCKABLE);
            if ready == 0 {
                return;
            }
            let pick = if ready & SYNCHRONOUS != 0 {
                ready & SYNCHRONOUS
            } else {
                ready
            };
            let signo = pick.trailing_zeros() as i32 + 1;
            self.sig.pending &= !bit(signo);
            let info = self
                .sig
                .infos
                .remove(&signo)
                .unwrap_or_else(|| SigInfo::new(signo, signals::SI_KERNEL));
            let action = self.sig.actions[(signo - 1) as usize];
            match action.handler {
                SIG_IGN => {}
                SIG_DFL if default_ignored(signo) => {}
                SIG_DFL if default_stops(signo) => log::warn(&format!(
                    "{}: job-control stops are not implemented yet; ignoring",
                    signal::name(signo).unwrap_or("signal")
                )),
                SIG_DFL => self.exit = Some(ExitStatus::Signaled(signo)),
                _ => {
                    if let Err(e) = signals::setup_frame(self, &info, &action) {
                        log::warn(&format!(
                            "task {}: cannot deliver {} ({e:?}): killed by SIGSEGV",
                            self.tid,
                            signal::name(signo).unwrap_or("signal")
                        ));
                        self.exit = Some(ExitStatus::Signaled(libc::SIGSEGV));
                    }
                }
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
