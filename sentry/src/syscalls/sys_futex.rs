//! futex(2) for a single-threaded process: WAIT and WAIT_BITSET check the value and sleep
//! until the timeout (nobody else can wake them), WAKE and WAKE_BITSET wake nobody.
//! Waiters, requeueing and shared keys come with threads (processes issue).

use crate::host;
use crate::task::Task;
use syscalls_table::Errno;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

/// futex(2).
pub fn futex(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uaddr, op, val, timeout, _uaddr2, val3) =
        (a[0], a[1], a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if op & FUTEX_CLOCK_REALTIME != 0 && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT {
        return Err(Errno::ENOSYS);
    }
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if uaddr % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            let deadline = if timeout != 0 {
                let mut b = [0u8; 16];
                t.mm.copy_in(timeout, &mut b)?;
                let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
                let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
                if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                    return Err(Errno::EINVAL);
                }
                Some(libc::timespec {
                    tv_sec: sec,
                    tv_nsec: nsec,
                })
            } else {
                None
            };
            let mut cur = [0u8; 4];
            t.mm.copy_in(uaddr, &mut cur)?;
            if u32::from_le_bytes(cur) != val {
                return Err(Errno::EAGAIN);
            }
            // No other thread exists to wake us: sleep out the timeout, or forever as
            // Linux would.
            let (clock, absolute) = if cmd == FUTEX_WAIT_BITSET {
                let c = if op & FUTEX_CLOCK_REALTIME != 0 {
                    libc::CLOCK_REALTIME
                } else {
                    libc::CLOCK_MONOTONIC
                };
                (c, true)
            } else {
                (libc::CLOCK_MONOTONIC, false)
            };
            let ts = deadline.unwrap_or(libc::timespec {
                tv_sec: i64::MAX / 4,
                tv_nsec: 0,
            });
            host::clock_nanosleep(clock, absolute && deadline.is_some(), &ts)?;
            Err(Errno::ETIMEDOUT)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            if cmd == FUTEX_WAKE_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            if uaddr % 4 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
    }
}
