//! The task tree (DESIGN.md §5 "Tasks"): every task and thread group of the sandbox, the
//! parent/child links, process groups and sessions, pending signals and group exit and
//! stop state. All of it sits behind one lock (`TreeRef`), taken briefly: signal sends,
//! exits, waits and identity changes are rare next to syscalls, and one lock makes the
//! rules Linux spreads over several locks easy to get right.
//!
//! The task's host thread owns everything else about it (`task::Task`). Other threads
//! reach a task only through its `TaskShared`: to wake it (`kick`) when a signal arrives.

use crate::kernel::ExitStatus;
use crate::process::ProcessInfo;
use crate::sched::SchedAttr;
use crate::signals::{self, SigInfo};
use crate::task::{SIG_DFL, SIG_IGN, SigAction};
use crate::wait::{Interruptible, WaitQueue, Waiter};
use platform::Interrupt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use syscalls_table::Errno;

pub type Actions = Arc<Mutex<[SigAction; 64]>>;
pub type TreeRef = Arc<Mutex<Tree>>;

pub const MAX_PID: i32 = 4_194_304;

pub fn bit(signo: i32) -> u64 {
    1u64 << (signo - 1)
}

pub const STOP_SIGNALS: u64 = (1 << (libc::SIGSTOP - 1))
    | (1 << (libc::SIGTSTP - 1))
    | (1 << (libc::SIGTTIN - 1))
    | (1 << (libc::SIGTTOU - 1));
const SIGCONT_BIT: u64 = 1 << (libc::SIGCONT - 1);
/// Signals whose default action also dumps core (signal(7)).
pub const CORE_SIGNALS: u64 = (1 << (libc::SIGQUIT - 1))
    | (1 << (libc::SIGILL - 1))
    | (1 << (libc::SIGTRAP - 1))
    | (1 << (libc::SIGABRT - 1))
    | (1 << (libc::SIGBUS - 1))
    | (1 << (libc::SIGFPE - 1))
    | (1 << (libc::SIGSEGV - 1))
    | (1 << (libc::SIGXCPU - 1))
    | (1 << (libc::SIGXFSZ - 1))
    | (1 << (libc::SIGSYS - 1));

/// Signals whose default action is to do nothing.
pub fn default_ignored(signo: i32) -> bool {
    matches!(
        signo,
        libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH
    )
}

pub fn default_stops(signo: i32) -> bool {
    (1..=64).contains(&signo) && STOP_SIGNALS & bit(signo) != 0
}

/// Signals not delivered yet: a bit set, and for each signal its queued siginfos
/// (standard signals queue at most one, real-time signals queue every send).
#[derive(Clone, Debug, Default)]
pub struct Pending {
    pub bits: u64,
    infos: BTreeMap<i32, VecDeque<SigInfo>>,
}

impl Pending {
    fn add(&mut self, info: SigInfo) -> bool {
        let signo = info.signo();
        if signo < libc::SIGRTMIN() && self.bits & bit(signo) != 0 {
            return false;
        }
        self.bits |= bit(signo);
        self.infos.entry(signo).or_default().push_back(info);
        true
    }

    fn take(&mut self, signo: i32) -> SigInfo {
        let q = self.infos.entry(signo).or_default();
        let info = q
            .pop_front()
            .unwrap_or_else(|| SigInfo::new(signo, signals::SI_KERNEL));
        if q.is_empty() {
            self.infos.remove(&signo);
            self.bits &= !bit(signo);
        }
        info
    }

    /// Drops the queued siginfos `pred` picks.
    fn remove_where(&mut self, pred: impl Fn(&SigInfo) -> bool) {
        for (&signo, q) in self.infos.iter_mut() {
            q.retain(|i| !pred(i));
            if q.is_empty() && (1..=64).contains(&signo) {
                self.bits &= !bit(signo);
            }
        }
        self.infos.retain(|_, q| !q.is_empty());
    }

    fn remove_set(&mut self, set: u64) {
        self.bits &= !set;
        self.infos
            .retain(|&s, _| (1..=64).contains(&s) && set & bit(s) == 0);
    }
}

/// What other threads may touch of a task: its waiter and platform interrupter, and a
/// hint that something (a signal, an exit, a stop) wants its attention.
pub struct TaskShared {
    pub tid: AtomicI32,
    pub waiter: Arc<Waiter>,
    /// Set by whoever queues a signal for the task or asks it to exit or stop; the task
    /// checks the tree when it is set and clears it when nothing is left to do.
    pub hint: AtomicBool,
    pub interrupter: Mutex<Option<Arc<dyn Interrupt>>>,
    /// The process whose /proc state this task shows (set for group leaders).
    pub shows: Mutex<Option<Arc<ProcessInfo>>>,
    /// The thread's own state for /proc/PID/task/TID: R or S.
    pub state: AtomicU8,
    /// Set, under the futex lock, once the exiting thread's robust list and PI futexes
    /// were released (Linux's FUTEX_STATE_DEAD): a PI futex word naming it then has no
    /// live owner.
    pub futex_exited: AtomicBool,
    tree: Weak<Mutex<Tree>>,
}

impl TaskShared {
    pub fn tid(&self) -> i32 {
        self.tid.load(Ordering::Relaxed)
    }

    /// Wakes the task from a wait and out of application code.
    pub fn kick(&self) {
        self.hint.store(true, Ordering::SeqCst);
        self.waiter.notify();
        if let Some(i) = self
            .interrupter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            i.interrupt();
        }
    }
}

impl Interruptible for TaskShared {
    fn waiter(&self) -> &Arc<Waiter> {
        &self.waiter
    }
    fn tid(&self) -> Option<i32> {
        Some(TaskShared::tid(self))
    }
    fn interrupted(&self) -> bool {
        if !self.hint.load(Ordering::SeqCst) {
            return false;
        }
        let Some(tree) = self.tree.upgrade() else {
            return true;
        };
        let t = lock(&tree);
        t.must_interrupt(self.tid())
    }
    fn sleeping(&self, on: bool) {
        self.state
            .store(if on { b'S' } else { b'R' }, Ordering::Relaxed);
        if let Some(p) = self
            .shows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let (from, to) = if on { (b'R', b'S') } else { (b'S', b'R') };
            let _ = p
                .state
                .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

pub fn lock(tree: &Mutex<Tree>) -> MutexGuard<'_, Tree> {
    tree.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct TaskEntry {
    pub shared: Arc<TaskShared>,
    pub tgid: i32,
    pub mask: u64,
    pub pending: Pending,
    /// The thread must exit (another thread of its group is exec'ing).
    pub killed: bool,
    /// The thread is parked in a group stop.
    pub stopped: bool,
    /// The set a sigtimedwait(2) of this thread waits for (blocked, but wakes it).
    pub sigwait: u64,
    /// Which memory manager it runs in (its address; a lingering creator of an address
    /// space waits until no other task runs in it).
    pub mm_id: usize,
    /// Scheduling policy, priority and nice value (sched(7): per thread).
    pub sched: SchedAttr,
    /// The thread's name (PR_SET_NAME, /proc/PID/task/TID/comm): at most 15 bytes. The
    /// leader's is also its process's (`ProcessInfo::comm`, kept equal by `set_comm`).
    pub comm: Vec<u8>,
    /// The thread's credentials as other tasks see them (capget(2), /proc, kill); the
    /// task's own copy is `Task::creds`, published by `Task::commit_creds`.
    pub creds: crate::task::Creds,
}

/// Why the parent may want to hear about a child: `wait4`'s reportable states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Stopped by this signal, not reported yet (WUNTRACED).
    Stopped(i32),
    /// Continued, not reported yet (WCONTINUED).
    Continued,
}

pub struct Group {
    pub tgid: i32,
    pub threads: Vec<i32>,
    pub parent: i32,
    pub children: BTreeSet<i32>,
    pub pgid: i32,
    pub sid: i32,
    pub shared_pending: Pending,
    pub actions: Actions,
    /// The group is exiting with this status (exit_group, a fatal signal), or has exited.
    pub exit: Option<ExitStatus>,
    /// All threads are gone: the group waits to be reaped.
    pub zombie: bool,
    /// The group is stopped by this signal.
    pub stopped: Option<i32>,
    /// A group stop whose report waits for every thread to have stopped (Linux notifies
    /// the parent when the last thread of the group stops).
    pub stop_notify: Option<i32>,
    pub report: Option<Report>,
    /// The signal the parent gets when this group exits (SIGCHLD, or clone's choice).
    pub exit_signal: i32,
    /// Has called execve (setpgid on it from its parent fails with EACCES).
    pub execed: bool,
    pub subreaper: bool,
    pub info: Arc<ProcessInfo>,
    /// Notified when a child changes state (exits, stops, continues).
    pub child_wq: Arc<WaitQueue>,
    /// Real and saved uid (kill permission).
    pub uid: u32,
    pub suid: u32,
    /// The signal this process gets when its parent thread exits (PR_SET_PDEATHSIG).
    pub pdeathsig: i32,
    /// The thread of the parent that created it (or took it over when that one ended).
    pub parent_tid: i32,
    /// Reparented to init (not a subreaper): for process-group orphaning, init counts as
    /// outside the session, as the host's init would for a process run natively.
    pub adopted: bool,
    pub dumpable: u8,
    pub no_new_privs: bool,
    pub prctl: PrctlState,
    /// Effective uid (who may change the scheduling of its threads).
    pub euid: u32,
    /// The leader's scheduling attributes once it has exited: a zombie leader (of a
    /// zombie process, or of a group whose other threads run on) is still found by its
    /// pid until the process is reaped.
    pub leader_sched: Option<SchedAttr>,
}

impl Group {
    /// A new thread group that leads its own process group and session, with no parent
    /// in the sandbox (the initial process; a process a runtime starts in the sandbox).
    pub fn leader(tgid: i32, actions: Actions, info: Arc<ProcessInfo>, uid: u32) -> Group {
        Group {
            tgid,
            threads: vec![tgid],
            parent: 0,
            children: Default::default(),
            pgid: tgid,
            sid: tgid,
            shared_pending: Default::default(),
            actions,
            exit: None,
            zombie: false,
            stopped: None,
            stop_notify: None,
            report: None,
            exit_signal: libc::SIGCHLD,
            execed: false,
            subreaper: false,
            info,
            child_wq: Default::default(),
            uid,
            suid: uid,
            pdeathsig: 0,
            parent_tid: 0,
            adopted: false,
            dumpable: 1,
            no_new_privs: false,
            prctl: Default::default(),
            euid: uid,
            leader_sched: None,
        }
    }
}

/// Process attributes prctl(2) sets and fork inherits.
#[derive(Clone, Copy, Debug)]
pub struct PrctlState {
    pub thp_disable: bool,
    /// Timer slack in ns (50 µs by default).
    pub timerslack: u64,
    /// PR_TSC_ENABLE.
    pub tsc: u32,
}

impl Default for PrctlState {
    fn default() -> Self {
        PrctlState {
            thp_disable: false,
            timerslack: 50_000,
            tsc: 1,
        }
    }
}

/// Every task and thread group of the sandbox.
#[derive(Default)]
pub struct Tree {
    pub tasks: BTreeMap<i32, TaskEntry>,
    pub groups: BTreeMap<i32, Group>,
    last_pid: i32,
    /// Notified when any group exits (pidfd readiness).
    pub exit_wq: Arc<WaitQueue>,
    /// Notified whenever a signal is queued (signalfd readiness: its readers block the
    /// signals they read, so no kick reaches them).
    pub signal_wq: Arc<WaitQueue>,
    /// The init process has exited: the sandbox is going down.
    pub shutdown: bool,
    /// What /proc lists (a reaped process leaves it).
    pub registry: Option<Arc<crate::process::Processes>>,
    /// The most tasks the sandbox may have (`linux.resources.pids.limit`, as the pids
    /// cgroup's pids.max); None: no limit.
    pub pids_max: Option<u64>,
}

/// What happened when the last thread of a group left.
pub struct ExitNotice {
    pub group_exited: bool,
}

impl Tree {
    /// The tasks the pids cgroup would count: every thread, and a process whose leader
    /// has gone (a zombie, or a leader that exited before its threads) until reaped.
    pub fn pids_current(&self) -> u64 {
        let gone_leaders = self
            .groups
            .keys()
            .filter(|g| !self.tasks.contains_key(g))
            .count();
        (self.tasks.len() + gone_leaders) as u64
    }

    /// Whether one more task would go over `pids_max` (fork then fails with EAGAIN).
    pub fn pids_full(&self) -> bool {
        self.pids_max.is_some_and(|max| self.pids_current() >= max)
    }

    /// A free pid (Linux allocates upwards and wraps; pids 1.. are used in order).
    pub fn alloc_pid(&mut self) -> Result<i32, Errno> {
        for _ in 0..MAX_PID {
            self.last_pid = if self.last_pid >= MAX_PID - 1 {
                300
            } else {
                self.last_pid + 1
            };
            let p = self.last_pid;
            if !self.tasks.contains_key(&p)
                && !self.groups.contains_key(&p)
                && !self.groups.values().any(|g| g.pgid == p || g.sid == p)
            {
                return Ok(p);
            }
        }
        Err(Errno::EAGAIN)
    }

    pub fn new_shared(tree: &TreeRef, tid: i32) -> Arc<TaskShared> {
        Arc::new(TaskShared {
            tid: AtomicI32::new(tid),
            waiter: Waiter::new(),
            hint: AtomicBool::new(false),
            interrupter: Mutex::new(None),
            shows: Mutex::new(None),
            state: AtomicU8::new(b'R'),
            futex_exited: AtomicBool::new(false),
            tree: Arc::downgrade(tree),
        })
    }

    pub fn group_of(&self, tid: i32) -> Option<&Group> {
        self.groups.get(&self.tasks.get(&tid)?.tgid)
    }

    /// The thread group of task `tid`: a live thread's, or its own for a group whose
    /// leader has exited and that is not reaped (Linux still finds that task by pid).
    pub fn tgid_of(&self, tid: i32) -> Option<i32> {
        match self.tasks.get(&tid) {
            Some(e) => Some(e.tgid),
            None => self.groups.get(&tid).map(|g| g.tgid),
        }
    }

    /// The scheduling attributes of task `tid` (see `tgid_of`).
    pub fn sched_of(&self, tid: i32) -> Option<SchedAttr> {
        match self.tasks.get(&tid) {
            Some(e) => Some(e.sched),
            None => self.groups.get(&tid)?.leader_sched,
        }
    }

    pub fn sched_mut(&mut self, tid: i32) -> Option<&mut SchedAttr> {
        match self.tasks.get_mut(&tid) {
            Some(e) => Some(&mut e.sched),
            None => self.groups.get_mut(&tid)?.leader_sched.as_mut(),
        }
    }

    /// Names thread `tid` (PR_SET_NAME, a write to its comm file): up to the first NUL,
    /// at most 15 bytes. The leader's name is its process's too.
    pub fn set_comm(&mut self, tid: i32, name: &[u8]) {
        let end = name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name.len())
            .min(15);
        let Some(e) = self.tasks.get_mut(&tid) else {
            return;
        };
        e.comm = name[..end].to_vec();
        let tgid = e.tgid;
        if tid == tgid
            && let Some(g) = self.groups.get(&tgid)
        {
            g.info.set_comm(&name[..end]);
        }
    }

    /// Whether a wait of task `tid` must end: a deliverable signal, an exit or a stop.
    pub fn must_interrupt(&self, tid: i32) -> bool {
        let Some(e) = self.tasks.get(&tid) else {
            return true;
        };
        let Some(g) = self.groups.get(&e.tgid) else {
            return true;
        };
        e.killed
            || g.exit.is_some()
            || (g.stopped.is_some() && !e.stopped)
            || (e.pending.bits | g.shared_pending.bits) & !(e.mask & !signals::UNBLOCKABLE) != 0
    }

    fn action(&self, tgid: i32, signo: i32) -> SigAction {
        self.groups
            .get(&tgid)
            .map(|g| g.actions.lock().unwrap_or_else(|e| e.into_inner())[(signo - 1) as usize])
            .unwrap_or_default()
    }

    /// Whether a signal sent to the group would be discarded at once (prepare_signal).
    fn ignored(&self, tgid: i32, signo: i32, mask: u64) -> bool {
        if signo == libc::SIGKILL || signo == libc::SIGSTOP {
            return false;
        }
        if mask & bit(signo) != 0 {
            return false;
        }
        let a = self.action(tgid, signo);
        a.handler == SIG_IGN || (a.handler == SIG_DFL && default_ignored(signo))
    }

    /// Sends a signal to a thread group (kill(2)) or to one thread (tgkill(2)).
    pub fn send(&mut self, tgid: i32, thread: Option<i32>, info: SigInfo) {
        let signo = info.signo();
        if !(1..=64).contains(&signo) {
            return;
        }
        let Some(g) = self.groups.get_mut(&tgid) else {
            return;
        };
        if g.exit.is_some() || g.zombie {
            return;
        }
        // Stop and continue signals cancel each other when sent (prepare_signal).
        if STOP_SIGNALS & bit(signo) != 0 {
            g.shared_pending.remove_set(SIGCONT_BIT);
            for t in g.threads.clone() {
                if let Some(e) = self.tasks.get_mut(&t) {
                    e.pending.remove_set(SIGCONT_BIT);
                }
            }
        } else if signo == libc::SIGCONT {
            g.shared_pending.remove_set(STOP_SIGNALS);
            let threads = g.threads.clone();
            // A stop that had not reached every thread was never reported: it ends
            // without a report either way.
            let was_stopped = g.stopped.take().is_some() && g.stop_notify.take().is_none();
            for t in &threads {
                if let Some(e) = self.tasks.get_mut(t) {
                    e.pending.remove_set(STOP_SIGNALS);
                    e.shared.kick();
                }
            }
            if was_stopped && let Some(g) = self.groups.get_mut(&tgid) {
                g.report = Some(Report::Continued);
                set_state(&g.info, b'S');
                self.notify_parent(tgid, libc::CLD_CONTINUED, libc::SIGCONT);
            }
        }
        if signo == libc::SIGKILL {
            self.group_exit(tgid, ExitStatus::Signaled(libc::SIGKILL));
            return;
        }
        let Some(g) = self.groups.get(&tgid) else {
            return;
        };
        // A stopped group takes no signal but SIGKILL (and SIGCONT, above) until it is
        // continued: the signal waits, pending (wants_signal).
        let stopped = g.stopped.is_some() && signo != libc::SIGCONT;
        let leader_mask = thread
            .or_else(|| g.threads.first().copied())
            .and_then(|t| self.tasks.get(&t))
            .map_or(0, |e| e.mask);
        if self.ignored(tgid, signo, leader_mask) {
            return;
        }
        // Queue it, then find a thread to handle it.
        let target = match thread {
            Some(tid) => {
                let Some(e) = self.tasks.get_mut(&tid) else {
                    return;
                };
                if !e.pending.add(info) {
                    return;
                }
                let blocked = e.mask & bit(signo) != 0;
                let waited = e.sigwait & bit(signo) != 0;
                let shared = e.shared.clone();
                self.signal_wq.notify_events(libc::POLLIN as u32);
                if blocked {
                    if waited {
                        shared.kick();
                    }
                    return;
                }
                Some(tid)
            }
            None => {
                let Some(g) = self.groups.get_mut(&tgid) else {
                    return;
                };
                if !g.shared_pending.add(info) {
                    return;
                }
                let threads = g.threads.clone();
                self.signal_wq.notify_events(libc::POLLIN as u32);
                let t = threads.iter().copied().find(|t| {
                    self.tasks
                        .get(t)
                        .is_some_and(|e| e.mask & bit(signo) == 0 && !e.killed)
                });
                if t.is_none() {
                    // Blocked everywhere: a thread in sigtimedwait for it takes it.
                    if let Some(e) = threads
                        .iter()
                        .filter_map(|t| self.tasks.get(t))
                        .find(|e| e.sigwait & bit(signo) != 0)
                    {
                        e.shared.kick();
                    }
                }
                t
            }
        };
        let Some(target) = target else {
            return;
        };
        if stopped {
            return;
        }
        // A fatal signal kills the whole group at once (complete_signal), so threads
        // blocked in syscalls do not run on.
        let a = self.action(tgid, signo);
        if a.handler == SIG_DFL
            && !default_ignored(signo)
            && STOP_SIGNALS & bit(signo) == 0
            && signo != libc::SIGCONT
        {
            self.group_exit(tgid, ExitStatus::Signaled(signo));
            return;
        }
        if let Some(e) = self.tasks.get(&target) {
            e.shared.kick();
        }
    }

    /// Reports a group stop to the parent once every thread of the group has stopped
    /// (do_signal_stop's last thread).
    pub fn complete_stop(&mut self, tgid: i32) {
        let Some(g) = self.groups.get(&tgid) else {
            return;
        };
        let (Some(signo), Some(_)) = (g.stop_notify, g.stopped) else {
            return;
        };
        if !g
            .threads
            .iter()
            .all(|t| self.tasks.get(t).is_none_or(|e| e.stopped))
        {
            return;
        }
        if let Some(g) = self.groups.get_mut(&tgid) {
            g.stop_notify = None;
            g.report = Some(Report::Stopped(signo));
        }
        self.notify_parent(tgid, libc::CLD_STOPPED, signo);
    }

    /// Starts the exit of every thread of a group with `status` (exit_group, fatal
    /// signal). The first exit status wins.
    pub fn group_exit(&mut self, tgid: i32, status: ExitStatus) {
        let Some(g) = self.groups.get_mut(&tgid) else {
            return;
        };
        if g.exit.is_none() {
            g.exit = Some(status);
        }
        g.stopped = None;
        for t in g.threads.clone() {
            if let Some(e) = self.tasks.get(&t) {
                e.shared.kick();
            }
        }
    }

    /// Takes the next signal task `tid` should deliver: synchronous ones first, then
    /// the lowest-numbered, its own pending before its group's.
    pub fn dequeue(&mut self, tid: i32) -> Option<SigInfo> {
        const SYNCHRONOUS: u64 = (1 << (libc::SIGSEGV - 1))
            | (1 << (libc::SIGBUS - 1))
            | (1 << (libc::SIGILL - 1))
            | (1 << (libc::SIGTRAP - 1))
            | (1 << (libc::SIGFPE - 1))
            | (1 << (libc::SIGSYS - 1));
        let e = self.tasks.get(&tid)?;
        let allowed = !e.mask | signals::UNBLOCKABLE;
        let own = e.pending.bits & allowed;
        let tgid = e.tgid;
        let shared = self.groups.get(&tgid)?.shared_pending.bits & allowed;
        let pick = |set: u64| -> Option<i32> {
            if set == 0 {
                return None;
            }
            let s = if set & SYNCHRONOUS != 0 {
                set & SYNCHRONOUS
            } else {
                set
            };
            Some(s.trailing_zeros() as i32 + 1)
        };
        if let Some(s) = pick(own) {
            return Some(self.tasks.get_mut(&tid)?.pending.take(s));
        }
        let s = pick(shared)?;
        Some(self.groups.get_mut(&tgid)?.shared_pending.take(s))
    }

    /// Signals pending for a task (its own and its group's).
    pub fn pending_set(&self, tid: i32) -> u64 {
        let Some(e) = self.tasks.get(&tid) else {
            return 0;
        };
        e.pending.bits
            | self
                .groups
                .get(&e.tgid)
                .map_or(0, |g| g.shared_pending.bits)
    }

    /// Removes one pending signal in `set` for sigtimedwait: the task's own first.
    pub fn take_from_set(&mut self, tid: i32, set: u64) -> Option<SigInfo> {
        let e = self.tasks.get_mut(&tid)?;
        let own = e.pending.bits & set;
        if own != 0 {
            return Some(e.pending.take(own.trailing_zeros() as i32 + 1));
        }
        let tgid = e.tgid;
        let g = self.groups.get_mut(&tgid)?;
        let sh = g.shared_pending.bits & set;
        if sh != 0 {
            return Some(g.shared_pending.take(sh.trailing_zeros() as i32 + 1));
        }
        None
    }

    /// Sends the exit signal (or a stop/continue notice) of `tgid` to its parent and
    /// wakes the parent's waits.
    pub fn notify_parent(&mut self, tgid: i32, code: i32, status: i32) {
        let Some(g) = self.groups.get(&tgid) else {
            return;
        };
        let (parent, uid, exit_signal) = (g.parent, g.uid, g.exit_signal);
        let Some(p) = self.groups.get(&parent) else {
            return;
        };
        let wq = p.child_wq.clone();
        let stop_or_cont = code == libc::CLD_STOPPED || code == libc::CLD_CONTINUED;
        let chld =
            p.actions.lock().unwrap_or_else(|e| e.into_inner())[(libc::SIGCHLD - 1) as usize];
        let signo = if stop_or_cont {
            libc::SIGCHLD
        } else {
            exit_signal
        };
        let suppressed = stop_or_cont && chld.flags & SA_NOCLDSTOP != 0;
        if (1..=64).contains(&signo) && !suppressed {
            let mut info = SigInfo::from_process(signo, code, tgid, uid);
            info.0[24..28].copy_from_slice(&status.to_le_bytes());
            self.send(parent, None, info);
        }
        wq.notify_all();
    }

    /// Whether the parent of `tgid` reaps it at once when it exits (SIGCHLD ignored or
    /// SA_NOCLDWAIT).
    fn autoreap(&self, tgid: i32) -> bool {
        let Some(g) = self.groups.get(&tgid) else {
            return false;
        };
        if g.exit_signal != libc::SIGCHLD {
            return false;
        }
        let Some(p) = self.groups.get(&g.parent) else {
            // Nobody to wait for it; init stays for the sentry to read its status.
            return tgid != 1;
        };
        let a = p.actions.lock().unwrap_or_else(|e| e.into_inner())[(libc::SIGCHLD - 1) as usize];
        a.handler == SIG_IGN || a.flags & SA_NOCLDWAIT != 0
    }

    /// Removes a thread that has finished. When it was its group's last, the group
    /// becomes a zombie (or is reaped at once), its children go to a reaper and its
    /// parent is told. Returns whether the group is gone.
    pub fn exit_task(&mut self, tid: i32, status: ExitStatus) -> ExitNotice {
        let Some(e) = self.tasks.remove(&tid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        let tgid = e.tgid;
        let Some(g) = self.groups.get_mut(&tgid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        g.threads.retain(|&t| t != tid);
        if tid == tgid {
            g.leader_sched = Some(e.sched);
        }
        if g.stop_notify.is_some() && !g.threads.is_empty() {
            self.complete_stop(tgid);
        }
        let Some(g) = self.groups.get_mut(&tgid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        let heir = g.threads.first().copied();
        let uid = g.uid;
        // Children this thread made get their parent-death signal; another thread of
        // the group becomes their parent thread.
        let orphans: Vec<(i32, i32)> = self
            .groups
            .values()
            .filter(|c| c.parent == tgid && c.parent_tid == tid)
            .map(|c| (c.tgid, c.pdeathsig))
            .collect();
        for (c, sig) in orphans {
            if let Some(cg) = self.groups.get_mut(&c) {
                cg.parent_tid = heir.unwrap_or(0);
            }
            if sig != 0 {
                self.send(
                    c,
                    None,
                    SigInfo::from_process(sig, signals::SI_USER, tgid, uid),
                );
            }
        }
        let Some(g) = self.groups.get_mut(&tgid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        if tid == tgid && !g.threads.is_empty() {
            // The leader is gone before its threads: /proc shows it as a zombie.
            set_state(&g.info, b'Z');
        }
        self.exit_wq.notify_all();
        let Some(g) = self.groups.get_mut(&tgid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        if !g.threads.is_empty() {
            return ExitNotice {
                group_exited: false,
            };
        }
        // Which process groups this exit may orphan: its own and its children's.
        let mut pgids: Vec<i32> = vec![g.pgid];
        let kids: Vec<i32> = g.children.iter().copied().collect();
        for c in &kids {
            if let Some(cg) = self.groups.get(c) {
                pgids.push(cg.pgid);
            }
        }
        pgids.sort_unstable();
        pgids.dedup();
        let candidates: Vec<(i32, bool)> =
            pgids.iter().map(|&p| (p, self.pgrp_orphaned(p))).collect();
        let Some(g) = self.groups.get_mut(&tgid) else {
            return ExitNotice {
                group_exited: false,
            };
        };
        let status = *g.exit.get_or_insert(status);
        g.zombie = true;
        g.stopped = None;
        g.report = None;
        set_state(&g.info, b'Z');
        let children: Vec<i32> = g.children.iter().copied().collect();
        // Orphans go to the nearest subreaper ancestor, else to init.
        let mut reaper = 1;
        let mut subreaper_found = false;
        let mut a = self.groups.get(&tgid).map_or(0, |g| g.parent);
        while let Some(pg) = self.groups.get(&a) {
            if pg.subreaper && !pg.zombie && pg.exit.is_none() {
                reaper = a;
                subreaper_found = true;
                break;
            }
            a = pg.parent;
        }
        if reaper == tgid || self.groups.get(&reaper).is_none_or(|r| r.zombie) {
            reaper = 0;
        }
        for c in children {
            if let Some(cg) = self.groups.get_mut(&c) {
                cg.adopted = reaper == 1 && !subreaper_found;
                cg.parent = reaper;
                cg.info.ppid.store(reaper, Ordering::Relaxed);
                // A reparented child's exit signal becomes SIGCHLD.
                cg.exit_signal = libc::SIGCHLD;
            }
            if let Some(rg) = self.groups.get_mut(&reaper) {
                rg.children.insert(c);
            }
            let zombie = self.groups.get(&c).is_some_and(|cg| cg.zombie);
            if reaper == 0 {
                if zombie {
                    self.reap(c);
                }
            } else if zombie {
                // A zombie orphan: its new parent must hear about it.
                let st = self.groups.get(&c).and_then(|cg| cg.exit);
                if let Some(st) = st {
                    let (code, val) = child_code(st);
                    self.notify_parent(c, code, val);
                }
            }
        }
        if let Some(g) = self.groups.get_mut(&tgid) {
            g.children.clear();
        }
        self.hup_orphaned(&candidates);
        let (code, val) = child_code(status);
        // The parent hears of the exit (its SIGCHLD handler runs even with SA_NOCLDWAIT);
        // with SIGCHLD ignored or SA_NOCLDWAIT nobody waits for the zombie.
        let auto = self.autoreap(tgid);
        let parent = self.groups.get(&tgid).map_or(0, |g| g.parent);
        self.notify_parent(tgid, code, val);
        if auto {
            self.reap(tgid);
            if let Some(p) = self.groups.get(&parent) {
                p.child_wq.notify_all();
            }
        }
        self.exit_wq.notify_all();
        ExitNotice { group_exited: true }
    }

    /// Forgets a zombie group (its parent waited for it).
    pub fn reap(&mut self, tgid: i32) {
        if let Some(g) = self.groups.remove(&tgid) {
            if let Some(p) = self.groups.get_mut(&g.parent) {
                p.children.remove(&tgid);
            }
            g.info.reaped.store(true, Ordering::Relaxed);
            if let Some(r) = &self.registry {
                r.remove(tgid);
            }
        }
    }

    /// Drops pending `signo` from every thread of the group and the group's own set (the
    /// signal became ignored).
    pub fn discard_pending(&mut self, tgid: i32, signo: i32) {
        let Some(g) = self.groups.get_mut(&tgid) else {
            return;
        };
        g.shared_pending.remove_set(bit(signo));
        for t in g.threads.clone() {
            if let Some(e) = self.tasks.get_mut(&t) {
                e.pending.remove_set(bit(signo));
            }
        }
    }

    /// Whether process group `pgid` is orphaned: no member has a parent in another group
    /// of the same session (a parent outside the sandbox counts as such a parent, as a
    /// shell running the sandbox would be).
    pub fn pgrp_orphaned(&self, pgid: i32) -> bool {
        !self.groups.values().any(|g| {
            g.pgid == pgid
                && !g.zombie
                && (g.parent == 0
                    || (!g.adopted
                        && self
                            .groups
                            .get(&g.parent)
                            .is_some_and(|p| !p.zombie && p.pgid != pgid && p.sid == g.sid)))
        })
    }

    /// Sends SIGHUP then SIGCONT to every member of each group in `pgids` that has just
    /// become orphaned (`was` says which were orphaned before) and has a stopped member.
    fn hup_orphaned(&mut self, candidates: &[(i32, bool)]) {
        for &(pgid, was) in candidates {
            if was || !self.pgrp_orphaned(pgid) {
                continue;
            }
            let members = self.pgrp_members(pgid);
            let stopped = members
                .iter()
                .any(|m| self.groups.get(m).is_some_and(|g| g.stopped.is_some()));
            if !stopped {
                continue;
            }
            for m in members {
                self.send(m, None, SigInfo::new(libc::SIGHUP, signals::SI_KERNEL));
                self.send(m, None, SigInfo::new(libc::SIGCONT, signals::SI_KERNEL));
            }
        }
    }

    /// The queued siginfo `pred` picks among the signals pending for thread `thread`
    /// (for group `tgid` when None), to update in place (a POSIX timer's overrun count)
    /// or to learn that it was delivered.
    pub fn queued_mut(
        &mut self,
        tgid: i32,
        thread: Option<i32>,
        pred: impl Fn(&SigInfo) -> bool,
    ) -> Option<&mut SigInfo> {
        let p = match thread {
            Some(tid) => &mut self.tasks.get_mut(&tid)?.pending,
            None => &mut self.groups.get_mut(&tgid)?.shared_pending,
        };
        p.infos
            .values_mut()
            .flat_map(|q| q.iter_mut())
            .find(|i| pred(i))
    }

    /// Drops the pending signals `pred` picks (those of a deleted timer).
    pub fn remove_queued(
        &mut self,
        tgid: i32,
        thread: Option<i32>,
        pred: impl Fn(&SigInfo) -> bool,
    ) {
        let p = match thread {
            Some(tid) => self.tasks.get_mut(&tid).map(|e| &mut e.pending),
            None => self.groups.get_mut(&tgid).map(|g| &mut g.shared_pending),
        };
        if let Some(p) = p {
            p.remove_where(pred);
        }
    }

    /// Members of process group `pgid` that are alive.
    pub fn pgrp_members(&self, pgid: i32) -> Vec<i32> {
        self.groups
            .values()
            .filter(|g| g.pgid == pgid && !g.zombie)
            .map(|g| g.tgid)
            .collect()
    }
}

pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_RESTART: u64 = 0x1000_0000;

/// The si_code and si_status a parent sees for an exit status.
pub fn child_code(st: ExitStatus) -> (i32, i32) {
    match st {
        ExitStatus::Exited(c) => (libc::CLD_EXITED, c & 0xff),
        ExitStatus::Signaled(s) => (libc::CLD_KILLED, s),
    }
}

/// The wait(2) status word for an exit.
pub fn wait_status(st: ExitStatus) -> i32 {
    match st {
        ExitStatus::Exited(c) => (c & 0xff) << 8,
        ExitStatus::Signaled(s) => s & 0x7f,
    }
}

pub fn set_state(info: &ProcessInfo, s: u8) {
    info.state.store(s, Ordering::Relaxed);
}
