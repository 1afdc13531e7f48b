//! The page tables of one address space: user mappings in a tree under a master PML4
//! (never loaded), and per vCPU that runs the address space a root of its own — a PML4
//! whose lower half repeats the master's entries and whose stub slot maps the stub,
//! the GDT/TSS/IDT page and that vCPU's save area page.
//!
//! Shadow-paging rules (see `memory`): table pages and upper-level entries are only
//! ever added while the address space lives; a leaf entry that is removed, narrowed or
//! pointed elsewhere gets its old page invalidated through the MMU notifier.

use super::Vm;
use super::memory::PAGE;
use super::stub;
use crate::{Perms, PlatformError, Result};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

const P: u64 = 1;
const W: u64 = 2;
const U: u64 = 4;
const A: u64 = 0x20;
const D: u64 = 0x40;
const NX: u64 = 1 << 63;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
/// Flags of a non-leaf entry: everything below decides.
const TABLE: u64 = P | W | U | A;

/// The pages of one vCPU's root.
#[derive(Clone, Copy, Debug)]
pub struct Root {
    pub pml4: u64,
    pub data: u64,
    kernel: [u64; 3],
}

pub struct AsTables {
    vm: Arc<Vm>,
    inner: Mutex<Inner>,
}

struct Inner {
    master: u64,
    /// Every user table page below the master (PDPTs, PDs, PTs).
    pages: Vec<u64>,
    roots: HashMap<u32, Root>,
}

impl AsTables {
    pub fn new(vm: Arc<Vm>) -> Result<AsTables> {
        let master = vm.mem.alloc_page(&vm.fd)?;
        Ok(AsTables {
            vm,
            inner: Mutex::new(Inner {
                master,
                pages: Vec::new(),
                roots: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The root of vCPU `vcpu` in this address space, made on first use.
    pub fn root(&self, vcpu: u32) -> Result<Root> {
        let mut inner = self.lock();
        if let Some(r) = inner.roots.get(&vcpu) {
            return Ok(*r);
        }
        let mem = &self.vm.mem;
        let mut pages = [0u64; 5];
        for (i, p) in pages.iter_mut().enumerate() {
            match mem.alloc_page(&self.vm.fd) {
                Ok(g) => *p = g,
                Err(e) => {
                    for &g in &pages[..i] {
                        mem.free_page(g);
                    }
                    return Err(e);
                }
            }
        }
        let [pml4, pdpt, pd, pt, data] = pages;
        let master = mem.table(inner.master);
        let t = mem.table(pml4);
        for i in 0..256 {
            t[i].store(master[i].load(Ordering::SeqCst), Ordering::SeqCst);
        }
        let slot = |va: u64, shift: u32| ((va >> shift) & 511) as usize;
        t[slot(stub::KBASE, 39)].store(pdpt | TABLE, Ordering::SeqCst);
        mem.table(pdpt)[slot(stub::KBASE, 30)].store(pd | TABLE, Ordering::SeqCst);
        mem.table(pd)[slot(stub::KBASE, 21)].store(pt | TABLE, Ordering::SeqCst);
        let leaf = mem.table(pt);
        let base = slot(stub::KBASE, 12);
        for i in 0..stub::CODE_PAGES {
            let gpa = self.vm.code_gpa + i * PAGE;
            leaf[base + i as usize].store(gpa | P | U | A, Ordering::SeqCst);
        }
        let sys = slot(stub::SYS_VA, 12);
        leaf[sys].store(self.vm.sys_gpa | P | U | A | NX, Ordering::SeqCst);
        let d = slot(stub::DATA_VA, 12);
        leaf[d].store(data | P | W | U | A | D | NX, Ordering::SeqCst);
        let root = Root {
            pml4,
            data,
            kernel: [pdpt, pd, pt],
        };
        inner.roots.insert(vcpu, root);
        Ok(root)
    }

    /// The page table (level 1) covering `va`, made if `create`; or, if absent, the
    /// next address that may have one.
    fn leaf_table(
        &self,
        inner: &mut Inner,
        va: u64,
        create: bool,
    ) -> Result<std::result::Result<u64, u64>> {
        let mem = &self.vm.mem;
        let mut table = inner.master;
        for shift in [39u32, 30, 21] {
            let idx = ((va >> shift) & 511) as usize;
            let entry = mem.table(table)[idx].load(Ordering::SeqCst);
            table = if entry & P != 0 {
                entry & ADDR
            } else if create {
                let page = mem.alloc_page(&self.vm.fd)?;
                inner.pages.push(page);
                mem.table(table)[idx].store(page | TABLE, Ordering::SeqCst);
                if shift == 39 {
                    for r in inner.roots.values() {
                        mem.table(r.pml4)[idx].store(page | TABLE, Ordering::SeqCst);
                    }
                }
                page
            } else {
                let step = 1u64 << shift;
                return Ok(Err((va & !(step - 1)).saturating_add(step)));
            };
        }
        Ok(Ok(table))
    }

    /// Sets the leaf entries of `[addr, addr+len)` to `entry(i)` for page `i` (or clears
    /// them, with `None` from `entry` and `create` false), then invalidates every page
    /// an old entry allowed more on.
    fn update(&self, addr: u64, len: u64, create: bool, entry: impl Fn(u64) -> u64) -> Result<()> {
        let mem = &self.vm.mem;
        let end = addr
            .checked_add(len)
            .ok_or_else(|| PlatformError::Unsupported("kvm: range overflows".into()))?;
        let mut stale: Vec<u64> = Vec::new();
        {
            let mut inner = self.lock();
            let mut va = addr;
            while va < end {
                let pt = match self.leaf_table(&mut inner, va, create)? {
                    Ok(pt) => pt,
                    Err(next) => {
                        va = next;
                        continue;
                    }
                };
                let table = mem.table(pt);
                let stop = ((va | ((1 << 21) - 1)) + 1).min(end);
                while va < stop {
                    let new = entry((va - addr) / PAGE);
                    let old = table[((va >> 12) & 511) as usize].swap(new, Ordering::SeqCst);
                    if old & P != 0
                        && (new & P == 0
                            || old & ADDR != new & ADDR
                            || (old & W != 0 && new & W == 0)
                            || (old & NX == 0 && new & NX != 0))
                    {
                        stale.push(old & ADDR);
                    }
                    va += PAGE;
                }
            }
        }
        // Invalidate in runs of contiguous pages.
        stale.sort_unstable();
        let mut i = 0;
        while i < stale.len() {
            let start = stale[i];
            let mut next = start + PAGE;
            i += 1;
            while i < stale.len() && stale[i] <= next {
                next = next.max(stale[i] + PAGE);
                i += 1;
            }
            mem.invalidate_file(start, next - start);
        }
        Ok(())
    }

    pub fn map(&self, addr: u64, len: u64, file_offset: u64, perms: Perms) -> Result<()> {
        self.vm.mem.ensure_file(&self.vm.fd, file_offset, len)?;
        if perms == Perms::NONE {
            return self.update(addr, len, false, |_| 0);
        }
        let mut flags = P | U | A;
        if perms.write {
            flags |= W | D;
        }
        if !perms.exec {
            flags |= NX;
        }
        self.update(addr, len, true, |i| (file_offset + i * PAGE) | flags)
    }

    pub fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        self.update(addr, len, false, |_| 0)
    }
}

impl Drop for AsTables {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        let mem = &self.vm.mem;
        for &p in &inner.pages {
            mem.free_page(p);
        }
        for r in inner.roots.values() {
            for p in [r.pml4, r.data].iter().chain(r.kernel.iter()) {
                mem.free_page(*p);
            }
        }
        mem.free_page(inner.master);
    }
}
