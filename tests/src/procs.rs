//! Process bookkeeping for the cleanup tests: the descendants of a process
//! (from `/proc/<pid>/task/<tid>/children`), identified by pid and start time
//! so that a reused pid is not mistaken for a survivor.

use std::collections::BTreeSet;

/// A process as seen once: its pid and its start time (field 22 of
/// `/proc/<pid>/stat`, in clock ticks since boot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProcId {
    pub pid: i32,
    pub start_time: u64,
}

/// The state letter and start time of `pid`, or `None` if it does not exist.
pub fn stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces or
    // parentheses itself; the fields after the last ')' are plain.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // After ')' the fields start at number 3 (state); start time is 22.
    let start_time = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start_time))
}

/// The process `pid` with its start time, if it exists.
pub fn identify(pid: i32) -> Option<ProcId> {
    stat(pid).map(|(_, start_time)| ProcId { pid, start_time })
}

/// The direct children of every thread of `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|s| s.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// All descendants of `pid` now, each identified by pid and start time.
pub fn descendants(pid: i32) -> BTreeSet<ProcId> {
    let mut seen = BTreeSet::new();
    let mut todo = children(pid);
    while let Some(p) = todo.pop() {
        if let Some(id) = identify(p)
            && seen.insert(id)
        {
            todo.extend(children(p));
        }
    }
    seen
}

/// Whether the process seen as `id` is gone: no such pid, the pid now
/// belongs to a process started later, or it is a zombie (it has exited and
/// only waits for a reaper, which under some init processes never comes).
pub fn is_gone(id: ProcId) -> bool {
    match stat(id.pid) {
        None => true,
        Some((state, start_time)) => start_time != id.start_time || state == 'Z' || state == 'X',
    }
}

/// A one-line description of a process for failure messages.
pub fn describe(id: ProcId) -> String {
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", id.pid)).unwrap_or_default();
    let state = stat(id.pid).map(|(s, _)| s).unwrap_or('?');
    format!("pid {} ({}) state {state}", id.pid, comm.trim())
}

/// SIGKILLs the processes of `ids` that are still the same processes, so a
/// failing test does not leave them behind.
pub fn kill_survivors(ids: &BTreeSet<ProcId>) {
    for id in ids {
        if !is_gone(*id) {
            // SAFETY: kill only sends a signal; the pid was checked just above
            // to still name the process we saw (same start time).
            unsafe {
                libc::kill(id.pid, libc::SIGKILL);
            }
        }
    }
}
