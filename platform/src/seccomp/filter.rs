//! The seccomp filter every stub thread runs under: system calls made from outside the
//! stub's code (the application's) trap with SIGSYS; the stub's own code may make only
//! the few calls it needs; anything else, and any non-x86-64 call, kills the stub. The
//! application's calls trap whatever their number (x32 and invalid numbers included):
//! the sentry answers them as Linux would, usually ENOSYS.
//!
//! Written as raw BPF rather than with seccompiler: the filter is a few dozen
//! instructions and its one unusual rule (the 64-bit instruction-pointer range) is not
//! something seccompiler expresses.

/// System calls the stub code makes with any arguments: returning from its handlers, the
/// futex hand-off, address-space requests (mmap, munmap), the FS/GS base (arch_prctl),
/// ending one thread (exit) and exiting when its setup fails.
pub const STUB_SYSCALLS: &[i64] = &[
    libc::SYS_rt_sigreturn,
    libc::SYS_futex,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_arch_prctl,
    libc::SYS_exit,
    libc::SYS_exit_group,
    // The thread's own CPU clock, asked for by the sentry (`OFF_CPUTIME`).
    libc::SYS_clock_gettime,
    // Handing its CPU to the sentry thread (`shared::OFF_STUB_YIELDS`).
    libc::SYS_sched_yield,
];

/// System calls the stub code makes with one fixed first argument: `clone` of a stub
/// thread (never a new process: it would outlive the stub unseen), and the new thread's
/// `rt_sigprocmask(SIG_UNBLOCK, …)` (never one that blocks signals, which could keep the
/// sentry from interrupting it).
pub const STUB_SYSCALLS_WITH_ARG0: &[(i64, u64)] = &[
    (libc::SYS_clone, crate::THREAD_CLONE_FLAGS | CLONE_TID_FLAGS),
    (libc::SYS_rt_sigprocmask, libc::SIG_UNBLOCK as u64),
];

/// The thread-id flags of a stub thread's `clone` (see `shared::OFF_TID`).
pub const CLONE_TID_FLAGS: u64 = (libc::CLONE_PARENT_SETTID | libc::CLONE_CHILD_CLEARTID) as u64;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_JGE_K: u16 = 0x35;
const BPF_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_IP_LO: u32 = 8;
const DATA_IP_HI: u32 = 12;
const DATA_ARG0_LO: u32 = 16;
const DATA_ARG0_HI: u32 = 20;

/// Where a conditional jump goes: the next instruction or a label.
#[derive(Clone, Copy)]
enum To {
    Next,
    Label(usize),
}

/// A tiny assembler: forward jumps to labels, resolved at the end.
#[derive(Default)]
struct Asm {
    code: Vec<(libc::sock_filter, To, To)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn stmt(&mut self, code: u16, k: u32) {
        let ins = libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        };
        self.code.push((ins, To::Next, To::Next));
    }
    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        let ins = libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        };
        self.code.push((ins, jt, jf));
    }
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, label: usize) {
        self.labels[label] = Some(self.code.len());
    }
    fn finish(self) -> Vec<libc::sock_filter> {
        let labels = self.labels;
        self.code
            .into_iter()
            .enumerate()
            .map(|(pc, (mut ins, jt, jf))| {
                let off = |to: To| match to {
                    To::Next => 0,
                    To::Label(l) => {
                        let target = labels[l].expect("every label is bound");
                        u8::try_from(target - pc - 1).expect("short forward jump")
                    }
                };
                ins.jt = off(jt);
                ins.jf = off(jf);
                ins
            })
            .collect()
    }
}

/// Syscalls the stub factory (`crate::stub::Factory`) and the stubs it forks make, of
/// both platforms: the factory's loop, a stub's setup before it jumps into its code
/// (and, for a seccomp stub, installs its own filter), the stub code itself, and the
/// syscalls the sentry runs in stubs (by request or, on ptrace, by injection).
/// Application syscalls never reach this filter's verdict: on seccomp the stub's own
/// filter traps them (a trap outranks an allow), on ptrace `PTRACE_SYSEMU` stops them
/// before seccomp runs.
pub const FACTORY_SYSCALLS: &[i64] = &[
    // The factory.
    libc::SYS_recvmsg,
    libc::SYS_sendto,
    libc::SYS_close,
    libc::SYS_clone,
    libc::SYS_exit_group,
    // A stub's setup.
    libc::SYS_getppid,
    libc::SYS_prctl,
    libc::SYS_rseq,
    libc::SYS_close_range,
    libc::SYS_dup3,
    libc::SYS_gettid,
    libc::SYS_set_tid_address,
    libc::SYS_sigaltstack,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_seccomp,
    // The stub code and the sentry's requests.
    libc::SYS_munmap,
    libc::SYS_mmap,
    libc::SYS_getpid,
    libc::SYS_kill,
    libc::SYS_pause,
    libc::SYS_futex,
    libc::SYS_rt_sigreturn,
    libc::SYS_arch_prctl,
    libc::SYS_exit,
    libc::SYS_clock_gettime,
    libc::SYS_sched_yield,
];

/// The factory's filter: `FACTORY_SYSCALLS` are allowed, anything else traps (SIGSYS,
/// which ends the factory or a ptrace stub — neither handles it — and which a seccomp
/// stub's own filter would have decided anyway). A compromised sentry that drives the
/// factory or a ptrace stub (it may trace them on the ptrace platform) can make them do
/// no more than this.
pub fn factory_filter() -> Vec<libc::sock_filter> {
    let mut a = Asm::default();
    let kill = a.label();
    let allow = a.label();
    a.stmt(BPF_LD_W_ABS, DATA_ARCH);
    a.jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, To::Next, To::Label(kill));
    // (An x32 or out-of-range number traps: a seccomp stub's application may make one,
    // and its own filter traps it too.)
    a.stmt(BPF_LD_W_ABS, DATA_NR);
    for &nr in FACTORY_SYSCALLS {
        a.jump(BPF_JEQ_K, nr as u32, To::Label(allow), To::Next);
    }
    a.stmt(BPF_RET_K, SECCOMP_RET_TRAP);
    a.bind(allow);
    a.stmt(BPF_RET_K, SECCOMP_RET_ALLOW);
    a.bind(kill);
    a.stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
    a.finish()
}

/// The filter for a stub whose code lies in `[code_start, code_end)`. The range must not
/// cross a 4 GiB boundary (the stub region is aligned so that it cannot).
pub fn stub_filter(code_start: u64, code_end: u64) -> Vec<libc::sock_filter> {
    assert!(code_start < code_end && code_start >> 32 == (code_end - 1) >> 32);
    let hi = (code_start >> 32) as u32;
    let lo_start = code_start as u32;
    let lo_end = (code_end - 1) as u32;
    let mut a = Asm::default();
    let (kill, trap, allow) = (a.label(), a.label(), a.label());
    a.stmt(BPF_LD_W_ABS, DATA_ARCH);
    a.jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, To::Next, To::Label(kill));
    // Outside [code_start, code_end): the application's call, trap it.
    a.stmt(BPF_LD_W_ABS, DATA_IP_HI);
    a.jump(BPF_JEQ_K, hi, To::Next, To::Label(trap));
    a.stmt(BPF_LD_W_ABS, DATA_IP_LO);
    a.jump(BPF_JGE_K, lo_start, To::Next, To::Label(trap));
    // ip > lo_end, i.e. ip >= lo_end + 1.
    a.jump(BPF_JGE_K, lo_end.wrapping_add(1), To::Label(trap), To::Next);
    // Inside the stub: only its own calls, never an x32 one.
    a.stmt(BPF_LD_W_ABS, DATA_NR);
    a.jump(BPF_JSET_K, X32_SYSCALL_BIT, To::Label(kill), To::Next);
    for nr in STUB_SYSCALLS {
        a.jump(BPF_JEQ_K, *nr as u32, To::Label(allow), To::Next);
    }
    for &(nr, arg0) in STUB_SYSCALLS_WITH_ARG0 {
        let other = a.label();
        a.jump(BPF_JEQ_K, nr as u32, To::Next, To::Label(other));
        a.stmt(BPF_LD_W_ABS, DATA_ARG0_LO);
        a.jump(BPF_JEQ_K, arg0 as u32, To::Next, To::Label(kill));
        a.stmt(BPF_LD_W_ABS, DATA_ARG0_HI);
        a.jump(
            BPF_JEQ_K,
            (arg0 >> 32) as u32,
            To::Label(allow),
            To::Label(kill),
        );
        a.bind(other);
        // The number is no longer in the accumulator.
        a.stmt(BPF_LD_W_ABS, DATA_NR);
    }
    a.bind(kill);
    a.stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
    a.bind(trap);
    a.stmt(BPF_RET_K, SECCOMP_RET_TRAP);
    a.bind(allow);
    a.stmt(BPF_RET_K, SECCOMP_RET_ALLOW);
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the instructions `stub_filter` uses, to check its verdicts.
    fn run(f: &[libc::sock_filter], nr: u32, arch: u32, ip: u64) -> u32 {
        run_args(f, nr, arch, ip, 0)
    }

    fn run_args(f: &[libc::sock_filter], nr: u32, arch: u32, ip: u64, arg0: u64) -> u32 {
        let data = |k: u32| match k {
            DATA_NR => nr,
            DATA_ARCH => arch,
            DATA_IP_LO => ip as u32,
            DATA_IP_HI => (ip >> 32) as u32,
            DATA_ARG0_LO => arg0 as u32,
            DATA_ARG0_HI => (arg0 >> 32) as u32,
            _ => panic!("load of {k}"),
        };
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = f[pc];
            pc += 1;
            match i.code {
                BPF_LD_W_ABS => a = data(i.k),
                BPF_RET_K => return i.k,
                BPF_JEQ_K | BPF_JGE_K | BPF_JSET_K => {
                    let taken = match i.code {
                        BPF_JEQ_K => a == i.k,
                        BPF_JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += if taken { i.jt } else { i.jf } as usize;
                }
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn verdicts() {
        let (start, end) = (0x7f12_3456_0000u64, 0x7f12_3457_0000u64);
        let f = stub_filter(start, end);
        let x86 = AUDIT_ARCH_X86_64;
        let getpid = libc::SYS_getpid as u32;
        let futex = libc::SYS_futex as u32;
        // Application calls trap, whatever their number.
        assert_eq!(run(&f, getpid, x86, 0x401000), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, futex, x86, start - 1), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, futex, x86, end), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, futex, x86, start + (1 << 32)), SECCOMP_RET_TRAP);
        // The stub's own calls pass; others from the stub kill.
        assert_eq!(run(&f, futex, x86, start + 0x40), SECCOMP_RET_ALLOW);
        assert_eq!(run(&f, futex, x86, end - 1), SECCOMP_RET_ALLOW);
        for nr in STUB_SYSCALLS {
            assert_eq!(run(&f, *nr as u32, x86, start), SECCOMP_RET_ALLOW);
        }
        assert_eq!(run(&f, getpid, x86, start + 2), SECCOMP_RET_KILL_PROCESS);
        // clone and rt_sigprocmask only with the stub's own first argument.
        let clone = libc::SYS_clone as u32;
        let flags = crate::THREAD_CLONE_FLAGS | CLONE_TID_FLAGS;
        assert_eq!(run_args(&f, clone, x86, start, flags), SECCOMP_RET_ALLOW);
        assert_eq!(
            run_args(&f, clone, x86, start, 0x11),
            SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(
            run_args(&f, clone, x86, start, flags | 1 << 32),
            SECCOMP_RET_KILL_PROCESS
        );
        let mask = libc::SYS_rt_sigprocmask as u32;
        let unblock = libc::SIG_UNBLOCK as u64;
        assert_eq!(run_args(&f, mask, x86, start, unblock), SECCOMP_RET_ALLOW);
        let block = libc::SIG_BLOCK as u64;
        assert_eq!(
            run_args(&f, mask, x86, start, block),
            SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(run_args(&f, clone, x86, 0x401000, 0x11), SECCOMP_RET_TRAP);
        // x32 numbers trap from the application (the sentry says ENOSYS), kill from the
        // stub; i386 calls kill from anywhere.
        let x32 = futex | X32_SYSCALL_BIT;
        assert_eq!(run(&f, x32, x86, 0x401000), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, u32::MAX, x86, 0x401000), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, x32, x86, start), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(run(&f, 20, 0x4000_0003, 0x401000), SECCOMP_RET_KILL_PROCESS);
    }
}
