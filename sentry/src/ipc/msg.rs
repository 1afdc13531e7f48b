//! System V message queues: msgget(2), msgsnd(2), msgrcv(2), msgctl(2). A queue holds
//! typed messages up to its byte limit (msg_qbytes); senders wait for room and
//! receivers for a matching message on the queue's wait queue, until the queue is
//! removed (EIDRM) or a signal comes (EINTR: never restarted, as Linux).

use super::{
    IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, Ids, IpcCred, Perm, S_IRUGO, S_IWUGO, now_secs,
    put_i32, put_u64,
};
use crate::task::Task;
use crate::wait::{self, WaitError, WaitQueue};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use syscalls_table::Errno;

pub const MSG_STAT: i32 = 11;
pub const MSG_INFO: i32 = 12;
pub const MSG_STAT_ANY: i32 = 13;
pub const MSG_NOERROR: u64 = 0o10000;
pub const MSG_EXCEPT: u64 = 0o20000;
pub const MSG_COPY: u64 = 0o40000;

/// Linux's defaults (uapi/linux/msg.h).
pub const MSGMAX: usize = 8192;
const MSGMNB: u64 = 16384;
const MSGMNI: usize = 32000;

struct Msg {
    mtype: i64,
    text: Vec<u8>,
}

struct Queue {
    msgs: VecDeque<Msg>,
    cbytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
    wq: Arc<WaitQueue>,
}

pub struct MsgRegistry {
    ids: Mutex<Ids<Queue>>,
}

impl Default for MsgRegistry {
    fn default() -> Self {
        MsgRegistry {
            ids: Mutex::new(Ids::new(MSGMNI)),
        }
    }
}

/// Which message msgrcv takes.
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    /// The lowest type up to this one.
    LessEqual(i64),
    /// MSG_COPY: the message at this position, left on the queue.
    Number(usize),
}

impl Search {
    fn new(msgtyp: i64, flags: u64) -> Search {
        if flags & MSG_COPY != 0 {
            return Search::Number(msgtyp.max(0) as usize);
        }
        match msgtyp {
            0 => Search::Any,
            t if t < 0 => Search::LessEqual(t.checked_neg().unwrap_or(i64::MAX)),
            t if flags & MSG_EXCEPT != 0 => Search::NotEqual(t),
            t => Search::Equal(t),
        }
    }

    fn find(&self, msgs: &VecDeque<Msg>) -> Option<usize> {
        match *self {
            Search::Any => (!msgs.is_empty()).then_some(0),
            Search::Equal(t) => msgs.iter().position(|m| m.mtype == t),
            Search::NotEqual(t) => msgs.iter().position(|m| m.mtype != t),
            Search::LessEqual(t) => msgs
                .iter()
                .enumerate()
                .filter(|(_, m)| m.mtype <= t)
                .min_by_key(|(i, m)| (m.mtype, *i))
                .map(|(i, _)| i),
            Search::Number(n) => (n < msgs.len()).then_some(n),
        }
    }
}

fn wait_errno(e: WaitError) -> Errno {
    match e {
        WaitError::Interrupted => Errno::EINTR,
        WaitError::TimedOut => Errno::EAGAIN,
    }
}

impl MsgRegistry {
    fn lock(&self) -> MutexGuard<'_, Ids<Queue>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// msgget(2).
    pub fn msgget(&self, c: IpcCred, key: i32, flags: u64) -> Result<i32, Errno> {
        let mut ids = self.lock();
        super::ipcget(
            &mut ids,
            key,
            flags,
            c,
            |_| Ok(()),
            || {
                Ok(Queue {
                    msgs: VecDeque::new(),
                    cbytes: 0,
                    qbytes: MSGMNB,
                    stime: 0,
                    rtime: 0,
                    ctime: now_secs(),
                    lspid: 0,
                    lrpid: 0,
                    wq: Arc::new(WaitQueue::default()),
                })
            },
        )
    }

    /// msgsnd(2) of a message already read from the application.
    pub fn msgsnd(
        &self,
        c: IpcCred,
        id: i32,
        mtype: i64,
        text: Vec<u8>,
        flags: u64,
    ) -> Result<(), Errno> {
        let wq = {
            let ids = self.lock();
            let (perm, q) = ids.get(id)?;
            perm.check(c, S_IWUGO)?;
            q.wq.clone()
        };
        let mut text = Some(text);
        let len = text.as_ref().map_or(0, |t| t.len() as u64);
        let r = wait::wait_until(&[&wq], None, || {
            let mut ids = self.lock();
            let Ok((perm, q)) = ids.get_mut(id) else {
                return Some(Err(Errno::EIDRM));
            };
            // Permissions may have changed while it waited.
            if let Err(e) = perm.check(c, S_IWUGO) {
                return Some(Err(e));
            }
            if len + q.cbytes <= q.qbytes && (q.msgs.len() as u64) < q.qbytes {
                q.msgs.push_back(Msg {
                    mtype,
                    text: text.take().unwrap_or_default(),
                });
                q.cbytes += len;
                q.lspid = c.pid;
                q.stime = now_secs();
                return Some(Ok(()));
            }
            if flags & IPC_NOWAIT != 0 {
                return Some(Err(Errno::EAGAIN));
            }
            None
        })
        .map_err(wait_errno)?;
        if r.is_ok() {
            wq.notify_all();
        }
        r
    }

    /// msgrcv(2): returns the message's type and text (cut to `size` with MSG_NOERROR).
    pub fn msgrcv(
        &self,
        c: IpcCred,
        id: i32,
        size: usize,
        msgtyp: i64,
        flags: u64,
    ) -> Result<(i64, Vec<u8>), Errno> {
        if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
            return Err(Errno::EINVAL);
        }
        let search = Search::new(msgtyp, flags);
        let wq = {
            let ids = self.lock();
            let (perm, q) = ids.get(id)?;
            perm.check(c, S_IRUGO)?;
            q.wq.clone()
        };
        let r = wait::wait_until(&[&wq], None, || {
            let mut ids = self.lock();
            let Ok((perm, q)) = ids.get_mut(id) else {
                return Some(Err(Errno::EIDRM));
            };
            if let Err(e) = perm.check(c, S_IRUGO) {
                return Some(Err(e));
            }
            match search.find(&q.msgs) {
                Some(i) => {
                    let m = &q.msgs[i];
                    if m.text.len() > size && flags & MSG_NOERROR == 0 {
                        return Some(Err(Errno::E2BIG));
                    }
                    if let Search::Number(_) = search {
                        let text = m.text[..m.text.len().min(size)].to_vec();
                        return Some(Ok((m.mtype, text)));
                    }
                    let m = q.msgs.remove(i)?;
                    q.cbytes -= m.text.len() as u64;
                    q.lrpid = c.pid;
                    q.rtime = now_secs();
                    let mut text = m.text;
                    text.truncate(size);
                    Some(Ok((m.mtype, text)))
                }
                None if flags & IPC_NOWAIT != 0 => Some(Err(Errno::ENOMSG)),
                None => None,
            }
        })
        .map_err(wait_errno)?;
        if r.is_ok() {
            wq.notify_all();
        }
        r
    }
}

/// `struct msqid64_ds` (120 bytes).
fn msqid_ds(perm: &Perm, q: &Queue) -> [u8; 120] {
    let mut b = [0u8; 120];
    b[..48].copy_from_slice(&perm.to_bytes());
    put_u64(&mut b, 48, q.stime as u64);
    put_u64(&mut b, 56, q.rtime as u64);
    put_u64(&mut b, 64, q.ctime as u64);
    put_u64(&mut b, 72, q.cbytes);
    put_u64(&mut b, 80, q.msgs.len() as u64);
    put_u64(&mut b, 88, q.qbytes);
    put_i32(&mut b, 96, q.lspid);
    put_i32(&mut b, 100, q.lrpid);
    b
}

/// msgctl(2).
pub fn msgctl(t: &Task, id: i32, cmd: i32, buf: u64) -> Result<u64, Errno> {
    let c = IpcCred::of(t);
    let reg = &t.k.ipc.msg;
    if cmd < 0 || id < 0 {
        return Err(Errno::EINVAL);
    }
    match cmd {
        super::IPC_INFO | MSG_INFO => {
            let ids = reg.lock();
            // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql,
            // msgseg (unsigned short).
            let (pool, map, tql) = if cmd == MSG_INFO {
                let msgs: usize = ids.values().map(|(_, q)| q.msgs.len()).sum();
                let bytes: u64 = ids.values().map(|(_, q)| q.cbytes).sum();
                (ids.len() as i32, msgs as i32, bytes as i32)
            } else {
                (
                    (MSGMNI as u64 * MSGMNB / 1024) as i32,
                    MSGMNB as i32,
                    MSGMNB as i32,
                )
            };
            let mut b = [0u8; 32];
            for (i, v) in [
                pool,
                map,
                MSGMAX as i32,
                MSGMNB as i32,
                MSGMNI as i32,
                16,
                tql,
            ]
            .into_iter()
            .enumerate()
            {
                put_i32(&mut b, i * 4, v);
            }
            b[28..30].copy_from_slice(&0xffffu16.to_le_bytes());
            let max = ids.max_idx();
            drop(ids);
            t.mm.copy_out(buf, &b)?;
            Ok(max as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let ids = reg.lock();
            let id = if cmd == IPC_STAT {
                id
            } else {
                ids.id_at(id).ok_or(Errno::EINVAL)?
            };
            let (perm, q) = ids.get(id)?;
            if cmd != MSG_STAT_ANY {
                perm.check(c, S_IRUGO)?;
            }
            let b = msqid_ds(perm, q);
            drop(ids);
            t.mm.copy_out(buf, &b)?;
            Ok(if cmd == IPC_STAT { 0 } else { id as u64 })
        }
        IPC_SET => {
            let mut b = [0u8; 120];
            t.mm.copy_in(buf, &mut b)?;
            let qbytes = u64::from_le_bytes(b[88..96].try_into().unwrap_or_default());
            let mut ids = reg.lock();
            let (perm, q) = ids.get_mut(id)?;
            perm.check_owner(c)?;
            if qbytes > MSGMNB && !c.capable(crate::caps::CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            perm.set_from(&b[..48]);
            q.qbytes = qbytes;
            q.ctime = now_secs();
            let wq = q.wq.clone();
            drop(ids);
            wq.notify_all();
            Ok(0)
        }
        IPC_RMID => {
            let mut ids = reg.lock();
            let (perm, _) = ids.get(id)?;
            perm.check_owner(c)?;
            let Some((_, q)) = ids.remove(id) else {
                return Err(Errno::EINVAL);
            };
            drop(ids);
            q.wq.notify_all();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
