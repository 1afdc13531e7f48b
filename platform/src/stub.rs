//! The stub: a tiny position-independent routine (raw syscalls, no stack, no libc) that
//! becomes the whole address space of a stub process. It is copied once into a fixed
//! region of the sentry; stub processes are forks of the sentry that jump into it, unmap
//! everything else and stop, leaving an empty address space below the stub region.

use crate::{PlatformError, Result};
use std::arch::global_asm;

// Entry: rdi = end of the low region to unmap (the stub region's start),
//        rsi = start of the high region to unmap (the stub region's end),
//        rdx = length of the high region.
// After unmapping it stops itself with SIGSTOP and then sits at `runsc_stub_syscall`,
// where the tracer injects syscalls: `syscall` then `int3` hands control back.
global_asm!(
    ".pushsection .text.runsc_stub, \"ax\"",
    ".globl runsc_stub_begin",
    ".globl runsc_stub_syscall",
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
    "runsc_stub_syscall:",
    "syscall",
    "int3",
    "jmp runsc_stub_syscall",
    "runsc_stub_end:",
    ".popsection",
);

unsafe extern "C" {
    // glibc's rseq registration of the calling thread (glibc ≥ 2.35).
    static __rseq_offset: isize;
    static __rseq_size: u32;
    static runsc_stub_begin: u8;
    static runsc_stub_syscall: u8;
    static runsc_stub_end: u8;
}

/// Size of the stub region (its code page; later platforms add shared pages).
pub const STUB_REGION_SIZE: u64 = 0x10000;
/// The top of the x86-64 user address space (47-bit, last page excluded as Linux does).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The stub code copied into a region of this process.
pub struct StubRegion {
    pub start: u64,
    pub end: u64,
    /// Address of the `syscall; int3` pair used for injected syscalls.
    pub syscall_addr: u64,
    /// Address of the entry routine.
    pub entry: u64,
}

impl StubRegion {
    /// Maps the stub region somewhere high in this process and copies the stub code there.
    pub fn install() -> Result<StubRegion> {
        // Taking the addresses of the symbols defined by the global_asm! above.
        let (begin, sys, end) = (
            &raw const runsc_stub_begin as u64,
            &raw const runsc_stub_syscall as u64,
            &raw const runsc_stub_end as u64,
        );
        let code_len = (end - begin) as usize;
        assert!(code_len as u64 <= STUB_REGION_SIZE);
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
        Ok(StubRegion {
            start,
            end: start + STUB_REGION_SIZE,
            syscall_addr: start + (sys - begin),
            entry: start,
        })
    }

    /// Forks a stub process traced by the calling thread. Returns its pid once it has
    /// stopped in the stub with an empty address space. `keep_fd` (the memory file) is
    /// the only file descriptor left open in it.
    pub fn spawn_traced(&self, keep_fd: i32) -> Result<i32> {
        let fork = ForkSetup::capture();
        // SAFETY: the child only runs `self.child`, which makes raw syscalls and jumps
        // into the stub, never returning to Rust code (see `raw_fork`).
        let pid = unsafe { raw_fork()? };
        if pid == 0 {
            // SAFETY: child side, see above. Every call is a raw syscall; on any failure
            // the child exits at once with a status the tracer reports.
            unsafe { self.child(&fork, keep_fd) }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        if r != pid {
            return Err(PlatformError::last_os("waitpid for a new stub"));
        }
        if !(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGSTOP) {
            return Err(PlatformError::ThreadGone(status));
        }
        let opts = libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACESYSGOOD;
        // SAFETY: the child is our tracee, stopped.
        if unsafe { libc::syscall(libc::SYS_ptrace, libc::PTRACE_SETOPTIONS, pid, 0, opts) } != 0 {
            let e = PlatformError::last_os("PTRACE_SETOPTIONS on a stub");
            kill_and_reap(pid);
            return Err(e);
        }
        Ok(pid)
    }

    /// # Safety
    /// Must only be called in the child of `raw_fork`.
    unsafe fn child(&self, fork: &ForkSetup, keep_fd: i32) -> ! {
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
            if libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                libc::syscall(libc::SYS_exit_group, 112);
            }
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
