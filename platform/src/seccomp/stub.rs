//! The seccomp stub: its position-independent code (signal handlers, the hand-off loop,
//! the request executor), the stub region it lives in, and the fork that makes a stub
//! process out of the sentry.
//!
//! Region layout (aligned to `AREA_SIZE`, above every application address):
//! `[start, start+AREA_SIZE)` the code, read-only and executable; then one area per
//! stub thread (`shared::AREA_SIZE` each), the stub's mapping of its shared memfd.

use super::filter;
use super::shared::{self, AREA_SIZE, MAX_STUB_SPIN, MAX_THREADS};
use crate::stub::{Factory, ForkSetup, TASK_SIZE, child_prologue, move_fd, raw_fork};
use crate::{PlatformError, Result};
use std::arch::global_asm;
use std::sync::Arc;

const SYS_MUNMAP: u64 = 11;
const SYS_RT_SIGPROCMASK: u64 = 14;
const SYS_RT_SIGRETURN: u64 = 15;
const SYS_CLONE: u64 = 56;
const SYS_FUTEX: u64 = 202;
const SYS_SCHED_YIELD: u64 = 24;
const SYS_EXIT_GROUP: u64 = 231;
const SIG_UNBLOCK: u64 = 1;
const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;

// Entry (rdi = region start, rsi = region end, rdx = length above the region): unmap
// everything outside the region, then `int3`: the SIGTRAP handler hands the thread to the
// sentry, which sets the application's registers in that first frame.
//
// Handler (rdi = signo, rsi = siginfo, rdx = ucontext, on the alternate stack, all
// signals blocked): finds its area by rounding rsp down, stores the two frame pointers,
// sets the state word to EVENT (waking the sentry if it sleeps), then waits: it spins
// for the budget in the control page, then sleeps in FUTEX_WAIT on the state word. Either
// way out of the wait it first makes the mappings the sentry queued (OFF_PENDING). On
// REQUEST it runs the syscall of the request slot and answers DONE; on RESUME it
// returns to the restorer, whose rt_sigreturn loads the (edited) frame.
//
// A `clone` request makes a new stub thread whose stack is the top of its own area. The
// child (born in the handler, every signal blocked, no alternate stack) unblocks all
// signals and hands off through its own area with `int3`, like thread 0 at its start;
// the sentry gives it its alternate stack in that first frame (`uc_stack`, which
// rt_sigreturn installs).
global_asm!(
    ".pushsection .text.runsc_seccomp_stub, \"ax\"",
    ".globl runsc_seccomp_begin",
    ".globl runsc_seccomp_handler",
    ".globl runsc_seccomp_restorer",
    ".globl runsc_seccomp_end",
    ".p2align 12",
    "runsc_seccomp_begin:",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov rsi, rdi",
    "xor edi, edi",
    "mov eax, {sys_munmap}",
    "syscall",
    "mov rdi, r12",
    "mov rsi, r13",
    "mov eax, {sys_munmap}",
    "syscall",
    "int3",
    "mov edi, 114",
    "mov eax, {sys_exit_group}",
    "syscall",
    "ud2",
    ".p2align 4",
    "runsc_seccomp_handler:",
    "mov r12, rsp",
    "and r12, {area_mask}",
    // A signal inside the fast path: a fault there (si_code > 0) is reported as it is
    // (the sentry ends the application); an asynchronous one before the registers are
    // being restored is noted (an interrupt) and dropped; one while they are being
    // restored makes the frame the application's, as if it came a moment later.
    // (The wait loop and the request code count as the fast path: signals are blocked
    // there when it serves the handler.)
    "mov rax, [rdx + {uc_rip}]",
    "lea r13, [rip + runsc_seccomp_handler]",
    "cmp rax, r13",
    "jb 30f",
    "lea r13, [rip + runsc_seccomp_fast_end]",
    "cmp rax, r13",
    "jae 30f",
    "cmp dword ptr [rsi + 8], 0",
    "jg 30f",
    "lea r13, [rip + runsc_seccomp_fast_exit]",
    "cmp rax, r13",
    "jae 31f",
    "cmp edi, {intr_sig}",
    "jne 32f",
    "mov dword ptr [r12 + {off_intr}], 1",
    "32:",
    "ret",
    "31:",
    "xor r13d, r13d",
    "33:",
    "mov rax, [r12 + r13 * 8 + {off_fregs}]",
    "mov [rdx + r13 * 8 + {uc_mc}], rax",
    "add r13d, 1",
    "cmp r13d, {fast_regs}",
    "jb 33b",
    "30:",
    "mov [r12 + {off_info}], rsi",
    "mov [r12 + {off_uctx}], rdx",
    "mov eax, {state_event}",
    "xchg [r12 + {off_state}], eax",
    "cmp dword ptr [r12 + {off_sentry_waiting}], 0",
    "je 2f",
    "lea rdi, [r12 + {off_state}]",
    "mov esi, {futex_wake}",
    "mov edx, 1",
    "mov eax, {sys_futex}",
    "syscall",
    // Wait for RESUME or REQUEST.
    "runsc_seccomp_wait:",
    "2:",
    "mov r13d, dword ptr [r12 + {off_stub_spin}]",
    "cmp r13d, {max_spin}",
    "jbe 3f",
    "mov r13d, {max_spin}",
    "3:",
    "mov eax, dword ptr [r12 + {off_state}]",
    "cmp eax, {state_resume}",
    "je 5f",
    "cmp eax, {state_request}",
    "je 6f",
    "pause",
    "sub r13d, 1",
    "jae 3b",
    // Spin budget spent: yield the CPU a few times (to the sentry thread, when it shares
    // this CPU), checking between yields.
    "mov r14d, dword ptr [r12 + {off_stub_yields}]",
    "cmp r14d, {max_yields}",
    "jbe 12f",
    "mov r14d, {max_yields}",
    "12:",
    "test r14d, r14d",
    "jz 13f",
    "mov eax, {sys_sched_yield}",
    "syscall",
    "mov eax, dword ptr [r12 + {off_state}]",
    "cmp eax, {state_resume}",
    "je 5f",
    "cmp eax, {state_request}",
    "je 6f",
    "sub r14d, 1",
    "jmp 12b",
    "13:",
    // Spin budget spent: announce the sleep, re-check, sleep on the state word.
    "mov eax, 1",
    "xchg dword ptr [r12 + {off_stub_waiting}], eax",
    "mov edx, dword ptr [r12 + {off_state}]",
    "cmp edx, {state_resume}",
    "je 4f",
    "cmp edx, {state_request}",
    "je 4f",
    "lea rdi, [r12 + {off_state}]",
    "mov esi, {futex_wait}",
    "xor r10d, r10d",
    "mov eax, {sys_futex}",
    "syscall",
    "4:",
    "mov dword ptr [r12 + {off_stub_waiting}], 0",
    "xor r13d, r13d",
    "jmp 3b",
    // RESUME: make the pending mappings, return into the restorer.
    "5:",
    "call 50f",
    "ret",
    // REQUEST: make the pending mappings, run it, answer DONE.
    "6:",
    "call 50f",
    "mov rax, [r12 + {off_req_nr}]",
    "mov rdi, [r12 + {off_req_args}]",
    "mov rsi, [r12 + {off_req_args} + 8]",
    "mov rdx, [r12 + {off_req_args} + 16]",
    "mov r10, [r12 + {off_req_args} + 24]",
    "mov r8, [r12 + {off_req_args} + 32]",
    "mov r9, [r12 + {off_req_args} + 40]",
    "cmp rax, {sys_clone}",
    "je 8f",
    "cmp rax, {req_xsave}",
    "je 9f",
    "cmp rax, {req_map_batch}",
    "je 10f",
    "syscall",
    "7:",
    "mov [r12 + {off_req_result}], rax",
    "mov eax, {state_done}",
    "xchg [r12 + {off_state}], eax",
    "cmp dword ptr [r12 + {off_sentry_waiting}], 0",
    "je 2b",
    "lea rdi, [r12 + {off_state}]",
    "mov esi, {futex_wake}",
    "mov edx, 1",
    "mov eax, {sys_futex}",
    "syscall",
    "jmp 2b",
    // clone: the parent answers as for any request; the child starts here.
    "8:",
    "syscall",
    "test rax, rax",
    "jnz 7b",
    "push -1",
    "mov edi, {sig_unblock}",
    "mov rsi, rsp",
    "xor edx, edx",
    "mov r10d, 8",
    "mov eax, {sys_rt_sigprocmask}",
    "syscall",
    "int3",
    "ud2",
    // XSAVE request (fast path): the thread's live FP state into the FP buffer.
    "9:",
    "mov eax, -1",
    "mov edx, -1",
    "xsave64 [r12 + {fpbuf}]",
    "xor eax, eax",
    "jmp 7b",
    // Map batch: the pending mappings are made (above); nothing else to do.
    "10:",
    "xor eax, eax",
    "jmp 7b",
    // The pending mappings (r12 = the area): the count is zeroed first, the entries are
    // mapped in order, the first failure is left at OFF_PENDING_ERR. Clobbers rax, rcx,
    // rdx, rsi, rdi, r8-r11, r13-r15.
    "50:",
    "mov r14d, dword ptr [r12 + {off_pending}]",
    "test r14d, r14d",
    "jz 53f",
    "mov dword ptr [r12 + {off_pending}], 0",
    "mov r8d, dword ptr [r12 + {off_pending_fd}]",
    "mov rax, -22",
    "cmp r14, {max_batch}",
    "ja 52f",
    "xor r13d, r13d",
    "51:",
    "cmp r13, r14",
    "jae 53f",
    "mov r15, r13",
    "shl r15, 5",
    "add r15, r12",
    "mov rdi, [r15 + {off_batch}]",
    "mov rsi, [r15 + {off_batch} + 8]",
    // Below the stub region (which starts with this code), or refused.
    "mov rax, -22",
    "mov rdx, rdi",
    "add rdx, rsi",
    "jc 52f",
    "lea r9, [rip + runsc_seccomp_begin]",
    "cmp rdx, r9",
    "ja 52f",
    "mov rdx, [r15 + {off_batch} + 16]",
    "mov r10d, {map_shared_fixed}",
    "mov r9, [r15 + {off_batch} + 24]",
    "mov eax, {sys_mmap}",
    "syscall",
    "cmp rax, -4095",
    "jae 52f",
    "add r13, 1",
    "jmp 51b",
    "52:",
    "mov [r12 + {off_pending_err}], rax",
    "53:",
    "ret",
    // The fast path, entered from a patched syscall site's trampoline with the syscall
    // number in eax and the return address in rcx (as `syscall` would leave it); every
    // other register is the application's, gs is this thread's area. The registers go
    // to the area, the thread hands off as from the handler and waits in the same loop
    // (requests included); RESUME returns to `runsc_seccomp_fast_resume`.
    ".p2align 4",
    "runsc_seccomp_fast:",
    // Nothing before the pushfq may change the flags (lea, not add).
    "mov gs:[{off_fregs} + 15 * 8], rsp",
    "mov rsp, gs:[{off_self}]",
    "lea rsp, [rsp + {area_size}]",
    "pushfq",
    "pop qword ptr gs:[{off_fregs} + 17 * 8]",
    "mov gs:[{off_fregs} + 0 * 8], r8",
    "mov gs:[{off_fregs} + 1 * 8], r9",
    "mov gs:[{off_fregs} + 2 * 8], r10",
    "mov gs:[{off_fregs} + 4 * 8], r12",
    "mov gs:[{off_fregs} + 5 * 8], r13",
    "mov gs:[{off_fregs} + 6 * 8], r14",
    "mov gs:[{off_fregs} + 7 * 8], r15",
    "mov gs:[{off_fregs} + 8 * 8], rdi",
    "mov gs:[{off_fregs} + 9 * 8], rsi",
    "mov gs:[{off_fregs} + 10 * 8], rbp",
    "mov gs:[{off_fregs} + 11 * 8], rbx",
    "mov gs:[{off_fregs} + 12 * 8], rdx",
    "mov gs:[{off_fregs} + 13 * 8], rax",
    "mov gs:[{off_fregs} + 14 * 8], rcx",
    "mov gs:[{off_fregs} + 16 * 8], rcx",
    // r11 holds rflags after a syscall.
    "mov r11, gs:[{off_fregs} + 17 * 8]",
    "mov gs:[{off_fregs} + 3 * 8], r11",
    "mov r12, gs:[{off_self}]",
    "mov dword ptr [r12 + {off_kind}], {fast_syscall}",
    "40:",
    "mov eax, {state_fast}",
    "xchg [r12 + {off_state}], eax",
    "cmp dword ptr [r12 + {off_sentry_waiting}], 0",
    "je 41f",
    "lea rdi, [r12 + {off_state}]",
    "mov esi, {futex_wake}",
    "mov edx, 1",
    "mov eax, {sys_futex}",
    "syscall",
    "41:",
    "lea rax, [rip + runsc_seccomp_fast_resume]",
    "push rax",
    "jmp runsc_seccomp_wait",
    "runsc_seccomp_fast_resume:",
    "cmp dword ptr [r12 + {off_fp_dirty}], 0",
    "je 42f",
    "mov dword ptr [r12 + {off_fp_dirty}], 0",
    "mov eax, -1",
    "mov edx, -1",
    "xrstor64 [r12 + {fpbuf}]",
    "42:",
    "cmp dword ptr [r12 + {off_intr}], 0",
    "je runsc_seccomp_fast_exit",
    "mov dword ptr [r12 + {off_intr}], 0",
    "mov dword ptr [r12 + {off_kind}], {fast_interrupt}",
    "jmp 40b",
    // From here on only the saved registers are loaded: a signal here makes its frame
    // the application's (see the handler).
    "runsc_seccomp_fast_exit:",
    "mov r8, gs:[{off_fregs} + 0 * 8]",
    "mov r9, gs:[{off_fregs} + 1 * 8]",
    "mov r10, gs:[{off_fregs} + 2 * 8]",
    "mov r11, gs:[{off_fregs} + 3 * 8]",
    "mov r12, gs:[{off_fregs} + 4 * 8]",
    "mov r13, gs:[{off_fregs} + 5 * 8]",
    "mov r14, gs:[{off_fregs} + 6 * 8]",
    "mov r15, gs:[{off_fregs} + 7 * 8]",
    "mov rdi, gs:[{off_fregs} + 8 * 8]",
    "mov rsi, gs:[{off_fregs} + 9 * 8]",
    "mov rbp, gs:[{off_fregs} + 10 * 8]",
    "mov rbx, gs:[{off_fregs} + 11 * 8]",
    "mov rdx, gs:[{off_fregs} + 12 * 8]",
    "mov rax, gs:[{off_fregs} + 13 * 8]",
    "mov rcx, gs:[{off_fregs} + 14 * 8]",
    "push qword ptr gs:[{off_fregs} + 17 * 8]",
    "popfq",
    "mov rsp, gs:[{off_fregs} + 15 * 8]",
    "jmp qword ptr gs:[{off_fregs} + 16 * 8]",
    "runsc_seccomp_fast_end:",
    ".p2align 4",
    "runsc_seccomp_restorer:",
    "mov eax, {sys_rt_sigreturn}",
    "syscall",
    "ud2",
    "runsc_seccomp_end:",
    ".popsection",
    sys_munmap = const SYS_MUNMAP,
    sys_clone = const SYS_CLONE,
    sys_rt_sigprocmask = const SYS_RT_SIGPROCMASK,
    sig_unblock = const SIG_UNBLOCK,
    sys_exit_group = const SYS_EXIT_GROUP,
    sys_futex = const SYS_FUTEX,
    sys_sched_yield = const SYS_SCHED_YIELD,
    off_stub_yields = const shared::OFF_STUB_YIELDS,
    max_yields = const shared::MAX_STUB_YIELDS,
    sys_rt_sigreturn = const SYS_RT_SIGRETURN,
    futex_wait = const FUTEX_WAIT,
    futex_wake = const FUTEX_WAKE,
    area_mask = const -(AREA_SIZE as i64),
    max_spin = const MAX_STUB_SPIN,
    off_state = const shared::OFF_STATE,
    off_stub_waiting = const shared::OFF_STUB_WAITING,
    off_sentry_waiting = const shared::OFF_SENTRY_WAITING,
    off_stub_spin = const shared::OFF_STUB_SPIN,
    off_info = const shared::OFF_INFO,
    off_uctx = const shared::OFF_UCTX,
    off_req_nr = const shared::OFF_REQ_NR,
    off_req_args = const shared::OFF_REQ_ARGS,
    off_req_result = const shared::OFF_REQ_RESULT,
    state_resume = const shared::STATE_RESUME,
    state_event = const shared::STATE_EVENT,
    state_request = const shared::STATE_REQUEST,
    state_done = const shared::STATE_DONE,
    state_fast = const shared::STATE_FAST_EVENT,
    req_map_batch = const shared::REQ_MAP_BATCH,
    max_batch = const shared::MAX_BATCH,
    off_batch = const shared::OFF_BATCH,
    off_pending = const shared::OFF_PENDING,
    off_pending_fd = const shared::OFF_PENDING_FD,
    off_pending_err = const shared::OFF_PENDING_ERR,
    map_shared_fixed = const libc::MAP_SHARED | libc::MAP_FIXED,
    sys_mmap = const libc::SYS_mmap,
    req_xsave = const shared::REQ_XSAVE,
    fpbuf = const shared::FPBUF_OFF,
    off_self = const shared::OFF_SELF,
    off_intr = const shared::OFF_INTR,
    off_fp_dirty = const shared::OFF_FP_DIRTY,
    off_kind = const shared::OFF_FAST_KIND,
    off_fregs = const shared::OFF_FAST_REGS,
    fast_regs = const shared::FAST_REGS,
    fast_syscall = const shared::FAST_SYSCALL,
    fast_interrupt = const shared::FAST_INTERRUPT,
    area_size = const AREA_SIZE,
    intr_sig = const super::INTERRUPT_SIGNAL,
    uc_rip = const UC_MC + 16 * 8,
    uc_mc = const UC_MC,
);

/// Offset of `uc_mcontext` in the kernel's `struct ucontext`.
const UC_MC: u64 = 40;

unsafe extern "C" {
    static runsc_seccomp_fast: u8;
    static runsc_seccomp_begin: u8;
    static runsc_seccomp_handler: u8;
    static runsc_seccomp_restorer: u8;
    static runsc_seccomp_end: u8;
}

/// Signals whose handler hands the thread to the sentry: the seccomp trap, the
/// synchronous faults, and the interrupt signal.
pub const HANDLED_SIGNALS: &[i32] = &[
    libc::SIGSYS,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    super::INTERRUPT_SIGNAL,
];

/// The stub region of this sentry process (the same addresses in every stub).
pub struct SeccompRegion {
    pub start: u64,
    pub end: u64,
    pub handler: u64,
    pub restorer: u64,
    /// The fast path a patched syscall site's trampoline jumps to.
    pub fast: u64,
    /// Where thread 0's area starts in a stub.
    pub areas: u64,
    filter: Vec<libc::sock_filter>,
}

// SAFETY: `filter` is plain data (sock_filter holds no pointers).
unsafe impl Send for SeccompRegion {}
// SAFETY: as above; the region is immutable after `install`.
unsafe impl Sync for SeccompRegion {}

/// The kernel's `struct sigaction` for rt_sigaction.
#[repr(C)]
struct KernelSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

const SA_RESTORER: u64 = 0x0400_0000;

impl SeccompRegion {
    /// Reserves the region in this process (aligned, above the sentry's own lower
    /// mappings as the kernel places them) and copies the stub code to its start.
    pub fn install() -> Result<SeccompRegion> {
        // Taking the addresses of the symbols defined by the global_asm! above.
        let (begin, handler, restorer, fast, end) = (
            &raw const runsc_seccomp_begin as u64,
            &raw const runsc_seccomp_handler as u64,
            &raw const runsc_seccomp_restorer as u64,
            &raw const runsc_seccomp_fast as u64,
            &raw const runsc_seccomp_end as u64,
        );
        let code_len = end - begin;
        if code_len > AREA_SIZE {
            return Err(PlatformError::Unsupported(
                "seccomp: the stub code is larger than its page".into(),
            ));
        }
        let size = AREA_SIZE * (1 + MAX_THREADS);
        // Reserve one more area to align the start.
        // SAFETY: a fresh anonymous mapping chosen by the kernel; nothing else is
        // affected.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                (size + AREA_SIZE) as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(PlatformError::last_os("mmap of the seccomp stub region"));
        }
        let raw = raw as u64;
        let start = (raw + AREA_SIZE - 1) & !(AREA_SIZE - 1);
        // SAFETY: trims the unaligned head and tail of the reservation just made.
        unsafe {
            if start > raw {
                libc::munmap(raw as *mut _, (start - raw) as usize);
            }
            let tail = raw + size + AREA_SIZE - (start + size);
            if tail > 0 {
                libc::munmap((start + size) as *mut _, tail as usize);
            }
        }
        // SAFETY: the code page lies in our fresh reservation; it is made writable,
        // filled with the stub's code from our text segment, then made executable.
        unsafe {
            if libc::mprotect(
                start as *mut _,
                AREA_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            ) != 0
            {
                return Err(PlatformError::last_os("mprotect of the seccomp stub code"));
            }
            std::ptr::copy_nonoverlapping(begin as *const u8, start as *mut u8, code_len as usize);
            if libc::mprotect(
                start as *mut _,
                AREA_SIZE as usize,
                libc::PROT_READ | libc::PROT_EXEC,
            ) != 0
            {
                return Err(PlatformError::last_os("mprotect of the seccomp stub code"));
            }
        }
        // The stub may make its own syscalls from its code page only.
        let (code_start, code_end) = (start, start + AREA_SIZE);
        Ok(SeccompRegion {
            start,
            end: start + size,
            handler: start + (handler - begin),
            restorer: start + (restorer - begin),
            fast: start + (fast - begin),
            areas: start + AREA_SIZE,
            filter: filter::stub_filter(code_start, code_end),
        })
    }

    /// Where thread `index`'s area lies in a stub.
    pub fn area_addr(&self, index: u64) -> u64 {
        self.areas + index * AREA_SIZE
    }

    /// A factory that forks this region's stub processes, with the memory file at
    /// descriptor `memfd` (as in the sentry).
    pub fn factory(self: &Arc<Self>, memfd: i32) -> Result<Factory> {
        let region = self.clone();
        Factory::start(move |fds| {
            let &[keep, shared] = fds else {
                return -libc::EINVAL;
            };
            region.fork_child(keep, shared, memfd)
        })
    }

    /// Forks a stub process through `factory` whose areas are the memfd `shared_fd` and
    /// whose only other file is the memory file `memfd`. Returns its pid (a child of this
    /// process) at once; the stub hands off through thread 0's area once it is ready.
    pub fn spawn(&self, factory: &Factory, memfd: i32, shared_fd: i32) -> Result<i32> {
        factory.spawn(&[memfd, shared_fd])
    }

    /// In the factory: forks one stub from the received descriptors `keep` (the memory
    /// file, to be `memfd` in the stub) and `shared_fd`. Returns the pid or -errno.
    fn fork_child(&self, keep: i32, shared_fd: i32, memfd: i32) -> i32 {
        let fork = ForkSetup::capture();
        let mut actions = [(0i32, 0u64); 64];
        for (i, a) in actions.iter_mut().enumerate() {
            let signo = i as i32 + 1;
            *a = (signo, libc::SIG_IGN as u64);
            if HANDLED_SIGNALS.contains(&signo) {
                a.1 = self.handler;
            }
        }
        let prog = libc::sock_fprog {
            len: self.filter.len() as u16,
            filter: self.filter.as_ptr().cast_mut(),
        };
        // SAFETY: the child runs only `child`: raw syscalls on data prepared above, then
        // a jump into the stub; it never returns to Rust code.
        match unsafe { raw_fork() } {
            // SAFETY: child side, see above.
            Ok(0) => unsafe { self.child(&fork, (keep, memfd), shared_fd, &actions, &prog) },
            Ok(pid) => pid,
            Err(e) => -e.errno().unwrap_or(libc::EAGAIN),
        }
    }

    /// # Safety
    /// Must only be called in the child of `raw_fork`.
    unsafe fn child(
        &self,
        fork: &ForkSetup,
        (keep, memfd): (i32, i32),
        shared_fd: i32,
        actions: &[(i32, u64); 64],
        prog: &libc::sock_fprog,
    ) -> ! {
        // SAFETY: raw syscalls only; any failure ends the child with a distinct status,
        // which the sentry sees as the stub being gone.
        unsafe {
            let fail = |code: i32| -> ! {
                libc::syscall(libc::SYS_exit_group, code);
                std::hint::unreachable_unchecked()
            };
            let areas = libc::syscall(
                libc::SYS_mmap,
                self.areas,
                MAX_THREADS * AREA_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                shared_fd,
                0u64,
            );
            if areas as u64 != self.areas {
                fail(120);
            }
            // Thread 0's id word, cleared by the kernel when it exits.
            let tid_word = (self.area_addr(0) + shared::OFF_TID) as *mut u32;
            tid_word.write_volatile(libc::syscall(libc::SYS_gettid) as u32);
            libc::syscall(libc::SYS_set_tid_address, tid_word);
            let keep_fd = move_fd(keep, memfd);
            child_prologue(fork, keep_fd);
            let stack = libc::stack_t {
                ss_sp: (self.area_addr(0) + shared::CONTROL_SIZE) as *mut _,
                ss_flags: 0,
                ss_size: (AREA_SIZE - shared::CONTROL_SIZE) as usize,
            };
            if libc::syscall(libc::SYS_sigaltstack, &stack, 0usize) != 0 {
                fail(121);
            }
            for &(signo, handler) in actions {
                if signo == libc::SIGKILL || signo == libc::SIGSTOP {
                    continue;
                }
                let act = if handler == libc::SIG_IGN as u64 {
                    KernelSigaction {
                        handler,
                        flags: 0,
                        restorer: 0,
                        mask: 0,
                    }
                } else {
                    KernelSigaction {
                        handler,
                        flags: (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64 | SA_RESTORER,
                        restorer: self.restorer,
                        mask: u64::MAX,
                    }
                };
                if libc::syscall(libc::SYS_rt_sigaction, signo, &act, 0usize, 8usize) != 0
                    && signo < 32
                {
                    fail(122);
                }
            }
            let empty: u64 = 0;
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &empty,
                0usize,
                8usize,
            );
            if libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                fail(123);
            }
            const SECCOMP_SET_MODE_FILTER: u32 = 1;
            if libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                0u32,
                prog as *const libc::sock_fprog,
            ) != 0
            {
                fail(124);
            }
            // From here on every syscall outside the stub code traps: jump straight in.
            std::arch::asm!(
                "jmp {entry}",
                entry = in(reg) self.start,
                in("rdi") self.start,
                in("rsi") self.end,
                in("rdx") TASK_SIZE - self.end,
                options(noreturn)
            );
        }
    }
}
