//! The memory manager of one address space (DESIGN.md §5): VMAs in an ordered map, the
//! memory-file page behind each populated application page, lazy fault-in, brk, and the
//! anonymous mmap family. The platform's `AddressSpace` only mirrors what is decided here.

pub mod memfile;

use crate::host::Seg;
use crate::vfs::inode::FileOps;
use memfile::{Frame, MemoryFile, PAGE_SIZE};
use platform::{AddressSpace, Perms};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

/// Linux's `TASK_SIZE` on x86-64 with 4-level paging.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Pages mapped around a faulting page at once (fault-around), to save platform round trips.
const FAULT_AROUND_PAGES: u64 = 16;
/// Gap Linux keeps below a grows-down stack (`stack_guard_gap`, 256 pages).
const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE_SIZE - 1).map(page_down)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmaKind {
    Anon,
    Heap,
    Stack,
    /// A segment of the executable.
    Image,
    /// The vDSO.
    Vdso,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub end: u64,
    pub perms: Perms,
    pub kind: VmaKind,
    pub shared: bool,
    pub growsdown: bool,
    /// The file this range maps privately, and the file offset of the VMA's start.
    pub file: Option<FileMap>,
}

/// A file mapping's source. Private: pages are copies read from `ops` when first touched.
/// Shared (`cache`): the pages are the file's own (`FileOps::shared_frame`), so stores
/// reach the file and other mappings.
#[derive(Clone)]
pub struct FileMap {
    pub ops: Arc<dyn FileOps>,
    pub offset: u64,
    /// The mapping is shared and its pages are the file's page cache.
    pub cache: bool,
    /// Whether the mapping may be made writable (VM_MAYWRITE): false for a shared mapping
    /// of a file not opened for writing.
    pub may_write: bool,
    /// What /proc/PID/maps shows: (path, device, inode).
    pub name: Vec<u8>,
    pub dev: u64,
    pub ino: u64,
}

impl std::fmt::Debug for FileMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileMap({}, {:#x})",
            String::from_utf8_lossy(&self.name),
            self.offset
        )
    }
}

impl PartialEq for FileMap {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.ops, &o.ops) && self.offset == o.offset
    }
}

impl Eq for FileMap {}

#[derive(Clone, Debug)]
struct Page {
    /// Offset of the memory-file page behind it.
    off: u64,
    /// Whether (and with which permissions) it is mapped in the platform address space.
    mapped: Option<Perms>,
    /// A page owned by a file's page cache (shared file mappings); None for pages this
    /// address space owns and frees itself.
    frame: Option<Arc<Frame>>,
}

impl Page {
    fn own(off: u64) -> Page {
        Page {
            off,
            mapped: None,
            frame: None,
        }
    }
}

/// Why a fault cannot be resolved: the signal code Linux reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultError {
    /// SEGV_MAPERR: no mapping there.
    MapErr,
    /// SEGV_ACCERR: the mapping forbids the access.
    AccErr,
    /// The memory file is full.
    OutOfMemory,
    /// A shared file mapping's page past the end of the file (or that the file cannot
    /// provide): SIGBUS.
    Bus,
}

struct State {
    vmas: BTreeMap<u64, Vma>,
    pages: BTreeMap<u64, Page>,
    brk_start: u64,
    brk: u64,
    mmap_base: u64,
    stack_limit: u64,
    arg_env: (u64, u64, u64, u64),
}

pub struct MemoryManager {
    state: Mutex<State>,
    aspace: Arc<dyn AddressSpace>,
    mf: Arc<MemoryFile>,
    min_addr: u64,
    max_addr: u64,
}

pub struct MmapArgs {
    pub addr: u64,
    pub len: u64,
    pub perms: Perms,
    pub fixed: bool,
    pub noreplace: bool,
    pub shared: bool,
    pub growsdown: bool,
    pub populate: bool,
    pub below_2g: bool,
    pub kind: VmaKind,
    pub file: Option<FileMap>,
}

impl MemoryManager {
    pub fn new(
        aspace: Arc<dyn AddressSpace>,
        mf: Arc<MemoryFile>,
        min_addr: u64,
        max_addr: u64,
    ) -> Self {
        MemoryManager {
            state: Mutex::new(State {
                vmas: BTreeMap::new(),
                pages: BTreeMap::new(),
                brk_start: 0,
                brk: 0,
                mmap_base: max_addr,
                stack_limit: 8 << 20,
                arg_env: (0, 0, 0, 0),
            }),
            aspace,
            mf,
            min_addr,
            max_addr,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn aspace(&self) -> Arc<dyn AddressSpace> {
        self.aspace.clone()
    }

    pub fn max_addr(&self) -> u64 {
        self.max_addr
    }

    pub fn memfile(&self) -> &MemoryFile {
        &self.mf
    }

    /// Sets where top-down mmap placement starts and the stack's size limit.
    pub fn set_layout(&self, mmap_base: u64, stack_limit: u64) {
        let mut s = self.lock();
        s.mmap_base = mmap_base.min(self.max_addr);
        s.stack_limit = stack_limit;
    }

    pub fn set_brk_start(&self, start: u64) {
        let mut s = self.lock();
        s.brk_start = start;
        s.brk = start;
    }

    /// The mappings as /proc/PID/maps lists them.
    pub fn maps(&self) -> Vec<(u64, Vma)> {
        let s = self.lock();
        s.vmas.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Where the initial argv and envp strings are: (arg_start, arg_end, env_start, env_end).
    pub fn arg_env(&self) -> (u64, u64, u64, u64) {
        let s = self.lock();
        s.arg_env
    }

    pub fn set_arg_env(&self, v: (u64, u64, u64, u64)) {
        self.lock().arg_env = v;
    }

    /// Bytes of application memory populated (resident in the memory file).
    pub fn resident(&self) -> u64 {
        self.lock().pages.len() as u64 * PAGE_SIZE
    }

    /// Total size of all mappings.
    pub fn total_vm(&self) -> u64 {
        self.lock().vmas.iter().map(|(k, v)| v.end - k).sum()
    }

    pub fn brk_range(&self) -> (u64, u64) {
        let s = self.lock();
        (s.brk_start, s.brk)
    }

    // ---- mapping ----

    /// Creates a mapping (`mmap(2)` for anonymous memory). Returns its address.
    pub fn mmap(&self, a: MmapArgs) -> Result<u64, Errno> {
        if a.len == 0 {
            return Err(Errno::EINVAL);
        }
        let len = page_up(a.len).ok_or(Errno::ENOMEM)?;
        if len > self.max_addr - self.min_addr {
            return Err(Errno::ENOMEM);
        }
        let mut s = self.lock();
        let addr = if a.fixed || a.noreplace {
            if !a.addr.is_multiple_of(PAGE_SIZE) {
                return Err(Errno::EINVAL);
            }
            let end = a.addr.checked_add(len).ok_or(Errno::ENOMEM)?;
            if a.addr < self.min_addr || end > self.max_addr {
                // Linux: EPERM below mmap_min_addr, ENOMEM past TASK_SIZE.
                return Err(if a.addr < self.min_addr {
                    Errno::EPERM
                } else {
                    Errno::ENOMEM
                });
            }
            if a.noreplace && !a.fixed && s.overlaps(a.addr, end) {
                return Err(Errno::EEXIST);
            }
            self.remove_range(&mut s, a.addr, end)?;
            a.addr
        } else {
            self.find_free(&s, a.addr, len, a.below_2g)
                .ok_or(Errno::ENOMEM)?
        };
        s.insert(
            addr,
            Vma {
                end: addr + len,
                perms: a.perms,
                kind: a.kind,
                shared: a.shared,
                growsdown: a.growsdown,
                file: a.file.clone(),
            },
        );
        if a.populate && a.perms != Perms::NONE {
            let mut p = addr;
            while p < addr + len {
                self.populate_and_map(&mut s, p)
                    .map_err(|_| Errno::ENOMEM)?;
                p += FAULT_AROUND_PAGES * PAGE_SIZE;
            }
        }
        Ok(addr)
    }

    fn find_free(&self, s: &State, hint: u64, len: u64, below_2g: bool) -> Option<u64> {
        let (lo, hi) = if below_2g {
            (0x4000_0000, 0x8000_0000)
        } else {
            (self.min_addr, s.mmap_base)
        };
        if hint != 0 && !below_2g {
            let h = page_up(hint)?;
            if h >= self.min_addr && h.checked_add(len)? <= self.max_addr && !s.overlaps(h, h + len)
            {
                return Some(h);
            }
        }
        // Top-down: the highest gap below `hi` that fits.
        let mut top = hi;
        for (&start, vma) in s.vmas.range(..hi).rev() {
            if vma.end < top && top - vma.end.max(lo) >= len && top >= lo + len {
                return Some(top - len);
            }
            top = top.min(start);
            if top < lo.saturating_add(len) {
                return None;
            }
        }
        if top >= lo.saturating_add(len) {
            Some(top - len)
        } else {
            None
        }
    }

    /// `munmap(2)`.
    pub fn munmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 || addr > TASK_SIZE || len > TASK_SIZE - addr
        {
            return Err(Errno::EINVAL);
        }
        let end = page_up(addr + len).ok_or(Errno::EINVAL)?;
        let mut s = self.lock();
        self.remove_range(&mut s, addr, end)
    }

    /// Removes every mapping in `[start, end)`: VMAs, pages (returned to the memory file)
    /// and what the platform has mapped.
    fn remove_range(&self, s: &mut State, start: u64, end: u64) -> Result<(), Errno> {
        if !s.overlaps(start, end) {
            return Ok(());
        }
        s.split(start);
        s.split(end);
        let keys: Vec<u64> = s.vmas.range(start..end).map(|(k, _)| *k).collect();
        for k in keys {
            s.vmas.remove(&k);
        }
        self.drop_pages(s, start, end)
    }

    /// Frees the pages in `[start, end)` and unmaps them from the platform.
    fn drop_pages(&self, s: &mut State, start: u64, end: u64) -> Result<(), Errno> {
        let keys: Vec<u64> = s.pages.range(start..end).map(|(k, _)| *k).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let pages: Vec<Page> = keys.iter().filter_map(|k| s.pages.remove(k)).collect();
        // Unmapped from the platform before any page can be reused.
        if pages.iter().any(|p| p.mapped.is_some()) {
            self.aspace
                .unmap(start, end - start)
                .map_err(platform_errno)?;
        }
        let mut run: Option<(u64, u64)> = None;
        for p in pages {
            if p.frame.is_some() {
                // The file's page: dropping the reference is all.
                continue;
            }
            run = match run {
                Some((o, n)) if o + n * PAGE_SIZE == p.off => Some((o, n + 1)),
                Some((o, n)) => {
                    self.mf.free(o, n);
                    Some((p.off, 1))
                }
                None => Some((p.off, 1)),
            };
        }
        if let Some((o, n)) = run {
            self.mf.free(o, n);
        }
        Ok(())
    }

    /// `mprotect(2)`.
    pub fn mprotect(&self, addr: u64, len: u64, perms: Perms) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_up(addr.checked_add(len).ok_or(Errno::ENOMEM)?).ok_or(Errno::ENOMEM)?;
        let mut s = self.lock();
        if !s.covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        if perms.write
            && s.vmas.range(..end).any(|(k, v)| {
                v.end > addr && *k < end && v.file.as_ref().is_some_and(|f| !f.may_write)
            })
        {
            return Err(Errno::EACCES);
        }
        s.split(addr);
        s.split(end);
        for (_, v) in s.vmas.range_mut(addr..end) {
            v.perms = perms;
        }
        s.merge_around(addr, end);
        // Pages refault with the new permissions.
        let mut any_mapped = false;
        for (_, p) in s.pages.range_mut(addr..end) {
            any_mapped |= p.mapped.take().is_some();
        }
        if any_mapped {
            self.aspace
                .unmap(addr, end - addr)
                .map_err(platform_errno)?;
        }
        Ok(())
    }

    /// `madvise(2)` advice that releases memory (MADV_DONTNEED/FREE/REMOVE): the pages read
    /// as zero afterwards.
    pub fn discard(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_up(addr.checked_add(len).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
        let mut s = self.lock();
        let covered = s.covered(addr, end);
        // Private pages are dropped (they read as zero again); shared ones keep their
        // contents, as shmem does, and are only unmapped.
        let pieces: Vec<(u64, u64, bool)> = s
            .vmas
            .range(..end)
            .filter(|(k, v)| v.end > addr && **k < end)
            .map(|(k, v)| ((*k).max(addr), v.end.min(end), v.shared))
            .collect();
        for (lo, hi, shared) in pieces {
            if shared {
                self.unmap_pages(&mut s, lo, hi)?;
            } else {
                self.drop_pages(&mut s, lo, hi)?;
            }
        }
        if covered { Ok(()) } else { Err(Errno::ENOMEM) }
    }

    /// Unmaps `[start, end)` from the platform, keeping the pages.
    fn unmap_pages(&self, s: &mut State, start: u64, end: u64) -> Result<(), Errno> {
        let mut any_mapped = false;
        for (_, p) in s.pages.range_mut(start..end) {
            any_mapped |= p.mapped.take().is_some();
        }
        if any_mapped {
            self.aspace
                .unmap(start, end - start)
                .map_err(platform_errno)?;
        }
        Ok(())
    }

    /// The files behind the shared file mappings in `[start, end)` (msync), and whether the
    /// range is fully mapped.
    pub fn shared_files(&self, start: u64, end: u64) -> (Vec<Arc<dyn FileOps>>, bool) {
        let s = self.lock();
        let files = s
            .vmas
            .range(..end)
            .filter(|(k, v)| v.end > start && **k < end)
            .filter_map(|(_, v)| v.file.as_ref().filter(|f| f.cache).map(|f| f.ops.clone()))
            .collect();
        (files, s.covered(start, end))
    }

    /// Checks that `[addr, addr+len)` is fully mapped (madvise's other advice).
    pub fn check_mapped(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
        if len != 0 && !self.lock().covered(addr, end) {
            return Err(Errno::ENOMEM);
        }
        Ok(())
    }

    /// `mremap(2)`.
    pub fn mremap(
        &self,
        old: u64,
        old_len: u64,
        new_len: u64,
        may_move: bool,
        fixed: Option<u64>,
        dontunmap: bool,
    ) -> Result<u64, Errno> {
        if !old.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
        let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut s = self.lock();
        let (vstart, vma) = s
            .find(old)
            .map(|(k, v)| (k, v.clone()))
            .ok_or(Errno::EFAULT)?;
        if old_len == 0 {
            // Duplicating a mapping works only for shared ones.
            return Err(if vma.shared {
                Errno::ENOMEM
            } else {
                Errno::EINVAL
            });
        }
        let old_end = old.checked_add(old_len).ok_or(Errno::EFAULT)?;
        if old_end > vma.end {
            return Err(Errno::EFAULT);
        }
        if dontunmap && (old_len != new_len || vma.shared) {
            return Err(Errno::EINVAL);
        }
        if let Some(dst) = fixed {
            if dst % PAGE_SIZE != 0 {
                return Err(Errno::EINVAL);
            }
            let dend = dst.checked_add(new_len).ok_or(Errno::EINVAL)?;
            if dst < self.min_addr || dend > self.max_addr {
                return Err(Errno::EINVAL);
            }
            if dst < old_end && old < dend {
                return Err(Errno::EINVAL);
            }
            self.remove_range(&mut s, dst, dend)?;
            return self.move_pages(
                &mut s,
                old,
                old_len,
                new_len,
                dst,
                (vstart, &vma),
                dontunmap,
            );
        }
        if !dontunmap {
            if new_len <= old_len {
                self.remove_range(&mut s, old + new_len, old_end)?;
                return Ok(old);
            }
            // Grow in place if the range ends at the VMA's end and the gap after is free.
            let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
            if old_end == vma.end && grow_end <= self.max_addr && !s.overlaps(old_end, grow_end) {
                if let Some(v) = s.vmas.get_mut(&vstart) {
                    v.end = grow_end;
                }
                return Ok(old);
            }
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let dst = self.find_free(&s, 0, new_len, false).ok_or(Errno::ENOMEM)?;
        self.move_pages(
            &mut s,
            old,
            old_len,
            new_len,
            dst,
            (vstart, &vma),
            dontunmap,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn move_pages(
        &self,
        s: &mut State,
        old: u64,
        old_len: u64,
        new_len: u64,
        dst: u64,
        (vstart, vma): (u64, &Vma),
        keep_old: bool,
    ) -> Result<u64, Errno> {
        let keep = old_len.min(new_len);
        let keys: Vec<u64> = s.pages.range(old..old + keep).map(|(k, _)| *k).collect();
        let mut any_mapped = false;
        for va in keys {
            let Some(p) = s.pages.remove(&va) else {
                continue;
            };
            any_mapped |= p.mapped.is_some();
            s.pages.insert(dst + (va - old), Page { mapped: None, ..p });
        }
        if any_mapped {
            self.aspace.unmap(old, keep).map_err(platform_errno)?;
        }
        if !keep_old {
            self.remove_range(s, old, old + old_len)?;
        }
        let file = vma.file.clone().map(|f| FileMap {
            offset: f.offset + (old - vstart),
            ..f
        });
        s.insert(
            dst,
            Vma {
                end: dst + new_len,
                file,
                ..vma.clone()
            },
        );
        Ok(dst)
    }

    /// `brk(2)`: returns the new break, or the old one when the request cannot be met.
    pub fn brk(&self, want: u64) -> u64 {
        let mut s = self.lock();
        let cur = s.brk;
        if want < s.brk_start {
            return cur;
        }
        let (Some(old_top), Some(new_top)) = (page_up(cur), page_up(want)) else {
            return cur;
        };
        if new_top == old_top {
            s.brk = want;
            return want;
        }
        if new_top < old_top {
            if self.remove_range(&mut s, new_top, old_top).is_err() {
                return cur;
            }
            s.brk = want;
            return want;
        }
        // Growing: the new range must be free, leaving the stack guard gap.
        let guard_end = new_top.saturating_add(STACK_GUARD_GAP);
        if new_top > self.max_addr
            || s.overlaps(old_top, new_top)
            || s.stack_within(new_top, guard_end)
        {
            return cur;
        }
        let perms = Perms {
            read: true,
            write: true,
            exec: false,
        };
        s.insert(
            old_top,
            Vma {
                end: new_top,
                perms,
                kind: VmaKind::Heap,
                shared: false,
                growsdown: false,
                file: None,
            },
        );
        s.brk = want;
        want
    }

    // ---- faults and access ----

    /// Resolves an application page fault at `addr`: populates and maps the page (and its
    /// neighbours) if the mapping allows it.
    pub fn handle_fault(&self, addr: u64) -> Result<(), FaultError> {
        let mut s = self.lock();
        let page = page_down(addr);
        let (_, perms) = self.vma_for(&mut s, addr).ok_or(FaultError::MapErr)?;
        if perms == Perms::NONE {
            return Err(FaultError::AccErr);
        }
        if let Some(p) = s.pages.get(&page)
            && p.mapped == Some(perms)
        {
            // Mapped with everything the VMA allows, and still faulting: a forbidden access.
            return Err(FaultError::AccErr);
        }
        self.populate_and_map(&mut s, page)
    }

    /// The VMA containing `addr`, growing a grows-down stack to reach it if needed.
    fn vma_for(&self, s: &mut State, addr: u64) -> Option<(u64, Perms)> {
        if let Some((k, v)) = s.find(addr) {
            return Some((k, v.perms));
        }
        // Stack growth: the next VMA up grows down and the address is within the limit.
        let (&next, v) = s.vmas.range(addr..).next()?;
        if !v.growsdown || addr < self.min_addr {
            return None;
        }
        let page = page_down(addr);
        if v.end - page > s.stack_limit {
            return None;
        }
        if let Some((_, prev)) = s.vmas.range(..page).next_back()
            && prev.end.saturating_add(STACK_GUARD_GAP) > page
        {
            return None;
        }
        let v = s.vmas.remove(&next)?;
        let perms = v.perms;
        s.vmas.insert(page, v);
        Some((page, perms))
    }

    /// Populates the fault-around window of `page` inside its VMA and maps it.
    fn populate_and_map(&self, s: &mut State, page: u64) -> Result<(), FaultError> {
        let (vstart, vma) = s
            .find(page)
            .map(|(k, v)| (k, v.clone()))
            .ok_or(FaultError::MapErr)?;
        let win = FAULT_AROUND_PAGES * PAGE_SIZE;
        let lo = (page & !(win - 1)).max(vstart);
        let hi = ((page & !(win - 1)) + win).min(vma.end);
        let missing: Vec<u64> = (lo..hi)
            .step_by(PAGE_SIZE as usize)
            .filter(|va| !s.pages.contains_key(va))
            .collect();
        if vma.file.as_ref().is_some_and(|f| f.cache) {
            for va in missing {
                match self.file_page(&vma, vstart, va) {
                    Ok(p) => {
                        s.pages.insert(va, p);
                    }
                    // Only the faulting page itself must exist.
                    Err(e) if va == page => return Err(e),
                    Err(_) => {}
                }
            }
        } else if !missing.is_empty() {
            let base = self
                .mf
                .alloc(missing.len() as u64)
                .ok_or(FaultError::OutOfMemory)?;
            for (i, va) in missing.iter().enumerate() {
                let off = base + i as u64 * PAGE_SIZE;
                self.fill_from_file(&vma, vstart, *va, off);
                s.pages.insert(*va, Page::own(off));
            }
        }
        // Map runs of pages that are contiguous in the memory file.
        let mut run: Option<(u64, u64, u64)> = None; // (va, off, len)
        let todo: Vec<(u64, u64)> = s
            .pages
            .range(lo..hi)
            .filter(|(_, p)| p.mapped != Some(vma.perms))
            .map(|(va, p)| (*va, p.off))
            .collect();
        for (va, off) in todo {
            run = match run {
                Some((rva, roff, rlen)) if rva + rlen == va && roff + rlen == off => {
                    Some((rva, roff, rlen + PAGE_SIZE))
                }
                Some((rva, roff, rlen)) => {
                    self.map_run(s, rva, roff, rlen, vma.perms)?;
                    Some((va, off, PAGE_SIZE))
                }
                None => Some((va, off, PAGE_SIZE)),
            };
        }
        if let Some((rva, roff, rlen)) = run {
            self.map_run(s, rva, roff, rlen, vma.perms)?;
        }
        Ok(())
    }

    fn map_run(
        &self,
        s: &mut State,
        va: u64,
        off: u64,
        len: u64,
        perms: Perms,
    ) -> Result<(), FaultError> {
        self.aspace
            .map(va, len, off, perms)
            .map_err(|_| FaultError::OutOfMemory)?;
        for (_, p) in s.pages.range_mut(va..va + len) {
            p.mapped = Some(perms);
        }
        Ok(())
    }

    /// Translates `[addr, addr+len)` into memory-file segments, populating pages as the
    /// kernel's copy_{to,from}_user would fault them in. Stops at the first page that
    /// cannot be accessed; returns the segments of the accessible prefix (empty if none).
    pub fn segments(&self, addr: u64, len: usize, write: bool) -> Vec<Seg> {
        let mut segs: Vec<Seg> = Vec::new();
        let mut s = self.lock();
        let mut cur = addr;
        let Some(end) = addr.checked_add(len as u64) else {
            return segs;
        };
        while cur < end {
            let page = page_down(cur);
            let Some(off) = self.page_for_access(&mut s, page, write) else {
                break;
            };
            let n = (page + PAGE_SIZE).min(end) - cur;
            let foff = off + (cur - page);
            let ptr = self.mf.host_ptr(foff, n as usize);
            match segs.last_mut() {
                Some(last) if last.ptr.wrapping_add(last.len) == ptr => last.len += n as usize,
                _ => segs.push(Seg {
                    ptr,
                    len: n as usize,
                }),
            }
            cur += n;
        }
        segs
    }

    fn page_for_access(&self, s: &mut State, page: u64, write: bool) -> Option<u64> {
        let (vstart, perms) = self.vma_for(s, page)?;
        // As x86 Linux's access_error(): a read needs any access at all, a write needs write.
        if perms == Perms::NONE || (write && !perms.write) {
            return None;
        }
        if let Some(p) = s.pages.get(&page) {
            return Some(p.off);
        }
        let vma = s.vmas.get(&vstart)?.clone();
        let p = self.new_page(&vma, vstart, page).ok()?;
        let off = p.off;
        s.pages.insert(page, p);
        Some(off)
    }

    /// A fresh page for `page` of the VMA at `vstart`: the file's own page for a shared
    /// file mapping, else a new page (filled from the file for a private file mapping).
    fn new_page(&self, vma: &Vma, vstart: u64, page: u64) -> Result<Page, FaultError> {
        if vma.file.as_ref().is_some_and(|f| f.cache) {
            return self.file_page(vma, vstart, page);
        }
        let off = self.mf.alloc(1).ok_or(FaultError::OutOfMemory)?;
        self.fill_from_file(vma, vstart, page, off);
        Ok(Page::own(off))
    }

    fn file_page(&self, vma: &Vma, vstart: u64, page: u64) -> Result<Page, FaultError> {
        let f = vma.file.as_ref().ok_or(FaultError::Bus)?;
        let idx = (f.offset + (page - vstart)) / PAGE_SIZE;
        let frame = f.ops.shared_frame(idx).map_err(|_| FaultError::Bus)?;
        Ok(Page {
            off: frame.off(),
            mapped: None,
            frame: Some(frame),
        })
    }

    /// Fills a fresh page of a file-backed VMA from the file (bytes past the end of the
    /// file stay zero).
    fn fill_from_file(&self, vma: &Vma, vstart: u64, page: u64, off: u64) {
        let Some(f) = &vma.file else { return };
        let seg = Seg {
            ptr: self.mf.host_ptr(off, PAGE_SIZE as usize),
            len: PAGE_SIZE as usize,
        };
        let pos = f.offset + (page - vstart);
        let _ = f.ops.read(&[seg], Some(pos));
    }

    /// Copies application memory at `addr` into `buf` (EFAULT if any byte is inaccessible).
    pub fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.walk(addr, buf.len(), false, |foff, range| {
            self.mf.read(foff, &mut buf[range])
        })
    }

    /// Copies `buf` to application memory at `addr` (EFAULT if any byte is inaccessible).
    pub fn copy_out(&self, addr: u64, buf: &[u8]) -> Result<(), Errno> {
        self.walk(addr, buf.len(), true, |foff, range| {
            self.mf.write(foff, &buf[range])
        })
    }

    /// Writes `buf` at `addr` ignoring the mapping's protection (the loader filling a
    /// read-only segment, as the kernel does through the page cache).
    pub fn write_force(&self, addr: u64, buf: &[u8]) -> Result<(), Errno> {
        let mut s = self.lock();
        let mut done = 0usize;
        while done < buf.len() {
            let cur = addr + done as u64;
            let page = page_down(cur);
            if s.find(page).is_none() {
                return Err(Errno::EFAULT);
            }
            let off = match s.pages.get(&page) {
                Some(p) => p.off,
                None => {
                    let (vstart, vma) = s
                        .find(page)
                        .map(|(k, v)| (k, v.clone()))
                        .ok_or(Errno::EFAULT)?;
                    let p = self
                        .new_page(&vma, vstart, page)
                        .map_err(|_| Errno::ENOMEM)?;
                    let off = p.off;
                    s.pages.insert(page, p);
                    off
                }
            };
            let n = ((page + PAGE_SIZE - cur) as usize).min(buf.len() - done);
            self.mf.write(off + (cur - page), &buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    fn walk(
        &self,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(u64, std::ops::Range<usize>),
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut s = self.lock();
        let mut cur = addr;
        while cur < end {
            let page = page_down(cur);
            let off = self
                .page_for_access(&mut s, page, write)
                .ok_or(Errno::EFAULT)?;
            let n = (page + PAGE_SIZE).min(end) - cur;
            let start = (cur - addr) as usize;
            f(off + (cur - page), start..start + n as usize);
            cur += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    /// Err(ENAMETOOLONG) when no NUL is found within `max`.
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut cur = addr;
        while out.len() < max {
            // Nothing above the user address range is readable (and the page arithmetic
            // below must not overflow for pointers near 2^64).
            if cur >= TASK_SIZE {
                return Err(Errno::EFAULT);
            }
            let chunk = ((page_down(cur) + PAGE_SIZE - cur) as usize).min(max - out.len());
            let mut buf = vec![0u8; chunk];
            self.copy_in(cur, &mut buf)?;
            if let Some(i) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..i]);
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            cur += chunk as u64;
        }
        Err(Errno::ENAMETOOLONG)
    }
}

impl State {
    fn find(&self, addr: u64) -> Option<(u64, &Vma)> {
        let (&k, v) = self.vmas.range(..=addr).next_back()?;
        (v.end > addr).then_some((k, v))
    }

    fn overlaps(&self, start: u64, end: u64) -> bool {
        if let Some((_, v)) = self.vmas.range(..start).next_back()
            && v.end > start
        {
            return true;
        }
        self.vmas.range(start..end).next().is_some()
    }

    /// Whether `[start, end)` is entirely covered by VMAs.
    fn covered(&self, start: u64, end: u64) -> bool {
        let mut cur = start;
        while cur < end {
            match self.find(cur) {
                Some((_, v)) => cur = v.end,
                None => return false,
            }
        }
        true
    }

    fn stack_within(&self, start: u64, end: u64) -> bool {
        self.vmas.range(start..end).any(|(_, v)| v.growsdown)
    }

    /// Splits the VMA containing `addr` (if it starts before it) at `addr`.
    fn split(&mut self, addr: u64) {
        let Some((k, v)) = self.find(addr).map(|(k, v)| (k, v.clone())) else {
            return;
        };
        if k == addr {
            return;
        }
        if let Some(left) = self.vmas.get_mut(&k) {
            left.end = addr;
        }
        let mut v = v;
        if let Some(f) = &mut v.file {
            f.offset += addr - k;
        }
        self.vmas.insert(addr, v);
    }

    /// Inserts a VMA into a free range, merging with compatible neighbours.
    fn insert(&mut self, start: u64, vma: Vma) {
        let end = vma.end;
        self.vmas.insert(start, vma);
        self.merge_around(start, end);
    }

    /// Merges compatible VMAs touching `[start, end)`.
    fn merge_around(&mut self, start: u64, end: u64) {
        let first = self
            .vmas
            .range(..start)
            .next_back()
            .or_else(|| self.vmas.range(start..).next());
        let Some((&first, _)) = first else { return };
        let mut cur = first;
        while let Some((&next, vb)) = self.vmas.range(cur + 1..).next() {
            if next > end {
                break;
            }
            let vb = vb.clone();
            let Some(va) = self.vmas.get_mut(&cur) else {
                break;
            };
            let mergeable = va.end == next
                && va.perms == vb.perms
                && va.kind == vb.kind
                && va.shared == vb.shared
                && va.growsdown == vb.growsdown
                && va.kind != VmaKind::Image
                && va.kind != VmaKind::Vdso
                && va.file.is_none()
                && vb.file.is_none();
            if mergeable {
                va.end = vb.end;
                self.vmas.remove(&next);
            } else {
                cur = next;
            }
        }
    }
}

fn platform_errno(e: platform::PlatformError) -> Errno {
    crate::log::warn(&format!("platform: {e}"));
    Errno::ENOMEM
}
