//! The kvm platform (DESIGN.md §4): one VM per sandbox whose guest physical memory is
//! the sandbox's memory file plus a small platform region ([`memory`]). Application code
//! runs in guest ring 3 under 4-level page tables the host writes ([`tables`]); the
//! ring-0 stub ([`stub`]) saves the registers on `syscall` or any exception and exits
//! with `out`, and the host reads them from guest memory.
//!
//! Threads: each `switch` borrows a vCPU from the platform's pool (made on demand, so
//! there are as many as threads switching at once) and returns it after, preferring the
//! one the thread ran on last, where its FP state still is; a vCPU that changes hands
//! first saves its previous thread's FP state for it (`FpHome`). Address-space changes
//! need no thread of the application, so any sentry thread may make them; a new thread
//! needs nothing but a context.
//!
//! Interrupts: `interrupt()` sets a flag and `kvm_run.immediate_exit` and sends the kick
//! signal to the thread inside `switch`, whose KVM_RUN returns EINTR. Where the vCPU
//! stopped is told by IF: in user mode its registers are read with KVM_GET_REGS (the
//! only use of it, off the hot path) and before its next entry it is brought back into
//! the stub through a `syscall` gadget; inside the stub a kick flag stops it at the end
//! of its resume path (the signal is repeated by a timer until it gets there).
//!
//! On PVM hosts (shared/kvm/NOTES.md) the stub's first act on a vCPU is the activation
//! write, after which the vCPU runs natively. A probe vCPU runs through it at start-up.
//!
//! The device is `/dev/kvm`, or `$RUNSC_KVM_DEVICE` (for tests of the start-up error:
//! a missing device cannot be had otherwise).

mod memory;
mod stub;
mod tables;

use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Platform, PlatformError, Regs,
    Result, gettid,
};
use kvm_bindings::{
    CpuId, KVM_MAX_CPUID_ENTRIES, Msrs, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs, kvm_xcrs,
    kvm_xsave,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};
use memory::{GuestMemory, PAGE};
use std::any::Any;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use stub::StubCode;
use tables::AsTables;

/// Lowest address an application may map (as on the other platforms).
const MIN_USER_ADDR: u64 = 0x10000;
/// The top of the user address space (47-bit, last page excluded, as Linux).
const MAX_USER_ADDR: u64 = crate::stub::TASK_SIZE;
const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_FMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;
/// The host signal that kicks a sentry thread out of KVM_RUN.
fn kick_signal() -> i32 {
    libc::SIGRTMIN() + 5
}
/// How often a kick is repeated while the stub (not user code) was running.
const REKICK: Duration = Duration::from_micros(200);

/// Bytes of the legacy FXSAVE area where the kernel's signal frame keeps the software
/// bytes (`struct _fpx_sw_bytes`), which the sentry's signal code expects in an image.
const FPX_SW_BYTES: usize = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;

/// Why `/dev/kvm` cannot be used, as the one-line error `runsc` prints.
fn unavailable(why: impl std::fmt::Display) -> PlatformError {
    PlatformError::Unsupported(format!(
        "kvm platform unavailable: {why}; use --platform=seccomp"
    ))
}

fn host_err(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> PlatformError {
    move |e| PlatformError::Host {
        what,
        err: e.into(),
    }
}

/// What kind of KVM this host offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    /// Hardware-assisted (VMX or SVM).
    Hardware,
    /// The PVM fork: software virtualization, native once the guest activates it.
    Pvm,
}

fn host_cpuid(leaf: u32, sub: u32) -> std::arch::x86_64::CpuidResult {
    std::arch::x86_64::__cpuid_count(leaf, sub)
}

fn detect_flavour(kvm: &Kvm) -> Result<Flavour> {
    let pvm = std::path::Path::new("/sys/module/kvm_pvm").exists();
    let vmx = host_cpuid(1, 0).ecx & (1 << 5) != 0;
    let svm = host_cpuid(0x8000_0001, 0).ecx & (1 << 2) != 0;
    // The hypervisor leaf KVM gives its guests says "KVMKVMKVM" on both flavours.
    let sig = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .ok()
        .and_then(|c| {
            c.as_slice()
                .iter()
                .find(|e| e.function == 0x4000_0000)
                .map(|e| {
                    let mut s = Vec::new();
                    for r in [e.ebx, e.ecx, e.edx] {
                        s.extend_from_slice(&r.to_le_bytes());
                    }
                    s
                })
        });
    if pvm {
        if sig.as_deref() != Some(b"KVMKVMKVM\0\0\0") {
            return Err(unavailable(
                "/dev/kvm is a PVM module whose guests do not see the KVM signature",
            ));
        }
        Ok(Flavour::Pvm)
    } else if vmx || svm {
        Ok(Flavour::Hardware)
    } else {
        Err(unavailable(
            "/dev/kvm is neither PVM nor backed by VMX/SVM on this CPU",
        ))
    }
}

pub fn new_platform(memfd: i32) -> Result<Arc<dyn Platform>> {
    let device = std::env::var_os("RUNSC_KVM_DEVICE").unwrap_or_else(|| "/dev/kvm".into());
    let kvm_fd = Kvm::open_with_cloexec_at(
        std::ffi::CString::new(device.as_encoded_bytes().to_vec())
            .map_err(|_| unavailable("bad RUNSC_KVM_DEVICE"))?,
        true,
    )
    .map_err(|e| {
        let err: std::io::Error = e.into();
        match err.raw_os_error() {
            Some(libc::ENOENT) => unavailable(format!("{} does not exist", device.display())),
            Some(libc::EACCES) | Some(libc::EPERM) => {
                unavailable(format!("no permission to open {}", device.display()))
            }
            _ => unavailable(format!("cannot open {}: {err}", device.display())),
        }
    })?;
    // SAFETY: a fresh descriptor of a KVM device, owned from here on.
    let kvm = unsafe { Kvm::from_raw_fd(kvm_fd) };
    match kvm.get_api_version() {
        12 => {}
        v if v < 0 => {
            return Err(unavailable(format!(
                "{} is not a KVM device",
                device.display()
            )));
        }
        v => return Err(unavailable(format!("KVM API version {v}, not 12"))),
    }
    let flavour = detect_flavour(&kvm)?;
    let vm = kvm
        .create_vm()
        .map_err(|e| unavailable(format!("KVM_CREATE_VM: {e}")))?;
    let mut cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(|e| unavailable(format!("KVM_GET_SUPPORTED_CPUID: {e}")))?;
    let supported_xcr0 = cpuid
        .as_slice()
        .iter()
        .find(|e| e.function == 0xd && e.index == 0)
        .map(|e| u64::from(e.eax) | (u64::from(e.edx) << 32))
        .unwrap_or(3);
    let xcr0 = host_xcr0() & supported_xcr0;
    let xsave_size = host_cpuid(0xd, 0).ebx as usize;
    if xsave_size > std::mem::size_of::<kvm_xsave>() || xsave_size < 576 {
        return Err(unavailable(format!(
            "the XSAVE area ({xsave_size} bytes) does not fit KVM_GET_XSAVE"
        )));
    }
    // The guest sees no PCID (KVM_SET_SREGS rejects CR4.PCIDE here).
    for e in cpuid.as_mut_slice() {
        if e.function == 1 {
            e.ecx &= !(1 << 17);
        }
    }
    let max_vcpus = kvm.get_max_vcpus().min(1024) as u32;
    let mem = GuestMemory::new(memfd)?;
    let slots = kvm.get_nr_memslots();
    if slots < mem.slots_needed() {
        return Err(unavailable(format!(
            "KVM offers {slots} memslots, the memory file and platform region need {}",
            mem.slots_needed()
        )));
    }
    let code = StubCode::get();
    if code.bytes.len() as u64 > stub::CODE_PAGES * PAGE {
        return Err(PlatformError::Unsupported(
            "kvm: the stub is larger than its pages".into(),
        ));
    }
    let code_gpa = mem.alloc_page(&vm)?;
    let code_gpa2 = mem.alloc_page(&vm)?;
    if code_gpa2 != code_gpa + PAGE {
        return Err(PlatformError::Unsupported(
            "kvm: stub pages are not contiguous".into(),
        ));
    }
    mem.write_region(code_gpa, code.bytes)?;
    let sys_gpa = mem.alloc_page(&vm)?;
    mem.write_region(sys_gpa, &code.sys_page())?;
    install_kick_handler();
    let platform = KvmPlatform {
        vm: Arc::new(Vm {
            fd: vm,
            mem,
            code,
            code_gpa,
            sys_gpa,
            flavour,
            cpuid,
            xcr0,
            xsave_size,
            max_vcpus,
            _kvm: kvm,
        }),
        pool: Arc::new(Mutex::new(Pool {
            free: Vec::new(),
            created: 0,
        })),
    };
    probe(&platform)?;
    Ok(Arc::new(platform))
}

/// Runs a first vCPU through the stub's start (on PVM: the signature read and the
/// activation) and resume path, stopped before user mode, so that a KVM that cannot
/// run the platform is a start-up error. The vCPU goes to the pool.
fn probe(p: &KvmPlatform) -> Result<()> {
    const LIMIT: Duration = Duration::from_secs(5);
    let vm = &p.vm;
    let tables = Arc::new(AsTables::new(vm.clone())?);
    let mut v = vm.create_vcpu(0, &tables)?;
    lock(&p.pool).created = 1;
    let root = tables.root(v.id)?;
    let mut save = [0u8; stub::SAVE_SIZE];
    save[stub::OFF_KICK] = 1;
    vm.mem.write_region(root.data, &save)?;
    let timer = Rekick::arm();
    timer.rearm_after(LIMIT);
    let exit = match v.fd.run() {
        Ok(VcpuExit::IoOut(stub::EXIT_PORT, _)) => Ok(()),
        Ok(other) => Err(format!("its first entry ended with {other:?}")),
        Err(e) if e.errno() == libc::EINTR => Err(format!("its first entry hung for {LIMIT:?}")),
        Err(e) => Err(format!("KVM_RUN: {e}")),
    };
    drop(timer);
    exit.map_err(|why| unavailable(format!("a vCPU does not run the stub: {why}")))?;
    let p_save = vm
        .mem
        .region_ptr(root.data, stub::SAVE_SIZE as u64)
        .ok_or_else(no_vcpu)?;
    let mut words = [0u64; stub::SAVE_SIZE / 8];
    // SAFETY: `p_save` covers SAVE_SIZE bytes of the region; the vCPU is stopped.
    unsafe {
        std::ptr::copy_nonoverlapping(p_save, words.as_mut_ptr().cast::<u8>(), stub::SAVE_SIZE)
    };
    let vector = words[stub::OFF_VECTOR / 8];
    let signature = words[stub::OFF_PROBE / 8];
    if vm.flavour == Flavour::Pvm && vector == 13 {
        return Err(unavailable(
            "the PVM signature MSR faults: /dev/kvm is not the PVM it seemed",
        ));
    }
    if vector != stub::VEC_KICK {
        return Err(unavailable(format!(
            "the stub's first entry ended with exception {vector}"
        )));
    }
    if vm.flavour == Flavour::Pvm && signature != stub::PVM_SIGNATURE {
        return Err(unavailable(format!(
            "the PVM signature MSR reads {signature:#x}, not \"PVM\""
        )));
    }
    p.pool
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .free
        .push(v);
    Ok(())
}

/// The host's XCR0 (which XSAVE components are enabled), which the guest gets too so
/// that CPUID's XSAVE sizes, read natively by user code, match.
fn host_xcr0() -> u64 {
    if host_cpuid(1, 0).ecx & (1 << 27) == 0 {
        return 3;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: xgetbv with ecx=0 reads XCR0; CPUID says the OS enabled XSAVE (OSXSAVE),
    // so the instruction exists and is allowed in user mode. It touches no memory.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi,
            options(nomem, nostack, preserves_flags));
    }
    u64::from(lo) | (u64::from(hi) << 32)
}

extern "C" fn on_kick(_: i32) {}

/// Installs the (empty) handler of the kick signal, whose only effect is to make a
/// KVM_RUN in progress return EINTR.
fn install_kick_handler() {
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

/// The VM of one sandbox, shared by its platform, address spaces and contexts.
struct Vm {
    /// Declared first: dropped (closing the VM) before the memory its memslots use.
    fd: VmFd,
    mem: GuestMemory,
    code: StubCode,
    code_gpa: u64,
    sys_gpa: u64,
    flavour: Flavour,
    cpuid: CpuId,
    xcr0: u64,
    xsave_size: usize,
    max_vcpus: u32,
    _kvm: Kvm,
}

/// The vCPUs of dropped contexts, for reuse. Held by the platform and its contexts,
/// not by the VM: the vCPUs keep address spaces alive, which keep the VM.
struct Pool {
    free: Vec<Vcpu>,
    created: u32,
}

pub struct KvmPlatform {
    vm: Arc<Vm>,
    pool: Arc<Mutex<Pool>>,
}

impl Platform for KvmPlatform {
    fn name(&self) -> &'static str {
        "kvm"
    }

    fn new_address_space(&self) -> Result<Arc<dyn AddressSpace>> {
        Ok(Arc::new(KvmAddressSpace {
            tables: Arc::new(AsTables::new(self.vm.clone())?),
        }))
    }

    fn new_context(&self) -> Result<Box<dyn Context>> {
        Ok(Box::new(KvmContext {
            vm: self.vm.clone(),
            pool: self.pool.clone(),
            vcpu: None,
            last: None,
            home: Arc::new(Mutex::new(FpHome::default())),
            interrupter: Arc::new(KvmInterrupter {
                pending: AtomicBool::new(false),
                target: Mutex::new(None),
            }),
        }))
    }

    fn min_user_addr(&self) -> u64 {
        MIN_USER_ADDR
    }

    fn max_user_addr(&self) -> u64 {
        MAX_USER_ADDR
    }
}

/// An application address space: its page tables.
pub struct KvmAddressSpace {
    tables: Arc<AsTables>,
}

impl AddressSpace for KvmAddressSpace {
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: crate::Perms) -> Result<()> {
        check_user_range("mapping", addr, len)?;
        self.tables.map(addr, len, file_offset, perms)
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        check_user_range("unmapping", addr, len)?;
        self.tables.unmap(addr, len)
    }

    fn prepare_thread(&self) -> Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn check_user_range(what: &str, addr: u64, len: u64) -> Result<()> {
    if !addr.is_multiple_of(PAGE)
        || !len.is_multiple_of(PAGE)
        || addr.checked_add(len).is_none_or(|end| end > MAX_USER_ADDR)
    {
        return Err(PlatformError::Unsupported(format!(
            "kvm: {what} {addr:#x}+{len:#x} outside the user range"
        )));
    }
    Ok(())
}

/// One vCPU and what the host knows of its state.
struct Vcpu {
    fd: VcpuFd,
    id: u32,
    /// The address space whose page-table root its CR3 holds (kept alive for it).
    cur: Arc<AsTables>,
    /// FS and GS bases it has loaded.
    fs_base: u64,
    gs_base: u64,
    /// Stopped by a kick in user mode: its registers are the thread's, and it must be
    /// brought back into the stub before the next entry.
    in_user: bool,
    /// Sent to the stub's `syscall` gadget to come back from user mode; the next
    /// syscall exit from there is that, not the application's.
    via_gadget: bool,
    /// What the stub was told to load on the current entry (address space, FS and GS
    /// bases); it holds them once the stub has run its resume path.
    loading: Option<(Arc<AsTables>, u64, u64)>,
    /// The context whose FP state it holds (see `FpHome`).
    owner: Option<Arc<Mutex<FpHome>>>,
}

/// Where a context's FP state is while it holds no vCPU: still in the vCPU it last ran
/// on (`in_vcpu`, until another context takes that vCPU and saves it here), or in `img`
/// (None: the clean state of a new thread).
#[derive(Default)]
struct FpHome {
    img: Option<Vec<u8>>,
    in_vcpu: Option<u32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Vcpu {
    /// The stub has run its resume path: what it was told to load is loaded.
    fn loaded(&mut self) {
        if let Some((tables, fs, gs)) = self.loading.take() {
            self.cur = tables;
            self.fs_base = fs;
            self.gs_base = gs;
        }
    }
}

impl Vm {
    fn create_vcpu(&self, id: u32, tables: &Arc<AsTables>) -> Result<Vcpu> {
        let fd = self
            .fd
            .create_vcpu(u64::from(id))
            .map_err(host_err("kvm: KVM_CREATE_VCPU"))?;
        fd.set_cpuid2(&self.cpuid)
            .map_err(host_err("kvm: KVM_SET_CPUID2"))?;
        let root = tables.root(id)?;
        let mut sregs: kvm_sregs = fd.get_sregs().map_err(host_err("kvm: KVM_GET_SREGS"))?;
        sregs.cr0 = 0x8005_0033; // PG AM WP NE ET MP PE
        sregs.cr4 = 0x20 | 0x200 | 0x400 | (1 << 18); // PAE OSFXSR OSXMMEXCPT OSXSAVE
        sregs.cr3 = root.pml4;
        sregs.efer = 0xd01; // NXE LMA LME SCE
        let seg = |sel: u16, type_: u8, l: u8, db: u8| kvm_segment {
            base: 0,
            limit: 0xffff_ffff,
            selector: sel,
            type_,
            present: 1,
            dpl: 0,
            db,
            s: 1,
            l,
            g: 1,
            avl: 0,
            unusable: 0,
            padding: 0,
        };
        sregs.cs = seg(stub::KERNEL_CS, 0xb, 1, 0);
        sregs.ss = seg(stub::KERNEL_DS, 0x3, 0, 1);
        let null = kvm_segment {
            unusable: 1,
            present: 0,
            ..seg(0, 0, 0, 0)
        };
        sregs.ds = null;
        sregs.es = null;
        sregs.fs = null;
        sregs.gs = null;
        sregs.ldt = kvm_segment {
            type_: 2,
            s: 0,
            ..null
        };
        sregs.tr = kvm_segment {
            base: stub::SYS_VA + stub::TSS_OFF,
            limit: stub::TSS_LIMIT,
            selector: stub::TSS_SEL,
            type_: 0xb,
            present: 1,
            s: 0,
            g: 0,
            db: 0,
            l: 0,
            dpl: 0,
            avl: 0,
            unusable: 0,
            padding: 0,
        };
        sregs.gdt.base = stub::SYS_VA;
        sregs.gdt.limit = stub::GDT_LIMIT;
        sregs.idt.base = stub::SYS_VA + stub::IDT_OFF;
        sregs.idt.limit = (stub::IDT_VECTORS * 16 - 1) as u16;
        fd.set_sregs(&sregs)
            .map_err(host_err("kvm: KVM_SET_SREGS"))?;
        let star = (0x23u64 << 48) | (u64::from(stub::KERNEL_CS) << 32);
        let msrs = [
            (MSR_STAR, star),
            (MSR_LSTAR, self.code.syscall),
            (MSR_CSTAR, 0),
            (MSR_FMASK, 0x4_7700), // TF DF IF IOPL AC NT
            (MSR_FS_BASE, 0),
            (MSR_GS_BASE, 0),
            (MSR_KERNEL_GS_BASE, 0),
        ];
        let entries: Vec<kvm_msr_entry> = msrs
            .iter()
            .map(|&(index, data)| kvm_msr_entry {
                index,
                data,
                ..Default::default()
            })
            .collect();
        let msrs_fam = Msrs::from_entries(&entries)
            .map_err(|_| PlatformError::Unsupported("kvm: MSR list".into()))?;
        let n = fd
            .set_msrs(&msrs_fam)
            .map_err(host_err("kvm: KVM_SET_MSRS"))?;
        if n != entries.len() {
            return Err(PlatformError::Unsupported(format!(
                "kvm: KVM_SET_MSRS set {n} of {} MSRs",
                entries.len()
            )));
        }
        let mut xcrs = kvm_xcrs {
            nr_xcrs: 1,
            ..Default::default()
        };
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = self.xcr0;
        fd.set_xcrs(&xcrs).map_err(host_err("kvm: KVM_SET_XCRS"))?;
        // The activation page: any page of ours the guest never maps.
        let (pvm, act_page) = match self.flavour {
            Flavour::Pvm => (1, self.mem.alloc_page(&self.fd)?),
            Flavour::Hardware => (0, 0),
        };
        let regs = kvm_regs {
            rip: self.code.start,
            rflags: 2,
            rsp: stub::STACK_TOP,
            rcx: pvm,
            rax: act_page & 0xffff_ffff,
            rdx: act_page >> 32,
            ..Default::default()
        };
        fd.set_regs(&regs).map_err(host_err("kvm: KVM_SET_REGS"))?;
        Ok(Vcpu {
            fd,
            id,
            cur: tables.clone(),
            fs_base: 0,
            gs_base: 0,
            in_user: false,
            via_gadget: false,
            loading: None,
            owner: None,
        })
    }

    /// An XSAVE image as the sentry's signal code expects it: the standard format with
    /// the kernel's software bytes.
    fn fp_image(&self, x: &kvm_xsave) -> Vec<u8> {
        let mut img: Vec<u8> = x
            .region
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(self.xsave_size)
            .collect();
        let sw = FPX_SW_BYTES;
        img[sw..512].fill(0);
        img[sw..sw + 4].copy_from_slice(&FP_XSTATE_MAGIC1.to_le_bytes());
        img[sw + 4..sw + 8].copy_from_slice(&(self.xsave_size as u32 + 4).to_le_bytes());
        img[sw + 8..sw + 16].copy_from_slice(&self.xcr0.to_le_bytes());
        img[sw + 16..sw + 20].copy_from_slice(&(self.xsave_size as u32).to_le_bytes());
        img
    }

    fn clean_fp(&self) -> Vec<u8> {
        let mut x = kvm_xsave::default();
        x.region[0] = 0x37f;
        x.region[6] = 0x1f80;
        x.region[7] = 0xffff;
        self.fp_image(&x)
    }

    fn set_fp(&self, fd: &VcpuFd, img: &[u8]) -> Result<()> {
        if img.len() != self.xsave_size {
            return Err(PlatformError::Unsupported(
                "kvm: an FP image of the wrong size".into(),
            ));
        }
        let mut x = kvm_xsave::default();
        for (i, w) in img.chunks(4).enumerate() {
            let mut b = [0u8; 4];
            b[..w.len()].copy_from_slice(w);
            x.region[i] = u32::from_le_bytes(b);
        }
        // The software bytes are the sentry's, not state.
        for w in &mut x.region[FPX_SW_BYTES / 4..512 / 4] {
            *w = 0;
        }
        // SAFETY: `x` is a complete kvm_xsave of the size KVM_SET_XSAVE reads (the
        // XSAVE area fits it, checked at start-up).
        unsafe { fd.set_xsave(&x) }.map_err(host_err("kvm: KVM_SET_XSAVE"))
    }
}

struct KvmInterrupter {
    pending: AtomicBool,
    /// The sentry thread inside `switch` and its vCPU's `kvm_run` (as an address).
    target: Mutex<Option<(i32, usize)>>,
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
struct TargetGuard<'a>(&'a KvmInterrupter);

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        *self.0.target.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

struct KvmContext {
    vm: Arc<Vm>,
    pool: Arc<Mutex<Pool>>,
    /// The vCPU it runs on: borrowed from the pool for each `switch` (kept between
    /// switches only while stopped in user mode).
    vcpu: Option<Vcpu>,
    /// The vCPU it ran on last, taken again if free (its FP state is still there).
    last: Option<u32>,
    home: Arc<Mutex<FpHome>>,
    interrupter: Arc<KvmInterrupter>,
}

/// Whether `v` is a canonical lower-half address (what user mode may hold in rip, rsp
/// and the segment bases).
fn user_canonical(v: u64) -> bool {
    v < 0x0000_8000_0000_0000
}

/// What one KVM_RUN ended with.
enum Exit {
    /// The stub's `out`: an event is in the save area.
    Stub,
    /// EINTR: a kick (or another signal).
    Interrupted,
}

impl KvmContext {
    /// Borrows a vCPU for a switch: the one it ran on last if free, else any free one,
    /// else a new one; and makes the thread's FP state its own.
    fn bind(&mut self, tables: &Arc<AsTables>) -> Result<()> {
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
    fn adopt_fp(&self, v: &mut Vcpu, free: &[Vcpu]) -> Result<()> {
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
    fn release(&mut self, failed: bool) {
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
    fn run_once(&mut self, draining: bool) -> Result<Exit> {
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
    fn stop_point(&mut self, state: &mut CpuState) -> Result<bool> {
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
    fn leave_user(&mut self) -> Result<()> {
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

fn no_vcpu() -> PlatformError {
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
        crate::cputime::thread_cpu_time_ns(std::process::id() as i32, gettid())
    }
}

impl KvmContext {
    fn run_switch(&mut self, aspace: &dyn AddressSpace, state: &mut CpuState) -> Result<Event> {
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
    fn enter(&mut self, tables: &Arc<AsTables>, regs: &Regs) -> Result<()> {
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
    fn read_event(&mut self, state: &mut CpuState) -> Result<Option<Event>> {
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
struct Rekick {
    timer: Option<libc::timer_t>,
}

impl Rekick {
    fn arm() -> Rekick {
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

    fn rearm(&self) {
        self.rearm_after(REKICK);
    }

    fn rearm_after(&self, after: Duration) {
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
