//! Differential tests: each C program of `tests/programs/` runs natively and
//! under runsc on every available platform; exit status, stdout and stderr
//! must be identical. The native kernel on this machine is the oracle.

use tests::{Case, Link, build_program};

/// Input the harness feeds to every program's stdin.
const STDIN: &[u8] = b"line one\nline two\n";

const SIGABRT: i32 = 6;
const SIGBUS: i32 = 7;
const SIGUSR1: i32 = 10;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;
const SIGALRM: i32 = 14;

/// `name: program [link] (args...) => expected native status;` becomes one
/// `#[test] fn name`.
macro_rules! differential {
    ($($name:ident: $program:literal $(, $link:ident)? ($($arg:expr),*) => $status:expr;)*) => {
        $(
            #[test]
            fn $name() {
                #[allow(unused_mut, unused_assignments)]
                let mut link = Link::Static;
                $( link = Link::$link; )?
                Case {
                    program: build_program($program, link),
                    args: vec![$($arg.to_string()),*],
                    stdin: STDIN.to_vec(),
                    expected_status: $status,
                }
                .check(stringify!($name));
            }
        )*
    };
}

/// `name: program;` becomes two tests of a network program, each run natively and
/// under runsc: `name_host` with `--network=host` (host sockets) and `name_none` with
/// `--network=none` (the sandbox's own loopback). Both must print what Linux prints.
macro_rules! differential_net {
    ($($name:ident: $program:literal;)*) => {
        $(
            mod $name {
                use super::*;

                fn case() -> Case {
                    Case {
                        program: build_program($program, Link::Static),
                        args: Vec::new(),
                        stdin: STDIN.to_vec(),
                        expected_status: 0,
                    }
                }

                #[test]
                fn host() {
                    case().check_with(concat!(stringify!($name), "_host"), &["--network=host"]);
                }

                #[test]
                fn none() {
                    case().check_with(concat!(stringify!($name), "_none"), &["--network=none"]);
                }
            }
        )*
    };
}

differential_net! {
    inet_tcp_echo: "inet_tcp_echo";
    inet_udp: "inet_udp";
    inet_errors: "inet_errors";
    inet_sockopts: "inet_sockopts";
    inet_blocking: "inet_blocking";
}

differential! {
    hello: "hello" () => 0;
    hello_static_pie: "hello", StaticPie () => 0;
    args_env: "args_env" ("plain", "with space", "", "ünïcödé", "--flag=x", "-") => 0;
    auxv: "auxv" () => 0;
    auxv_static_pie: "auxv", StaticPie () => 0;
    malloc: "malloc" () => 0;
    malloc_static_pie: "malloc", StaticPie () => 0;
    mprotect_segv: "mprotect_segv" () => 128 + SIGSEGV;
    prot_none_segv: "prot_none_segv" () => 128 + SIGSEGV;
    null_deref: "null_deref" () => 128 + SIGSEGV;
    sigfpe: "sigfpe" () => 128 + SIGFPE;
    abort: "abort" () => 128 + SIGABRT;
    stack_growth: "stack_growth" () => 0;
    mremap: "mremap" () => 0;
    sparse: "sparse" () => 0;
    madvise: "madvise" () => 0;
    mmap_flags: "mmap_flags" () => 0;
    brk: "brk" () => 0;
    errno: "errno" () => 0;
    clock: "clock" () => 0;
    nanosleep: "nanosleep" () => 0;
    getrandom: "getrandom" () => 0;
    uname: "uname" () => 0;
    bigwrite: "bigwrite" () => 0;
    ids: "ids" () => 0;
    rlimit: "rlimit" () => 0;
    sched: "sched" () => 0;
    arch_prctl: "arch_prctl" () => 0;
    futex: "futex" () => 0;
    file_mmap: "file_mmap" () => 0;
    file_extras: "file_extras" () => 0;
    tmpfile: "tmpfile" () => 0;
    lseek: "lseek" () => 0;
    open_flags: "open_flags" () => 0;
    open_path: "open_path" () => 0;
    openat2: "openat2" () => 0;
    path_resolution: "path_resolution" () => 0;
    rw_file: "rw_file" () => 0;
    rw_vectors: "rw_vectors" () => 0;
    symlink_loops: "symlink_loops" () => 0;
    trailing_slash: "trailing_slash" () => 0;
    dirs: "dirs" () => 0;
    rename_link: "rename_link" () => 0;
    meta: "meta" () => 0;
    fds: "fds" () => 0;
    proc_self: "proc_self" () => 0;
    proc_global: "proc_global" () => 0;
    proc_pid: "proc_pid" () => 0;
    dev_files: "dev_files" () => 0;
    sys_files: "sys_files" () => 0;
    bad_paths: "bad_paths" () => 0;
    stat_family: "stat_family" () => 0;
    xattr_get: "xattr_get" () => 0;
    big_dir: "big_dir" () => 0;
    big_file: "big_file" () => 0;
    shared_mmap: "shared_mmap" () => 0;
    shared_mmap_dynamic: "shared_mmap", Dynamic () => 0;
    fcntl_cmds: "fcntl_cmds" () => 0;
    fcntl_cmds_dynamic: "fcntl_cmds", Dynamic () => 0;
    locks: "locks" () => 0;
    copy_calls: "copy_calls" () => 0;
    copy_calls_dynamic: "copy_calls", Dynamic () => 0;
    owner_modes: "owner_modes" () => 0;
    times_calls: "times_calls" () => 0;
    sync_calls: "sync_calls" () => 0;
    ioctl_symlinks: "ioctl_symlinks" () => 0;
    readdir_calls: "readdir_calls" () => 0;
    mknod_calls: "mknod_calls" () => 0;
    cwd_calls: "cwd_calls" () => 0;
    shared_mmap_sigbus: "shared_mmap" ("sigbus") => 128 + SIGBUS;
    pipes: "pipes" () => 0;
    pipes_dynamic: "pipes", Dynamic () => 0;
    xattrs: "xattrs" () => 0;
    file_limits: "file_limits" () => 0;
    sig_handlers: "sig_handlers" () => 0;
    sig_handlers_dynamic: "sig_handlers", Dynamic () => 0;
    sig_default_action: "sig_handlers" ("default") => 128 + SIGUSR1;
    sig_abort_with_handler: "sig_handlers" ("abort") => 128 + SIGABRT;
    hello_dynamic: "hello", Dynamic () => 0;
    image_maps: "image_maps" () => 0;
    negative_lookup: "negative_lookup" () => 0;
    create_race: "create_race" () => 0;
    image_maps_static_pie: "image_maps", StaticPie () => 0;
    image_maps_dynamic: "image_maps", Dynamic () => 0;
    malloc_dynamic: "malloc", Dynamic () => 0;
    file_mmap_dynamic: "file_mmap", Dynamic () => 0;
    dirs_dynamic: "dirs", Dynamic () => 0;
    rename_link_dynamic: "rename_link", Dynamic () => 0;
    meta_dynamic: "meta", Dynamic () => 0;
    fds_dynamic: "fds", Dynamic () => 0;
    open_flags_dynamic: "open_flags", Dynamic () => 0;
    file_extras_dynamic: "file_extras", Dynamic () => 0;
    proc_exe: "proc_exe" () => 0;
    stdio: "stdio" () => 0;
    exit_0: "exit_code" ("0") => 0;
    exit_1: "exit_code" ("1") => 1;
    exit_42: "exit_code" ("42") => 42;
    exit_255: "exit_code" ("255") => 255;
    exit_256_wraps_to_0: "exit_code" ("256") => 0;
    exit_underscore_42: "exit_code" ("42", "_exit") => 42;
    exit_raw_syscall_7: "exit_code" ("7", "syscall") => 7;
    sleeper_exit: "sleeper" ("50", "exit") => 0;
    sleeper_segv: "sleeper" ("50", "segv") => 128 + SIGSEGV;
    // Processes, threads and signals (issue 4).
    cleartid: "cleartid" () => 0;
    clone3: "clone3" () => 0;
    clone_flags: "clone_flags" () => 0;
    core_signals: "core_signals" () => 0;
    cow_fork: "cow_fork" () => 0;
    exec_errors: "exec_errors" () => 0;
    exec_script: "exec_script" () => 0;
    exec_threads: "exec_threads" () => 0;
    execve_basic: "execve_basic" () => 0;
    execveat: "execveat" () => 0;
    exit_group_thread: "exit_group_thread" () => 0;
    fork_basic: "fork_basic" () => 0;
    fork_threads: "fork_threads" () => 0;
    kill_targets: "kill_targets" () => 0;
    mutex_condvar: "mutex_condvar" () => 0;
    pdeathsig: "pdeathsig" () => 0;
    pgrp_session: "pgrp_session" () => 0;
    pidfd_signal: "pidfd_signal" () => 0;
    prctl_misc: "prctl_misc" () => 0;
    pthread_basic: "pthread_basic" () => 0;
    rlimit_fsize: "rlimit_fsize" () => 0;
    rlimit_nproc: "rlimit_nproc" () => 0;
    rlimit_stack: "rlimit_stack" () => 0;
    sa_restart: "sa_restart" () => 0;
    setpgid_errors: "setpgid_errors" () => 0;
    sigaction_flags: "sigaction_flags" () => 0;
    sigqueue_rt: "sigqueue_rt" () => 0;
    sigsuspend: "sigsuspend" () => 0;
    sigtimedwait: "sigtimedwait" () => 0;
    subreaper: "subreaper" () => 0;
    thread_blocked_exit: "thread_blocked_exit" () => 0;
    thread_signals: "thread_signals" () => 0;
    tls: "tls" () => 0;
    vfork: "vfork" () => 0;
    fp_inherit: "fp_inherit" () => 0;
    wait_pgid: "wait_pgid" () => 0;
    wait_wall: "wait_wall" () => 0;
    waitid_options: "waitid_options" () => 0;
    zombie_state: "zombie_state" () => 0;
    rlimit_as: "rlimit_as" () => 0;
    clock_nanosleep_restart: "clock_nanosleep_restart" () => 0;
    fault_signals: "fault_signals" () => 0;
    nocldwait: "nocldwait" () => 0;
    sa_nocldstop: "sa_nocldstop" () => 0;
    sigchld_info: "sigchld_info" () => 0;
    sigtstp_ttin: "sigtstp_ttin" () => 0;
    stop_continue: "stop_continue" () => 0;
    default_actions: "default_actions" () => 0;
    exec_signals: "exec_signals" () => 0;
    wait4_status: "wait4_status" () => 0;
    futex_wake: "futex_wake" () => 0;
    futex_wake_op: "futex_wake_op" () => 0;
    waitid_pidfd: "waitid_pidfd" () => 0;
    vmsplice_pipe: "vmsplice_pipe" () => 0;
    priority_nice: "priority_nice" () => 0;
    eintr_always: "eintr_always" () => 0;
    epoll_modes: "epoll_modes" () => 0;
    futex_bitset: "futex_bitset" () => 0;
    futex_requeue: "futex_requeue" () => 0;
    futex_shared_fork: "futex_shared_fork" () => 0;
    // PI futexes, robust mutexes and futex_waitv.
    pi_mutex: "pi_mutex" () => 0;
    robust_mutex: "robust_mutex" () => 0;
    futex_waitv: "futex_waitv" () => 0;
    futex_requeue_pi: "futex_requeue_pi" () => 0;
    futex_pi_edges: "futex_pi_edges" () => 0;
    futex2_calls: "futex2_calls" () => 0;
    job_control: "job_control" () => 0;
    pgid_zombie: "pgid_zombie" () => 0;
    kill_blocked: "kill_blocked" () => 0;
    pipe_procs: "pipe_procs" () => 0;
    pipe_threads: "pipe_threads" () => 0;
    poll_pipes_procs: "poll_pipes_procs" () => 0;
    sched_affinity: "sched_affinity" () => 0;
    select_pipes: "select_pipes" () => 0;
    signalfd_procs: "signalfd_procs" () => 0;
    poll_pipes: "poll_pipes" () => 0;
    ppoll_signals: "ppoll_signals" () => 0;
    select_edges: "select_edges" () => 0;
    epoll_basic: "epoll_basic" () => 0;
    epoll_nested: "epoll_nested" () => 0;
    eventfd: "eventfd" () => 0;
    signalfd: "signalfd" () => 0;
    pidfd_poll: "pidfd_poll" () => 0;
    epoll_fork: "epoll_fork" () => 0;
    epoll_pwait: "epoll_pwait" () => 0;
    event_files_io: "event_files_io" () => 0;
    alarm_pause: "alarm_pause" () => 0;
    alarm_default_action: "alarm_pause" ("default") => 128 + SIGALRM;
    itimer_real: "itimer_real" () => 0;
    itimer_cpu: "itimer_cpu" () => 0;
    cputime_usage: "cputime_usage" () => 0;
    timer_signals: "timer_signals" () => 0;
    timer_signals_dynamic: "timer_signals", Dynamic () => 0;
    timer_overrun: "timer_overrun" () => 0;
    timerfd: "timerfd" () => 0;
    timer_threads: "timer_threads" () => 0;
    ipc_shm: "ipc_shm" () => 0;
    ipc_sem: "ipc_sem" () => 0;
    ipc_msg: "ipc_msg" () => 0;
    // The issue-4 programs on timers, CPU time and System V IPC.
    alarm_itimer: "alarm_itimer" () => 0;
    itimer_virt_prof: "itimer_virt_prof" () => 0;
    posix_timers: "posix_timers" () => 0;
    timerfd_ops: "timerfd_ops" () => 0;
    sysv_shm: "sysv_shm" () => 0;
    sysv_sem: "sysv_sem" () => 0;
    cpu_clocks: "cpu_clocks" () => 0;
    getrusage_children: "getrusage_children" () => 0;
    times_children: "times_children" () => 0;
    // Per-thread scheduling attributes, names and /proc views; eventfd.
    sched_policy: "sched_policy" () => 0;
    prctl_name: "prctl_name" () => 0;
    eventfd_ops: "eventfd_ops" () => 0;
    // AF_UNIX sockets.
    unix_pair_types: "unix_pair_types" () => 0;
    unix_bind_connect: "unix_bind_connect" () => 0;
    unix_rights: "unix_rights" () => 0;
    unix_creds: "unix_creds" () => 0;
    // Capabilities (capabilities(7)); run as root.
    caps_basic: "caps_basic" () => 0;
    caps_uid: "caps_uid" () => 0;
    caps_uid_dynamic: "caps_uid", Dynamic () => 0;
    caps_checks: "caps_checks" () => 0;
    proc_status_ids: "proc_status_ids" () => 0;
    // Helpers of the resource-limit tests (tests/oci.rs), here with no limit.
    fork_until: "fork_until" ("3") => 0;
    alloc_touch: "alloc_touch" ("16") => 0;
    unix_shutdown: "unix_shutdown" () => 0;
    unix_blocking: "unix_blocking" () => 0;
    unix_server_fork: "unix_server_fork" () => 0;
    unix_pair_types_dynamic: "unix_pair_types", Dynamic () => 0;
    // Issue-4 programs that needed sockets.
    exec_cloexec: "exec_cloexec" () => 0;
    rlimit_nofile: "rlimit_nofile" () => 0;
    // Syscall-site patching (seccomp).
    syscall_sites: "syscall_sites" () => 0;
    syscall_sites_dynamic: "syscall_sites", Dynamic () => 0;
}

/// Every program in `tests/programs/` has a test above: a new program that is
/// not wired in fails here instead of being silently ignored.
#[test]
fn every_program_is_tested() {
    // "raw_syscalls" runs only in the sandbox (tests/cli.rs), as do "overlay_writes",
    // "escape_fd", "open_loop", "scribble" and "huge_sizes" (tests/real_programs.rs)
    // and "kvm_scribble" (tests/kvm.rs), and "inet_reach" (tests/cli.rs, which
    // listens on the host for it):
    // natively they would change or read the host, or behave as the host's disk does.
    let listed = include_str!("differential.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(tests::programs_dir()).expect("reading tests/programs") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if !listed.contains(&format!("\"{stem}\"")) {
                missing.push(stem);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "programs without a differential test: {missing:?}"
    );
}
