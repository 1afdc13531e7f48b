//! The kvm platform (DESIGN.md §4): one VM per sandbox whose guest physical memory is
//! the sandbox's memory file plus a small platform region ([`memory`]). Application code
//! runs in guest ring 3 under 4-level page tables the host writes ([`tables`]); the
//! ring-0 stub ([`stub`]) saves the registers on `syscall` or any exception and exits
//! with `out`, and the host reads them from guest memory. vCPUs ([`vcpu`]) are borrowed
//! by the threads' contexts ([`context`]) for each switch.
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

mod context;
mod memory;
mod stub;
mod tables;
mod vcpu;

use crate::{
    Access, AddressSpace, Context, CpuState, Event, Interrupt, Platform, PlatformError, Regs,
    Result, gettid,
};
use context::{KvmContext, KvmInterrupter, Rekick, install_kick_handler, no_vcpu};
use kvm_bindings::{CpuId, KVM_MAX_CPUID_ENTRIES, kvm_xsave};
use kvm_ioctls::{Kvm, VcpuExit, VmFd};
use memory::{GuestMemory, PAGE};
use std::any::Any;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;
use stub::StubCode;
use tables::AsTables;
use vcpu::{FpHome, Vcpu, lock};

/// Lowest address an application may map (as on the other platforms).
const MIN_USER_ADDR: u64 = 0x10000;
/// The top of the user address space (47-bit, last page excluded, as Linux).
const MAX_USER_ADDR: u64 = crate::stub::TASK_SIZE;

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
