//! The kvm platform's ring-0 stub and its guest-virtual layout: code that enters
//! application code with `sysretq`, and on `syscall` or any exception saves the
//! registers into the save area and exits to the host with `out`. Also builds the GDT,
//! TSS and IDT it runs with.
//!
//! Everything lives in one 2 MiB-aligned window of the upper half, mapped in every page
//! table the platform writes:
//!
//! | address           | what                                  | mapped           |
//! |-------------------|---------------------------------------|------------------|
//! | `KBASE`           | stub code (2 pages)                   | read-only, exec  |
//! | `KBASE + 0x2000`  | GDT, TSS, IDT                         | read-only        |
//! | `KBASE + 0x3000`  | save area, then the ring-0 stack      | read-write       |
//!
//! All pages are user-accessible (PVM refaults forever on a supervisor access to a U=0
//! page), so the application can read the stub and write the save area page. The save
//! area page is per address space *and* vCPU (a page table root of its own), so a thread
//! can only write the one its own vCPU uses, and only while it runs in user mode, when
//! the stub has nothing there to lose: the host rewrites every field the stub reads
//! before each entry, and reads back only the application's own registers.

/// Base of the stub window (PML4 slot 434; `0xffff800000000000` triple-faults on PVM).
pub const KBASE: u64 = 0xffff_d900_0000_0000;
pub const CODE_PAGES: u64 = 2;
pub const SYS_VA: u64 = KBASE + 0x2000;
pub const DATA_VA: u64 = KBASE + 0x3000;
/// Top of the ring-0 stack (TSS.RSP0), the end of the save area page.
pub const STACK_TOP: u64 = DATA_VA + 0x1000;

/// The port the stub's `out` uses.
pub const EXIT_PORT: u16 = 0x5a;

// Offsets in the save area page. The first 21 words are `Regs` r15..ss in order; the
// stub alone uses 0x100..0x128 (the trampoline's iretq frame) and the top (its stack).
pub const OFF_RIP: usize = 0x80;
pub const OFF_CS: usize = 0x88;
pub const OFF_RFLAGS: usize = 0x90;
pub const OFF_RSP: usize = 0x98;
pub const OFF_SS: usize = 0xa0;
pub const OFF_VECTOR: usize = 0xa8;
pub const OFF_ERROR: usize = 0xb0;
pub const OFF_CR2: usize = 0xb8;
pub const OFF_CTL: usize = 0xc0;
pub const OFF_CR3: usize = 0xc8;
pub const OFF_FS_BASE: usize = 0xd0;
pub const OFF_GS_BASE: usize = 0xd8;
pub const OFF_KICK: usize = 0xe0;
/// What the PVM signature MSR read on the vCPU's first entry (PVM only).
pub const OFF_PROBE: usize = 0xe8;
/// Bytes of the save area the host reads and writes.
pub const SAVE_SIZE: usize = 0xf0;
/// The value PVM's signature MSR holds ("PVM").
pub const PVM_SIGNATURE: u64 = 0x4d_5650;

/// `OFF_CTL` bits: what the stub loads before entering user mode.
pub const CTL_CR3: u64 = 1;
pub const CTL_FS: u64 = 2;
pub const CTL_GS: u64 = 4;

/// Pseudo-vectors in `OFF_VECTOR` besides the exception vectors 0..32.
pub const VEC_SYSCALL: u64 = 256;
/// The host's kick flag stopped the stub before it entered user mode.
pub const VEC_KICK: u64 = 257;

pub const KERNEL_CS: u16 = 0x10;
pub const KERNEL_DS: u16 = 0x18;
pub const USER_DS: u16 = 0x2b;
pub const USER_CS: u16 = 0x33;
pub const TSS_SEL: u16 = 0x40;
/// Offsets of the TSS and the IDT in the SYS page; the GDT is at its start.
pub const TSS_OFF: u64 = 0x100;
pub const TSS_LIMIT: u32 = 0x67;
pub const IDT_OFF: u64 = 0x800;
pub const IDT_VECTORS: u64 = 32;
pub const GDT_LIMIT: u16 = 10 * 8 - 1;

// The stub. Its data references are RIP-relative to the save area page, which sits at
// a fixed distance from the code in every page table (`D` = runsc_kvm_stub_begin +
// 0x3000). The exception entries are 16 bytes apart from runsc_kvm_vectors; each pushes
// a zero error code where the CPU pushes none, then its vector. The stack is the save
// area page's top (TSS.RSP0); `syscall` leaves the user's stack in place, which the
// stub never uses. No `call`/`ret`: nothing it runs depends on stack contents it did
// not just write.
std::arch::global_asm!(
    ".pushsection .rodata.runsc_kvm_stub,\"a\"",
    ".balign 4096",
    ".globl runsc_kvm_stub_begin, runsc_kvm_start, runsc_kvm_syscall, runsc_kvm_vectors",
    ".globl runsc_kvm_exit, runsc_kvm_resume, runsc_kvm_gadget, runsc_kvm_stub_end",
    ".globl runsc_kvm_trampoline, runsc_kvm_trampoline_end",
    ".set D, runsc_kvm_stub_begin + 0x3000",
    "runsc_kvm_stub_begin:",
    // First entry of a vCPU: ecx != 0 on PVM, edx:eax = the page for the activation.
    // On PVM it first reads the PVM signature MSR into the save area (the host checks
    // it: a #GP there means no PVM after all).
    "runsc_kvm_start:",
    "  test %ecx, %ecx",
    "  jz 1f",
    "  mov %eax, %esi",
    "  mov %edx, %edi",
    "  mov $0x4b564d11, %ecx",
    "  rdmsr",
    "  mov %eax, D+0xe8(%rip)",
    "  mov %edx, D+0xec(%rip)",
    "  mov %esi, %eax",
    "  mov %edi, %edx",
    "  mov $0x4b564d10, %ecx",
    "  wrmsr",
    "1:",
    "  jmp runsc_kvm_resume",
    ".balign 16",
    "runsc_kvm_syscall:",
    // rcx = user rip, r11 = user rflags, rsp = user rsp.
    "  mov %rsp, D+0x98(%rip)",
    "  mov %r15, D+0x00(%rip)",
    "  mov %r14, D+0x08(%rip)",
    "  mov %r13, D+0x10(%rip)",
    "  mov %r12, D+0x18(%rip)",
    "  mov %rbp, D+0x20(%rip)",
    "  mov %rbx, D+0x28(%rip)",
    "  mov %r11, D+0x30(%rip)",
    "  mov %r10, D+0x38(%rip)",
    "  mov %r9,  D+0x40(%rip)",
    "  mov %r8,  D+0x48(%rip)",
    "  mov %rax, D+0x50(%rip)",
    "  mov %rcx, D+0x58(%rip)",
    "  mov %rdx, D+0x60(%rip)",
    "  mov %rsi, D+0x68(%rip)",
    "  mov %rdi, D+0x70(%rip)",
    "  mov %rcx, D+0x80(%rip)",
    "  movq $0x33, D+0x88(%rip)",
    "  mov %r11, D+0x90(%rip)",
    "  movq $0x2b, D+0xa0(%rip)",
    "  movq $256, D+0xa8(%rip)",
    "  jmp runsc_kvm_exit",
    ".macro runsc_kvm_vec n, err",
    "  .balign 16",
    "  .if \\err == 0",
    "  pushq $0",
    "  .endif",
    "  pushq $\\n",
    "  jmp runsc_kvm_exception",
    ".endm",
    ".balign 16",
    "runsc_kvm_vectors:",
    "runsc_kvm_vec 0, 0",
    "runsc_kvm_vec 1, 0",
    "runsc_kvm_vec 2, 0",
    "runsc_kvm_vec 3, 0",
    "runsc_kvm_vec 4, 0",
    "runsc_kvm_vec 5, 0",
    "runsc_kvm_vec 6, 0",
    "runsc_kvm_vec 7, 0",
    "runsc_kvm_vec 8, 1",
    "runsc_kvm_vec 9, 0",
    "runsc_kvm_vec 10, 1",
    "runsc_kvm_vec 11, 1",
    "runsc_kvm_vec 12, 1",
    "runsc_kvm_vec 13, 1",
    "runsc_kvm_vec 14, 1",
    "runsc_kvm_vec 15, 0",
    "runsc_kvm_vec 16, 0",
    "runsc_kvm_vec 17, 1",
    "runsc_kvm_vec 18, 0",
    "runsc_kvm_vec 19, 0",
    "runsc_kvm_vec 20, 0",
    "runsc_kvm_vec 21, 1",
    "runsc_kvm_vec 22, 0",
    "runsc_kvm_vec 23, 0",
    "runsc_kvm_vec 24, 0",
    "runsc_kvm_vec 25, 0",
    "runsc_kvm_vec 26, 0",
    "runsc_kvm_vec 27, 0",
    "runsc_kvm_vec 28, 0",
    "runsc_kvm_vec 29, 1",
    "runsc_kvm_vec 30, 1",
    "runsc_kvm_vec 31, 0",
    ".balign 16",
    // Stack: vector, error code, then the CPU's frame rip, cs, rflags, rsp, ss.
    "runsc_kvm_exception:",
    "  mov %r15, D+0x00(%rip)",
    "  mov %r14, D+0x08(%rip)",
    "  mov %r13, D+0x10(%rip)",
    "  mov %r12, D+0x18(%rip)",
    "  mov %rbp, D+0x20(%rip)",
    "  mov %rbx, D+0x28(%rip)",
    "  mov %r11, D+0x30(%rip)",
    "  mov %r10, D+0x38(%rip)",
    "  mov %r9,  D+0x40(%rip)",
    "  mov %r8,  D+0x48(%rip)",
    "  mov %rax, D+0x50(%rip)",
    "  mov %rcx, D+0x58(%rip)",
    "  mov %rdx, D+0x60(%rip)",
    "  mov %rsi, D+0x68(%rip)",
    "  mov %rdi, D+0x70(%rip)",
    "  pop %rax",
    "  mov %rax, D+0xa8(%rip)",
    "  pop %rax",
    "  mov %rax, D+0xb0(%rip)",
    "  pop %rax",
    "  mov %rax, D+0x80(%rip)",
    "  pop %rax",
    "  mov %rax, D+0x88(%rip)",
    "  pop %rax",
    "  mov %rax, D+0x90(%rip)",
    "  pop %rax",
    "  mov %rax, D+0x98(%rip)",
    "  pop %rax",
    "  mov %rax, D+0xa0(%rip)",
    "  cmpq $14, D+0xa8(%rip)",
    "  jne runsc_kvm_exit",
    "  mov %cr2, %rax",
    "  mov %rax, D+0xb8(%rip)",
    "runsc_kvm_exit:",
    "  lea D+0x1000(%rip), %rsp",
    "  out %al, $0x5a",
    // The host resumes here with the next state in the save area.
    "runsc_kvm_resume:",
    "  lea D+0x1000(%rip), %rsp",
    "  mov D+0xc0(%rip), %rbx",
    "  test $1, %bl",
    "  jz 1f",
    "  mov D+0xc8(%rip), %rax",
    "  mov %rax, %cr3",
    "1:",
    "  test $2, %bl",
    "  jz 2f",
    "  mov $0xc0000100, %ecx",
    "  mov D+0xd0(%rip), %eax",
    "  mov D+0xd4(%rip), %edx",
    "  wrmsr",
    "2:",
    "  test $4, %bl",
    "  jz 3f",
    // The user's GS base: MSR_GS_BASE on hardware; PVM swaps in MSR_KERNEL_GS_BASE when
    // it switches to user mode (as `swapgs` would). Both get it.
    "  mov $0xc0000101, %ecx",
    "  mov D+0xd8(%rip), %eax",
    "  mov D+0xdc(%rip), %edx",
    "  wrmsr",
    "  mov $0xc0000102, %ecx",
    "  mov D+0xd8(%rip), %eax",
    "  mov D+0xdc(%rip), %edx",
    "  wrmsr",
    "3:",
    // PVM's iretq does not leave ring 0: user mode is entered with sysretq, straight to
    // the thread's rip or at the trampoline below, which loads the two registers sysretq
    // uses (rcx, r11) and returns to the thread's rip with a user-mode iretq. r11 = the user's flags (CF PF AF ZF SF TF DF OF AC ID) with
    // IF set and IOPL 0.
    "  mov D+0x90(%rip), %r11",
    "  and $0x240dd5, %r11",
    "  or $0x202, %r11",
    "  mov D+0x00(%rip), %r15",
    "  mov D+0x08(%rip), %r14",
    "  mov D+0x10(%rip), %r13",
    "  mov D+0x18(%rip), %r12",
    "  mov D+0x20(%rip), %rbp",
    "  mov D+0x28(%rip), %rbx",
    "  mov D+0x38(%rip), %r10",
    "  mov D+0x40(%rip), %r9",
    "  mov D+0x48(%rip), %r8",
    "  mov D+0x50(%rip), %rax",
    "  mov D+0x60(%rip), %rdx",
    "  mov D+0x68(%rip), %rsi",
    "  mov D+0x70(%rip), %rdi",
    // Straight to the thread's rip when rcx and r11 already hold what sysretq leaves
    // there (the usual return from a syscall); else through the trampoline.
    "  mov D+0x58(%rip), %rcx",
    "  cmp D+0x80(%rip), %rcx",
    "  jne 5f",
    "  cmp D+0x30(%rip), %r11",
    "  je 6f",
    // The trampoline's frame: rip, cs, rflags, rsp, ss at D+0x100. sysretq itself
    // leaves TF off, so a single-step begins at the thread's first instruction.
    "5:",
    "  mov D+0x80(%rip), %rcx",
    "  mov %rcx, D+0x100(%rip)",
    "  movq $0x33, D+0x108(%rip)",
    "  mov %r11, D+0x110(%rip)",
    "  mov D+0x98(%rip), %rcx",
    "  mov %rcx, D+0x118(%rip)",
    "  movq $0x2b, D+0x120(%rip)",
    "  and $-257, %r11",
    "  lea runsc_kvm_trampoline(%rip), %rcx",
    "6:",
    // The host's kick (an interrupt that arrived while the stub ran) stops it here; the
    // save area still holds the thread's registers.
    "  cmpb $0, D+0xe0(%rip)",
    "  jne 4f",
    "  mov D+0x98(%rip), %rsp",
    "  sysretq",
    "4:",
    "  movq $257, D+0xa8(%rip)",
    "  jmp runsc_kvm_exit",
    // User mode, in the stub's page (user-accessible, as PVM needs): rcx and r11, then
    // an iretq that stays in user mode (natively executed) loads rip, rflags and rsp.
    "runsc_kvm_trampoline:",
    "  mov D+0x58(%rip), %rcx",
    "  mov D+0x30(%rip), %r11",
    "  lea D+0x100(%rip), %rsp",
    "  iretq",
    "runsc_kvm_trampoline_end:",
    // A `syscall` user mode can be pointed at to come back into the stub.
    "runsc_kvm_gadget:",
    "  syscall",
    "runsc_kvm_stub_end:",
    ".popsection",
    options(att_syntax)
);

unsafe extern "C" {
    static runsc_kvm_stub_begin: u8;
    static runsc_kvm_start: u8;
    static runsc_kvm_syscall: u8;
    static runsc_kvm_vectors: u8;
    static runsc_kvm_resume: u8;
    static runsc_kvm_gadget: u8;
    static runsc_kvm_trampoline: u8;
    static runsc_kvm_trampoline_end: u8;
    static runsc_kvm_stub_end: u8;
}

/// The stub's code and the guest-virtual addresses of its entry points.
pub struct StubCode {
    pub bytes: &'static [u8],
    pub start: u64,
    pub syscall: u64,
    pub resume: u64,
    pub gadget: u64,
    /// The user-mode trampoline `[start, end)` that enters the thread's code.
    pub trampoline: (u64, u64),
    vectors: u64,
}

impl StubCode {
    pub fn get() -> StubCode {
        let begin = &raw const runsc_kvm_stub_begin as u64;
        let end = &raw const runsc_kvm_stub_end as u64;
        let at = |p: *const u8| KBASE + (p as u64 - begin);
        // SAFETY: `begin..end` is the stub's bytes in this binary's read-only data (the
        // symbols above delimit one section fragment); they live for the program.
        let bytes =
            unsafe { std::slice::from_raw_parts(begin as *const u8, (end - begin) as usize) };
        StubCode {
            bytes,
            start: at(&raw const runsc_kvm_start),
            syscall: at(&raw const runsc_kvm_syscall),
            resume: at(&raw const runsc_kvm_resume),
            gadget: at(&raw const runsc_kvm_gadget),
            trampoline: (
                at(&raw const runsc_kvm_trampoline),
                at(&raw const runsc_kvm_trampoline_end),
            ),
            vectors: at(&raw const runsc_kvm_vectors),
        }
    }

    /// The SYS page: GDT at 0, TSS at `TSS_OFF`, IDT at `IDT_OFF`.
    pub fn sys_page(&self) -> Vec<u8> {
        let mut page = vec![0u8; 4096];
        let put = |page: &mut Vec<u8>, off: usize, v: u64| {
            page[off..off + 8].copy_from_slice(&v.to_le_bytes());
        };
        // Accessed bits preset: the CPU never writes the read-only GDT.
        put(&mut page, 0x10, 0x00af_9b00_0000_ffff); // kernel code 64
        put(&mut page, 0x18, 0x00cf_9300_0000_ffff); // kernel data
        put(&mut page, 0x28, 0x00cf_f300_0000_ffff); // user data
        put(&mut page, 0x30, 0x00af_fb00_0000_ffff); // user code 64
        let tss = SYS_VA + TSS_OFF;
        let desc = u64::from(TSS_LIMIT)
            | ((tss & 0xff_ffff) << 16)
            | (0x8b << 40) // present, busy 64-bit TSS (loaded by KVM_SET_SREGS)
            | (((tss >> 24) & 0xff) << 56);
        put(&mut page, 0x40, desc);
        put(&mut page, 0x48, tss >> 32);
        // TSS: RSP0, and an I/O map base past the limit (no port is allowed).
        let t = TSS_OFF as usize;
        page[t + 4..t + 12].copy_from_slice(&STACK_TOP.to_le_bytes());
        page[t + 0x66..t + 0x68].copy_from_slice(&0x68u16.to_le_bytes());
        // IDT: interrupt gates to the vector entries; int3 and into callable from user
        // mode (as on Linux), the rest #GP when user code does `int n`.
        for v in 0..IDT_VECTORS {
            let h = self.vectors + v * 16;
            let dpl: u64 = if v == 3 || v == 4 { 3 } else { 0 };
            let lo = (h & 0xffff)
                | (u64::from(KERNEL_CS) << 16)
                | ((0x8e | (dpl << 5)) << 40)
                | (((h >> 16) & 0xffff) << 48);
            let off = (IDT_OFF + v * 16) as usize;
            put(&mut page, off, lo);
            put(&mut page, off + 8, h >> 32);
        }
        page
    }
}
