//! A task: one application thread (DESIGN.md §5 "Tasks"). Owns its registers, platform
//! context, signal state and, for now, the per-process state it shares with nobody yet
//! (FD table, limits, credentials). The task loop: switch → handle the event → repeat.

use crate::kernel::{ExitStatus, Kernel};
use crate::mm::{FaultError, MemoryManager};
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
    /// Signals sent while blocked, as a bit set (bit n−1 for signal n).
    pub pending: u64,
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
                    addr, signo, code, ..
                } => self.fault(addr, signo, code),
                Event::Interrupted => {}
            }
            if let Some(status) = self.exit {
                return Ok(status);
            }
        }
    }

    fn fault(&mut self, addr: u64, signo: i32, code: i32) {
        const SEGV_MAPERR: i32 = 1;
        const SEGV_ACCERR: i32 = 2;
        if signo == signal::SIGSEGV && (code == SEGV_MAPERR || code == SEGV_ACCERR) {
            match self.mm.handle_fault(addr) {
                Ok(()) => return,
                Err(FaultError::OutOfMemory) => {
                    log::warn("out of memory in the memory file; killing the application");
                    self.exit = Some(ExitStatus::Signaled(libc::SIGKILL));
                    return;
                }
                Err(FaultError::MapErr | FaultError::AccErr) => {}
                Err(FaultError::Bus) => {
                    log::warn(&format!(
                        "task {}: SIGBUS at {addr:#x} (shared mapping past the end of its file)",
                        self.tid
                    ));
                    self.force_signal(libc::SIGBUS);
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
        self.force_signal(signo);
    }

    /// Delivers a synchronous signal. Until signal delivery exists (processes issue) every
    /// signal takes its default action, which for these signals terminates the group.
    pub fn force_signal(&mut self, signo: i32) {
        let action = self.sig.actions[(signo - 1) as usize];
        if action.handler != SIG_DFL {
            log::warn(&format!(
                "signal {} has a handler, but signal delivery is not implemented yet; terminating",
                signal::name(signo).unwrap_or("?")
            ));
        }
        self.exit = Some(ExitStatus::Signaled(signo));
    }

    /// Sends signal `signo` to this task (kill(2), tgkill(2) of itself). It is discarded
    /// if ignored, left pending if blocked, else its action is taken.
    pub fn send_signal(&mut self, signo: i32) {
        let action = self.sig.actions[(signo - 1) as usize];
        let unstoppable = signo == libc::SIGKILL || signo == libc::SIGSTOP;
        if !unstoppable && action.handler == SIG_IGN {
            return;
        }
        if action.handler == SIG_DFL && default_ignored(signo) {
            return;
        }
        if !unstoppable && self.sig.mask & bit(signo) != 0 {
            self.sig.pending |= bit(signo);
            return;
        }
        self.take_action(signo);
    }

    /// Takes the action of any pending signal the mask no longer blocks.
    pub fn deliver_unblocked(&mut self) {
        let ready = self.sig.pending & !self.sig.mask;
        if ready != 0 {
            let signo = ready.trailing_zeros() as i32 + 1;
            self.sig.pending &= !bit(signo);
            self.take_action(signo);
        }
    }

    fn take_action(&mut self, signo: i32) {
        if self.sig.actions[(signo - 1) as usize].handler == SIG_DFL && default_stops(signo) {
            log::warn(&format!(
                "{}: job-control stops are not implemented yet; ignoring",
                signal::name(signo).unwrap_or("signal")
            ));
            return;
        }
        self.force_signal(signo);
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
