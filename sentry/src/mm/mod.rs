//! The memory manager of one address space (DESIGN.md §5): VMAs in an ordered map, the
//! memory-file page behind each populated application page, lazy fault-in, brk, the
//! anonymous mmap family, and copy-on-write fork. The platform's `AddressSpace` only
//! mirrors what is decided here.
//!
//! Copy-on-write: every populated page holds a reference-counted memory-file `Frame`.
//! `fork` gives the child a reference to each page's frame; a page of a private VMA whose
//! frame is referenced elsewhere (`Arc::get_mut` fails) is copy-on-write: it is mapped
//! without write, and a write to it (application fault, or the sentry writing on the
//! application's behalf) first copies it into a page of its own. Once the other owners are
//! gone, the last one writes to it in place. Pages of shared VMAs are never copy-on-write.

pub mod memfile;
mod patch;
use patch::Evict;
#[cfg(test)]
mod tests;

use crate::host::Seg;
use crate::vfs::inode::FileOps;
use memfile::{Frame, MemoryFile, PAGE_SIZE};
use platform::{Access, AddressSpace, Perms};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

/// Linux's `TASK_SIZE` on x86-64 with 4-level paging.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Pages mapped around a faulting page at once (fault-around), to save platform round trips.
const FAULT_AROUND_PAGES: u64 = 64;
/// The window for file mappings, whose pages mostly come from the page cache already
/// (mapping them costs no memory, and a fault costs a round trip to the sentry).
const FILE_FAULT_AROUND_PAGES: u64 = 64;
/// Pages around a file fault that are mapped if the file's page cache has them already.
const CACHED_AROUND_PAGES: u64 = 512;
/// Pages of a new file mapping mapped at once if the page cache has them (8 MiB).
const MAP_CACHED_PAGES: u64 = 2048;
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
    /// The trampolines of patched syscall sites (not shown to the application).
    Patch,
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
    /// MADV_DONTFORK: a forked child does not get this range.
    pub dontfork: bool,
    /// MADV_WIPEONFORK: a forked child gets this range empty (reading as zero).
    pub wipeonfork: bool,
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

/// A populated application page. Not `Clone`: a second reference to its frame makes the
/// page copy-on-write, so references are only taken on purpose (`fork`).
#[derive(Debug)]
struct Page {
    /// The memory-file page behind it: a file's page-cache page for a shared file mapping,
    /// else a page of this address space, shared copy-on-write with forked address spaces
    /// while they still hold it.
    frame: Arc<Frame>,
    /// Whether (and with which permissions) it is mapped in the platform address space.
    /// `Some(Perms::NONE)` marks a stale mapping (the platform still shows the page's
    /// previous frame after a copy-on-write copy): it must be replaced or removed.
    mapped: Option<Perms>,
}

impl Page {
    fn new(frame: Arc<Frame>) -> Page {
        Page {
            frame,
            mapped: None,
        }
    }

    fn off(&self) -> u64 {
        self.frame.off()
    }

    /// Whether the page, in a VMA that is shared or not (`shared`), is copy-on-write: a
    /// private page whose frame another address space still holds.
    fn is_cow(&mut self, shared: bool) -> bool {
        !shared && Arc::get_mut(&mut self.frame).is_none()
    }
}

/// The permissions page `p` of `vma` is mapped with: a copy-on-write page is never
/// writable (but stays readable: on x86 write access implies read).
fn map_perms(vma: &Vma, p: &mut Page) -> Perms {
    if vma.perms.write && p.is_cow(vma.shared) {
        Perms {
            read: true,
            write: false,
            exec: vma.perms.exec,
        }
    } else {
        vma.perms
    }
}

/// Splits ascending page addresses into runs of consecutive pages.
fn va_runs(pages: &[u64]) -> impl Iterator<Item = &[u64]> {
    pages.chunk_by(|a, b| *b == *a + PAGE_SIZE)
}

/// Groups pages to map, `(va, file offset, perms)` in ascending `va`, into runs contiguous
/// in both address and memory file with the same permissions: `(va, off, len, perms)`.
fn runs(pages: impl IntoIterator<Item = (u64, u64, Perms)>) -> Vec<(u64, u64, u64, Perms)> {
    let mut out: Vec<(u64, u64, u64, Perms)> = Vec::new();
    for (va, off, perms) in pages {
        match out.last_mut() {
            Some((rva, roff, rlen, rp))
                if *rva + *rlen == va && *roff + *rlen == off && *rp == perms =>
            {
                *rlen += PAGE_SIZE
            }
            _ => out.push((va, off, PAGE_SIZE, perms)),
        }
    }
    out
}

/// What `madvise(2)` says `fork` should do with a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkAdvice {
    /// MADV_DONTFORK: the child does not get the range.
    DontFork,
    /// MADV_DOFORK: undoes MADV_DONTFORK.
    DoFork,
    /// MADV_WIPEONFORK: the child gets the range empty (private anonymous memory only).
    WipeOnFork,
    /// MADV_KEEPONFORK: undoes MADV_WIPEONFORK.
    KeepOnFork,
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

/// A forked child's memory, made by `MemoryManager::fork` on the parent's sentry thread;
/// `attach` turns it into the child's `MemoryManager` on the child's sentry thread. Holds
/// references to the shared pages meanwhile.
pub struct ForkedMm {
    state: State,
    patches: patch::Patches,
    mf: Arc<MemoryFile>,
    min_addr: u64,
    max_addr: u64,
}

impl ForkedMm {
    /// The child's memory manager over `aspace`, a new, empty address space: nothing is
    /// mapped in it yet (pages fault in), so the address space is not touched here.
    pub fn attach(self, aspace: Arc<dyn AddressSpace>) -> MemoryManager {
        MemoryManager {
            state: Mutex::new(self.state),
            patches: Mutex::new(self.patches),
            aspace,
            mf: self.mf,
            min_addr: self.min_addr,
            max_addr: self.max_addr,
        }
    }
}

pub struct MemoryManager {
    state: Mutex<State>,
    /// Patched syscall sites (taken before `state` when both are needed).
    patches: Mutex<patch::Patches>,
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
            patches: Mutex::new(patch::Patches::default()),
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
        let mut all = self.all_maps();
        all.retain(|(_, v)| v.kind != VmaKind::Patch);
        all
    }

    /// Every VMA, the sentry's own trampoline region included.
    fn all_maps(&self) -> Vec<(u64, Vma)> {
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
        if a.fixed || a.noreplace {
            self.evict_patches(a.addr, a.addr.saturating_add(len), Evict::Gone);
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
                dontfork: false,
                wipeonfork: false,
            },
        );
        if a.file.is_some() && a.perms != Perms::NONE {
            // Pages the file's page cache holds already are mapped now: a library's or
            // binary's segments are all touched, each VMA would fault at least once.
            self.map_cached(&mut s, addr, addr + len)
                .map_err(|_| Errno::ENOMEM)?;
        }
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
        self.evict_patches(addr, end, Evict::Gone);
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
        // Dropping the references frees the pages no one else holds (the file's page
        // cache, or a forked address space, may), in the memory file's batches.
        drop(pages);
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
        let how = if perms.write {
            Evict::Writable
        } else {
            Evict::Keep
        };
        self.evict_patches(addr, end, how);
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
        self.evict_patches(addr, end, Evict::Gone);
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

    /// `madvise(2)` MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK: marks
    /// the VMAs of the range for `fork`. As Linux, VMAs are changed in order until one
    /// refuses (EINVAL: MADV_WIPEONFORK on a shared or file mapping); a range not fully
    /// mapped gives ENOMEM after the mapped parts are changed.
    pub fn fork_advice(&self, addr: u64, len: u64, advice: ForkAdvice) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let end = page_up(addr.checked_add(len).ok_or(Errno::EINVAL)?).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(());
        }
        let mut s = self.lock();
        let covered = s.covered(addr, end);
        let pieces: Vec<(u64, u64)> = s
            .vmas
            .range(..end)
            .filter(|(k, v)| v.end > addr && **k < end)
            .map(|(k, v)| ((*k).max(addr), v.end.min(end)))
            .collect();
        if pieces.is_empty() {
            return Err(Errno::ENOMEM);
        }
        let mut res = if covered { Ok(()) } else { Err(Errno::ENOMEM) };
        for (lo, hi) in pieces {
            if advice == ForkAdvice::WipeOnFork
                && s.find(lo)
                    .is_some_and(|(_, v)| v.shared || v.file.is_some())
            {
                res = Err(Errno::EINVAL);
                break;
            }
            s.split(lo);
            s.split(hi);
            if let Some(v) = s.vmas.get_mut(&lo) {
                match advice {
                    ForkAdvice::DontFork => v.dontfork = true,
                    ForkAdvice::DoFork => v.dontfork = false,
                    ForkAdvice::WipeOnFork => v.wipeonfork = true,
                    ForkAdvice::KeepOnFork => v.wipeonfork = false,
                }
            }
        }
        s.merge_around(addr, end);
        res
    }

    /// The parent's half of `fork(2)` (on the parent's sentry thread): a copy of this
    /// address space's layout for the child. Private pages become shared copy-on-write:
    /// those mapped writable here are re-mapped read-only first. Shared mappings stay
    /// shared; MADV_DONTFORK ranges are left out and MADV_WIPEONFORK ones left empty.
    pub fn fork(&self) -> Result<ForkedMm, Errno> {
        let patches = self.patches().clone();
        let mut guard = self.lock();
        let s = &mut *guard;
        let mut vmas = BTreeMap::new();
        let mut pages = BTreeMap::new();
        let mut protect: Vec<(u64, u64, Perms)> = Vec::new();
        for (&start, v) in &s.vmas {
            if v.dontfork {
                continue;
            }
            vmas.insert(start, v.clone());
            if v.wipeonfork && !v.shared {
                continue;
            }
            for (&va, p) in s.pages.range(start..v.end) {
                pages.insert(va, Page::new(p.frame.clone()));
                if let Some(m) = p.mapped
                    && m.write
                    && !v.shared
                {
                    let ro = Perms {
                        read: true,
                        write: false,
                        exec: m.exec,
                    };
                    protect.push((va, p.off(), ro));
                }
            }
        }
        let child = ForkedMm {
            patches,
            state: State {
                vmas,
                pages,
                brk_start: s.brk_start,
                brk: s.brk,
                mmap_base: s.mmap_base,
                stack_limit: s.stack_limit,
                arg_env: s.arg_env,
            },
            mf: self.mf.clone(),
            min_addr: self.min_addr,
            max_addr: self.max_addr,
        };
        // On failure the child is dropped, and the pages already write-protected are
        // simply remapped writable on their next write fault.
        self.map_runs(s, runs(protect))
            .map_err(|_| Errno::ENOMEM)?;
        Ok(child)
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
        self.evict_patches(old, old.saturating_add(old_len.max(new_len)), Evict::Gone);
        if let Some(to) = fixed {
            self.evict_patches(to, to.saturating_add(new_len), Evict::Gone);
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
                dontfork: false,
                wipeonfork: false,
            },
        );
        s.brk = want;
        want
    }

    // ---- faults and access ----

    /// Resolves an application page fault at `addr` made by `access` (`Access::UNKNOWN`
    /// when the platform cannot tell): populates and maps the page (and its neighbours) if
    /// the mapping allows it, and gives a copy-on-write page a copy of its own on a write.
    pub fn handle_fault(&self, addr: u64, access: Access) -> Result<(), FaultError> {
        let mut s = self.lock();
        let page = page_down(addr);
        let (vstart, perms) = self.vma_for(&mut s, addr).ok_or(FaultError::MapErr)?;
        if perms == Perms::NONE || (access.write && !perms.write) {
            return Err(FaultError::AccErr);
        }
        let shared = s.vmas.get(&vstart).is_some_and(|v| v.shared);
        let mut write = access.write;
        if let Some(p) = s.pages.get_mut(&page) {
            let need = Perms {
                read: access.read,
                write: access.write,
                exec: access.exec,
            };
            if !access.is_unknown() && p.mapped.is_some_and(|m| m.covers(need)) {
                // The mapping already allows the access: another thread resolved the same
                // fault first. Map the page again, to be sure of progress.
                p.mapped = Some(Perms::NONE);
            } else if p.mapped == Some(perms) {
                // Mapped with everything the VMA allows, and still faulting: a forbidden
                // access.
                return Err(FaultError::AccErr);
            } else if access.is_unknown() && perms.write && p.mapped.is_some_and(|m| m.read) {
                // Readable but not writable where the VMA allows writing: only a write
                // faults there (a copy-on-write page).
                write = true;
            }
            if write {
                self.break_cow(p, shared)?;
                self.break_cow_around(&mut s, vstart, page)?;
            }
        }
        self.populate_and_map(&mut s, page)
    }

    /// Maps the pages of the file VMA at `[start, end)` that its file's page cache holds
    /// (at most `MAP_CACHED_PAGES` of them), without reading anything.
    fn map_cached(&self, s: &mut State, start: u64, end: u64) -> Result<(), FaultError> {
        let Some((vstart, vma)) = s.find(start).map(|(k, v)| (k, v.clone())) else {
            return Ok(());
        };
        let Some(f) = &vma.file else {
            return Ok(());
        };
        let end = end.min(vma.end).min(start + MAP_CACHED_PAGES * PAGE_SIZE);
        let first = (f.offset + (start - vstart)) / PAGE_SIZE;
        let frames = f.ops.cached_frames(first, (end - start) / PAGE_SIZE);
        if frames.is_empty() {
            return Ok(());
        }
        for (i, frame) in frames {
            let va = vstart + i * PAGE_SIZE - f.offset;
            s.pages.entry(va).or_insert_with(|| Page::new(frame));
        }
        self.map_range(s, &vma, start, end, false)
    }

    /// After a write broke copy-on-write on `page` of a writable private file mapping (a
    /// data segment: relocations write most of its pages), breaks it on the other
    /// present pages of its fault-around window too, saving their faults.
    fn break_cow_around(&self, s: &mut State, vstart: u64, page: u64) -> Result<(), FaultError> {
        let Some(vma) = s.vmas.get(&vstart) else {
            return Ok(());
        };
        if vma.shared || vma.file.is_none() || !vma.perms.write {
            return Ok(());
        }
        let win = FAULT_AROUND_PAGES * PAGE_SIZE;
        let lo = (page & !(win - 1)).max(vstart);
        let hi = ((page & !(win - 1)) + win).min(vma.end);
        for (va, p) in s.pages.range_mut(lo..hi) {
            if *va != page {
                self.break_cow(p, false)?;
            }
        }
        Ok(())
    }

    /// Gives page `p` (of a VMA that is `shared` or not) a frame of its own if it is
    /// copy-on-write, by copying it. If the platform maps the page, that mapping is left
    /// stale (`Some(Perms::NONE)`); returns whether it did, so the caller maps it again.
    fn break_cow(&self, p: &mut Page, shared: bool) -> Result<bool, FaultError> {
        if !p.is_cow(shared) {
            return Ok(false);
        }
        let frame = self.mf.alloc_frame().ok_or(FaultError::OutOfMemory)?;
        self.mf.copy(p.off(), frame.off(), PAGE_SIZE as usize);
        p.frame = frame;
        Ok(match p.mapped {
            Some(_) => {
                p.mapped = Some(Perms::NONE);
                true
            }
            None => false,
        })
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
        let win = if vma.file.is_some() {
            FILE_FAULT_AROUND_PAGES
        } else {
            FAULT_AROUND_PAGES
        } * PAGE_SIZE;
        let lo = (page & !(win - 1)).max(vstart);
        let hi = ((page & !(win - 1)) + win).min(vma.end);
        let missing: Vec<u64> = (lo..hi)
            .step_by(PAGE_SIZE as usize)
            .filter(|va| !s.pages.contains_key(va))
            .collect();
        // A file mapping's pages come from the file's page cache where it has one (a
        // shared mapping's are the file's own; a private one's are copy-on-write, as
        // Linux's page cache pages in a private mapping); otherwise they are copies read
        // from the file (or zeroes, for anonymous memory). Only the faulting page itself
        // must exist.
        let mut copies = Vec::new();
        for run in va_runs(&missing) {
            let (first, n) = (run[0], run.len() as u64);
            let Some(f) = &vma.file else {
                copies.extend_from_slice(run);
                continue;
            };
            let idx = (f.offset + (first - vstart)) / PAGE_SIZE;
            match f.ops.shared_frames(idx, n) {
                Ok(frames) => {
                    let got = frames.len() as u64;
                    for (i, frame) in frames.into_iter().enumerate() {
                        s.pages.insert(first + i as u64 * PAGE_SIZE, Page::new(frame));
                    }
                    if page >= first + got * PAGE_SIZE && page < first + n * PAGE_SIZE {
                        return Err(FaultError::Bus);
                    }
                }
                Err(Errno::ENODEV) if !f.cache => copies.extend_from_slice(run),
                Err(_) if run.contains(&page) => return Err(FaultError::Bus),
                Err(_) => {}
            }
        }
        if !copies.is_empty() {
            let frames = self
                .mf
                .alloc_frames(copies.len() as u64)
                .ok_or(FaultError::OutOfMemory)?;
            for (va, frame) in copies.into_iter().zip(frames) {
                self.fill_from_file(&vma, vstart, va, frame.off());
                s.pages.insert(va, Page::new(frame));
            }
        }
        // Around that, the file's pages already in its page cache cost no read: they are
        // mapped too (the next exec of a binary then faults far less).
        let (mut lo, mut hi) = (lo, hi);
        if let Some(f) = &vma.file {
            let wide = CACHED_AROUND_PAGES * PAGE_SIZE;
            let (wlo, whi) = (
                (page & !(wide - 1)).max(vstart),
                ((page & !(wide - 1)) + wide).min(vma.end),
            );
            let idx = |va: u64| (f.offset + (va - vstart)) / PAGE_SIZE;
            for (a, b) in [(wlo, lo), (hi, whi)] {
                if a >= b {
                    continue;
                }
                for (i, frame) in f.ops.cached_frames(idx(a), (b - a) / PAGE_SIZE) {
                    let va = vstart + i * PAGE_SIZE - f.offset;
                    s.pages.entry(va).or_insert_with(|| Page::new(frame));
                }
            }
            (lo, hi) = (wlo, whi);
        }
        self.map_range(s, &vma, lo, hi, false)
    }

    /// Maps the pages of `[lo, hi)` (all in `vma`) whose platform mapping is not what
    /// `map_perms` says (only those mapped already, with `only_mapped`), in runs.
    fn map_range(
        &self,
        s: &mut State,
        vma: &Vma,
        lo: u64,
        hi: u64,
        only_mapped: bool,
    ) -> Result<(), FaultError> {
        let mut todo = Vec::new();
        for (va, p) in s.pages.range_mut(lo..hi) {
            let want = map_perms(vma, p);
            if p.mapped != Some(want) && (p.mapped.is_some() || !only_mapped) {
                todo.push((*va, p.off(), want));
            }
        }
        self.map_runs(s, runs(todo))
    }

    /// Maps runs `(va, off, len, perms)` in one batch.
    fn map_runs(
        &self,
        s: &mut State,
        runs: Vec<(u64, u64, u64, Perms)>,
    ) -> Result<(), FaultError> {
        if runs.is_empty() {
            return Ok(());
        }
        let maps: Vec<(u64, u64, u64, Perms)> = runs
            .iter()
            .map(|&(va, off, len, perms)| (va, len, off, perms))
            .collect();
        let r = self.aspace.map_batch(&maps);
        for (va, _, len, perms) in runs {
            for (_, p) in s.pages.range_mut(va..va + len) {
                // After a failure, which of them took is unknown: stale, to be redone.
                p.mapped = Some(if r.is_ok() { perms } else { Perms::NONE });
            }
        }
        r.map_err(|_| FaultError::OutOfMemory)
    }

    /// Maps again the pages at `stale` (ascending) whose platform mapping went stale when
    /// the sentry broke copy-on-write to write to them.
    fn remap_stale(&self, s: &mut State, stale: &[u64]) -> Result<(), FaultError> {
        let mut i = 0;
        while i < stale.len() {
            let (_, vma) = s
                .find(stale[i])
                .map(|(k, v)| (k, v.clone()))
                .ok_or(FaultError::MapErr)?;
            let mut j = i + 1;
            while j < stale.len() && stale[j] == stale[j - 1] + PAGE_SIZE && stale[j] < vma.end {
                j += 1;
            }
            self.map_range(s, &vma, stale[i], stale[j - 1] + PAGE_SIZE, true)?;
            i = j;
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
        let mut stale = Vec::new();
        while cur < end {
            let page = page_down(cur);
            let Some(off) = self.page_for_access(&mut s, page, write, &mut stale) else {
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
        // The application must see what the sentry writes into pages it copied.
        if !stale.is_empty() && self.remap_stale(&mut s, &stale).is_err() {
            return Vec::new();
        }
        segs
    }

    /// The memory-file offset of `page` for the sentry to read, or write (`write`), as the
    /// application could, or None. Pages whose platform mapping went stale are added to
    /// `stale`.
    fn page_for_access(
        &self,
        s: &mut State,
        page: u64,
        write: bool,
        stale: &mut Vec<u64>,
    ) -> Option<u64> {
        let (vstart, perms) = self.vma_for(s, page)?;
        // As x86 Linux's access_error(): a read needs any access at all, a write needs write.
        if perms == Perms::NONE || (write && !perms.write) {
            return None;
        }
        self.sentry_page(s, vstart, page, write, stale).ok()
    }

    /// The memory-file offset of `page`, in the VMA at `vstart`, for the sentry to read or
    /// (`write`) write, whatever the VMA's protection: populated if missing, and given a
    /// copy of its own first if it is copy-on-write and written. Pages whose platform
    /// mapping went stale are added to `stale`.
    fn sentry_page(
        &self,
        s: &mut State,
        vstart: u64,
        page: u64,
        write: bool,
        stale: &mut Vec<u64>,
    ) -> Result<u64, FaultError> {
        let shared = s.vmas.get(&vstart).ok_or(FaultError::MapErr)?.shared;
        if let Some(p) = s.pages.get_mut(&page) {
            if write && self.break_cow(p, shared)? {
                stale.push(page);
            }
            return Ok(p.off());
        }
        let vma = s.vmas.get(&vstart).ok_or(FaultError::MapErr)?.clone();
        let p = self.new_page(&vma, vstart, page)?;
        let off = p.off();
        s.pages.insert(page, p);
        Ok(off)
    }

    /// A fresh page for `page` of the VMA at `vstart`: the file's own page for a shared
    /// file mapping, else a new page (filled from the file for a private file mapping).
    fn new_page(&self, vma: &Vma, vstart: u64, page: u64) -> Result<Page, FaultError> {
        if vma.file.as_ref().is_some_and(|f| f.cache) {
            return self.file_page(vma, vstart, page);
        }
        let frame = self.mf.alloc_frame().ok_or(FaultError::OutOfMemory)?;
        self.fill_from_file(vma, vstart, page, frame.off());
        Ok(Page::new(frame))
    }

    fn file_page(&self, vma: &Vma, vstart: u64, page: u64) -> Result<Page, FaultError> {
        let f = vma.file.as_ref().ok_or(FaultError::Bus)?;
        let idx = (f.offset + (page - vstart)) / PAGE_SIZE;
        let frame = f.ops.shared_frame(idx).map_err(|_| FaultError::Bus)?;
        Ok(Page::new(frame))
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
    /// read-only segment, as the kernel does through the page cache). Copy-on-write pages
    /// are copied first, as for any write.
    pub fn write_force(&self, addr: u64, buf: &[u8]) -> Result<(), Errno> {
        let end = addr.checked_add(buf.len() as u64).ok_or(Errno::EFAULT)?;
        let mut s = self.lock();
        let mut stale = Vec::new();
        let mut cur = addr;
        let mut res = Ok(());
        while cur < end {
            let page = page_down(cur);
            let Some((vstart, _)) = s.find(page) else {
                res = Err(Errno::EFAULT);
                break;
            };
            let off = match self.sentry_page(&mut s, vstart, page, true, &mut stale) {
                Ok(off) => off,
                Err(_) => {
                    res = Err(Errno::ENOMEM);
                    break;
                }
            };
            let n = (page + PAGE_SIZE).min(end) - cur;
            let start = (cur - addr) as usize;
            self.mf
                .write(off + (cur - page), &buf[start..start + n as usize]);
            cur += n;
        }
        self.remap_stale(&mut s, &stale)
            .map_err(|_| Errno::ENOMEM)?;
        res
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
        let mut stale = Vec::new();
        let mut cur = addr;
        let mut res = Ok(());
        while cur < end {
            let page = page_down(cur);
            let Some(off) = self.page_for_access(&mut s, page, write, &mut stale) else {
                res = Err(Errno::EFAULT);
                break;
            };
            let n = (page + PAGE_SIZE).min(end) - cur;
            let start = (cur - addr) as usize;
            f(off + (cur - page), start..start + n as usize);
            cur += n;
        }
        // The application must see what was written into pages that were copied.
        self.remap_stale(&mut s, &stale)
            .map_err(|_| Errno::EFAULT)?;
        res
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

    /// Whether `addr` lies in a shared mapping (futex keys).
    pub fn is_shared_at(&self, addr: u64) -> bool {
        let s = self.lock();
        s.find(addr).is_some_and(|(_, v)| v.shared)
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
                && va.dontfork == vb.dontfork
                && va.wipeonfork == vb.wipeonfork
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
