//! Signal state: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2), sigaltstack(2),
//! rt_sigreturn(2), and signals a process sends itself: kill(2), tkill(2), tgkill(2),
//! rt_sigqueueinfo(2). Delivery (frames on the application stack) is `crate::signals`;
//! it happens on the way back to the application.

use crate::signals::{self, SI_TKILL, SI_USER, SigInfo};
use crate::task::{SigAction, Task};
use syscalls_table::Errno;

const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
use signals::{MINSIGSTKSZ, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, UNBLOCKABLE};

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
    Ok(0)
}

/// rt_sigpending(2): the signals pending while blocked.
pub fn rt_sigpending(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (set, size) = (a[0], a[1]);
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let pending = t.sig.pending & t.sig.mask;
    t.mm.copy_out(set, &pending.to_le_bytes()[..size as usize])?;
    Ok(0)
}

/// rt_sigreturn(2): back from a handler. A bad frame kills with SIGSEGV.
pub fn rt_sigreturn(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    match signals::sigreturn(t) {
        Ok(rax) => Ok(rax),
        Err(_) => {
            t.force_signal(SigInfo::new(libc::SIGSEGV, signals::SI_KERNEL));
            Ok(t.cpu.regs.rax)
        }
    }
}

/// rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2) to the caller's own process: the siginfo
/// is the caller's, with si_signo set to `sig`.
fn sigqueueinfo(
    t: &mut Task,
    tgid: i32,
    tid: Option<i32>,
    sig: u64,
    uinfo: u64,
) -> Result<u64, Errno> {
    let mut b = [0u8; 128];
    t.mm.copy_in(uinfo, &mut b)?;
    let sig = check_signo(sig)?;
    if tgid != t.tid || tid.is_some_and(|x| x != t.tid) {
        return Err(if tgid <= 0 {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    }
    if let Some(s) = sig {
        b[0..4].copy_from_slice(&s.to_le_bytes());
        t.send_signal(SigInfo(b));
    }
    Ok(0)
}

/// rt_sigqueueinfo(2).
pub fn rt_sigqueueinfo(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    sigqueueinfo(t, a[0] as i32, None, a[1], a[2])
}

/// rt_tgsigqueueinfo(2).
pub fn rt_tgsigqueueinfo(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    if (a[0] as i32) <= 0 || (a[1] as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    sigqueueinfo(t, a[0] as i32, Some(a[1] as i32), a[2], a[3])
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
        let info = SigInfo::from_process(s, SI_USER, t.tid, t.creds.uid);
        t.send_signal(info);
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
        let info = SigInfo::from_process(s, SI_TKILL, t.tid, t.creds.uid);
        t.send_signal(info);
    }
    Ok(0)
}

/// sigaltstack(2).
pub fn sigaltstack(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
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
    // Changing the alternate stack while running on it is refused.
    let on = signals::altstack_flags(t, t.cpu.regs.rsp);
    if new.is_some() && on == SS_ONSTACK {
        return Err(Errno::EPERM);
    }
    if oss != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&sp.to_le_bytes());
        // Where the caller is now (on it, disabled, or neither) and the sticky flags.
        let shown = on | (flags & SS_AUTODISARM);
        b[8..12].copy_from_slice(&shown.to_le_bytes());
        b[16..].copy_from_slice(&size.to_le_bytes());
        t.mm.copy_out(oss, &b)?;
    }
    if let Some(n) = new {
        t.sig.altstack = n;
    }
    Ok(0)
}
