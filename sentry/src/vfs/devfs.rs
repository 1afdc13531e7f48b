//! Character devices by number (null, zero, full, random, urandom, tty, the host
//! terminals as /dev/pts/N) and the `/dev` tree built from them on a tmpfs, as Linux's
//! devtmpfs (with a devpts on /dev/pts) would show it to a container.

use super::inode::*;
use super::tmpfs::Tmpfs;
use crate::host::{self, Seg};
use std::sync::Arc;
use syscalls_table::Errno;

const MEM_MAJOR: u32 = 1;
const TTYAUX_MAJOR: u32 = 5;

/// The devices every container has: (name, major, minor, mode).
const DEVICES: &[(&str, u32, u32, u32)] = &[
    ("null", MEM_MAJOR, 3, 0o666),
    ("zero", MEM_MAJOR, 5, 0o666),
    ("full", MEM_MAJOR, 7, 0o666),
    ("random", MEM_MAJOR, 8, 0o666),
    ("urandom", MEM_MAJOR, 9, 0o666),
    ("tty", TTYAUX_MAJOR, 0, 0o666),
];

/// Builds /dev: device nodes, the fd/stdio links and an empty `shm` directory (mounted
/// over with a tmpfs by the caller).
pub fn new_dev_tree(dev: u64) -> Result<InodeRef, Errno> {
    let root = Tmpfs::new_root(dev, 0o755, Cred { uid: 0, gid: 0 });
    let c = Cred { uid: 0, gid: 0 };
    for &(name, major, minor, mode) in DEVICES {
        root.create(name.as_bytes(), S_IFCHR | mode, make_dev(major, minor), c)?;
    }
    root.symlink(b"fd", b"/proc/self/fd", c)?;
    root.symlink(b"stdin", b"/proc/self/fd/0", c)?;
    root.symlink(b"stdout", b"/proc/self/fd/1", c)?;
    root.symlink(b"stderr", b"/proc/self/fd/2", c)?;
    root.create(b"shm", S_IFDIR | 0o1777, 0, c)?;
    crate::tty::set_pts_dir(root.create(b"pts", S_IFDIR | 0o755, 0, c)?);
    Ok(root)
}

/// Opens the character device `rdev` with `flags` for a process of session `sid`.
pub fn open_char_device(rdev: u64, flags: u32, sid: i32) -> Result<Arc<dyn FileOps>, Errno> {
    let (major, minor) = split_dev(rdev);
    let kind = match (major, minor) {
        // The session's controlling terminal; ENXIO without one.
        (TTYAUX_MAJOR, 0) => return crate::tty::open_controlling(sid, flags),
        (crate::tty::PTS_MAJOR, n) => return crate::tty::open_pts(n, flags),
        (MEM_MAJOR, 3) => Dev::Null,
        (MEM_MAJOR, 5) => Dev::Zero,
        (MEM_MAJOR, 7) => Dev::Full,
        (MEM_MAJOR, 8) | (MEM_MAJOR, 9) => Dev::Random,
        _ => return Err(Errno::ENXIO),
    };
    Ok(Arc::new(kind))
}

enum Dev {
    Null,
    Zero,
    Full,
    Random,
}

fn fill(segs: &[Seg], mut f: impl FnMut(&mut [u8]) -> Result<(), Errno>) -> Result<usize, Errno> {
    let total = host::segs_len(segs);
    let mut buf = vec![0u8; total.min(1 << 16)];
    let mut done = 0;
    let mut rest: Vec<Seg> = segs.to_vec();
    while done < total {
        let n = (total - done).min(buf.len());
        f(&mut buf[..n])?;
        let w = host::copy_to_segs(&rest, &buf[..n]);
        done += w;
        // Advance the segment list by w bytes.
        let mut skip = w;
        while skip > 0 && !rest.is_empty() {
            if rest[0].len <= skip {
                skip -= rest[0].len;
                rest.remove(0);
            } else {
                rest[0] = Seg {
                    ptr: rest[0].ptr.wrapping_add(skip),
                    len: rest[0].len - skip,
                };
                skip = 0;
            }
        }
    }
    Ok(done)
}

impl FileOps for Dev {
    fn read(&self, segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        match self {
            Dev::Null => Ok(0),
            Dev::Zero | Dev::Full => fill(segs, |b| {
                b.fill(0);
                Ok(())
            }),
            Dev::Random => fill(segs, |b| {
                let mut got = 0;
                while got < b.len() {
                    got += host::getrandom(&mut b[got..], 0)?;
                }
                Ok(())
            }),
        }
    }

    fn write(&self, segs: &[Seg], _off: Option<u64>) -> Result<usize, Errno> {
        match self {
            Dev::Full => Err(Errno::ENOSPC),
            _ => Ok(host::segs_len(segs)),
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    fn seeks_to_zero(&self) -> bool {
        true
    }

    /// Character devices have nothing to flush: EINVAL, as Linux.
    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}
