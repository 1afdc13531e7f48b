//! The ptrace platform (DESIGN.md §4): each address space is a stub process, each
//! application thread a stub thread traced by the sentry thread that runs it. Syscalls
//! are intercepted with `PTRACE_SYSEMU`; faults arrive as signal-delivery stops; the
//! sentry changes the stub's mappings by injecting `mmap`/`munmap`/`mprotect` calls.

use crate::stub::{self, StubRegion, TASK_SIZE};
use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Perms, Platform, PlatformError,
    Regs, Result,
};
use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const PTRACE_GETREGS: i64 = 12;
const PTRACE_SETREGS: i64 = 13;
const PTRACE_CONT: i64 = 7;
const PTRACE_SYSEMU: i64 = 31;
const PTRACE_GETSIGINFO: i64 = 0x4202;
const PTRACE_GETREGSET: i64 = 0x4204;
const PTRACE_SETREGSET: i64 = 0x4205;
const NT_X86_XSTATE: i64 = 0x202;

/// The signal `interrupt()` sends to a stub thread. Any signal is reported to a tracer
/// (even an ignored one); SIGURG is harmless if it ever reaches an untraced process.
const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

/// Lowest address an application may map (the host's `vm.mmap_min_addr` default).
const MIN_USER_ADDR: u64 = 0x10000;

pub fn new_platform(memfd: i32) -> Result<Arc<dyn Platform>> {
    Ok(Arc::new(PtracePlatform {
        stub: Arc::new(StubRegion::install()?),
        memfd,
    }))
}

pub struct PtracePlatform {
    stub: Arc<StubRegion>,
    memfd: i32,
}

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        let pid = self.stub.spawn_traced(self.memfd)?;
        let template = get_regs(pid)?;
        Ok(Arc::new(PtraceAddressSpace {
            pid,
            tracer: gettid(),
            syscall_addr: self.stub.syscall_addr,
            memfd: self.memfd,
            template,
            inject: Mutex::new(()),
            injections: AtomicU64::new(0),
        }))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(PtraceContext {
            bound: None,
            last_regs: None,
            seen_injections: 0,
            interrupter: Arc::new(PtraceInterrupter {
                pending: AtomicBool::new(false),
                target: Mutex::new(None),
            }),
        }))
    }

    fn min_user_addr(&self) -> u64 {
        MIN_USER_ADDR
    }

    fn max_user_addr(&self) -> u64 {
        self.stub.start
    }
}

/// A stub process. Its first (and, for now, only) thread is traced by the sentry thread
/// that created it, which is the thread that runs the application thread in it.
pub struct PtraceAddressSpace {
    pid: i32,
    tracer: i32,
    syscall_addr: u64,
    memfd: i32,
    /// Registers of the stub at its initial stop: valid segment selectors and flags to
    /// start injected syscalls from.
    template: Regs,
    inject: Mutex<()>,
    /// How many syscalls were injected so far: an injection clobbers the registers of
    /// the stub thread, which must then be set again before the application runs.
    injections: AtomicU64,
}

impl PtraceAddressSpace {
    /// Runs one syscall inside the stub and returns its raw result.
    fn inject(&self, nr: i64, args: [u64; 6]) -> Result<i64> {
        if gettid() != self.tracer {
            return Err(PlatformError::Unsupported(
                "ptrace: address-space changes from a thread other than its creator".into(),
            ));
        }
        let _guard = self.inject.lock().unwrap_or_else(|e| e.into_inner());
        self.injections.fetch_add(1, Ordering::Relaxed);
        let mut regs = self.template;
        regs.rax = nr as u64;
        regs.orig_rax = u64::MAX;
        regs.rdi = args[0];
        regs.rsi = args[1];
        regs.rdx = args[2];
        regs.r10 = args[3];
        regs.r8 = args[4];
        regs.r9 = args[5];
        regs.rip = self.syscall_addr;
        set_regs(self.pid, &regs)?;
        ptrace(PTRACE_CONT, self.pid, 0, 0, "PTRACE_CONT (inject)")?;
        loop {
            let status = wait(self.pid)?;
            if libc::WIFSTOPPED(status) {
                let sig = libc::WSTOPSIG(status);
                if sig == libc::SIGTRAP {
                    break;
                }
                // An interrupt signal that raced with the injection: let it be seen at
                // the next switch instead (it stays pending: re-send it).
                if sig == INTERRUPT_SIGNAL {
                    ptrace(PTRACE_CONT, self.pid, 0, 0, "PTRACE_CONT (inject)")?;
                    tgkill(self.pid, self.pid, INTERRUPT_SIGNAL);
                    continue;
                }
                ptrace(PTRACE_CONT, self.pid, 0, 0, "PTRACE_CONT (inject)")?;
                continue;
            }
            return Err(PlatformError::ThreadGone(status));
        }
        Ok(get_regs(self.pid)?.rax as i64)
    }

    fn check(&self, what: &'static str, r: i64) -> Result<()> {
        if r < 0 && r > -4096 {
            return Err(PlatformError::Host {
                what,
                err: std::io::Error::from_raw_os_error(-r as i32),
            });
        }
        Ok(())
    }
}

impl AddressSpace for PtraceAddressSpace {
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.inject(
            libc::SYS_mmap,
            [
                addr,
                len,
                perms.to_prot() as u64,
                flags,
                self.memfd as u64,
                file_offset,
            ],
        )?;
        self.check("mmap in a stub", r)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        let r = self.inject(libc::SYS_munmap, [addr, len, 0, 0, 0, 0])?;
        self.check("munmap in a stub", r)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for PtraceAddressSpace {
    fn drop(&mut self) {
        stub::kill_and_reap(self.pid);
    }
}

struct PtraceInterrupter {
    pending: AtomicBool,
    /// The stub thread (pid, tid) to signal, while it exists.
    target: Mutex<Option<(i32, i32)>>,
}

impl Interrupt for PtraceInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((pid, tid)) = *target {
            tgkill(pid, tid, INTERRUPT_SIGNAL);
        }
    }
}

struct PtraceContext {
    /// The stub thread this context runs on: (pid, tid).
    bound: Option<(i32, i32)>,
    /// The registers the stub thread holds now, to skip a redundant PTRACE_SETREGS.
    last_regs: Option<Regs>,
    /// `injections` of the address space when `last_regs` was last true.
    seen_injections: u64,
    interrupter: Arc<PtraceInterrupter>,
}

impl Context for PtraceContext {
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
        let aspace = aspace
            .as_any()
            .downcast_ref::<PtraceAddressSpace>()
            .ok_or_else(|| PlatformError::Unsupported("ptrace: foreign address space".into()))?;
        let tid = match self.bound {
            Some((pid, tid)) if pid == aspace.pid => tid,
            Some(_) => {
                return Err(PlatformError::Unsupported(
                    "ptrace: moving a thread to another address space".into(),
                ));
            }
            None => {
                if aspace.tracer != gettid() {
                    return Err(PlatformError::Unsupported(
                        "ptrace: running a stub from a thread other than its creator".into(),
                    ));
                }
                self.bound = Some((aspace.pid, aspace.pid));
                *self
                    .interrupter
                    .target
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some((aspace.pid, aspace.pid));
                self.last_regs = None;
                aspace.pid
            }
        };
        if self.interrupter.pending.swap(false, Ordering::SeqCst) {
            return Ok(Event::Interrupted);
        }
        let injections = aspace.injections.load(Ordering::Relaxed);
        if self.last_regs != Some(state.regs) || self.seen_injections != injections {
            set_regs(tid, &state.regs)?;
            self.seen_injections = injections;
        }
        loop {
            ptrace(PTRACE_SYSEMU, tid, 0, 0, "PTRACE_SYSEMU")?;
            let status = wait(tid)?;
            if !libc::WIFSTOPPED(status) {
                self.last_regs = None;
                return Err(PlatformError::ThreadGone(status));
            }
            state.regs = get_regs(tid)?;
            self.last_regs = Some(state.regs);
            // The thread ran: any FP copy the sentry holds is stale.
            state.fp_loaded = false;
            let sig = libc::WSTOPSIG(status);
            if sig == libc::SIGTRAP | 0x80 {
                return Ok(Event::Syscall);
            }
            let info = get_siginfo(tid)?;
            match sig {
                libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
                    if info.si_code > 0 =>
                {
                    // SAFETY: for these kernel-generated signals si_addr is the valid
                    // member of the union.
                    let addr = unsafe { info.si_addr() } as u64;
                    return Ok(Event::Fault {
                        addr,
                        access: Access::UNKNOWN,
                        signo: sig,
                        code: info.si_code,
                    });
                }
                INTERRUPT_SIGNAL => {
                    self.interrupter.pending.store(false, Ordering::SeqCst);
                    return Ok(Event::Interrupted);
                }
                // Any other signal reaching a stub (e.g. SIGSTOP or a signal sent from
                // outside the sandbox) is discarded; resume.
                _ => continue,
            }
        }
    }

    fn interrupter(&self) -> Arc<dyn Interrupt> {
        self.interrupter.clone()
    }

    fn load_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if state.fp_loaded {
            return Ok(());
        }
        let (_, tid) = self
            .bound
            .ok_or_else(|| PlatformError::Unsupported("ptrace: context never ran".into()))?;
        let mut buf = vec![0u8; 16384];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        ptrace(
            PTRACE_GETREGSET,
            tid,
            NT_X86_XSTATE as u64,
            &raw mut iov as u64,
            "PTRACE_GETREGSET",
        )?;
        buf.truncate(iov.iov_len);
        state.fp = buf;
        state.fp_loaded = true;
        Ok(())
    }

    fn store_fp(&mut self, state: &mut CpuState) -> Result<()> {
        let (_, tid) = self
            .bound
            .ok_or_else(|| PlatformError::Unsupported("ptrace: context never ran".into()))?;
        let mut iov = libc::iovec {
            iov_base: state.fp.as_mut_ptr().cast(),
            iov_len: state.fp.len(),
        };
        ptrace(
            PTRACE_SETREGSET,
            tid,
            NT_X86_XSTATE as u64,
            &raw mut iov as u64,
            "PTRACE_SETREGSET",
        )?;
        state.fp_loaded = true;
        Ok(())
    }
}

impl Drop for PtraceContext {
    fn drop(&mut self) {
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn tgkill(pid: i32, tid: i32, sig: i32) {
    // SAFETY: plain signal send; callers only name stubs they have not reaped.
    unsafe {
        libc::syscall(libc::SYS_tgkill, pid, tid, sig);
    }
}

fn ptrace(req: i64, pid: i32, addr: u64, data: u64, what: &'static str) -> Result<()> {
    // SAFETY: `pid` is a stopped tracee of this thread; addr/data are either plain
    // values or pointers to live buffers of the sizes the request needs.
    let r = unsafe { libc::syscall(libc::SYS_ptrace, req, pid, addr, data) };
    if r < 0 {
        Err(PlatformError::last_os(what))
    } else {
        Ok(())
    }
}

fn get_regs(pid: i32) -> Result<Regs> {
    let mut regs = Regs::default();
    ptrace(
        PTRACE_GETREGS,
        pid,
        0,
        &raw mut regs as u64,
        "PTRACE_GETREGS",
    )?;
    Ok(regs)
}

fn set_regs(pid: i32, regs: &Regs) -> Result<()> {
    ptrace(
        PTRACE_SETREGS,
        pid,
        0,
        regs as *const Regs as u64,
        "PTRACE_SETREGS",
    )
}

fn get_siginfo(pid: i32) -> Result<libc::siginfo_t> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    ptrace(
        PTRACE_GETSIGINFO,
        pid,
        0,
        &raw mut info as u64,
        "PTRACE_GETSIGINFO",
    )?;
    Ok(info)
}

fn wait(pid: i32) -> Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for a tracee of this thread.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r == pid {
            return Ok(status);
        }
        if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(PlatformError::last_os("waitpid on a stub"));
    }
}

const _: () = assert!(TASK_SIZE > MIN_USER_ADDR);
