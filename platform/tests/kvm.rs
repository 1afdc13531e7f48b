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
    match platform::new_platform("kvm", fd) {
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
