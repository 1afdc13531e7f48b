//! The table itself. (Placeholder; the full table follows.)

use crate::{ArgKind::*, Errno, Status, Syscall};

pub static TABLE: &[Syscall] = &[
    Syscall {
        nr: 0,
        name: "read",
        args: &[Fd, OutBuf, Size],
        status: Status::Supported,
    },
    Syscall {
        nr: 1,
        name: "write",
        args: &[Fd, InBuf(2), Size],
        status: Status::Supported,
    },
    Syscall {
        nr: 2,
        name: "open",
        args: &[CStr, Hex, Mode],
        status: Status::Unsupported {
            errno: Errno::ENOSYS,
            note: "files come with the VFS",
        },
    },
];

pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    TABLE.iter().find(|s| s.nr as u64 == nr)
}
