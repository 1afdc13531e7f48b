//! epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2), epoll_pwait(2),
//! epoll_pwait2(2). The instance is `vfs::epoll::EventPoll`; the handlers check the
//! arguments in Linux's order (fs/eventpoll.c) and copy events out. epoll_wait is never
//! restarted: a signal makes it fail with EINTR (signal(7)).

use super::sys_poll::{Timeout, Watch, read_timespec_timeout, restore_sigmask, set_user_sigmask};
use crate::task::Task;
use crate::vfs::anon::AnonInode;
use crate::vfs::epoll::{self, Ctl, EventPoll};
use crate::vfs::file::{FileDescription, O_RDWR};
use crate::wait::WaitError;
use std::sync::Arc;
use syscalls_table::Errno;

const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;
/// sizeof(struct epoll_event): packed on x86-64.
const EVENT_SIZE: u64 = 12;
/// EP_MAX_EVENTS.
const MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;
/// The events EPOLLEXCLUSIVE may come with (EPOLLEXCLUSIVE_OK_BITS).
const EXCLUSIVE_OK_BITS: u32 = epoll::EPOLLIN
    | epoll::EPOLLOUT
    | epoll::EPOLLERR
    | epoll::EPOLLHUP
    | epoll::EPOLLWAKEUP
    | epoll::EPOLLET
    | epoll::EPOLLEXCLUSIVE;
/// The end of the user address range (access_ok).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;

fn install(t: &Task, cloexec: bool) -> Result<u64, Errno> {
    let inode = AnonInode::new(t.creds.uid, t.creds.gid);
    let file = FileDescription::anonymous(
        EventPoll::new(),
        inode,
        O_RDWR,
        b"anon_inode:[eventpoll]".to_vec(),
    );
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, cloexec, lim)
}

/// epoll_create(2): `size` must be positive and is otherwise ignored.
pub fn epoll_create(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if (a[0] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    install(t, false)
}

/// epoll_create1(2).
pub fn epoll_create1(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let flags = a[0] as i32;
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install(t, flags & libc::EPOLL_CLOEXEC != 0)
}

/// A descriptor as fdget sees it: O_PATH descriptors are not there (EBADF).
fn get_file(t: &Task, fd: u64) -> Result<Arc<FileDescription>, Errno> {
    let f = t.fds().get(fd)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// epoll_ctl(2).
pub fn epoll_ctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (epfd, op, fd, uev) = (a[0] as i32, a[1] as i32, a[2] as i32, a[3]);
    let has_event = op != EPOLL_CTL_DEL;
    let (mut events, data) = if has_event {
        let mut b = [0u8; 12];
        t.mm.copy_in(uev, &mut b)?;
        (
            u32::from_le_bytes(b[..4].try_into().unwrap_or_default()),
            u64::from_le_bytes(b[4..].try_into().unwrap_or_default()),
        )
    } else {
        (0, 0)
    };
    let f = get_file(t, epfd as u64)?;
    let tf = get_file(t, fd as u64)?;
    if !epoll::can_poll(&tf) {
        return Err(Errno::EPERM);
    }
    // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND; without it the flag is dropped silently.
    if has_event && !t.capable(crate::caps::CAP_BLOCK_SUSPEND) {
        events &= !epoll::EPOLLWAKEUP;
    }
    let Some(ep) = epoll::of(&f) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(&f, &tf) {
        return Err(Errno::EINVAL);
    }
    if has_event && events & epoll::EPOLLEXCLUSIVE != 0 {
        if op == EPOLL_CTL_MOD {
            return Err(Errno::EINVAL);
        }
        if op == EPOLL_CTL_ADD && (epoll::of(&tf).is_some() || events & !EXCLUSIVE_OK_BITS != 0) {
            return Err(Errno::EINVAL);
        }
    }
    let op = match op {
        EPOLL_CTL_ADD => Ctl::Add,
        EPOLL_CTL_DEL => Ctl::Del,
        EPOLL_CTL_MOD => Ctl::Mod,
        _ => return Err(Errno::EINVAL),
    };
    ep.ctl(op, &tf, fd, events, data).map(|_| 0)
}

/// do_epoll_wait: up to `maxevents` events into `uevents`; EINTR when a signal comes
/// first. A zero timeout looks once and does not look at signals (ep_poll).
fn do_wait(
    t: &mut Task,
    epfd: u64,
    uevents: u64,
    maxevents: i32,
    to: Timeout,
) -> Result<u64, Errno> {
    if maxevents <= 0 || maxevents > MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let len = maxevents as u64 * EVENT_SIZE;
    if uevents.checked_add(len).is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::EFAULT);
    }
    let f = get_file(t, epfd)?;
    let Some(ep) = epoll::of(&f) else {
        return Err(Errno::EINVAL);
    };
    let max = maxevents as usize;
    let r = if to.is_zero() {
        Ok(ep.send_events(max))
    } else {
        let mut watch = Watch::default();
        watch.add(&f);
        watch.wait(to.deadline, || {
            let ev = ep.send_events(max);
            (!ev.is_empty()).then_some(ev)
        })
    };
    let evs = match r {
        Ok(evs) => evs,
        Err(WaitError::TimedOut) => Vec::new(),
        Err(WaitError::Interrupted) => return Err(Errno::EINTR),
    };
    let mut b = Vec::with_capacity(evs.len() * EVENT_SIZE as usize);
    for (ev, data) in &evs {
        b.extend_from_slice(&ev.to_le_bytes());
        b.extend_from_slice(&data.to_le_bytes());
    }
    t.mm.copy_out(uevents, &b)?;
    Ok(evs.len() as u64)
}

/// epoll_wait(2): the timeout is in milliseconds, negative for none.
pub fn epoll_wait(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_wait(t, a[0], a[1], a[2] as i32, Timeout::from_ms(a[3] as i32))
}

/// do_epoll_pwait: with a temporary signal mask, kept until the signal that ends the
/// wait with EINTR is delivered.
fn pwait(t: &mut Task, a: &[u64; 6], to: Timeout) -> Result<u64, Errno> {
    let old = set_user_sigmask(t, a[4], a[5])?;
    let r = do_wait(t, a[0], a[1], a[2] as i32, to);
    restore_sigmask(t, old, r == Err(Errno::EINTR));
    r
}

/// epoll_pwait(2).
pub fn epoll_pwait(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    pwait(t, a, Timeout::from_ms(a[3] as i32))
}

/// epoll_pwait2(2): the timeout is a timespec (NULL: none).
pub fn epoll_pwait2(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let to = if a[3] != 0 {
        read_timespec_timeout(t, a[3])?
    } else {
        Timeout::INFINITE
    };
    pwait(t, a, to)
}
