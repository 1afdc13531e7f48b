//! Signal delivery to handlers (DESIGN.md §5): the x86-64 `rt_sigframe` Linux builds on
//! the application stack, and `rt_sigreturn`, which undoes it. The frame holds the
//! return address (`sa_restorer`), a `ucontext` with the interrupted registers, signal
//! mask, alternate stack and a pointer to the XSAVE image written below the frame, and
//! the `siginfo`. Layouts follow arch/x86/include/uapi/asm/sigcontext.h and ucontext.h.
//! Everything read back on return is application memory: it is validated, never trusted.

use crate::task::{SigAction, Task};
use syscalls_table::Errno;

pub const SA_SIGINFO: u64 = 0x4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
pub const MINSIGSTKSZ: u64 = 2048;

/// SIGKILL and SIGSTOP can be neither blocked nor caught.
pub const UNBLOCKABLE: u64 = (1 << 8) | (1 << 18);

// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_TKILL: i32 = -6;
pub const SI_TIMER: i32 = -2;

// struct rt_sigframe: pretcode, ucontext, siginfo.
const FRAME_SIZE: u64 = 8 + 304 + 128;
const UC: usize = 8;
const UC_STACK: usize = UC + 16;
const MC: usize = UC + 40;
const UC_SIGMASK: usize = UC + 296;
const INFO: usize = UC + 304;
// Offsets in struct sigcontext.
const SC_EFLAGS: usize = 136;
const SC_CS: usize = 144;
const SC_ERR: usize = 152;
const SC_TRAPNO: usize = 160;
const SC_OLDMASK: usize = 168;
const SC_CR2: usize = 176;
const SC_FPSTATE: usize = 184;

const UC_FP_XSTATE: u64 = 1;
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

// The XSAVE image: software bytes in the legacy area, then MAGIC2 after the image.
const FPX_SW_BYTES: usize = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
const XSAVE_HEADER: usize = 512;

/// The eflags bits a signal return may change (Linux's FIX_EFLAGS: AC OF DF TF SF ZF AF
/// PF CF RF).
const FIX_EFLAGS: u64 =
    0x4_0000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x1_0000;
const USER_CS: u64 = 0x33;
const USER_SS: u64 = 0x2b;

/// A `siginfo_t` (128 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo(pub [u8; 128]);

impl SigInfo {
    pub fn new(signo: i32, code: i32) -> SigInfo {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&signo.to_le_bytes());
        b[8..12].copy_from_slice(&code.to_le_bytes());
        SigInfo(b)
    }

    /// From a process: kill(2) (SI_USER), tgkill(2) (SI_TKILL).
    pub fn from_process(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.0[16..20].copy_from_slice(&pid.to_le_bytes());
        i.0[20..24].copy_from_slice(&uid.to_le_bytes());
        i
    }

    /// A fault at `addr` (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.0[16..24].copy_from_slice(&addr.to_le_bytes());
        i
    }

    /// From a POSIX timer (SI_TIMER): the timer id, overrun count and sigev_value.
    pub fn timer(signo: i32, timer_id: i32, overrun: i32, value: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, SI_TIMER);
        i.0[16..20].copy_from_slice(&timer_id.to_le_bytes());
        i.0[20..24].copy_from_slice(&overrun.to_le_bytes());
        i.0[24..32].copy_from_slice(&value.to_le_bytes());
        i
    }

    /// si_timerid of an SI_TIMER siginfo.
    pub fn timer_id(&self) -> i32 {
        i32::from_le_bytes([self.0[16], self.0[17], self.0[18], self.0[19]])
    }

    pub fn set_overrun(&mut self, overrun: i32) {
        self.0[20..24].copy_from_slice(&overrun.to_le_bytes());
    }

    pub fn signo(&self) -> i32 {
        i32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    pub fn code(&self) -> i32 {
        i32::from_le_bytes([self.0[8], self.0[9], self.0[10], self.0[11]])
    }

    fn is_fault(&self) -> bool {
        matches!(
            self.signo(),
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
        ) && self.code() > 0
            && self.code() < SI_KERNEL
    }

    fn addr(&self) -> u64 {
        u64::from_le_bytes(self.0[16..24].try_into().unwrap_or_default())
    }
}

fn put(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn get(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap_or_default())
}

fn get32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or_default())
}

/// The general registers in sigcontext order (r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx,
/// rsp, rip), as mutable references into `regs`.
fn gregs(regs: &mut platform::Regs) -> [&mut u64; 17] {
    [
        &mut regs.r8,
        &mut regs.r9,
        &mut regs.r10,
        &mut regs.r11,
        &mut regs.r12,
        &mut regs.r13,
        &mut regs.r14,
        &mut regs.r15,
        &mut regs.rdi,
        &mut regs.rsi,
        &mut regs.rbp,
        &mut regs.rbx,
        &mut regs.rdx,
        &mut regs.rax,
        &mut regs.rcx,
        &mut regs.rsp,
        &mut regs.rip,
    ]
}

/// Whether the XSAVE image carries the extended-state software bytes.
fn has_xstate(fp: &[u8]) -> bool {
    fp.len() > XSAVE_HEADER + 64 && get32(fp, FPX_SW_BYTES) == FP_XSTATE_MAGIC1
}

/// The FP state a handler starts with: every XSAVE component in its initial state, FCW
/// and MXCSR at their defaults (the software bytes are kept).
fn init_fp(fp: &mut [u8]) {
    let keep = fp.len().min(FPX_SW_BYTES);
    fp[..keep].fill(0);
    if fp.len() >= 32 {
        fp[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        fp[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        fp[28..32].copy_from_slice(&0xffffu32.to_le_bytes());
    }
    if fp.len() >= XSAVE_HEADER + 64 {
        fp[XSAVE_HEADER..XSAVE_HEADER + 64].fill(0);
    }
}

/// Checks an XSAVE image from application memory against the trusted current one: the
/// MXCSR reserved bits, and a header naming only features the thread has, in the
/// standard format, reserved bytes zero. What XRSTOR would fault on is refused.
fn valid_fp(img: &[u8], current: &[u8]) -> bool {
    if img.len() != current.len() || img.len() < 32 {
        return false;
    }
    let mask = match get32(current, 28) {
        0 => 0xffbf,
        m => m,
    };
    if get32(img, 24) & !mask != 0 {
        return false;
    }
    if img.len() >= XSAVE_HEADER + 64 {
        let allowed = if has_xstate(current) {
            get(current, FPX_SW_BYTES + 8)
        } else {
            3
        };
        let xstate_bv = get(img, XSAVE_HEADER);
        let xcomp_bv = get(img, XSAVE_HEADER + 8);
        if xstate_bv & !allowed != 0
            || xcomp_bv != 0
            || img[XSAVE_HEADER + 16..XSAVE_HEADER + 64]
                .iter()
                .any(|&b| b != 0)
        {
            return false;
        }
    }
    true
}

/// sas_ss_flags(): where `sp` is relative to the alternate stack.
pub fn altstack_flags(t: &Task, sp: u64) -> u32 {
    let (ss_sp, flags, size) = t.sig.altstack;
    if size == 0 || flags & SS_DISABLE != 0 {
        SS_DISABLE
    } else if sp.wrapping_sub(ss_sp) < size || sp == ss_sp + size {
        SS_ONSTACK
    } else {
        0
    }
}

/// Builds the frame for `signo` with handler `act` and points the registers at the
/// handler. An error (the stack cannot be written, no SA_RESTORER) means the caller must
/// kill the task with SIGSEGV, as Linux's force_sigsegv does.
pub fn setup_frame(t: &mut Task, info: &SigInfo, act: &SigAction) -> Result<(), Errno> {
    let signo = info.signo();
    if act.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT);
    }
    let regs = t.cpu.regs;
    let old_flags = altstack_flags(t, regs.rsp);
    // Below the red zone, or at the top of the alternate stack.
    let mut sp = regs.rsp.wrapping_sub(128);
    let switch = act.flags & SA_ONSTACK != 0 && old_flags == 0;
    if switch {
        sp = t.sig.altstack.0.wrapping_add(t.sig.altstack.2);
    }
    t.ctx.load_fp(&mut t.cpu).map_err(|_| Errno::EFAULT)?;
    let mut img = t.cpu.fp.clone();
    let xstate = has_xstate(&img);
    if xstate {
        img.extend_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    let fp_addr = sp.wrapping_sub(img.len() as u64) & !63;
    let frame = (fp_addr.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);
    if frame >= crate::mm::TASK_SIZE || frame > regs.rsp && !switch {
        return Err(Errno::EFAULT);
    }
    t.mm.copy_out(fp_addr, &img)?;

    let mut f = vec![0u8; FRAME_SIZE as usize];
    put(&mut f, 0, act.restorer);
    let mut uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    if xstate {
        uc_flags |= UC_FP_XSTATE;
    }
    put(&mut f, UC, uc_flags);
    let (ss_sp, ss_flags, ss_size) = t.sig.altstack;
    put(&mut f, UC_STACK, ss_sp);
    f[UC_STACK + 8..UC_STACK + 12]
        .copy_from_slice(&(old_flags | (ss_flags & SS_AUTODISARM)).to_le_bytes());
    put(&mut f, UC_STACK + 16, ss_size);
    let mut r = regs;
    for (i, v) in gregs(&mut r).into_iter().enumerate() {
        put(&mut f, MC + i * 8, *v);
    }
    put(&mut f, MC + SC_EFLAGS, regs.eflags);
    let segs = [
        regs.cs as u16,
        regs.gs as u16,
        regs.fs as u16,
        regs.ss as u16,
    ];
    for (i, s) in segs.iter().enumerate() {
        f[MC + SC_CS + i * 2..MC + SC_CS + i * 2 + 2].copy_from_slice(&s.to_le_bytes());
    }
    if info.is_fault() {
        // Page faults report trap 14 and the address; other traps only their number.
        let trapno = match signo {
            libc::SIGSEGV | libc::SIGBUS => 14,
            libc::SIGFPE => 0,
            libc::SIGILL => 6,
            _ => 3,
        };
        put(&mut f, MC + SC_TRAPNO, trapno);
        if trapno == 14 {
            put(&mut f, MC + SC_CR2, info.addr());
            put(&mut f, MC + SC_ERR, 4);
        }
    }
    let saved_mask = t.saved_mask.unwrap_or(t.sig.mask);
    put(&mut f, MC + SC_OLDMASK, saved_mask);
    put(&mut f, MC + SC_FPSTATE, fp_addr);
    put(&mut f, UC_SIGMASK, saved_mask);
    f[INFO..INFO + 128].copy_from_slice(&info.0);
    t.mm.copy_out(frame, &f)?;

    // The handler runs with clean FP state, its arguments in rdi/rsi/rdx.
    init_fp(&mut t.cpu.fp);
    t.ctx.store_fp(&mut t.cpu).map_err(|_| Errno::EFAULT)?;
    let r = &mut t.cpu.regs;
    r.rsp = frame;
    r.rip = act.handler;
    r.rdi = signo as u64;
    r.rsi = frame + INFO as u64;
    r.rdx = frame + UC as u64;
    r.rax = 0;
    r.eflags &= !(0x400 | 0x100 | 0x1_0000);
    r.cs = USER_CS;
    r.ss = USER_SS;

    // The mask while the handler runs; one-shot handlers reset.
    let mut block = act.mask;
    if act.flags & SA_NODEFER == 0 {
        block |= 1u64 << (signo - 1);
    }
    t.sig.mask |= block & !UNBLOCKABLE;
    if act.flags & SA_RESETHAND != 0 {
        let mut a = t.action(signo);
        a.handler = crate::task::SIG_DFL;
        a.flags &= !SA_SIGINFO;
        t.set_action(signo, a);
    }
    if switch && ss_flags & SS_AUTODISARM != 0 {
        t.sig.altstack = (0, SS_DISABLE, 0);
    }
    Ok(())
}

/// rt_sigreturn(2): restores what `setup_frame` saved, from the frame the stack pointer
/// is just past (the handler's `ret` popped the return address). Returns the restored
/// rax; Err means the frame was bad and the task gets SIGSEGV.
pub fn sigreturn(t: &mut Task) -> Result<u64, Errno> {
    let frame = t.cpu.regs.rsp.wrapping_sub(8);
    let mut f = vec![0u8; FRAME_SIZE as usize];
    t.mm.copy_in(frame, &mut f)?;
    let mut r = t.cpu.regs;
    for (i, v) in gregs(&mut r).into_iter().enumerate() {
        *v = get(&f, MC + i * 8);
    }
    let eflags = get(&f, MC + SC_EFLAGS);
    r.eflags = (t.cpu.regs.eflags & !FIX_EFLAGS) | (eflags & FIX_EFLAGS);
    r.cs = USER_CS;
    r.ss = USER_SS;
    // No syscall restart after a signal return.
    r.orig_rax = u64::MAX;

    // The FP state: validated against the thread's own, or the initial state if none.
    t.ctx.load_fp(&mut t.cpu).map_err(|_| Errno::EFAULT)?;
    let fp_addr = get(&f, MC + SC_FPSTATE);
    let mut img = t.cpu.fp.clone();
    if fp_addr == 0 {
        init_fp(&mut img);
    } else {
        if !fp_addr.is_multiple_of(64) {
            return Err(Errno::EFAULT);
        }
        t.mm.copy_in(fp_addr, &mut img)?;
        // Keep the thread's own software bytes (what the kernel would use to validate).
        let sw = FPX_SW_BYTES.min(img.len())..(FPX_SW_BYTES + 48).min(img.len());
        img[sw.clone()].copy_from_slice(&t.cpu.fp[sw]);
        if !valid_fp(&img, &t.cpu.fp) {
            return Err(Errno::EFAULT);
        }
    }

    let mask = get(&f, UC_SIGMASK) & !UNBLOCKABLE;
    // The alternate stack as saved (restore_altstack): applied when valid.
    let ss_sp = get(&f, UC_STACK);
    let ss_flags = get32(&f, UC_STACK + 8);
    let ss_size = get(&f, UC_STACK + 16);
    let altstack = if ss_flags & SS_DISABLE != 0 {
        Some((0, SS_DISABLE, 0))
    } else if ss_size >= MINSIGSTKSZ {
        Some((ss_sp, ss_flags & SS_AUTODISARM, ss_size))
    } else {
        None
    };

    t.cpu.fp = img;
    t.ctx.store_fp(&mut t.cpu).map_err(|_| Errno::EFAULT)?;
    t.cpu.regs = r;
    t.set_mask(mask);
    if let Some(a) = altstack
        && altstack_flags(t, r.rsp) != SS_ONSTACK
    {
        t.sig.altstack = a;
    }
    Ok(r.rax)
}
