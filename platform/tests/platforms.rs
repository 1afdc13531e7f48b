//! The platform contract (DESIGN.md §4) checked directly, without the sentry: tiny
//! machine-code programs run in a fresh address space on every platform, and each
//! event `switch` returns is compared with what the x86-64 hardware and Linux do.

use platform::{AddressSpace, Context, CpuState, Event, Perms, Platform, Regs};
use std::sync::Arc;
use std::time::Duration;

const PLATFORMS: &[&str] = &["ptrace", "seccomp"];
/// Where the test programs' code and data pages are mapped.
const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x50_0000;
const PAGE: u64 = 4096;
const RX: Perms = Perms {
    read: true,
    write: false,
    exec: true,
};
const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};

/// A memory file of two pages (code, data), also mapped into the test process.
struct MemFile {
    fd: i32,
    ptr: *mut u8,
}

impl MemFile {
    fn new(code: &[u8]) -> MemFile {
        // SAFETY: plain libc calls creating and mapping a fresh memfd; results checked.
        unsafe {
            let fd = libc::memfd_create(c"platform-test".as_ptr(), 0);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, 2 * PAGE as i64), 0);
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            assert_ne!(ptr, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(code.as_ptr(), ptr.cast(), code.len());
            MemFile {
                fd,
                ptr: ptr.cast(),
            }
        }
    }

    fn set_code(&self, code: &[u8]) {
        assert!(code.len() <= PAGE as usize);
        // SAFETY: writes inside the code page of our mapping.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), self.ptr, code.len()) }
    }

    fn data_u64(&self, off: u64) -> u64 {
        // SAFETY: reads inside the data page of our mapping.
        unsafe { std::ptr::read_volatile(self.ptr.add((PAGE + off) as usize).cast()) }
    }

    fn set_data_u64(&self, off: u64, v: u64) {
        // SAFETY: writes inside the data page of our mapping.
        unsafe { std::ptr::write_volatile(self.ptr.add((PAGE + off) as usize).cast(), v) }
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        // SAFETY: unmaps and closes what `new` created.
        unsafe {
            libc::munmap(self.ptr.cast(), 2 * PAGE as usize);
            libc::close(self.fd);
        }
    }
}

struct Machine {
    // Field order is drop order: the stub goes before the memory file closes.
    ctx: Box<dyn Context>,
    aspace: Arc<dyn AddressSpace>,
    platform: Arc<dyn Platform>,
    mem: MemFile,
    cpu: CpuState,
}

impl Machine {
    /// `code` mapped at CODE (r-x), a data page at DATA (rw-), rip at CODE.
    fn new(name: &str, code: &[u8]) -> Machine {
        let mem = MemFile::new(code);
        let platform = platform::new_platform(name, mem.fd).unwrap();
        let aspace = platform.new_address_space().unwrap();
        aspace.map(CODE, PAGE, 0, RX).unwrap();
        aspace.map(DATA, PAGE, PAGE, RW).unwrap();
        let ctx = platform.new_context().unwrap();
        let cpu = CpuState {
            regs: Regs {
                rip: CODE,
                rsp: DATA + PAGE - 64,
                cs: 0x33,
                ss: 0x2b,
                eflags: 0x202,
                ..Default::default()
            },
            ..Default::default()
        };
        Machine {
            ctx,
            aspace,
            platform,
            mem,
            cpu,
        }
    }

    fn run(&mut self) -> Event {
        self.ctx
            .switch(self.aspace.as_ref(), &mut self.cpu)
            .unwrap()
    }
}

fn assert_fault(ev: Event, signo: i32) -> (u64, platform::Access) {
    match ev {
        Event::Fault {
            addr,
            access,
            signo: s,
            ..
        } if s == signo => (addr, access),
        other => panic!("expected a fault with signal {signo}, got {other:?}"),
    }
}

/// `mov edi, 7; mov eax, 39; syscall; mov [DATA+0x100], rax; int3`
const SYSCALL_PROG: &[u8] = &[
    0xbf, 0x07, 0, 0, 0, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0x04, 0x25, 0x00, 0x01, 0x50,
    0x00, 0xcc,
];

#[test]
fn syscall_stops_with_number_and_arguments_and_takes_the_result() {
    for name in PLATFORMS {
        let mut m = Machine::new(name, SYSCALL_PROG);
        assert_eq!(m.run(), Event::Syscall, "{name}");
        let (nr, args) = m.cpu.regs.syscall_args();
        assert_eq!((nr, args[0]), (39, 7), "{name}");
        assert_eq!(m.cpu.regs.rip, CODE + 12, "{name}: rip after the syscall");
        m.cpu.regs.rax = 0x1234_5678;
        assert_fault(m.run(), libc::SIGTRAP);
        assert_eq!(m.mem.data_u64(0x100), 0x1234_5678, "{name}");
        assert_eq!(m.cpu.regs.rip, CODE + 21, "{name}: rip after int3");
    }
}

/// `mov rax, fs:[0]; mov rbx, gs:[0]; movq rcx, xmm0; int3`
const BASES_PROG: &[u8] = &[
    0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x65, 0x48, 0x8b, 0x1c, 0x25, 0, 0, 0, 0, 0x66, 0x48,
    0x0f, 0x7e, 0xc1, 0xcc,
];

#[test]
fn fs_and_gs_bases_are_the_threads_and_fp_state_starts_clean() {
    for name in PLATFORMS {
        let mut m = Machine::new(name, BASES_PROG);
        m.mem.set_data_u64(0x10, 0xf5f5);
        m.mem.set_data_u64(0x20, 0x6565);
        m.cpu.regs.fs_base = DATA + 0x10;
        m.cpu.regs.gs_base = DATA + 0x20;
        assert_fault(m.run(), libc::SIGTRAP);
        assert_eq!((m.cpu.regs.rax, m.cpu.regs.rbx), (0xf5f5, 0x6565), "{name}");
        assert_eq!(m.cpu.regs.fs_base, DATA + 0x10, "{name}");
        if *name == "seccomp" {
            assert_eq!(m.cpu.regs.rcx, 0, "{name}: xmm0 of a new thread");
        }
        m.ctx.load_fp(&mut m.cpu).unwrap();
        assert!(m.cpu.fp_loaded && m.cpu.fp.len() >= 512, "{name}");
        // Change the bases and run the program again.
        m.mem.set_data_u64(0x30, 0x3030);
        m.cpu.regs.fs_base = DATA + 0x30;
        m.cpu.regs.rip = CODE;
        assert_fault(m.run(), libc::SIGTRAP);
        assert_eq!((m.cpu.regs.rax, m.cpu.regs.rbx), (0x3030, 0x6565), "{name}");
    }
}

#[test]
fn faults_report_address_and_access() {
    // mov dword [0x600000], 1 / mov eax, [0x600000] / jmp to 0x600000 (call rax)
    let write: &[u8] = &[0xc7, 0x04, 0x25, 0, 0, 0x60, 0, 1, 0, 0, 0];
    let read: &[u8] = &[0x8b, 0x04, 0x25, 0, 0, 0x60, 0];
    let exec: &[u8] = &[0x48, 0xc7, 0xc0, 0, 0, 0x60, 0, 0xff, 0xd0];
    let write_data_as_code: &[u8] = &[0x48, 0xc7, 0xc0, 0, 0, 0x50, 0, 0xff, 0xd0];
    for name in PLATFORMS {
        for (prog, addr, kind) in [
            (write, 0x60_0000, "write"),
            (read, 0x60_0000, "read"),
            (exec, 0x60_0000, "exec"),
            (write_data_as_code, DATA, "exec"),
        ] {
            let mut m = Machine::new(name, prog);
            let (a, access) = assert_fault(m.run(), libc::SIGSEGV);
            assert_eq!(a, addr, "{name} {kind}");
            if *name == "seccomp" {
                let got = match (access.read, access.write, access.exec) {
                    (true, false, false) => "read",
                    (false, true, false) => "write",
                    (false, false, true) => "exec",
                    _ => "unknown",
                };
                assert_eq!(got, kind, "{name}");
            }
        }
    }
}

#[test]
fn interrupt_stops_a_spinning_thread() {
    for name in PLATFORMS {
        // jmp $
        let mut m = Machine::new(name, &[0xeb, 0xfe]);
        let int = m.ctx.interrupter();
        // Interrupting before the switch makes it return at once.
        int.interrupt();
        assert_eq!(m.run(), Event::Interrupted, "{name}");
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            int.interrupt();
        });
        assert_eq!(m.run(), Event::Interrupted, "{name}");
        assert_eq!(m.cpu.regs.rip, CODE, "{name}");
        t.join().unwrap();
    }
}

#[test]
fn mappings_in_the_stub_region_are_refused() {
    for name in PLATFORMS {
        let m = Machine::new(name, &[0xcc]);
        let top = m.platform.max_user_addr();
        if *name == "seccomp" {
            assert!(m.aspace.map(top, PAGE, 0, RW).is_err(), "{name}");
            assert!(m.aspace.map(top - PAGE, 2 * PAGE, 0, RW).is_err(), "{name}");
            assert!(m.aspace.unmap(top, PAGE).is_err(), "{name}");
        }
        assert!(m.aspace.map(top - PAGE, PAGE, 0, RW).is_ok(), "{name}");
    }
}

/// The application forges an event in its own shared area (whose layout it can learn):
/// a frame pointer outside its stack. The sentry must kill that stub and go on.
#[test]
fn a_forged_event_kills_only_the_stub() {
    let mut m = Machine::new("seccomp", &[]);
    let area0 = m.platform.max_user_addr() + 0x10000;
    // mov rax, area0; mov qword [rax+24], 0x1234; mov dword [rax], 2; jmp $
    let mut prog = vec![0x48, 0xb8];
    prog.extend_from_slice(&area0.to_le_bytes());
    prog.extend_from_slice(&[0x48, 0xc7, 0x40, 0x18, 0x34, 0x12, 0, 0]);
    prog.extend_from_slice(&[0xc7, 0x00, 0x02, 0, 0, 0]);
    prog.extend_from_slice(&[0xeb, 0xfe]);
    m.mem.set_code(&prog);
    let r = m.ctx.switch(m.aspace.as_ref(), &mut m.cpu);
    assert!(r.is_err(), "forged event accepted: {r:?}");
    // The stub is gone: requests fail instead of hanging.
    assert!(m.aspace.map(DATA, PAGE, PAGE, RW).is_err());
}
