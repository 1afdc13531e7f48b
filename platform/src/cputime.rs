//! The CPU time a stub thread has used, read from the host's
//! `/proc/PID/task/TID/schedstat` (its first field is the thread's `sum_exec_runtime`
//! in nanoseconds). A thread CPU clock id would be one syscall, but Linux refuses the
//! clock of a thread in another thread group (EINVAL), and a stub's process clock sums
//! all its threads. Accurate to a scheduler tick for a thread running elsewhere.

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;

thread_local! {
    /// The schedstat file of the stub thread this sentry thread asked about last (a
    /// sentry thread runs one application thread, so it asks about the same one).
    static OPEN: RefCell<Option<((i32, i32), File)>> = const { RefCell::new(None) };
}

/// CPU time used by host thread `tid` of process `pid` (a child of the sentry), in ns.
pub(crate) fn thread_cpu_time_ns(pid: i32, tid: i32) -> Option<u64> {
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        for _ in 0..2 {
            if open.as_ref().is_none_or(|(id, _)| *id != (pid, tid)) {
                let f = File::open(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
                *open = Some(((pid, tid), f));
            }
            let (_, f) = open.as_ref()?;
            let mut buf = [0u8; 96];
            match f.read_at(&mut buf, 0) {
                Ok(n) if n > 0 => {
                    let text = std::str::from_utf8(&buf[..n]).ok()?;
                    return text.split_ascii_whitespace().next()?.parse().ok();
                }
                // The thread is gone (or its pid was reused): open it again once.
                _ => *open = None,
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_thread() {
        // SAFETY: getpid/gettid have no preconditions.
        let (pid, tid) = unsafe { (libc::getpid(), libc::gettid()) };
        let a = super::thread_cpu_time_ns(pid, tid).expect("schedstat readable");
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let b = super::thread_cpu_time_ns(pid, tid).expect("schedstat readable");
        assert!(b >= a);
    }
}
