//! The sandbox's memory file (DESIGN.md §4–§5): one memfd holding every page of
//! application memory, mapped once into the sentry so application memory is read and
//! written through the sentry's own page map. Owns page allocation and the raw copies
//! in and out of the mapping (the only unsafe code of the memory manager).

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub const PAGE_SIZE: u64 = 4096;

pub struct MemoryFile {
    fd: OwnedFd,
    base: *mut u8,
    size: u64,
    alloc: Mutex<Allocator>,
    /// Pages released by dropped `Frame`s, returned to the allocator in batches.
    pending: Mutex<Vec<u64>>,
    /// The most bytes the application may have allocated (`linux.resources.memory.limit`,
    /// as a memory cgroup's memory.max); u64::MAX: no limit.
    limit: AtomicU64,
}

/// Pending frame releases beyond which they are returned to the host at once.
const PENDING_BATCH: usize = 512;

/// Freed pages kept for reuse (zeroed by the sentry when taken again) instead of being
/// returned to the host at once, up to this many bytes. Returning a page is a hole
/// punched in the memory file, which unmaps it everywhere and makes its next use a
/// fresh host allocation on first touch: together the largest host cost of a
/// process's memory coming and going (a compiler run), far above zeroing it.
const DIRTY_MAX: u64 = 32 << 20;

/// Called when the memory file is full, to drop caches that can be rebuilt (the page
/// caches kept for read-only files).
static PRESSURE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Sets the pressure hook (the first call wins).
pub fn on_pressure(hook: fn()) {
    let _ = PRESSURE.set(hook);
}

/// The size of the sandbox's memory file (sparse: only touched pages cost memory).
pub const MEMORY_FILE_SIZE: u64 = 64 << 30;

static GLOBAL: OnceLock<Option<Arc<MemoryFile>>> = OnceLock::new();

/// One memory-file page shared by several owners (a file's page cache and the address
/// spaces that map it; address spaces forked from one another, copy-on-write): the page
/// returns to the file when the last reference goes.
pub struct Frame {
    mf: Arc<MemoryFile>,
    off: u64,
}

impl Frame {
    /// The page's offset in the memory file.
    pub fn off(&self) -> u64 {
        self.off
    }

    pub fn memfile(&self) -> &Arc<MemoryFile> {
        &self.mf
    }

    /// The page's bytes `[start, start+len)` as a segment for host I/O and copies.
    pub fn seg(&self, start: usize, len: usize) -> crate::host::Seg {
        crate::host::Seg {
            ptr: self.mf.host_ptr(self.off + start as u64, len),
            len,
        }
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({:#x})", self.off)
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        self.mf.release(self.off);
    }
}

// SAFETY: the mapping is shared memory that lives as long as the MemoryFile; every access
// goes through bounds-checked methods with raw copies, which are sound under concurrent
// access by other threads and by application code (no references into it are handed out).
unsafe impl Send for MemoryFile {}
// SAFETY: as above.
unsafe impl Sync for MemoryFile {}

/// First-fit allocator of page runs: a bump pointer plus a map of freed extents.
struct Allocator {
    next: u64,
    free: BTreeMap<u64, u64>,
    in_use: u64,
    /// Freed ranges whose pages the host still holds (not zero): offset → length.
    dirty: BTreeMap<u64, u64>,
    dirty_len: u64,
}

impl MemoryFile {
    /// Creates a memory file of `size` bytes (sparse: pages cost memory only once touched).
    pub fn new(size: u64) -> std::io::Result<MemoryFile> {
        // SAFETY: the name is a valid C string; the returned fd is owned below.
        let fd = unsafe { libc::memfd_create(c"runsc-memory".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain syscalls on our own fd; the mapping is checked for failure.
        let base = unsafe {
            if libc::ftruncate(fd.as_raw_fd(), size as i64) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::mmap(
                std::ptr::null_mut(),
                size as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(MemoryFile {
            fd,
            base: base.cast(),
            size,
            alloc: Mutex::new(Allocator {
                next: 0,
                free: BTreeMap::new(),
                in_use: 0,
                dirty: BTreeMap::new(),
                dirty_len: 0,
            }),
            pending: Mutex::new(Vec::new()),
            limit: AtomicU64::new(u64::MAX),
        })
    }

    /// Limits the bytes allocated to the application (None: no limit). Allocations that
    /// would go over fail (after the reclaim and pressure hook of `alloc`); what is
    /// already allocated stays.
    pub fn set_limit(&self, bytes: Option<u64>) {
        self.limit
            .store(bytes.unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    pub fn limit(&self) -> Option<u64> {
        Some(self.limit.load(Ordering::SeqCst)).filter(|&l| l != u64::MAX)
    }

    /// Whether `pages` more pages fit under the limit now.
    pub fn has_room(&self, pages: u64) -> bool {
        let in_use = self.in_use();
        pages
            .checked_mul(PAGE_SIZE)
            .and_then(|len| in_use.checked_add(len))
            .is_some_and(|want| want <= self.limit.load(Ordering::SeqCst))
    }

    /// The sandbox's memory file, made on first use (None if the host refuses a memfd).
    /// tmpfs file data and application memory both live in it.
    pub fn global() -> Option<&'static Arc<MemoryFile>> {
        GLOBAL
            .get_or_init(|| MemoryFile::new(MEMORY_FILE_SIZE).ok().map(Arc::new))
            .as_ref()
    }

    /// Allocates one zeroed page owned by the returned frame.
    pub fn alloc_frame(self: &Arc<Self>) -> Option<Arc<Frame>> {
        let off = self.alloc(1)?;
        Some(Arc::new(Frame {
            mf: self.clone(),
            off,
        }))
    }

    /// Allocates `n` zeroed pages, contiguous in the file, each owned by its own frame (so
    /// they can later be shared and freed one by one).
    pub fn alloc_frames(self: &Arc<Self>, n: u64) -> Option<Vec<Arc<Frame>>> {
        let off = self.alloc(n)?;
        Some(
            (0..n)
                .map(|i| {
                    Arc::new(Frame {
                        mf: self.clone(),
                        off: off + i * PAGE_SIZE,
                    })
                })
                .collect(),
        )
    }

    /// A page given up by its last frame: freed with the next batch.
    fn release(&self, off: u64) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.push(off);
        if p.len() >= PENDING_BATCH {
            let batch = std::mem::take(&mut *p);
            drop(p);
            self.free_batch(batch);
        }
    }

    /// Returns every page released by frames, and every page kept for reuse, to the
    /// allocator and their memory to the host.
    pub fn reclaim(&self) {
        self.flush_released();
        let dirty = {
            let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
            a.dirty_len = 0;
            std::mem::take(&mut a.dirty)
        };
        for (off, len) in dirty {
            self.punch(off, len);
            // Counted in use meanwhile, as `free` expects.
            self.alloc.lock().unwrap_or_else(|e| e.into_inner()).in_use += len;
            self.return_range(off, len);
        }
    }

    /// Frees the pages released by frames so far (kept for reuse where there is room).
    pub(crate) fn flush_released(&self) {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.free_batch(batch);
    }

    fn free_batch(&self, mut batch: Vec<u64>) {
        batch.sort_unstable();
        let mut run: Option<(u64, u64)> = None;
        for off in batch {
            run = match run {
                Some((o, n)) if o + n * PAGE_SIZE == off => Some((o, n + 1)),
                Some((o, n)) => {
                    self.free(o, n);
                    Some((off, 1))
                }
                None => Some((off, 1)),
            };
        }
        if let Some((o, n)) = run {
            self.free(o, n);
        }
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Bytes of the file currently allocated to application pages.
    pub fn in_use(&self) -> u64 {
        self.alloc.lock().unwrap_or_else(|e| e.into_inner()).in_use
    }

    /// Returns released pages, then drops caches (the pressure hook) and returns theirs.
    pub fn relieve(&self) {
        self.reclaim();
        if let Some(hook) = PRESSURE.get() {
            hook();
            self.reclaim();
        }
    }

    /// Allocates `pages` contiguous zeroed pages; returns their file offset, or None when
    /// the file is full or the limit reached.
    pub fn alloc(&self, pages: u64) -> Option<u64> {
        if let Some(off) = self.try_alloc(pages) {
            return Some(off);
        }
        // Pages released but not yet returned (zeroed) may make room; so may caches
        // nothing uses (the pressure hook).
        self.reclaim();
        if let Some(off) = self.try_alloc(pages) {
            return Some(off);
        }
        if let Some(hook) = PRESSURE.get() {
            hook();
            self.reclaim();
        }
        self.try_alloc(pages)
    }

    fn try_alloc(&self, pages: u64) -> Option<u64> {
        let len = pages.checked_mul(PAGE_SIZE)?;
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        if a.in_use.checked_add(len)? > self.limit.load(Ordering::SeqCst) {
            return None;
        }
        // Kept pages first (zeroed here, outside the lock).
        let kept = a.dirty.iter().find(|(_, l)| **l >= len).map(|(o, l)| (*o, *l));
        if let Some((off, dlen)) = kept {
            a.dirty.remove(&off);
            if dlen > len {
                a.dirty.insert(off + len, dlen - len);
            }
            a.dirty_len -= len;
            a.in_use += len;
            drop(a);
            self.zero(off, len as usize);
            return Some(off);
        }
        let found = a
            .free
            .iter()
            .find(|(_, l)| **l >= len)
            .map(|(o, l)| (*o, *l));
        let off = if let Some((off, flen)) = found {
            a.free.remove(&off);
            if flen > len {
                a.free.insert(off + len, flen - len);
            }
            off
        } else {
            if a.next.checked_add(len)? > self.size {
                return None;
            }
            let off = a.next;
            a.next += len;
            off
        };
        a.in_use += len;
        Some(off)
    }

    /// Returns pages to the file: kept for reuse while there is room for them
    /// (`DIRTY_MAX`), else with their memory given back to the host.
    pub fn free(&self, off: u64, pages: u64) {
        let len = pages * PAGE_SIZE;
        if len == 0 || off.checked_add(len).is_none_or(|e| e > self.size) {
            return;
        }
        {
            let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
            if a.dirty_len + len <= DIRTY_MAX {
                a.in_use -= len;
                a.dirty_len += len;
                let (start, end) = merge(&mut a.dirty, off, len);
                a.dirty.insert(start, end - start);
                return;
            }
        }
        self.punch(off, len);
        self.return_range(off, len);
    }

    /// Gives the memory of `[off, off+len)` back to the host (it then reads as zero).
    fn punch(&self, off: u64, len: u64) {
        // SAFETY: punching a hole in our own memfd within its size.
        unsafe {
            libc::fallocate(
                self.fd.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            );
        }
    }

    /// Returns the zero range `[off, off+len)`, counted in use, to the free ranges.
    fn return_range(&self, off: u64, len: u64) {
        let mut a = self.alloc.lock().unwrap_or_else(|e| e.into_inner());
        a.in_use -= len;
        let (start, end) = merge(&mut a.free, off, len);
        if end == a.next {
            a.next = start;
        } else {
            a.free.insert(start, end - start);
        }
    }

    fn check(&self, off: u64, len: usize) -> bool {
        off.checked_add(len as u64).is_some_and(|e| e <= self.size)
    }

    /// Copies file bytes at `off` into `buf`.
    pub fn read(&self, off: u64, buf: &mut [u8]) {
        assert!(self.check(off, buf.len()), "memory file read out of bounds");
        // SAFETY: bounds checked above; the mapping is live for self's lifetime.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(off as usize), buf.as_mut_ptr(), buf.len())
        }
    }

    /// Copies `buf` into the file at `off`.
    pub fn write(&self, off: u64, buf: &[u8]) {
        assert!(
            self.check(off, buf.len()),
            "memory file write out of bounds"
        );
        // SAFETY: bounds checked above; the mapping is live and writable.
        unsafe {
            std::ptr::copy_nonoverlapping(buf.as_ptr(), self.base.add(off as usize), buf.len())
        }
    }

    /// Copies `len` file bytes at `src` to `dst` (the ranges must not overlap): a
    /// copy-on-write page's contents into its new page.
    pub fn copy(&self, src: u64, dst: u64, len: usize) {
        assert!(
            self.check(src, len)
                && self.check(dst, len)
                && (src + len as u64 <= dst || dst + len as u64 <= src),
            "memory file copy out of bounds or overlapping"
        );
        // SAFETY: both ranges are in bounds of the live mapping and disjoint (checked above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.add(src as usize),
                self.base.add(dst as usize),
                len,
            )
        }
    }

    /// Zeroes `len` bytes at `off`.
    pub fn zero(&self, off: u64, len: usize) {
        assert!(self.check(off, len), "memory file zero out of bounds");
        // SAFETY: bounds checked above; the mapping is live and writable.
        unsafe { std::ptr::write_bytes(self.base.add(off as usize), 0, len) }
    }

    /// The sentry address of file bytes `[off, off+len)`, for host I/O straight into or out
    /// of application memory.
    pub fn host_ptr(&self, off: u64, len: usize) -> *mut u8 {
        assert!(self.check(off, len), "memory file range out of bounds");
        // SAFETY: in bounds of the mapping (checked above).
        unsafe { self.base.add(off as usize) }
    }
}

/// Takes the neighbours of `[off, off+len)` out of `ranges` (offset → length) when they
/// touch it; returns the merged extent.
fn merge(ranges: &mut BTreeMap<u64, u64>, off: u64, len: u64) -> (u64, u64) {
    let mut start = off;
    let mut end = off + len;
    if let Some((&po, &pl)) = ranges.range(..off).next_back()
        && po + pl == off
    {
        ranges.remove(&po);
        start = po;
    }
    if let Some(&nl) = ranges.get(&end) {
        ranges.remove(&end);
        end += nl;
    }
    (start, end)
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; nothing refers to it any more.
        unsafe {
            libc::munmap(self.base.cast(), self.size as usize);
        }
    }
}
