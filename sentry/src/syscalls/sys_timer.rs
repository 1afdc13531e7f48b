//! Timers and CPU usage: alarm(2), getitimer(2), setitimer(2), timer_create(2),
//! timer_settime(2), timer_gettime(2), timer_getoverrun(2), timer_delete(2),
//! timerfd_create(2), timerfd_settime(2), timerfd_gettime(2), getrusage(2), times(2).
//! The timers themselves are `crate::timers` and `vfs::timerfd`.

use crate::task::Task;
use crate::timers::posix::{Notify, PosixTimer, TimerClock};
use crate::timers::{self, NSEC, cputime, read_itimerspec, write_itimerspec};
use crate::vfs::anon::AnonInode;
use crate::vfs::file::{FileDescription, O_NONBLOCK, O_RDWR};
use crate::vfs::timerfd::TimerFd;
use std::sync::Arc;
use syscalls_table::Errno;

const ITIMER_REAL: u64 = 0;
const ITIMER_VIRTUAL: u64 = 1;
const ITIMER_PROF: u64 = 2;

/// A `struct timeval` pair {interval, value} (struct itimerval), as ns; EINVAL unless
/// both are valid (seconds >= 0, microseconds below a million).
fn read_itimerval(t: &Task, addr: u64) -> Result<(u64, u64), Errno> {
    let mut b = [0u8; 32];
    t.mm.copy_in(addr, &mut b)?;
    let w = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let tv = |sec: i64, usec: i64| -> Result<u64, Errno> {
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(timers::ts_to_ns(sec, usec * 1000))
    };
    Ok((tv(w(0), w(1))?, tv(w(2), w(3))?))
}

/// Writes {interval, value} as a struct itimerval (microseconds, truncated).
fn write_itimerval(t: &Task, addr: u64, interval: u64, value: u64) -> Result<(), Errno> {
    let mut b = [0u8; 32];
    for (i, ns) in [interval, value].into_iter().enumerate() {
        b[i * 16..i * 16 + 8].copy_from_slice(&((ns / NSEC) as i64).to_le_bytes());
        b[i * 16 + 8..i * 16 + 16].copy_from_slice(&(((ns % NSEC) / 1000) as i64).to_le_bytes());
    }
    t.mm.copy_out(addr, &b)
}

fn set_itimer(t: &mut Task, which: u64, value: u64, interval: u64) -> Result<(u64, u64), Errno> {
    let pt = t.process.timers.clone();
    Ok(match which {
        ITIMER_REAL => pt.real(t).set(value, interval),
        ITIMER_VIRTUAL => pt.set_cpu_itimer(t, 0, value, interval),
        ITIMER_PROF => pt.set_cpu_itimer(t, 1, value, interval),
        _ => return Err(Errno::EINVAL),
    })
}

/// getitimer(2).
pub fn getitimer(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pt = t.process.timers.clone();
    let (value, interval) = match a[0] as i32 as i64 as u64 {
        ITIMER_REAL => pt.real(t).get(),
        ITIMER_VIRTUAL => pt.get_cpu_itimer(t, 0),
        ITIMER_PROF => pt.get_cpu_itimer(t, 1),
        _ => return Err(Errno::EINVAL),
    };
    write_itimerval(t, a[1], interval, value).map(|_| 0)
}

/// setitimer(2). A NULL new value disarms the timer (Linux accepts it, with a warning).
pub fn setitimer(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (interval, value) = if a[1] != 0 {
        read_itimerval(t, a[1])?
    } else {
        (0, 0)
    };
    let (ovalue, ointerval) = set_itimer(t, a[0] as i32 as i64 as u64, value, interval)?;
    if a[2] != 0 {
        write_itimerval(t, a[2], ointerval, ovalue)?;
    }
    Ok(0)
}

/// alarm(2): ITIMER_REAL in whole seconds; returns the seconds the old alarm had left,
/// rounded to the nearest (at least 1 if it was armed), as Linux's alarm_setitimer.
pub fn alarm(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let secs = a[0] as u32 as u64;
    let (left, _) = t.process.timers.clone().real(t).set(secs * NSEC, 0);
    let (mut sec, usec) = (left / NSEC, (left % NSEC) / 1000);
    if (sec == 0 && usec != 0) || usec >= 500_000 {
        sec += 1;
    }
    Ok(sec)
}

// ---- POSIX timers ----

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;

/// timer_create(2). The checks and the id allocation come in Linux's order (a failure
/// after the id was taken still uses it up).
pub fn timer_create(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (clock, sevp, idp) = (a[0] as i32, a[1], a[2]);
    let mut ev = [0u8; 64];
    if sevp != 0 {
        t.mm.copy_in(sevp, &mut ev)?;
    }
    // Which clocks have timers: the real-time ones and the CPU clocks; the raw and
    // coarse clocks have none (EOPNOTSUPP).
    match clock {
        libc::CLOCK_REALTIME
        | libc::CLOCK_MONOTONIC
        | libc::CLOCK_BOOTTIME
        | libc::CLOCK_TAI
        | libc::CLOCK_REALTIME_ALARM
        | libc::CLOCK_BOOTTIME_ALARM
        | libc::CLOCK_PROCESS_CPUTIME_ID
        | libc::CLOCK_THREAD_CPUTIME_ID => {}
        libc::CLOCK_MONOTONIC_RAW | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP);
        }
        c if c < 0 && c & 7 != 3 => {}
        _ => return Err(Errno::EINVAL),
    }
    let pt = t.process.timers.clone();
    let id = pt.posix().alloc_id().ok_or(Errno::EAGAIN)?;
    let notify = if sevp == 0 {
        Notify::Signal {
            signo: libc::SIGALRM,
            value: id as u32 as u64,
            thread: None,
        }
    } else {
        let value = u64::from_le_bytes(ev[0..8].try_into().unwrap_or_default());
        let signo = i32::from_le_bytes(ev[8..12].try_into().unwrap_or_default());
        let kind = i32::from_le_bytes(ev[12..16].try_into().unwrap_or_default());
        let tid = i32::from_le_bytes(ev[16..20].try_into().unwrap_or_default());
        let signal = |thread| {
            if !(1..=64).contains(&signo) {
                return Err(Errno::EINVAL);
            }
            Ok(Notify::Signal {
                signo,
                value,
                thread,
            })
        };
        match kind {
            SIGEV_NONE => Notify::None,
            SIGEV_SIGNAL | SIGEV_THREAD => signal(None)?,
            SIGEV_THREAD_ID => {
                let ours = t.tree().tasks.get(&tid).is_some_and(|e| e.tgid == t.tgid);
                if !ours {
                    return Err(Errno::EINVAL);
                }
                signal(Some(tid))?
            }
            _ => return Err(Errno::EINVAL),
        }
    };
    super::write_u32(t, idp, id as u32)?;
    let tclock = match timers::cpu_clock(t, clock, false)? {
        Some(c) => TimerClock::Cpu {
            pid: c.pid,
            thread: c.thread,
            target: Arc::downgrade(&c.timers),
        },
        // The sandbox has no RTC to wake it: as on a host without one.
        None if matches!(
            clock,
            libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM
        ) =>
        {
            return Err(Errno::EOPNOTSUPP);
        }
        None => TimerClock::Real(clock),
    };
    let timer = PosixTimer::new(id, t.tgid, tclock, notify, &t.k.tree, t.k.timers.handle());
    pt.posix().timers.insert(id, timer);
    Ok(0)
}

fn posix_timer(t: &Task, id: u64) -> Result<Arc<PosixTimer>, Errno> {
    let id = i32::try_from(id as i64).map_err(|_| Errno::EINVAL)?;
    t.process
        .timers
        .posix()
        .timers
        .get(&id)
        .cloned()
        .ok_or(Errno::EINVAL)
}

/// The current value of a timer's clock (the caller's own CPU time read afresh).
fn timer_clock_now(t: &Task, p: &PosixTimer) -> u64 {
    if let TimerClock::Cpu { pid, .. } = p.clock
        && pid == t.tgid
    {
        cputime::sample(t);
    }
    p.clock_now()
}

/// timer_settime(2). Any flags but TIMER_ABSTIME are ignored, as Linux does.
pub fn timer_settime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const TIMER_ABSTIME: u64 = 1;
    let (id, flags, new, old) = (a[0], a[1], a[2], a[3]);
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = read_itimerspec(t, new)?;
    let p = posix_timer(t, id)?;
    let now = timer_clock_now(t, &p);
    let abs = flags & TIMER_ABSTIME != 0;
    let next = match (&p.clock, value) {
        (_, 0) => None,
        (TimerClock::Real(c), v) if abs => Some(timers::abs_to_mono(*c, v)),
        (TimerClock::Cpu { .. }, v) if abs => Some(v),
        (_, v) => Some(now.saturating_add(v)),
    };
    let (ovalue, ointerval) = p.set(next, interval, now);
    if let TimerClock::Cpu { pid, target, .. } = &p.clock
        && let Some(target) = target.upgrade()
    {
        target.watch(&p);
        target.refresh_armed(*pid, &t.k.tree, t.k.timers.handle());
    }
    if old != 0 {
        write_itimerspec(t, old, ointerval, ovalue)?;
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn timer_gettime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let p = posix_timer(t, a[0])?;
    let now = timer_clock_now(t, &p);
    let (value, interval) = p.get(now);
    write_itimerspec(t, a[1], interval, value).map(|_| 0)
}

/// timer_getoverrun(2).
pub fn timer_getoverrun(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    Ok(posix_timer(t, a[0])?.overrun() as u64)
}

/// timer_delete(2).
pub fn timer_delete(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let id = i32::try_from(a[0] as i64).map_err(|_| Errno::EINVAL)?;
    let p = t
        .process
        .timers
        .posix()
        .timers
        .remove(&id)
        .ok_or(Errno::EINVAL)?;
    p.delete();
    Ok(0)
}

// ---- timerfd ----

const TFD_CLOEXEC: u64 = libc::O_CLOEXEC as u64;
const TFD_NONBLOCK: u64 = O_NONBLOCK as u64;
const TFD_TIMER_ABSTIME: u64 = 1;
const TFD_TIMER_CANCEL_ON_SET: u64 = 2;

/// timerfd_create(2). TFD_TIMER_CANCEL_ON_SET is accepted by timerfd_settime but never
/// cancels: the sandbox's realtime clock cannot be set.
pub fn timerfd_create(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (clock, flags) = (a[0] as i32, a[1]);
    let known = matches!(
        clock,
        libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_REALTIME_ALARM
            | libc::CLOCK_BOOTTIME_ALARM
    );
    if flags & !(TFD_CLOEXEC | TFD_NONBLOCK) != 0 || !known {
        return Err(Errno::EINVAL);
    }
    let alarm = matches!(
        clock,
        libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM
    );
    if alarm && !t.capable(crate::caps::CAP_WAKE_ALARM) {
        return Err(Errno::EPERM);
    }
    let ops = TimerFd::new(clock, t.k.timers.handle());
    let inode = AnonInode::new(t.creds.uid, t.creds.gid);
    let file = FileDescription::anonymous(
        ops,
        inode,
        O_RDWR | (flags as u32 & O_NONBLOCK),
        b"anon_inode:[timerfd]".to_vec(),
    );
    let lim = t.rlimit(libc::RLIMIT_NOFILE as usize);
    t.fds().install(file, 0, flags & TFD_CLOEXEC != 0, lim)
}

fn timerfd(t: &Task, fd: u64) -> Result<Arc<FileDescription>, Errno> {
    let f = t.fds().get(fd as i32 as i64 as u64)?;
    if f.ops
        .as_any()
        .and_then(|a| a.downcast_ref::<TimerFd>())
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

fn with_timerfd<R>(f: &FileDescription, op: impl FnOnce(&TimerFd) -> R) -> Result<R, Errno> {
    let tfd = f
        .ops
        .as_any()
        .and_then(|a| a.downcast_ref::<TimerFd>())
        .ok_or(Errno::EINVAL)?;
    Ok(op(tfd))
}

/// timerfd_settime(2).
pub fn timerfd_settime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (fd, flags, new, old) = (a[0], a[1], a[2], a[3]);
    let mut raw = [0u8; 32];
    t.mm.copy_in(new, &mut raw)?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = timers::parse_itimerspec(&raw)?;
    let f = timerfd(t, fd)?;
    let (ovalue, ointerval) = with_timerfd(&f, |tfd| {
        tfd.set(value, interval, flags & TFD_TIMER_ABSTIME != 0)
    })?;
    if old != 0 {
        write_itimerspec(t, old, ointerval, ovalue)?;
    }
    Ok(0)
}

/// timerfd_gettime(2).
pub fn timerfd_gettime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let f = timerfd(t, a[0])?;
    let (value, interval) = with_timerfd(&f, |tfd| tfd.get())?;
    write_itimerspec(t, a[1], interval, value).map(|_| 0)
}

// ---- usage ----

/// getrusage(2): CPU time as user time (system time is 0, see `timers::cputime`);
/// ru_maxrss is the largest resident set seen; context switches are the task's sentry
/// thread's; the other fields are 0.
pub fn getrusage(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let pt = t.process.timers.clone();
    let rss = t.mm.resident() / 1024;
    let u = match a[0] as i32 {
        RUSAGE_SELF => {
            cputime::sample(t);
            pt.cpu.note_rss(rss);
            pt.cpu.usage_self()
        }
        RUSAGE_THREAD => {
            cputime::sample(t);
            pt.cpu.note_rss(rss);
            pt.cpu.usage_thread(t.tid)
        }
        RUSAGE_CHILDREN => pt.cpu.children(),
        _ => return Err(Errno::EINVAL),
    };
    t.mm.copy_out(a[1], &u.to_rusage_bytes()).map(|_| 0)
}

/// Clock ticks (USER_HZ) in `ns`.
fn clock_t(ns: u64) -> u64 {
    ns / (NSEC / 100)
}

/// times(2). Returns Linux's jiffies counter in clock ticks: it starts 5 minutes before
/// the 32-bit wrap at boot.
pub fn times(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 {
        let pt = t.process.timers.clone();
        let (_, total) = cputime::sample(t);
        let children = pt.cpu.children();
        let mut b = [0u8; 32];
        for (i, v) in [total, 0, children.user_ns, children.sys_ns]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&clock_t(v).to_le_bytes());
        }
        t.mm.copy_out(a[0], &b)?;
    }
    let tick = timers::tick_ns();
    let hz = NSEC / tick;
    let jiffies = (1u64 << 32) - 300 * hz + timers::clock_now(libc::CLOCK_BOOTTIME) / tick;
    Ok(jiffies * 100 / hz)
}
