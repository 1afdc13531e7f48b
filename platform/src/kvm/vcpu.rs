//! A vCPU of the kvm platform: its creation (segments, MSRs, XCR0, the first entry into
//! the stub), what the host knows of its state, and the FP state of the threads that
//! run on it (KVM_GET_XSAVE/KVM_SET_XSAVE images in the layout the sentry's signal code
//! expects).

use super::*;
use kvm_bindings::{Msrs, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs, kvm_xcrs, kvm_xsave};
use kvm_ioctls::VcpuFd;

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_FMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// Bytes of the legacy FXSAVE area where the kernel's signal frame keeps the software
/// bytes (`struct _fpx_sw_bytes`), which the sentry's signal code expects in an image.
const FPX_SW_BYTES: usize = 464;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;

/// One vCPU and what the host knows of its state.
pub(super) struct Vcpu {
    pub(super) fd: VcpuFd,
    pub(super) id: u32,
    /// The address space whose page-table root its CR3 holds (kept alive for it).
    pub(super) cur: Arc<AsTables>,
    /// FS and GS bases it has loaded.
    pub(super) fs_base: u64,
    pub(super) gs_base: u64,
    /// Stopped by a kick in user mode: its registers are the thread's, and it must be
    /// brought back into the stub before the next entry.
    pub(super) in_user: bool,
    /// Sent to the stub's `syscall` gadget to come back from user mode; the next
    /// syscall exit from there is that, not the application's.
    pub(super) via_gadget: bool,
    /// What the stub was told to load on the current entry (address space, FS and GS
    /// bases); it holds them once the stub has run its resume path.
    pub(super) loading: Option<(Arc<AsTables>, u64, u64)>,
    /// The context whose FP state it holds (see `FpHome`).
    pub(super) owner: Option<Arc<Mutex<FpHome>>>,
}

/// Where a context's FP state is while it holds no vCPU: still in the vCPU it last ran
/// on (`in_vcpu`, until another context takes that vCPU and saves it here), or in `img`
/// (None: the clean state of a new thread).
#[derive(Default)]
pub(super) struct FpHome {
    pub(super) img: Option<Vec<u8>>,
    pub(super) in_vcpu: Option<u32>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Vcpu {
    /// The stub has run its resume path: what it was told to load is loaded.
    pub(super) fn loaded(&mut self) {
        if let Some((tables, fs, gs)) = self.loading.take() {
            self.cur = tables;
            self.fs_base = fs;
            self.gs_base = gs;
        }
    }
}

impl Vm {
    pub(super) fn create_vcpu(&self, id: u32, tables: &Arc<AsTables>) -> Result<Vcpu> {
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
    pub(super) fn fp_image(&self, x: &kvm_xsave) -> Vec<u8> {
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

    pub(super) fn clean_fp(&self) -> Vec<u8> {
        let mut x = kvm_xsave::default();
        x.region[0] = 0x37f;
        x.region[6] = 0x1f80;
        x.region[7] = 0xffff;
        self.fp_image(&x)
    }

    pub(super) fn set_fp(&self, fd: &VcpuFd, img: &[u8]) -> Result<()> {
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
