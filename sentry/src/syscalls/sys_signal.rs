//! Signal state: rt_sigaction(2), rt_sigprocmask(2), sigaltstack(2), and signals a
//! process sends itself: kill(2), tkill(2), tgkill(2). The state is kept exactly; a signal
//! takes its default action (handlers run once delivery exists: processes issue).

use crate::task::{SigAction, Task};
use syscalls_table::Errno;

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// rt_sigaction(2).
pub fn rt_sigaction(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (sig, act, oact, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 || sig == 0 || sig > 64 {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        let mut b = [0u8; 32];
        t.mm.copy_in(act, &mut b)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3) & !UNBLOCKABLE,
        })
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let old = t.sig.actions[sig as usize - 1];
    if oact != 0 {
        let mut b = [0u8; 32];
        for (i, v) in [old.handler, old.flags, old.restorer, old.mask]
            .iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        t.mm.copy_out(oact, &b)?;
    }
    if let Some(n) = new {
        t.sig.actions[sig as usize - 1] = n;
    }
    Ok(0)
}

/// rt_sigprocmask(2).
pub fn rt_sigprocmask(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (how, set, oset, size) = (a[0], a[1], a[2], a[3]);
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let old = t.sig.mask;
    if set != 0 {
        let mut b = [0u8; 8];
        t.mm.copy_in(set, &mut b)?;
        let s = u64::from_le_bytes(b) & !UNBLOCKABLE;
        t.sig.mask = match how as i32 {
            libc::SIG_BLOCK => old | s,
            libc::SIG_UNBLOCK => old & !s,
            libc::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
    }
    if oset != 0 {
        t.mm.copy_out(oset, &old.to_le_bytes())?;
    }
    t.deliver_unblocked();
    Ok(0)
}

fn check_signo(sig: u64) -> Result<Option<i32>, Errno> {
    match sig {
        0 => Ok(None),
        1..=64 => Ok(Some(sig as i32)),
        _ => Err(Errno::EINVAL),
    }
}

/// kill(2). The sandbox's only process is pid 1, leader of process group 1.
pub fn kill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pid = a[0] as i32;
    let sig = check_signo(a[1])?;
    let me = t.tid;
    // pid -1 means every process but init and the caller: there is none.
    if !(pid == me || pid == 0 || pid == -me) {
        return Err(Errno::ESRCH);
    }
    if let Some(s) = sig {
        t.send_signal(s);
    }
    Ok(0)
}

/// tkill(2).
pub fn tkill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    tgkill(t, &[t.tid as u64, a[0], a[1], 0, 0, 0])
}

/// tgkill(2).
pub fn tgkill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let sig = check_signo(a[2])?;
    if tgid != t.tid || tid != t.tid {
        return Err(Errno::ESRCH);
    }
    if let Some(s) = sig {
        t.send_signal(s);
    }
    Ok(0)
}

/// sigaltstack(2).
pub fn sigaltstack(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const SS_ONSTACK: u32 = 1;
    const SS_DISABLE: u32 = 2;
    const SS_AUTODISARM: u32 = 1 << 31;
    const MINSIGSTKSZ: u64 = 2048;
    let (ss, oss) = (a[0], a[1]);
    let (sp, flags, size) = t.sig.altstack;
    let new = if ss != 0 {
        let mut b = [0u8; 24];
        t.mm.copy_in(ss, &mut b)?;
        let nsp = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
        let nflags = u32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
        let nsize = u64::from_le_bytes(b[16..].try_into().unwrap_or_default());
        let mode = nflags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            Some((0, SS_DISABLE, 0))
        } else {
            if nsize < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            Some((nsp, nflags & SS_AUTODISARM, nsize))
        }
    } else {
        None
    };
    if oss != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&size.to_le_bytes());
        t.mm.copy_out(oss, &b)?;
    }
    if let Some(n) = new {
        t.sig.altstack = n;
    }
    Ok(0)
}
