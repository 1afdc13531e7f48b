//! Syscall-site patching (the seccomp platform's fast path): a `mov $imm32, %r32;
//! syscall` site that trapped (`%eax`: the number itself, as glibc's wrappers do; or an
//! argument register, as its `openat(AT_FDCWD, …)` does) is rewritten into `jmp *ABS32`, an indirect jump through a pointer
//! in a small region below 2 GiB (the trampoline region) to a per-site trampoline the
//! platform supplies, which enters the platform without a signal and returns after the
//! site.
//!
//! The region lies at `REGION_START`, so the pointer's address has 0x06 (an invalid
//! opcode in 64-bit mode) as its third byte: that byte of the jump overlays the first
//! byte of the `syscall` instruction. A site is rewritten in three steps (that byte, then
//! the rest but the first, then the first), so a thread running the site at the same
//! time executes either the old sequence, the new jump, or faults on 0x06 (SIGILL),
//! which `restart_at` turns into a retry of the site. The sentry's own syscall restart
//! (`rip -= 2`) lands on that byte too and is handled the same way. Unpatching (when the
//! application takes GS for itself, or maps over the region) runs the steps in reverse.
//!
//! The region is not shown in /proc/PID/maps, and any mapping operation of the
//! application that touches it first unpatches every site and removes it, so the
//! application sees the address space Linux would give it.

use super::{MemoryManager, PAGE_SIZE, Vma, VmaKind};
use platform::Perms;
use std::collections::BTreeMap;

/// Where the trampoline region lies, and its size: every pointer slot address is
/// 0x0006xxxx.
pub const REGION_START: u64 = 0x60000;
pub const REGION_LEN: u64 = 0x10000;
/// One site's slot: an 8-byte pointer to the trampoline that follows it.
const SLOT: u64 = 32;
const MAX_SITES: u64 = REGION_LEN / SLOT;
/// `mov $imm32, %eax` and `syscall`.
const MOV_EAX: u8 = 0xb8;
const SYSCALL: [u8; 2] = [0x0f, 0x05];
/// `jmp *disp32` (absolute, no base).
const JMP_ABS: [u8; 3] = [0xff, 0x24, 0x25];
const BAD_OPCODE: u8 = 0x06;
/// Syscall numbers worth a trampoline (the x86-64 table and a margin).
const MAX_NR: u64 = 1024;
/// A site is patched at its this-many-th trap: patching costs a copy of the code page
/// and a remap, which a site a process runs once or twice (start-up) never pays back.
pub(super) const PATCH_AFTER: u32 = 1;
/// Sites whose traps are counted (per address space).
const MAX_SEEN: usize = 4096;
const NEVER: u32 = u32::MAX;

/// What an application mapping operation does to the code under patched sites.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evict {
    /// The mapping goes (munmap, a fixed mmap over it, mremap, discarded pages).
    Gone,
    /// It becomes writable.
    Writable,
    /// Its code stays as it is.
    Keep,
}

/// The patching state of one address space (copied on fork).
#[derive(Clone, Debug, Default)]
pub struct Patches {
    /// The trampoline region exists (at `REGION_START`).
    region: bool,
    /// Patched sites: address → (original bytes, slot address). Kept after unpatching,
    /// so faults of threads that raced with it are still recognised.
    sites: BTreeMap<u64, ([u8; 7], u64)>,
    next_slot: u64,
    /// Traps seen at sites not patched yet (at most `MAX_SEEN`); `NEVER` for a site
    /// whose code is not the pattern (glibc's `syscall()`, say), not looked at again.
    seen: BTreeMap<u64, u32>,
    /// No more patching here (the application uses GS, or mapped over the region).
    disabled: bool,
}

fn jump_to(slot: u64) -> [u8; 7] {
    let a = (slot as u32).to_le_bytes();
    [JMP_ABS[0], JMP_ABS[1], JMP_ABS[2], a[0], a[1], a[2], a[3]]
}

/// Whether `code` is `mov $imm32, %r32; syscall` for a syscall numbered `nr`: into
/// `%eax` (then the immediate is `nr`), or into `%edx`, `%ebx`, `%ebp`, `%esi` or `%edi`
/// (the number came in `%eax` before). Not `%ecx` or `%esp`.
fn patchable(code: &[u8; 7], nr: u32) -> bool {
    if code[5..] != SYSCALL {
        return false;
    }
    match code[0] {
        MOV_EAX => code[1..5] == nr.to_le_bytes(),
        0xba | 0xbb | 0xbd | 0xbe | 0xbf => true,
        _ => false,
    }
}

impl MemoryManager {
    pub(super) fn patches(&self) -> std::sync::MutexGuard<'_, Patches> {
        self.patches.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Patches the site of a syscall that just trapped: `ret` is the address after its
    /// `syscall` instruction, `nr` its number; `trampoline` makes the trampoline's code
    /// (the platform's) from the instruction to run first and the return address. Does
    /// nothing unless the 7 bytes before `ret` are a patchable `mov $imm32, %r32;
    /// syscall` in one private, executable, read-only mapping.
    pub fn patch_syscall(
        &self,
        ret: u64,
        nr: u64,
        trampoline: impl Fn(&[u8], u64) -> Option<Vec<u8>>,
    ) {
        if nr >= MAX_NR || ret < 7 {
            return;
        }
        let site = ret - 7;
        let nr = nr as u32;
        let mut p = self.patches();
        if p.disabled
            || p.sites.contains_key(&site)
            || p.next_slot >= MAX_SITES
            || p.seen.get(&site) == Some(&NEVER)
        {
            return;
        }
        let full = p.seen.len() >= MAX_SEEN;
        let mut code = [0u8; 7];
        let read = self.copy_in(site, &mut code).is_ok();
        if !read || !patchable(&code, nr) {
            // Not the pattern at all: not looked at again. (The pattern with another
            // number is a restart through restart_syscall: the site may still be.)
            let pattern = code[0] == MOV_EAX && code[5..] == SYSCALL;
            if !(full || read && pattern) {
                p.seen.insert(site, NEVER);
            }
            return;
        }
        match p.seen.get_mut(&site) {
            Some(n) if *n + 1 >= PATCH_AFTER => {
                p.seen.remove(&site);
            }
            Some(n) => {
                *n += 1;
                return;
            }
            None if full || PATCH_AFTER > 1 => {
                if !full {
                    p.seen.insert(site, 1);
                }
                return;
            }
            None => {}
        }
        {
            let s = self.lock();
            let ok = match (s.find(site), s.find(ret - 1)) {
                (Some((a, v)), Some((b, _))) => {
                    a == b
                        && v.perms.exec
                        && !v.perms.write
                        && !v.shared
                        && v.kind != VmaKind::Patch
                }
                _ => false,
            };
            if !ok {
                return;
            }
        }
        if !p.region && !self.make_region() {
            p.disabled = true;
            return;
        }
        p.region = true;
        let slot = REGION_START + p.next_slot * SLOT;
        // The trampoline runs the site's `mov` itself, then enters the platform.
        let Some(tramp) = trampoline(&code[..5], ret) else {
            return;
        };
        if tramp.len() as u64 > SLOT - 8 {
            return;
        }
        let mut entry = (slot + 8).to_le_bytes().to_vec();
        entry.extend_from_slice(&tramp);
        if self.write_force(slot, &entry).is_err() {
            return;
        }
        p.next_slot += 1;
        let jump = jump_to(slot);
        debug_assert_eq!(jump[5], BAD_OPCODE);
        // Three steps, so that a thread running the site meanwhile sees no torn
        // instruction (module documentation).
        // Recorded first: a thread that faults on a half-written site is recognised.
        p.sites.insert(site, (code, slot));
        let steps: [(u64, &[u8]); 3] = [
            (site + 5, &[BAD_OPCODE]),
            (site + 1, &jump[1..]),
            (site, &jump[..1]),
        ];
        for (at, bytes) in steps {
            if self.write_force(at, bytes).is_err() {
                // (The memory file is full.) Put the original bytes back, byte 5 last.
                let _ = self.write_force(site, &code[..5]);
                let _ = self.write_force(site + 5, &code[5..]);
                return;
            }
        }
    }

    /// Maps the trampoline region (private, read and execute), if the range is free.
    fn make_region(&self) -> bool {
        let mut s = self.lock();
        if REGION_START < self.min_addr || s.overlaps(REGION_START, REGION_START + REGION_LEN) {
            return false;
        }
        s.insert(
            REGION_START,
            Vma {
                end: REGION_START + REGION_LEN,
                perms: Perms {
                    read: true,
                    write: false,
                    exec: true,
                },
                kind: VmaKind::Patch,
                shared: false,
                growsdown: false,
                file: None,
                dontfork: false,
                wipeonfork: false,
            },
        );
        true
    }

    /// Restores every patched site that still holds its jump and stops patching in this
    /// address space. With `remove_region`, the trampoline region goes too.
    pub fn unpatch_all(&self, remove_region: bool) {
        let mut p = self.patches();
        p.disabled = true;
        for (&site, &(orig, slot)) in &p.sites {
            self.restore_site(site, orig, slot);
        }
        if remove_region && p.region {
            p.region = false;
            let mut s = self.lock();
            let _ = self.remove_range(&mut s, REGION_START, REGION_START + REGION_LEN);
        }
    }

    /// Puts back the original bytes of `site` if it still holds the jump to `slot`.
    fn restore_site(&self, site: u64, orig: [u8; 7], slot: u64) {
        let mut code = [0u8; 7];
        if self.copy_in(site, &mut code).is_err() || code != jump_to(slot) {
            return;
        }
        let steps: [(u64, &[u8]); 3] = [
            (site, &[BAD_OPCODE]),
            (site + 1, &orig[1..]),
            (site, &orig[..1]),
        ];
        for (at, bytes) in steps {
            if self.write_force(at, bytes).is_err() {
                break;
            }
        }
    }

    /// Before an application mapping operation on `[start, end)`: if it touches the
    /// trampoline region, the sites are unpatched and the region removed first. Sites in
    /// the range are forgotten when their code goes (`Evict::Gone`), and restored first
    /// when it becomes writable (`Evict::Writable`: a program that rewrites its code sees
    /// and edits the original bytes).
    pub(super) fn evict_patches(&self, start: u64, end: u64, how: Evict) {
        let (region, any) = {
            let p = self.patches();
            let lo = start.saturating_sub(6);
            let any = p.sites.range(lo..end).next().is_some()
                || p.seen.range(lo..end).next().is_some();
            (p.region, any)
        };
        if region && start < REGION_START + REGION_LEN && end > REGION_START {
            self.unpatch_all(true);
        }
        if !any || how == Evict::Keep {
            return;
        }
        let mut p = self.patches();
        let lo = start.saturating_sub(6);
        let sites: Vec<(u64, ([u8; 7], u64))> =
            p.sites.range(lo..end).map(|(k, v)| (*k, *v)).collect();
        for (site, (orig, slot)) in sites {
            if how == Evict::Writable {
                self.restore_site(site, orig, slot);
            }
            p.sites.remove(&site);
        }
        let seen: Vec<u64> = p.seen.range(lo..end).map(|(k, _)| *k).collect();
        for site in seen {
            p.seen.remove(&site);
        }
    }

    /// A SIGILL at `addr`: if it is the first byte of a patched site (being unpatched)
    /// or the invalid opcode inside one (a thread that raced with the patching, or a
    /// syscall restart), the site to run again and whether `addr` was the inner byte.
    pub fn patched_fault(&self, addr: u64) -> Option<(u64, bool)> {
        let p = self.patches();
        if p.sites.contains_key(&addr) {
            return Some((addr, false));
        }
        let site = addr.checked_sub(5)?;
        p.sites.contains_key(&site).then_some((site, true))
    }
}

const _: () = assert!(REGION_START.is_multiple_of(PAGE_SIZE) && REGION_LEN.is_multiple_of(PAGE_SIZE));
const _: () = assert!((REGION_START + REGION_LEN - 1) >> 16 == 6);
