//! Signal state and sending: rt_sigaction(2), rt_sigprocmask(2), rt_sigpending(2),
//! sigaltstack(2), rt_sigreturn(2), kill(2), tkill(2), tgkill(2), rt_sigqueueinfo(2),
//! rt_tgsigqueueinfo(2), rt_sigsuspend(2), pause(2), rt_sigtimedwait(2). Delivery (frames
//! on the application stack) is `crate::signals`; it happens on the way back to the
//! application.

use crate::signals::{self, SI_TKILL, SI_USER, SigInfo};
use crate::task::{SIG_DFL, SIG_IGN, SigAction, Task};
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
    let signo = sig as i32;
    let old = t.action(signo);
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
        t.set_action(signo, n);
        // A signal now ignored is discarded from every pending set of the group.
        let ignored =
            n.handler == SIG_IGN || (n.handler == SIG_DFL && crate::tasks::default_ignored(signo));
        if ignored {
            t.tree().discard_pending(t.tgid, signo);
        }
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
    let mut new = None;
    if set != 0 {
        let mut b = [0u8; 8];
        t.mm.copy_in(set, &mut b)?;
        let s = u64::from_le_bytes(b) & !UNBLOCKABLE;
        new = Some(match how as i32 {
            libc::SIG_BLOCK => old | s,
            libc::SIG_UNBLOCK => old & !s,
            libc::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        });
    }
    if oset != 0 {
        t.mm.copy_out(oset, &old.to_le_bytes())?;
    }
    if let Some(m) = new {
        t.set_mask(m);
    }
    Ok(0)
}

/// rt_sigpending(2): the signals pending while blocked.
pub fn rt_sigpending(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (set, size) = (a[0], a[1]);
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let pending = t.tree().pending_set(t.tid) & t.sig.mask;
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

/// Whether `t` may send `signo` to process `pid` (kill_ok_by_cred): the caller's real or
/// effective uid is the target's real or saved one, CAP_KILL, or SIGCONT within the
/// session.
fn may_signal(t: &Task, tree: &crate::tasks::Tree, pid: i32, signo: i32) -> bool {
    let Some(g) = tree.groups.get(&pid) else {
        return false;
    };
    let c = &t.creds;
    let same = |u: u32| u == g.uid || u == g.suid;
    if same(c.uid) || same(c.ruid) || t.capable(crate::caps::CAP_KILL) {
        return true;
    }
    signo == libc::SIGCONT && tree.groups.get(&t.tgid).is_some_and(|me| me.sid == g.sid)
}

/// Sends `info` to process `pid` with kill(2)'s checks (ESRCH, EPERM; signal 0 checks
/// only).
pub fn send_to_process(t: &Task, pid: i32, signo: i32, info: SigInfo) -> Result<(), Errno> {
    let mut tree = t.tree();
    if !tree.groups.contains_key(&pid) {
        return Err(Errno::ESRCH);
    }
    if !may_signal(t, &tree, pid, signo) {
        return Err(Errno::EPERM);
    }
    if signo != 0 {
        tree.send(pid, None, info);
    }
    Ok(())
}

/// Sends to each process of `pids`: success if any was allowed.
pub(super) fn send_to_many(t: &Task, pids: Vec<i32>, signo: i32) -> Result<u64, Errno> {
    if pids.is_empty() {
        return Err(Errno::ESRCH);
    }
    let mut tree = t.tree();
    let mut ok = false;
    for p in pids {
        if may_signal(t, &tree, p, signo) {
            ok = true;
            if signo != 0 {
                let info = SigInfo::from_process(signo, SI_USER, t.tgid, t.creds.uid);
                tree.send(p, None, info);
            }
        }
    }
    if ok { Ok(0) } else { Err(Errno::EPERM) }
}

/// rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2): the siginfo is the caller's, with
/// si_signo set to `sig`; only the kernel may claim SI_USER or positive codes for a
/// signal to another process.
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
    let mut info = SigInfo(b);
    let code = info.code();
    let to_self = tgid == t.tgid && tid.is_none_or(|x| x == t.tid);
    if (code >= 0 || code == SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    let signo = sig.unwrap_or(0);
    info.0[0..4].copy_from_slice(&signo.to_le_bytes());
    match tid {
        None => send_to_process(t, tgid, signo, info).map(|_| 0),
        Some(tid) => send_to_thread(t, tgid, tid, signo, info),
    }
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

/// kill(2).
pub fn kill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let pid = a[0] as i32;
    let signo = check_signo(a[1])?.unwrap_or(0);
    let targets: Vec<i32> = {
        let tree = t.tree();
        match pid {
            p if p > 0 => {
                // A thread's tid names its process.
                let tgid = match tree.tasks.get(&p) {
                    Some(e) => e.tgid,
                    None if tree.groups.contains_key(&p) => p,
                    None => return Err(Errno::ESRCH),
                };
                drop(tree);
                let info = SigInfo::from_process(signo, SI_USER, t.tgid, t.creds.uid);
                return send_to_process(t, tgid, signo, info).map(|_| 0);
            }
            0 => {
                let pg = tree.groups.get(&t.tgid).map_or(0, |g| g.pgid);
                tree.pgrp_members(pg)
            }
            -1 => tree
                .groups
                .values()
                .filter(|g| g.tgid != 1 && g.tgid != t.tgid && !g.zombie)
                .map(|g| g.tgid)
                .collect(),
            p => tree.pgrp_members(p.checked_neg().ok_or(Errno::ESRCH)?),
        }
    };
    send_to_many(t, targets, signo)
}

fn send_to_thread(t: &Task, tgid: i32, tid: i32, signo: i32, info: SigInfo) -> Result<u64, Errno> {
    let mut tree = t.tree();
    let ok = tree
        .tasks
        .get(&tid)
        .is_some_and(|e| tgid < 0 || e.tgid == tgid);
    if !ok {
        return Err(Errno::ESRCH);
    }
    let real = tree.tasks.get(&tid).map_or(0, |e| e.tgid);
    if !may_signal(t, &tree, real, signo) {
        return Err(Errno::EPERM);
    }
    if signo != 0 {
        tree.send(real, Some(tid), info);
    }
    Ok(0)
}

/// tkill(2).
pub fn tkill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let tid = a[0] as i32;
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let signo = check_signo(a[1])?.unwrap_or(0);
    let info = SigInfo::from_process(signo, SI_TKILL, t.tgid, t.creds.uid);
    send_to_thread(t, -1, tid, signo, info)
}

/// tgkill(2).
pub fn tgkill(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (tgid, tid) = (a[0] as i32, a[1] as i32);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let signo = check_signo(a[2])?.unwrap_or(0);
    let info = SigInfo::from_process(signo, SI_TKILL, t.tgid, t.creds.uid);
    send_to_thread(t, tgid, tid, signo, info)
}

/// Reads a sigset argument of `size` bytes (must be 8).
fn read_sigset(t: &Task, addr: u64, size: u64) -> Result<u64, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 8];
    t.mm.copy_in(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// rt_sigsuspend(2): waits with a temporary mask until a signal is delivered; the mask
/// comes back after the handler (the frame saves the original).
pub fn rt_sigsuspend(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let mask = read_sigset(t, a[0], a[1])?;
    let old = t.sig.mask;
    t.set_mask(mask);
    t.saved_mask = Some(old);
    let shared = t.shared.clone();
    loop {
        // Sleep until something interrupts; sigsuspend never returns otherwise.
        let r = crate::wait::wait_until(&[], None, || None::<()>);
        if r.is_err() && crate::wait::Interruptible::interrupted(&*shared) {
            return Err(Errno::ERESTARTNOHAND);
        }
    }
}

/// pause(2).
pub fn pause(t: &mut Task, _a: &[u64; 6]) -> Result<u64, Errno> {
    let _ = t;
    loop {
        let r = crate::wait::wait_until(&[], None, || None::<()>);
        if r.is_err() {
            return Err(Errno::ERESTARTNOHAND);
        }
    }
}

/// rt_sigtimedwait(2): takes a pending signal of `set` without running its handler.
pub fn rt_sigtimedwait(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (uset, uinfo, uts, size) = (a[0], a[1], a[2], a[3]);
    let set = read_sigset(t, uset, size)? & !UNBLOCKABLE;
    let deadline = super::sys_time::relative_deadline(t, uts)?;
    // While waiting, the signals of the set are unblocked (so they interrupt the wait)
    // but taken here rather than delivered.
    let take = |t: &Task| t.tree().take_from_set(t.tid, set);
    if let Some(info) = take(t) {
        return finish_wait(t, uinfo, info);
    }
    // The set's signals stay blocked (so none is delivered or kills the process) but
    // wake this thread when they arrive.
    let set_wait = |t: &Task, v: u64| {
        if let Some(e) = t.tree().tasks.get_mut(&t.tid) {
            e.sigwait = v;
        }
    };
    set_wait(t, set);
    let r = crate::wait::wait_until(&[], deadline, || take(t));
    set_wait(t, 0);
    match r {
        Ok(info) => finish_wait(t, uinfo, info),
        Err(crate::wait::WaitError::TimedOut) => Err(Errno::EAGAIN),
        Err(crate::wait::WaitError::Interrupted) => {
            // One of the set may have arrived at the same time as the interruption.
            match take(t) {
                Some(info) => finish_wait(t, uinfo, info),
                None => Err(Errno::EINTR),
            }
        }
    }
}

fn finish_wait(t: &Task, uinfo: u64, info: SigInfo) -> Result<u64, Errno> {
    if uinfo != 0 {
        t.mm.copy_out(uinfo, &info.0)?;
    }
    Ok(info.signo() as u64)
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
