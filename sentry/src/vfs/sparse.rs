//! The data of an in-memory file, page by page: pages never written are holes that read
//! as zeroes and take no memory (tmpfs sparse files, SEEK_DATA/SEEK_HOLE). The number of
//! pages is bounded by the filesystem's capacity: beyond it, ENOSPC. Pages are frames of
//! the memory file, so a shared mapping of the file maps these very pages (DESIGN.md §5:
//! the page cache of an in-memory file is its data).

use crate::host::{self, Seg};
use crate::mm::memfile::{Frame, MemoryFile};
use std::collections::BTreeMap;
use std::sync::Arc;
use syscalls_table::Errno;

const PAGE: u64 = 4096;

#[derive(Default)]
pub struct SparseData {
    pages: BTreeMap<u64, Arc<Frame>>,
    len: u64,
}

/// A new page: ENOMEM when the sandbox's memory limit is reached (as a memory cgroup
/// fails a tmpfs write), ENOSPC when the memory file is full.
fn new_frame() -> Result<Arc<Frame>, Errno> {
    let mf = MemoryFile::global().ok_or(Errno::ENOSPC)?;
    mf.alloc_frame().ok_or_else(|| {
        if mf.has_room(1) {
            Errno::ENOSPC
        } else {
            Errno::ENOMEM
        }
    })
}

impl SparseData {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// 512-byte blocks in use.
    pub fn blocks(&self) -> u64 {
        self.pages.len() as u64 * (PAGE / 512)
    }

    /// Copies the file from `off` into `segs`; returns bytes copied (0 at or past EOF).
    pub fn read_at(&self, off: u64, segs: &[Seg]) -> usize {
        if off >= self.len {
            return 0;
        }
        let want = (host::segs_len(segs) as u64).min(self.len - off);
        let zeros = [0u8; PAGE as usize];
        let mut done: u64 = 0;
        while done < want {
            let pos = off + done;
            let (idx, in_page) = (pos / PAGE, (pos % PAGE) as usize);
            let n = ((PAGE as usize - in_page) as u64).min(want - done) as usize;
            let dst = host::sub_segs(segs, done as usize, n);
            match self.pages.get(&idx) {
                Some(f) => host::copy_segs(&dst, &[f.seg(in_page, n)]),
                None => host::copy_to_segs(&dst, &zeros[..n]),
            };
            done += n as u64;
        }
        done as usize
    }

    /// Writes `src` at `off`, growing the file; ENOSPC when more than `max_pages` pages
    /// would be in use.
    pub fn write_at(&mut self, off: u64, src: &[u8], max_pages: u64) -> Result<(), Errno> {
        let end = off.checked_add(src.len() as u64).ok_or(Errno::EFBIG)?;
        if src.is_empty() {
            return Ok(());
        }
        let new_pages = (off / PAGE..end.div_ceil(PAGE))
            .filter(|i| !self.pages.contains_key(i))
            .count() as u64;
        if self.pages.len() as u64 + new_pages > max_pages {
            return Err(Errno::ENOSPC);
        }
        let mut done = 0usize;
        while done < src.len() {
            let pos = off + done as u64;
            let (idx, in_page) = (pos / PAGE, (pos % PAGE) as usize);
            let n = (PAGE as usize - in_page).min(src.len() - done);
            let frame = match self.pages.get(&idx) {
                Some(f) => f,
                None => self.pages.entry(idx).or_insert(new_frame()?),
            };
            frame
                .memfile()
                .write(frame.off() + in_page as u64, &src[done..done + n]);
            done += n;
            self.len = self.len.max(pos + n as u64);
        }
        self.len = self.len.max(end);
        Ok(())
    }

    /// Truncates or extends (with a hole) to `len` bytes.
    pub fn set_len(&mut self, len: u64) {
        if len < self.len {
            let keep = len.div_ceil(PAGE);
            self.pages.retain(|&i, _| i < keep);
            // Bytes past the new end in the last page read as zero if the file regrows.
            if !len.is_multiple_of(PAGE)
                && let Some(f) = self.pages.get(&(len / PAGE))
            {
                let tail = (len % PAGE) as usize;
                f.memfile()
                    .zero(f.off() + tail as u64, PAGE as usize - tail);
            }
        }
        self.len = len;
    }

    /// Zeroes [off, off+len) (clipped to the file): whole pages become holes, except
    /// pages a shared mapping holds, which are zeroed in place so the mapping still
    /// shows the file.
    pub fn punch(&mut self, off: u64, len: u64) {
        let end = off.saturating_add(len).min(self.len);
        if off >= end {
            return;
        }
        let idxs: Vec<u64> = self
            .pages
            .range(off / PAGE..=(end - 1) / PAGE)
            .map(|(&i, _)| i)
            .collect();
        for idx in idxs {
            let from = (idx * PAGE).max(off);
            let to = ((idx + 1) * PAGE).min(end);
            let whole = to - from == PAGE;
            if whole
                && self
                    .pages
                    .get(&idx)
                    .is_some_and(|f| Arc::strong_count(f) == 1)
            {
                self.pages.remove(&idx);
            } else if let Some(f) = self.pages.get(&idx) {
                f.memfile()
                    .zero(f.off() + from % PAGE, (to - from) as usize);
            }
        }
    }

    /// Replaces the contents with `data` (pages of zeroes stay holes).
    pub fn set_data(&mut self, data: &[u8]) -> Result<(), Errno> {
        self.pages.clear();
        self.len = 0;
        for (i, chunk) in data.chunks(PAGE as usize).enumerate() {
            if chunk.iter().any(|&b| b != 0) {
                let f = new_frame()?;
                f.memfile().write(f.off(), chunk);
                self.pages.insert(i as u64, f);
            }
        }
        self.len = data.len() as u64;
        Ok(())
    }

    /// The page at index `idx` for a shared mapping, allocated (zeroed) if it is a hole;
    /// ENOSPC when more than `max_pages` pages would be in use, EFAULT past the end of
    /// the file (the access gets SIGBUS).
    pub fn frame(&mut self, idx: u64, max_pages: u64) -> Result<Arc<Frame>, Errno> {
        if idx >= self.len.div_ceil(PAGE) {
            return Err(Errno::EFAULT);
        }
        if let Some(f) = self.pages.get(&idx) {
            return Ok(f.clone());
        }
        if self.pages.len() as u64 >= max_pages {
            return Err(Errno::ENOSPC);
        }
        let f = new_frame()?;
        self.pages.insert(idx, f.clone());
        Ok(f)
    }

    /// SEEK_DATA: the first data offset at or after `off` (ENXIO at or past EOF).
    pub fn seek_data(&self, off: u64) -> Result<u64, Errno> {
        if off >= self.len {
            return Err(Errno::ENXIO);
        }
        match self.pages.range(off / PAGE..).next() {
            Some((&i, _)) => Ok((i * PAGE).max(off).min(self.len)),
            None => Err(Errno::ENXIO),
        }
    }

    /// SEEK_HOLE: the first hole offset at or after `off` (EOF counts as a hole).
    pub fn seek_hole(&self, off: u64) -> Result<u64, Errno> {
        if off >= self.len {
            return Err(Errno::ENXIO);
        }
        let mut i = off / PAGE;
        while self.pages.contains_key(&i) {
            i += 1;
        }
        Ok((i * PAGE).max(off).min(self.len))
    }
}
