//! The platform contract (DESIGN.md §4) checked directly, without the sentry: tiny
//! machine-code programs run in a fresh address space on every platform, and each
//! event `switch` returns is compared with what the x86-64 hardware and Linux do.

use platform::{AddressSpace, Context, CpuState, Event, Perms, Platform, PlatformError, Regs};
use std::sync::{Arc, mpsc};
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

/// A memory file of `pages` pages (code, data, …), also mapped into the test process.
struct MemFile {
    fd: i32,
    ptr: *mut u8,
    pages: u64,
}

impl MemFile {
    fn new(code: &[u8]) -> MemFile {
        MemFile::with_pages(code, 2)
    }

    fn with_pages(code: &[u8], pages: u64) -> MemFile {
        // SAFETY: plain libc calls creating and mapping a fresh memfd; results checked.
        unsafe {
            let fd = libc::memfd_create(c"platform-test".as_ptr(), 0);
            assert!(fd >= 0);
            assert_eq!(libc::ftruncate(fd, (pages * PAGE) as i64), 0);
            let ptr = libc::mmap(
                std::ptr::null_mut(),
                (pages * PAGE) as usize,
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
                pages,
            }
        }
    }

    fn set_u64(&self, file_off: u64, v: u64) {
        assert!(file_off + 8 <= self.pages * PAGE);
        // SAFETY: writes inside our mapping (checked above).
        unsafe { std::ptr::write_volatile(self.ptr.add(file_off as usize).cast(), v) }
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
            libc::munmap(self.ptr.cast(), (self.pages * PAGE) as usize);
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
        let platform = platform::new_platform(name, mem.fd, platform::Options::default()).unwrap();
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

#[test]
fn a_map_batch_maps_every_run_and_refuses_the_stub_region() {
    // mov rax, [0x600000]; mov rbx, [0x602000]; mov rcx, [0x610000]; int3
    let prog: &[u8] = &[
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x20, 0x60,
        0x00, 0x48, 0x8b, 0x0c, 0x25, 0x00, 0x00, 0x61, 0x00, 0xcc,
    ];
    for name in PLATFORMS {
        let mem = MemFile::with_pages(prog, 5);
        for (page, v) in [(2u64, 0x22u64), (3, 0x33), (4, 0x44)] {
            mem.set_u64(page * PAGE, v);
        }
        let platform =
            platform::new_platform(name, mem.fd, platform::Options::default()).unwrap();
        let aspace = platform.new_address_space().unwrap();
        aspace
            .map_batch(&[
                (CODE, PAGE, 0, RX),
                (0x60_0000, PAGE, 4 * PAGE, RW),
                (0x60_2000, PAGE, 2 * PAGE, RW),
                (0x61_0000, PAGE, 3 * PAGE, RW),
            ])
            .unwrap();
        // (ptrace does not guard its stub region; see mappings_in_the_stub_region_...)
        if *name == "seccomp" {
            let bad = platform.max_user_addr();
            assert!(
                aspace
                    .map_batch(&[(0x62_0000, PAGE, 0, RW), (bad, PAGE, 0, RW)])
                    .is_err(),
                "{name}: a batch reaching the stub region"
            );
        }
        let mut ctx = platform.new_context().unwrap();
        let mut cpu = CpuState {
            regs: Regs {
                rip: CODE,
                rsp: 0x60_1000,
                cs: 0x33,
                ss: 0x2b,
                eflags: 0x202,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_fault(ctx.switch(aspace.as_ref(), &mut cpu).unwrap(), libc::SIGTRAP);
        let r = &cpu.regs;
        assert_eq!((r.rax, r.rbx, r.rcx), (0x44, 0x22, 0x33), "{name}");
        drop(ctx);
        drop(aspace);
    }
}

#[test]
fn a_patched_site_enters_the_sentry_without_a_trap_and_keeps_fp_state() {
    let mem = MemFile::with_pages(&[], 2);
    let opts = platform::Options {
        seccomp_patch: true,
    };
    let platform = platform::new_platform("seccomp", mem.fd, opts).unwrap();
    // The trampoline of a getpid site returning to CODE+0x100, where the program
    // stores rax and xmm0 (movq rcx, xmm0) and stops: int3.
    let ret = CODE + 0x100;
    let tramp = platform
        .syscall_trampoline(&[0xb8, 39, 0, 0, 0], ret)
        .expect("seccomp patches");
    let mut code = vec![0u8; 0x110];
    code[..tramp.len()].copy_from_slice(&tramp);
    code[0x100..0x106].copy_from_slice(&[0x66, 0x48, 0x0f, 0x7e, 0xc1, 0xcc]);
    mem.set_code(&code);
    let aspace = platform.new_address_space().unwrap();
    aspace.map(CODE, PAGE, 0, RX).unwrap();
    aspace.map(DATA, PAGE, PAGE, RW).unwrap();
    let mut ctx = platform.new_context().unwrap();
    let mut cpu = CpuState {
        regs: Regs {
            rip: CODE,
            rsp: DATA + PAGE - 64,
            rdi: 7,
            r12: 0x1212,
            cs: 0x33,
            ss: 0x2b,
            // CF and ZF set: the flags must reach the sentry as the application had them.
            eflags: 0x243,
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ctx.switch(aspace.as_ref(), &mut cpu).unwrap(), Event::Syscall);
    assert!(!ctx.syscall_trapped(), "the event came through the fast path");
    let (nr, args) = cpu.regs.syscall_args();
    assert_eq!((nr, args[0], cpu.regs.rip), (39, 7, ret));
    assert_eq!((cpu.regs.rsp, cpu.regs.r12), (DATA + PAGE - 64, 0x1212));
    assert_eq!(cpu.regs.rcx, ret, "rcx holds the return address, as after syscall");
    assert_eq!(cpu.regs.eflags & 0x41, 0x41, "CF and ZF as the application left them");
    assert_eq!(cpu.regs.r11, cpu.regs.eflags, "r11 holds rflags, as after syscall");
    // The thread's FP state, saved on request and changed: xmm0's low half.
    ctx.load_fp(&mut cpu).unwrap();
    assert!(cpu.fp.len() >= 512);
    cpu.fp[160..168].copy_from_slice(&0x5555_6666u64.to_le_bytes());
    // XSTATE_BV: the SSE registers are not in their initial state any more.
    cpu.fp[512] |= 2;
    ctx.store_fp(&mut cpu).unwrap();
    cpu.regs.rax = 0x77;
    assert_fault(ctx.switch(aspace.as_ref(), &mut cpu).unwrap(), libc::SIGTRAP);
    assert_eq!(cpu.regs.rax, 0x77);
    assert_eq!(cpu.regs.rcx, 0x5555_6666, "xmm0 as the sentry stored it");
    assert_eq!(cpu.regs.r12, 0x1212);
    drop(ctx);
    drop(aspace);
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
        assert_eq!(m.cpu.regs.rcx, 0, "{name}: xmm0 of a new thread");
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

/// The application queues a mapping in its own area's map queue (whose layout it can
/// learn) before it traps: the stub must not make it when the sentry resumes the thread.
#[test]
fn a_forged_map_queue_is_not_run() {
    const DATA2: u64 = 0x70_0000;
    let code = [
        0x48, 0x89, 0xb3, 0x00, 0x04, 0x00, 0x00, // mov [rbx+0x400], rsi   (address)
        0x48, 0xc7, 0x83, 0x08, 0x04, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, // len 4096
        0x48, 0xc7, 0x83, 0x10, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, // prot rw
        0x48, 0xc7, 0x83, 0x18, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // offset 0
        0x89, 0x93, 0x8c, 0x00, 0x00, 0x00, // mov [rbx+140], edx      (the memory file)
        0xc7, 0x83, 0x88, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // one entry queued
        0xb8, 0x27, 0x00, 0x00, 0x00, // mov eax, 39 (getpid)
        0x0f, 0x05, // syscall
        0x48, 0x8b, 0x06, // mov rax, [rsi]
        0xeb, 0xfe, // jmp $
    ];
    let mut m = Machine::new("seccomp", &code);
    m.cpu.regs.rbx = m.platform.max_user_addr() + 0x10000;
    m.cpu.regs.rsi = DATA2;
    m.cpu.regs.rdx = m.mem.fd as u64;
    assert_eq!(m.run(), Event::Syscall);
    // Had the forged mapping been made, the load would succeed and the thread spin.
    let int = m.ctx.interrupter();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(2)).is_err() {
            int.interrupt();
        }
    });
    let ev = m.run();
    let _ = done.send(());
    t.join().unwrap();
    let (addr, _) = assert_fault(ev, libc::SIGSEGV);
    assert_eq!(addr, DATA2);
}

// ---- Several application threads in one address space ----

/// Programs of the thread tests, at these offsets of the code page.
///
/// LOOP: `mov rax, rbx; syscall; inc rdi; jmp LOOP` — a syscall numbered rbx, counting
/// in rdi.
const LOOP: u64 = 0;
/// SPIN: `jmp $`.
const SPIN: u64 = 0x20;
/// READ: `mov rax, [EXTRA]; syscall; int3` — a syscall numbered by the word at EXTRA.
const READ: u64 = 0x40;
/// SET_XMM: `movq xmm0, rax; syscall; movq rcx, xmm0; int3`.
const SET_XMM: u64 = 0x60;
/// GET_XMM: `movq rcx, xmm0; int3`.
const GET_XMM: u64 = 0x80;
/// A third page, mapped by some tests.
const EXTRA: u64 = 0x60_0000;

fn thread_programs() -> Vec<u8> {
    let mut code = vec![0xcc; PAGE as usize];
    let mut put = |off: u64, bytes: &[u8]| {
        code[off as usize..off as usize + bytes.len()].copy_from_slice(bytes)
    };
    put(
        LOOP,
        &[0x48, 0x89, 0xd8, 0x0f, 0x05, 0x48, 0xff, 0xc7, 0xeb, 0xf6],
    );
    put(SPIN, &[0xeb, 0xfe]);
    let mut read = vec![0x48, 0x8b, 0x04, 0x25];
    read.extend_from_slice(&(EXTRA as u32).to_le_bytes());
    read.extend_from_slice(&[0x0f, 0x05, 0xcc]);
    put(READ, &read);
    put(
        SET_XMM,
        &[
            0x66, 0x48, 0x0f, 0x6e, 0xc0, 0x0f, 0x05, 0x66, 0x48, 0x0f, 0x7e, 0xc1, 0xcc,
        ],
    );
    put(GET_XMM, &[0x66, 0x48, 0x0f, 0x7e, 0xc1, 0xcc]);
    code
}

/// Registers of a thread starting at `prog` in the code page.
fn cpu_at(prog: u64) -> CpuState {
    CpuState {
        regs: Regs {
            rip: CODE + prog,
            rsp: DATA + PAGE - 64,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A LOOP thread's registers: syscall number `marker`, counter from 0.
fn loop_cpu(marker: u64) -> CpuState {
    let mut cpu = cpu_at(LOOP);
    cpu.regs.rbx = marker;
    cpu.regs.rsi = marker * 3;
    cpu
}

/// Runs `n` more syscalls of a LOOP thread, checking each is its own.
fn run_loop(ctx: &mut dyn Context, aspace: &dyn AddressSpace, cpu: &mut CpuState, n: u64) {
    let marker = cpu.regs.rbx;
    for _ in 0..n {
        // The counter goes up after each syscall but the first.
        let count = cpu.regs.rdi + u64::from(cpu.regs.rip != CODE + LOOP);
        let ev = ctx.switch(aspace, cpu).unwrap();
        assert_eq!(ev, Event::Syscall, "thread {marker}");
        assert_eq!(cpu.regs.orig_rax, marker, "thread {marker}: number");
        assert_eq!(cpu.regs.rbx, marker, "thread {marker}: rbx");
        assert_eq!(cpu.regs.rsi, marker * 3, "thread {marker}: rsi");
        assert_eq!(cpu.regs.rdi, count, "thread {marker}: counter");
        assert_eq!(cpu.regs.rip, CODE + LOOP + 5, "thread {marker}: rip");
        cpu.regs.rax = count;
    }
}

/// An address space with the thread programs at CODE, a data page at DATA, and a third
/// file page (unmapped), on platform `name`; None (with the reason printed) if the
/// platform is unavailable here.
struct Space {
    aspace: Arc<dyn AddressSpace>,
    platform: Arc<dyn Platform>,
    mem: MemFile,
}

impl Space {
    fn new(name: &str) -> Option<Space> {
        let mem = MemFile::with_pages(&thread_programs(), 3);
        let made = platform::new_platform(name, mem.fd, platform::Options::default())
            .and_then(|p| p.new_address_space().map(|a| (p, a)));
        let (platform, aspace) = match made {
            Ok(made) => made,
            Err(e) => {
                println!("skipping the {name} platform: {e}");
                return None;
            }
        };
        aspace.map(CODE, PAGE, 0, RX).unwrap();
        aspace.map(DATA, PAGE, PAGE, RW).unwrap();
        Some(Space {
            aspace,
            platform,
            mem,
        })
    }

    /// Drops the address space (every context in it is gone) and checks that its stub
    /// process has been reaped.
    fn close(self, name: &str) {
        let pid = stub_pid(self.aspace.as_ref());
        drop(self);
        assert!(reaped(pid), "{name}: stub {pid} not reaped");
    }

    /// The first thread: a context bound (on the calling thread, the creator) and stopped
    /// at its first LOOP syscall.
    fn first_thread(&self, marker: u64) -> (Box<dyn Context>, CpuState) {
        let mut ctx = self.platform.new_context().unwrap();
        let mut cpu = loop_cpu(marker);
        run_loop(ctx.as_mut(), self.aspace.as_ref(), &mut cpu, 1);
        (ctx, cpu)
    }
}

/// The stub process behind an address space.
fn stub_pid(aspace: &dyn AddressSpace) -> i32 {
    let any = aspace.as_any();
    if let Some(a) = any.downcast_ref::<platform::ptrace::PtraceAddressSpace>() {
        return a.pid();
    }
    any.downcast_ref::<platform::seccomp::SeccompAddressSpace>()
        .map(|a| a.pid())
        .expect("a known address space")
}

/// Whether `pid` is no longer a child of this process (reaped).
fn reaped(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: a non-blocking waitpid; it only reaps if the stub is a leaked zombie.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG | libc::__WALL) };
    r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
}

fn assert_unsupported<T: std::fmt::Debug>(r: Result<T, PlatformError>, what: &str) {
    match r {
        Err(PlatformError::Unsupported(_)) => {}
        other => panic!("{what}: expected Unsupported, got {other:?}"),
    }
}

#[test]
fn threads_run_concurrently_and_see_only_their_own_syscalls() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (mut ctx, mut cpu) = sp.first_thread(1000);
        sp.aspace.prepare_thread().unwrap();
        let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
        let other = std::thread::spawn(move || {
            let mut ctx = platform.new_context().unwrap();
            let mut cpu = loop_cpu(1001);
            run_loop(ctx.as_mut(), aspace.as_ref(), &mut cpu, 2000);
        });
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 2000);
        other.join().unwrap();
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn a_new_thread_sees_mappings_and_its_unmap_faults_the_first() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (mut ctx, mut cpu) = sp.first_thread(1000);
        // Thread 1, stopped in a syscall, maps the third page.
        sp.mem.set_u64(2 * PAGE, 0xabcdef);
        sp.aspace.map(EXTRA, PAGE, 2 * PAGE, RW).unwrap();
        sp.aspace.prepare_thread().unwrap();
        let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
        let (unmapped_tx, unmapped_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            let mut ctx = platform.new_context().unwrap();
            let mut cpu = cpu_at(READ);
            assert_eq!(
                ctx.switch(aspace.as_ref(), &mut cpu).unwrap(),
                Event::Syscall
            );
            assert_eq!(
                cpu.regs.orig_rax, 0xabcdef,
                "thread 2 reads thread 1's mapping"
            );
            // Thread 2, stopped, unmaps it.
            aspace.unmap(EXTRA, PAGE).unwrap();
            unmapped_tx.send(()).unwrap();
            done_rx.recv().unwrap();
        });
        unmapped_rx.recv().unwrap();
        // A sentry thread with no context in the address space may not change it.
        let aspace = sp.aspace.clone();
        std::thread::spawn(move || {
            assert_unsupported(aspace.map(EXTRA, PAGE, 2 * PAGE, RW), "map from a stranger");
            assert_unsupported(aspace.unmap(EXTRA, PAGE), "unmap from a stranger");
            assert_unsupported(aspace.prepare_thread(), "prepare_thread from a stranger");
        })
        .join()
        .unwrap();
        cpu.regs.rip = CODE + READ;
        let (addr, _) = assert_fault(
            ctx.switch(sp.aspace.as_ref(), &mut cpu).unwrap(),
            libc::SIGSEGV,
        );
        assert_eq!(addr, EXTRA, "{name}");
        done_tx.send(()).unwrap();
        other.join().unwrap();
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn interrupt_stops_only_its_own_thread() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (mut ctx, mut cpu) = sp.first_thread(1000);
        sp.aspace.prepare_thread().unwrap();
        let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
        let (int_tx, int_rx) = mpsc::channel();
        let spinner = std::thread::spawn(move || {
            let mut ctx = platform.new_context().unwrap();
            int_tx.send(ctx.interrupter()).unwrap();
            let mut cpu = cpu_at(SPIN);
            assert_eq!(
                ctx.switch(aspace.as_ref(), &mut cpu).unwrap(),
                Event::Interrupted
            );
            assert_eq!(cpu.regs.rip, CODE + SPIN);
        });
        let int = int_rx.recv().unwrap();
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 200);
        std::thread::sleep(Duration::from_millis(50));
        int.interrupt();
        // The first thread goes on undisturbed.
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 500);
        spinner.join().unwrap();
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 100);
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn a_new_thread_starts_with_clean_fp_state() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let mut ctx = sp.platform.new_context().unwrap();
        let mut cpu = cpu_at(SET_XMM);
        cpu.regs.rax = 0x1234_5678;
        assert_eq!(
            ctx.switch(sp.aspace.as_ref(), &mut cpu).unwrap(),
            Event::Syscall
        );
        sp.aspace.prepare_thread().unwrap();
        let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
        std::thread::spawn(move || {
            let mut ctx = platform.new_context().unwrap();
            let mut cpu = cpu_at(GET_XMM);
            cpu.regs.rcx = 77;
            assert_fault(
                ctx.switch(aspace.as_ref(), &mut cpu).unwrap(),
                libc::SIGTRAP,
            );
            assert_eq!(cpu.regs.rcx, 0, "xmm0 of a new thread");
            ctx.load_fp(&mut cpu).unwrap();
            let fcw = u16::from_le_bytes([cpu.fp[0], cpu.fp[1]]);
            let mxcsr = u32::from_le_bytes(cpu.fp[24..28].try_into().unwrap());
            assert_eq!((fcw, mxcsr), (0x37f, 0x1f80));
        })
        .join()
        .unwrap();
        // The first thread kept its own.
        assert_fault(
            ctx.switch(sp.aspace.as_ref(), &mut cpu).unwrap(),
            libc::SIGTRAP,
        );
        assert_eq!(
            cpu.regs.rcx, 0x1234_5678,
            "{name}: xmm0 of the first thread"
        );
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn threads_come_and_go_and_slots_are_reused() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (mut ctx, mut cpu) = sp.first_thread(1000);
        // More than fit at once on seccomp: their slots must be reused.
        let rounds = if *name == "seccomp" {
            platform::seccomp::MAX_THREADS + 20
        } else {
            100
        };
        for i in 0..rounds {
            sp.aspace.prepare_thread().unwrap();
            let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
            std::thread::spawn(move || {
                let mut ctx = platform.new_context().unwrap();
                let mut cpu = loop_cpu(2000 + i);
                run_loop(ctx.as_mut(), aspace.as_ref(), &mut cpu, 3);
            })
            .join()
            .unwrap();
        }
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 10);
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn sixty_four_threads_run_at_once() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (mut ctx, mut cpu) = sp.first_thread(1000);
        let threads: Vec<_> = (1..64)
            .map(|i| {
                sp.aspace.prepare_thread().unwrap();
                let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
                std::thread::spawn(move || {
                    let mut ctx = platform.new_context().unwrap();
                    let mut cpu = loop_cpu(1000 + i);
                    run_loop(ctx.as_mut(), aspace.as_ref(), &mut cpu, 200);
                })
            })
            .collect();
        run_loop(ctx.as_mut(), sp.aspace.as_ref(), &mut cpu, 200);
        for t in threads {
            t.join().unwrap();
        }
        drop(ctx);
        sp.close(name);
    }
}

#[test]
fn binding_needs_a_prepared_thread_and_seccomp_has_a_limit() {
    for name in PLATFORMS {
        let Some(sp) = Space::new(name) else { continue };
        let (_ctx, _cpu) = sp.first_thread(1000);
        let mut second = sp.platform.new_context().unwrap();
        assert_unsupported(
            second.switch(sp.aspace.as_ref(), &mut loop_cpu(1001)),
            "binding with no thread prepared",
        );
        if *name == "seccomp" {
            for _ in 1..platform::seccomp::MAX_THREADS {
                sp.aspace.prepare_thread().unwrap();
            }
            assert_unsupported(sp.aspace.prepare_thread(), "one thread too many");
        }
        drop(second);
        drop(_ctx);
        sp.close(name);
    }
}

/// How the test below lets go of a two-thread address space.
#[derive(Clone, Copy, Debug)]
enum DropOrder {
    ContextsFirst,
    AddressSpaceFirst,
    /// The second context is dropped on the first thread's sentry thread.
    ContextOnAnotherThread,
}

#[test]
fn no_stub_process_survives_in_any_drop_order() {
    for name in PLATFORMS {
        for order in [
            DropOrder::ContextsFirst,
            DropOrder::AddressSpaceFirst,
            DropOrder::ContextOnAnotherThread,
        ] {
            let Some(sp) = Space::new(name) else { continue };
            let pid = stub_pid(sp.aspace.as_ref());
            let (ctx, _cpu) = sp.first_thread(1000);
            sp.aspace.prepare_thread().unwrap();
            let (aspace, platform) = (sp.aspace.clone(), sp.platform.clone());
            let (ctx_tx, ctx_rx) = mpsc::channel();
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let other = std::thread::spawn(move || {
                let mut ctx = platform.new_context().unwrap();
                let mut cpu = loop_cpu(1001);
                run_loop(ctx.as_mut(), aspace.as_ref(), &mut cpu, 3);
                drop(aspace);
                match order {
                    DropOrder::ContextsFirst => drop(ctx),
                    DropOrder::AddressSpaceFirst => {
                        go_rx.recv().unwrap();
                        drop(ctx);
                    }
                    DropOrder::ContextOnAnotherThread => {
                        ctx_tx.send(ctx).unwrap();
                        go_rx.recv().unwrap();
                    }
                }
            });
            match order {
                DropOrder::ContextsFirst => {
                    other.join().unwrap();
                    drop(ctx);
                    drop(sp);
                }
                DropOrder::AddressSpaceFirst => {
                    drop(sp);
                    drop(ctx);
                    go_tx.send(()).unwrap();
                    other.join().unwrap();
                }
                DropOrder::ContextOnAnotherThread => {
                    let theirs = ctx_rx.recv().unwrap();
                    drop(theirs);
                    drop(ctx);
                    drop(sp);
                    go_tx.send(()).unwrap();
                    other.join().unwrap();
                }
            }
            assert!(reaped(pid), "{name} {order:?}: stub {pid} not reaped");
        }
    }
}
