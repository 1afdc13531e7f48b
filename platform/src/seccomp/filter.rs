//! The seccomp filter every stub thread runs under: system calls made from outside the
//! stub's code (the application's) trap with SIGSYS; the stub's own code may make only
//! the few calls it needs; anything else, and any non-x86-64 call, kills the stub. The
//! application's calls trap whatever their number (x32 and invalid numbers included):
//! the sentry answers them as Linux would, usually ENOSYS.
//!
//! Written as raw BPF rather than with seccompiler: the filter is a dozen instructions
//! and its one unusual rule (the 64-bit instruction-pointer range) is not something
//! seccompiler expresses.

/// System calls the stub code makes: returning from its handlers, the futex hand-off,
/// address-space requests (mmap, munmap), the FS/GS base (arch_prctl) and exiting when
/// its setup fails.
pub const STUB_SYSCALLS: &[i64] = &[
    libc::SYS_rt_sigreturn,
    libc::SYS_futex,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_arch_prctl,
    libc::SYS_exit_group,
];

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

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter for a stub whose code lies in `[code_start, code_end)`. The range must not
/// cross a 4 GiB boundary (the stub region is aligned so that it cannot).
pub fn stub_filter(code_start: u64, code_end: u64) -> Vec<libc::sock_filter> {
    assert!(code_start < code_end && code_start >> 32 == (code_end - 1) >> 32);
    let hi = (code_start >> 32) as u32;
    let lo_start = code_start as u32;
    let lo_end = (code_end - 1) as u32;
    let mut f = vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        // Outside [code_start, code_end): the application's call, trap it.
        stmt(BPF_LD_W_ABS, DATA_IP_HI),
        jump(BPF_JEQ_K, hi, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_TRAP),
        stmt(BPF_LD_W_ABS, DATA_IP_LO),
        jump(BPF_JGE_K, lo_start, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_TRAP),
        // ip > lo_end, i.e. ip >= lo_end + 1.
        jump(BPF_JGE_K, lo_end.wrapping_add(1), 0, 1),
        stmt(BPF_RET_K, SECCOMP_RET_TRAP),
        // Inside the stub: only its own calls, never an x32 one.
        stmt(BPF_LD_W_ABS, DATA_NR),
        jump(BPF_JSET_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
    ];
    let n = STUB_SYSCALLS.len();
    for (i, nr) in STUB_SYSCALLS.iter().enumerate() {
        // On a match, skip the remaining comparisons and the kill.
        f.push(jump(BPF_JEQ_K, *nr as u32, (n - i) as u8, 0));
    }
    f.push(stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS));
    f.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the instructions `stub_filter` uses, to check its verdicts.
    fn run(f: &[libc::sock_filter], nr: u32, arch: u32, ip: u64) -> u32 {
        let data = |k: u32| match k {
            DATA_NR => nr,
            DATA_ARCH => arch,
            DATA_IP_LO => ip as u32,
            DATA_IP_HI => (ip >> 32) as u32,
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
        // x32 numbers trap from the application (the sentry says ENOSYS), kill from the
        // stub; i386 calls kill from anywhere.
        let x32 = futex | X32_SYSCALL_BIT;
        assert_eq!(run(&f, x32, x86, 0x401000), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, u32::MAX, x86, 0x401000), SECCOMP_RET_TRAP);
        assert_eq!(run(&f, x32, x86, start), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(run(&f, 20, 0x4000_0003, 0x401000), SECCOMP_RET_KILL_PROCESS);
    }
}
