//! Memory shared between the sentry and one stub process: a memfd holding one aligned
//! area per stub thread. An area is a control page (the hand-off state word, waiting
//! flags, the stub's spin budget, one request slot and the thread's id, which the kernel
//! clears when the thread exits) followed by the thread's alternate signal stack, where
//! the kernel writes the signal frame the sentry reads and edits. The stub process can
//! write all of it at any time, so everything read back is validated here before use.

use crate::{PlatformError, Result};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Size and alignment of one thread's area: the stub finds its area by rounding its
/// stack pointer (on the alternate stack) down to this.
pub const AREA_SIZE: u64 = 0x10000;
/// Stub threads one stub process can have (areas in its shared memfd; untouched areas
/// cost no memory).
pub const MAX_THREADS: u64 = 256;
/// The control page at the start of an area; the signal stack is the rest.
pub const CONTROL_SIZE: u64 = 0x1000;
/// Largest spin budget (in `pause` iterations) the stub honours, whatever the shared
/// page says: the budget is writable by the application.
pub const MAX_STUB_SPIN: u32 = 1 << 16;

// Offsets in the control page (the stub's assembly uses the same constants).
pub const OFF_STATE: u64 = 0;
pub const OFF_STUB_WAITING: u64 = 4;
pub const OFF_SENTRY_WAITING: u64 = 8;
pub const OFF_STUB_SPIN: u64 = 12;
pub const OFF_INFO: u64 = 16;
pub const OFF_UCTX: u64 = 24;
pub const OFF_REQ_NR: u64 = 32;
pub const OFF_REQ_ARGS: u64 = 40;
pub const OFF_REQ_RESULT: u64 = 88;
/// The thread's id: written by the kernel when the thread is made (`CLONE_PARENT_SETTID`;
/// the initial thread writes its own) and cleared when it exits (`CLONE_CHILD_CLEARTID`,
/// `set_tid_address`).
pub const OFF_TID: u64 = 96;
/// The area's own address in the stub (the fast path finds its stack from it).
pub const OFF_SELF: u64 = 104;
/// Set by the handler when an interrupt reached the thread inside the fast path before
/// it began restoring the application's registers; the fast path then reports it.
pub const OFF_INTR: u64 = 112;
/// The sentry stored an FP image in the FP buffer for the fast path to load.
pub const OFF_FP_DIRTY: u64 = 116;
/// Why the fast path handed off: `FAST_SYSCALL` or `FAST_INTERRUPT`.
pub const OFF_FAST_KIND: u64 = 120;
/// Where a patched syscall site's trampoline jumps (`jmp *%gs:OFF_FAST_ENTRY`).
pub const OFF_FAST_ENTRY: u64 = 128;
/// Map-batch entries (at `OFF_BATCH`) the stub is to run before it next leaves its wait
/// loop, for a request or to resume the application: the sentry queues the mappings it
/// makes instead of asking for each (the thread cannot run before they are in place,
/// and every request runs them first, so they keep their order). The stub zeroes it;
/// so does the sentry whenever it takes the thread back (the application may have
/// written it), and the stub refuses entries that reach its own region.
pub const OFF_PENDING: u64 = 136;
/// The memory file's descriptor in the stub, for the pending mappings.
pub const OFF_PENDING_FD: u64 = 140;
/// The first failure (a negative errno) of a pending mapping, left by the stub for the
/// sentry, which reads and clears it after every hand-off.
pub const OFF_PENDING_ERR: u64 = 144;
/// How many times the stub yields its CPU, once its spin budget is spent, before it
/// sleeps (set by the sentry: a packed pair's sentry thread shares that CPU, so a yield
/// runs it without a wake-up).
pub const OFF_STUB_YIELDS: u64 = 152;
/// Largest yield count the stub honours (the word is writable by the application).
pub const MAX_STUB_YIELDS: u32 = 64;
/// Where the stub writes the `struct timespec` of its thread's CPU clock when the
/// sentry asks (a `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` request).
pub const OFF_CPUTIME: u64 = 240;
/// The application's registers while it is in the fast path, in the order of the first
/// `FAST_REGS` fields of `SigContext` (r8 … rcx, rsp, rip, eflags).
pub const OFF_FAST_REGS: u64 = 256;
pub const FAST_REGS: usize = 18;
pub const FAST_SYSCALL: u32 = 0;
pub const FAST_INTERRUPT: u32 = 1;
/// The FP buffer (XSAVE image of a thread in the fast path) follows the control page;
/// the signal stack is the rest of the area.
pub const FPBUF_OFF: u64 = CONTROL_SIZE;
pub const FPBUF_SIZE: u64 = 0x3000;
pub const SIGSTACK_OFF: u64 = FPBUF_OFF + FPBUF_SIZE;

// Values of the state word.
// 0: the stub has not handed off yet (the memfd starts zeroed).
/// Sentry → stub: return to the application (rt_sigreturn of the frame).
pub const STATE_RESUME: u32 = 1;
/// Stub → sentry: a signal frame is ready (a trap, fault or interrupt).
pub const STATE_EVENT: u32 = 2;
/// Sentry → stub: run the syscall in the request slot.
pub const STATE_REQUEST: u32 = 3;
/// Stub → sentry: the request is done, its result is in the slot.
pub const STATE_DONE: u32 = 4;
/// Stub → sentry: the application entered the fast path from a patched syscall site;
/// its registers are at `OFF_FAST_REGS` (no signal frame).
pub const STATE_FAST_EVENT: u32 = 5;
/// Request number that only runs the pending mappings (`OFF_PENDING`; every request
/// does that first), when the sentry needs room for more: entries of `BATCH_ENTRY`
/// bytes at `OFF_BATCH` (address, length, protection, memory-file offset), each mapped
/// MAP_SHARED|MAP_FIXED, stopping at the first failure. Answers 0.
pub const REQ_MAP_BATCH: i64 = -3;
pub const OFF_BATCH: u64 = 1024;
pub const BATCH_ENTRY: u64 = 32;
pub const MAX_BATCH: u64 = (CONTROL_SIZE - OFF_BATCH) / BATCH_ENTRY;
/// Request number (in the request slot) that makes the stub save the thread's FP state
/// into the FP buffer with XSAVE (fast path only).
pub const REQ_XSAVE: i64 = -2;

/// The kernel's `struct ucontext` on x86-64 (uc_mcontext is `struct sigcontext`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UContext {
    pub uc_flags: u64,
    pub uc_link: u64,
    pub ss_sp: u64,
    pub ss_flags: u64,
    pub ss_size: u64,
    pub mc: SigContext,
    pub uc_sigmask: u64,
}

/// The kernel's `struct sigcontext` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigContext {
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub rdx: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rsp: u64,
    pub rip: u64,
    pub eflags: u64,
    pub cs: u16,
    pub gs: u16,
    pub fs: u16,
    pub ss: u16,
    pub err: u64,
    pub trapno: u64,
    pub oldmask: u64,
    pub cr2: u64,
    pub fpstate: u64,
    pub reserved: [u64; 8],
}

const _: () = assert!(std::mem::size_of::<SigContext>() == 256);
const _: () = assert!(std::mem::size_of::<UContext>() == 40 + 256 + 8);

/// The fields of `siginfo_t` the platform uses (the kernel's layout for SIGSYS and the
/// fault signals: `si_addr` / `si_call_addr` at offset 16).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub pad: i32,
    /// `si_addr` for faults, `si_call_addr` for SIGSYS.
    pub addr: u64,
    /// SIGSYS: `si_syscall`.
    pub syscall: i32,
    /// SIGSYS: `si_arch`.
    pub arch: u32,
}

/// Size the kernel writes for a siginfo.
pub const SIGINFO_SIZE: u64 = 128;
/// Offset of the XSAVE header in an XSAVE area, and of the software-reserved bytes
/// (`struct _fpx_sw_bytes`) the kernel writes into the legacy area of a signal frame.
const XSAVE_HEADER: u64 = 512;
const FPX_SW_BYTES: u64 = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
/// The legacy FXSAVE area alone.
const FXSAVE_SIZE: u64 = 512;

/// The sentry's mapping of one stub process's shared memfd.
pub struct SharedMemory {
    ptr: *mut u8,
    len: u64,
    fd: i32,
}

// SAFETY: the mapping is plain shared memory accessed only through atomics and volatile
// copies; it lives as long as the `SharedMemory`.
unsafe impl Send for SharedMemory {}
// SAFETY: as above.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// A new memfd of `MAX_THREADS` areas, mapped shared into the sentry.
    pub fn new() -> Result<SharedMemory> {
        let len = MAX_THREADS * AREA_SIZE;
        let name = b"runsc-seccomp-shared\0";
        // SAFETY: memfd_create takes a NUL-terminated name and flags.
        let fd = unsafe { libc::memfd_create(name.as_ptr().cast(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(PlatformError::last_os(
                "memfd_create of a stub's shared memory",
            ));
        }
        // SAFETY: `fd` is the memfd we just created.
        if unsafe { libc::ftruncate(fd, len as i64) } != 0 {
            let e = PlatformError::last_os("ftruncate of a stub's shared memory");
            // SAFETY: closing our own fd.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        // SAFETY: a fresh shared mapping at an address of the kernel's choosing; it
        // aliases no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let e = PlatformError::last_os("mmap of a stub's shared memory");
            // SAFETY: closing our own fd.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        Ok(SharedMemory {
            ptr: ptr.cast(),
            len,
            fd,
        })
    }

    /// The memfd, to be mapped by the stub child (closed in the sentry by `close_fd`).
    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Closes the memfd once the stub has mapped it; the sentry keeps its mapping.
    pub fn close_fd(&mut self) {
        if self.fd >= 0 {
            // SAFETY: closing the memfd this struct owns, once.
            unsafe { libc::close(self.fd) };
            self.fd = -1;
        }
    }

    /// Thread `index`'s area, which the stub maps at `stub_base`.
    pub fn area(&self, index: u64, stub_base: u64) -> Option<ThreadArea<'_>> {
        if index >= MAX_THREADS {
            return None;
        }
        Some(ThreadArea {
            // SAFETY: index < MAX_THREADS, so the area lies inside the mapping.
            base: unsafe { self.ptr.add((index * AREA_SIZE) as usize) },
            stub_base,
            _mem: std::marker::PhantomData,
        })
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        self.close_fd();
        // SAFETY: unmaps exactly our mapping; no `ThreadArea` outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len as usize) };
    }
}

/// One stub thread's area, as the sentry sees it. `stub_base` is where the same area
/// lies in the stub process: pointers the stub writes are translated through it.
#[derive(Clone, Copy)]
pub struct ThreadArea<'a> {
    base: *mut u8,
    stub_base: u64,
    _mem: std::marker::PhantomData<&'a SharedMemory>,
}

/// A signal frame of the current event, located and validated: offsets of the siginfo,
/// the ucontext and the XSAVE area inside the thread's area.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub info_off: u64,
    pub uctx_off: u64,
}

impl<'a> ThreadArea<'a> {
    fn word(&self, off: u64) -> &'a AtomicU32 {
        // SAFETY: `off` is a 4-aligned offset inside the control page, which is mapped
        // as long as 'a; other processes touching it concurrently is what atomics allow.
        unsafe { &*(self.base.add(off as usize) as *const AtomicU32) }
    }

    fn dword(&self, off: u64) -> &'a AtomicU64 {
        // SAFETY: as in `word`, 8-aligned.
        unsafe { &*(self.base.add(off as usize) as *const AtomicU64) }
    }

    pub fn state(&self) -> &'a AtomicU32 {
        self.word(OFF_STATE)
    }

    pub fn stub_waiting(&self) -> &'a AtomicU32 {
        self.word(OFF_STUB_WAITING)
    }

    pub fn sentry_waiting(&self) -> &'a AtomicU32 {
        self.word(OFF_SENTRY_WAITING)
    }

    /// The thread id word (`OFF_TID`): zero once the thread that used the area is gone
    /// (or if the application wrote zero there, which only harms itself).
    pub fn tid(&self) -> &'a AtomicU32 {
        self.word(OFF_TID)
    }

    /// Clears the control words for a new thread. Only while no thread uses the area.
    pub fn reset(&self) {
        for off in [
            OFF_STATE,
            OFF_STUB_WAITING,
            OFF_SENTRY_WAITING,
            OFF_TID,
            OFF_INTR,
            OFF_FP_DIRTY,
            OFF_FAST_KIND,
            OFF_PENDING,
        ] {
            self.word(off).store(0, Ordering::SeqCst);
        }
        for off in [OFF_INFO, OFF_UCTX, OFF_PENDING_ERR] {
            self.dword(off).store(0, Ordering::SeqCst);
        }
    }

    /// Prepares the fast path of a newly bound thread whose area lies at `stub_addr`:
    /// its self pointer and the entry a patched site jumps to.
    pub fn init_fast(&self, stub_addr: u64, entry: u64) {
        self.dword(OFF_SELF).store(stub_addr, Ordering::SeqCst);
        self.dword(OFF_FAST_ENTRY).store(entry, Ordering::SeqCst);
        self.word(OFF_INTR).store(0, Ordering::SeqCst);
        self.word(OFF_FP_DIRTY).store(0, Ordering::SeqCst);
    }

    pub fn fast_kind(&self) -> u32 {
        self.word(OFF_FAST_KIND).load(Ordering::Relaxed)
    }

    /// The application's registers saved by the fast path, as a `SigContext` (fields
    /// past `eflags` zero).
    pub fn fast_regs(&self) -> SigContext {
        let mut r = [0u64; FAST_REGS];
        for (i, v) in r.iter_mut().enumerate() {
            *v = self.dword(OFF_FAST_REGS + 8 * i as u64).load(Ordering::Relaxed);
        }
        SigContext {
            r8: r[0],
            r9: r[1],
            r10: r[2],
            r11: r[3],
            r12: r[4],
            r13: r[5],
            r14: r[6],
            r15: r[7],
            rdi: r[8],
            rsi: r[9],
            rbp: r[10],
            rbx: r[11],
            rdx: r[12],
            rax: r[13],
            rcx: r[14],
            rsp: r[15],
            rip: r[16],
            eflags: r[17],
            cs: 0,
            gs: 0,
            fs: 0,
            ss: 0,
            err: 0,
            trapno: 0,
            oldmask: 0,
            cr2: 0,
            fpstate: 0,
            reserved: [0; 8],
        }
    }

    /// Sets the registers the fast path returns to the application with.
    pub fn set_fast_regs(&self, mc: &SigContext) {
        let r = [
            mc.r8, mc.r9, mc.r10, mc.r11, mc.r12, mc.r13, mc.r14, mc.r15, mc.rdi, mc.rsi,
            mc.rbp, mc.rbx, mc.rdx, mc.rax, mc.rcx, mc.rsp, mc.rip, mc.eflags,
        ];
        for (i, v) in r.iter().enumerate() {
            self.dword(OFF_FAST_REGS + 8 * i as u64)
                .store(*v, Ordering::Relaxed);
        }
    }

    /// A copy of the FP buffer's first `size` bytes (what a REQ_XSAVE wrote), with the
    /// software bytes `sw` (from a kernel signal frame of this thread) put back in, so
    /// the image has the layout of a signal frame's.
    pub fn read_fpbuf(&self, size: u64, sw: &[u8; 48]) -> Option<Vec<u8>> {
        if !(FXSAVE_SIZE..=FPBUF_SIZE).contains(&size) {
            return None;
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: `[FPBUF_OFF, FPBUF_OFF+size)` lies inside the area (size checked); the
        // destination is a fresh buffer of `size` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.add(FPBUF_OFF as usize),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        buf[FPX_SW_BYTES as usize..XSAVE_HEADER as usize].copy_from_slice(sw);
        Some(buf)
    }

    /// Puts `fp` in the FP buffer for the fast path to load (XRSTOR) on its way back.
    pub fn write_fpbuf(&self, fp: &[u8]) -> bool {
        if fp.len() as u64 > FPBUF_SIZE {
            return false;
        }
        // SAFETY: the FP buffer lies inside the area, which is writable shared memory;
        // the source is a slice no longer than the buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(
                fp.as_ptr(),
                self.base.add(FPBUF_OFF as usize),
                fp.len(),
            )
        };
        self.word(OFF_FP_DIRTY).store(1, Ordering::SeqCst);
        true
    }

    /// The frame's XSAVE size and software bytes, to give fast-path images the same shape.
    pub fn fp_shape(&self, uc: &UContext) -> Option<(u64, [u8; 48])> {
        let (off, size) = self.xsave(uc)?;
        let mut sw = [0u8; 48];
        for (i, b) in sw.iter_mut().enumerate() {
            *b = self.read::<u8>(off + FPX_SW_BYTES + i as u64);
        }
        Some((size, sw))
    }

    pub fn set_stub_spin(&self, iters: u32) {
        self.word(OFF_STUB_SPIN)
            .store(iters.min(MAX_STUB_SPIN), Ordering::Relaxed);
    }

    /// Sets how many times the stub yields before it sleeps (`OFF_STUB_YIELDS`).
    pub fn set_stub_yields(&self, n: u32) {
        // Written only when it changes (see `clear_queue`).
        let (word, n) = (self.word(OFF_STUB_YIELDS), n.min(MAX_STUB_YIELDS));
        if word.load(Ordering::Relaxed) != n {
            word.store(n, Ordering::Relaxed);
        }
    }

    /// Fills the request slot (the caller then sets `STATE_REQUEST`).
    pub fn set_request(&self, nr: i64, args: [u64; 6]) {
        self.dword(OFF_REQ_NR).store(nr as u64, Ordering::Relaxed);
        for (i, a) in args.iter().enumerate() {
            self.dword(OFF_REQ_ARGS + 8 * i as u64)
                .store(*a, Ordering::Relaxed);
        }
    }

    /// Queues a mapping for the stub to make before it next leaves its wait loop
    /// (`OFF_PENDING`). Returns false, queuing nothing, when the queue is full (a
    /// `REQ_MAP_BATCH` request empties it).
    pub fn queue_map(&self, memfd: i32, addr: u64, len: u64, prot: u64, off: u64) -> bool {
        // Shared memory: a count out of range is treated as a full queue.
        let n = self.word(OFF_PENDING).load(Ordering::SeqCst) as u64;
        if n >= MAX_BATCH {
            return false;
        }
        let base = OFF_BATCH + n * BATCH_ENTRY;
        for (k, v) in [addr, len, prot, off].into_iter().enumerate() {
            self.dword(base + 8 * k as u64).store(v, Ordering::Relaxed);
        }
        self.word(OFF_PENDING_FD).store(memfd as u32, Ordering::Relaxed);
        self.word(OFF_PENDING).store(n as u32 + 1, Ordering::SeqCst);
        true
    }

    /// Empties the map queue (`OFF_PENDING`), which the application can write while it
    /// runs: the sentry does so whenever it takes the thread back.
    pub fn clear_queue(&self) {
        // Written only when not empty: the stub reads this cache line at every resume,
        // and a store on every hand-off would move the line between CPUs each time.
        let word = self.word(OFF_PENDING);
        if word.load(Ordering::Relaxed) != 0 {
            word.store(0, Ordering::SeqCst);
        }
    }

    /// Takes the failure of a pending mapping the stub reported, if any (a negative
    /// errno; anything else there is reported as EINVAL).
    pub fn take_pending_err(&self) -> Option<i64> {
        // A load first: the word shares its cache line with the queue the stub reads.
        let word = self.dword(OFF_PENDING_ERR);
        if word.load(Ordering::Relaxed) == 0 {
            return None;
        }
        match word.swap(0, Ordering::SeqCst) as i64 {
            0 => None,
            e @ -4095..=-1 => Some(e),
            _ => Some(-libc::EINVAL as i64),
        }
    }

    /// The CPU time a `clock_gettime` request stored at `OFF_CPUTIME`, in nanoseconds
    /// (None if what is there is not a plausible timespec: the area is shared memory).
    pub fn cputime_ns(&self) -> Option<u64> {
        let sec = self.dword(OFF_CPUTIME).load(Ordering::Relaxed);
        let nsec = self.dword(OFF_CPUTIME + 8).load(Ordering::Relaxed);
        (nsec < 1_000_000_000 && sec < 1 << 40).then(|| sec * 1_000_000_000 + nsec)
    }

    pub fn request_result(&self) -> i64 {
        self.dword(OFF_REQ_RESULT).load(Ordering::Relaxed) as i64
    }

    /// Translates a stub pointer into an offset in this area, if `[ptr, ptr+len)` lies
    /// inside the signal stack and `ptr` is `align`-aligned.
    fn stack_offset(&self, ptr: u64, len: u64, align: u64) -> Option<u64> {
        let off = ptr.checked_sub(self.stub_base)?;
        let end = off.checked_add(len)?;
        (off >= SIGSTACK_OFF && end <= AREA_SIZE && off % align == 0).then_some(off)
    }

    /// Locates the frame of the current event from the pointers the handler stored.
    pub fn frame(&self) -> Option<Frame> {
        let info = self.dword(OFF_INFO).load(Ordering::Relaxed);
        let uctx = self.dword(OFF_UCTX).load(Ordering::Relaxed);
        Some(Frame {
            info_off: self.stack_offset(info, SIGINFO_SIZE, 8)?,
            uctx_off: self.stack_offset(uctx, std::mem::size_of::<UContext>() as u64, 8)?,
        })
    }

    fn read<T: Copy>(&self, off: u64) -> T {
        // SAFETY: callers pass offsets validated by `stack_offset` for size_of::<T>()
        // bytes (8-aligned, enough for T); a volatile read of plain integers is valid
        // whatever the stub wrote.
        unsafe { std::ptr::read_volatile(self.base.add(off as usize) as *const T) }
    }

    fn write<T: Copy>(&self, off: u64, v: T) {
        // SAFETY: as in `read`; the area is writable shared memory.
        unsafe { std::ptr::write_volatile(self.base.add(off as usize) as *mut T, v) }
    }

    pub fn siginfo(&self, f: Frame) -> SigInfo {
        self.read(f.info_off)
    }

    pub fn ucontext(&self, f: Frame) -> UContext {
        self.read(f.uctx_off)
    }

    pub fn set_ucontext(&self, f: Frame, uc: &UContext) {
        self.write(f.uctx_off, *uc);
    }

    /// The XSAVE area the frame's `fpstate` points to and its size, if valid.
    fn xsave(&self, uc: &UContext) -> Option<(u64, u64)> {
        let off = self.stack_offset(uc.mc.fpstate, FXSAVE_SIZE, 64)?;
        let magic: u32 = self.read(off + FPX_SW_BYTES);
        if magic != FP_XSTATE_MAGIC1 {
            return Some((off, FXSAVE_SIZE));
        }
        let size = u64::from(self.read::<u32>(off + FPX_SW_BYTES + 16));
        if size < XSAVE_HEADER + 64 {
            return None;
        }
        self.stack_offset(uc.mc.fpstate, size, 64)
            .map(|off| (off, size))
    }

    /// A copy of the frame's XSAVE area (NT_X86_XSTATE layout), if the frame is valid.
    pub fn read_fp(&self, uc: &UContext) -> Option<Vec<u8>> {
        let (off, size) = self.xsave(uc)?;
        let mut buf = vec![0u8; size as usize];
        // SAFETY: `[off, off+size)` was validated to lie inside the area; the
        // destination is a fresh buffer of `size` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(off as usize), buf.as_mut_ptr(), buf.len())
        };
        Some(buf)
    }

    /// Replaces the frame's XSAVE area with `fp`, which must be exactly its size.
    pub fn write_fp(&self, uc: &UContext, fp: &[u8]) -> bool {
        let Some((off, size)) = self.xsave(uc) else {
            return false;
        };
        if fp.len() as u64 != size {
            return false;
        }
        // SAFETY: `[off, off+size)` was validated to lie inside the area, which is
        // writable shared memory; the source is a slice of exactly `size` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(fp.as_ptr(), self.base.add(off as usize), fp.len())
        };
        true
    }

    /// Resets the frame's FP state to the one a new thread starts with: the XSAVE
    /// header marks every component as in its initial state; FCW and MXCSR get their
    /// defaults (XRSTOR loads MXCSR whatever the header says).
    pub fn init_fp(&self, uc: &UContext) -> bool {
        let Some((off, size)) = self.xsave(uc) else {
            return false;
        };
        // Zero the legacy registers, keeping the software bytes the kernel checks.
        for i in (0..FPX_SW_BYTES).step_by(8) {
            self.write::<u64>(off + i, 0);
        }
        self.write::<u16>(off, 0x37f);
        self.write::<u32>(off + 24, 0x1f80);
        self.write::<u32>(off + 28, 0xffff);
        if size > FXSAVE_SIZE {
            self.write::<u64>(off + XSAVE_HEADER, 0);
        }
        true
    }
}
