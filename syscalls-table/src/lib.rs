//! The x86-64 Linux syscall table: for every syscall its number, name, argument kinds and
//! our support status; errno and signal names. The single source of truth for dispatch
//! checks, `--strace` formatting, the support report and seccomp rules (DESIGN.md §3).

pub mod errno;
pub mod report;
pub mod signal;
pub mod strace;
mod table;

pub use errno::Errno;

/// How an argument is printed by `--strace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// Signed decimal.
    Int,
    /// Unsigned decimal.
    Uint,
    /// Hexadecimal.
    Hex,
    /// File descriptor (`AT_FDCWD` printed by name where it is a dirfd).
    Fd,
    DirFd,
    /// An address.
    Ptr,
    /// A NUL-terminated string or path in application memory.
    CStr,
    /// A buffer the application passes in; its length is the argument at the index.
    InBuf(u8),
    /// A buffer the syscall fills; its length is the return value.
    OutBuf,
    Size,
    Off,
    Pid,
    Signal,
    /// File mode, octal.
    Mode,
    /// A flag set printed as `A|B|0x…`.
    Flags(&'static [(u64, &'static str)]),
    /// One of several named values.
    Enum(&'static [(u64, &'static str)]),
}

/// Our support status of one syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Supported,
    /// Implemented, with the limits in the note.
    Partial(&'static str),
    /// Not implemented: the application gets `errno`.
    Unsupported {
        errno: Errno,
        note: &'static str,
    },
}

impl Status {
    pub fn has_handler(&self) -> bool {
        !matches!(self, Status::Unsupported { .. })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Syscall {
    pub nr: u32,
    pub name: &'static str,
    pub args: &'static [ArgKind],
    pub status: Status,
}

/// The syscall with number `nr`, if Linux defines one.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    table::lookup(nr)
}

/// Every syscall Linux defines on x86-64, in number order.
pub fn all() -> &'static [Syscall] {
    table::TABLE
}
