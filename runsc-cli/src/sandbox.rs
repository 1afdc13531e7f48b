//! Hardening of the sandbox process (DESIGN.md §8): once the sentry is built and before
//! the application runs its first instruction, the process gives up what it no longer
//! needs — every capability, the right to gain privileges (`no_new_privs`), and every
//! host system call outside a fixed allowlist, enforced by a seccomp filter on all its
//! threads. A call outside the list kills the whole sandbox process
//! (`SECCOMP_RET_KILL_PROCESS`): the sentry never opens, executes, mounts or traces
//! anything on its own after setup.
//!
//! Stub processes do not inherit the filter: the platform forks them from a factory
//! process made before it (`platform::stub::Factory`).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// What the allowlist depends on.
#[derive(Clone, Debug)]
pub struct Profile {
    pub platform: String,
    /// `--network=host`: the sentry makes host sockets for the application.
    pub host_network: bool,
}

impl Profile {
    pub fn new(platform: &str, network: sentry::Network) -> Profile {
        Profile {
            platform: platform.to_string(),
            host_network: network == sentry::Network::Host,
        }
    }
}

/// One argument test: `arg[index] & mask == value` (mask `!0` for plain equality), or
/// `arg[index] != value` when `ne`.
#[derive(Clone, Copy, Debug)]
struct Cond {
    index: u8,
    mask: u64,
    value: u64,
    ne: bool,
}

const fn eq(index: u8, value: u64) -> Cond {
    Cond {
        index,
        mask: !0,
        value,
        ne: false,
    }
}

const fn masked(index: u8, mask: u64, value: u64) -> Cond {
    Cond {
        index,
        mask,
        value,
        ne: false,
    }
}

const fn ne(index: u8, value: u64) -> Cond {
    Cond {
        index,
        mask: !0,
        value,
        ne: true,
    }
}

/// A syscall and when it is allowed: always (no alternatives), or when every condition
/// of one of the alternatives holds.
struct Allow {
    name: &'static str,
    any_of: Vec<Vec<Cond>>,
}

/// Syscalls the sentry makes whatever the arguments. Each is harmless on its own: they
/// work on descriptors it already holds, its own memory, threads and clocks.
const ALWAYS: &[&str] = &[
    // Descriptors it holds: the memory file, gofer channels and donated files, host
    // stdio, pipes and eventfds of its own, the control socket.
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup3",
    "fcntl",
    "fstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "getdents64",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "sendfile",
    "copy_file_range",
    "splice",
    "poll",
    "ppoll",
    "pselect6",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "pipe2",
    "memfd_create",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "accept4",
    "shutdown",
    "getsockopt",
    // Its own memory.
    "munmap",
    "mremap",
    "madvise",
    "brk",
    "msync",
    "membarrier",
    // Threads, signals and waiting.
    "futex",
    "set_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "getpriority",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "getpid",
    "gettid",
    "getppid",
    "getpgrp",
    "getpgid",
    "getsid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "tgkill",
    "tkill",
    "kill",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "sigaltstack",
    "restart_syscall",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "getrusage",
    "prlimit64",
    "getrandom",
    "uname",
    "sysinfo",
];

/// Terminal requests the sentry forwards to host terminals (sys_fs.rs) and the
/// descriptor requests of the standard library.
const IOCTLS: &[u64] = &[
    0x5401, // TCGETS
    0x5402, // TCSETS
    0x5403, // TCSETSW
    0x5404, // TCSETSF
    0x5409, // TCSBRK
    0x540a, // TCXONC
    0x540b, // TCFLSH
    0x540f, // TIOCGPGRP
    0x5411, // TIOCOUTQ
    0x5413, // TIOCGWINSZ
    0x5414, // TIOCSWINSZ
    0x541b, // FIONREAD
    0x5421, // FIONBIO
    0x5450, // FIONCLEX
    0x5451, // FIOCLEX
];

/// The type byte of the KVM ioctls (`KVMIO`).
const KVMIO: u64 = 0xae;

const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
const SIGSYS: u64 = libc::SIGSYS as u64;

/// What the sentry's and the gofers' allowlists share: `always` without conditions;
/// memory never made executable after setup (the stub code and the KVM tables are in
/// place before the filter); threads only — a fork would inherit the filter anyway, but
/// nothing needs one (stub processes come from the platform's factory), and glibc tries
/// clone3 first and falls back to clone when it is not there (see `install`); prctl only
/// with the options in `prctls`.
fn base_allowlist(always: &[&'static str], prctls: &[i32]) -> Vec<Allow> {
    let mut list: Vec<Allow> = always
        .iter()
        .map(|&name| Allow {
            name,
            any_of: Vec::new(),
        })
        .collect();
    let mut add = |name: &'static str, any_of: Vec<Vec<Cond>>| list.push(Allow { name, any_of });
    add("mmap", vec![vec![masked(2, PROT_EXEC, 0)]]);
    add("mprotect", vec![vec![masked(2, PROT_EXEC, 0)]]);
    add("clone", vec![vec![masked(0, CLONE_THREAD, CLONE_THREAD)]]);
    add("clone3", Vec::new());
    add(
        "prctl",
        prctls.iter().map(|&o| vec![eq(0, o as u64)]).collect(),
    );
    list
}

/// The sentry's allowlist for `p`.
fn allowlist(p: &Profile) -> Vec<Allow> {
    let mut list = base_allowlist(
        ALWAYS,
        &[libc::PR_SET_NAME, libc::PR_GET_NAME, libc::PR_GET_DUMPABLE],
    );
    let mut add = |name: &'static str, any_of: Vec<Vec<Cond>>| list.push(Allow { name, any_of });
    // No SIGSYS handler: a refused syscall must end the process, not be caught.
    add("rt_sigaction", vec![vec![ne(0, SIGSYS)]]);
    let mut ioctls: Vec<Vec<Cond>> = IOCTLS.iter().map(|&r| vec![eq(1, r)]).collect();
    if p.platform == "kvm" {
        ioctls.push(vec![masked(1, 0xff00, KVMIO << 8)]);
    }
    add("ioctl", ioctls);
    if p.platform == "ptrace" {
        // Its stubs, which are its children; in its pid namespace no other process is
        // visible.
        add("ptrace", Vec::new());
    }
    if p.host_network {
        // `sentry::net::hostnet`: TCP and UDP host sockets for the application (the
        // rest of `HOST_NET_SYSCALLS` is on the list anyway).
        add(
            "socket",
            [libc::AF_INET, libc::AF_INET6]
                .iter()
                .map(|&f| vec![eq(0, f as u64)])
                .collect(),
        );
        for name in [
            "connect",
            "bind",
            "listen",
            "getsockname",
            "getpeername",
            "setsockopt",
        ] {
            add(name, Vec::new());
        }
    } else {
        // Timeouts on the control socket's connections.
        add(
            "setsockopt",
            [20u64, 21, 66, 67] // SO_{RCV,SND}TIMEO_{OLD,NEW}
                .iter()
                .map(|&o| vec![eq(1, libc::SOL_SOCKET as u64), eq(2, o)])
                .collect(),
        );
    }
    list.sort_by_key(|a| nr(a.name));
    list
}

fn nr(name: &str) -> u32 {
    syscalls_table::lookup_name(name)
        .unwrap_or_else(|| panic!("{name} is not in the syscall table"))
        .nr
}

/// How the filter treats a call outside the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Kill the process (the default).
    Kill,
    /// Allow it and log it to the kernel log (`RUNSC_SENTRY_SECCOMP=log`: for finding
    /// what a change of the sentry needs; never for untrusted code).
    Log,
}

/// The allowlist as BPF, and the second filter that turns `clone3` into ENOSYS.
fn programs(p: &Profile, mode: Mode) -> Result<(BpfProgram, BpfProgram), String> {
    compile(allowlist(p), mode)
}

fn compile(list: Vec<Allow>, mode: Mode) -> Result<(BpfProgram, BpfProgram), String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for a in list {
        let mut alternatives = Vec::new();
        for conds in &a.any_of {
            let conds = conds
                .iter()
                .map(|c| {
                    let op = if c.ne {
                        SeccompCmpOp::Ne
                    } else if c.mask == !0 {
                        SeccompCmpOp::Eq
                    } else {
                        SeccompCmpOp::MaskedEq(c.mask)
                    };
                    SeccompCondition::new(c.index, SeccompCmpArgLen::Qword, op, c.value)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("seccomp rule for {}: {e}", a.name))?;
            alternatives.push(SeccompRule::new(conds).map_err(|e| format!("seccomp rule: {e}"))?);
        }
        rules.insert(i64::from(nr(a.name)), alternatives);
    }
    let mismatch = match mode {
        Mode::Kill => SeccompAction::KillProcess,
        Mode::Log => SeccompAction::Log,
    };
    let allow = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, TargetArch::x86_64)
        .and_then(BpfProgram::try_from)
        .map_err(|e| format!("seccomp filter: {e}"))?;
    let mut clone3 = BTreeMap::new();
    clone3.insert(i64::from(nr("clone3")), Vec::new());
    let clone3 = SeccompFilter::new(
        clone3,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        TargetArch::x86_64,
    )
    .and_then(BpfProgram::try_from)
    .map_err(|e| format!("seccomp filter: {e}"))?;
    Ok((allow, clone3))
}

/// The filter mode asked for by the environment (`RUNSC_SENTRY_SECCOMP=log`; the
/// gofer's filter follows the same variable).
pub fn mode_from_env() -> Mode {
    match std::env::var("RUNSC_SENTRY_SECCOMP").as_deref() {
        Ok("log") => Mode::Log,
        _ => Mode::Kill,
    }
}

/// Installs the allowlist on every thread of this process (`no_new_privs` first, which
/// the filter needs without CAP_SYS_ADMIN and which keeps an exec — were one possible —
/// from gaining privileges).
pub fn install(p: &Profile, mode: Mode) -> Result<(), String> {
    let (allow, clone3) = programs(p, mode)?;
    sentry::host::seal();
    // glibc's malloc reads /sys/devices/system/cpu/online the first time a thread needs
    // a ninth arena, unless the number of arenas is set: set it (to its default, 8 per
    // CPU) while files may still be opened.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    platform::confine::set_malloc_arena_max(8 * cpus);
    // It reads /proc/sys/vm/overcommit_memory the first time it shrinks the heap of a
    // thread's arena: make that happen now, in a thread of its own (a new arena) that
    // frees more than the trim threshold (128 KiB) in chunks below the mmap threshold.
    let _ = std::thread::spawn(|| {
        let chunks: Vec<Vec<u8>> = (0..6).map(|_| vec![1u8; 100 << 10]).collect();
        drop(std::hint::black_box(chunks));
    })
    .join();
    // The clone3 filter first: once the allowlist is in, neither prctl(PR_SET_NO_NEW_PRIVS)
    // nor seccomp may be called.
    for prog in [&clone3, &allow] {
        seccompiler::apply_filter_all_threads(prog)
            .map_err(|e| format!("installing the sentry's seccomp filter: {e}"))?;
    }
    Ok(())
}

/// Drops every capability of this process: the bounding set, the ambient set and the
/// effective, permitted and inheritable sets. These are per thread, so it must run
/// while the process has one thread: every thread and process made later inherits the
/// empty sets. Called once the gofers are started (they are exec'd with what they
/// need) and before the sentry is built (it needs none: its files come from the
/// gofers, its stubs are its own children, `/dev/kvm` is opened by its owner).
pub fn drop_capabilities() -> Result<(), String> {
    // (After `confine_sentry` there is no /proc to count threads in; it counted them.)
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        let threads = tasks.count();
        if threads != 1 {
            return Err(format!(
                "dropping capabilities: the process already has {threads} threads"
            ));
        }
    }
    keep_capabilities(&[])
}

/// The allowlist for `p` as text, one syscall a line with its conditions (`runsc debug
/// --seccomp`).
pub fn describe(p: &Profile) -> String {
    let mut out = format!(
        "# the sentry's seccomp allowlist (platform {}, network {}); anything else kills it\n",
        p.platform,
        if p.host_network { "host" } else { "none" }
    );
    for a in allowlist(p) {
        out.push_str(a.name);
        if a.name == "clone3" {
            out.push_str(" -> ENOSYS (glibc falls back to clone)");
        }
        if !a.any_of.is_empty() {
            let alts: Vec<String> = a
                .any_of
                .iter()
                .map(|conds| {
                    conds
                        .iter()
                        .map(|c| {
                            let arg = format!("arg{}", c.index);
                            if c.ne {
                                format!("{arg} != {:#x}", c.value)
                            } else if c.mask == !0 {
                                format!("{arg} == {:#x}", c.value)
                            } else {
                                format!("{arg} & {:#x} == {:#x}", c.mask, c.value)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" && ")
                })
                .collect();
            out.push_str(": ");
            out.push_str(&alts.join(" || "));
        }
        out.push('\n');
    }
    out
}

/// How the sandbox process ended, as its parent saw it.
pub enum Ended {
    Exited(i32),
    Killed(nix::sys::signal::Signal),
}

impl Ended {
    /// The shell's view: the exit code, or 128 + the signal.
    pub fn code(&self) -> i32 {
        match self {
            Ended::Exited(c) => *c,
            Ended::Killed(s) => 128 + *s as i32,
        }
    }

    /// A line for the log when the sandbox process was killed (SIGSYS: by its own
    /// seccomp allowlist).
    pub fn describe(&self) -> Option<String> {
        match self {
            Ended::Exited(_) => None,
            Ended::Killed(sig) => Some(format!(
                "the sandbox process was killed by {sig}{}",
                if *sig == nix::sys::signal::Signal::SIGSYS {
                    " (a host syscall outside its seccomp allowlist)"
                } else {
                    ""
                }
            )),
        }
    }
}

/// Forks the sandbox process as the first process of a fresh pid namespace, so that
/// the sentry sees no process but its own stubs and gofers (it can neither signal nor
/// trace anything else). Returns `None` in the sandbox process, which dies with its
/// parent; in the parent, waits for it and returns how it ended. Called first thing,
/// while the process has one thread.
pub fn fork_sandbox_process() -> Result<Option<Ended>, String> {
    use nix::sys::wait::{WaitStatus, waitpid};
    enter_user_namespace_if_unprivileged()?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID)
        .map_err(|e| format!("a pid namespace for the sandbox: {e}"))?;
    // A terminal's signals reach the sandbox process directly (it is in our process
    // group); one sent to us with kill(2) is passed on to it.
    let signals = crate::console::take_terminal_signals()?;
    match platform::confine::fork_single_threaded() {
        Ok(None) => {
            drop(signals);
            // The kernel delivers it even to a pid namespace's first process: it comes
            // from an ancestor.
            platform::confine::set_parent_death_signal(libc::SIGKILL)
                .map_err(|e| format!("PR_SET_PDEATHSIG: {e}"))?;
            Ok(None)
        }
        Ok(Some(pid)) => {
            use std::os::fd::AsFd;
            let child = nix::unistd::Pid::from_raw(pid);
            let pidfd = platform::confine::pidfd_open(pid).ok();
            loop {
                if let Some(pidfd) = &pidfd {
                    let ready = platform::confine::poll_readable(&[signals.as_fd(), pidfd.as_fd()])
                        .unwrap_or_else(|_| vec![false, true]);
                    if ready[0]
                        && let Ok(Some(info)) = signals.read_signal()
                    {
                        const SI_KERNEL: i32 = 0x80;
                        if info.ssi_code != SI_KERNEL
                            && let Ok(sig) =
                                nix::sys::signal::Signal::try_from(info.ssi_signo as i32)
                        {
                            let _ = nix::sys::signal::kill(child, sig);
                        }
                    }
                    if !ready[1] {
                        continue;
                    }
                }
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(_, c)) => return Ok(Some(Ended::Exited(c))),
                    Ok(WaitStatus::Signaled(_, sig, _)) => {
                        return Ok(Some(Ended::Killed(sig)));
                    }
                    Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(format!("waiting for the sandbox process: {e}")),
                }
            }
        }
        Err(e) => Err(format!("fork of the sandbox process: {e}")),
    }
}

const ROOTLESS_AUTO: u8 = 0;
const ROOTLESS_TRUE: u8 = 1;
const ROOTLESS_FALSE: u8 = 2;
static ROOTLESS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(ROOTLESS_AUTO);

/// `--rootless=true|false` (the default, auto, makes a user namespace when runsc is not
/// root). Applies to the sandbox process; a gofer decides by its own user.
pub fn set_rootless(on: bool) {
    let v = if on { ROOTLESS_TRUE } else { ROOTLESS_FALSE };
    ROOTLESS.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// For a runsc that is not root (or with `--rootless=true`): a user namespace first, in which this process's user
/// and group map to themselves, so that it may make the other namespaces and mounts
/// (with capabilities that only count inside it).
fn enter_user_namespace_if_unprivileged() -> Result<(), String> {
    use nix::sched::{CloneFlags, unshare};
    let (uid, gid) = (nix::unistd::geteuid(), nix::unistd::getegid());
    let wanted = match ROOTLESS.load(std::sync::atomic::Ordering::Relaxed) {
        ROOTLESS_TRUE => true,
        ROOTLESS_FALSE => false,
        _ => !uid.is_root(),
    };
    if !wanted {
        return Ok(());
    }
    unshare(CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("a user namespace for an unprivileged runsc: {e}"))?;
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text)
            .map_err(|e| format!("/proc/self/{file}: {e}"))
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("{uid} {uid} 1\n"))?;
    write("gid_map", format!("{gid} {gid} 1\n"))?;
    Ok(())
}

/// Confines the sandbox process's view of the host (DESIGN.md §2, §8): fresh mount,
/// IPC and UTS namespaces (and network, unless `--network=host`), whose root is an
/// empty read-only tmpfs it pivots into — with the KVM device bind-mounted at its path
/// for the kvm platform. Called single-threaded and still privileged, once the gofers
/// are started and the control socket is bound, before the sentry is built: the host
/// files the sentry reads once are read first (`sentry::host::prepare`).
pub fn confine_sentry(p: &Profile) -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    let err = |what: &str, e: nix::Error| format!("confining the sandbox: {what}: {e}");
    sentry::host::prepare();
    let threads = platform::confine::threads().unwrap_or(0);
    if threads != 1 {
        return Err(format!(
            "confining the sandbox: the process has {threads} threads"
        ));
    }
    enter_user_namespace_if_unprivileged()?;
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    if !p.host_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| err("unshare", e))?;
    make_mounts_private().map_err(|e| err("making mounts private", e))?;
    // Any existing directory serves as the mount point (the mount is private).
    let dir = ["/tmp", "/run", "/proc"]
        .into_iter()
        .find(|d| std::path::Path::new(d).is_dir())
        .ok_or("confining the sandbox: no directory to mount its root on")?;
    let empty = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
    mount(
        Some("runsc-root"),
        dir,
        Some("tmpfs"),
        empty,
        Some("size=64k,mode=0555"),
    )
    .map_err(|e| err("mounting its root", e))?;
    if p.platform == "kvm" {
        let device = std::env::var_os("RUNSC_KVM_DEVICE").unwrap_or_else(|| "/dev/kvm".into());
        let device = std::path::Path::new(&device);
        if device.is_absolute() && device.exists() {
            let at = std::path::Path::new(dir).join(device.strip_prefix("/").unwrap_or(device));
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("confining the sandbox: {}: {e}", parent.display()))?;
            }
            std::fs::File::create(&at)
                .map_err(|e| format!("confining the sandbox: {}: {e}", at.display()))?;
            mount(
                Some(device),
                &at,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| err("bind mount of the KVM device", e))?;
        }
        // The kvm platform tells PVM from hardware KVM by this directory's presence.
        const PVM: &str = "/sys/module/kvm_pvm";
        if std::path::Path::new(PVM).is_dir() {
            std::fs::create_dir_all(std::path::Path::new(dir).join(&PVM[1..]))
                .map_err(|e| format!("confining the sandbox: {PVM}: {e}"))?;
        }
    }
    pivot_into(dir).map_err(|(what, e)| err(what, e))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | empty,
        None::<&str>,
    )
    .map_err(|e| err("making its root read-only", e))?;
    Ok(())
}

/// Capabilities the gofer keeps: those that let root open, create and change any file
/// of the tree it serves as Linux lets root (the sentry checks the application's own
/// permissions first).
const GOFER_CAPS: &[u32] = &[
    0, // CAP_CHOWN
    1, // CAP_DAC_OVERRIDE
    2, // CAP_DAC_READ_SEARCH
    3, // CAP_FOWNER
    4, // CAP_FSETID
];

/// Syscalls the gofer makes whatever the arguments: file operations relative to the
/// handles it holds (it never follows a symlink: the `*at` calls get `O_NOFOLLOW` or
/// `AT_SYMLINK_NOFOLLOW`, which a filter cannot check but the server's code does), its
/// channels, and the memory and threads of its own.
const GOFER_ALWAYS: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "lseek",
    "close",
    "close_range",
    "dup",
    "fcntl",
    "fstat",
    "newfstatat",
    "statx",
    "fstatfs",
    "getdents64",
    "openat",
    "openat2",
    "mkdirat",
    "mknodat",
    "symlinkat",
    "linkat",
    "unlinkat",
    "renameat",
    "renameat2",
    "readlinkat",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "utimensat",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "fgetxattr",
    "fsetxattr",
    "flistxattr",
    "fremovexattr",
    "sendmsg",
    "recvmsg",
    "sendto",
    "recvfrom",
    "poll",
    "ppoll",
    "munmap",
    "mremap",
    "madvise",
    "brk",
    "futex",
    "set_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "getpid",
    "gettid",
    "getppid",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sigaltstack",
    "restart_syscall",
    "exit",
    "exit_group",
    "getrandom",
];

fn gofer_allowlist() -> Vec<Allow> {
    let mut list = base_allowlist(GOFER_ALWAYS, &[libc::PR_SET_NAME, libc::PR_GET_NAME]);
    // FIOCLEX, FIONCLEX.
    list.push(Allow {
        name: "ioctl",
        any_of: vec![vec![eq(1, 0x5451)], vec![eq(1, 0x5450)]],
    });
    list.sort_by_key(|a| nr(a.name));
    list
}

/// Confines a gofer process before it opens anything (it must still be single-threaded
/// and hold all its capabilities): fresh mount, network, IPC and UTS namespaces; the
/// tree it serves, `root`, becomes its `/` (`pivot_root`; read-only, recursively, when
/// `read_only`); it is not dumpable (so a compromised sentry cannot ptrace it); it keeps
/// only `GOFER_CAPS`. Returns the path to serve from now on (`/`).
pub fn confine_gofer(
    root: &std::path::Path,
    read_only: bool,
) -> Result<std::path::PathBuf, String> {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    let err = |what: &str, e: nix::Error| format!("gofer: {what}: {e}");
    let threads = platform::confine::threads().unwrap_or(0);
    if threads != 1 {
        return Err(format!("gofer: confining a process of {threads} threads"));
    }
    enter_user_namespace_if_unprivileged().map_err(|e| format!("gofer: {e}"))?;
    unshare(
        CloneFlags::CLONE_NEWNS
            | CloneFlags::CLONE_NEWNET
            | CloneFlags::CLONE_NEWIPC
            | CloneFlags::CLONE_NEWUTS,
    )
    .map_err(|e| err("unshare", e))?;
    make_mounts_private().map_err(|e| err("making mounts private", e))?;
    if root != std::path::Path::new("/") {
        mount(
            Some(root),
            root,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| err(&format!("bind mount of {}", root.display()), e))?;
        pivot_into(root).map_err(|(what, e)| err(what, e))?;
    }
    if read_only {
        platform::confine::make_root_read_only_recursive()
            .map_err(|e| format!("gofer: making the tree read-only: {e}"))?;
    }
    platform::confine::set_not_dumpable().map_err(|e| format!("gofer: PR_SET_DUMPABLE: {e}"))?;
    keep_capabilities(GOFER_CAPS)?;
    Ok("/".into())
}

/// Makes every mount of this (new) mount namespace private: nothing done to mounts from
/// here on reaches the namespace it came from.
fn make_mounts_private() -> nix::Result<()> {
    use nix::mount::{MsFlags, mount};
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
}

/// Makes the mount at `dir` this process's root (`pivot_root`), detaches the old root
/// and moves to the new `/`. On failure, says which step failed.
fn pivot_into(dir: impl AsRef<std::path::Path>) -> Result<(), (&'static str, nix::Error)> {
    use nix::mount::{MntFlags, umount2};
    nix::unistd::chdir(dir.as_ref()).map_err(|e| ("chdir", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| ("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| ("detaching the old root", e))?;
    nix::unistd::chdir("/").map_err(|e| ("chdir /", e))
}

/// Limits this (single-threaded) process's capabilities to `keep` (see
/// `platform::confine::keep_capabilities`).
fn keep_capabilities(keep: &[u32]) -> Result<(), String> {
    let mask: u64 = keep.iter().fold(0, |m, &c| m | 1 << c);
    platform::confine::keep_capabilities(mask).map_err(|e| format!("dropping capabilities: {e}"))
}

/// Installs the gofer's allowlist (after `confine_gofer` and once its root and channels
/// are open, before it serves a request).
pub fn install_gofer(mode: Mode) -> Result<(), String> {
    let (allow, clone3) = compile(gofer_allowlist(), mode)?;
    for prog in [&clone3, &allow] {
        seccompiler::apply_filter_all_threads(prog)
            .map_err(|e| format!("installing the gofer's seccomp filter: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
/// Whether `name` is on the allowlist for `p` at all (with or without conditions).
pub fn allows(p: &Profile, name: &str) -> bool {
    allowlist(p).iter().any(|a| a.name == name)
}

/// `runsc debug --seccomp-probe NAME`: installs the allowlist for `p`, then makes
/// syscall `name` with harmless arguments. Returns (for the error line) only if the
/// call was not refused, or cannot be probed.
pub fn probe(p: &Profile, name: &str) -> String {
    if syscalls_table::lookup_name(name).is_none() {
        return format!("debug: unknown syscall {name:?}");
    }
    if let Err(e) = drop_capabilities().and_then(|()| install(p, Mode::Kill)) {
        return e;
    }
    match platform::confine::probe(name) {
        Some((r, err)) => {
            format!("debug: {name} was not refused by the filter (returned {r}: {err})")
        }
        None => format!(
            "debug: {name} is not one of the probed syscalls (open, openat, execve, socket, mount, ptrace, kexec_load)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> Vec<Profile> {
        let mut v = Vec::new();
        for platform in ["seccomp", "ptrace", "kvm"] {
            for host_network in [false, true] {
                v.push(Profile {
                    platform: platform.into(),
                    host_network,
                });
            }
        }
        v
    }

    #[test]
    fn every_name_is_a_syscall_and_compiles() {
        for p in profiles() {
            programs(&p, Mode::Kill).expect("compiles");
            let mut names: Vec<_> = allowlist(&p).iter().map(|a| a.name).collect();
            let n = names.len();
            names.dedup();
            assert_eq!(n, names.len(), "a syscall listed twice for {p:?}");
        }
    }

    #[test]
    fn never_opens_executes_mounts_or_traces() {
        for p in profiles() {
            for name in [
                "open",
                "openat",
                "openat2",
                "creat",
                "execve",
                "execveat",
                "mount",
                "umount2",
                "pivot_root",
                "chroot",
                "kexec_load",
                "kexec_file_load",
                "init_module",
                "finit_module",
                "bpf",
                "setns",
                "unshare",
                "fork",
                "vfork",
                "seccomp",
                "setuid",
                "capset",
                "chdir",
                "symlink",
                "unlink",
                "rename",
            ] {
                if syscalls_table::lookup_name(name).is_some() {
                    assert!(!allows(&p, name), "{name} allowed for {p:?}");
                }
            }
            assert_eq!(allows(&p, "ptrace"), p.platform == "ptrace", "{p:?}");
            assert_eq!(allows(&p, "socket"), p.host_network, "{p:?}");
            if p.host_network {
                for name in sentry::net::hostnet::HOST_NET_SYSCALLS {
                    assert!(allows(&p, name), "{name}: host networking needs it");
                }
            }
        }
    }
}
