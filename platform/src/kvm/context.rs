//! The execution of one application thread on the kvm platform: borrowing a vCPU for
//! each switch, writing the thread's registers into the save area and reading the
//! event back, and interrupting a switch (kick signal, `immediate_exit`, the stub's
//! kick flag).

use super::*;
use kvm_ioctls::VcpuExit;
use std::sync::atomic::AtomicU8;
use std::time::Duration;

/// The host signal that kicks a sentry thread out of KVM_RUN.
fn kick_signal() -> i32 {
    libc::SIGRTMIN() + 5
}

/// How often a kick is repeated while the stub (not user code) was running.
const REKICK: Duration = Duration::from_micros(200);

extern "C" fn on_kick(_: i32) {}

/// Installs the (empty) handler of the kick signal, whose only effect is to make a
/// KVM_RUN in progress return EINTR.
pub(super) fn install_kick_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sigaction with a zeroed struct, a valid handler that does nothing
        // (async-signal-safe) and SA_RESTART so other host calls are not disturbed.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_kick as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(kick_signal(), &sa, std::ptr::null_mut());
        }
    });
}

pub(super) struct KvmInterrupter {
    pub(super) pending: AtomicBool,
    /// The sentry thread inside `switch` and its vCPU's `kvm_run` (as an address).
    pub(super) target: Mutex<Option<(i32, usize)>>,
}

impl Interrupt for KvmInterrupter {
    fn interrupt(&self) {
        self.pending.store(true, Ordering::SeqCst);
        let target = self.target.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((tid, run)) = *target {
            set_immediate_exit(run, 1);
            // SAFETY: a signal with an empty handler to a thread of this process that is
            // inside `switch` (the lock keeps it there).
            unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, kick_signal()) };
        }
    }
}

/// Sets `kvm_run.immediate_exit` of the vCPU whose `kvm_run` is at `run`.
fn set_immediate_exit(run: usize, v: u8) {
    let p = run as *mut kvm_bindings::kvm_run;
    // SAFETY: `run` is the live mmap of a vCPU's kvm_run (the vCPU outlives every
    // target entry that names it); immediate_exit is a byte KVM reads at entry, written
    // atomically here because the running thread writes it too.
    unsafe {
        let field = std::ptr::addr_of_mut!((*p).immediate_exit);
        AtomicU8::from_ptr(field).store(v, Ordering::SeqCst);
    }
}

/// Makes sure the calling thread can receive the kick signal (once per thread).
fn unblock_kick() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let _ = DONE.try_with(|done| {
        if !done.get() {
            // SAFETY: plain signal-set manipulation on a local set, then unblocking one
            // signal for this thread.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, kick_signal());
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            }
            done.set(true);
        }
    });
}

/// Clears the interrupter's target when `switch` returns.
pub(super) struct TargetGuard<'a>(&'a KvmInterrupter);

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        *self.0.target.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

pub(super) struct KvmContext {
    pub(super) vm: Arc<Vm>,
    pub(super) pool: Arc<Mutex<Pool>>,
    /// The vCPU it runs on: borrowed from the pool for each `switch` (kept between
    /// switches only while stopped in user mode).
    pub(super) vcpu: Option<Vcpu>,
    /// The vCPU it ran on last, taken again if free (its FP state is still there).
    pub(super) last: Option<u32>,
    pub(super) home: Arc<Mutex<FpHome>>,
    pub(super) interrupter: Arc<KvmInterrupter>,
}

/// Whether `v` is a canonical lower-half address (what user mode may hold in rip, rsp
/// and the segment bases).
fn user_canonical(v: u64) -> bool {
    v < 0x0000_8000_0000_0000
}

/// What one KVM_RUN ended with.
pub(super) enum Exit {
    /// The stub's `out`: an event is in the save area.
    Stub,
    /// EINTR: a kick (or another signal).
    Interrupted,
}

impl KvmContext {
    /// Borrows a vCPU for a switch: the one it ran on last if free, else any free one,
    /// else a new one; and makes the thread's FP state its own.
    pub(super) fn bind(&mut self, tables: &Arc<AsTables>) -> Result<()> {
        if self.vcpu.is_some() {
            return Ok(());
        }
        let mut pool = lock(&self.pool);
        let pos = pool
            .free
            .iter()
            .position(|v| Some(v.id) == self.last)
            .or_else(|| pool.free.len().checked_sub(1));
        let mut v = match pos {
            Some(i) => pool.free.swap_remove(i),
            None => {
                if pool.created >= self.vm.max_vcpus {
                    return Err(PlatformError::Unsupported(format!(
                        "kvm: at most {} threads run at once",
                        self.vm.max_vcpus
                    )));
                }
                let v = self.vm.create_vcpu(pool.created, tables)?;
                pool.created += 1;
                v
            }
        };
        let r = self.adopt_fp(&mut v, &pool.free);
        drop(pool);
        self.last = Some(v.id);
        self.vcpu = Some(v);
        r
    }

    /// Moves the thread's FP state into `v` (taken from the pool, whose lock the caller
    /// holds; `free` is the rest of it), saving the state of the context that owned it
    /// first.
    pub(super) fn adopt_fp(&self, v: &mut Vcpu, free: &[Vcpu]) -> Result<()> {
        if let Some(o) = v.owner.take()
            && !Arc::ptr_eq(&o, &self.home)
        {
            let mut oh = lock(&o);
            if oh.in_vcpu == Some(v.id) {
                let x = v.fd.get_xsave().map_err(host_err("kvm: KVM_GET_XSAVE"))?;
                oh.img = Some(self.vm.fp_image(&x));
                oh.in_vcpu = None;
            }
        }
        let mut h = lock(&self.home);
        if h.in_vcpu != Some(v.id) {
            let img = match h.in_vcpu.and_then(|id| free.iter().find(|w| w.id == id)) {
                Some(w) => {
                    let x = w.fd.get_xsave().map_err(host_err("kvm: KVM_GET_XSAVE"))?;
                    self.vm.fp_image(&x)
                }
                None => h.img.take().unwrap_or_else(|| self.vm.clean_fp()),
            };
            h.in_vcpu = None;
            if let Err(e) = self.vm.set_fp(&v.fd, &img) {
                h.img = Some(img);
                return Err(e);
            }
            h.in_vcpu = Some(v.id);
        }
        v.owner = Some(self.home.clone());
        Ok(())
    }

    /// Returns the vCPU to the pool after a switch, unless it is stopped in user mode
    /// (it stays with the thread until brought back into the stub). One that failed is
    /// not reused.
    pub(super) fn release(&mut self, failed: bool) {
        let Some(v) = self.vcpu.take() else { return };
        if failed {
            return;
        }
        if v.in_user {
            self.vcpu = Some(v);
            return;
        }
        lock(&self.pool).free.push(v);
    }

    /// Runs the vCPU until the stub exits or a kick. `draining`: the stub was stopped
    /// on its way and must reach its exit, pending interrupt or not.
    pub(super) fn run_once(&mut self, draining: bool) -> Result<Exit> {
        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
        vcpu.fd.set_kvm_immediate_exit(0);
        if !draining && self.interrupter.pending.load(Ordering::SeqCst) {
            return Ok(Exit::Interrupted);
        }
        match vcpu.fd.run() {
            Ok(VcpuExit::IoOut(stub::EXIT_PORT, _)) => Ok(Exit::Stub),
            Ok(VcpuExit::Intr) => Ok(Exit::Interrupted),
            Ok(other) => {
                let what = format!("{other:?}");
                let regs = vcpu.fd.get_regs().ok();
                Err(PlatformError::Unsupported(format!(
                    "kvm: unexpected exit {what} (rip {:#x})",
                    regs.map_or(0, |r| r.rip)
                )))
            }
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                Ok(Exit::Interrupted)
            }
            Err(e) => Err(PlatformError::Host {
                what: "kvm: KVM_RUN",
                err: e.into(),
            }),
        }
    }

    /// After a KVM_RUN was interrupted: where the vCPU stopped decides what happens.
    /// Returns true if the thread stopped in user mode (its registers now in `state`)
    /// or before the stub resumed it, so `switch` may return `Interrupted`.
    pub(super) fn stop_point(&mut self, state: &mut CpuState) -> Result<bool> {
        let code = &self.vm.code;
        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
        let r = vcpu.fd.get_regs().map_err(host_err("kvm: KVM_GET_REGS"))?;
        // IF tells the modes apart: the stub runs with interrupts off (FMASK and the
        // interrupt gates clear IF), user mode always with IF set (sysretq sets it, and
        // user code cannot clear it). The rip alone would not do: user code may jump
        // into the stub's (user-accessible) code.
        let user = r.rflags & X86_EFLAGS_IF != 0;
        if !user && (r.rip == code.resume || r.rip == code.start) {
            // Not entered (or stopped right at the resume point): nothing ran.
            vcpu.loading = None;
            return Ok(true);
        }
        if user {
            let in_trampoline = (code.trampoline.0..code.trampoline.1).contains(&r.rip);
            // In the trampoline the thread's registers are still those it was given.
            if !vcpu.via_gadget && !in_trampoline {
                state.regs = Regs {
                    r15: r.r15,
                    r14: r.r14,
                    r13: r.r13,
                    r12: r.r12,
                    rbp: r.rbp,
                    rbx: r.rbx,
                    r11: r.r11,
                    r10: r.r10,
                    r9: r.r9,
                    r8: r.r8,
                    rax: r.rax,
                    rcx: r.rcx,
                    rdx: r.rdx,
                    rsi: r.rsi,
                    rdi: r.rdi,
                    orig_rax: u64::MAX,
                    rip: r.rip,
                    cs: u64::from(stub::USER_CS),
                    eflags: r.rflags,
                    rsp: r.rsp,
                    ss: u64::from(stub::USER_DS),
                    ..state.regs
                };
            }
            vcpu.in_user = true;
            vcpu.via_gadget = false;
            vcpu.loaded();
            return Ok(true);
        }
        // Inside the stub: let it reach its exit, stopping it before user mode. The flag
        // goes to the save area of the root it is on, before and after a CR3 load.
        let mut roots = vec![vcpu.cur.root(vcpu.id)?];
        if let Some((t, _, _)) = &vcpu.loading {
            roots.push(t.root(vcpu.id)?);
        }
        for root in roots {
            self.vm
                .mem
                .write_region(root.data + stub::OFF_KICK as u64, &[1])?;
        }
        Ok(false)
    }

    /// Brings a vCPU stopped in user mode back into the stub: user mode executes the
    /// stub's `syscall` gadget.
    pub(super) fn leave_user(&mut self) -> Result<()> {
        let code_gadget = self.vm.code.gadget;
        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
        let mut r = vcpu.fd.get_regs().map_err(host_err("kvm: KVM_GET_REGS"))?;
        r.rip = code_gadget;
        r.rflags = 0x202;
        vcpu.fd
            .set_regs(&r)
            .map_err(host_err("kvm: KVM_SET_REGS"))?;
        vcpu.in_user = false;
        vcpu.via_gadget = true;
        Ok(())
    }
}

pub(super) fn no_vcpu() -> PlatformError {
    PlatformError::Unsupported("kvm: context has no vCPU".into())
}

impl Context for KvmContext {
    fn switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
        let r = self.run_switch(aspace, state);
        self.release(r.is_err());
        r
    }

    fn interrupter(&self) -> Arc<dyn Interrupt> {
        self.interrupter.clone()
    }

    fn load_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if state.fp_loaded {
            return Ok(());
        }
        state.fp = match &self.vcpu {
            Some(v) => {
                let x = v.fd.get_xsave().map_err(host_err("kvm: KVM_GET_XSAVE"))?;
                self.vm.fp_image(&x)
            }
            None => {
                let pool = lock(&self.pool);
                let h = lock(&self.home);
                match h
                    .in_vcpu
                    .and_then(|id| pool.free.iter().find(|w| w.id == id))
                {
                    Some(w) => {
                        let x = w.fd.get_xsave().map_err(host_err("kvm: KVM_GET_XSAVE"))?;
                        self.vm.fp_image(&x)
                    }
                    None => h.img.clone().unwrap_or_else(|| self.vm.clean_fp()),
                }
            }
        };
        state.fp_loaded = true;
        Ok(())
    }

    fn store_fp(&mut self, state: &mut CpuState) -> Result<()> {
        if state.fp.len() != self.vm.xsave_size {
            return Err(PlatformError::Unsupported(
                "kvm: an FP image of the wrong size".into(),
            ));
        }
        match &self.vcpu {
            Some(v) => self.vm.set_fp(&v.fd, &state.fp)?,
            None => {
                let _pool = lock(&self.pool);
                let mut h = lock(&self.home);
                h.img = Some(state.fp.clone());
                h.in_vcpu = None;
            }
        }
        state.fp_loaded = true;
        Ok(())
    }

    fn cpu_time_ns(&self) -> Option<u64> {
        // The vCPU runs on this thread: its own CPU clock.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
            return None;
        }
        Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

impl KvmContext {
    pub(super) fn run_switch(
        &mut self,
        aspace: &dyn AddressSpace,
        state: &mut CpuState,
    ) -> Result<Event> {
        let aspace = aspace
            .as_any()
            .downcast_ref::<KvmAddressSpace>()
            .ok_or_else(|| PlatformError::Unsupported("kvm: foreign address space".into()))?;
        let tables = aspace.tables.clone();
        self.bind(&tables)?;
        unblock_kick();
        let run_addr = {
            let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
            vcpu.fd.get_kvm_run() as *mut kvm_bindings::kvm_run as usize
        };
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((gettid(), run_addr));
        let interrupter = self.interrupter.clone();
        let _guard = TargetGuard(&interrupter);
        let mut rekick: Option<Rekick> = None;
        loop {
            if self.interrupter.pending.swap(false, Ordering::SeqCst) {
                return Ok(Event::Interrupted);
            }
            if self.vcpu.as_ref().is_some_and(|v| v.in_user) {
                self.leave_user()?;
                let mut draining = false;
                while let Exit::Interrupted = self.run_once(draining)? {
                    if self.stop_point(state)? {
                        break;
                    }
                    draining = true;
                    rekick.get_or_insert_with(Rekick::arm).rearm();
                }
                if self.vcpu.as_ref().is_some_and(|v| v.in_user) {
                    continue;
                }
                let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
                vcpu.via_gadget = false;
            }
            let r = &state.regs;
            if !user_canonical(r.rip)
                || !user_canonical(r.rsp)
                || !user_canonical(r.fs_base)
                || !user_canonical(r.gs_base)
            {
                // Linux's return to user mode faults the same way.
                return Ok(Event::Fault {
                    addr: 0,
                    access: Access::UNKNOWN,
                    signo: libc::SIGSEGV,
                    code: SI_KERNEL,
                });
            }
            self.enter(&tables, &state.regs)?;
            let mut draining = false;
            loop {
                match self.run_once(draining)? {
                    Exit::Stub => {
                        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
                        vcpu.loaded();
                        break;
                    }
                    Exit::Interrupted => {
                        if self.stop_point(state)? {
                            if self.interrupter.pending.swap(false, Ordering::SeqCst) {
                                return Ok(Event::Interrupted);
                            }
                            // A stray signal: resume where it stopped.
                            let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
                            vcpu.in_user = false;
                            continue;
                        }
                        draining = true;
                        rekick.get_or_insert_with(Rekick::arm).rearm();
                    }
                }
            }
            if let Some(ev) = self.read_event(state)? {
                return Ok(ev);
            }
        }
    }
}

impl Drop for KvmContext {
    fn drop(&mut self) {
        *self
            .interrupter
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(mut v) = self.vcpu.take() {
            if v.in_user {
                // Bring it back into the stub now, so the next user starts from there.
                v.in_user = false;
                if let Ok(mut r) = v.fd.get_regs() {
                    r.rip = self.vm.code.gadget;
                    r.rflags = 0x202;
                    if v.fd.set_regs(&r).is_err() {
                        return;
                    }
                    v.fd.set_kvm_immediate_exit(0);
                    if !matches!(v.fd.run(), Ok(VcpuExit::IoOut(stub::EXIT_PORT, _))) {
                        // A vCPU in an unknown state is not reused.
                        return;
                    }
                } else {
                    return;
                }
            }
            v.via_gadget = false;
            v.owner = None;
            lock(&self.pool).free.push(v);
        }
        // The thread's FP state need not be saved from a vCPU for anyone any more.
        for v in &mut lock(&self.pool).free {
            if v.owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, &self.home)) {
                v.owner = None;
            }
        }
    }
}

// si_code values (siginfo.h).
const SI_KERNEL: i32 = 0x80;
const X86_EFLAGS_IF: u64 = 0x200;
const FPE_INTDIV: i32 = 1;
const FPE_FLTINV: i32 = 7;
const ILL_ILLOPN: i32 = 2;
const SEGV_MAPERR: i32 = 1;
const SEGV_ACCERR: i32 = 2;
const TRAP_TRACE: i32 = 2;
const BUS_ADRALN: i32 = 1;

impl KvmContext {
    /// Writes the thread's registers and what the stub must load into the save areas.
    pub(super) fn enter(&mut self, tables: &Arc<AsTables>, regs: &Regs) -> Result<()> {
        let vm = &self.vm;
        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
        let new_root = tables.root(vcpu.id)?;
        let switch_as = !Arc::ptr_eq(&vcpu.cur, tables);
        let mut ctl = 0;
        if switch_as {
            ctl |= stub::CTL_CR3;
        }
        if vcpu.fs_base != regs.fs_base {
            ctl |= stub::CTL_FS;
        }
        if vcpu.gs_base != regs.gs_base {
            ctl |= stub::CTL_GS;
        }
        let mut save = [0u64; stub::SAVE_SIZE / 8];
        let words = [
            regs.r15,
            regs.r14,
            regs.r13,
            regs.r12,
            regs.rbp,
            regs.rbx,
            regs.r11,
            regs.r10,
            regs.r9,
            regs.r8,
            regs.rax,
            regs.rcx,
            regs.rdx,
            regs.rsi,
            regs.rdi,
            0,
            regs.rip,
            0x33,
            regs.eflags,
            regs.rsp,
            0x2b,
        ];
        save[..words.len()].copy_from_slice(&words);
        save[stub::OFF_CTL / 8] = ctl;
        save[stub::OFF_CR3 / 8] = new_root.pml4;
        save[stub::OFF_FS_BASE / 8] = regs.fs_base;
        save[stub::OFF_GS_BASE / 8] = regs.gs_base;
        save[stub::OFF_KICK / 8] = 0;
        let mut bytes = [0u8; stub::SAVE_SIZE];
        for (chunk, w) in bytes.chunks_exact_mut(8).zip(save) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        vm.mem.write_region(new_root.data, &bytes)?;
        if switch_as {
            // The stub reads the control words through the root it is on now.
            let old = vcpu.cur.root(vcpu.id)?;
            vm.mem
                .write_region(old.data + stub::OFF_CTL as u64, &bytes[stub::OFF_CTL..])?;
        }
        vcpu.loading = Some((tables.clone(), regs.fs_base, regs.gs_base));
        Ok(())
    }

    /// Reads the event the stub saved. `None`: nothing for the sentry (the return from
    /// the gadget), run again.
    pub(super) fn read_event(&mut self, state: &mut CpuState) -> Result<Option<Event>> {
        let vcpu = self.vcpu.as_mut().ok_or_else(no_vcpu)?;
        let root = vcpu.cur.root(vcpu.id)?;
        let p = self
            .vm
            .mem
            .region_ptr(root.data, stub::SAVE_SIZE as u64)
            .ok_or_else(no_vcpu)?;
        let mut save = [0u64; stub::SAVE_SIZE / 8];
        // SAFETY: `p` covers SAVE_SIZE bytes of the region (checked by region_ptr); the
        // vCPU is stopped, and the words are plain data validated below.
        unsafe {
            std::ptr::copy_nonoverlapping(p, save.as_mut_ptr().cast::<u8>(), stub::SAVE_SIZE)
        };
        let w = |off: usize| save[off / 8];
        let before = state.regs;
        if w(stub::OFF_CS) & 3 != 3 {
            return Err(PlatformError::Unsupported(format!(
                "kvm: the stub faulted (vector {}, rip {:#x}, cs {:#x}, ss {:#x}, rsp {:#x}, err {:#x})",
                w(stub::OFF_VECTOR),
                w(stub::OFF_RIP),
                w(stub::OFF_CS),
                w(stub::OFF_SS),
                w(stub::OFF_RSP),
                w(stub::OFF_ERROR)
            )));
        }
        state.regs = Regs {
            r15: save[0],
            r14: save[1],
            r13: save[2],
            r12: save[3],
            rbp: save[4],
            rbx: save[5],
            r11: save[6],
            r10: save[7],
            r9: save[8],
            r8: save[9],
            rax: save[10],
            rcx: save[11],
            rdx: save[12],
            rsi: save[13],
            rdi: save[14],
            orig_rax: u64::MAX,
            rip: w(stub::OFF_RIP),
            cs: u64::from(stub::USER_CS),
            eflags: w(stub::OFF_RFLAGS),
            rsp: w(stub::OFF_RSP),
            ss: u64::from(stub::USER_DS),
            ..state.regs
        };
        state.fp_loaded = false;
        let vector = w(stub::OFF_VECTOR);
        let err = w(stub::OFF_ERROR);
        let rip = state.regs.rip;
        let fault = |signo: i32, code: i32, addr: u64| Event::Fault {
            addr,
            access: Access::UNKNOWN,
            signo,
            code,
        };
        let ev = match vector {
            stub::VEC_SYSCALL => {
                // Linux takes the number from eax (sign-extended, as seccomp reports it).
                state.regs.orig_rax = i64::from(state.regs.rax as u32 as i32) as u64;
                state.regs.rax = -(libc::ENOSYS as i64) as u64;
                Event::Syscall
            }
            stub::VEC_KICK => {
                // Stopped before user mode: the registers are the ones it was given.
                state.regs = before;
                self.interrupter.pending.store(false, Ordering::SeqCst);
                Event::Interrupted
            }
            0 => fault(libc::SIGFPE, FPE_INTDIV, rip),
            1 => fault(libc::SIGTRAP, TRAP_TRACE, rip),
            3 | 4 | 5 | 13 => fault(
                if vector == 3 {
                    libc::SIGTRAP
                } else {
                    libc::SIGSEGV
                },
                SI_KERNEL,
                0,
            ),
            6 => fault(libc::SIGILL, ILL_ILLOPN, rip),
            11 | 12 => fault(libc::SIGBUS, SI_KERNEL, 0),
            14 => {
                let write = err & 2 != 0;
                let exec = err & 16 != 0;
                Event::Fault {
                    addr: w(stub::OFF_CR2),
                    access: Access {
                        read: !write && !exec,
                        write,
                        exec,
                    },
                    signo: libc::SIGSEGV,
                    code: if err & 1 == 0 {
                        SEGV_MAPERR
                    } else {
                        SEGV_ACCERR
                    },
                }
            }
            16 | 19 => fault(libc::SIGFPE, FPE_FLTINV, rip),
            17 => fault(libc::SIGBUS, BUS_ADRALN, rip),
            other => {
                return Err(PlatformError::Unsupported(format!(
                    "kvm: unexpected exception {other} at {rip:#x}"
                )));
            }
        };
        Ok(Some(ev))
    }
}

/// A per-thread timer that repeats the kick while the stub runs toward its exit.
pub(super) struct Rekick {
    pub(super) timer: Option<libc::timer_t>,
}

impl Rekick {
    pub(super) fn arm() -> Rekick {
        // SAFETY: sigevent is plain data; zeroed is valid before we fill it.
        let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
        sev.sigev_notify = libc::SIGEV_THREAD_ID;
        sev.sigev_signo = kick_signal();
        sev.sigev_notify_thread_id = gettid();
        let mut timer: libc::timer_t = std::ptr::null_mut();
        // SAFETY: timer_create with a valid sigevent and out pointer.
        let r = unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer) };
        Rekick {
            timer: (r == 0).then_some(timer),
        }
    }

    pub(super) fn rearm(&self) {
        self.rearm_after(REKICK);
    }

    pub(super) fn rearm_after(&self, after: Duration) {
        let Some(t) = self.timer else { return };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as i64,
                tv_nsec: i64::from(after.subsec_nanos()),
            },
        };
        // SAFETY: arming our own timer with a valid spec.
        unsafe { libc::timer_settime(t, 0, &spec, std::ptr::null_mut()) };
    }
}

impl Drop for Rekick {
    fn drop(&mut self) {
        if let Some(t) = self.timer {
            // SAFETY: deleting the timer we created.
            unsafe { libc::timer_delete(t) };
        }
    }
}
