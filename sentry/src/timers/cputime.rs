//! CPU time accounting. Application threads run in host stub threads, so their CPU time
//! is the stub thread's (`Context::cpu_time_ns`), read by the task's own sentry thread:
//! after events when CPU timers are armed or 10 ms have passed since the last reading,
//! when a CPU clock or rusage is asked for, at exec and at exit. The process keeps the
//! last reading of each live thread, the time of its ended threads (and of contexts an
//! exec replaced), and the time of the children it waited for.
//!
//! The host gives one number per thread; the sentry reports it as user time and system
//! time as zero (the application's "system" time is spent in the sentry, which is not
//! accounted to it).

use crate::task::Task;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// How stale a running task's reading may get when no CPU timer needs it sooner.
pub const SAMPLE_PERIOD_NS: u64 = 10_000_000;

/// Resource usage as getrusage(2) and wait4(2) report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub user_ns: u64,
    pub sys_ns: u64,
    /// Peak resident set in KiB (approximated by the resident set when sampled).
    pub maxrss_kb: u64,
}

impl Usage {
    pub fn cpu_ns(&self) -> u64 {
        self.user_ns + self.sys_ns
    }

    fn add(&mut self, o: &Usage) {
        self.user_ns += o.user_ns;
        self.sys_ns += o.sys_ns;
        self.maxrss_kb = self.maxrss_kb.max(o.maxrss_kb);
    }

    /// `struct rusage` (144 bytes): utime and stime as timevals, then the longs.
    pub fn to_rusage_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        for (off, ns) in [(0, self.user_ns), (16, self.sys_ns)] {
            b[off..off + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
            b[off + 8..off + 16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
        }
        b[32..40].copy_from_slice(&self.maxrss_kb.to_le_bytes());
        b
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ThreadCpu {
    /// Time of the thread's earlier contexts (before an exec).
    base: u64,
    /// The last reading of its current context.
    last: u64,
}

#[derive(Default)]
struct Cpu {
    /// Threads that ended.
    retired: u64,
    threads: BTreeMap<i32, ThreadCpu>,
    /// Children waited for: their own usage plus that of the children they waited for.
    children: Usage,
    maxrss_kb: u64,
}

impl Cpu {
    fn total(&self) -> u64 {
        self.retired + self.threads.values().map(|t| t.base + t.last).sum::<u64>()
    }
}

/// The CPU time of one process.
#[derive(Default)]
pub struct CpuAccount {
    inner: Mutex<Cpu>,
}

impl CpuAccount {
    fn lock(&self) -> MutexGuard<'_, Cpu> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records thread `tid`'s reading (None: the platform cannot tell; keep the last).
    /// Returns (thread time, process time).
    pub fn record(&self, tid: i32, reading: Option<u64>) -> (u64, u64) {
        let mut c = self.lock();
        let e = c.threads.entry(tid).or_default();
        if let Some(r) = reading {
            e.last = e.last.max(r);
        }
        let thread = e.base + e.last;
        (thread, c.total())
    }

    /// Time of thread `tid` as last recorded.
    pub fn thread(&self, tid: i32) -> Option<u64> {
        self.lock().threads.get(&tid).map(|t| t.base + t.last)
    }

    pub fn process(&self) -> u64 {
        self.lock().total()
    }

    /// The process's own usage and its waited-for children's, together (what a parent
    /// adds when it waits for this process).
    pub fn usage_both(&self) -> Usage {
        let c = self.lock();
        let mut u = Usage {
            user_ns: c.total(),
            sys_ns: 0,
            maxrss_kb: c.maxrss_kb,
        };
        u.add(&c.children);
        u
    }

    pub fn children(&self) -> Usage {
        self.lock().children
    }

    pub fn add_child(&self, u: &Usage) {
        self.lock().children.add(u);
    }

    pub fn note_rss(&self, kb: u64) {
        let mut c = self.lock();
        c.maxrss_kb = c.maxrss_kb.max(kb);
    }

    pub fn maxrss_kb(&self) -> u64 {
        self.lock().maxrss_kb
    }

    /// Thread `tid` ended with final reading `reading`.
    pub fn retire(&self, tid: i32, reading: Option<u64>) {
        let mut c = self.lock();
        if let Some(mut e) = c.threads.remove(&tid) {
            if let Some(r) = reading {
                e.last = e.last.max(r);
            }
            c.retired += e.base + e.last;
        }
    }

    /// The process's one thread execs as `tid` (its tid may have changed): the time of
    /// its old context (`reading`) becomes its base, the new context starts at zero.
    pub fn exec(&self, tid: i32, reading: Option<u64>) {
        let mut c = self.lock();
        let mut live = std::mem::take(&mut c.threads);
        // Its entry is under its old tid when a thread other than the leader exec'ed;
        // the other threads have retired by now.
        let mine = if live.contains_key(&tid) || live.len() != 1 {
            tid
        } else {
            live.keys().next().copied().unwrap_or(tid)
        };
        if let (Some(e), Some(r)) = (live.get_mut(&mine), reading) {
            e.last = e.last.max(r);
        }
        let base = live.values().map(|e| e.base + e.last).sum();
        c.threads.insert(tid, ThreadCpu { base, last: 0 });
    }
}

thread_local! {
    /// When this host thread's task must read its CPU time again (monotonic ns).
    static NEXT_SAMPLE: Cell<u64> = const { Cell::new(0) };
}

/// Reads the calling task's CPU time now. Returns (thread time, process time).
pub fn sample(t: &Task) -> (u64, u64) {
    let reading = t.ctx.cpu_time_ns();
    NEXT_SAMPLE.with(|n| n.set(super::service::mono_now() + SAMPLE_PERIOD_NS));
    t.process.timers.cpu.record(t.tid, reading)
}

/// Whether the task's periodic reading is due.
pub fn sample_due() -> bool {
    NEXT_SAMPLE.with(|n| super::service::mono_now() >= n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_retire_and_exec_keeps_time() {
        let a = CpuAccount::default();
        assert_eq!(a.record(1, Some(100)), (100, 100));
        assert_eq!(a.record(2, Some(50)), (50, 150));
        // Readings never go back.
        assert_eq!(a.record(2, Some(40)), (50, 150));
        a.retire(2, Some(70));
        assert_eq!(a.process(), 170);
        // Thread 1 execs as 1: its old context's 120 ns stay.
        a.exec(1, Some(120));
        assert_eq!(a.record(1, Some(5)), (125, 195));
        let u = a.usage_both();
        assert_eq!(u.cpu_ns(), 195);
        a.add_child(&Usage {
            user_ns: 5,
            sys_ns: 0,
            maxrss_kb: 0,
        });
        assert_eq!(a.usage_both().cpu_ns(), 200);
    }

    #[test]
    fn rusage_layout() {
        let u = Usage {
            user_ns: 1_500_002_000,
            sys_ns: 0,
            maxrss_kb: 9,
        };
        let b = u.to_rusage_bytes();
        assert_eq!(i64::from_le_bytes(b[0..8].try_into().unwrap()), 1);
        assert_eq!(i64::from_le_bytes(b[8..16].try_into().unwrap()), 500_002);
        assert_eq!(i64::from_le_bytes(b[32..40].try_into().unwrap()), 9);
    }
}
