//! System V IPC (svipc(7)): shmget(2), shmat(2), shmdt(2), shmctl(2), semget(2),
//! semop(2), semtimedop(2), semctl(2), msgget(2), msgsnd(2), msgrcv(2), msgctl(2).
//! The objects are `crate::ipc`; these decode arguments in Linux's order of checks.

use crate::ipc::{IpcCred, msg, sem, shm};
use crate::task::Task;
use syscalls_table::Errno;

/// shmget(2).
pub fn shmget(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    shm::shmget(t, a[0] as i32, a[1], a[2] as u32 as u64).map(|id| id as u64)
}

/// shmat(2).
pub fn shmat(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    shm::shmat(t, a[0] as i32, a[1], a[2] as u32 as u64)
}

/// shmdt(2).
pub fn shmdt(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    shm::shmdt(t, a[0])
}

/// shmctl(2).
pub fn shmctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    shm::shmctl(t, a[0] as i32, a[1] as i32, a[2])
}

/// semget(2).
pub fn semget(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.k.ipc
        .sem
        .semget(IpcCred::of(t), a[0] as i32, a[1] as i32, a[2] as u32 as u64)
        .map(|id| id as u64)
}

fn do_semop(t: &mut Task, id: i32, sops: u64, nsops: u64, timeout: u64) -> Result<u64, Errno> {
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > sem::SEMOPM as u64 {
        return Err(Errno::E2BIG);
    }
    let mut b = vec![0u8; nsops as usize * 6];
    t.mm.copy_in(sops, &mut b)?;
    let ops: Vec<sem::SemBuf> = b
        .chunks(6)
        .map(|x| sem::SemBuf {
            num: u16::from_le_bytes([x[0], x[1]]),
            op: i16::from_le_bytes([x[2], x[3]]),
            flg: i16::from_le_bytes([x[4], x[5]]),
        })
        .collect();
    let deadline = super::sys_time::relative_deadline(t, timeout)?;
    t.k.ipc
        .sem
        .semop(IpcCred::of(t), id, &ops, deadline)
        .map(|_| 0)
}

/// semop(2).
pub fn semop(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_semop(t, a[0] as i32, a[1], a[2], 0)
}

/// semtimedop(2).
pub fn semtimedop(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    do_semop(t, a[0] as i32, a[1], a[2], a[3])
}

/// semctl(2).
pub fn semctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    sem::semctl(t, a[0] as i32, a[1] as i32, a[2] as i32, a[3])
}

/// msgget(2).
pub fn msgget(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    t.k.ipc
        .msg
        .msgget(IpcCred::of(t), a[0] as i32, a[1] as u32 as u64)
        .map(|id| id as u64)
}

/// msgsnd(2): `struct msgbuf { long mtype; char mtext[]; }`.
pub fn msgsnd(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (id, msgp, size, flags) = (a[0] as i32, a[1], a[2], a[3] as u32 as u64);
    let mtype = super::read_u64(t, msgp)? as i64;
    if size > msg::MSGMAX as u64 || id < 0 || mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = vec![0u8; size as usize];
    t.mm.copy_in(msgp.wrapping_add(8), &mut text)?;
    t.k.ipc
        .msg
        .msgsnd(IpcCred::of(t), id, mtype, text, flags)
        .map(|_| 0)
}

/// msgrcv(2): returns the number of bytes of text copied.
pub fn msgrcv(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    let (id, msgp, size, msgtyp, flags) =
        (a[0] as i32, a[1], a[2], a[3] as i64, a[4] as u32 as u64);
    if id < 0 || (size as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let size = size.min(msg::MSGMAX as u64) as usize;
    let (mtype, text) =
        t.k.ipc
            .msg
            .msgrcv(IpcCred::of(t), id, size, msgtyp, flags)?;
    super::write_u64(t, msgp, mtype as u64)?;
    t.mm.copy_out(msgp.wrapping_add(8), &text)?;
    Ok(text.len() as u64)
}

/// msgctl(2).
pub fn msgctl(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    msg::msgctl(t, a[0] as i32, a[1] as i32, a[2])
}
