//! The x86-64 Linux syscall table: for every syscall its number, name, argument kinds and
//! our support status; errno and signal names. The single source of truth for dispatch
//! checks, `--strace` formatting, the support report and seccomp rules (DESIGN.md §3).

pub mod consts;
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
    /// One of several named values (compared on the low 32 bits: these are C `int`s).
    Enum(&'static [(u64, &'static str)]),
    /// Signed 64-bit decimal (a C `long`).
    Long,
    /// A register the kernel ignores on x86-64 (the high half of a split offset): not
    /// printed.
    Skip,
    /// A string the syscall writes (`getcwd`, `readlink`): up to the return value bytes,
    /// stopping at a NUL.
    OutCStr,
    /// A NULL-terminated array of string pointers (`execve`'s argv).
    StrArray,
    /// Like `StrArray` but printed as a count (`0x7ffe… /* 23 vars */`), for envp.
    EnvArray,
    /// An `iovec` array the application passes in; its count is the argument at the index.
    InIovec(u8),
    /// An `iovec` array the syscall fills (count at the index); the return value says how
    /// many bytes were filled.
    OutIovec(u8),
    /// A pointer to a `sigset_t`, printed `[INT TERM]` or `~[KILL STOP]`.
    SigSet,
    /// A pointer to a `struct timespec`, printed `{tv_sec=1, tv_nsec=0}`.
    Timespec,
    /// A value whose bits under the mask are one of the first named values and whose
    /// other bits are a flag set from the second (open flags: `O_RDWR|O_CREAT`).
    EnumFlags(
        u64,
        &'static [(u64, &'static str)],
        &'static [(u64, &'static str)],
    ),
    /// `clone(2)` flags: `CLONE_*` bits with the exit signal in the low byte.
    CloneFlags,
    /// A `futex(2)` operation: the command with its `_PRIVATE` and `FUTEX_CLOCK_REALTIME`
    /// modifiers.
    FutexOp,
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

    /// `"supported"`, `"partial"` or `"unsupported"`, as the support report prints it.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::Partial(_) => "partial",
            Status::Unsupported { .. } => "unsupported",
        }
    }

    /// The note: the limits of a partial syscall, or what brings an unsupported one.
    pub fn note(&self) -> &'static str {
        match self {
            Status::Supported => "",
            Status::Partial(note) | Status::Unsupported { note, .. } => note,
        }
    }

    /// The errno an unsupported syscall returns.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Status::Unsupported { errno, .. } => Some(*errno),
            _ => None,
        }
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

/// The syscall called `name` (a linear search: for tools and tests, not dispatch).
pub fn lookup_name(name: &str) -> Option<&'static Syscall> {
    all().iter().find(|s| s.name == name)
}

/// The syscalls the sentry has a handler for (supported or partial), in number order.
pub fn implemented() -> impl Iterator<Item = &'static Syscall> {
    all().iter().filter(|s| s.status.has_handler())
}

/// The names of the syscalls the sentry has a handler for, in number order.
pub fn supported_names() -> impl Iterator<Item = &'static str> {
    implemented().map(|s| s.name)
}
