//! Copy-on-write fork and page accounting, against a fake address space that records what
//! the memory manager asks the platform to do.

use super::memfile::{Frame, MemoryFile, PAGE_SIZE};
use super::*;
use crate::vfs::inode::FileOps;
use platform::{Access, AddressSpace, Perms};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    Map(u64, u64, u64, Perms),
    Unmap(u64, u64),
}

#[derive(Default)]
struct FakeAs {
    calls: Mutex<Vec<Call>>,
}

impl FakeAs {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

impl AddressSpace for FakeAs {
    fn prepare_thread(&self) -> platform::Result<()> {
        Ok(())
    }
    fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> platform::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Map(addr, len, file_offset, perms));
        Ok(())
    }
    fn unmap(&self, addr: u64, len: u64) -> platform::Result<()> {
        self.calls.lock().unwrap().push(Call::Unmap(addr, len));
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A file whose private mappings read `data` and whose shared mappings use its own frames.
struct TestFile {
    mf: Arc<MemoryFile>,
    data: Vec<u8>,
    frames: Mutex<BTreeMap<u64, Arc<Frame>>>,
}

impl FileOps for TestFile {
    fn read(&self, segs: &[Seg], off: Option<u64>) -> Result<usize, Errno> {
        let base = self.mf.host_ptr(0, 0) as usize;
        let mut pos = off.unwrap_or(0) as usize;
        let mut n = 0;
        for seg in segs {
            let avail = self.data.len().saturating_sub(pos).min(seg.len);
            self.mf.write(
                (seg.ptr as usize - base) as u64,
                &self.data[pos..pos + avail],
            );
            pos += avail;
            n += avail;
        }
        Ok(n)
    }
    fn write(&self, _segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn shared_frame(&self, idx: u64) -> Result<Arc<Frame>, Errno> {
        let mut frames = self.frames.lock().unwrap();
        if let Some(f) = frames.get(&idx) {
            return Ok(f.clone());
        }
        let f = self.mf.alloc_frame().ok_or(Errno::ENOMEM)?;
        let start = (idx * PAGE_SIZE) as usize;
        let end = (start + PAGE_SIZE as usize).min(self.data.len());
        if start < end {
            self.mf.write(f.off(), &self.data[start..end]);
        }
        frames.insert(idx, f.clone());
        Ok(f)
    }
}

const BASE: u64 = 0x10_0000;
const P: u64 = PAGE_SIZE;
const RW: Perms = Perms {
    read: true,
    write: true,
    exec: false,
};
const RO: Perms = Perms {
    read: true,
    write: false,
    exec: false,
};
const READ: Access = Access {
    read: true,
    write: false,
    exec: false,
};
const WRITE: Access = Access {
    read: false,
    write: true,
    exec: false,
};

fn setup() -> (Arc<MemoryFile>, Arc<FakeAs>, MemoryManager) {
    let mf = Arc::new(MemoryFile::new(64 << 20).unwrap());
    let aspace = Arc::new(FakeAs::default());
    let mm = MemoryManager::new(aspace.clone(), mf.clone(), 0x10000, TASK_SIZE);
    (mf, aspace, mm)
}

fn args(addr: u64, pages: u64, perms: Perms, shared: bool, file: Option<FileMap>) -> MmapArgs {
    MmapArgs {
        addr,
        len: pages * P,
        perms,
        fixed: true,
        noreplace: false,
        shared,
        growsdown: false,
        populate: false,
        below_2g: false,
        kind: VmaKind::Anon,
        file,
    }
}

fn anon(mm: &MemoryManager, addr: u64, pages: u64, shared: bool) {
    mm.mmap(args(addr, pages, RW, shared, None)).unwrap();
}

fn fork(mm: &MemoryManager) -> (Arc<FakeAs>, MemoryManager) {
    let forked = mm.fork().unwrap();
    let aspace = Arc::new(FakeAs::default());
    let child = forked.attach(aspace.clone());
    assert!(aspace.take().is_empty(), "attach touched the address space");
    (aspace, child)
}

fn off(mm: &MemoryManager, va: u64) -> Option<u64> {
    mm.lock().pages.get(&va).map(|p| p.off())
}

fn mapped(mm: &MemoryManager, va: u64) -> Option<Perms> {
    mm.lock().pages.get(&va).and_then(|p| p.mapped)
}

fn read(mm: &MemoryManager, va: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    mm.copy_in(va, &mut buf).unwrap();
    buf
}

fn fill(mm: &MemoryManager, va: u64, byte: u8, len: usize) {
    mm.copy_out(va, &vec![byte; len]).unwrap();
}

#[test]
fn writes_after_fork_are_private() {
    let (_mf, _a, parent) = setup();
    anon(&parent, BASE, 4, false);
    fill(&parent, BASE, 0xaa, 4 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let (_ca, child) = fork(&parent);
    assert_eq!(
        read(&child, BASE, 4 * P as usize),
        vec![0xaa; 4 * P as usize]
    );
    fill(&child, BASE + P, 0xbb, P as usize);
    fill(&parent, BASE + 2 * P, 0xcc, P as usize);
    assert_eq!(read(&parent, BASE + P, P as usize), vec![0xaa; P as usize]);
    assert_eq!(read(&child, BASE + P, P as usize), vec![0xbb; P as usize]);
    assert_eq!(
        read(&child, BASE + 2 * P, P as usize),
        vec![0xaa; P as usize]
    );
    assert_eq!(
        read(&parent, BASE + 2 * P, P as usize),
        vec![0xcc; P as usize]
    );
    // Layout carried over.
    assert_eq!(child.maps(), parent.maps());
}

#[test]
fn unwritten_pages_are_shared_and_counted_in_each() {
    let (mf, _a, parent) = setup();
    anon(&parent, BASE, 4, false);
    fill(&parent, BASE, 1, 4 * P as usize);
    let used = mf.in_use();
    assert_eq!(used, 4 * P);
    let (_ca, child) = fork(&parent);
    assert_eq!(mf.in_use(), used, "fork copied pages");
    for i in 0..4 {
        assert_eq!(off(&parent, BASE + i * P), off(&child, BASE + i * P));
    }
    assert_eq!(parent.resident(), 4 * P);
    assert_eq!(child.resident(), 4 * P);
    fill(&child, BASE, 2, 1);
    assert_ne!(off(&parent, BASE), off(&child, BASE));
    for i in 1..4 {
        assert_eq!(off(&parent, BASE + i * P), off(&child, BASE + i * P));
    }
    assert_eq!(mf.in_use(), used + P);
    assert_eq!(parent.resident(), 4 * P);
    assert_eq!(child.resident(), 4 * P);
}

#[test]
fn fork_write_protects_the_parent_in_runs() {
    let (_mf, a, parent) = setup();
    anon(&parent, BASE, 4, false);
    anon(&parent, BASE + 8 * P, 2, true);
    parent
        .mmap(args(BASE + 16 * P, 2, RO, false, None))
        .unwrap();
    parent.handle_fault(BASE, WRITE).unwrap();
    parent.handle_fault(BASE + 8 * P, WRITE).unwrap();
    parent.handle_fault(BASE + 16 * P, READ).unwrap();
    let off0 = off(&parent, BASE).unwrap();
    assert_eq!(mapped(&parent, BASE), Some(RW));
    a.take();
    let (ca, child) = fork(&parent);
    // One call for the contiguous writable private run; the shared and the read-only
    // mappings are left alone.
    assert_eq!(a.take(), vec![Call::Map(BASE, 4 * P, off0, RO)]);
    for i in 0..4 {
        assert_eq!(mapped(&parent, BASE + i * P), Some(RO));
        assert_eq!(mapped(&child, BASE + i * P), None);
    }
    assert_eq!(mapped(&parent, BASE + 8 * P), Some(RW));
    assert!(ca.take().is_empty());
}

#[test]
fn write_fault_copies_a_shared_page() {
    let (mf, a, parent) = setup();
    anon(&parent, BASE, 1, false);
    fill(&parent, BASE, 7, P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let old = off(&parent, BASE).unwrap();
    let (_ca, child) = fork(&parent);
    a.take();
    let used = mf.in_use();
    parent.handle_fault(BASE, WRITE).unwrap();
    let new = off(&parent, BASE).unwrap();
    assert_ne!(new, old);
    assert_eq!(off(&child, BASE), Some(old));
    assert_eq!(a.take(), vec![Call::Map(BASE, P, new, RW)]);
    assert_eq!(mf.in_use(), used + P);
    assert_eq!(read(&parent, BASE, P as usize), vec![7; P as usize]);
}

#[test]
fn write_fault_on_a_sole_owner_page_remaps_without_copying() {
    let (mf, a, parent) = setup();
    anon(&parent, BASE, 4, false);
    parent.handle_fault(BASE, WRITE).unwrap();
    let old = off(&parent, BASE).unwrap();
    drop(parent.fork().unwrap());
    assert_eq!(mapped(&parent, BASE), Some(RO));
    a.take();
    let used = mf.in_use();
    parent.handle_fault(BASE, WRITE).unwrap();
    assert_eq!(off(&parent, BASE), Some(old));
    assert_eq!(mf.in_use(), used);
    // The whole fault-around window is writable again, in one call.
    assert_eq!(a.take(), vec![Call::Map(BASE, 4 * P, old, RW)]);
    // A known access the mapping already allows (another thread's fault resolved first):
    // mapped again, not an error.
    parent.handle_fault(BASE, WRITE).unwrap();
    assert_eq!(a.take(), vec![Call::Map(BASE, P, old, RW)]);
}

#[test]
fn unknown_access_faults_map_cow_pages_read_only_then_copy() {
    let (mf, a, parent) = setup();
    anon(&parent, BASE, 2, false);
    fill(&parent, BASE, 3, 2 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let old = off(&parent, BASE).unwrap();
    let (ca, child) = fork(&parent);
    let used = mf.in_use();
    // Not mapped in the child: a read is assumed, the shared page is mapped read-only.
    child.handle_fault(BASE, Access::UNKNOWN).unwrap();
    assert_eq!(off(&child, BASE), Some(old));
    assert_eq!(mapped(&child, BASE), Some(RO));
    assert_eq!(mf.in_use(), used);
    assert_eq!(ca.take(), vec![Call::Map(BASE, 2 * P, old, RO)]);
    // Faulting again on a read-only page of a writable VMA: a write; copy.
    child.handle_fault(BASE, Access::UNKNOWN).unwrap();
    let new = off(&child, BASE).unwrap();
    assert_ne!(new, old);
    assert_eq!(mapped(&child, BASE), Some(RW));
    assert_eq!(ca.take(), vec![Call::Map(BASE, P, new, RW)]);
    assert_eq!(mf.in_use(), used + P);
    // In the parent (mapped read-only by fork) too.
    a.take();
    parent.handle_fault(BASE + P, Access::UNKNOWN).unwrap();
    assert_ne!(off(&parent, BASE + P), off(&child, BASE + P));
    assert_eq!(mapped(&parent, BASE + P), Some(RW));
    assert_eq!(read(&child, BASE, 2 * P as usize), vec![3; 2 * P as usize]);
    assert_eq!(read(&parent, BASE, 2 * P as usize), vec![3; 2 * P as usize]);
    // A read-only VMA mapped with all it allows: an access error, as before.
    parent.mmap(args(BASE + 8 * P, 1, RO, false, None)).unwrap();
    parent.handle_fault(BASE + 8 * P, Access::UNKNOWN).unwrap();
    assert_eq!(
        parent.handle_fault(BASE + 8 * P, Access::UNKNOWN),
        Err(FaultError::AccErr)
    );
    assert_eq!(
        parent.handle_fault(BASE + 8 * P, WRITE),
        Err(FaultError::AccErr)
    );
}

#[test]
fn sentry_writes_break_cow() {
    let (_mf, a, parent) = setup();
    anon(&parent, BASE, 3, false);
    fill(&parent, BASE, 5, 3 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let old: Vec<u64> = (0..3)
        .map(|i| off(&parent, BASE + i * P).unwrap())
        .collect();
    let (ca, child) = fork(&parent);
    a.take();
    // copy_out into a page the parent maps read-only: copied and mapped again at once.
    fill(&parent, BASE + 10, 9, 4);
    let new = off(&parent, BASE).unwrap();
    assert_ne!(new, old[0]);
    assert_eq!(a.take(), vec![Call::Map(BASE, P, new, RW)]);
    assert_eq!(read(&child, BASE, P as usize), vec![5; P as usize]);
    // copy_out in the child, where nothing is mapped: copied, nothing to map.
    fill(&child, BASE + P, 8, 1);
    assert_ne!(off(&child, BASE + P), Some(old[1]));
    assert!(ca.take().is_empty());
    assert_eq!(read(&parent, BASE + P, 1), vec![5]);
    // segments for writing (read(2) into a buffer).
    let segs = child.segments(BASE + 2 * P, 16, true);
    assert_eq!(segs.len(), 1);
    assert_ne!(off(&child, BASE + 2 * P), Some(old[2]));
    assert_eq!(off(&parent, BASE + 2 * P), Some(old[2]));
    // Reading does not copy.
    let _ = parent.segments(BASE + 2 * P, 16, false);
    assert_eq!(off(&parent, BASE + 2 * P), Some(old[2]));
    // write_force into a read-only private VMA.
    parent.mmap(args(BASE + 8 * P, 1, RO, false, None)).unwrap();
    parent.write_force(BASE + 8 * P, &[1, 2, 3]).unwrap();
    let (_ga, grandchild) = fork(&parent);
    let shared = off(&parent, BASE + 8 * P);
    grandchild.write_force(BASE + 8 * P, &[4]).unwrap();
    assert_ne!(off(&grandchild, BASE + 8 * P), shared);
    assert_eq!(read(&parent, BASE + 8 * P, 3), vec![1, 2, 3]);
    assert_eq!(read(&grandchild, BASE + 8 * P, 3), vec![4, 2, 3]);
    assert_eq!(parent.copy_out(BASE + 8 * P, &[0]), Err(Errno::EFAULT));
}

#[test]
fn mprotect_and_mremap_keep_pages_cow() {
    let (_mf, _a, parent) = setup();
    anon(&parent, BASE, 2, false);
    fill(&parent, BASE, 6, 2 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let old = off(&parent, BASE).unwrap();
    let (_ca, child) = fork(&parent);
    parent.mprotect(BASE, 2 * P, RO).unwrap();
    parent.mprotect(BASE, 2 * P, RW).unwrap();
    parent.handle_fault(BASE, READ).unwrap();
    assert_eq!(mapped(&parent, BASE), Some(RO));
    assert_eq!(off(&parent, BASE), Some(old));
    let dst = parent
        .mremap(BASE, 2 * P, 2 * P, true, Some(BASE + 32 * P), false)
        .unwrap();
    assert_eq!(off(&parent, dst), Some(old));
    parent.handle_fault(dst, READ).unwrap();
    assert_eq!(mapped(&parent, dst), Some(RO));
    parent.handle_fault(dst, WRITE).unwrap();
    assert_ne!(off(&parent, dst), Some(old));
    fill(&parent, dst, 1, 2 * P as usize);
    assert_eq!(read(&child, BASE, 2 * P as usize), vec![6; 2 * P as usize]);
}

#[test]
fn dontfork_and_wipeonfork() {
    let (_mf, _a, parent) = setup();
    anon(&parent, BASE, 6, false);
    fill(&parent, BASE, 4, 6 * P as usize);
    parent
        .fork_advice(BASE, 2 * P, ForkAdvice::DontFork)
        .unwrap();
    parent
        .fork_advice(BASE + 2 * P, 2 * P, ForkAdvice::WipeOnFork)
        .unwrap();
    assert_eq!(parent.maps().len(), 3);
    let (_ca, child) = fork(&parent);
    let maps = child.maps();
    assert_eq!(maps.len(), 2);
    assert_eq!(maps[0].0, BASE + 2 * P);
    assert!(maps[0].1.wipeonfork);
    assert!(!maps[1].1.wipeonfork);
    let mut b = [0u8; 1];
    assert_eq!(child.copy_in(BASE, &mut b), Err(Errno::EFAULT));
    assert_eq!(
        read(&child, BASE + 2 * P, 2 * P as usize),
        vec![0; 2 * P as usize]
    );
    assert_eq!(
        read(&child, BASE + 4 * P, 2 * P as usize),
        vec![4; 2 * P as usize]
    );
    assert_eq!(read(&parent, BASE, 6 * P as usize), vec![4; 6 * P as usize]);
    // Undone, the VMAs merge again.
    parent.fork_advice(BASE, 2 * P, ForkAdvice::DoFork).unwrap();
    parent
        .fork_advice(BASE + 2 * P, 2 * P, ForkAdvice::KeepOnFork)
        .unwrap();
    assert_eq!(parent.maps().len(), 1);
    // Linux's checks: shared or file mappings cannot be wiped; holes give ENOMEM.
    anon(&parent, BASE + 16 * P, 1, true);
    assert_eq!(
        parent.fork_advice(BASE + 16 * P, P, ForkAdvice::WipeOnFork),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        parent.fork_advice(BASE + 6 * P, 4 * P, ForkAdvice::DontFork),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        parent.fork_advice(BASE + 1, P, ForkAdvice::DontFork),
        Err(Errno::EINVAL)
    );
    assert_eq!(parent.fork_advice(BASE, 0, ForkAdvice::DontFork), Ok(()));
}

#[test]
fn shared_mappings_stay_shared() {
    let (_mf, a, parent) = setup();
    anon(&parent, BASE, 2, true);
    fill(&parent, BASE, 1, 2 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    a.take();
    let (_ca, child) = fork(&parent);
    assert!(a.take().is_empty());
    fill(&child, BASE, 2, 1);
    child.handle_fault(BASE + P, Access::UNKNOWN).unwrap();
    assert_eq!(mapped(&child, BASE + P), Some(RW));
    assert_eq!(off(&parent, BASE), off(&child, BASE));
    assert_eq!(read(&parent, BASE, 1), vec![2]);
}

#[test]
fn file_mappings_after_fork() {
    let (mf, _a, parent) = setup();
    let file = Arc::new(TestFile {
        mf: mf.clone(),
        data: vec![0x5a; 2 * P as usize],
        frames: Mutex::new(BTreeMap::new()),
    });
    let fmap = |cache: bool| FileMap {
        ops: file.clone(),
        offset: 0,
        cache,
        may_write: true,
        name: b"/test".to_vec(),
        dev: 0,
        ino: 1,
    };
    parent
        .mmap(args(BASE, 2, RW, false, Some(fmap(false))))
        .unwrap();
    parent
        .mmap(args(BASE + 8 * P, 2, RW, true, Some(fmap(true))))
        .unwrap();
    parent.handle_fault(BASE, WRITE).unwrap();
    parent.handle_fault(BASE + 8 * P, WRITE).unwrap();
    let (_ca, child) = fork(&parent);
    // Private: copy-on-write.
    assert_eq!(off(&parent, BASE), off(&child, BASE));
    assert_eq!(mapped(&parent, BASE), Some(RO));
    fill(&child, BASE, 1, 1);
    assert_ne!(off(&parent, BASE), off(&child, BASE));
    assert_eq!(read(&parent, BASE, 2), vec![0x5a, 0x5a]);
    assert_eq!(read(&child, BASE, 2), vec![1, 0x5a]);
    // Shared: the file's own pages in both.
    let frame = file.shared_frame(0).unwrap().off();
    assert_eq!(mapped(&parent, BASE + 8 * P), Some(RW));
    fill(&child, BASE + 8 * P, 2, 1);
    assert_eq!(off(&child, BASE + 8 * P), Some(frame));
    assert_eq!(off(&parent, BASE + 8 * P), Some(frame));
    assert_eq!(read(&parent, BASE + 8 * P, 1), vec![2]);
    drop((parent, child));
    drop(file);
    mf.reclaim();
    assert_eq!(mf.in_use(), 0);
}

#[test]
fn munmap_and_discard_in_the_parent_leave_the_child_intact() {
    let (mf, _a, parent) = setup();
    anon(&parent, BASE, 4, false);
    fill(&parent, BASE, 0x11, 4 * P as usize);
    let (_ca, child) = fork(&parent);
    parent.discard(BASE, P).unwrap();
    parent.munmap(BASE + P, 3 * P).unwrap();
    assert_eq!(read(&parent, BASE, 1), vec![0]);
    assert_eq!(
        read(&child, BASE, 4 * P as usize),
        vec![0x11; 4 * P as usize]
    );
    // The child is the sole owner now: writing needs no copy.
    let used = {
        mf.reclaim();
        mf.in_use()
    };
    fill(&child, BASE + P, 0x22, P as usize);
    assert_eq!(mf.in_use(), used);
}

#[test]
fn dropping_both_frees_every_page() {
    let (mf, _a, parent) = setup();
    let baseline = mf.in_use();
    anon(&parent, BASE, 8, false);
    anon(&parent, BASE + 16 * P, 2, true);
    fill(&parent, BASE, 1, 8 * P as usize);
    fill(&parent, BASE + 16 * P, 1, 2 * P as usize);
    parent.handle_fault(BASE, WRITE).unwrap();
    let (_ca, child) = fork(&parent);
    fill(&child, BASE, 2, 3 * P as usize);
    fill(&parent, BASE + 4 * P, 3, 2 * P as usize);
    let (_ga, grandchild) = fork(&child);
    fill(&grandchild, BASE + 7 * P, 4, 1);
    assert!(mf.in_use() > baseline);
    drop(parent);
    drop(child);
    assert_eq!(read(&grandchild, BASE, 1), vec![2]);
    assert_eq!(read(&grandchild, BASE + 4 * P, 1), vec![1]);
    drop(grandchild);
    mf.reclaim();
    assert_eq!(mf.in_use(), baseline);
}

#[test]
fn forked_mm_crosses_threads() {
    fn send<T: Send>() {}
    send::<ForkedMm>();
    let (_mf, _a, parent) = setup();
    anon(&parent, BASE, 1, false);
    fill(&parent, BASE, 9, 1);
    let forked = parent.fork().unwrap();
    let child = std::thread::spawn(move || {
        let child = forked.attach(Arc::new(FakeAs::default()));
        read(&child, BASE, 1)
    })
    .join()
    .unwrap();
    assert_eq!(child, vec![9]);
}

/// A trampoline as a platform would give it: the site's `mov`, then the return address.
fn fake_trampoline(setup: &[u8], ret: u64) -> Option<Vec<u8>> {
    let mut code = setup.to_vec();
    code.extend_from_slice(&ret.to_le_bytes());
    Some(code)
}

fn bytes(mm: &MemoryManager, addr: u64, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    mm.copy_in(addr, &mut b).unwrap();
    b
}

const RX: Perms = Perms {
    read: true,
    write: false,
    exec: true,
};

/// `mov $39, %eax; syscall` at CODE+0x10, in a read-only executable mapping.
fn patchable() -> (Arc<MemoryFile>, Arc<FakeAs>, MemoryManager, u64) {
    let (mf, aspace, mm) = setup();
    let code = 0x40_0000;
    anon(&mm, code, 1, false);
    mm.copy_out(code + 0x10, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05]).unwrap();
    mm.mprotect(code, PAGE_SIZE, RX).unwrap();
    (mf, aspace, mm, code + 0x10)
}

#[test]
fn a_site_is_patched_after_its_traps_and_restored_when_made_writable() {
    let (_mf, _aspace, mm, site) = patchable();
    let orig = bytes(&mm, site, 7);
    let mut traps = 1;
    while traps < patch::PATCH_AFTER {
        mm.patch_syscall(site + 7, 39, fake_trampoline);
        assert_eq!(bytes(&mm, site, 7), orig, "not patched before PATCH_AFTER traps");
        traps += 1;
    }
    mm.patch_syscall(site + 7, 39, fake_trampoline);
    let jump = bytes(&mm, site, 7);
    assert_eq!(&jump[..3], &[0xff, 0x24, 0x25], "jmp *abs32");
    let slot = u32::from_le_bytes(jump[3..7].try_into().unwrap()) as u64;
    assert_eq!(slot >> 16, 6, "the slot's third byte is the invalid opcode 0x06");
    // The slot points at the trampoline right after it.
    assert_eq!(bytes(&mm, slot, 8), (slot + 8).to_le_bytes());
    assert_eq!(
        bytes(&mm, slot + 8, 13),
        fake_trampoline(&[0xb8, 39, 0, 0, 0], site + 7).unwrap()
    );
    // The region is not shown to the application.
    assert!(mm.maps().iter().all(|(start, _)| *start != patch::REGION_START));
    // The sentry's restart (rip - 2) and threads that raced with the patching fault on
    // the 0x06 byte: both mean "run the site again".
    assert_eq!(mm.patched_fault(site + 5), Some((site, true)));
    assert_eq!(mm.patched_fault(site), Some((site, false)));
    assert_eq!(mm.patched_fault(site + 1), None);
    // Made writable, the code is the program's again.
    let rwx = Perms {
        read: true,
        write: true,
        exec: true,
    };
    mm.mprotect(site & !(PAGE_SIZE - 1), PAGE_SIZE, rwx).unwrap();
    assert_eq!(bytes(&mm, site, 7), orig);
    assert_eq!(mm.patched_fault(site + 5), None);
    // Writable code is never patched.
    for _ in 0..5 {
        mm.patch_syscall(site + 7, 39, fake_trampoline);
    }
    assert_eq!(bytes(&mm, site, 7), orig);
}

#[test]
fn mapping_over_the_trampoline_region_unpatches_and_removes_it() {
    let (_mf, _aspace, mm, site) = patchable();
    let orig = bytes(&mm, site, 7);
    for _ in 0..patch::PATCH_AFTER {
        mm.patch_syscall(site + 7, 39, fake_trampoline);
    }
    assert_ne!(bytes(&mm, site, 7), orig);
    // MAP_FIXED_NOREPLACE where the region is: the application sees a free range.
    let a = MmapArgs {
        fixed: false,
        noreplace: true,
        ..args(patch::REGION_START, 1, RW, false, None)
    };
    assert_eq!(mm.mmap(a), Ok(patch::REGION_START));
    assert_eq!(bytes(&mm, site, 7), orig, "sites restored");
    assert_eq!(bytes(&mm, patch::REGION_START, 8), [0; 8], "the new mapping is fresh");
    // Patching stays off in this address space.
    for _ in 0..patch::PATCH_AFTER {
        mm.patch_syscall(site + 7, 39, fake_trampoline);
    }
    assert_eq!(bytes(&mm, site, 7), orig);
}

#[test]
fn a_site_that_is_not_the_pattern_or_not_private_code_is_left_alone() {
    let (_mf, _aspace, mm, site) = patchable();
    // Wrong syscall number for the bytes.
    for _ in 0..patch::PATCH_AFTER {
        mm.patch_syscall(site + 7, 40, fake_trampoline);
    }
    assert_eq!(bytes(&mm, site, 2), [0xb8, 39]);
    // A shared executable mapping (writes would reach the file or other processes).
    let shared = 0x50_0000;
    anon(&mm, shared, 1, true);
    mm.copy_out(shared, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05]).unwrap();
    mm.mprotect(shared, PAGE_SIZE, RX).unwrap();
    for _ in 0..patch::PATCH_AFTER {
        mm.patch_syscall(shared + 7, 39, fake_trampoline);
    }
    assert_eq!(bytes(&mm, shared, 1), [0xb8]);
    // A fork keeps the patch state: the child's copy of the site is patched too.
    for _ in 0..patch::PATCH_AFTER {
        mm.patch_syscall(site + 7, 39, fake_trampoline);
    }
    let child = mm.fork().unwrap().attach(Arc::new(FakeAs::default()));
    assert_eq!(bytes(&child, site, 3), [0xff, 0x24, 0x25]);
    assert_eq!(child.patched_fault(site + 5), Some((site, true)));
}

#[test]
fn a_mov_into_an_argument_register_before_syscall_is_patched_too() {
    let (_mf, _aspace, mm) = setup();
    let code = 0x40_0000;
    anon(&mm, code, 1, false);
    // mov $-100, %edi; syscall (openat(AT_FDCWD, ...) with the number in eax before),
    // then mov $5, %ecx; syscall and mov $5, %esp; syscall, which are never patched.
    mm.copy_out(code, &[0xbf, 0x9c, 0xff, 0xff, 0xff, 0x0f, 0x05]).unwrap();
    mm.copy_out(code + 0x20, &[0xb9, 5, 0, 0, 0, 0x0f, 0x05]).unwrap();
    mm.copy_out(code + 0x40, &[0xbc, 5, 0, 0, 0, 0x0f, 0x05]).unwrap();
    mm.mprotect(code, PAGE_SIZE, RX).unwrap();
    for _ in 0..patch::PATCH_AFTER {
        for at in [code, code + 0x20, code + 0x40] {
            mm.patch_syscall(at + 7, 257, fake_trampoline);
        }
    }
    let jump = bytes(&mm, code, 7);
    assert_eq!(&jump[..3], &[0xff, 0x24, 0x25]);
    let slot = u32::from_le_bytes(jump[3..7].try_into().unwrap()) as u64;
    // The trampoline runs the site's own mov.
    assert_eq!(bytes(&mm, slot + 8, 5), [0xbf, 0x9c, 0xff, 0xff, 0xff]);
    assert_eq!(bytes(&mm, code + 0x20, 1), [0xb9]);
    assert_eq!(bytes(&mm, code + 0x40, 1), [0xbc]);
}

/// A freed page is kept for reuse (not returned to the host at once) and is zero again
/// when it is next handed out, whoever wrote it before.
#[test]
fn a_reused_page_is_zeroed() {
    let mf = Arc::new(MemoryFile::new(64 << 20).unwrap());
    let a = mf.alloc_frames(4).unwrap();
    let offs: Vec<u64> = a.iter().map(|f| f.off()).collect();
    for &o in &offs {
        mf.write(o, &[0xa5; PAGE_SIZE as usize]);
    }
    drop(a);
    mf.flush_released();
    let b = mf.alloc_frames(4).unwrap();
    // The same pages come back (kept, not punched), zeroed.
    assert_eq!(b.iter().map(|f| f.off()).collect::<Vec<_>>(), offs);
    for f in &b {
        let mut buf = vec![1u8; PAGE_SIZE as usize];
        mf.read(f.off(), &mut buf);
        assert!(buf.iter().all(|&x| x == 0), "page {:#x} not zeroed", f.off());
    }
    assert_eq!(mf.in_use(), 4 * PAGE_SIZE);
}
