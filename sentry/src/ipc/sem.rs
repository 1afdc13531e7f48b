//! System V semaphores: semget(2), semop(2)/semtimedop(2), semctl(2). A semop applies
//! all its operations or none; one that would block sleeps on the set's wait queue
//! until a change lets it through, the set is removed (EIDRM), its timeout passes
//! (EAGAIN) or a signal comes (EINTR: never restarted, as Linux). SEM_UNDO adjustments
//! are kept per process and applied when it exits (`exit`).

use super::{
    IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, Ids, IpcCred, Perm, S_IRUGO, S_IWUGO, now_secs,
    put_u64,
};
use crate::task::Task;
use crate::wait::{self, WaitError, WaitQueue};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use syscalls_table::Errno;

pub const SEM_UNDO: i16 = 0x1000;
pub const GETPID: i32 = 11;
pub const GETVAL: i32 = 12;
pub const GETALL: i32 = 13;
pub const GETNCNT: i32 = 14;
pub const GETZCNT: i32 = 15;
pub const SETVAL: i32 = 16;
pub const SETALL: i32 = 17;
pub const SEM_STAT: i32 = 18;
pub const SEM_INFO: i32 = 19;
pub const SEM_STAT_ANY: i32 = 20;

/// Linux's defaults (ipc/sem.c, uapi/linux/sem.h).
pub const SEMMSL: usize = 32000;
pub const SEMMNI: usize = 32000;
pub const SEMOPM: usize = 500;
pub const SEMVMX: i32 = 32767;
const SEMAEM: i32 = SEMVMX;
const SEMMNS: usize = SEMMNI * SEMMSL;

/// One operation of a semop: sem_num, sem_op, sem_flg.
#[derive(Clone, Copy, Debug)]
pub struct SemBuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

#[derive(Clone, Copy, Debug, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

struct SemSet {
    sems: Vec<Sem>,
    otime: i64,
    ctime: i64,
    wq: Arc<WaitQueue>,
    /// Tasks blocked in semop: the semaphore of the operation that blocked them and
    /// whether it waits for zero (GETZCNT) or for an increase (GETNCNT).
    waiters: BTreeMap<u64, (u16, bool)>,
}

#[derive(Default)]
struct Ns {
    ids: Option<Ids<SemSet>>,
    /// SEM_UNDO adjustments per process: semid -> adjustment per semaphore.
    undo: HashMap<i32, BTreeMap<i32, Vec<i32>>>,
    next_waiter: u64,
    used_sems: usize,
}

impl Ns {
    fn ids(&mut self) -> &mut Ids<SemSet> {
        self.ids.get_or_insert_with(|| Ids::new(SEMMNI))
    }
}

#[derive(Default)]
pub struct SemRegistry {
    ns: Mutex<Ns>,
}

impl SemRegistry {
    fn lock(&self) -> MutexGuard<'_, Ns> {
        self.ns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// semget(2).
    pub fn semget(&self, c: IpcCred, key: i32, nsems: i32, flags: u64) -> Result<i32, Errno> {
        if nsems < 0 || nsems as usize > SEMMSL {
            return Err(Errno::EINVAL);
        }
        let mut ns = self.lock();
        let used = ns.used_sems;
        let id = super::ipcget(
            ns.ids(),
            key,
            flags,
            c,
            |s| {
                if nsems as usize > s.sems.len() {
                    Err(Errno::EINVAL)
                } else {
                    Ok(())
                }
            },
            || {
                if nsems == 0 {
                    return Err(Errno::EINVAL);
                }
                if used + nsems as usize > SEMMNS {
                    return Err(Errno::ENOSPC);
                }
                Ok(SemSet {
                    sems: vec![Sem::default(); nsems as usize],
                    otime: 0,
                    ctime: now_secs(),
                    wq: Arc::new(WaitQueue::default()),
                    waiters: BTreeMap::new(),
                })
            },
        )?;
        ns.used_sems = ns.ids().values().map(|(_, s)| s.sems.len()).sum();
        Ok(id)
    }

    /// semop(2)/semtimedop(2) with the operations already read and checked for count.
    pub fn semop(
        &self,
        c: IpcCred,
        id: i32,
        sops: &[SemBuf],
        deadline: Option<Instant>,
    ) -> Result<(), Errno> {
        let max = sops.iter().map(|s| s.num).max().unwrap_or(0);
        let alter = sops.iter().any(|s| s.op != 0);
        let (wq, me) = {
            let mut ns = self.lock();
            let (perm, set) = ns.ids().get(id)?;
            if max as usize >= set.sems.len() {
                return Err(Errno::EFBIG);
            }
            perm.check(c, if alter { S_IWUGO } else { S_IRUGO })?;
            let wq = set.wq.clone();
            ns.next_waiter += 1;
            (wq, ns.next_waiter)
        };
        let r = wait::wait_until(&[&wq], deadline, || {
            let mut ns = self.lock();
            let r = Self::attempt(&mut ns, c.pid, id, sops, me);
            if r.is_some()
                && let Ok((_, set)) = ns.ids().get_mut(id)
            {
                set.waiters.remove(&me);
            }
            r
        });
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                let mut ns = self.lock();
                if let Ok((_, set)) = ns.ids().get_mut(id) {
                    set.waiters.remove(&me);
                }
                Err(match e {
                    WaitError::Interrupted => Errno::EINTR,
                    WaitError::TimedOut => Errno::EAGAIN,
                })
            }
        };
        if r.is_ok() {
            wq.notify_all();
        }
        r
    }

    /// One try at a semop: Some(result) when it is done (applied or failed), None when
    /// it must wait.
    fn attempt(
        ns: &mut Ns,
        pid: i32,
        id: i32,
        sops: &[SemBuf],
        me: u64,
    ) -> Option<Result<(), Errno>> {
        let undo_needed = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
        let Some(Ok((_, set))) = ns.ids.as_mut().map(|ids| ids.get_mut(id)) else {
            // Removed while we waited.
            return Some(Err(Errno::EIDRM));
        };
        let n = set.sems.len();
        let mut vals: Vec<i32> = set.sems.iter().map(|s| s.val).collect();
        let mut adj: Vec<i32> = if undo_needed {
            ns.undo
                .get(&pid)
                .and_then(|m| m.get(&id))
                .cloned()
                .unwrap_or_else(|| vec![0; n])
        } else {
            Vec::new()
        };
        for s in sops {
            let i = s.num as usize;
            let op = i32::from(s.op);
            let blocked = if op == 0 {
                vals[i] != 0
            } else {
                vals[i] + op < 0
            };
            if blocked {
                if s.flg & IPC_NOWAIT as i16 != 0 {
                    return Some(Err(Errno::EAGAIN));
                }
                set.waiters.insert(me, (s.num, op == 0));
                return None;
            }
            if vals[i] + op > SEMVMX {
                return Some(Err(Errno::ERANGE));
            }
            if s.flg & SEM_UNDO != 0 {
                let u = adj[i] - op;
                if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                    return Some(Err(Errno::ERANGE));
                }
                adj[i] = u;
            }
            vals[i] += op;
        }
        for s in sops {
            set.sems[s.num as usize].pid = pid;
        }
        for (sem, v) in set.sems.iter_mut().zip(vals) {
            sem.val = v;
        }
        set.otime = now_secs();
        if undo_needed {
            ns.undo.entry(pid).or_default().insert(id, adj);
        }
        Some(Ok(()))
    }

    /// A process exits: its SEM_UNDO adjustments are applied (values kept within 0 and
    /// SEMVMX), and waiters look again.
    pub fn exit(&self, pid: i32) {
        let mut ns = self.lock();
        let Some(list) = ns.undo.remove(&pid) else {
            return;
        };
        let mut wake = Vec::new();
        for (id, adj) in list {
            let Ok((_, set)) = ns.ids().get_mut(id) else {
                continue;
            };
            for (sem, a) in set.sems.iter_mut().zip(adj) {
                if a != 0 {
                    sem.val = (sem.val + a).clamp(0, SEMVMX);
                    sem.pid = pid;
                }
            }
            wake.push(set.wq.clone());
        }
        drop(ns);
        for wq in wake {
            wq.notify_all();
        }
    }

    /// Clears the adjustments of every process for semaphore `num` of set `id` (all of
    /// them when None): SETVAL and SETALL.
    fn clear_undo(ns: &mut Ns, id: i32, num: Option<usize>) {
        for m in ns.undo.values_mut() {
            if let Some(adj) = m.get_mut(&id) {
                match num {
                    Some(i) => adj[i] = 0,
                    None => adj.iter_mut().for_each(|a| *a = 0),
                }
            }
        }
    }
}

/// `struct semid64_ds` (104 bytes).
fn semid_ds(perm: &Perm, s: &SemSet) -> [u8; 104] {
    let mut b = [0u8; 104];
    b[..48].copy_from_slice(&perm.to_bytes());
    put_u64(&mut b, 48, s.otime as u64);
    put_u64(&mut b, 64, s.ctime as u64);
    put_u64(&mut b, 80, s.sems.len() as u64);
    b
}

/// semctl(2); `arg` is the union semun passed by value.
pub fn semctl(t: &Task, id: i32, semnum: i32, cmd: i32, arg: u64) -> Result<u64, Errno> {
    let c = IpcCred::of(t);
    let reg = &t.k.ipc.sem;
    if id < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        super::IPC_INFO | SEM_INFO => {
            let mut ns = reg.lock();
            let (in_use, used) = (ns.ids().len() as i32, ns.used_sems as i32);
            let max_idx = ns.ids().max_idx();
            drop(ns);
            let (semusz, semaem) = if cmd == SEM_INFO {
                (in_use, used)
            } else {
                (20, SEMAEM)
            };
            let v: [i32; 10] = [
                SEMMNS as i32,
                SEMMNI as i32,
                SEMMNS as i32,
                SEMMNS as i32,
                SEMMSL as i32,
                SEMOPM as i32,
                SEMOPM as i32,
                semusz,
                SEMVMX,
                semaem,
            ];
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            t.mm.copy_out(arg, &b)?;
            Ok(max_idx as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let mut ns = reg.lock();
            let ids = ns.ids();
            let id = if cmd == IPC_STAT {
                id
            } else {
                ids.id_at(id).ok_or(Errno::EINVAL)?
            };
            let (perm, set) = ids.get(id)?;
            if cmd != SEM_STAT_ANY {
                perm.check(c, S_IRUGO)?;
            }
            let b = semid_ds(perm, set);
            drop(ns);
            t.mm.copy_out(arg, &b)?;
            Ok(if cmd == IPC_STAT { 0 } else { id as u64 })
        }
        GETVAL | GETPID | GETNCNT | GETZCNT | GETALL => {
            let mut ns = reg.lock();
            let (perm, set) = ns.ids().get(id)?;
            perm.check(c, S_IRUGO)?;
            if cmd == GETALL {
                let b: Vec<u8> = set
                    .sems
                    .iter()
                    .flat_map(|s| (s.val as u16).to_le_bytes())
                    .collect();
                drop(ns);
                t.mm.copy_out(arg, &b)?;
                return Ok(0);
            }
            let i = usize::try_from(semnum)
                .ok()
                .filter(|&i| i < set.sems.len())
                .ok_or(Errno::EINVAL)?;
            let count = |zero: bool| {
                set.waiters
                    .values()
                    .filter(|&&(n, z)| n as usize == i && z == zero)
                    .count() as u64
            };
            Ok(match cmd {
                GETVAL => set.sems[i].val as u64,
                GETPID => set.sems[i].pid as u64,
                GETNCNT => count(false),
                _ => count(true),
            })
        }
        SETVAL => {
            let val = arg as u32 as i32;
            if !(0..=SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            let mut ns = reg.lock();
            let (perm, set) = ns.ids().get_mut(id)?;
            let i = usize::try_from(semnum)
                .ok()
                .filter(|&i| i < set.sems.len())
                .ok_or(Errno::EINVAL)?;
            perm.check(c, S_IWUGO)?;
            set.sems[i] = Sem { val, pid: c.pid };
            set.ctime = now_secs();
            let wq = set.wq.clone();
            SemRegistry::clear_undo(&mut ns, id, Some(i));
            drop(ns);
            wq.notify_all();
            Ok(0)
        }
        SETALL => {
            let n = {
                let mut ns = reg.lock();
                let (perm, set) = ns.ids().get(id)?;
                perm.check(c, S_IWUGO)?;
                set.sems.len()
            };
            let mut b = vec![0u8; n * 2];
            t.mm.copy_in(arg, &mut b)?;
            let vals: Vec<i32> = b
                .chunks(2)
                .map(|x| i32::from(u16::from_le_bytes([x[0], x[1]])))
                .collect();
            if vals.iter().any(|&v| v > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            let mut ns = reg.lock();
            let (_, set) = ns.ids().get_mut(id).map_err(|_| Errno::EIDRM)?;
            for (s, v) in set.sems.iter_mut().zip(vals) {
                *s = Sem { val: v, pid: c.pid };
            }
            set.ctime = now_secs();
            let wq = set.wq.clone();
            SemRegistry::clear_undo(&mut ns, id, None);
            drop(ns);
            wq.notify_all();
            Ok(0)
        }
        IPC_SET => {
            let mut b = [0u8; 104];
            t.mm.copy_in(arg, &mut b)?;
            let mut ns = reg.lock();
            let (perm, set) = ns.ids().get_mut(id)?;
            perm.check_owner(c)?;
            perm.set_from(&b[..48]);
            set.ctime = now_secs();
            Ok(0)
        }
        IPC_RMID => {
            let mut ns = reg.lock();
            let (perm, _) = ns.ids().get(id)?;
            perm.check_owner(c)?;
            let Some((_, set)) = ns.ids().remove(id) else {
                return Err(Errno::EINVAL);
            };
            for m in ns.undo.values_mut() {
                m.remove(&id);
            }
            ns.used_sems = ns.ids().values().map(|(_, s)| s.sems.len()).sum();
            drop(ns);
            // Waiters find the set gone: EIDRM.
            set.wq.notify_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
