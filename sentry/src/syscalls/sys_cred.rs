//! Credentials (credentials(7), capabilities(7)): setuid(2), setgid(2), setreuid(2),
//! setregid(2), setresuid(2), setresgid(2), setfsuid(2), setfsgid(2), setgroups(2),
//! capget(2), capset(2). Changing uids needs CAP_SETUID, gids CAP_SETGID; without it a
//! task may only move among its own real, effective and saved ids. A uid change moves
//! the capability sets as Linux does (`caps::fix_setuid`). The effective ids are what
//! the sandbox's permission checks use (through fsuid/fsgid, which follow them).

use crate::caps::{self, CAP_SETGID, CAP_SETUID, Uids};
use crate::task::Task;
use syscalls_table::Errno;

const NOCHANGE: u32 = u32::MAX;

fn id(v: u64) -> u32 {
    v as u32
}

fn uids(t: &Task) -> Uids {
    let c = &t.creds;
    Uids {
        ruid: c.ruid,
        euid: c.uid,
        suid: c.suid,
        fsuid: c.fsuid,
    }
}

/// After a change of real, effective or saved gids: fsgid follows the effective gid.
fn fix_fsgid(t: &mut Task) {
    t.creds.fsgid = t.creds.gid;
    t.commit_creds();
}

/// After a change of real, effective or saved uids: fsuid follows the effective uid,
/// the capability sets follow the uids (from `old`), and other tasks see the result.
fn fix_fs(t: &mut Task, old: Uids) {
    t.creds.fsuid = t.creds.uid;
    let new = uids(t);
    let c = &mut t.creds;
    caps::fix_setuid(&mut c.caps, c.securebits, old, new);
    t.commit_creds();
}

/// setresuid(2).
pub fn setresuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = uids(t);
    let (r, e, s) = (id(a[0]), id(a[1]), id(a[2]));
    let c = &t.creds;
    let own = |x: u32| x == NOCHANGE || x == c.ruid || x == c.uid || x == c.suid;
    let allowed = own(r) && own(e) && own(s);
    if !t.capable(CAP_SETUID) && !allowed {
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
    fix_fs(t, old);
    Ok(0)
}

/// setresgid(2).
pub fn setresgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e, s) = (id(a[0]), id(a[1]), id(a[2]));
    let c = &t.creds;
    let own = |x: u32| x == NOCHANGE || x == c.rgid || x == c.gid || x == c.sgid;
    let allowed = own(r) && own(e) && own(s);
    if !t.capable(CAP_SETGID) && !allowed {
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
    fix_fsgid(t);
    Ok(0)
}

/// setreuid(2): the saved uid becomes the new effective uid when the real uid is set or
/// the effective uid changes to something other than the old real uid.
pub fn setreuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = uids(t);
    let (r, e) = (id(a[0]), id(a[1]));
    let c = t.creds.clone();
    if !t.capable(CAP_SETUID) {
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
    fix_fs(t, old);
    Ok(0)
}

/// setregid(2).
pub fn setregid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (r, e) = (id(a[0]), id(a[1]));
    let c = t.creds.clone();
    if !t.capable(CAP_SETGID) {
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
    fix_fsgid(t);
    Ok(0)
}

/// setuid(2): privileged, all three ids; else the effective one, to the real or saved.
pub fn setuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let old = uids(t);
    let u = id(a[0]);
    if u == NOCHANGE {
        return Err(Errno::EINVAL);
    }
    if t.capable(CAP_SETUID) {
        t.creds.ruid = u;
        t.creds.suid = u;
    } else if u != t.creds.ruid && u != t.creds.suid {
        return Err(Errno::EPERM);
    }
    t.creds.uid = u;
    fix_fs(t, old);
    Ok(0)
}

/// setgid(2).
pub fn setgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let g = id(a[0]);
    if g == NOCHANGE {
        return Err(Errno::EINVAL);
    }
    if t.capable(CAP_SETGID) {
        t.creds.rgid = g;
        t.creds.sgid = g;
    } else if g != t.creds.rgid && g != t.creds.sgid {
        return Err(Errno::EPERM);
    }
    t.creds.gid = g;
    fix_fsgid(t);
    Ok(0)
}

/// setfsuid(2): returns the previous fsuid whether or not it changed.
pub fn setfsuid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let u = id(a[0]);
    let old = t.creds.fsuid;
    let c = &t.creds;
    let allowed = t.capable(CAP_SETUID) || u == c.ruid || u == c.uid || u == c.suid || u == c.fsuid;
    if allowed && u != NOCHANGE {
        let c = &mut t.creds;
        caps::fix_setfsuid(&mut c.caps, c.securebits, old, u);
        c.fsuid = u;
        t.commit_creds();
    }
    Ok(u64::from(old))
}

/// setfsgid(2).
pub fn setfsgid(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let g = id(a[0]);
    let old = t.creds.fsgid;
    let c = &t.creds;
    let allowed = t.capable(CAP_SETGID) || g == c.rgid || g == c.gid || g == c.sgid || g == c.fsgid;
    if allowed && g != NOCHANGE {
        t.creds.fsgid = g;
        t.commit_creds();
    }
    Ok(u64::from(old))
}

/// setgroups(2): needs privilege; at most NGROUPS_MAX (65536) groups.
pub fn setgroups(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let n = a[0] as i32;
    if !(0..=65536).contains(&n) {
        return Err(Errno::EINVAL);
    }
    if !t.capable(CAP_SETGID) {
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
    t.commit_creds();
    Ok(0)
}

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// The header's version: how many 32-bit words each set takes. An unknown version is
/// EINVAL with the preferred one (v3) written back.
fn cap_version(t: &Task, hdr: u64) -> Result<usize, Errno> {
    let mut v = [0u8; 4];
    t.mm.copy_in(hdr, &mut v)?;
    match u32::from_le_bytes(v) {
        CAP_V1 => Ok(1),
        CAP_V2 | CAP_V3 => Ok(2),
        _ => {
            t.mm.copy_out(hdr, &CAP_V3.to_le_bytes())?;
            Err(Errno::EINVAL)
        }
    }
}

fn cap_pid(t: &Task, hdr: u64) -> Result<i32, Errno> {
    let mut p = [0u8; 4];
    t.mm.copy_in(hdr.wrapping_add(4), &mut p)?;
    Ok(i32::from_le_bytes(p))
}

/// capget(2): the effective, permitted and inheritable sets of the calling thread (pid 0
/// or its own tid) or of thread `pid`. A NULL data pointer only probes the version.
pub fn capget(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (hdr, data) = (a[0], a[1]);
    let words = match cap_version(t, hdr) {
        Ok(w) => w,
        Err(Errno::EINVAL) if data == 0 => return Ok(0),
        Err(e) => return Err(e),
    };
    if data == 0 {
        return Ok(0);
    }
    let pid = cap_pid(t, hdr)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = if pid == 0 || pid == t.tid {
        t.creds.caps
    } else {
        t.tree()
            .tasks
            .get(&pid)
            .map(|e| e.creds.caps)
            .ok_or(Errno::ESRCH)?
    };
    let mut out = Vec::with_capacity(12 * words);
    for w in 0..words {
        for set in [c.effective, c.permitted, c.inheritable] {
            out.extend_from_slice(&((set >> (32 * w)) as u32).to_le_bytes());
        }
    }
    t.mm.copy_out(data, &out)?;
    Ok(0)
}

/// capset(2): only the calling thread's sets (another pid: EPERM). The new permitted set
/// must be within the old one, the effective within the new permitted, and the
/// inheritable within the old inheritable and bounding sets and, without CAP_SETPCAP,
/// within the old inheritable and permitted ones. Ambient capabilities no longer both
/// permitted and inheritable go.
pub fn capset(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (hdr, data) = (a[0], a[1]);
    let words = cap_version(t, hdr)?;
    let pid = cap_pid(t, hdr)?;
    if pid != 0 && pid != t.tid {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; 12 * words];
    t.mm.copy_in(data, &mut b)?;
    let word = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    let mut sets = [0u64; 3];
    for w in 0..words {
        for (k, set) in sets.iter_mut().enumerate() {
            *set |= word(12 * w + 4 * k) << (32 * w);
        }
    }
    let [effective, permitted, inheritable] = sets.map(|s| s & caps::ALL);
    let old = t.creds.caps;
    let within = |x: u64, y: u64| x & !y == 0;
    if !t.capable(caps::CAP_SETPCAP) && !within(inheritable, old.inheritable | old.permitted) {
        return Err(Errno::EPERM);
    }
    if !within(inheritable, old.inheritable | old.bounding)
        || !within(permitted, old.permitted)
        || !within(effective, permitted)
    {
        return Err(Errno::EPERM);
    }
    let c = &mut t.creds.caps;
    c.effective = effective;
    c.permitted = permitted;
    c.inheritable = inheritable;
    c.ambient &= permitted & inheritable;
    t.commit_creds();
    Ok(0)
}
