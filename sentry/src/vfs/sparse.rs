//! The data of an in-memory file, page by page: pages never written are holes that read
//! as zeroes and take no memory (tmpfs sparse files, SEEK_DATA/SEEK_HOLE). The number of
//! pages is bounded by the filesystem's capacity: beyond it, ENOSPC.

use crate::host::{self, Seg};
use std::collections::BTreeMap;
use syscalls_table::Errno;

const PAGE: u64 = 4096;

#[derive(Default)]
pub struct SparseData {
    pages: BTreeMap<u64, Box<[u8]>>,
    len: u64,
}

/// The segments after the first `n` bytes of `segs`.
fn skip(segs: &[Seg], mut n: usize) -> Vec<Seg> {
    let mut out = Vec::with_capacity(segs.len());
    for s in segs {
        if n >= s.len {
            n -= s.len;
            continue;
        }
        out.push(Seg {
            ptr: s.ptr.wrapping_add(n),
            len: s.len - n,
        });
        n = 0;
    }
    out
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
            let src = match self.pages.get(&idx) {
                Some(p) => &p[in_page..in_page + n],
                None => &zeros[..n],
            };
            host::copy_to_segs(&skip(segs, done as usize), src);
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
            let page = self
                .pages
                .entry(idx)
                .or_insert_with(|| vec![0u8; PAGE as usize].into_boxed_slice());
            page[in_page..in_page + n].copy_from_slice(&src[done..done + n]);
            done += n;
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
                && let Some(p) = self.pages.get_mut(&(len / PAGE))
            {
                p[(len % PAGE) as usize..].fill(0);
            }
        }
        self.len = len;
    }

    /// Replaces the contents with `data` (pages of zeroes stay holes).
    pub fn set_data(&mut self, data: &[u8]) {
        self.pages.clear();
        for (i, chunk) in data.chunks(PAGE as usize).enumerate() {
            if chunk.iter().any(|&b| b != 0) {
                let mut p = vec![0u8; PAGE as usize].into_boxed_slice();
                p[..chunk.len()].copy_from_slice(chunk);
                self.pages.insert(i as u64, p);
            }
        }
        self.len = data.len() as u64;
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
