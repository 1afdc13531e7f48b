//! The gofer (DESIGN.md §6): the file broker that opens host files for the sentry. It
//! owns the wire protocol (`protocol`, shared with the sentry), the server that runs in
//! the `runsc gofer` process (`server`), and the client the sentry calls (`client`).
//! Unsafe code is confined to `sys`, the thin layer over the host syscalls.

pub mod client;
pub mod launch;
pub mod protocol;
pub mod server;
mod sys;

pub use client::Client;

/// Passing host FDs over a Unix socket with `SCM_RIGHTS`, as the gofer channels do; also
/// used by runsc's control socket (`exec` hands the sandbox its caller's stdio).
pub mod fdpass {
    pub use crate::sys::{Received, recv_msg, send_msg};
}
pub use protocol::{Dirent, Entry, Handle, SetStat, SetTime, Stat, Statfs, Timespec};
pub use sys::channel_pair;
pub use syscalls_table::Errno;
