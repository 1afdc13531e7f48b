//! Clocks and sleeps: clock_gettime(2), clock_getres(2), clock_settime(2),
//! gettimeofday(2), time(2), nanosleep(2), clock_nanosleep(2), restart_syscall(2).
//! Sleeps wait on the task's waiter, so a signal interrupts them: a relative sleep
//! resumes through restart_syscall(2) with the time left (or fails with EINTR after a
//! handler, writing the time left), an absolute one restarts as it was.

use super::write_u64;
use crate::host;
use crate::task::{RestartBlock, Task};
use std::time::{Duration, Instant};
use syscalls_table::Errno;

/// The clock ids Linux accepts from applications besides the CPU clocks.
fn check_clock(clock: u64) -> Result<i32, Errno> {
    match clock as i32 {
        c @ (0..=9 | 11) => Ok(c),
        _ => Err(Errno::EINVAL),
    }
}

fn write_timespec(t: &Task, addr: u64, ts: &libc::timespec) -> Result<(), Errno> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&ts.tv_sec.to_le_bytes());
    b[8..].copy_from_slice(&ts.tv_nsec.to_le_bytes());
    t.mm.copy_out(addr, &b)
}

pub(crate) fn read_timespec(t: &Task, addr: u64) -> Result<libc::timespec, Errno> {
    let mut b = [0u8; 16];
    t.mm.copy_in(addr, &mut b)?;
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    })
}

/// clock_gettime(2). CPU clocks (the caller's process and thread, and the clocks of
/// clock_getcpuclockid(3)) count the application's CPU time as `timers::cputime` reads
/// it; the others are the host's.
pub fn clock_gettime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if let Some(c) = crate::timers::cpu_clock(t, a[0] as i32, true)? {
        let ns = c.now(t);
        return t
            .mm
            .copy_out(a[1], &crate::timers::timespec_bytes(ns))
            .map(|_| 0);
    }
    let ts = host::clock_gettime(check_clock(a[0])?)?;
    write_timespec(t, a[1], &ts).map(|_| 0)
}

/// clock_settime(2): the sandbox never sets the host's clocks. As Linux: clocks that
/// cannot be set give EINVAL; CLOCK_REALTIME checks the time, then refuses (EPERM, as
/// without CAP_SYS_TIME); a CPU clock of a process is checked, then refused (EPERM).
pub fn clock_settime(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let clock = a[0] as i32;
    let settable = clock == libc::CLOCK_REALTIME || (clock < 0 && clock & 7 != 3);
    if !settable {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 16];
    t.mm.copy_in(a[1], &mut b)?;
    if clock < 0 {
        crate::timers::cpu_clock(t, clock, false)?;
        return Err(Errno::EPERM);
    }
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Err(Errno::EPERM)
}

/// clock_getres(2).
pub fn clock_getres(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let ts = match crate::timers::cpu_clock(t, a[0] as i32, false)? {
        Some(c) => libc::timespec {
            tv_sec: 0,
            tv_nsec: c.resolution() as i64,
        },
        None => host::clock_getres(check_clock(a[0])?)?,
    };
    if a[1] != 0 {
        write_timespec(t, a[1], &ts)?;
    }
    Ok(0)
}

/// gettimeofday(2). The timezone is always UTC (the kernel's default sys_tz).
pub fn gettimeofday(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if a[0] != 0 {
        let ts = host::clock_gettime(libc::CLOCK_REALTIME)?;
        write_u64(t, a[0], ts.tv_sec as u64)?;
        write_u64(t, a[0] + 8, (ts.tv_nsec / 1000) as u64)?;
    }
    if a[1] != 0 {
        t.mm.copy_out(a[1], &[0u8; 8])?;
    }
    Ok(0)
}

/// time(2).
pub fn time(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let now = host::clock_gettime(libc::CLOCK_REALTIME)?.tv_sec as u64;
    if a[0] != 0 {
        write_u64(t, a[0], now)?;
    }
    Ok(now)
}

/// The instant a timeout ends: `ts` from now, or at `ts` on `clock` when `absolute`.
/// Timeouts too far away to represent end in about 35 000 years.
pub(crate) fn to_deadline(clock: i32, ts: &libc::timespec, absolute: bool) -> Result<Instant, Errno> {
    let want = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    let rel = if absolute {
        let now = host::clock_gettime(clock)?;
        want.saturating_sub(Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec as u32))
    } else {
        want
    };
    Ok(Instant::now()
        .checked_add(rel)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 40)))
}

/// The deadline of an optional relative timeout argument (`struct timespec *`, NULL
/// waits forever): semtimedop, rt_sigtimedwait, FUTEX_WAIT.
pub(crate) fn relative_deadline(t: &Task, addr: u64) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts = read_timespec(t, addr)?;
    to_deadline(libc::CLOCK_MONOTONIC, &ts, false).map(Some)
}

/// Sleeps until `deadline`; on interruption arranges the restart.
fn sleep_until(
    t: &mut Task,
    clock: i32,
    deadline: Instant,
    rmtp: u64,
    absolute: bool,
) -> Result<u64, Errno> {
    match crate::wait::wait_until(&[], Some(deadline), || None::<()>) {
        Ok(()) | Err(crate::wait::WaitError::TimedOut) => Ok(0),
        Err(crate::wait::WaitError::Interrupted) => {
            if absolute {
                return Err(Errno::ERESTARTNOHAND);
            }
            if rmtp != 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                let ts = libc::timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: left.subsec_nanos() as i64,
                };
                write_timespec(t, rmtp, &ts)?;
            }
            t.restart_block = Some(RestartBlock::Sleep {
                clock,
                deadline,
                rmtp,
            });
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
    }
}

/// nanosleep(2).
pub fn nanosleep(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let ts = read_timespec(t, a[0])?;
    let d = to_deadline(libc::CLOCK_MONOTONIC, &ts, false)?;
    sleep_until(t, libc::CLOCK_MONOTONIC, d, a[1], false)
}

/// restart_syscall(2): resumes what a signal interrupted (a relative sleep, a poll).
pub fn restart_syscall(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    match t.restart_block.take() {
        Some(RestartBlock::Sleep {
            clock,
            deadline,
            rmtp,
        }) => sleep_until(t, clock, deadline, rmtp, false),
        Some(RestartBlock::Poll {
            ufds,
            nfds,
            deadline,
        }) => super::sys_poll::restart_poll(t, ufds, nfds, deadline),
        None => Err(Errno::EINTR),
    }
}

/// clock_nanosleep(2).
pub fn clock_nanosleep(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const TIMER_ABSTIME: u64 = 1;
    let clock = a[0] as i32;
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI => {}
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => {
            return Err(Errno::EINVAL);
        }
        _ => return Err(Errno::EINVAL),
    }
    let ts = read_timespec(t, a[2])?;
    let absolute = a[1] & TIMER_ABSTIME != 0;
    let d = to_deadline(clock, &ts, absolute)?;
    sleep_until(t, clock, d, if absolute { 0 } else { a[3] }, absolute)
}
