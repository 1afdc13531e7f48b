//! Advisory locks: fcntl(2) F_GETLK/F_SETLK/F_SETLKW and their F_OFD_* forms, flock(2).
//! The lock table is the kernel's (`vfs::lock`).

use crate::task::Task;
use crate::vfs::file::FileDescription;
use crate::vfs::lock::{Kind, Owner, Space};
use std::sync::Arc;
use syscalls_table::Errno;

const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;
const F_GETLK: i32 = 5;
const F_SETLKW: i32 = 7;
const F_OFD_GETLK: i32 = 36;
const F_OFD_SETLKW: i32 = 38;

fn file_id(f: &FileDescription) -> Result<(u64, u64), Errno> {
    let st = f.inode.stat()?;
    Ok((st.dev, st.ino))
}

/// fcntl's record-lock commands. `arg` points at a struct flock (32 bytes).
pub fn fcntl_lock(
    t: &mut Task,
    f: &Arc<FileDescription>,
    cmd: i32,
    arg: u64,
) -> Result<u64, Errno> {
    let mut b = [0u8; 32];
    t.mm.copy_in(arg, &mut b)?;
    let l_type = i16::from_le_bytes([b[0], b[1]]);
    let whence = i16::from_le_bytes([b[2], b[3]]);
    let l_start = i64::from_le_bytes(b[8..16].try_into().unwrap_or_default());
    let l_len = i64::from_le_bytes(b[16..24].try_into().unwrap_or_default());
    let l_pid = i32::from_le_bytes(b[24..28].try_into().unwrap_or_default());
    let ofd = matches!(cmd, 36..=38);
    if ofd && l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    // The range, from whence/start/len as Linux's flock_to_posix_lock computes it.
    let base: i64 = match whence {
        0 => 0,
        1 => *f.offset.lock().unwrap_or_else(|e| e.into_inner()) as i64,
        2 => f.ops.size()? as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = if l_len > 0 {
        (start, start.checked_add(l_len - 1).ok_or(Errno::EOVERFLOW)?)
    } else if l_len < 0 {
        let s = start.checked_add(l_len).ok_or(Errno::EINVAL)?;
        (s, start.checked_sub(1).ok_or(Errno::EINVAL)?)
    } else {
        (start, i64::MAX)
    };
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    let (start, end) = (
        start as u64,
        if end == i64::MAX {
            u64::MAX
        } else {
            end as u64
        },
    );
    let owner = if ofd {
        Owner::Description(Arc::as_ptr(f) as usize)
    } else {
        Owner::Process(t.tgid)
    };
    let id = file_id(f)?;
    let table = crate::vfs::lock::table();
    if cmd == F_GETLK || cmd == F_OFD_GETLK {
        let kind = match l_type {
            F_RDLCK => Kind::Read,
            F_WRLCK => Kind::Write,
            _ => return Err(Errno::EINVAL),
        };
        let mut out = b;
        match table.conflict(Space::Record, id, owner, kind, start, end) {
            None => out[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(c) => {
                let ty = if c.kind == Kind::Write {
                    F_WRLCK
                } else {
                    F_RDLCK
                };
                out[0..2].copy_from_slice(&ty.to_le_bytes());
                out[2..4].copy_from_slice(&0i16.to_le_bytes());
                out[8..16].copy_from_slice(&(c.start as i64).to_le_bytes());
                let len = if c.end == u64::MAX {
                    0
                } else {
                    (c.end - c.start + 1) as i64
                };
                out[16..24].copy_from_slice(&len.to_le_bytes());
                let pid = match c.owner {
                    Owner::Process(p) => p,
                    Owner::Description(_) => -1,
                };
                out[24..28].copy_from_slice(&pid.to_le_bytes());
            }
        }
        t.mm.copy_out(arg, &out)?;
        return Ok(0);
    }
    let kind = match l_type {
        F_RDLCK => {
            if !f.readable() {
                return Err(Errno::EBADF);
            }
            Some(Kind::Read)
        }
        F_WRLCK => {
            if !f.writable() {
                return Err(Errno::EBADF);
            }
            Some(Kind::Write)
        }
        F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
    if ofd {
        f.mark_locked();
    }
    table
        .set(Space::Record, id, owner, kind, (start, end), wait)
        .map(|_| 0)
}

/// flock(2).
pub fn flock(t: &mut Task, a: &[u64; 6]) -> Result<u64, Errno> {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let f = t.fds().get(a[0] as u32 as u64)?;
    if f.is_path_only() {
        return Err(Errno::EBADF);
    }
    let op = a[1];
    // The obsolete LOCK_MAND (32) makes Linux ignore the call.
    if op & 32 != 0 {
        return Ok(0);
    }
    let kind = match op & !LOCK_NB {
        LOCK_SH => Some(Kind::Read),
        LOCK_EX => Some(Kind::Write),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let owner = Owner::Description(Arc::as_ptr(&f) as usize);
    f.mark_locked();
    crate::vfs::lock::table()
        .set(
            Space::Flock,
            file_id(&f)?,
            owner,
            kind,
            (0, u64::MAX),
            op & LOCK_NB == 0,
        )
        .map(|_| 0)
}

/// Drops the POSIX record locks process `pid` holds on `f`'s file (any close of the file
/// in the process releases them, as POSIX says).
pub fn release_posix(pid: i32, f: &FileDescription) {
    if let Ok(id) = file_id(f) {
        crate::vfs::lock::table().release(Space::Record, Some(id), Owner::Process(pid));
    }
}
