//! Guest physical memory of the kvm platform's VM: the sandbox's memory file at guest
//! physical address = file offset (registered in 1 GiB memslots as application mappings
//! first reach them, so KVM's per-page metadata grows with use, not with the file's
//! 64 GiB), and above it the platform's own region (stub code, GDT/TSS/IDT, page
//! tables, save areas), a host mapping whose pages are handed out one at a time.
//!
//! Page-table pages are never reused at another guest physical address once freed: a
//! shadow MMU (PVM) keeps shadow pages keyed by guest frame and would not notice the
//! host rewriting a frame it still shadows. Freed pages go back to the host
//! (`MADV_DONTNEED`); the guest-physical space for them is ample (64 GiB).

use crate::{PlatformError, Result};
use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::VmFd;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

pub const PAGE: u64 = 4096;
/// Granularity of memslots.
const CHUNK: u64 = 1 << 30;
/// Size of the platform region's host reservation (sparse).
const REGION_SIZE: u64 = 64 << 30;

/// A host mapping of `len` bytes, unmapped on drop.
struct HostMap {
    base: *mut u8,
    len: u64,
}

// SAFETY: the mapping is plain shared memory owned by this value; all accesses go
// through raw pointers with bounds checks by the owner.
unsafe impl Send for HostMap {}
// SAFETY: as above.
unsafe impl Sync for HostMap {}

impl Drop for HostMap {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; KVM's memslots referring to it are gone with
        // the VM (the VM fd is closed before this drops, see `GuestMemory`'s field order).
        unsafe { libc::munmap(self.base.cast(), self.len as usize) };
    }
}

/// The VM's guest physical memory and its memslots.
pub struct GuestMemory {
    /// The memory file mapped into this process (shared: the sentry's own mapping sees
    /// the same pages).
    file: HostMap,
    file_size: u64,
    /// Guest physical address of the platform region (above the memory file).
    pub region_gpa: u64,
    region: HostMap,
    state: Mutex<State>,
}

struct State {
    /// Memslots registered, one bit per chunk: memory file chunks then region chunks.
    file_slots: Vec<bool>,
    region_slots: Vec<bool>,
    /// Region pages handed out so far (bump pointer, in pages).
    next_page: u64,
}

impl GuestMemory {
    /// Maps the memory file `memfd` and reserves the platform region.
    pub fn new(memfd: i32) -> Result<GuestMemory> {
        // SAFETY: fstat on a descriptor with a valid out buffer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(memfd, &mut st) } != 0 {
            return Err(PlatformError::last_os("fstat of the memory file"));
        }
        let file_size = (st.st_size as u64).div_ceil(CHUNK) * CHUNK;
        if file_size == 0 {
            return Err(PlatformError::Unsupported(
                "kvm: the memory file is empty".into(),
            ));
        }
        let file = map(file_size, libc::MAP_SHARED, memfd)?;
        let region = map(REGION_SIZE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1)?;
        Ok(GuestMemory {
            file,
            file_size,
            region_gpa: file_size,
            region,
            state: Mutex::new(State {
                file_slots: vec![false; (file_size / CHUNK) as usize],
                region_slots: vec![false; (REGION_SIZE / CHUNK) as usize],
                next_page: 0,
            }),
        })
    }

    /// How many memslots the VM may need at most.
    pub fn slots_needed(&self) -> usize {
        let st = self.state();
        st.file_slots.len() + st.region_slots.len()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the memslots covering memory-file range `[off, off+len)`.
    pub fn ensure_file(&self, vm: &VmFd, off: u64, len: u64) -> Result<()> {
        let end = off
            .checked_add(len)
            .filter(|&e| e <= self.file_size)
            .ok_or_else(|| {
                PlatformError::Unsupported(format!(
                    "kvm: memory file range {off:#x}+{len:#x} is past its end"
                ))
            })?;
        if len == 0 {
            return Ok(());
        }
        let mut st = self.state();
        for chunk in off / CHUNK..end.div_ceil(CHUNK) {
            if !st.file_slots[chunk as usize] {
                let host = self.file.base as u64 + chunk * CHUNK;
                add_slot(vm, chunk as u32, chunk * CHUNK, host)?;
                st.file_slots[chunk as usize] = true;
            }
        }
        Ok(())
    }

    /// Allocates one zeroed page of the platform region; returns its guest physical
    /// address.
    pub fn alloc_page(&self, vm: &VmFd) -> Result<u64> {
        let mut st = self.state();
        let page = st.next_page;
        if (page + 1) * PAGE > REGION_SIZE {
            return Err(PlatformError::Unsupported(
                "kvm: the platform region is full".into(),
            ));
        }
        let chunk = (page * PAGE / CHUNK) as usize;
        if !st.region_slots[chunk] {
            let slot = st.file_slots.len() + chunk;
            let off = chunk as u64 * CHUNK;
            add_slot(
                vm,
                slot as u32,
                self.region_gpa + off,
                self.region.base as u64 + off,
            )?;
            st.region_slots[chunk] = true;
        }
        st.next_page += 1;
        Ok(self.region_gpa + page * PAGE)
    }

    /// Returns a page of the platform region to the host. Its guest physical address is
    /// not handed out again (see the module documentation).
    pub fn free_page(&self, gpa: u64) {
        if let Some(p) = self.region_ptr(gpa, PAGE) {
            // SAFETY: dropping the contents of one page of our private anonymous region;
            // it reads as zeros afterwards. Nothing refers to the page any more.
            unsafe { libc::madvise(p.cast(), PAGE as usize, libc::MADV_DONTNEED) };
        }
    }

    /// The host address of region range `[gpa, gpa+len)`, if inside the region.
    pub fn region_ptr(&self, gpa: u64, len: u64) -> Option<*mut u8> {
        let off = gpa.checked_sub(self.region_gpa)?;
        if off.checked_add(len)? > self.region.len {
            return None;
        }
        // SAFETY: `off + len` lies inside the region mapping (checked above).
        Some(unsafe { self.region.base.add(off as usize) })
    }

    /// The 512 entries of the page-table page at `gpa` (a region page).
    pub fn table(&self, gpa: u64) -> &[AtomicU64; 512] {
        let p = self
            .region_ptr(gpa & !(PAGE - 1), PAGE)
            .expect("page-table pages are region pages");
        // SAFETY: a page-aligned page inside the region mapping, which lives as long as
        // `self`; AtomicU64 has the layout of u64 and every bit pattern is valid. The guest
        // (KVM's page walker) may access it concurrently, hence atomics.
        unsafe { &*p.cast::<[AtomicU64; 512]>() }
    }

    /// Copies `data` into the region at `gpa`.
    pub fn write_region(&self, gpa: u64, data: &[u8]) -> Result<()> {
        let p = self
            .region_ptr(gpa, data.len() as u64)
            .ok_or_else(|| PlatformError::Unsupported("kvm: write outside the region".into()))?;
        // SAFETY: `[p, p+len)` lies inside the region mapping (checked by region_ptr).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// Drops the host's mapping of memory-file range `[off, off+len)` (the file keeps its
    /// contents). KVM's MMU notifier then forgets every guest translation to those
    /// pages, so a page-table entry the host removed or narrowed is not used stale.
    pub fn invalidate_file(&self, off: u64, len: u64) {
        if off.checked_add(len).is_none_or(|e| e > self.file_size) || len == 0 {
            return;
        }
        // SAFETY: the range lies inside our shared mapping of the memory file; for a
        // shared mapping MADV_DONTNEED only drops page-table entries, never data.
        unsafe {
            libc::madvise(
                self.file.base.add(off as usize).cast(),
                len as usize,
                libc::MADV_DONTNEED,
            )
        };
    }
}

fn map(len: u64, flags: i32, fd: i32) -> Result<HostMap> {
    // SAFETY: a fresh mapping chosen by the kernel; nothing existing is affected.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            flags | libc::MAP_NORESERVE,
            fd,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(PlatformError::last_os("kvm: mapping guest memory"));
    }
    Ok(HostMap {
        base: base.cast(),
        len,
    })
}

fn add_slot(vm: &VmFd, slot: u32, gpa: u64, host: u64) -> Result<()> {
    let region = kvm_userspace_memory_region {
        slot,
        flags: 0,
        guest_phys_addr: gpa,
        memory_size: CHUNK,
        userspace_addr: host,
    };
    // SAFETY: `host..host+CHUNK` is inside a mapping owned by the GuestMemory that owns
    // (outlives the use of) the VM's memslots: the VM fd is dropped first.
    unsafe { vm.set_user_memory_region(region) }.map_err(|e| PlatformError::Host {
        what: "kvm: KVM_SET_USER_MEMORY_REGION",
        err: e.into(),
    })
}
