//! The kvm platform on its own: user code in a memfd page runs, its syscalls and
//! faults come back as events. Skips (with a printed reason) where /dev/kvm is unusable.

use platform::{CpuState, Event, Perms};

const CODE: u64 = 0x40_0000;
const STACK: u64 = 0x7f00_0000;

fn memfd(size: u64) -> i32 {
    // SAFETY: memfd_create with a valid name; ftruncate of the fresh fd.
    unsafe {
        let fd = libc::memfd_create(c"kvm-test".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, size as i64), 0);
        fd
    }
}

fn write_file(fd: i32, off: u64, data: &[u8]) {
    // SAFETY: pwrite from a valid buffer.
    let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), off as i64) };
    assert_eq!(n, data.len() as isize);
}

fn platform_or_skip(fd: i32) -> Option<std::sync::Arc<dyn platform::Platform>> {
    match platform::new_platform("kvm", fd, platform::Options::default()) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("SKIP kvm: {e}");
            None
        }
    }
}

#[test]
fn syscall_and_fault_events() {
    let fd = memfd(1 << 30);
    let Some(p) = platform_or_skip(fd) else {
        return;
    };
    // mov $39,%eax; syscall; mov (0x1000),%al (unmapped); ud2; int3
    let code = [
        0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x8a, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x0b, 0xcc,
    ];
    write_file(fd, 0, &code);
    let aspace = p.new_address_space().unwrap();
    aspace
        .map(
            CODE,
            0x1000,
            0,
            Perms {
                read: true,
                write: false,
                exec: true,
            },
        )
        .unwrap();
    aspace
        .map(
            STACK,
            0x1000,
            0x1000,
            Perms {
                read: true,
                write: true,
                exec: false,
            },
        )
        .unwrap();
    let mut ctx = p.new_context().unwrap();
    let mut st = CpuState::default();
    st.regs.rip = CODE;
    st.regs.rsp = STACK + 0x800;
    st.regs.eflags = 0x202;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert_eq!(ev, Event::Syscall, "{st:x?}");
    assert_eq!(st.regs.orig_rax, 39);
    assert_eq!(st.regs.rip, CODE + 7);
    assert_eq!(st.regs.rcx, CODE + 7);
    st.regs.rax = 1234;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    match ev {
        Event::Fault {
            addr,
            access,
            signo,
            code,
        } => {
            assert_eq!((addr, signo, code), (0x1000, libc::SIGSEGV, 1));
            assert!(access.read);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(st.regs.rip, CODE + 7);
    assert_eq!(st.regs.rax, 1234);
    st.regs.rip += 7;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert!(
        matches!(
            ev,
            Event::Fault {
                signo: libc::SIGILL,
                ..
            }
        ),
        "{ev:?}"
    );
    st.regs.rip += 2;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert!(
        matches!(
            ev,
            Event::Fault {
                signo: libc::SIGTRAP,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(st.regs.rip, CODE + 17);
}

/// Every register the thread is given reaches user mode (rcx and r11 too, which the
/// stub's `sysretq` uses), and an interrupt stops a thread spinning in user mode with
/// its registers, from which it resumes.
#[test]
fn registers_and_interrupts() {
    let fd = memfd(1 << 30);
    let Some(p) = platform_or_skip(fd) else {
        return;
    };
    // 0: mov %rcx,%rdi; mov %r11,%rsi; syscall; 9: jmp 9 (spin); 11: syscall
    let code = [
        0x48, 0x89, 0xcf, 0x4c, 0x89, 0xde, 0x0f, 0x05, 0x90, 0xeb, 0xfe, 0x0f, 0x05,
    ];
    write_file(fd, 0, &code);
    let aspace = p.new_address_space().unwrap();
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    aspace.map(CODE, 0x1000, 0, rx).unwrap();
    let mut ctx = p.new_context().unwrap();
    let mut st = CpuState::default();
    st.regs.rip = CODE;
    st.regs.eflags = 0x202;
    st.regs.rcx = 0x1111_2222_3333;
    st.regs.r11 = 0x4444;
    st.regs.r12 = 0x5555_6666;
    st.regs.fs_base = 0x7000_0000;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert_eq!(ev, Event::Syscall);
    assert_eq!((st.regs.rdi, st.regs.rsi), (0x1111_2222_3333, 0x4444));
    assert_eq!(st.regs.r12, 0x5555_6666);
    assert_eq!(st.regs.fs_base, 0x7000_0000);
    // Spin until interrupted from another thread.
    let kick = ctx.interrupter();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        kick.interrupt();
    });
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    t.join().unwrap();
    assert_eq!(ev, Event::Interrupted);
    assert!(
        (CODE + 8..CODE + 11).contains(&st.regs.rip),
        "{:#x}",
        st.regs.rip
    );
    assert_eq!(st.regs.r12, 0x5555_6666);
    // Resume elsewhere: the registers given now count, not where it stopped.
    st.regs.rip = CODE + 11;
    st.regs.r12 = 77;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert_eq!(ev, Event::Syscall);
    assert_eq!((st.regs.rip, st.regs.r12), (CODE + 13, 77));
    // An interrupt before the switch is honoured at once.
    ctx.interrupter().interrupt();
    assert_eq!(
        ctx.switch(aspace.as_ref(), &mut st).unwrap(),
        Event::Interrupted
    );
}

/// Privileged instructions in user mode fault (#GP → SIGSEGV): in particular the
/// stub's own `out` cannot be used to fake an exit, nor its code entered to run them.
#[test]
fn privileged_instructions_fault_in_user_mode() {
    let fd = memfd(1 << 30);
    let Some(p) = platform_or_skip(fd) else {
        return;
    };
    // out %al,$0x5a; hlt; mov %rax,%cr3; wrmsr; cli
    let code = [0xe6, 0x5a, 0xf4, 0x0f, 0x22, 0xd8, 0x0f, 0x30, 0xfa];
    write_file(fd, 0, &code);
    let aspace = p.new_address_space().unwrap();
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    aspace.map(CODE, 0x1000, 0, rx).unwrap();
    let mut ctx = p.new_context().unwrap();
    let mut st = CpuState::default();
    st.regs.eflags = 0x202;
    for (off, len) in [(0, 2), (2, 1), (3, 3), (6, 2), (8, 1)] {
        st.regs.rip = CODE + off;
        let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
        assert!(
            matches!(
                ev,
                Event::Fault {
                    signo: libc::SIGSEGV,
                    ..
                }
            ),
            "instruction at +{off}: {ev:?}"
        );
        assert_eq!(st.regs.rip, CODE + off, "len {len}");
    }
}

/// Each thread keeps its FP state when vCPUs change hands: two contexts alternate on
/// the pool's vCPUs, each reading its XMM0 in user mode.
#[test]
fn fp_state_follows_the_thread() {
    let fd = memfd(1 << 30);
    let Some(p) = platform_or_skip(fd) else {
        return;
    };
    // 0: movq %xmm0,%rdi; syscall; jmp 0
    let code = [0x66, 0x48, 0x0f, 0x7e, 0xc7, 0x0f, 0x05, 0xeb, 0xf7];
    write_file(fd, 0, &code);
    let aspace = p.new_address_space().unwrap();
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    aspace.map(CODE, 0x1000, 0, rx).unwrap();
    let start = || {
        let mut st = CpuState::default();
        st.regs.rip = CODE;
        st.regs.eflags = 0x202;
        st
    };
    const XMM0: usize = 160;
    let value = 0x1122_3344_5566_7788u64;
    let (mut a, mut sa) = (p.new_context().unwrap(), start());
    let (mut b, mut sb) = (p.new_context().unwrap(), start());
    a.load_fp(&mut sa).unwrap();
    sa.fp[XMM0..XMM0 + 8].copy_from_slice(&value.to_le_bytes());
    sa.fp[512] |= 2; // XSTATE_BV: the SSE registers are in the image
    a.store_fp(&mut sa).unwrap();
    for round in 0..3 {
        assert_eq!(a.switch(aspace.as_ref(), &mut sa).unwrap(), Event::Syscall);
        assert_eq!(sa.regs.rdi, value, "round {round}");
        assert_eq!(b.switch(aspace.as_ref(), &mut sb).unwrap(), Event::Syscall);
        assert_eq!(sb.regs.rdi, 0, "round {round}");
    }
    a.load_fp(&mut sa).unwrap();
    assert_eq!(sa.fp[XMM0..XMM0 + 8], value.to_le_bytes());
    // Held by another thread meanwhile: b's switch on another thread.
    let t = std::thread::spawn(move || {
        let r = b.switch(aspace.as_ref(), &mut sb).unwrap();
        (r, sb.regs.rdi)
    });
    assert_eq!(t.join().unwrap(), (Event::Syscall, 0));
}

/// A thread entered with the trap flag set single-steps its own first instruction, even
/// when rcx/r11 differ from what `sysretq` leaves (the stub's trampoline path).
#[test]
fn single_step_starts_at_the_thread() {
    let fd = memfd(1 << 30);
    let Some(p) = platform_or_skip(fd) else {
        return;
    };
    // nop; nop; syscall
    write_file(fd, 0, &[0x90, 0x90, 0x0f, 0x05]);
    let aspace = p.new_address_space().unwrap();
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    aspace.map(CODE, 0x1000, 0, rx).unwrap();
    let mut ctx = p.new_context().unwrap();
    let mut st = CpuState::default();
    st.regs.rip = CODE;
    st.regs.eflags = 0x302; // TF
    st.regs.rcx = 0x1234;
    st.regs.r11 = 0x5678;
    let ev = ctx.switch(aspace.as_ref(), &mut st).unwrap();
    assert!(
        matches!(
            ev,
            Event::Fault {
                signo: libc::SIGTRAP,
                ..
            }
        ),
        "{ev:?}"
    );
    assert_eq!(st.regs.rip, CODE + 1);
    assert_eq!((st.regs.rcx, st.regs.r11), (0x1234, 0x5678));
    st.regs.eflags = 0x202;
    assert_eq!(
        ctx.switch(aspace.as_ref(), &mut st).unwrap(),
        Event::Syscall
    );
    assert_eq!(st.regs.rip, CODE + 4);
}
