//! The stub: a tiny position-independent routine (raw syscalls, no stack, no libc) that
//! becomes the whole address space of a stub process. It is copied once into a fixed
//! region of the sentry; stub processes are forks of the sentry that jump into it, unmap
//! everything else and stop, leaving an empty address space below the stub region.
//!
//! Stub processes are forked by one long-lived thread of the platform (`on_spawner`):
//! a child's `PR_SET_PDEATHSIG` fires when the *thread* that forked it exits, and a stub
//! must outlive the sentry thread that asked for it (other threads may run in it).

use crate::{PlatformError, Result};
use std::arch::global_asm;
use std::sync::{Mutex, mpsc};

// Entry: rdi = end of the low region to unmap (the stub region's start),
//        rsi = start of the high region to unmap (the stub region's end),
//        rdx = length of the high region.
// After unmapping it stops itself with SIGSTOP (so its parent knows it is ready), then
// parks in `runsc_stub_park` (a `pause` loop) until a sentry thread seizes it. Stub
// threads made later park there too. Injected syscalls run at `runsc_stub_syscall`:
// `syscall` then `int3` hands control back; `runsc_stub_clone` is the same for `clone`,
// whose child goes to the park loop.
global_asm!(
    ".pushsection .text.runsc_stub, \"ax\"",
    ".globl runsc_stub_begin",
    ".globl runsc_stub_syscall",
    ".globl runsc_stub_syscall_trap",
    ".globl runsc_stub_clone",
    ".globl runsc_stub_clone_trap",
    ".globl runsc_stub_end",
    ".p2align 12",
    "runsc_stub_begin:",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov rsi, rdi",
    "xor edi, edi",
    "mov eax, 11", // munmap(0, stub_start)
    "syscall",
    "mov rdi, r12",
    "mov rsi, r13",
    "mov eax, 11", // munmap(stub_end, top - stub_end)
    "syscall",
    "mov eax, 39", // getpid()
    "syscall",
    "mov rdi, rax",
    "mov esi, 19", // kill(pid, SIGSTOP)
    "mov eax, 62",
    "syscall",
    "runsc_stub_park:",
    "mov eax, 34", // pause()
    "syscall",
    "jmp runsc_stub_park",
    "runsc_stub_syscall:",
    "syscall",
    "int3",
    "runsc_stub_syscall_trap:",
    "jmp runsc_stub_park",
    "runsc_stub_clone:",
    "syscall",
    "test rax, rax",
    "jz runsc_stub_park",
    "int3",
    "runsc_stub_clone_trap:",
    "jmp runsc_stub_park",
    "runsc_stub_end:",
    ".popsection",
);

unsafe extern "C" {
    // glibc's rseq registration of the calling thread (glibc ≥ 2.35).
    static __rseq_offset: isize;
    static __rseq_size: u32;
    static runsc_stub_begin: u8;
    static runsc_stub_syscall: u8;
    static runsc_stub_syscall_trap: u8;
    static runsc_stub_clone: u8;
    static runsc_stub_clone_trap: u8;
    static runsc_stub_end: u8;
}

/// Size of the stub region (its code page; later platforms add shared pages).
pub const STUB_REGION_SIZE: u64 = 0x10000;
/// The top of the x86-64 user address space (47-bit, last page excluded as Linux does).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The stub code copied into a region of this process.
#[derive(Clone, Copy, Debug)]
pub struct StubRegion {
    pub start: u64,
    pub end: u64,
    /// Address of the `syscall; int3` pair used for injected syscalls, and where the
    /// thread stops after its `int3`.
    pub syscall_addr: u64,
    pub syscall_trap: u64,
    /// The same for an injected `clone`, whose child parks.
    pub clone_addr: u64,
    pub clone_trap: u64,
    /// Address of the entry routine.
    pub entry: u64,
}

impl StubRegion {
    /// Maps the stub region somewhere high in this process and copies the stub code there.
    pub fn install() -> Result<StubRegion> {
        // Taking the addresses of the symbols defined by the global_asm! above.
        let (begin, end) = (
            &raw const runsc_stub_begin as u64,
            &raw const runsc_stub_end as u64,
        );
        let syms = [
            &raw const runsc_stub_syscall as u64,
            &raw const runsc_stub_syscall_trap as u64,
            &raw const runsc_stub_clone as u64,
            &raw const runsc_stub_clone_trap as u64,
        ];
        let code_len = (end - begin) as usize;
        if code_len as u64 > STUB_REGION_SIZE {
            return Err(PlatformError::Unsupported(
                "ptrace: the stub code is larger than its region".into(),
            ));
        }
        // SAFETY: a fresh anonymous mapping chosen by the kernel; no existing memory is
        // affected.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STUB_REGION_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(PlatformError::last_os("mmap of the stub region"));
        }
        // SAFETY: `addr` is a fresh writable mapping of STUB_REGION_SIZE ≥ code_len bytes;
        // the source is the stub's code in our text segment.
        unsafe {
            std::ptr::copy_nonoverlapping(begin as *const u8, addr as *mut u8, code_len);
            if libc::mprotect(
                addr,
                STUB_REGION_SIZE as usize,
                libc::PROT_READ | libc::PROT_EXEC,
            ) != 0
            {
                return Err(PlatformError::last_os("mprotect of the stub region"));
            }
        }
        let start = addr as u64;
        let at = |sym: u64| start + (sym - begin);
        Ok(StubRegion {
            start,
            end: start + STUB_REGION_SIZE,
            syscall_addr: at(syms[0]),
            syscall_trap: at(syms[1]),
            clone_addr: at(syms[2]),
            clone_trap: at(syms[3]),
            entry: start,
        })
    }

    /// Forks a stub process (on the spawner thread) and returns its pid once it has
    /// unmapped everything outside the stub and is on its way to the park loop, untraced.
    /// `keep_fd` (the memory file) is the only file descriptor left open in it.
    pub fn spawn(&self, keep_fd: i32) -> Result<i32> {
        let region = *self;
        on_spawner(move || region.spawn_here(keep_fd))?
    }

    fn spawn_here(&self, keep_fd: i32) -> Result<i32> {
        let fork = ForkSetup::capture();
        // SAFETY: the child only runs `self.child`, which makes raw syscalls and jumps
        // into the stub, never returning to Rust code (see `raw_fork`).
        let pid = unsafe { raw_fork()? };
        if pid == 0 {
            // SAFETY: child side, see above. Every call is a raw syscall; on any failure
            // the child exits at once with a status the parent reports.
            unsafe { self.child(&fork, keep_fd) }
        }
        let mut status = 0;
        let r = loop {
            // SAFETY: waiting for our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED | libc::__WALL) };
            if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break r;
        };
        if r != pid {
            let e = PlatformError::last_os("waitpid for a new stub");
            kill_and_reap(pid);
            return Err(e);
        }
        if !(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGSTOP) {
            if libc::WIFSTOPPED(status) {
                kill_and_reap(pid);
            }
            return Err(PlatformError::ThreadGone(status));
        }
        // Out of its stop and into the park loop, where a sentry thread seizes it.
        // SAFETY: `pid` is our stopped, unreaped child.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        Ok(pid)
    }

    /// # Safety
    /// Must only be called in the child of `raw_fork`.
    unsafe fn child(&self, fork: &ForkSetup, keep_fd: i32) -> ! {
        // SAFETY: raw syscalls only (the caller guarantees we are the fork's child), then
        // a jump into the stub, which never returns to Rust code.
        unsafe {
            child_prologue(fork, keep_fd);
            // No blocked signals: the tracer must see every signal sent to interrupt us.
            let empty: u64 = 0;
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &empty,
                0usize,
                8usize,
            );
            std::arch::asm!(
                "jmp {entry}",
                entry = in(reg) self.entry,
                in("rdi") self.start,
                in("rsi") self.end,
                in("rdx") TASK_SIZE - self.end,
                options(noreturn)
            );
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The channel to the thread that forks every stub process.
static SPAWNER: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Runs `f` on the platform's spawner thread (started on first use; it lives as long as
/// the sentry) and returns its result.
pub fn on_spawner<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    let tx = {
        let mut guard = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(tx) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::channel::<Job>();
                std::thread::Builder::new()
                    .name("runsc-stubs".into())
                    .spawn(move || {
                        for job in rx {
                            job();
                        }
                    })
                    .map_err(|err| PlatformError::Host {
                        what: "starting the stub-forking thread",
                        err,
                    })?;
                *guard = Some(tx.clone());
                tx
            }
        }
    };
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    let gone = || PlatformError::Unsupported("the stub-forking thread is gone".into());
    tx.send(Box::new(move || {
        let _ = reply_tx.send(f());
    }))
    .map_err(|_| gone())?;
    reply_rx.recv().map_err(|_| gone())
}

/// What the child of a stub fork needs from the parent, captured before the fork so the
/// child allocates and computes nothing.
pub struct ForkSetup {
    parent: i32,
    rseq_area: u64,
    rseq_size: u32,
}

impl ForkSetup {
    pub fn capture() -> ForkSetup {
        // The fork inherits this thread's rseq registration; once the stub has unmapped
        // the area, the kernel's rseq update on return to user mode would fault. The child
        // unregisters it first, with the area's address taken here.
        let tp: u64;
        // SAFETY: reads the thread pointer (TCB self-pointer at %fs:0 on x86-64 glibc).
        unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly)) };
        // SAFETY: plain reads of glibc's exported, immutable rseq description.
        let (rseq_area, rseq_size) =
            unsafe { (tp.wrapping_add(__rseq_offset as u64), __rseq_size) };
        ForkSetup {
            parent: std::process::id() as i32,
            rseq_area,
            rseq_size,
        }
    }
}

/// A raw fork (clone with SIGCHLD, no shared VM): the child's pid in the parent, 0 in the
/// child.
///
/// # Safety
/// The child must only make raw syscalls (async-signal-safe) and then jump into a stub,
/// never returning to Rust code, so no lock or allocator state of the parent is touched.
pub unsafe fn raw_fork() -> Result<i32> {
    // SAFETY: the caller upholds the child's restrictions.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::SIGCHLD as u64,
            0u64,
            0u64,
            0u64,
            0u64,
        )
    };
    if pid < 0 {
        return Err(PlatformError::last_os("clone of a stub process"));
    }
    Ok(pid as i32)
}

/// The child's common setup: unregisters rseq, dies with its parent thread, names itself
/// and closes every file descriptor except `keep_fd` (the memory file).
///
/// # Safety
/// Must only be called in the child of `raw_fork`.
pub unsafe fn child_prologue(fork: &ForkSetup, keep_fd: i32) {
    // SAFETY: raw syscalls only; on failure the child exits at once.
    unsafe {
        const RSEQ_FLAG_UNREGISTER: u64 = 1;
        const RSEQ_SIG: u64 = 0x5305_3053;
        for len in [fork.rseq_size, 32] {
            if len != 0
                && libc::syscall(
                    libc::SYS_rseq,
                    fork.rseq_area,
                    len,
                    RSEQ_FLAG_UNREGISTER,
                    RSEQ_SIG,
                ) == 0
            {
                break;
            }
        }
        libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::syscall(libc::SYS_getppid) as i32 != fork.parent {
            libc::syscall(libc::SYS_exit_group, 111);
        }
        let name = b"runsc-stub\0";
        libc::syscall(libc::SYS_prctl, libc::PR_SET_NAME, name.as_ptr());
        // Only the memory file stays open.
        if keep_fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (keep_fd - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (keep_fd + 1) as u32, u32::MAX, 0u32);
    }
}

/// Kills a stub process and reaps it.
pub fn kill_and_reap(pid: i32) {
    let mut status = 0;
    // SAFETY: `pid` is a child of this process that we have not reaped yet, so it cannot
    // have been reused.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, libc::__WALL);
    }
}
