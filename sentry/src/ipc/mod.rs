//! System V IPC (svipc(7)) of one sandbox: shared memory segments (`shm`), semaphore
//! sets (`sem`) and message queues (`msg`). What the three share is here: the
//! permission record (`struct ipc64_perm`), ids that encode an index and a sequence
//! number as Linux's do, keys, and the permission and ownership checks.

pub mod msg;
pub mod sem;
pub mod shm;

use crate::task::Task;
use std::collections::BTreeMap;
use syscalls_table::Errno;

pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: u64 = 0o1000;
pub const IPC_EXCL: u64 = 0o2000;
pub const IPC_NOWAIT: u64 = 0o4000;

pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;

/// Ids are `seq * IPCMNI + index`.
const IPCMNI: i32 = 32768;

/// Read and write permission as ipcperms() takes them.
pub const S_IRUGO: u32 = 0o444;
pub const S_IWUGO: u32 = 0o222;

/// The whole of System V IPC of a sandbox (its one IPC namespace).
#[derive(Default)]
pub struct Ipc {
    pub shm: shm::ShmRegistry,
    pub sem: sem::SemRegistry,
    pub msg: msg::MsgRegistry,
}

/// Who is asking, for permission checks.
#[derive(Clone, Copy, Debug)]
pub struct IpcCred {
    pub uid: u32,
    pub gid: u32,
    pub pid: i32,
    /// The effective capabilities.
    pub caps: u64,
}

impl IpcCred {
    pub fn of(t: &Task) -> IpcCred {
        IpcCred {
            uid: t.creds.uid,
            gid: t.creds.gid,
            pid: t.tgid,
            caps: t.creds.caps.effective,
        }
    }

    pub fn capable(&self, cap: u32) -> bool {
        self.caps & crate::caps::bit(cap) != 0
    }
}

/// `struct kern_ipc_perm`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub mode: u32,
    pub seq: u16,
}

impl Perm {
    pub fn new(key: i32, flags: u64, c: IpcCred) -> Perm {
        Perm {
            key,
            uid: c.uid,
            gid: c.gid,
            cuid: c.uid,
            cgid: c.gid,
            mode: (flags & 0o777) as u32,
            seq: 0,
        }
    }

    /// ipcperms(): whether `c` has the access `flag` asks for (any of its rwx bits, in
    /// any of the three classes); CAP_IPC_OWNER always has.
    pub fn allows(&self, c: IpcCred, flag: u32) -> bool {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = self.mode;
        if c.uid == self.cuid || c.uid == self.uid {
            granted >>= 6;
        } else if c.gid == self.cgid || c.gid == self.gid {
            granted >>= 3;
        }
        requested & !granted & 0o7 == 0 || c.capable(crate::caps::CAP_IPC_OWNER)
    }

    pub fn check(&self, c: IpcCred, flag: u32) -> Result<(), Errno> {
        if self.allows(c, flag) {
            Ok(())
        } else {
            Err(Errno::EACCES)
        }
    }

    /// IPC_SET and IPC_RMID: the owner, the creator or CAP_SYS_ADMIN (EPERM).
    pub fn check_owner(&self, c: IpcCred) -> Result<(), Errno> {
        if c.uid == self.uid || c.uid == self.cuid || c.capable(crate::caps::CAP_SYS_ADMIN) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// IPC_SET: the new owner and the permission bits from a `struct ipc64_perm`.
    pub fn set_from(&mut self, b: &[u8]) {
        self.uid = u32_at(b, 4);
        self.gid = u32_at(b, 8);
        self.mode = (self.mode & !0o777) | (u32_at(b, 20) & 0o777);
    }

    /// `struct ipc64_perm` (48 bytes).
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut b = [0u8; 48];
        b[0..4].copy_from_slice(&self.key.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..12].copy_from_slice(&self.gid.to_le_bytes());
        b[12..16].copy_from_slice(&self.cuid.to_le_bytes());
        b[16..20].copy_from_slice(&self.cgid.to_le_bytes());
        b[20..24].copy_from_slice(&self.mode.to_le_bytes());
        b[24..26].copy_from_slice(&self.seq.to_le_bytes());
        b
    }
}

pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap_or_default())
}

pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

pub fn put_i32(b: &mut [u8], off: usize, v: i32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The realtime clock in seconds, for the IPC time stamps.
pub fn now_secs() -> i64 {
    crate::host::clock_gettime(libc::CLOCK_REALTIME).map_or(0, |t| t.tv_sec)
}

/// Objects of one kind by index, with Linux's id allocation: indexes are taken
/// cyclically, and the sequence number grows each time the index wraps.
pub struct Ids<T> {
    objs: BTreeMap<i32, (Perm, T)>,
    last_idx: i32,
    seq: u16,
    /// Most objects at once (SHMMNI, SEMMNI, MSGMNI).
    max: usize,
}

impl<T> Ids<T> {
    pub fn new(max: usize) -> Ids<T> {
        Ids {
            objs: BTreeMap::new(),
            last_idx: -1,
            seq: 0,
            max,
        }
    }

    /// Adds an object; returns its id (ENOSPC when the namespace is full).
    pub fn add(&mut self, mut perm: Perm, obj: T) -> Result<i32, Errno> {
        if self.objs.len() >= self.max {
            return Err(Errno::ENOSPC);
        }
        let free = |from: i32, objs: &BTreeMap<i32, (Perm, T)>| {
            (from..IPCMNI).find(|i| !objs.contains_key(i))
        };
        let idx = match free(self.last_idx + 1, &self.objs) {
            Some(i) => i,
            None => free(0, &self.objs).ok_or(Errno::ENOSPC)?,
        };
        if idx <= self.last_idx {
            self.seq = (self.seq + 1) % (i32::MAX / IPCMNI) as u16;
        }
        self.last_idx = idx;
        perm.seq = self.seq;
        self.objs.insert(idx, (perm, obj));
        Ok(self.seq as i32 * IPCMNI + idx)
    }

    fn split(id: i32) -> Option<(i32, u16)> {
        (id >= 0).then_some((id % IPCMNI, (id / IPCMNI) as u16))
    }

    /// The object with id `id` (EINVAL when there is none, or its index was reused).
    pub fn get(&self, id: i32) -> Result<&(Perm, T), Errno> {
        let (idx, seq) = Self::split(id).ok_or(Errno::EINVAL)?;
        self.objs
            .get(&idx)
            .filter(|(p, _)| p.seq == seq)
            .ok_or(Errno::EINVAL)
    }

    pub fn get_mut(&mut self, id: i32) -> Result<&mut (Perm, T), Errno> {
        let (idx, seq) = Self::split(id).ok_or(Errno::EINVAL)?;
        self.objs
            .get_mut(&idx)
            .filter(|(p, _)| p.seq == seq)
            .ok_or(Errno::EINVAL)
    }

    pub fn remove(&mut self, id: i32) -> Option<(Perm, T)> {
        let (idx, _) = Self::split(id)?;
        self.get(id).ok()?;
        self.objs.remove(&idx)
    }

    /// The id of the object with key `key` (not IPC_PRIVATE).
    pub fn find_key(&self, key: i32) -> Option<i32> {
        self.objs
            .iter()
            .find(|(_, (p, _))| p.key == key)
            .map(|(&idx, (p, _))| p.seq as i32 * IPCMNI + idx)
    }

    /// The id of the object at index `idx` (SHM_STAT and friends).
    pub fn id_at(&self, idx: i32) -> Option<i32> {
        self.objs
            .get(&idx)
            .map(|(p, _)| p.seq as i32 * IPCMNI + idx)
    }

    /// The highest index in use (IPC_INFO), 0 when none.
    pub fn max_idx(&self) -> i32 {
        self.objs.keys().next_back().copied().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.objs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objs.is_empty()
    }

    pub fn ids(&self) -> Vec<i32> {
        self.objs
            .iter()
            .map(|(&i, (p, _))| p.seq as i32 * IPCMNI + i)
            .collect()
    }

    pub fn values(&self) -> impl Iterator<Item = &(Perm, T)> {
        self.objs.values()
    }
}

/// What the *get calls share (ipcget): a private object is always new; a key finds its
/// object or, with IPC_CREAT, makes one. `check` validates an existing object (size)
/// before the permission check; `make` creates one.
pub fn ipcget<T>(
    ids: &mut Ids<T>,
    key: i32,
    flags: u64,
    c: IpcCred,
    check: impl FnOnce(&T) -> Result<(), Errno>,
    make: impl FnOnce() -> Result<T, Errno>,
) -> Result<i32, Errno> {
    if key != IPC_PRIVATE
        && let Some(id) = ids.find_key(key)
    {
        if flags & IPC_CREAT != 0 && flags & IPC_EXCL != 0 {
            return Err(Errno::EEXIST);
        }
        let (perm, obj) = ids.get(id)?;
        check(obj)?;
        perm.check(c, (flags & 0o777) as u32)?;
        return Ok(id);
    }
    if key != IPC_PRIVATE && flags & IPC_CREAT == 0 {
        return Err(Errno::ENOENT);
    }
    let obj = make()?;
    ids.add(Perm::new(key, flags, c), obj)
}

/// A process ended (the last thread of `t`'s group): its semaphore adjustments are
/// applied and its shared memory detached.
pub fn process_exit(t: &mut Task) {
    let k = t.k.clone();
    k.ipc.sem.exit(t.tgid);
    shm::detach_all(t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cycle_and_bump_the_sequence() {
        let mut ids: Ids<()> = Ids::new(10);
        let c = IpcCred {
            uid: 0,
            gid: 0,
            pid: 1,
            caps: crate::caps::ALL,
        };
        let a = ids.add(Perm::new(0, 0o600, c), ()).unwrap();
        let b = ids.add(Perm::new(5, 0o600, c), ()).unwrap();
        assert_eq!((a, b), (0, 1));
        assert_eq!(ids.find_key(5), Some(1));
        ids.remove(a).unwrap();
        // Index 0 is free again, but the next index is taken first.
        assert_eq!(ids.add(Perm::new(0, 0o600, c), ()).unwrap(), 2);
        assert!(ids.get(a).is_err());
    }

    #[test]
    fn permissions() {
        let owner = IpcCred {
            uid: 1000,
            gid: 100,
            pid: 1,
            caps: 0,
        };
        let other = IpcCred {
            uid: 1001,
            gid: 101,
            pid: 2,
            caps: 0,
        };
        let p = Perm::new(0, 0o640, owner);
        assert!(p.allows(owner, S_IRUGO | S_IWUGO));
        assert!(!p.allows(other, S_IRUGO));
        let group = IpcCred { gid: 100, ..other };
        assert!(p.allows(group, S_IRUGO));
        assert!(!p.allows(group, S_IWUGO));
        assert_eq!(p.check_owner(other), Err(Errno::EPERM));
    }
}
