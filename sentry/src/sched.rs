//! A thread's scheduling attributes as Linux keeps them per thread (sched(7)): the
//! policy, the real-time priority, the nice value, the reset-on-fork flag and a time
//! slice asked for with sched_setattr(2). They live in the task tree
//! (`tasks::TaskEntry::sched`) and are what the scheduling syscalls, getpriority(2) and
//! /proc report. They are recorded only: the host threads that run tasks keep the
//! sentry's own host scheduling (no real-time class, no nice change).
//!
//! The host's scheduler tunables that show through (the default fair slice, the tick,
//! the SCHED_RR time slice, the SCHED_DEADLINE period bounds) and the sentry's own
//! attributes, which the first task starts with, are read once at start-up
//! (`init_host`), while the sentry may still read host files.

use std::sync::OnceLock;

pub const SCHED_OTHER: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;
/// The flag sched_setscheduler(2) takes and sched_getscheduler(2) shows in the policy.
pub const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;

/// Highest real-time priority (MAX_RT_PRIO − 1).
pub const MAX_RT_PRIORITY: u32 = 99;

/// The limits of a requested fair slice (0.1 ms to 100 ms, Linux's clamp).
const MIN_CUSTOM_SLICE: u64 = 100_000;
const MAX_CUSTOM_SLICE: u64 = 100_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SchedAttr {
    pub policy: u32,
    /// 1..=99 under SCHED_FIFO/SCHED_RR, else 0.
    pub rt_priority: u32,
    /// −20..=19. Kept while a real-time policy is in force (it shows again after).
    pub nice: i32,
    pub reset_on_fork: bool,
    /// The slice asked for with sched_setattr's sched_runtime under SCHED_OTHER or
    /// SCHED_BATCH (clamped), or None for the host's default.
    pub custom_slice: Option<u64>,
}

/// SCHED_FIFO and SCHED_RR.
pub fn rt_policy(policy: u32) -> bool {
    policy == SCHED_FIFO || policy == SCHED_RR
}

/// The policies whose nice value and slice sched_setattr(2) sets (SCHED_IDLE is not one:
/// Linux keeps the nice value it had).
pub fn fair_policy(policy: u32) -> bool {
    policy == SCHED_OTHER || policy == SCHED_BATCH
}

/// The policies this kernel knows (valid_policy; SCHED_EXT is not built on the hosts
/// this mirrors).
pub fn valid_policy(policy: u32) -> bool {
    matches!(
        policy,
        SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE
    )
}

/// A requested slice as Linux records it.
pub fn clamp_slice(ns: u64) -> u64 {
    ns.clamp(MIN_CUSTOM_SLICE, MAX_CUSTOM_SLICE)
}

impl SchedAttr {
    /// What a new thread or process starts with (sched_fork): its creator's attributes,
    /// except that with reset-on-fork a real-time policy becomes SCHED_OTHER at nice 0,
    /// a negative nice value becomes 0, a requested slice is dropped and the flag is
    /// cleared.
    pub fn for_child(&self) -> SchedAttr {
        let mut c = *self;
        if c.reset_on_fork {
            if rt_policy(c.policy) || c.policy == SCHED_DEADLINE {
                c.policy = SCHED_OTHER;
                c.rt_priority = 0;
                c.nice = 0;
            } else if c.nice < 0 {
                c.nice = 0;
            }
            c.custom_slice = None;
            c.reset_on_fork = false;
        }
        c
    }

    /// The slice in force for a fair policy: the requested one or the host's default.
    pub fn slice(&self) -> u64 {
        self.custom_slice.unwrap_or_else(|| host().base_slice_ns)
    }

    /// The "priority" field of /proc/PID/stat: 20 + nice, or −1 − the real-time
    /// priority (prio − MAX_RT_PRIO).
    pub fn proc_priority(&self) -> i64 {
        if rt_policy(self.policy) {
            -1 - self.rt_priority as i64
        } else {
            20 + self.nice as i64
        }
    }

    /// sched_rr_get_interval(2) in ns: SCHED_RR's time slice; for the fair policies
    /// their slice in whole ticks (what a CFS/EEVDF task reports); 0 for SCHED_FIFO.
    pub fn rr_interval_ns(&self) -> u64 {
        let h = host();
        match self.policy {
            SCHED_RR => h.rr_timeslice_ns,
            SCHED_OTHER | SCHED_BATCH | SCHED_IDLE => (self.slice() / h.tick_ns) * h.tick_ns,
            _ => 0,
        }
    }
}

/// The host's scheduler figures that applications can observe.
#[derive(Clone, Copy, Debug)]
pub struct HostSched {
    /// The default fair slice (sysctl_sched_base_slice), in ns.
    pub base_slice_ns: u64,
    /// One scheduler tick (1/HZ), in ns.
    pub tick_ns: u64,
    /// SCHED_RR's time slice, in ns (whole ticks, as the kernel keeps it).
    pub rr_timeslice_ns: u64,
    /// The range a SCHED_DEADLINE period may take, in ns.
    pub dl_period_min_ns: u64,
    pub dl_period_max_ns: u64,
    /// The sentry's own attributes: the first task starts with them, as a program run
    /// natively starts with its parent's.
    pub initial: SchedAttr,
}

static HOST: OnceLock<HostSched> = OnceLock::new();

/// Reads the host's figures (once); call while the sentry may still read host files.
pub fn init_host() {
    host();
}

pub fn host() -> &'static HostSched {
    HOST.get_or_init(read_host)
}

fn read_file(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn sysctl(name: &str) -> Option<u64> {
    read_file(&format!("/proc/sys/kernel/{name}"))?
        .trim()
        .parse()
        .ok()
}

fn read_host() -> HostSched {
    let ncpu = crate::host::sched_getaffinity()
        .iter()
        .map(|b| b.count_ones())
        .sum::<u32>()
        .clamp(1, 8);
    // The tick: the resolution of the coarse clocks is one jiffy.
    let tick_ns = crate::host::clock_getres(libc::CLOCK_REALTIME_COARSE)
        .ok()
        .map(|t| t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64)
        .filter(|&t| t > 0)
        .unwrap_or(4_000_000);
    // /proc/PID/sched (CONFIG_SCHED_DEBUG) shows the slice in force; without it, the
    // kernel's default for this many CPUs (0.75 ms × (1 + log2 CPUs)).
    let base_slice_ns = read_file("/proc/self/sched")
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("se.slice"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .filter(|&v| v > 0)
        .unwrap_or(750_000 * (1 + ncpu.ilog2() as u64));
    // msecs_to_jiffies rounds up.
    let rr_ms = sysctl("sched_rr_timeslice_ms")
        .filter(|&v| v > 0)
        .unwrap_or(100);
    let rr_timeslice_ns = (rr_ms * 1_000_000).div_ceil(tick_ns) * tick_ns;
    let dl_period_min_ns = sysctl("sched_deadline_period_min_us").unwrap_or(100) * 1000;
    let dl_period_max_ns = sysctl("sched_deadline_period_max_us").unwrap_or(1 << 22) * 1000;
    HostSched {
        base_slice_ns,
        tick_ns,
        rr_timeslice_ns,
        dl_period_min_ns,
        dl_period_max_ns,
        initial: read_file("/proc/self/stat")
            .and_then(|s| own_attr(&s))
            .unwrap_or_default(),
    }
}

/// The nice value, real-time priority and policy of a /proc/PID/stat line (fields 19,
/// 40 and 41; the name in field 2 may hold spaces and parentheses).
fn own_attr(stat: &str) -> Option<SchedAttr> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<i64>().ok());
    let nice = field(19)?.clamp(-20, 19) as i32;
    let rt_priority = field(40)?.clamp(0, MAX_RT_PRIORITY as i64) as u32;
    let policy = field(41)? as u32;
    if !valid_policy(policy) || policy == SCHED_DEADLINE {
        return None;
    }
    Some(SchedAttr {
        policy,
        rt_priority: if rt_policy(policy) {
            rt_priority.max(1)
        } else {
            0
        },
        nice,
        reset_on_fork: false,
        custom_slice: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_on_fork() {
        let fifo = SchedAttr {
            policy: SCHED_FIFO,
            rt_priority: 10,
            nice: 5,
            reset_on_fork: true,
            custom_slice: None,
        };
        let c = fifo.for_child();
        assert_eq!(
            (c.policy, c.rt_priority, c.nice, c.reset_on_fork),
            (SCHED_OTHER, 0, 0, false)
        );
        let batch = SchedAttr {
            policy: SCHED_BATCH,
            nice: -3,
            reset_on_fork: true,
            custom_slice: Some(5_000_000),
            ..Default::default()
        };
        let c = batch.for_child();
        assert_eq!(
            (c.policy, c.nice, c.custom_slice, c.reset_on_fork),
            (SCHED_BATCH, 0, None, false)
        );
        let plain = SchedAttr {
            policy: SCHED_IDLE,
            nice: 4,
            custom_slice: Some(5_000_000),
            ..Default::default()
        };
        assert_eq!(plain.for_child(), plain);
    }

    #[test]
    fn stat_fields() {
        let line = "12 (a) b) (c) S 1 12 12 0 -1 4194560 0 0 0 0 0 0 0 0 25 5 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 3 0 0 0";
        let a = own_attr(line).unwrap();
        assert_eq!((a.policy, a.rt_priority, a.nice), (SCHED_BATCH, 0, 5));
        let rr = "1 (x) R 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 -8 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 7 2 0 0 0";
        let a = own_attr(rr).unwrap();
        assert_eq!((a.policy, a.rt_priority, a.nice), (SCHED_RR, 7, 0));
        assert_eq!(own_attr("garbage"), None);
    }
}
