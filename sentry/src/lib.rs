//! The sentry: a Linux-compatible kernel in an ordinary host process (DESIGN.md §5).
//! Tasks, the memory manager, the loader, syscall handlers and strace. Unsafe code lives
//! only in `mm::memfile` and `host`.

pub mod caps;
pub mod exec;
pub mod futex;
pub mod host;
pub mod ipc;
pub mod kernel;
pub mod loader;
pub mod log;
pub mod mm;
pub mod net;
pub mod process;
pub mod sched;
pub mod signals;
pub mod spawn;
pub mod syscalls;
pub mod task;
pub mod tasks;
pub mod timers;
pub mod tty;
pub mod vfs;
pub mod wait;

pub use kernel::{
    Config, Control, Error, ExitStatus, Mount, MountFs, ProcessEntry, Resources, RootFs, Sandbox,
    Usage, User, WeakControl, run,
};
pub use net::Network;
pub use spawn::{ExecSpec, Spawned};
