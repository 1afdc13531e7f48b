//! System V shared memory: shmget(2), shmat(2), shmdt(2), shmctl(2). A segment is an
//! unlinked tmpfs file (as memfd's) that shmat maps shared, so its pages are the file's
//! own and fork shares them. Each mapping (VMA) holds a reference to the segment's file:
//! the attach count is the number of those references, so fork, munmap, exit and exec
//! keep it right without hooks. IPC_RMID on an attached segment only hides its key
//! (SHM_DEST); the registry then holds it weakly and it goes with its last mapping.

use super::{
    IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, Ids, IpcCred, Perm, S_IRUGO, S_IWUGO, now_secs,
    put_i32, put_u64,
};
use crate::host::Seg;
use crate::mm::memfile::Frame;
use crate::task::Task;
use crate::vfs::inode::{Cred, FileOps, Inode, S_IFREG, SetAttr};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls_table::Errno;

pub const SHM_RDONLY: u64 = 0o10000;
pub const SHM_RND: u64 = 0o20000;
pub const SHM_REMAP: u64 = 0o40000;
pub const SHM_EXEC: u64 = 0o100000;
pub const SHM_LOCK: i32 = 11;
pub const SHM_UNLOCK: i32 = 12;
pub const SHM_STAT: i32 = 13;
pub const SHM_INFO: i32 = 14;
pub const SHM_STAT_ANY: i32 = 15;
/// Mode bits: marked for destruction, locked in memory.
const SHM_DEST: u32 = 0o1000;
const SHM_LOCKED: u32 = 0o2000;

const PAGE: u64 = 4096;
/// Linux's defaults: SHMMAX (ULONG_MAX - 2^24), SHMALL (in pages), SHMMNI, SHMMIN.
const SHMMAX: u64 = u64::MAX - (1 << 24);
const SHMALL: u64 = u64::MAX - (1 << 24);
const SHMMNI: usize = 4096;

/// The file a segment's mappings hold: the tmpfs file plus the segment's id, so that
/// shmdt recognises the segment's mappings.
pub struct ShmFile {
    id: AtomicI32,
    file: Arc<dyn FileOps>,
}

impl FileOps for ShmFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.file.read(segs, off)
    }
    fn write(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        self.file.write(segs, off)
    }
    fn size(&self) -> Result<u64, Errno> {
        self.file.size()
    }
    fn map_shared(&self, write: bool) -> Result<(), Errno> {
        self.file.map_shared(write)
    }
    fn shared_frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        self.file.shared_frame(idx)
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

struct Segment {
    size: u64,
    /// Held while the segment exists on its own; after IPC_RMID only its mappings hold it.
    strong: Option<Arc<ShmFile>>,
    weak: Weak<ShmFile>,
    dev: u64,
    ino: u64,
    atime: i64,
    dtime: i64,
    ctime: i64,
    cpid: i32,
    lpid: i32,
}

impl Segment {
    fn nattch(&self) -> u64 {
        (self.weak.strong_count() - usize::from(self.strong.is_some())) as u64
    }
}

pub struct ShmRegistry {
    ids: Mutex<Ids<Segment>>,
}

impl Default for ShmRegistry {
    fn default() -> Self {
        ShmRegistry {
            ids: Mutex::new(Ids::new(SHMMNI)),
        }
    }
}

impl ShmRegistry {
    /// The segments, without those removed whose last mapping went.
    fn lock(&self) -> MutexGuard<'_, Ids<Segment>> {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        let dead: Vec<i32> = ids
            .ids()
            .into_iter()
            .filter(|&id| ids.get(id).is_ok_and(|(_, s)| s.weak.strong_count() == 0))
            .collect();
        for id in dead {
            ids.remove(id);
        }
        ids
    }
}

/// A new segment's file: an unlinked tmpfs file of `size` bytes.
fn new_file(t: &Task, size: u64, mode: u32) -> Result<(Arc<dyn FileOps>, u64, u64), Errno> {
    let root = t.k.memfd_root.clone();
    let hidden = format!("sysv-{}", t.k.memfd_seq.fetch_add(1, Ordering::Relaxed));
    let cred = Cred {
        uid: t.creds.uid,
        gid: t.creds.gid,
    };
    let inode = root.create(hidden.as_bytes(), S_IFREG | (mode & 0o777), 0, cred)?;
    root.remove(hidden.as_bytes(), false)?;
    inode.setattr(&SetAttr {
        size: Some(size),
        ..Default::default()
    })?;
    let st = inode.stat()?;
    let ops = inode.open(crate::vfs::file::O_RDWR)?;
    Ok((ops, st.dev, st.ino))
}

/// shmget(2).
pub fn shmget(t: &Task, key: i32, size: u64, flags: u64) -> Result<i32, Errno> {
    let c = IpcCred::of(t);
    let reg = &t.k.ipc.shm;
    let mut ids = reg.lock();
    let made = std::cell::RefCell::new(None);
    let id = super::ipcget(
        &mut ids,
        key,
        flags,
        c,
        |s| {
            if size > s.size {
                Err(Errno::EINVAL)
            } else {
                Ok(())
            }
        },
        || {
            if !(1..=SHMMAX).contains(&size) {
                return Err(Errno::EINVAL);
            }
            let pages = size.div_ceil(PAGE);
            if pages > SHMALL {
                return Err(Errno::ENOSPC);
            }
            let (file, dev, ino) = new_file(t, size, flags as u32)?;
            let shm = Arc::new(ShmFile {
                id: AtomicI32::new(-1),
                file,
            });
            *made.borrow_mut() = Some(shm.clone());
            Ok(Segment {
                size,
                weak: Arc::downgrade(&shm),
                strong: Some(shm),
                dev,
                ino,
                atime: 0,
                dtime: 0,
                ctime: now_secs(),
                cpid: c.pid,
                lpid: 0,
            })
        },
    )?;
    // Now that the id is known, the file carries it.
    if let Some(shm) = made.take() {
        shm.id.store(id, Ordering::Relaxed);
    }
    Ok(id)
}

/// shmat(2): maps the segment; returns the address.
pub fn shmat(t: &Task, id: i32, addr: u64, flags: u64) -> Result<u64, Errno> {
    let c = IpcCred::of(t);
    let mut addr = addr;
    if addr != 0 {
        if !addr.is_multiple_of(PAGE) {
            if flags & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(PAGE - 1);
            if addr == 0 && flags & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flags & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let readonly = flags & SHM_RDONLY != 0;
    let want = if readonly { S_IRUGO } else { S_IRUGO | S_IWUGO }
        | if flags & SHM_EXEC != 0 { 0o111 } else { 0 };
    let (file, size, key, dev, ino) = {
        let mut ids = t.k.ipc.shm.lock();
        let (perm, seg) = ids.get_mut(id)?;
        perm.check(c, want)?;
        let file = seg.weak.upgrade().ok_or(Errno::EIDRM)?;
        (file, seg.size, perm.key, seg.dev, seg.ino)
    };
    let len = size.div_ceil(PAGE) * PAGE;
    let fixed = addr != 0;
    if fixed && flags & SHM_REMAP == 0 && addr.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let perms = platform::Perms {
        read: true,
        write: !readonly,
        exec: flags & SHM_EXEC != 0,
    };
    let map = crate::mm::FileMap {
        ops: file,
        offset: 0,
        cache: true,
        may_write: !readonly,
        name: format!("/SYSV{:08x} (deleted)", key as u32).into_bytes(),
        dev,
        ino,
    };
    let at =
        t.mm.mmap(crate::mm::MmapArgs {
            addr,
            len,
            perms,
            fixed: fixed && flags & SHM_REMAP != 0,
            noreplace: fixed && flags & SHM_REMAP == 0,
            shared: true,
            growsdown: false,
            populate: false,
            below_2g: false,
            kind: crate::mm::VmaKind::Anon,
            file: Some(map),
        })
        .map_err(|e| if e == Errno::EEXIST { Errno::EINVAL } else { e })?;
    let mut ids = t.k.ipc.shm.lock();
    if let Ok((_, seg)) = ids.get_mut(id) {
        seg.atime = now_secs();
        seg.lpid = c.pid;
    }
    Ok(at)
}

/// The segment a mapping's file belongs to.
fn shm_id(ops: &Arc<dyn FileOps>) -> Option<i32> {
    ops.as_any()?
        .downcast_ref::<ShmFile>()
        .map(|f| f.id.load(Ordering::Relaxed))
}

/// shmdt(2): unmaps the segment attached at `addr` (every mapping of it in the
/// segment's size from there, at the matching file offset).
pub fn shmdt(t: &Task, addr: u64) -> Result<u64, Errno> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let maps = t.mm.maps();
    let Some(id) = maps.iter().find_map(|(start, v)| {
        let f = v.file.as_ref()?;
        (*start == addr && f.offset == 0)
            .then(|| shm_id(&f.ops))
            .flatten()
    }) else {
        return Err(Errno::EINVAL);
    };
    let size = maps
        .iter()
        .find(|(s, _)| *s == addr)
        .and_then(|(_, v)| v.file.as_ref()?.ops.size().ok())
        .unwrap_or(0);
    let end = addr.saturating_add(size.div_ceil(PAGE) * PAGE);
    for (start, v) in &maps {
        if *start < addr || *start >= end {
            continue;
        }
        let Some(f) = &v.file else { continue };
        if shm_id(&f.ops) == Some(id) && f.offset == start - addr {
            t.mm.munmap(*start, v.end - start)?;
        }
    }
    let mut ids = t.k.ipc.shm.lock();
    if let Ok((_, seg)) = ids.get_mut(id) {
        seg.dtime = now_secs();
        seg.lpid = t.tgid;
    }
    Ok(0)
}

/// At a process's exit: its attachments go before its parent can see it exited (the
/// task's memory itself is released later), unless another process shares the memory
/// (a vfork parent).
pub fn detach_all(t: &Task) {
    let mm_id = Arc::as_ptr(&t.mm) as usize;
    let shared = t
        .tree()
        .tasks
        .values()
        .any(|e| e.mm_id == mm_id && e.tgid != t.tgid);
    if shared {
        return;
    }
    let mut detached = Vec::new();
    for (start, v) in t.mm.maps() {
        if let Some(id) = v.file.as_ref().and_then(|f| shm_id(&f.ops)) {
            let _ = t.mm.munmap(start, v.end - start);
            detached.push(id);
        }
    }
    if detached.is_empty() {
        return;
    }
    let mut ids = t.k.ipc.shm.lock();
    for id in detached {
        if let Ok((_, seg)) = ids.get_mut(id) {
            seg.dtime = now_secs();
            seg.lpid = t.tgid;
        }
    }
}

/// `struct shmid64_ds` (112 bytes).
fn shmid_ds(perm: &Perm, s: &Segment) -> [u8; 112] {
    let mut b = [0u8; 112];
    b[..48].copy_from_slice(&perm.to_bytes());
    put_u64(&mut b, 48, s.size);
    put_u64(&mut b, 56, s.atime as u64);
    put_u64(&mut b, 64, s.dtime as u64);
    put_u64(&mut b, 72, s.ctime as u64);
    put_i32(&mut b, 80, s.cpid);
    put_i32(&mut b, 84, s.lpid);
    put_u64(&mut b, 88, s.nattch());
    b
}

/// shmctl(2).
pub fn shmctl(t: &Task, id: i32, cmd: i32, buf: u64) -> Result<u64, Errno> {
    let c = IpcCred::of(t);
    if cmd < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        super::IPC_INFO | SHM_INFO => {
            let ids = t.k.ipc.shm.lock();
            let mut b = [0u8; 72];
            if cmd == super::IPC_INFO {
                // struct shminfo: shmmax, shmmin, shmmni, shmseg, shmall.
                for (i, v) in [SHMMAX, 1, SHMMNI as u64, SHMMNI as u64, SHMALL]
                    .into_iter()
                    .enumerate()
                {
                    put_u64(&mut b, i * 8, v);
                }
            } else {
                // struct shm_info: used_ids, shm_tot (pages), shm_rss, shm_swp, ...
                put_i32(&mut b, 0, ids.len() as i32);
                let tot: u64 = ids.values().map(|(_, s)| s.size.div_ceil(PAGE)).sum();
                put_u64(&mut b, 8, tot);
            }
            let n = if cmd == super::IPC_INFO { 72 } else { 48 };
            t.mm.copy_out(buf, &b[..n])?;
            Ok(ids.max_idx() as u64)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let ids = t.k.ipc.shm.lock();
            let id = if cmd == IPC_STAT {
                id
            } else {
                ids.id_at(id).ok_or(Errno::EINVAL)?
            };
            let (perm, seg) = ids.get(id)?;
            if cmd != SHM_STAT_ANY {
                perm.check(c, S_IRUGO)?;
            }
            let b = shmid_ds(perm, seg);
            drop(ids);
            t.mm.copy_out(buf, &b)?;
            Ok(if cmd == IPC_STAT { 0 } else { id as u64 })
        }
        IPC_SET => {
            let mut b = [0u8; 112];
            t.mm.copy_in(buf, &mut b)?;
            let mut ids = t.k.ipc.shm.lock();
            let (perm, seg) = ids.get_mut(id)?;
            perm.check_owner(c)?;
            perm.set_from(&b[..48]);
            seg.ctime = now_secs();
            Ok(0)
        }
        IPC_RMID => {
            let mut ids = t.k.ipc.shm.lock();
            let (perm, seg) = ids.get_mut(id)?;
            perm.check_owner(c)?;
            if seg.nattch() == 0 {
                ids.remove(id);
            } else {
                perm.key = IPC_PRIVATE;
                perm.mode |= SHM_DEST;
                seg.strong = None;
            }
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let mut ids = t.k.ipc.shm.lock();
            let (perm, _) = ids.get_mut(id)?;
            perm.check_owner(c)?;
            if cmd == SHM_LOCK {
                perm.mode |= SHM_LOCKED;
            } else {
                perm.mode &= !SHM_LOCKED;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
