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
pub use protocol::{Dirent, Entry, Handle, SetStat, SetTime, Stat, Statfs, Timespec};
pub use sys::channel_pair;
pub use syscalls_table::Errno;
