//! poll(2), ppoll(2), select(2), pselect6(2): wait until one of several files is ready.
//! Readiness is each file's `FileOps::poll`; the wait registers on every file's wait
//! queue (`wait::wait_until`). As Linux (fs/select.c): poll resumes through
//! restart_syscall(2) with its deadline after a signal without handler and fails with
//! EINTR after a handler; ppoll/select/pselect6 restart with the time left, which they
//! write back to the caller's timeout (except a zero one) whatever the result.
//!
//! Host files (the sandbox's stdio) have no wakeups in the sentry yet: a wait that
//! involves one looks at it again every `HOST_RECHECK`.

use crate::task::{RestartBlock, Task};
use crate::vfs::epoll;
use crate::vfs::file::FileDescription;
use crate::wait::{self, WaitError, WaitQueue};
use std::sync::Arc;
use std::time::{Duration, Instant};
use syscalls_table::Errno;

const POLLIN: u32 = libc::POLLIN as u32;
const POLLPRI: u32 = libc::POLLPRI as u32;
const POLLOUT: u32 = libc::POLLOUT as u32;
const POLLERR: u32 = libc::POLLERR as u32;
const POLLHUP: u32 = libc::POLLHUP as u32;
const POLLNVAL: u32 = libc::POLLNVAL as u32;
const POLLRDNORM: u32 = libc::POLLRDNORM as u32;
const POLLRDBAND: u32 = libc::POLLRDBAND as u32;
const POLLWRNORM: u32 = libc::POLLWRNORM as u32;
const POLLWRBAND: u32 = libc::POLLWRBAND as u32;
/// What select(2) counts as readable, writable and exceptional (fs/select.c): a file
/// that cannot be polled (POLLNVAL: an O_PATH descriptor) is all three.
const POLLIN_SET: u32 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR | POLLNVAL;
const POLLOUT_SET: u32 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR | POLLNVAL;
const POLLEX_SET: u32 = POLLPRI | POLLNVAL;

/// How often a wait that involves host files looks at them again: the sentry gets no
/// notification from the host for them yet (a bounded re-check, for host files only).
const HOST_RECHECK: Duration = Duration::from_millis(10);

/// A wait's timeout as Linux's poll_select_set_timeout makes it: none, zero (no wait,
/// and no time left to write back), or a deadline.
#[derive(Clone, Copy)]
pub(crate) struct Timeout {
    pub deadline: Option<Instant>,
    zero: bool,
}

impl Timeout {
    pub const INFINITE: Timeout = Timeout {
        deadline: None,
        zero: false,
    };

    /// EINVAL unless 0 ≤ nsec < 10^9 and sec ≥ 0.
    pub fn new(sec: i64, nsec: i64) -> Result<Timeout, Errno> {
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        let now = Instant::now();
        if sec == 0 && nsec == 0 {
            return Ok(Timeout {
                deadline: Some(now),
                zero: true,
            });
        }
        let d = Duration::new(sec as u64, nsec as u32);
        Ok(Timeout {
            deadline: Some(
                now.checked_add(d)
                    .unwrap_or_else(|| now + Duration::from_secs(1 << 40)),
            ),
            zero: false,
        })
    }

    /// A timeout in milliseconds (poll, epoll_wait): negative waits forever.
    pub fn from_ms(ms: i32) -> Timeout {
        if ms < 0 {
            return Timeout::INFINITE;
        }
        Timeout::new(i64::from(ms) / 1000, i64::from(ms) % 1000 * 1_000_000)
            .unwrap_or(Timeout::INFINITE)
    }

    pub fn is_zero(&self) -> bool {
        self.zero
    }
}

/// The wait queues of the files a wait looks at (each once), and whether a host file
/// is among them (directly or under an epoll instance).
#[derive(Default)]
pub(crate) struct Watch {
    queues: Vec<Arc<WaitQueue>>,
    recheck: bool,
}

impl Watch {
    pub fn add(&mut self, f: &FileDescription) {
        if let Some(q) = f.ops.wait_queue()
            && !self.queues.iter().any(|x| Arc::ptr_eq(x, &q))
        {
            self.queues.push(q);
        }
        if f.ops.host_fd().is_some() || epoll::of(f).is_some_and(|ep| ep.needs_polling()) {
            self.recheck = true;
        }
    }

    /// `wait::wait_until` on the queues; with host files, in steps of HOST_RECHECK.
    pub fn wait<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, WaitError> {
        let qs: Vec<&WaitQueue> = self.queues.iter().map(|q| &**q).collect();
        if !self.recheck {
            return wait::wait_until(&qs, deadline, ready);
        }
        loop {
            let step = Instant::now() + HOST_RECHECK;
            let d = match deadline {
                Some(d) if d <= step => d,
                _ => step,
            };
            match wait::wait_until(&qs, Some(d), &mut ready) {
                Err(WaitError::TimedOut) if deadline.is_none_or(|dl| Instant::now() < dl) => {}
                r => return r,
            }
        }
    }
}

fn read_pair(t: &Task, addr: u64) -> Result<(i64, i64), Errno> {
    let mut b = [0u8; 16];
    t.mm.copy_in(addr, &mut b)?;
    Ok((
        i64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
        i64::from_le_bytes(b[8..].try_into().unwrap_or_default()),
    ))
}

/// A `struct timespec` timeout argument.
pub(crate) fn read_timespec_timeout(t: &Task, addr: u64) -> Result<Timeout, Errno> {
    let (sec, nsec) = read_pair(t, addr)?;
    Timeout::new(sec, nsec)
}

/// Reads a sigset argument and makes it the temporary mask (set_user_sigmask): EINVAL
/// unless `size` is 8. Returns the mask to restore.
pub(crate) fn set_user_sigmask(t: &mut Task, addr: u64, size: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    t.mm.copy_in(addr, &mut b)?;
    let old = t.sig.mask;
    t.set_mask(u64::from_le_bytes(b));
    Ok(Some(old))
}

/// After a call with a temporary mask: the old mask comes back now, unless the call
/// ends by a signal delivery (`interrupted`), after which it comes back once the
/// signal's frame saved it (restore_saved_sigmask_unless).
pub(crate) fn restore_sigmask(t: &mut Task, old: Option<u64>, interrupted: bool) {
    let Some(old) = old else { return };
    if interrupted {
        t.saved_mask = Some(old);
    } else {
        t.set_mask(old);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    Timeval,
    Timespec,
}

/// Writes the time left back to the caller's timeout (poll_select_finish): not for a
/// zero timeout; if it cannot be written, a restart becomes EINTR.
fn finish(
    t: &Task,
    to: Option<Timeout>,
    addr: u64,
    kind: TimeKind,
    r: Result<u64, Errno>,
) -> Result<u64, Errno> {
    let Some(to) = to else { return r };
    if to.zero {
        return r;
    }
    let left = to.deadline.map_or(Duration::ZERO, |d| {
        d.saturating_duration_since(Instant::now())
    });
    let frac = match kind {
        TimeKind::Timeval => left.subsec_micros() as i64,
        TimeKind::Timespec => left.subsec_nanos() as i64,
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(left.as_secs() as i64).to_le_bytes());
    b[8..].copy_from_slice(&frac.to_le_bytes());
    if t.mm.copy_out(addr, &b).is_ok() {
        return r;
    }
    match r {
        Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
        r => r,
    }
}

/// The file behind `fd` for polling: None for a closed descriptor or an O_PATH one
/// (both POLLNVAL).
fn poll_file(t: &Task, fd: i32) -> Option<Arc<FileDescription>> {
    let f = t.fds().get(fd as u64).ok()?;
    (!f.is_path_only()).then_some(f)
}

/// do_sys_poll: polls the `nfds` entries at `ufds` until one has events, the deadline
/// or a signal (ERESTARTNOHAND). revents are written back in every case.
fn do_poll(t: &mut Task, ufds: u64, nfds: u64, deadline: Option<Instant>) -> Result<u64, Errno> {
    if nfds > t.rlimit(libc::RLIMIT_NOFILE as usize) {
        return Err(Errno::EINVAL);
    }
    let mut raw = Vec::new();
    raw.try_reserve_exact(nfds as usize * 8)
        .map_err(|_| Errno::ENOMEM)?;
    raw.resize(nfds as usize * 8, 0);
    t.mm.copy_in(ufds, &mut raw)?;
    // (fd, events, file): fd < 0 is skipped; a missing file is POLLNVAL.
    let mut entries = Vec::with_capacity(nfds as usize);
    let mut watch = Watch::default();
    for e in raw.chunks_exact(8) {
        let fd = i32::from_le_bytes(e[..4].try_into().unwrap_or_default());
        let events = u16::from_le_bytes(e[4..6].try_into().unwrap_or_default()) as u32;
        let f = if fd >= 0 { poll_file(t, fd) } else { None };
        if let Some(f) = &f {
            watch.add(f);
        }
        entries.push((fd, events, f));
    }
    let mut revents = vec![0u16; entries.len()];
    let scan = |revents: &mut Vec<u16>| -> usize {
        let mut count = 0;
        for (i, (fd, events, f)) in entries.iter().enumerate() {
            let m = match f {
                _ if *fd < 0 => 0,
                None => POLLNVAL,
                Some(f) => f.ops.poll() & (events | POLLERR | POLLHUP),
            };
            revents[i] = m as u16;
            if m != 0 {
                count += 1;
            }
        }
        count
    };
    let r = watch.wait(deadline, || {
        let n = scan(&mut revents);
        (n > 0).then_some(n)
    });
    let r = match r {
        Ok(n) => Ok(n as u64),
        Err(WaitError::TimedOut) => Ok(0),
        Err(WaitError::Interrupted) => Err(Errno::ERESTARTNOHAND),
    };
    // Only revents change; the rest is written back as it was read.
    for (e, rev) in raw.chunks_exact_mut(8).zip(&revents) {
        e[6..8].copy_from_slice(&rev.to_le_bytes());
    }
    t.mm.copy_out(ufds, &raw)?;
    r
}

/// poll(2). Interrupted, it resumes through restart_syscall(2) with the same deadline
/// (or fails with EINTR after a handler).
pub fn poll(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (ufds, nfds) = (a[0], a[1] as u32 as u64);
    let to = Timeout::from_ms(a[2] as i32);
    restart_poll(t, ufds, nfds, to.deadline)
}

/// poll(2) and its restart (do_restart_poll).
pub fn restart_poll(
    t: &mut Task,
    ufds: u64,
    nfds: u64,
    deadline: Option<Instant>,
) -> Result<u64, Errno> {
    match do_poll(t, ufds, nfds, deadline) {
        Err(Errno::ERESTARTNOHAND) => {
            t.restart_block = Some(RestartBlock::Poll {
                ufds,
                nfds,
                deadline,
            });
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
        r => r,
    }
}

/// ppoll(2).
pub fn ppoll(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (ufds, nfds, tsp, sigmask, size) = (a[0], a[1] as u32 as u64, a[2], a[3], a[4]);
    let to = if tsp != 0 {
        Some(read_timespec_timeout(t, tsp)?)
    } else {
        None
    };
    let old = set_user_sigmask(t, sigmask, size)?;
    let r = do_poll(t, ufds, nfds, to.and_then(|to| to.deadline));
    restore_sigmask(t, old, r == Err(Errno::ERESTARTNOHAND));
    finish(t, to, tsp, TimeKind::Timespec, r)
}

/// Linux's fd table size for a table whose highest descriptor is `highest`: 64 slots,
/// then powers of two from 128 (alloc_fdtable). select(2) looks at no more descriptors
/// than that. (Linux's table never shrinks; this one is computed from the descriptors
/// open now.)
fn max_fds(highest: Option<i32>) -> usize {
    match highest {
        Some(h) if h >= 64 => ((h as usize) + 1).next_power_of_two().max(128),
        _ => 64,
    }
}

/// core_sys_select: `n` descriptors of the three sets at `ptrs` (0: none).
fn core_select(t: &mut Task, n: i32, ptrs: [u64; 3], to: Option<Timeout>) -> Result<u64, Errno> {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let table = t.fds().list();
    let n = (n as usize).min(max_fds(table.last().map(|(fd, _)| *fd)));
    let words = n.div_ceil(64);
    let mut sets = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (set, &p) in sets.iter_mut().zip(&ptrs) {
        if p == 0 || words == 0 {
            continue;
        }
        let mut b = vec![0u8; words * 8];
        t.mm.copy_in(p, &mut b)?;
        for (w, c) in set.iter_mut().zip(b.chunks_exact(8)) {
            *w = u64::from_le_bytes(c.try_into().unwrap_or_default());
        }
        if !n.is_multiple_of(64) {
            set[words - 1] &= (1u64 << (n % 64)) - 1;
        }
    }
    // Every descriptor asked about must be open (max_select_fd).
    let open: std::collections::BTreeMap<i32, Arc<FileDescription>> = table.into_iter().collect();
    let mut files: Vec<(usize, Option<Arc<FileDescription>>)> = Vec::new();
    let mut watch = Watch::default();
    for fd in 0..n {
        let bit = 1u64 << (fd % 64);
        if sets.iter().all(|s| s[fd / 64] & bit == 0) {
            continue;
        }
        let f = open.get(&(fd as i32)).ok_or(Errno::EBADF)?;
        // An O_PATH descriptor is open but cannot be polled (POLLNVAL).
        let f = (!f.is_path_only()).then(|| f.clone());
        if let Some(f) = &f {
            watch.add(f);
        }
        files.push((fd, f));
    }
    let scan = || -> Option<(u64, [Vec<u64>; 3])> {
        let mut res = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
        let mut count = 0;
        for (fd, f) in &files {
            let mask = f.as_ref().map_or(POLLNVAL, |f| f.ops.poll());
            let (w, bit) = (fd / 64, 1u64 << (fd % 64));
            for (k, want) in [POLLIN_SET, POLLOUT_SET, POLLEX_SET].iter().enumerate() {
                if sets[k][w] & bit != 0 && mask & want != 0 {
                    res[k][w] |= bit;
                    count += 1;
                }
            }
        }
        (count > 0).then_some((count, res))
    };
    let (count, res) = match watch.wait(to.and_then(|to| to.deadline), scan) {
        Ok(r) => r,
        Err(WaitError::TimedOut) => (0, [vec![0u64; words], vec![0u64; words], vec![0u64; words]]),
        Err(WaitError::Interrupted) => return Err(Errno::ERESTARTNOHAND),
    };
    for (set, &p) in res.iter().zip(&ptrs) {
        if p == 0 || words == 0 {
            continue;
        }
        let b: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
        t.mm.copy_out(p, &b)?;
    }
    Ok(count)
}

/// select(2). The timeval is normalised as Linux does (microseconds past a second
/// carry into the seconds) and updated with the time left.
pub fn select(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (n, tvp) = (a[0] as i32, a[4]);
    let to = if tvp != 0 {
        let (sec, usec) = read_pair(t, tvp)?;
        Some(Timeout::new(
            sec.wrapping_add(usec / 1_000_000),
            (usec % 1_000_000) * 1000,
        )?)
    } else {
        None
    };
    let r = core_select(t, n, [a[1], a[2], a[3]], to);
    finish(t, to, tvp, TimeKind::Timeval, r)
}

/// pselect6(2): the sixth argument points to {sigset pointer, sigset size}.
pub fn pselect6(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (n, tsp, sig) = (a[0] as i32, a[4], a[5]);
    let (mask, size) = if sig != 0 {
        read_pair(t, sig).map(|(p, s)| (p as u64, s as u64))?
    } else {
        (0, 0)
    };
    let to = if tsp != 0 {
        Some(read_timespec_timeout(t, tsp)?)
    } else {
        None
    };
    let old = set_user_sigmask(t, mask, size)?;
    let r = core_select(t, n, [a[1], a[2], a[3]], to);
    restore_sigmask(t, old, r == Err(Errno::ERESTARTNOHAND));
    finish(t, to, tsp, TimeKind::Timespec, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_table_sizes() {
        assert_eq!(max_fds(None), 64);
        assert_eq!(max_fds(Some(63)), 64);
        assert_eq!(max_fds(Some(64)), 128);
        assert_eq!(max_fds(Some(127)), 128);
        assert_eq!(max_fds(Some(128)), 256);
        assert_eq!(max_fds(Some(300)), 512);
    }

    #[test]
    fn timeouts() {
        assert!(Timeout::new(-1, 0).is_err());
        assert!(Timeout::new(0, 1_000_000_000).is_err());
        assert!(Timeout::new(0, 0).unwrap().is_zero());
        assert!(Timeout::from_ms(-1).deadline.is_none());
    }
}
