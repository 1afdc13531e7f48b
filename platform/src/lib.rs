//! The platform contract of DESIGN.md §4: run application code until it does something the
//! sentry must handle. Owns `CpuState`, the `Platform`/`AddressSpace`/`Context` traits and
//! their implementations (`ptrace`, `seccomp`, `kvm`).
//!
//! # Threads
//!
//! An address space (a stub process) runs any number of application threads at once, each
//! in its own [`Context`], each context run by one sentry thread:
//!
//! - A context is *bound* to a stub thread by its first [`Context::switch`]. The sentry
//!   thread that binds it *owns* it from then on (on ptrace it is the stub thread's
//!   tracer): only that thread may `switch`, `load_fp` or `store_fp` it.
//! - The first context bound in an address space gets the stub's initial thread (on
//!   ptrace only if the binding thread is the one that created the address space; it
//!   traces that thread from the start). Every other context gets a thread made by
//!   [`AddressSpace::prepare_thread`]; binding fails if none is ready. A new thread starts
//!   with clean FP state.
//! - `map`, `unmap` and `prepare_thread` are run by a stub thread the calling sentry thread
//!   owns in that address space (stopped, since the caller is not inside its `switch`), or,
//!   before the initial thread is bound, by the initial thread when the caller is the
//!   address space's creator (the loader maps the first image then). Any other caller gets
//!   [`PlatformError::Unsupported`]. Calls from different sentry threads may run
//!   concurrently.
//! - `Context::interrupt` signals only that context's stub thread; no stub thread ever
//!   sees another context's events.
//! - Dropping a bound context ends its stub thread only (`exit`, not `exit_group`) and
//!   frees its resources for reuse once the host thread is gone. On ptrace this needs the
//!   owning sentry thread: a context dropped on another thread leaves its stub thread to
//!   be ended when the owner next calls into the platform or exits. Dropping the last
//!   reference to an address space kills its stub process; it is reaped as soon as no
//!   bound context refers to it (at once on seccomp). Contexts and address spaces may be
//!   dropped in any order.
//! - Stub processes are forked by one long-lived platform thread, so they do not die with
//!   the sentry thread that asked for them (only with the sentry).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod kvm;
pub mod ptrace;
pub mod confine;
pub mod seccomp;

/// The calling sentry thread is about to block (sleep in the sentry, not run the
/// application): the platform stops counting its stub as active when it places stubs
/// on CPUs (seccomp: `seccomp::place`).
pub fn thread_blocks() {
    seccomp::place::blocked();
}
mod stub;

/// General registers in the layout of the kernel's `struct user_regs_struct`, so the
/// ptrace platform can read and write them with one `PTRACE_GETREGS`/`SETREGS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

impl Regs {
    /// The syscall number and its six arguments, as the x86-64 syscall ABI passes them.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        (
            self.orig_rax,
            [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9],
        )
    }
}

/// The state of one application thread: general registers (with `fs_base`) and its
/// floating-point/XSAVE state.
///
/// The FP state of a thread lives inside its platform context while the thread runs there
/// (ptrace and seccomp keep it in the stub thread); `fp` holds a copy only when the sentry
/// has asked for one (signal frames, fork). `fp_loaded` says whether `fp` is that copy.
#[derive(Clone, Debug, Default)]
pub struct CpuState {
    pub regs: Regs,
    pub fp: Vec<u8>,
    pub fp_loaded: bool,
}

/// How a faulting access tried to use memory. The ptrace platform cannot tell (the
/// kernel's page-fault error code is not reported to a tracer), so it says `unknown`;
/// seccomp reads the error code from the signal frame for page faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Access {
    pub const UNKNOWN: Access = Access {
        read: false,
        write: false,
        exec: false,
    };
    pub fn is_unknown(&self) -> bool {
        !self.read && !self.write && !self.exec
    }
}

/// Why `Context::switch` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The thread executed `syscall`; number and arguments are in the registers
    /// (`orig_rax` holds the number), `rip` points after the instruction.
    Syscall,
    /// A synchronous exception: page fault, #GP, #UD, divide error, int3, …
    /// `signo`/`code` are what Linux would put in `siginfo_t`; `addr` is `si_addr`.
    Fault {
        addr: u64,
        access: Access,
        signo: i32,
        code: i32,
    },
    /// `Context::interrupt()` was called.
    Interrupted,
}

/// Memory protection of a mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Perms {
    pub const NONE: Perms = Perms {
        read: false,
        write: false,
        exec: false,
    };
    pub fn from_prot(prot: u64) -> Perms {
        Perms {
            read: prot & libc::PROT_READ as u64 != 0,
            write: prot & libc::PROT_WRITE as u64 != 0,
            exec: prot & libc::PROT_EXEC as u64 != 0,
        }
    }
    pub fn to_prot(self) -> i32 {
        (if self.read { libc::PROT_READ } else { 0 })
            | (if self.write { libc::PROT_WRITE } else { 0 })
            | (if self.exec { libc::PROT_EXEC } else { 0 })
    }
    /// Whether every permission in `other` is also in `self`.
    pub fn covers(self, other: Perms) -> bool {
        (self.read || !other.read) && (self.write || !other.write) && (self.exec || !other.exec)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("{what}: {err}")]
    Host {
        what: &'static str,
        err: std::io::Error,
    },
    #[error("the application thread is gone (exit status {0:#x})")]
    ThreadGone(i32),
    #[error("{0}")]
    Unsupported(String),
}

impl PlatformError {
    pub fn last_os(what: &'static str) -> Self {
        PlatformError::Host {
            what,
            err: std::io::Error::last_os_error(),
        }
    }

    /// The host errno behind a failed host call, if that is what it was.
    pub fn errno(&self) -> Option<i32> {
        match self {
            PlatformError::Host { err, .. } => err.raw_os_error(),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, PlatformError>;

/// An application address space. All application memory is pages of the sandbox's memory
/// file; an address space only records which file pages appear where.
///
/// Which sentry threads may call `map`, `unmap` and `prepare_thread` is in the crate
/// documentation (Threads): one that owns a bound context here (its stub thread does the
/// work), or the creator before the initial thread is bound.
pub trait AddressSpace: Send + Sync + Any {
    /// Maps `len` bytes of the memory file at `file_offset` to `addr` with `perms`,
    /// replacing whatever was mapped there. All arguments are page-aligned.
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()>;
    /// Removes any mapping in `[addr, addr+len)`.
    fn unmap(&self, addr: u64, len: u64) -> Result<()>;
    /// `map` for each `(addr, len, file_offset, perms)` in order, stopping at the first
    /// failure; a platform may do them all in one round trip.
    fn map_batch(&self, maps: &[(u64, u64, u64, Perms)]) -> Result<()> {
        for &(addr, len, off, perms) in maps {
            self.map(addr, len, off, perms)?;
        }
        Ok(())
    }
    /// Creates one more stub thread in this address space, ready for a new context's first
    /// `switch` to bind (from any sentry thread). Called while handling a syscall of an
    /// application thread here (e.g. `clone`), by the sentry thread that owns its context.
    /// Fails if the platform's limit of threads per address space is reached.
    fn prepare_thread(&self) -> Result<()>;
    fn as_any(&self) -> &dyn Any;
}

/// The execution of one application thread. Not shared between sentry threads: each task
/// owns one and calls `switch` from its own host thread.
pub trait Context: Send {
    /// Runs the thread whose state is `state` in `aspace` until an event. The first call
    /// binds the context to a stub thread of `aspace` (see the crate documentation); the
    /// calling sentry thread owns it from then on.
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event>;
    /// A handle other threads use to make a running or about-to-run `switch` return
    /// `Event::Interrupted` promptly.
    fn interrupter(&self) -> Arc<dyn Interrupt>;
    /// Loads the thread's FP/XSAVE state into `state.fp` (if not loaded yet).
    fn load_fp(&mut self, state: &mut CpuState) -> Result<()>;
    /// Makes `state.fp` (an XSAVE image as `load_fp` gives, of the same size) the thread's
    /// FP state for its next run. The caller has validated the image (signal return). On
    /// a context that has not run yet it is the state the thread starts with (a forked
    /// child's or new thread's copy of its creator's), applied when it binds.
    fn store_fp(&mut self, state: &mut CpuState) -> Result<()>;
    /// CPU time the thread has used so far, in nanoseconds, if the platform can tell
    /// (for the sentry's CPU clocks, itimers and rusage). Called from the sentry thread
    /// that runs the context.
    fn cpu_time_ns(&self) -> Option<u64> {
        None
    }
    /// Whether the last `Syscall` event came through a trap that patching its site would
    /// avoid (seccomp with patching on, not already through a patched site).
    fn syscall_trapped(&self) -> bool {
        false
    }
}

pub trait Interrupt: Send + Sync {
    fn interrupt(&self);
}

/// A way of running application code (DESIGN.md §4).
pub trait Platform: Send + Sync {
    fn name(&self) -> &'static str;
    /// A new, empty address space backed by `memfd` (the sandbox's memory file). Callable
    /// from any sentry thread, which becomes its creator (see the crate documentation).
    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>>;
    fn new_context(&self) -> Result<Box<dyn Context>>;
    /// Application mappings must lie in `[min_user_addr, max_user_addr)`.
    fn min_user_addr(&self) -> u64;
    fn max_user_addr(&self) -> u64;
    /// Syscall-site patching: the code of a trampoline for one patched site, which runs
    /// `setup` (the site's instruction before its `syscall`, which leaves the syscall
    /// number in `%eax`), enters the platform as that syscall would, and returns to
    /// `ret`; or `None` if the platform does not patch. The sentry places it in the
    /// application's memory below 2 GiB and rewrites the site to jump to it.
    fn syscall_trampoline(&self, _setup: &[u8], _ret: u64) -> Option<Vec<u8>> {
        None
    }
}

/// Options of a platform instance.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// seccomp: patch `mov $nr,%eax; syscall` sites to enter the stub without a signal.
    pub seccomp_patch: bool,
}

/// The platforms this build knows, by `--platform` name.
pub const PLATFORM_NAMES: &[&str] = &["ptrace", "seccomp", "kvm"];

/// Creates the named platform for a sandbox whose memory file is `memfd` (which stays
/// open for the sandbox's lifetime).
pub fn new_platform(name: &str, memfd: i32, opts: Options) -> Result<Arc<dyn Platform>> {
    match name {
        "ptrace" => ptrace::new_platform(memfd),
        "seccomp" => seccomp::new_platform(memfd, opts.seccomp_patch),
        "kvm" => kvm::new_platform(memfd),
        other => Err(PlatformError::Unsupported(format!(
            "unknown platform {other:?} (known: {})",
            PLATFORM_NAMES.join(", ")
        ))),
    }
}

/// A process-wide unique identity for a stub process (pids can be reused, these are not).
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The calling host thread's id (cached: it is checked on every ptrace switch).
pub(crate) fn gettid() -> i32 {
    thread_local! {
        static TID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    }
    let raw = || {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    };
    TID.try_with(|tid| {
        if tid.get() == 0 {
            tid.set(raw());
        }
        tid.get()
    })
    .unwrap_or_else(|_| raw())
}

/// A raw syscall result as `Ok(value)` or the host error it encodes.
pub(crate) fn check_raw(what: &'static str, r: i64) -> Result<i64> {
    if r < 0 && r > -4096 {
        return Err(PlatformError::Host {
            what,
            err: std::io::Error::from_raw_os_error(-r as i32),
        });
    }
    Ok(r)
}

/// Flags of the `clone` that makes a stub thread: a thread of the stub process.
pub(crate) const THREAD_CLONE_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM) as u64;

/// Overwrites an FXSAVE/XSAVE image (as `PTRACE_GETREGSET NT_X86_XSTATE` or
/// `PTRACE_GETFPREGS` gives it) with the state a new thread starts with: x87 and SSE
/// registers zero, FCW 0x37f, MXCSR 0x1f80, every other XSAVE component in its initial
/// state. The software-reserved bytes and MXCSR_MASK are kept.
pub(crate) fn clean_fp_image(img: &mut [u8]) {
    const SW_BYTES: usize = 464;
    const XSAVE_HEADER: usize = 512;
    if img.len() < XSAVE_HEADER {
        return;
    }
    let mask = [img[28], img[29], img[30], img[31]];
    img[..SW_BYTES].fill(0);
    img[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
    img[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
    img[28..32].copy_from_slice(&mask);
    if img.len() >= XSAVE_HEADER + 64 {
        // XSTATE_BV: x87 and SSE come from the legacy area above; the rest is initial.
        img[XSAVE_HEADER..XSAVE_HEADER + 64].fill(0);
        img[XSAVE_HEADER..XSAVE_HEADER + 8].copy_from_slice(&3u64.to_le_bytes());
    }
}
