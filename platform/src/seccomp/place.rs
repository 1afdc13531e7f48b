//! Where a stub thread and the sentry thread that serves it run.
//!
//! Every trap is a hand-off between two host threads: the stub thread and its sentry
//! thread. When the other side is spinning on another CPU, a hand-off costs a cache-line
//! transfer; when it sleeps on another CPU, it costs a cross-CPU wake-up (an IPI, and on
//! a virtual machine an exit and an entry: 17–30 µs measured here, against under 3 µs
//! for a wake-up on the same CPU). Spinning only pays when both sides answer within a
//! few microseconds and a CPU is free to spin on. So a pair runs in one of two modes:
//!
//! - **packed** (the default): both threads pinned to one CPU, no spinning — a hand-off
//!   is a yield of the CPU to the other side (or, when that does not run it, a sleep and
//!   a same-CPU wake-up). The pairs that are active (not blocked in the sentry) are
//!   spread over the CPUs by count, so that `make -j2`'s two compilers get one CPU each;
//!   a pair that shares its CPU while another CPU has none moves there.
//! - **spread**: both threads free to run anywhere, spinning (the adaptive budgets of
//!   `Spin`): taken by a pair whose application traps every few microseconds while no
//!   other pair is active, as a syscall-bound program alone in its sandbox.
//!
//! The sentry tells the platform when a thread blocks (`blocked`), which removes its
//! pair from the count until it next runs the application.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// An event is short when the application ran for less than this before it and the
/// sentry handled the one before in less than this too.
const SHORT_NS: u64 = 20_000;
/// The share of short events (of `ONE`) above which a pair may spread, and below which
/// a spread pair packs. A share, not an average: a rare long wait (the other side was
/// preempted) must not pack a pair that is otherwise trapping every few microseconds.
const ONE: u32 = 1024;
const SPREAD_ABOVE: u32 = ONE * 9 / 10;
const PACK_BELOW: u32 = ONE / 8;
/// Events a pair stays in a mode before it may change again.
const MIN_EVENTS: u32 = 64;
/// The moving share weighs a new event 1/2^SHARE_SHIFT.
const SHARE_SHIFT: u32 = 5;

/// The CPUs the sandbox may use and how many active packed pairs each has.
struct Cpus {
    ids: Vec<usize>,
    active: Vec<AtomicU32>,
    /// Active spread pairs.
    spread: AtomicU32,
}

static CPUS: OnceLock<Cpus> = OnceLock::new();

/// Reads the CPUs this process may run on (call before the sentry is confined).
pub(crate) fn init() {
    CPUS.get_or_init(|| {
        let ids = crate::confine::allowed_cpus();
        Cpus {
            active: ids.iter().map(|_| AtomicU32::new(0)).collect(),
            ids,
            spread: AtomicU32::new(0),
        }
    });
}

/// Not counted anywhere.
const NONE: i32 = -1;
/// Counted as an active spread pair.
const SPREAD: i32 = -2;

/// Where a pair is counted: `NONE`, `SPREAD` or the index of its CPU. Shared between
/// the context and the thread-local hook, so that exactly one of them uncounts it.
#[derive(Default)]
pub(crate) struct Count(AtomicI32);

impl Count {
    pub(crate) fn new() -> Arc<Count> {
        Arc::new(Count(AtomicI32::new(NONE)))
    }

    fn set(&self, cpus: &Cpus, to: i32) {
        match to {
            SPREAD => cpus.spread.fetch_add(1, Ordering::SeqCst),
            NONE => 0,
            i => cpus.active[i as usize].fetch_add(1, Ordering::SeqCst),
        };
        self.uncount_value(cpus, self.0.swap(to, Ordering::SeqCst));
    }

    fn uncount_value(&self, cpus: &Cpus, v: i32) {
        match v {
            SPREAD => cpus.spread.fetch_sub(1, Ordering::SeqCst),
            NONE => 0,
            i => cpus.active[i as usize].fetch_sub(1, Ordering::SeqCst),
        };
    }

    /// Removes the pair from the count (it blocked, or its context ended).
    pub(crate) fn uncount(&self) {
        if let Some(cpus) = CPUS.get() {
            self.uncount_value(cpus, self.0.swap(NONE, Ordering::SeqCst));
        }
    }
}

thread_local! {
    /// The pair the calling sentry thread last ran.
    static CURRENT: RefCell<Option<Arc<Count>>> = const { RefCell::new(None) };
    /// The calling sentry thread runs a packed pair: waiting on its stub is sleeping.
    static PACKED: Cell<bool> = const { Cell::new(false) };
}

/// The calling sentry thread is about to block: its pair stops counting as active.
pub fn blocked() {
    let _ = CURRENT.try_with(|c| {
        if let Some(c) = &*c.borrow() {
            c.uncount();
        }
    });
}

/// Whether waits of the calling sentry thread on a stub should skip spinning (it runs a
/// packed pair: the stub shares its CPU).
pub(crate) fn no_spin() -> bool {
    PACKED.try_with(Cell::get).unwrap_or(false)
}

/// The CPU the calling sentry thread is pinned to (a packed pair), for a new stub
/// process or thread it makes to start on.
pub(crate) fn pinned_cpu() -> Option<usize> {
    if !no_spin() {
        return None;
    }
    let cpus = CPUS.get()?;
    CURRENT
        .try_with(|c| {
            let v = c.borrow().as_ref()?.0.load(Ordering::SeqCst);
            (v >= 0).then(|| cpus.ids[v as usize])
        })
        .ok()
        .flatten()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Packed,
    Spread,
}

/// The placement state of one context (one pair).
pub(crate) struct Placement {
    count: Arc<Count>,
    mode: Mode,
    /// The CPU index both threads are pinned to (packed), or None (free).
    pinned: Option<usize>,
    /// The stub thread the pin applies to.
    stub_tid: i32,
    /// Events since the mode last changed.
    events: u32,
    /// The moving share of short events, of `ONE`.
    short: u32,
}

impl Placement {
    pub(crate) fn new() -> Placement {
        Placement {
            count: Count::new(),
            mode: Mode::Packed,
            pinned: None,
            stub_tid: 0,
            events: 0,
            short: 0,
        }
    }

    /// Records one event: the application ran `run_ns` (hand-over to event, as the
    /// sentry saw it) and the sentry handled the previous one in `handle_ns`.
    pub(crate) fn record(&mut self, run_ns: u64, handle_ns: u64) {
        let x = if run_ns < SHORT_NS && handle_ns < SHORT_NS {
            ONE
        } else {
            0
        };
        self.short = self.short - (self.short >> SHARE_SHIFT) + (x >> SHARE_SHIFT);
        self.events = self.events.saturating_add(1);
    }

    /// Places the pair before the sentry hands stub thread `stub_tid` back to the
    /// application; returns whether its waits may spin.
    pub(crate) fn place(&mut self, stub_tid: i32) -> bool {
        let Some(cpus) = CPUS.get() else {
            return true;
        };
        let _ = CURRENT.try_with(|c| {
            let mut c = c.borrow_mut();
            if !c.as_ref().is_some_and(|c| Arc::ptr_eq(c, &self.count)) {
                *c = Some(self.count.clone());
            }
        });
        if cpus.ids.len() < 2 {
            // One CPU: the other side can only run once this one sleeps.
            let _ = PACKED.try_with(|p| p.set(true));
            return false;
        }
        if stub_tid != self.stub_tid {
            self.stub_tid = stub_tid;
            self.pinned = None;
        }
        let counted = self.count.0.load(Ordering::SeqCst);
        let mine = u32::from(counted != NONE);
        let others = cpus
            .active
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .sum::<u32>()
            + cpus.spread.load(Ordering::SeqCst);
        let others = others.saturating_sub(mine);
        let next = next_mode(self.mode, self.events, self.short, others);
        if next != self.mode {
            self.mode = next;
            self.events = 0;
        }
        let spin = self.mode == Mode::Spread;
        let _ = PACKED.try_with(|p| p.set(!spin));
        if spin {
            if counted != SPREAD {
                self.count.set(cpus, SPREAD);
            }
            if self.pinned.take().is_some() {
                let all: Vec<usize> = cpus.ids.clone();
                crate::confine::pin(0, &all);
                crate::confine::pin(stub_tid, &all);
            }
            return true;
        }
        let load = |i: usize| cpus.active[i].load(Ordering::SeqCst);
        let here =
            (counted >= 0 && self.pinned == Some(counted as usize)).then_some(counted as usize);
        let best = match choose_cpu(cpus.ids.len(), load, here, self.pinned) {
            None => return false,
            Some(best) => best,
        };
        self.count.set(cpus, best as i32);
        if self.pinned != Some(best) {
            crate::confine::pin(0, &[cpus.ids[best]]);
            crate::confine::pin(stub_tid, &[cpus.ids[best]]);
            self.pinned = Some(best);
        }
        false
    }
}

/// The mode a pair in `mode` for `events` events, `short` of whose recent events were
/// short, takes while `others` other pairs are active.
fn next_mode(mode: Mode, events: u32, short: u32, others: u32) -> Mode {
    match mode {
        // Another active pair needs the CPU this one would spin on.
        Mode::Spread if others > 0 => Mode::Packed,
        _ if events < MIN_EVENTS => mode,
        Mode::Packed if others == 0 && short > SPREAD_ABOVE => Mode::Spread,
        Mode::Spread if short < PACK_BELOW => Mode::Packed,
        m => m,
    }
}

/// The CPU (index, of `n`) a packed pair should count on, given the active pairs per
/// CPU (`load`, its own included where it counts: `here`) and where it is pinned: `None`
/// to stay where it counts. A pair that is not counted takes the least loaded CPU, its
/// own on a tie; a counted one moves only off a CPU it shares while another is idle.
fn choose_cpu(
    n: usize,
    load: impl Fn(usize) -> u32,
    here: Option<usize>,
    pinned: Option<usize>,
) -> Option<usize> {
    let least = |start: usize| (0..n).fold(start, |b, i| if load(i) < load(b) { i } else { b });
    match here {
        Some(h) if load(h) >= 2 && (0..n).any(|i| load(i) == 0) => Some(least(h)),
        Some(_) => None,
        None => Some(least(pinned.filter(|&p| p < n).unwrap_or(0))),
    }
}

impl Drop for Placement {
    fn drop(&mut self) {
        self.count.uncount();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let hot = SPREAD_ABOVE + 1;
        // Too few events in a mode: it stays, unless a spread pair meets another.
        assert_eq!(next_mode(Mode::Packed, 10, hot, 0), Mode::Packed);
        assert_eq!(next_mode(Mode::Spread, 10, hot, 1), Mode::Packed);
        assert_eq!(next_mode(Mode::Packed, MIN_EVENTS, hot, 0), Mode::Spread);
        // Not while another pair is active, nor when too few events are short.
        assert_eq!(next_mode(Mode::Packed, MIN_EVENTS, hot, 1), Mode::Packed);
        assert_eq!(
            next_mode(Mode::Packed, MIN_EVENTS, SPREAD_ABOVE, 0),
            Mode::Packed
        );
        // Between the thresholds a spread pair stays spread.
        assert_eq!(
            next_mode(Mode::Spread, MIN_EVENTS, PACK_BELOW, 0),
            Mode::Spread
        );
        assert_eq!(
            next_mode(Mode::Spread, MIN_EVENTS, PACK_BELOW - 1, 0),
            Mode::Packed
        );
    }

    #[test]
    fn cpus() {
        let choose =
            |loads: &[u32], here, pinned| choose_cpu(loads.len(), |i| loads[i], here, pinned);
        // Uncounted: the least loaded, its own CPU on a tie.
        assert_eq!(choose(&[1, 0], None, None), Some(1));
        assert_eq!(choose(&[1, 1], None, Some(1)), Some(1));
        assert_eq!(choose(&[0, 0], None, None), Some(0));
        assert_eq!(choose(&[0, 0], None, Some(7)), Some(0));
        // Counted: stays, unless it shares its CPU while another is idle.
        assert_eq!(choose(&[1, 0], Some(0), Some(0)), None);
        assert_eq!(choose(&[2, 1], Some(0), Some(0)), None);
        assert_eq!(choose(&[2, 0], Some(0), Some(0)), Some(1));
        assert_eq!(choose(&[1, 3, 0], Some(1), Some(1)), Some(2));
    }
}
