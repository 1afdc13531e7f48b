//! Memory syscalls: brk(2), mmap(2) (anonymous), munmap(2), mprotect(2), mremap(2),
//! madvise(2). Argument checks follow mm/mmap.c, mm/mprotect.c, mm/mremap.c and
//! mm/madvise.c in the order Linux makes them, so errnos match.

use crate::mm::{FileMap, ForkAdvice, MmapArgs, VmaKind};
use crate::task::Task;
use crate::vfs::inode::{S_IFCHR, S_IFMT, S_IFREG};
use platform::Perms;
use syscalls_table::Errno;

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_32BIT: u64 = 0x40;
const MAP_GROWSDOWN: u64 = 0x100;
const MAP_POPULATE: u64 = 0x8000;
const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
/// The flags MAP_SHARED_VALIDATE accepts on x86-64 (Linux's LEGACY_MAP_MASK: the type,
/// FIXED, ANONYMOUS, 32BIT, ABOVE4G, GROWSDOWN, DENYWRITE..HUGETLB, UNINITIALIZED and the
/// huge page size bits); MAP_SYNC and MAP_FIXED_NOREPLACE are refused on our files.
const MAP_KNOWN: u64 = 0x3 | 0xf0 | 0x100 | 0x7_f800 | 0xfc00_0000;

const PROT_ALL: u64 = 0x7 | 0x8 | 0x0100_0000 | 0x0200_0000;

/// Whether growing the address space by `more` bytes stays within RLIMIT_AS (Linux's
/// may_expand_vm).
fn as_room(t: &Task, more: u64) -> bool {
    let limit = t.rlimit(libc::RLIMIT_AS as usize);
    limit == u64::MAX || t.mm.total_vm().saturating_add(more) <= limit
}

/// A new unlinked tmpfs file of `len` bytes to back a shared anonymous mapping.
fn shared_anon_file(t: &Task, len: u64) -> Result<FileMap, Errno> {
    use crate::vfs::inode::{Cred, Inode, SetAttr};
    use std::sync::atomic::Ordering;
    let size = crate::mm::page_up(len).ok_or(Errno::ENOMEM)?;
    let root = t.k.memfd_root.clone();
    let hidden = format!("shm{}", t.k.memfd_seq.fetch_add(1, Ordering::Relaxed));
    let cred = Cred {
        uid: t.creds.uid,
        gid: t.creds.gid,
    };
    let inode = root.create(hidden.as_bytes(), S_IFREG | 0o600, 0, cred)?;
    root.remove(hidden.as_bytes(), false)?;
    inode.setattr(&SetAttr {
        size: Some(size),
        ..Default::default()
    })?;
    let st = inode.stat()?;
    let ops = inode.open(crate::vfs::file::O_RDWR)?;
    ops.map_shared(true)?;
    Ok(FileMap {
        ops,
        offset: 0,
        cache: true,
        may_write: true,
        name: b"/dev/zero (deleted)".to_vec(),
        dev: st.dev,
        ino: st.ino,
    })
}

/// brk(2).
pub fn brk(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (_, cur) = t.mm.brk_range();
    if a[0] > cur && !as_room(t, a[0] - cur) {
        return Ok(cur);
    }
    Ok(t.mm.brk(a[0]))
}

/// mmap(2): anonymous mappings, private file mappings (pages read from the file when
/// first touched) and shared file mappings through the file's own pages (tmpfs, memfd,
/// the overlay's upper layer) or its page cache (the gofer's files). Files with neither
/// (procfs) can be mapped shared read-only only, as copies.
pub fn mmap(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (addr, len, prot, flags, fd, off) = (a[0], a[1], a[2], a[3], a[4], a[5]);
    if off % 4096 != 0 {
        return Err(Errno::EINVAL);
    }
    let file = if flags & MAP_ANONYMOUS == 0 {
        Some(t.fds().get(fd as u32 as u64)?)
    } else {
        None
    };
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let shared = match flags & MAP_TYPE {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        // Anonymous memory knows only the two plain types.
        MAP_SHARED_VALIDATE if file.is_none() => return Err(Errno::EINVAL),
        MAP_SHARED_VALIDATE => {
            if flags & !MAP_KNOWN != 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            true
        }
        _ => return Err(Errno::EINVAL),
    };
    let perms = Perms::from_prot(prot);
    let mut map = None;
    let mut anon_shared = shared;
    if let Some(f) = file {
        if f.is_path_only() {
            return Err(Errno::EBADF);
        }
        let st = f.inode.stat()?;
        let ftype = st.mode & S_IFMT;
        if ftype == S_IFCHR && crate::vfs::inode::split_dev(st.rdev) == (1, 5) {
            // /dev/zero: anonymous memory.
        } else {
            if ftype != S_IFREG {
                return Err(Errno::ENODEV);
            }
            if !f.readable() {
                return Err(Errno::EACCES);
            }
            // A shared mapping uses the file's own pages where the file has them; a
            // read-only shared mapping of a file without them gets copies, as a private
            // one, but may never become writable.
            let mut cache = false;
            if shared {
                if perms.write && !f.writable() {
                    return Err(Errno::EACCES);
                }
                match f.ops.map_shared(perms.write) {
                    Ok(()) => cache = true,
                    Err(Errno::ENODEV) if !perms.write => {}
                    Err(e) => return Err(e),
                }
            }
            if off.checked_add(len).is_none() {
                return Err(Errno::EOVERFLOW);
            }
            let name = f
                .path
                .as_ref()
                .map(|p| t.k.vfs.path_name(&t.fs().root, p))
                .unwrap_or_else(|| f.name.clone());
            map = Some(FileMap {
                ops: f.ops.clone(),
                offset: off,
                cache,
                may_write: !shared || (f.writable() && cache),
                name,
                dev: st.dev,
                ino: st.ino,
            });
            anon_shared = cache;
        }
    }
    // Shared anonymous memory is an unlinked tmpfs file (Linux's shmem "/dev/zero"), so
    // a fork's child shares its pages even when none existed at the fork.
    if anon_shared && map.is_none() {
        map = Some(shared_anon_file(t, len)?);
    }
    // RLIMIT_AS (a fixed mapping may replace some of what it counts; Linux subtracts
    // the overlap, the sentry counts it conservatively only when nothing is replaced).
    if flags & MAP_FIXED == 0 && !as_room(t, crate::mm::page_up(len).unwrap_or(u64::MAX)) {
        return Err(Errno::ENOMEM);
    }
    t.mm.mmap(MmapArgs {
        addr,
        len,
        perms,
        fixed: flags & MAP_FIXED != 0,
        noreplace: flags & MAP_FIXED_NOREPLACE != 0,
        shared: anon_shared,
        growsdown: flags & MAP_GROWSDOWN != 0,
        populate: flags & MAP_POPULATE != 0,
        below_2g: flags & MAP_32BIT != 0 && flags & MAP_FIXED == 0,
        kind: VmaKind::Anon,
        file: map,
    })
}

/// msync(2): the shared file mappings' pages are the files' own, so writing back is the
/// files' fsync for MS_SYNC; the range must be mapped (ENOMEM).
pub fn msync(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    let (addr, len, flags) = (a[0], a[1], a[2]);
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
        || addr % 4096 != 0
    {
        return Err(Errno::EINVAL);
    }
    let end = crate::mm::page_up(len)
        .and_then(|l| addr.checked_add(l))
        .ok_or(Errno::ENOMEM)?;
    if end == addr {
        return Ok(0);
    }
    if end > crate::mm::TASK_SIZE {
        return Err(Errno::ENOMEM);
    }
    let (files, covered) = t.mm.shared_files(addr, end);
    if flags & MS_SYNC != 0 {
        for f in files {
            f.fsync()?;
        }
    }
    if covered { Ok(0) } else { Err(Errno::ENOMEM) }
}

/// munmap(2).
pub fn munmap(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.mm.munmap(a[0], a[1]).map(|_| 0)
}

/// mprotect(2).
pub fn mprotect(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let prot = a[2];
    if prot & !PROT_ALL != 0 || (prot & 0x0100_0000 != 0 && prot & 0x0200_0000 != 0) {
        return Err(Errno::EINVAL);
    }
    t.mm.mprotect(a[0], a[1], Perms::from_prot(prot)).map(|_| 0)
}

/// mremap(2).
pub fn mremap(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const MAYMOVE: u64 = 1;
    const FIXED: u64 = 2;
    const DONTUNMAP: u64 = 4;
    let flags = a[3];
    if flags & !(MAYMOVE | FIXED | DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (FIXED | DONTUNMAP) != 0 && flags & MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = (flags & FIXED != 0).then_some(a[4]);
    let (old, new) = (
        crate::mm::page_up(a[1]).unwrap_or(0),
        crate::mm::page_up(a[2]).unwrap_or(u64::MAX),
    );
    let growth = if flags & DONTUNMAP != 0 { new } else { new.saturating_sub(old) };
    if growth > 0 && !as_room(t, growth) {
        return Err(Errno::ENOMEM);
    }
    t.mm.mremap(
        a[0],
        a[1],
        a[2],
        flags & MAYMOVE != 0,
        fixed,
        flags & DONTUNMAP != 0,
    )
}

/// madvise(2): advice that releases memory drops the pages; DONTFORK/DOFORK and
/// WIPEONFORK/KEEPONFORK mark the range for fork; other known advice only checks the range.
pub fn madvise(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const DONTNEED: u64 = 4;
    const FREE: u64 = 8;
    const REMOVE: u64 = 9;
    const DONTFORK: u64 = 10;
    const DOFORK: u64 = 11;
    const WIPEONFORK: u64 = 18;
    const KEEPONFORK: u64 = 19;
    const DONTNEED_LOCKED: u64 = 24;
    let (addr, len, advice) = (a[0], a[1], a[2]);
    let fork = |adv| t.mm.fork_advice(addr, len, adv).map(|_| 0);
    match advice {
        DONTNEED | FREE | REMOVE | DONTNEED_LOCKED => t.mm.discard(addr, len).map(|_| 0),
        DONTFORK => fork(ForkAdvice::DontFork),
        DOFORK => fork(ForkAdvice::DoFork),
        WIPEONFORK => fork(ForkAdvice::WipeOnFork),
        KEEPONFORK => fork(ForkAdvice::KeepOnFork),
        0..=3 | 10..=23 | 25 | 102 | 103 => t.mm.check_mapped(addr, len).map(|_| 0),
        100 | 101 => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}
