//! CPU time accounting. Application threads run in host stub threads, so their CPU time
//! is the stub thread's (`Context::cpu_time_ns`), read by the task's own sentry thread:
//! after events when CPU timers are armed or 10 ms have passed since the last reading,
//! when a CPU clock or rusage is asked for, at exec and at exit. The process keeps the
//! last reading of each live thread, the time of its ended threads (and of contexts an
//! exec replaced), and the time of the children it waited for.
//!
//! The host gives one number per thread; the sentry reports it as user time and system
//! time as zero (the application's "system" time is spent in the sentry, which is not
//! accounted to it). Context switches are those of the task's own sentry thread (1:1
//! with the task): it sleeps when the task blocks and, on ptrace, at each syscall.

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
    /// Voluntary and involuntary context switches.
    pub nvcsw: u64,
    pub nivcsw: u64,
}

impl Usage {
    pub fn cpu_ns(&self) -> u64 {
        self.user_ns + self.sys_ns
    }

    fn add(&mut self, o: &Usage) {
        self.user_ns += o.user_ns;
        self.sys_ns += o.sys_ns;
        self.maxrss_kb = self.maxrss_kb.max(o.maxrss_kb);
        self.nvcsw += o.nvcsw;
        self.nivcsw += o.nivcsw;
    }

    /// `struct rusage` (144 bytes): utime and stime as timevals, then the longs.
    pub fn to_rusage_bytes(&self) -> [u8; 144] {
        let mut b = [0u8; 144];
        for (off, ns) in [(0, self.user_ns), (16, self.sys_ns)] {
            b[off..off + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
            b[off + 8..off + 16].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
        }
        b[32..40].copy_from_slice(&self.maxrss_kb.to_le_bytes());
        b[128..136].copy_from_slice(&self.nvcsw.to_le_bytes());
        b[136..144].copy_from_slice(&self.nivcsw.to_le_bytes());
        b
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ThreadCpu {
    /// Time of the thread's earlier contexts (before an exec).
    base: u64,
    /// The last reading of its current context.
    last: u64,
    /// Context switches of its sentry thread: the first reading, and the last.
    csw_start: Option<(u64, u64)>,
    csw: (u64, u64),
}

impl ThreadCpu {
    fn switches(&self) -> (u64, u64) {
        let (v0, i0) = self.csw_start.unwrap_or(self.csw);
        (self.csw.0.saturating_sub(v0), self.csw.1.saturating_sub(i0))
    }

    fn note_switches(&mut self, csw: Option<(u64, u64)>) {
        if let Some(c) = csw {
            self.csw_start.get_or_insert(c);
            self.csw = c;
        }
    }
}

#[derive(Default)]
struct Cpu {
    /// Threads that ended.
    retired: u64,
    retired_csw: (u64, u64),
    threads: BTreeMap<i32, ThreadCpu>,
    /// Children waited for: their own usage plus that of the children they waited for.
    children: Usage,
    maxrss_kb: u64,
}

impl Cpu {
    fn total(&self) -> u64 {
        self.retired + self.threads.values().map(|t| t.base + t.last).sum::<u64>()
    }

    fn switches(&self) -> (u64, u64) {
        self.threads
            .values()
            .map(|t| t.switches())
            .fold(self.retired_csw, |a, b| (a.0 + b.0, a.1 + b.1))
    }

    fn own_usage(&self) -> Usage {
        let (nvcsw, nivcsw) = self.switches();
        Usage {
            user_ns: self.total(),
            sys_ns: 0,
            maxrss_kb: self.maxrss_kb,
            nvcsw,
            nivcsw,
        }
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

    /// Records thread `tid`'s reading (None: the platform cannot tell; keep the last)
    /// and its sentry thread's context switches. Returns (thread time, process time).
    pub fn record(&self, tid: i32, reading: Option<u64>, csw: Option<(u64, u64)>) -> (u64, u64) {
        let mut c = self.lock();
        let e = c.threads.entry(tid).or_default();
        if let Some(r) = reading {
            e.last = e.last.max(r);
        }
        e.note_switches(csw);
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
        let mut u = c.own_usage();
        u.add(&c.children);
        u
    }

    /// The process's own usage (RUSAGE_SELF).
    pub fn usage_self(&self) -> Usage {
        self.lock().own_usage()
    }

    /// Thread `tid`'s usage (RUSAGE_THREAD).
    pub fn usage_thread(&self, tid: i32) -> Usage {
        let c = self.lock();
        let t = c.threads.get(&tid).copied().unwrap_or_default();
        let (nvcsw, nivcsw) = t.switches();
        Usage {
            user_ns: t.base + t.last,
            sys_ns: 0,
            maxrss_kb: c.maxrss_kb,
            nvcsw,
            nivcsw,
        }
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

    /// Thread `tid` ended with final readings `reading` and `csw`.
    pub fn retire(&self, tid: i32, reading: Option<u64>, csw: Option<(u64, u64)>) {
        let mut c = self.lock();
        if let Some(mut e) = c.threads.remove(&tid) {
            if let Some(r) = reading {
                e.last = e.last.max(r);
            }
            e.note_switches(csw);
            c.retired += e.base + e.last;
            let (v, i) = e.switches();
            c.retired_csw.0 += v;
            c.retired_csw.1 += i;
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
        // The sentry thread goes on: its switches keep counting from the same start.
        let (csw_start, csw) = live
            .get(&mine)
            .map_or((None, (0, 0)), |e| (e.csw_start, e.csw));
        c.threads.insert(
            tid,
            ThreadCpu {
                base,
                last: 0,
                csw_start,
                csw,
            },
        );
    }
}

thread_local! {
    /// When this host thread's task must read its CPU time again (monotonic ns).
    static NEXT_SAMPLE: Cell<u64> = const { Cell::new(0) };
}

/// Reads the calling task's CPU time now. Returns (thread time, process time).
pub fn sample(t: &Task) -> (u64, u64) {
    let reading = t.ctx.cpu_time_ns();
    let csw = crate::host::thread_context_switches();
    NEXT_SAMPLE.with(|n| n.set(super::service::mono_now() + SAMPLE_PERIOD_NS));
    t.process.timers.cpu.record(t.tid, reading, Some(csw))
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
        assert_eq!(a.record(1, Some(100), None), (100, 100));
        assert_eq!(a.record(2, Some(50), None), (50, 150));
        // Readings never go back.
        assert_eq!(a.record(2, Some(40), None), (50, 150));
        a.retire(2, Some(70), None);
        assert_eq!(a.process(), 170);
        // Thread 1 execs as 1: its old context's 120 ns stay.
        a.exec(1, Some(120));
        assert_eq!(a.record(1, Some(5), None), (125, 195));
        let u = a.usage_both();
        assert_eq!(u.cpu_ns(), 195);
        a.add_child(&Usage {
            user_ns: 5,
            ..Default::default()
        });
        assert_eq!(a.usage_both().cpu_ns(), 200);
    }

    #[test]
    fn rusage_layout() {
        let u = Usage {
            user_ns: 1_500_002_000,
            maxrss_kb: 9,
            nvcsw: 3,
            ..Default::default()
        };
        let b = u.to_rusage_bytes();
        assert_eq!(i64::from_le_bytes(b[0..8].try_into().unwrap()), 1);
        assert_eq!(i64::from_le_bytes(b[8..16].try_into().unwrap()), 500_002);
        assert_eq!(i64::from_le_bytes(b[32..40].try_into().unwrap()), 9);
        assert_eq!(i64::from_le_bytes(b[128..136].try_into().unwrap()), 3);
    }

    #[test]
    fn switches_count_from_the_first_reading() {
        let a = CpuAccount::default();
        a.record(1, None, Some((100, 7)));
        a.record(1, None, Some((105, 9)));
        assert_eq!((a.usage_self().nvcsw, a.usage_self().nivcsw), (5, 2));
        a.retire(1, None, Some((110, 9)));
        assert_eq!(a.usage_both().nvcsw, 10);
    }
}
