//! Credentials (credentials(7)): setuid(2), setgid(2), setreuid(2), setregid(2),
//! setresuid(2), setresgid(2), setfsuid(2), setfsgid(2), setgroups(2). A task with
//! effective uid 0 has the capabilities (CAP_SETUID, CAP_SETGID) inside the sandbox; any
//! other task may only move among its own real, effective and saved ids. The effective
//! ids are what the sandbox's permission checks use (through fsuid/fsgid, which follow
//! them).

use crate::task::Task;
use syscalls_table::Errno;

const NOCHANGE: u32 = u32::MAX;

fn id(v: u64) -> u32 {
    v as u32
}

fn privileged(t: &Task) -> bool {
    t.creds.uid == 0
}

/// Linux drops the capabilities when no uid is 0 any more; the sandbox's privilege is
/// "effective uid 0", so nothing more to do. fsuid follows the effective uid.
fn fix_fs(t: &mut Task) {
    t.creds.fsuid = t.creds.uid;
    t.creds.fsgid = t.creds.gid;
    // What other processes check (kill, setpriority, sched_setscheduler): the real,
    // effective and saved uids.
    let (ruid, euid, suid) = (t.creds.ruid, t.creds.uid, t.creds.suid);
    let tgid = t.tgid;
    if let Some(g) = t.tree().groups.get_mut(&tgid) {
        g.uid = ruid;
        g.euid = euid;
        g.suid = suid;
    }
}

/// setresuid(2).
pub fn setresuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e, s) = (id(a[0]), id(a[1]), id(a[2]));
    let c = &t.creds;
    let own = |x: u32| x == NOCHANGE || x == c.ruid || x == c.uid || x == c.suid;
    let allowed = own(r) && own(e) && own(s);
    if !privileged(t) && !allowed {
        return Err(Errno::EPERM);
    }
    let c = &mut t.creds;
    if r != NOCHANGE {
        c.ruid = r;
    }
    if e != NOCHANGE {
        c.uid = e;
    }
    if s != NOCHANGE {
        c.suid = s;
    }
    fix_fs(t);
    Ok(0)
}

/// setresgid(2).
pub fn setresgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e, s) = (id(a[0]), id(a[1]), id(a[2]));
    let c = &t.creds;
    let own = |x: u32| x == NOCHANGE || x == c.rgid || x == c.gid || x == c.sgid;
    let allowed = own(r) && own(e) && own(s);
    if !privileged(t) && !allowed {
        return Err(Errno::EPERM);
    }
    let c = &mut t.creds;
    if r != NOCHANGE {
        c.rgid = r;
    }
    if e != NOCHANGE {
        c.gid = e;
    }
    if s != NOCHANGE {
        c.sgid = s;
    }
    fix_fs(t);
    Ok(0)
}

/// setreuid(2): the saved uid becomes the new effective uid when the real uid is set or
/// the effective uid changes to something other than the old real uid.
pub fn setreuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e) = (id(a[0]), id(a[1]));
    let c = t.creds.clone();
    if !privileged(t) {
        if r != NOCHANGE && r != c.ruid && r != c.uid {
            return Err(Errno::EPERM);
        }
        if e != NOCHANGE && e != c.ruid && e != c.uid && e != c.suid {
            return Err(Errno::EPERM);
        }
    }
    let n = &mut t.creds;
    if r != NOCHANGE {
        n.ruid = r;
    }
    if e != NOCHANGE {
        n.uid = e;
    }
    if r != NOCHANGE || (e != NOCHANGE && e != c.ruid) {
        n.suid = n.uid;
    }
    fix_fs(t);
    Ok(0)
}

/// setregid(2).
pub fn setregid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e) = (id(a[0]), id(a[1]));
    let c = t.creds.clone();
    if !privileged(t) {
        if r != NOCHANGE && r != c.rgid && r != c.gid {
            return Err(Errno::EPERM);
        }
        if e != NOCHANGE && e != c.rgid && e != c.gid && e != c.sgid {
            return Err(Errno::EPERM);
        }
    }
    let n = &mut t.creds;
    if r != NOCHANGE {
        n.rgid = r;
    }
    if e != NOCHANGE {
        n.gid = e;
    }
    if r != NOCHANGE || (e != NOCHANGE && e != c.rgid) {
        n.sgid = n.gid;
    }
    fix_fs(t);
    Ok(0)
}

/// setuid(2): privileged, all three ids; else the effective one, to the real or saved.
pub fn setuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let u = id(a[0]);
    if u == NOCHANGE {
        return Err(Errno::EINVAL);
    }
    if privileged(t) {
        t.creds.ruid = u;
        t.creds.suid = u;
    } else if u != t.creds.ruid && u != t.creds.suid {
        return Err(Errno::EPERM);
    }
    t.creds.uid = u;
    fix_fs(t);
    Ok(0)
}

/// setgid(2).
pub fn setgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let g = id(a[0]);
    if g == NOCHANGE {
        return Err(Errno::EINVAL);
    }
    if privileged(t) {
        t.creds.rgid = g;
        t.creds.sgid = g;
    } else if g != t.creds.rgid && g != t.creds.sgid {
        return Err(Errno::EPERM);
    }
    t.creds.gid = g;
    fix_fs(t);
    Ok(0)
}

/// setfsuid(2): returns the previous fsuid whether or not it changed.
pub fn setfsuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let u = id(a[0]);
    let old = t.creds.fsuid;
    let c = &t.creds;
    let allowed = privileged(t) || u == c.ruid || u == c.uid || u == c.suid || u == c.fsuid;
    if allowed && u != NOCHANGE {
        t.creds.fsuid = u;
    }
    Ok(u64::from(old))
}

/// setfsgid(2).
pub fn setfsgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let g = id(a[0]);
    let old = t.creds.fsgid;
    let c = &t.creds;
    let allowed = privileged(t) || g == c.rgid || g == c.gid || g == c.sgid || g == c.fsgid;
    if allowed && g != NOCHANGE {
        t.creds.fsgid = g;
    }
    Ok(u64::from(old))
}

/// setgroups(2): needs privilege; at most NGROUPS_MAX (65536) groups.
pub fn setgroups(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let n = a[0] as i32;
    if !(0..=65536).contains(&n) {
        return Err(Errno::EINVAL);
    }
    if !privileged(t) {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; n as usize * 4];
    t.mm.copy_in(a[1], &mut b)?;
    let mut g: Vec<u32> = b
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    g.sort_unstable();
    t.creds.groups = g;
    Ok(0)
}
