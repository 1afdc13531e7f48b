//! Job control on the host terminals the sandbox was given (a console's pty slave, the
//! caller's terminal under `runsc do`): the foreground process group of each, which is
//! the sandbox's own, and the delivery of the signals the terminal generates (^C, ^Z,
//! ^\, a resize, a hangup) to it, as Linux's line discipline delivers them.
//!
//! The host's line discipline (whose termios the application sets) decides when a key
//! is a signal; it signals the sandbox process, which is the host terminal's
//! foreground process group, and the runtime passes the signal on with
//! `Control::terminal_signal`.

use crate::signals::{SI_KERNEL, SigInfo};
use crate::tasks::Tree;
use std::sync::Mutex;

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
