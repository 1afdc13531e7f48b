//! Job control on the host terminals the sandbox was given (a console's pty slave, the
//! caller's terminal under `runsc do`): the foreground process group of each, which is
//! the sandbox's own, and the delivery of the signals the terminal generates (^C, ^Z,
//! ^\, a resize, a hangup) to it, as Linux's line discipline delivers them.
//!
//! The host's line discipline (whose termios the application sets) decides when a key
//! is a signal; it signals the sandbox process, which is the host terminal's
//! foreground process group, and the runtime passes the signal on with
//! `Control::terminal_signal`.
//!
//! Each host terminal is `/dev/pts/<n>` inside (numbered from 0 in the order the
//! sandbox gets them) and `/dev/tty` for the session it controls.

use crate::host;
use crate::signals::{SI_KERNEL, SigInfo};
use crate::tasks::Tree;
use crate::vfs::hostfd::{HostFd, stat_from_host};
use crate::vfs::inode::*;
use std::sync::{Arc, Mutex};
use syscalls_table::Errno;

/// The foreground process group of each host terminal (by the host's device number).
/// The host terminal's own foreground group names host processes, which the
/// application must not see.
static FOREGROUND: Mutex<Vec<(u64, i32)>> = Mutex::new(Vec::new());

/// The host terminal whose signals reach the sandbox process (its controlling
/// terminal), 0 when there is none.
static CONTROLLING: Mutex<u64> = Mutex::new(0);

/// The sandbox's foreground process group of the host terminal `rdev`, if one was set.
pub fn foreground(rdev: u64) -> Option<i32> {
    let m = FOREGROUND.lock().unwrap_or_else(|e| e.into_inner());
    m.iter().find(|e| e.0 == rdev).map(|e| e.1)
}

/// Makes `pgid` the foreground process group of the host terminal `rdev`.
pub fn set_foreground(rdev: u64, pgid: i32) {
    let mut m = FOREGROUND.lock().unwrap_or_else(|e| e.into_inner());
    m.retain(|e| e.0 != rdev);
    m.push((rdev, pgid));
}

/// Records that the host's line discipline of terminal `rdev` signals the sandbox
/// process (so a resize from inside needs no SIGWINCH of our own: the host sends one).
pub fn set_controlling(rdev: u64) {
    *CONTROLLING.lock().unwrap_or_else(|e| e.into_inner()) = rdev;
}

/// Whether the host signals the sandbox process for terminal `rdev`.
pub fn is_controlling(rdev: u64) -> bool {
    rdev != 0 && *CONTROLLING.lock().unwrap_or_else(|e| e.into_inner()) == rdev
}

/// Whether the sandbox runs job control on its controlling host terminal (a process
/// made a group of its own the foreground one, or took it with TIOCSCTTY).
pub fn has_job_control() -> bool {
    let rdev = *CONTROLLING.lock().unwrap_or_else(|e| e.into_inner());
    rdev != 0 && foreground(rdev).is_some()
}

/// The process group a signal of the sandbox's controlling host terminal goes to: the
/// one the sandbox made the foreground one, else the initial process's (the container's
/// init has the console as its controlling terminal, as runc gives it).
fn target_pgrp(tree: &Tree) -> Option<i32> {
    let rdev = *CONTROLLING.lock().unwrap_or_else(|e| e.into_inner());
    let fg = if rdev != 0 { foreground(rdev) } else { None };
    fg.or_else(|| tree.groups.get(&1).map(|g| g.pgid))
}

/// Delivers `signo`, which the host terminal generated, as Linux's tty layer does
/// (SI_KERNEL): SIGHUP (hangup) with SIGCONT to the session leader of the terminal's
/// session; any other signal (SIGINT, SIGQUIT, SIGTSTP, SIGWINCH) to every process of
/// the foreground process group. Returns whether any process was signalled.
pub fn deliver(tree: &mut Tree, signo: i32) -> bool {
    let Some(pgid) = target_pgrp(tree) else {
        return false;
    };
    if signo == libc::SIGHUP {
        let sid = tree
            .groups
            .values()
            .find(|g| g.pgid == pgid && !g.zombie)
            .map(|g| g.sid);
        let Some(leader) = sid.filter(|s| tree.groups.get(s).is_some_and(|g| !g.zombie)) else {
            return false;
        };
        tree.send(leader, None, SigInfo::new(libc::SIGHUP, SI_KERNEL));
        tree.send(leader, None, SigInfo::new(libc::SIGCONT, SI_KERNEL));
        return true;
    }
    let members = tree.pgrp_members(pgid);
    for &m in &members {
        tree.send(m, None, SigInfo::new(signo, SI_KERNEL));
    }
    !members.is_empty()
}

/// The major number of the /dev/pts devices.
pub const PTS_MAJOR: u32 = 136;

/// A host terminal the sandbox was given, as the sandbox sees it: `/dev/pts/<index>`.
struct HostTerminal {
    /// The host's device number (its numbering is the host's, never shown inside).
    rdev: u64,
    index: u32,
    file: Arc<HostFd>,
    /// Its node in /dev/pts, once /dev exists.
    node: Option<InodeRef>,
}

static TERMINALS: Mutex<Vec<HostTerminal>> = Mutex::new(Vec::new());

/// The /dev/pts directory of the sandbox's /dev.
static PTS_DIR: Mutex<Option<InodeRef>> = Mutex::new(None);

/// The controlling terminal (host device number) of each session that took one with
/// TIOCSCTTY; the initial process's session has the terminal of its stdio.
static SESSIONS: Mutex<Vec<(i32, u64)>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn make_node(dir: &InodeRef, index: u32) -> Option<InodeRef> {
    let c = Cred { uid: 0, gid: 0 };
    let name = index.to_string();
    dir.create(
        name.as_bytes(),
        S_IFCHR | 0o620,
        make_dev(PTS_MAJOR, index),
        c,
    )
    .ok()
}

/// Sets the sandbox's /dev/pts directory; the host terminals known so far appear in it.
pub fn set_pts_dir(dir: InodeRef) {
    let mut ts = lock(&TERMINALS);
    for t in ts.iter_mut().filter(|t| t.node.is_none()) {
        t.node = make_node(&dir, t.index);
    }
    *lock(&PTS_DIR) = Some(dir);
}

/// Registers the host terminal `h` (stdio of a process the runtime starts); returns the
/// sandbox's name for it, `/dev/pts/<n>`, numbered from 0 in the order they come.
/// None when `h` is no terminal.
pub fn register(h: &Arc<HostFd>) -> Option<Vec<u8>> {
    if !host::isatty(h.fd()) {
        return None;
    }
    let rdev = host::fstat(h.fd()).ok().map(|b| stat_from_host(&b).rdev)?;
    let mut ts = lock(&TERMINALS);
    let index = match ts.iter().find(|t| t.rdev == rdev) {
        Some(t) => t.index,
        None => {
            let index = ts.len() as u32;
            let node = lock(&PTS_DIR).as_ref().and_then(|d| make_node(d, index));
            ts.push(HostTerminal {
                rdev,
                index,
                file: h.clone(),
                node,
            });
            index
        }
    };
    Some(format!("/dev/pts/{index}").into_bytes())
}

/// The identity (device, inode and device number) the sandbox sees for the host
/// terminal `rdev`: its /dev/pts node's, so that ttyname(3) finds it there.
pub fn identity(rdev: u64) -> Option<(u64, u64, u64)> {
    let ts = lock(&TERMINALS);
    let t = ts.iter().find(|t| t.rdev == rdev)?;
    let st = t.node.as_ref()?.stat().ok()?;
    Some((st.dev, st.ino, st.rdev))
}

/// Opens /dev/pts/`index`: the host terminal behind it.
pub fn open_pts(index: u32, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
    let file = {
        let ts = lock(&TERMINALS);
        ts.iter()
            .find(|t| t.index == index)
            .map(|t| t.file.clone())
            .ok_or(Errno::ENXIO)?
    };
    file.open(flags)
}

/// Makes host terminal `rdev` the controlling terminal of session `sid` (TIOCSCTTY).
pub fn set_session_terminal(sid: i32, rdev: u64) {
    let mut s = lock(&SESSIONS);
    s.retain(|e| e.0 != sid && e.1 != rdev);
    s.push((sid, rdev));
}

/// Gives up the controlling terminal of session `sid` (TIOCNOTTY by its leader).
pub fn clear_session_terminal(sid: i32) {
    lock(&SESSIONS).retain(|e| e.0 != sid);
}

/// Opens /dev/tty for a process of session `sid`: its controlling terminal, ENXIO
/// without one.
pub fn open_controlling(sid: i32, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
    let rdev = lock(&SESSIONS).iter().find(|e| e.0 == sid).map(|e| e.1);
    let file = {
        let ts = lock(&TERMINALS);
        match rdev {
            Some(r) => ts.iter().find(|t| t.rdev == r).map(|t| t.file.clone()),
            None => None,
        }
    };
    file.ok_or(Errno::ENXIO)?.open(flags)
}
