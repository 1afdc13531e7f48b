//! The table itself: one row per x86-64 syscall, in number order (0–334, then 424–469),
//! with the arguments as `--strace` prints them and our support status.

use crate::consts as c;
use crate::{ArgKind, ArgKind::*, Errno, Status, Syscall};

// Argument kinds with named values, short enough for one row per syscall.
const OFLAGS: ArgKind = EnumFlags(3, c::O_ACCMODE, c::O_FLAGS);
const OCLOEXEC: ArgKind = Flags(c::O_CLOEXEC_NONBLOCK);
const PROT: ArgKind = Flags(c::PROT);
const MAPF: ArgKind = EnumFlags(0xf, c::MAP_TYPE, c::MAP_FLAGS);
const AT: ArgKind = Flags(c::AT);
const WHENCE: ArgKind = Enum(c::SEEK_WHENCE);
const CLOCK: ArgKind = Enum(c::CLOCK);
const ABSTIME: ArgKind = Flags(c::TIMER_ABSTIME);
const RLIMIT: ArgKind = Enum(c::RLIMIT);
const MADV: ArgKind = Enum(c::MADV);
const ACCESS: ArgKind = Flags(c::ACCESS_MODE);
const XATTR: ArgKind = Flags(c::XATTR);
const SPLICE: ArgKind = Flags(c::SPLICE);
const WAIT: ArgKind = Flags(c::WAIT_OPTIONS);
const MSG: ArgKind = Flags(c::MSG);
const AF: ArgKind = Enum(c::AF);
const SOCKTYPE: ArgKind = EnumFlags(0xf, c::SOCK_TYPE, c::SOCK_FLAGS);
const SCHEDPOL: ArgKind = Enum(c::SCHED_POLICY);
const RWF: ArgKind = Flags(c::RWF);

const fn sc(nr: u32, name: &'static str, args: &'static [ArgKind], status: Status) -> Syscall {
    Syscall {
        nr,
        name,
        args,
        status,
    }
}

const fn partial(note: &'static str) -> Status {
    Status::Partial(note)
}

const fn enosys(note: &'static str) -> Status {
    Status::Unsupported {
        errno: Errno::ENOSYS,
        note,
    }
}

// Statuses. The notes say which part of the sentry brings a syscall, or why it won't come.
const OK: Status = Status::Supported;
const EXEC_NOTE: Status = partial("an ELF Linux would fail only after the point of no return (a segment past the end of its file) is refused with ENOEXEC before it; file capabilities (security.capability) and set-user-ID/set-group-ID bits are not honoured: capabilities transform as for a plain file");
const VFS: Status = enosys("not implemented in the VFS yet");
const MOUNT: Status = enosys("mounting inside the sandbox is not supported yet");
const PROC: Status = enosys("processes and signals: comes with fork/exec/wait");
const CAPS: Status = partial("per-thread effective, permitted, inheritable, bounding and ambient sets as Linux keeps them (versions 1-3, capget of any thread, capset of the caller only); no file capabilities, so execve grants capabilities only to root and through the ambient set");
const NS: Status = enosys("namespaces: not yet");
const IOPRIO: Status = enosys("I/O scheduling classes and priorities: not yet");
/// The scheduling calls that change a thread's attributes.
const SCHED_SET: Status = partial(
    "per-thread policy, priority, nice and reset-on-fork are checked and kept as Linux does and reported back, \
     but not applied: host threads keep the sentry's own scheduling (a SCHED_FIFO/SCHED_RR task is not run real-time)",
);
const MEM: Status = enosys("memory locking, residency and NUMA policy: not yet");
const SOCKET: Status = partial("AF_UNIX (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET; SOCK_RAW is SOCK_DGRAM as on Linux), served in the sentry; AF_INET and AF_INET6 SOCK_STREAM (TCP) and SOCK_DGRAM (UDP): with --network=host host sockets the sentry makes and uses, with --network=none a loopback of the sandbox's own (lo only: 127.0.0.0/8, ::1, v4-mapped ::ffff:127.x); SOCK_RAW and SOCK_PACKET give EPERM as without CAP_NET_RAW (Linux lets root have them), ping sockets (SOCK_DGRAM, IPPROTO_ICMP) EACCES as outside the default ping_group_range; AF_NETLINK, AF_PACKET and every other family EAFNOSUPPORT (Linux gives everyone netlink)");
/// Address and connection calls.
const SOCKCALL: Status = partial("AF_UNIX as Linux. AF_INET/AF_INET6: privilege (ports below 1024, SO_PRIORITY above 6) is the sandbox user's (euid 0), not the sentry's. With --network=host: the host socket's answer (addresses are copied and checked in the sentry; a blocking call waits in the sentry, woken by the host's readiness, so signals interrupt it as Linux's); with --network=none: the loopback, where other destinations are ENETUNREACH and other local addresses EADDRNOTAVAIL, ephemeral ports come from 32768-60999, SO_REUSEADDR/SO_REUSEPORT conflicts are Linux's, there is no TIME_WAIT (a port is free again at once), a TCP socket connecting to its own address is refused (Linux connects it to itself)");
const UNIX_SEND: Status = partial("AF_UNIX: SCM_RIGHTS (up to 253 descriptors) and SCM_CREDENTIALS; MSG_DONTWAIT, MSG_NOSIGNAL (EPIPE raises SIGPIPE on streams only, as Linux); MSG_OOB gives EOPNOTSUPP (Linux with CONFIG_AF_UNIX_OOB sends urgent data on streams); the send buffer is charged Linux's sk_buff sizes, so a socket fills after as many writes as on Linux (limits are Linux's defaults: wmem 212992, max_dgram_qlen 10, optmem 131072, not the host's sysctls); sockets reachable only through descriptors in flight (cycles) are collected at the next release of an AF_UNIX socket, as by Linux's unix_gc (synchronously here); an unprivileged user with more than RLIMIT_NOFILE descriptors in flight gets ETOOMANYREFS. AF_INET/AF_INET6: no control messages (SOL_SOCKET ones give EINVAL as on Linux, IP-level ones are ignored); --network=host passes MSG_OOB, MSG_DONTROUTE, MSG_EOR, MSG_CONFIRM and MSG_MORE to the host; --network=none refuses MSG_OOB (EOPNOTSUPP), drops UDP datagrams nobody is bound for (a connected sender gets ECONNREFUSED on its next call, as from ICMP) or that do not fit the receive buffer, and the first write after the TCP peer closed succeeds as on Linux (then EPIPE)");
const UNIX_RECV: Status = partial("AF_UNIX: MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_DONTWAIT, MSG_CMSG_CLOEXEC, MSG_CTRUNC with the excess descriptors closed; SO_RCVTIMEO; MSG_OOB gives EOPNOTSUPP; no SO_PEEK_OFF, SCM_TIMESTAMP or SCM_PIDFD. AF_INET/AF_INET6: MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_DONTWAIT, SO_RCVTIMEO; no control messages (IP_PKTINFO, timestamps, MSG_ERRQUEUE); --network=none refuses MSG_OOB (EINVAL on TCP, EOPNOTSUPP on UDP)");
const SOCKOPT: Status = partial("AF_UNIX, SOL_SOCKET: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN, SO_SNDBUF(FORCE), SO_RCVBUF(FORCE), SO_PASSCRED, SO_PEERCRED, SO_RCVTIMEO, SO_SNDTIMEO (kept in jiffies of HZ=250), SO_REUSEADDR, SO_KEEPALIVE, SO_BROADCAST, SO_DONTROUTE, SO_OOBINLINE, SO_DEBUG, SO_PASSSEC, SO_PRIORITY, SO_LINGER, SO_RCVLOWAT, SO_SNDLOWAT, SO_REUSEPORT (off); others ENOPROTOOPT (Linux also has e.g. SO_PEEK_OFF, SO_TIMESTAMP*, SO_PEERPIDFD, SO_PASSPIDFD, SO_PEERGROUPS, SO_COOKIE); other levels EOPNOTSUPP as for AF_UNIX. AF_INET/AF_INET6 with --network=host: an allowlist passed to the host with values copied by the sentry (the SOL_SOCKET options above but SO_PASSCRED/SO_DEBUG/SO_PASSSEC/the FORCE ones, TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_SYNCNT, TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION, TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT, IP_TOS, IP_TTL, IP_MTU_DISCOVER, IP_MULTICAST_TTL/LOOP, IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS/LOOP, IPV6_V6ONLY, IPV6_TCLASS); others ENOPROTOOPT (getsockopt of an unknown level EOPNOTSUPP on IPv4, as Linux). With --network=none: the SOL_SOCKET options of AF_UNIX plus SO_REUSEPORT (kept, with Linux's bind conflicts), TCP buffer sizes as tcp_wmem/tcp_rmem defaults (16384/131072), TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_MAXSEG (536, 65483 when connected), IP_TTL, IP_TOS, IPV6_V6ONLY, IPV6_UNICAST_HOPS; others ENOPROTOOPT, getsockopt of an unknown level EOPNOTSUPP on IPv4 as Linux");
const MQ: Status = enosys("POSIX message queues (mq_overview(7)): not yet");
const AIO: Status = enosys("asynchronous I/O (aio, io_uring): not yet");
const SEC: Status = enosys("seccomp, Landlock and LSMs inside the sandbox: not yet");
const LATER: Status = enosys("not yet");
const HOST: Status = enosys("host administration: not planned");
const NOPE: Status = enosys("not planned");
const GONE: Status = enosys("not implemented by Linux either: not planned");

const HEX5: &[ArgKind] = &[Hex, Hex, Hex, Hex, Hex];

#[rustfmt::skip]
const ROWS: &[Syscall] = &[
    sc(0,   "read",                   &[Fd, OutBuf, Size], OK),
    sc(1,   "write",                  &[Fd, InBuf(2), Size], OK),
    sc(2,   "open",                   &[CStr, OFLAGS, Mode], partial("fifos only on the sandbox's own filesystems (a host fifo gives ENXIO)")),
    sc(3,   "close",                  &[Fd], OK),
    sc(4,   "stat",                   &[CStr, Ptr], OK),
    sc(5,   "fstat",                  &[Fd, Ptr], OK),
    sc(6,   "lstat",                  &[CStr, Ptr], OK),
    sc(7,   "poll",                   &[Ptr, Uint, Int], OK),
    sc(8,   "lseek",                  &[Fd, Off, WHENCE], OK),
    sc(9,   "mmap",                   &[Ptr, Size, PROT, MAPF, Fd, Off], partial("shared mappings of files without pages in the sentry (procfs) are read-only copies; MAP_HUGETLB gives ordinary pages")),
    sc(10,  "mprotect",               &[Ptr, Size, PROT], OK),
    sc(11,  "munmap",                 &[Ptr, Size], OK),
    sc(12,  "brk",                    &[Ptr], OK),
    sc(13,  "rt_sigaction",           &[Signal, Ptr, Ptr, Size], OK),
    sc(14,  "rt_sigprocmask",         &[Enum(c::SIG_HOW), SigSet, SigSet, Size], OK),
    sc(15,  "rt_sigreturn",           &[], OK),
    sc(16,  "ioctl",                  &[Fd, Enum(c::IOCTL), Hex], partial("FIOCLEX, FIONCLEX, FIONBIO, FIONREAD; on host terminals TCGETS, TCSETS/TCSETSW/TCSETSF, TIOCGWINSZ, TIOCSWINSZ, and TIOCSCTTY, TIOCNOTTY, TIOCGSID, TIOCGPGRP, TIOCSPGRP kept in the sandbox; the host line discipline's signals (^C, ^Z, ^\\, resize) go to the sandbox foreground group; host terminals are /dev/pts/N; no in-sandbox ptys (/dev/ptmx, TIOCGPTN, TIOCSPTLCK)")),
    sc(17,  "pread64",                &[Fd, OutBuf, Size, Off], OK),
    sc(18,  "pwrite64",               &[Fd, InBuf(2), Size, Off], OK),
    sc(19,  "readv",                  &[Fd, OutIovec(2), Int], OK),
    sc(20,  "writev",                 &[Fd, InIovec(2), Int], OK),
    sc(21,  "access",                 &[CStr, ACCESS], OK),
    sc(22,  "pipe",                   &[Ptr], OK),
    sc(23,  "select",                 &[Int, Ptr, Ptr, Ptr, Ptr], OK),
    sc(24,  "sched_yield",            &[], OK),
    sc(25,  "mremap",                 &[Ptr, Size, Size, Flags(c::MREMAP), Ptr], OK),
    sc(26,  "msync",                  &[Ptr, Size, Flags(c::MSYNC)], OK),
    sc(27,  "mincore",                &[Ptr, Size, Ptr], MEM),
    sc(28,  "madvise",                &[Ptr, Size, MADV], partial("DONTNEED/FREE/REMOVE release pages; DONTFORK/DOFORK/WIPEONFORK/KEEPONFORK mark ranges for fork; other advice is accepted and ignored")),
    sc(29,  "shmget",                 &[Hex, Size, Hex], OK),
    sc(30,  "shmat",                  &[Int, Ptr, Hex], OK),
    sc(31,  "shmctl",                 &[Int, Int, Ptr], OK),
    sc(32,  "dup",                    &[Fd], OK),
    sc(33,  "dup2",                   &[Fd, Fd], OK),
    sc(34,  "pause",                  &[], OK),
    sc(35,  "nanosleep",              &[Timespec, Ptr], OK),
    sc(36,  "getitimer",              &[Enum(c::ITIMER), Ptr], OK),
    sc(37,  "alarm",                  &[Uint], OK),
    sc(38,  "setitimer",              &[Enum(c::ITIMER), Ptr, Ptr], partial("ITIMER_VIRTUAL and ITIMER_PROF both count the application's whole CPU time, read every 10 ms or at syscalls; a periodic ITIMER_REAL keeps running while SIGALRM is pending")),
    sc(39,  "getpid",                 &[], OK),
    sc(40,  "sendfile",               &[Fd, Fd, Ptr, Size], OK),
    sc(41,  "socket",                 &[AF, SOCKTYPE, Int], SOCKET),
    sc(42,  "connect",                &[Fd, Ptr, Int], SOCKCALL),
    sc(43,  "accept",                 &[Fd, Ptr, Ptr], SOCKCALL),
    sc(44,  "sendto",                 &[Fd, InBuf(2), Size, MSG, Ptr, Int], UNIX_SEND),
    sc(45,  "recvfrom",               &[Fd, OutBuf, Size, MSG, Ptr, Ptr], UNIX_RECV),
    sc(46,  "sendmsg",                &[Fd, Ptr, MSG], UNIX_SEND),
    sc(47,  "recvmsg",                &[Fd, Ptr, MSG], UNIX_RECV),
    sc(48,  "shutdown",               &[Fd, Enum(c::SHUTDOWN_HOW)], SOCKCALL),
    sc(49,  "bind",                   &[Fd, Ptr, Int], SOCKCALL),
    sc(50,  "listen",                 &[Fd, Int], SOCKCALL),
    sc(51,  "getsockname",            &[Fd, Ptr, Ptr], SOCKCALL),
    sc(52,  "getpeername",            &[Fd, Ptr, Ptr], SOCKCALL),
    sc(53,  "socketpair",             &[AF, SOCKTYPE, Int, Ptr], partial("AF_UNIX; AF_INET and AF_INET6 give EOPNOTSUPP as on Linux; other families EAFNOSUPPORT (AF_NETLINK included, which Linux has)")),
    sc(54,  "setsockopt",             &[Fd, Int, Int, Ptr, Int], SOCKOPT),
    sc(55,  "getsockopt",             &[Fd, Int, Int, Ptr, Ptr], SOCKOPT),
    sc(56,  "clone",                  &[CloneFlags, Ptr, Ptr, Ptr, Hex], partial("no new namespaces (EPERM)")),
    sc(57,  "fork",                   &[], OK),
    sc(58,  "vfork",                  &[], OK),
    sc(59,  "execve",                 &[CStr, StrArray, EnvArray], EXEC_NOTE),
    sc(60,  "exit",                   &[Int], OK),
    sc(61,  "wait4",                  &[Pid, Ptr, WAIT, Ptr], partial("rusage as getrusage(2) reports it: CPU time as user time")),
    sc(62,  "kill",                   &[Pid, Signal], OK),
    sc(63,  "uname",                  &[Ptr], OK),
    sc(64,  "semget",                 &[Hex, Int, Hex], OK),
    sc(65,  "semop",                  &[Int, Ptr, Size], OK),
    sc(66,  "semctl",                 &[Int, Int, Int, Hex], OK),
    sc(67,  "shmdt",                  &[Ptr], OK),
    sc(68,  "msgget",                 &[Hex, Hex], OK),
    sc(69,  "msgsnd",                 &[Int, Ptr, Size, Hex], OK),
    sc(70,  "msgrcv",                 &[Int, Ptr, Size, Long, Hex], OK),
    sc(71,  "msgctl",                 &[Int, Int, Ptr], OK),
    sc(72,  "fcntl",                  &[Fd, Enum(c::FCNTL_CMD), Hex], partial("no leases (F_GETLEASE says none) or signal-driven I/O (F_SETOWN/F_SETSIG)")),
    sc(73,  "flock",                  &[Fd, Flags(c::FLOCK)], OK),
    sc(74,  "fsync",                  &[Fd], OK),
    sc(75,  "fdatasync",              &[Fd], OK),
    sc(76,  "truncate",               &[CStr, Off], OK),
    sc(77,  "ftruncate",              &[Fd, Off], OK),
    sc(78,  "getdents",               &[Fd, Ptr, Size], VFS),
    sc(79,  "getcwd",                 &[OutCStr, Size], OK),
    sc(80,  "chdir",                  &[CStr], OK),
    sc(81,  "fchdir",                 &[Fd], OK),
    sc(82,  "rename",                 &[CStr, CStr], OK),
    sc(83,  "mkdir",                  &[CStr, Mode], OK),
    sc(84,  "rmdir",                  &[CStr], OK),
    sc(85,  "creat",                  &[CStr, Mode], OK),
    sc(86,  "link",                   &[CStr, CStr], OK),
    sc(87,  "unlink",                 &[CStr], OK),
    sc(88,  "symlink",                &[CStr, CStr], OK),
    sc(89,  "readlink",               &[CStr, OutBuf, Size], OK),
    sc(90,  "chmod",                  &[CStr, Mode], OK),
    sc(91,  "fchmod",                 &[Fd, Mode], OK),
    sc(92,  "chown",                  &[CStr, Int, Int], OK),
    sc(93,  "fchown",                 &[Fd, Int, Int], OK),
    sc(94,  "lchown",                 &[CStr, Int, Int], OK),
    sc(95,  "umask",                  &[Mode], OK),
    sc(96,  "gettimeofday",           &[Ptr, Ptr], OK),
    sc(97,  "getrlimit",              &[RLIMIT, Ptr], OK),
    sc(98,  "getrusage",              &[Enum(c::RUSAGE), Ptr], partial("CPU time is reported as user time (system time 0); ru_maxrss is the largest resident set seen; ru_nvcsw/ru_nivcsw are the task's sentry thread's; other fields 0")),
    sc(99,  "sysinfo",                &[Ptr], OK),
    sc(100, "times",                  &[Ptr], partial("CPU time is reported as user time (system time 0)")),
    sc(101, "ptrace",                 &[Int, Pid, Ptr, Ptr], PROC),
    sc(102, "getuid",                 &[], OK),
    sc(103, "syslog",                 &[Int, Ptr, Int], HOST),
    sc(104, "getgid",                 &[], OK),
    sc(105, "setuid",                 &[Int], OK),
    sc(106, "setgid",                 &[Int], OK),
    sc(107, "geteuid",                &[], OK),
    sc(108, "getegid",                &[], OK),
    sc(109, "setpgid",                &[Pid, Pid], OK),
    sc(110, "getppid",                &[], OK),
    sc(111, "getpgrp",                &[], OK),
    sc(112, "setsid",                 &[], OK),
    sc(113, "setreuid",               &[Int, Int], OK),
    sc(114, "setregid",               &[Int, Int], OK),
    sc(115, "getgroups",              &[Int, Ptr], OK),
    sc(116, "setgroups",              &[Int, Ptr], OK),
    sc(117, "setresuid",              &[Int, Int, Int], OK),
    sc(118, "getresuid",              &[Ptr, Ptr, Ptr], OK),
    sc(119, "setresgid",              &[Int, Int, Int], OK),
    sc(120, "getresgid",              &[Ptr, Ptr, Ptr], OK),
    sc(121, "getpgid",                &[Pid], OK),
    sc(122, "setfsuid",               &[Int], OK),
    sc(123, "setfsgid",               &[Int], OK),
    sc(124, "getsid",                 &[Pid], OK),
    sc(125, "capget",                 &[Ptr, Ptr], CAPS),
    sc(126, "capset",                 &[Ptr, Ptr], CAPS),
    sc(127, "rt_sigpending",          &[Ptr, Size], OK),
    sc(128, "rt_sigtimedwait",        &[SigSet, Ptr, Timespec, Size], OK),
    sc(129, "rt_sigqueueinfo",        &[Pid, Signal, Ptr], OK),
    sc(130, "rt_sigsuspend",          &[SigSet, Size], OK),
    sc(131, "sigaltstack",            &[Ptr, Ptr], OK),
    sc(132, "utime",                  &[CStr, Ptr], OK),
    sc(133, "mknod",                  &[CStr, Mode, Hex], OK),
    sc(134, "uselib",                 &[CStr], GONE),
    sc(135, "personality",            &[Hex], LATER),
    sc(136, "ustat",                  &[Hex, Ptr], GONE),
    sc(137, "statfs",                 &[CStr, Ptr], OK),
    sc(138, "fstatfs",                &[Fd, Ptr], OK),
    sc(139, "sysfs",                  &[Int, Hex, Hex], GONE),
    sc(140, "getpriority",            &[Enum(c::PRIO_WHICH), Int], OK),
    sc(141, "setpriority",            &[Enum(c::PRIO_WHICH), Int, Int], partial("per thread as in Linux; the nice value is kept and reported, host threads are not reniced")),
    sc(142, "sched_setparam",         &[Pid, Ptr], SCHED_SET),
    sc(143, "sched_getparam",         &[Pid, Ptr], OK),
    sc(144, "sched_setscheduler",     &[Pid, SCHEDPOL, Ptr], partial(
        "per-thread policy, priority and SCHED_RESET_ON_FORK are checked and kept as Linux does and reported back, \
         but not applied: host threads keep the sentry's own scheduling (a SCHED_FIFO/SCHED_RR task is not run real-time); \
         SCHED_DEADLINE needs sched_setattr",
    )),
    sc(145, "sched_getscheduler",     &[Pid], OK),
    sc(146, "sched_get_priority_max", &[SCHEDPOL], OK),
    sc(147, "sched_get_priority_min", &[SCHEDPOL], OK),
    sc(148, "sched_rr_get_interval",  &[Pid, Ptr], OK),
    sc(149, "mlock",                  &[Ptr, Size], MEM),
    sc(150, "munlock",                &[Ptr, Size], MEM),
    sc(151, "mlockall",               &[Flags(c::MLOCKALL)], MEM),
    sc(152, "munlockall",             &[], MEM),
    sc(153, "vhangup",                &[], HOST),
    sc(154, "modify_ldt",             &[Int, Ptr, Size], NOPE),
    sc(155, "pivot_root",             &[CStr, CStr], MOUNT),
    sc(156, "_sysctl",                &[Ptr], GONE),
    sc(157, "prctl",                  &[Enum(c::PRCTL), Hex, Hex, Hex, Hex], partial("NAME, PDEATHSIG, DUMPABLE, CHILD_SUBREAPER, NO_NEW_PRIVS, KEEPCAPS, SECUREBITS, CAPBSET_READ/DROP, CAP_AMBIENT, TIMERSLACK, THP_DISABLE, GET_SECCOMP, TSC (enable only); other options EINVAL")),
    sc(158, "arch_prctl",             &[Enum(c::ARCH_PRCTL), Hex], OK),
    sc(159, "adjtimex",               &[Ptr], HOST),
    sc(160, "setrlimit",              &[RLIMIT, Ptr], OK),
    sc(161, "chroot",                 &[CStr], OK),
    sc(162, "sync",                   &[], OK),
    sc(163, "acct",                   &[CStr], HOST),
    sc(164, "settimeofday",           &[Ptr, Ptr], HOST),
    sc(165, "mount",                  &[CStr, CStr, CStr, Flags(c::MOUNT), Ptr], MOUNT),
    sc(166, "umount2",                &[CStr, Flags(c::UMOUNT)], MOUNT),
    sc(167, "swapon",                 &[CStr, Hex], HOST),
    sc(168, "swapoff",                &[CStr], HOST),
    sc(169, "reboot",                 &[Hex, Hex, Hex, Ptr], HOST),
    sc(170, "sethostname",            &[InBuf(1), Size], NS),
    sc(171, "setdomainname",          &[InBuf(1), Size], NS),
    sc(172, "iopl",                   &[Int], HOST),
    sc(173, "ioperm",                 &[Hex, Hex, Int], HOST),
    sc(174, "create_module",          &[CStr, Size], GONE),
    sc(175, "init_module",            &[Ptr, Size, CStr], HOST),
    sc(176, "delete_module",          &[CStr, Hex], HOST),
    sc(177, "get_kernel_syms",        &[Ptr], GONE),
    sc(178, "query_module",           &[CStr, Int, Ptr, Size, Ptr], GONE),
    sc(179, "quotactl",               &[Hex, CStr, Int, Ptr], HOST),
    sc(180, "nfsservctl",             &[Int, Ptr, Ptr], GONE),
    sc(181, "getpmsg",                HEX5, GONE),
    sc(182, "putpmsg",                HEX5, GONE),
    sc(183, "afs_syscall",            HEX5, GONE),
    sc(184, "tuxcall",                HEX5, GONE),
    sc(185, "security",               HEX5, GONE),
    sc(186, "gettid",                 &[], OK),
    sc(187, "readahead",              &[Fd, Off, Size], OK),
    sc(188, "setxattr",               &[CStr, CStr, InBuf(3), Size, XATTR], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(189, "lsetxattr",              &[CStr, CStr, InBuf(3), Size, XATTR], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(190, "fsetxattr",              &[Fd, CStr, InBuf(3), Size, XATTR], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(191, "getxattr",               &[CStr, CStr, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(192, "lgetxattr",              &[CStr, CStr, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(193, "fgetxattr",              &[Fd, CStr, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(194, "listxattr",              &[CStr, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(195, "llistxattr",             &[CStr, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(196, "flistxattr",             &[Fd, OutBuf, Size], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(197, "removexattr",            &[CStr, CStr], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(198, "lremovexattr",           &[CStr, CStr], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(199, "fremovexattr",           &[Fd, CStr], partial("stored on tmpfs (user., trusted., security.); files of the gofer's tree have none until copied up; system.* (POSIX ACLs): EOPNOTSUPP")),
    sc(200, "tkill",                  &[Pid, Signal], OK),
    sc(201, "time",                   &[Ptr], OK),
    sc(202, "futex",                  &[Ptr, FutexOp, Int, Ptr, Ptr, Int], partial("every operation, private and shared; PI futexes (LOCK_PI/LOCK_PI2/TRYLOCK_PI/UNLOCK_PI, WAIT_REQUEUE_PI/CMP_REQUEUE_PI) hand off, detect deadlocks and pass on a dead owner's lock as Linux, but boost no priority (no real-time scheduling) and serve waiters first come first served")),
    sc(203, "sched_setaffinity",      &[Pid, Size, Ptr], partial("mask recorded and reported; host threads do not follow it (on seccomp the platform pins each stub thread and its sentry thread to a CPU of its own choosing)")),
    sc(204, "sched_getaffinity",      &[Pid, Size, Ptr], OK),
    sc(205, "set_thread_area",        &[Ptr], NOPE),
    sc(206, "io_setup",               &[Uint, Ptr], AIO),
    sc(207, "io_destroy",             &[Hex], AIO),
    sc(208, "io_getevents",           &[Hex, Long, Long, Ptr, Timespec], AIO),
    sc(209, "io_submit",              &[Hex, Long, Ptr], AIO),
    sc(210, "io_cancel",              &[Hex, Ptr, Ptr], AIO),
    sc(211, "get_thread_area",        &[Ptr], NOPE),
    sc(212, "lookup_dcookie",         &[Hex, OutBuf, Size], GONE),
    sc(213, "epoll_create",           &[Int], OK),
    sc(214, "epoll_ctl_old",          HEX5, GONE),
    sc(215, "epoll_wait_old",         HEX5, GONE),
    sc(216, "remap_file_pages",       &[Ptr, Size, PROT, Size, Hex], NOPE),
    sc(217, "getdents64",             &[Fd, Ptr, Size], OK),
    sc(218, "set_tid_address",        &[Ptr], OK),
    sc(219, "restart_syscall",        &[], OK),
    sc(220, "semtimedop",             &[Int, Ptr, Size, Timespec], OK),
    sc(221, "fadvise64",              &[Fd, Off, Size, Enum(c::FADVISE)], OK),
    sc(222, "timer_create",           &[CLOCK, Ptr, Ptr], partial("alarm clocks give EOPNOTSUPP (no RTC); timers on CPU clocks fire when the process's CPU time is read (every 10 ms while armed)")),
    sc(223, "timer_settime",          &[Int, ABSTIME, Ptr, Ptr], OK),
    sc(224, "timer_gettime",          &[Int, Ptr], OK),
    sc(225, "timer_getoverrun",       &[Int], OK),
    sc(226, "timer_delete",           &[Int], OK),
    sc(227, "clock_settime",          &[CLOCK, Timespec], partial("the host's clocks are never set: CLOCK_REALTIME and CPU clocks give EPERM (as without CAP_SYS_TIME), the others EINVAL")),
    sc(228, "clock_gettime",          &[CLOCK, Timespec], OK),
    sc(229, "clock_getres",           &[CLOCK, Timespec], OK),
    sc(230, "clock_nanosleep",        &[CLOCK, ABSTIME, Timespec, Ptr], OK),
    sc(231, "exit_group",             &[Int], OK),
    sc(232, "epoll_wait",             &[Fd, Ptr, Int, Int], OK),
    sc(233, "epoll_ctl",              &[Fd, Enum(c::EPOLL_CTL), Fd, Ptr], OK),
    sc(234, "tgkill",                 &[Pid, Pid, Signal], OK),
    sc(235, "utimes",                 &[CStr, Ptr], OK),
    sc(236, "vserver",                HEX5, GONE),
    sc(237, "mbind",                  &[Ptr, Size, Int, Ptr, Size, Hex], MEM),
    sc(238, "set_mempolicy",          &[Int, Ptr, Size], MEM),
    sc(239, "get_mempolicy",          &[Ptr, Ptr, Size, Ptr, Hex], MEM),
    sc(240, "mq_open",                &[CStr, OFLAGS, Mode, Ptr], MQ),
    sc(241, "mq_unlink",              &[CStr], MQ),
    sc(242, "mq_timedsend",           &[Fd, InBuf(2), Size, Uint, Timespec], MQ),
    sc(243, "mq_timedreceive",        &[Fd, OutBuf, Size, Ptr, Timespec], MQ),
    sc(244, "mq_notify",              &[Fd, Ptr], MQ),
    sc(245, "mq_getsetattr",          &[Fd, Ptr, Ptr], MQ),
    sc(246, "kexec_load",             &[Hex, Uint, Ptr, Hex], HOST),
    sc(247, "waitid",                 &[Enum(c::IDTYPE), Pid, Ptr, WAIT, Ptr], partial("rusage as getrusage(2) reports it: CPU time as user time")),
    sc(248, "add_key",                &[CStr, CStr, InBuf(3), Size, Int], NOPE),
    sc(249, "request_key",            &[CStr, CStr, CStr, Int], NOPE),
    sc(250, "keyctl",                 &[Int, Hex, Hex, Hex, Hex], NOPE),
    sc(251, "ioprio_set",             &[Int, Int, Int], IOPRIO),
    sc(252, "ioprio_get",             &[Int, Int], IOPRIO),
    sc(253, "inotify_init",           &[], VFS),
    sc(254, "inotify_add_watch",      &[Fd, CStr, Hex], VFS),
    sc(255, "inotify_rm_watch",       &[Fd, Int], VFS),
    sc(256, "migrate_pages",          &[Pid, Size, Ptr, Ptr], MEM),
    sc(257, "openat",                 &[DirFd, CStr, OFLAGS, Mode], partial("fifos only on the sandbox's own filesystems (a host fifo gives ENXIO)")),
    sc(258, "mkdirat",                &[DirFd, CStr, Mode], OK),
    sc(259, "mknodat",                &[DirFd, CStr, Mode, Hex], OK),
    sc(260, "fchownat",               &[DirFd, CStr, Int, Int, AT], OK),
    sc(261, "futimesat",              &[DirFd, CStr, Ptr], OK),
    sc(262, "newfstatat",             &[DirFd, CStr, Ptr, AT], OK),
    sc(263, "unlinkat",               &[DirFd, CStr, Flags(c::UNLINKAT)], OK),
    sc(264, "renameat",               &[DirFd, CStr, DirFd, CStr], OK),
    sc(265, "linkat",                 &[DirFd, CStr, DirFd, CStr, AT], OK),
    sc(266, "symlinkat",              &[CStr, DirFd, CStr], OK),
    sc(267, "readlinkat",             &[DirFd, CStr, OutBuf, Size], OK),
    sc(268, "fchmodat",               &[DirFd, CStr, Mode], OK),
    sc(269, "faccessat",              &[DirFd, CStr, ACCESS], OK),
    sc(270, "pselect6",               &[Int, Ptr, Ptr, Ptr, Timespec, Ptr], OK),
    sc(271, "ppoll",                  &[Ptr, Uint, Timespec, SigSet, Size], OK),
    sc(272, "unshare",                &[Flags(c::CLONE)], NS),
    sc(273, "set_robust_list",        &[Ptr, Size], OK),
    sc(274, "get_robust_list",        &[Pid, Ptr, Ptr], OK),
    sc(275, "splice",                 &[Fd, Ptr, Fd, Ptr, Size, SPLICE], partial("one end a pipe; data is copied, not moved")),
    sc(276, "tee",                    &[Fd, Fd, Size, SPLICE], OK),
    sc(277, "sync_file_range",        &[Fd, Off, Off, Flags(c::SYNC_FILE_RANGE)], OK),
    sc(278, "vmsplice",               &[Fd, InIovec(2), Size, SPLICE], partial("copies (gifts and moves are hints)")),
    sc(279, "move_pages",             &[Pid, Size, Ptr, Ptr, Ptr, Hex], MEM),
    sc(280, "utimensat",              &[DirFd, CStr, Ptr, AT], OK),
    sc(281, "epoll_pwait",            &[Fd, Ptr, Int, Int, SigSet, Size], OK),
    sc(282, "signalfd",               &[Fd, SigSet, Size], OK),
    sc(283, "timerfd_create",         &[CLOCK, Flags(c::TFD_CREATE)], OK),
    sc(284, "eventfd",                &[Uint], OK),
    sc(285, "fallocate",              &[Fd, Flags(c::FALLOCATE), Off, Off], partial("modes 0, FALLOC_FL_KEEP_SIZE and (on tmpfs) FALLOC_FL_PUNCH_HOLE; range operations give EOPNOTSUPP")),
    sc(286, "timerfd_settime",        &[Fd, Flags(c::TFD_SETTIME), Ptr, Ptr], partial("TFD_TIMER_CANCEL_ON_SET is accepted but never cancels: the sandbox's clock cannot be set")),
    sc(287, "timerfd_gettime",        &[Fd, Ptr], OK),
    sc(288, "accept4",                &[Fd, Ptr, Ptr, Flags(c::SOCK_FLAGS)], SOCKCALL),
    sc(289, "signalfd4",              &[Fd, SigSet, Size, Flags(c::SFD)], OK),
    sc(290, "eventfd2",               &[Uint, Flags(c::EFD)], OK),
    sc(291, "epoll_create1",          &[Flags(c::EPOLL_CREATE)], OK),
    sc(292, "dup3",                   &[Fd, Fd, OCLOEXEC], OK),
    sc(293, "pipe2",                  &[Ptr, OCLOEXEC], partial("O_NOTIFICATION_PIPE: ENOPKG, as without CONFIG_WATCH_QUEUE")),
    sc(294, "inotify_init1",          &[Flags(c::IN_INIT)], VFS),
    sc(295, "preadv",                 &[Fd, OutIovec(2), Int, Off], OK),
    sc(296, "pwritev",                &[Fd, InIovec(2), Int, Off], OK),
    sc(297, "rt_tgsigqueueinfo",      &[Pid, Pid, Signal, Ptr], OK),
    sc(298, "perf_event_open",        &[Ptr, Pid, Int, Fd, Hex], NOPE),
    sc(299, "recvmmsg",               &[Fd, Ptr, Uint, MSG, Timespec], UNIX_RECV),
    sc(300, "fanotify_init",          &[Hex, Hex], LATER),
    sc(301, "fanotify_mark",          &[Fd, Hex, Hex, DirFd, CStr], LATER),
    sc(302, "prlimit64",              &[Pid, RLIMIT, Ptr, Ptr], OK),
    sc(303, "name_to_handle_at",      &[DirFd, CStr, Ptr, Ptr, AT], VFS),
    sc(304, "open_by_handle_at",      &[Fd, Ptr, OFLAGS], VFS),
    sc(305, "clock_adjtime",          &[CLOCK, Ptr], HOST),
    sc(306, "syncfs",                 &[Fd], OK),
    sc(307, "sendmmsg",               &[Fd, Ptr, Uint, MSG], UNIX_SEND),
    sc(308, "setns",                  &[Fd, Flags(c::CLONE)], NS),
    sc(309, "getcpu",                 &[Ptr, Ptr, Ptr], OK),
    sc(310, "process_vm_readv",       &[Pid, Ptr, Size, Ptr, Size, Hex], PROC),
    sc(311, "process_vm_writev",      &[Pid, Ptr, Size, Ptr, Size, Hex], PROC),
    sc(312, "kcmp",                   &[Pid, Pid, Enum(c::KCMP), Hex, Hex], PROC),
    sc(313, "finit_module",           &[Fd, CStr, Hex], HOST),
    sc(314, "sched_setattr",          &[Pid, Ptr, Hex], partial(
        "as sched_setscheduler, with the nice value and a requested slice; SCHED_DEADLINE is refused with EPERM \
         once its parameters are valid (the sandbox reserves no CPU bandwidth: Linux's answer to a caller without \
         CAP_SYS_NICE), utilization clamps with EOPNOTSUPP (as a kernel without CONFIG_UCLAMP_TASK)",
    )),
    sc(315, "sched_getattr",          &[Pid, Ptr, Uint, Hex], OK),
    sc(316, "renameat2",              &[DirFd, CStr, DirFd, CStr, Flags(c::RENAME)], partial("RENAME_WHITEOUT is refused (EINVAL)")),
    sc(317, "seccomp",                &[Enum(c::SECCOMP_OP), Hex, Ptr], SEC),
    sc(318, "getrandom",              &[OutBuf, Size, Flags(c::GETRANDOM)], OK),
    sc(319, "memfd_create",           &[CStr, Flags(c::MEMFD)], partial("MFD_HUGETLB gives ordinary pages")),
    sc(320, "kexec_file_load",        &[Fd, Fd, Size, CStr, Hex], HOST),
    sc(321, "bpf",                    &[Int, Ptr, Size], NOPE),
    sc(322, "execveat",               &[DirFd, CStr, StrArray, EnvArray, AT], EXEC_NOTE),
    sc(323, "userfaultfd",            &[OCLOEXEC], LATER),
    sc(324, "membarrier",             &[Int, Hex, Int], LATER),
    sc(325, "mlock2",                 &[Ptr, Size, Flags(c::MLOCK2)], MEM),
    sc(326, "copy_file_range",        &[Fd, Ptr, Fd, Ptr, Size, Hex], OK),
    sc(327, "preadv2",                &[Fd, OutIovec(2), Int, Off, Skip, RWF], OK),
    sc(328, "pwritev2",               &[Fd, InIovec(2), Int, Off, Skip, RWF], OK),
    sc(329, "pkey_mprotect",          &[Ptr, Size, PROT, Int], NOPE),
    sc(330, "pkey_alloc",             &[Hex, Hex], NOPE),
    sc(331, "pkey_free",              &[Int], NOPE),
    sc(332, "statx",                  &[DirFd, CStr, AT, Flags(c::STATX_MASK), Ptr], partial("basic stats and the mount id")),
    sc(333, "io_pgetevents",          &[Hex, Long, Long, Ptr, Timespec, Ptr], AIO),
    sc(334, "rseq",                   &[Ptr, Uint, Hex, Hex], partial("cpu_id is a virtual CPU; critical sections are not aborted")),
    // 335–423: unused on x86-64 (the 32-bit time64 calls live there on other ABIs).
    sc(424, "pidfd_send_signal",      &[Fd, Signal, Ptr, Hex], OK),
    sc(425, "io_uring_setup",         &[Uint, Ptr], AIO),
    sc(426, "io_uring_enter",         &[Fd, Uint, Uint, Hex, Ptr, Size], AIO),
    sc(427, "io_uring_register",      &[Fd, Uint, Ptr, Uint], AIO),
    sc(428, "open_tree",              &[DirFd, CStr, Hex], MOUNT),
    sc(429, "move_mount",             &[DirFd, CStr, DirFd, CStr, Hex], MOUNT),
    sc(430, "fsopen",                 &[CStr, Hex], MOUNT),
    sc(431, "fsconfig",               &[Fd, Uint, CStr, Ptr, Int], MOUNT),
    sc(432, "fsmount",                &[Fd, Hex, Hex], MOUNT),
    sc(433, "fspick",                 &[DirFd, CStr, Hex], MOUNT),
    sc(434, "pidfd_open",             &[Pid, Hex], OK),
    sc(435, "clone3",                 &[Ptr, Size], partial("no new namespaces (EPERM), set_tid (EPERM) or cgroups (EINVAL)")),
    sc(436, "close_range",            &[Uint, Uint, Flags(c::CLOSE_RANGE)], OK),
    sc(437, "openat2",                &[DirFd, CStr, Ptr, Size], partial("fifos only on the sandbox's own filesystems (a host fifo gives ENXIO)")),
    sc(438, "pidfd_getfd",            &[Fd, Fd, Hex], OK),
    sc(439, "faccessat2",             &[DirFd, CStr, ACCESS, Flags(c::FACCESSAT)], OK),
    sc(440, "process_madvise",        &[Fd, InIovec(2), Size, MADV, Hex], MEM),
    sc(441, "epoll_pwait2",           &[Fd, Ptr, Int, Timespec, SigSet, Size], OK),
    sc(442, "mount_setattr",          &[DirFd, CStr, AT, Ptr, Size], MOUNT),
    sc(443, "quotactl_fd",            &[Fd, Hex, Int, Ptr], HOST),
    sc(444, "landlock_create_ruleset", &[Ptr, Size, Hex], SEC),
    sc(445, "landlock_add_rule",      &[Fd, Int, Ptr, Hex], SEC),
    sc(446, "landlock_restrict_self", &[Fd, Hex], SEC),
    sc(447, "memfd_secret",           &[Hex], NOPE),
    sc(448, "process_mrelease",       &[Fd, Hex], PROC),
    sc(449, "futex_waitv",            &[Ptr, Uint, Hex, Timespec, CLOCK], OK),
    sc(450, "set_mempolicy_home_node", &[Ptr, Size, Uint, Hex], MEM),
    sc(451, "cachestat",              &[Fd, Ptr, Ptr, Hex], VFS),
    sc(452, "fchmodat2",              &[DirFd, CStr, Mode, AT], OK),
    sc(453, "map_shadow_stack",       &[Ptr, Size, Hex], NOPE),
    sc(454, "futex_wake",             &[Ptr, Hex, Int, Hex], OK),
    sc(455, "futex_wait",             &[Ptr, Hex, Hex, Hex, Timespec, CLOCK], OK),
    sc(456, "futex_requeue",          &[Ptr, Hex, Int, Int], OK),
    sc(457, "statmount",              &[Ptr, Ptr, Size, Hex], MOUNT),
    sc(458, "listmount",              &[Ptr, Ptr, Size, Hex], MOUNT),
    sc(459, "lsm_get_self_attr",      &[Uint, Ptr, Ptr, Hex], SEC),
    sc(460, "lsm_set_self_attr",      &[Uint, Ptr, Size, Hex], SEC),
    sc(461, "lsm_list_modules",       &[Ptr, Ptr, Hex], SEC),
    sc(462, "mseal",                  &[Ptr, Size, Hex], MEM),
    sc(463, "setxattrat",             &[DirFd, CStr, AT, CStr, Ptr, Size], VFS),
    sc(464, "getxattrat",             &[DirFd, CStr, AT, CStr, Ptr, Size], VFS),
    sc(465, "listxattrat",            &[DirFd, CStr, AT, OutBuf, Size], VFS),
    sc(466, "removexattrat",          &[DirFd, CStr, AT, CStr], VFS),
    sc(467, "open_tree_attr",         &[DirFd, CStr, Hex, Ptr, Size], MOUNT),
    sc(468, "file_getattr",           &[DirFd, CStr, Ptr, Size, AT], VFS),
    sc(469, "file_setattr",           &[DirFd, CStr, Ptr, Size, AT], VFS),
];

/// The last number of the first block (0..=334).
const LOW_LAST: u64 = 334;
/// The first number of the second block (424..).
const HIGH_FIRST: u64 = 424;

/// The row index of syscall `nr`, if it lies in one of the two blocks.
const fn index(nr: u64) -> Option<usize> {
    if nr <= LOW_LAST {
        Some(nr as usize)
    } else if nr >= HIGH_FIRST {
        Some((nr - HIGH_FIRST + LOW_LAST + 1) as usize)
    } else {
        None
    }
}

// The rows must sit at the index `lookup` computes: checked when compiling.
const _: () = {
    let mut i = 0;
    while i < ROWS.len() {
        match index(ROWS[i].nr as u64) {
            Some(at) => assert!(at == i, "syscall table row out of place"),
            None => panic!("syscall number in the unused gap"),
        }
        i += 1;
    }
};

pub static TABLE: &[Syscall] = ROWS;

/// O(1): the table is dense in each of its two blocks.
pub fn lookup(nr: u64) -> Option<&'static Syscall> {
    TABLE.get(index(nr)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn numbers_increase_and_names_are_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].nr < w[1].nr));
        let names: HashSet<_> = TABLE.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), TABLE.len());
        assert!(TABLE.len() >= 380, "{}", TABLE.len());
        assert_eq!(TABLE.len(), 335 + 46);
    }

    #[test]
    fn spot_checks() {
        // From asm/unistd_64.h.
        let want = [
            (0, "read"),
            (2, "open"),
            (9, "mmap"),
            (56, "clone"),
            (59, "execve"),
            (60, "exit"),
            (158, "arch_prctl"),
            (202, "futex"),
            (231, "exit_group"),
            (257, "openat"),
            (262, "newfstatat"),
            (302, "prlimit64"),
            (318, "getrandom"),
            (322, "execveat"),
            (332, "statx"),
            (334, "rseq"),
            (424, "pidfd_send_signal"),
            (435, "clone3"),
            (437, "openat2"),
            (451, "cachestat"),
            (452, "fchmodat2"),
            (462, "mseal"),
            (469, "file_setattr"),
        ];
        for (nr, name) in want {
            assert_eq!(lookup(nr).map(|s| s.name), Some(name), "nr {nr}");
            assert_eq!(crate::lookup_name(name).map(|s| s.nr as u64), Some(nr));
        }
        for nr in [335, 400, 423, 470, 1000, u64::MAX] {
            assert!(lookup(nr).is_none(), "nr {nr}");
        }
    }

    /// Every `__NR_*` of the host's UAPI header (when installed; it may predate 6.18, so
    /// the table may have more) names the same syscall here.
    #[test]
    fn matches_the_host_header() {
        let Ok(text) = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
        else {
            return;
        };
        let mut seen = 0;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some("#define"), Some(name), Some(nr)) =
                (words.next(), words.next(), words.next())
                && let (Some(name), Ok(nr)) = (name.strip_prefix("__NR_"), nr.parse::<u64>())
            {
                assert_eq!(lookup(nr).map(|s| s.name), Some(name), "nr {nr}");
                seen += 1;
            }
        }
        assert!(seen > 300, "parsed only {seen} numbers");
    }

    #[test]
    fn lookup_finds_every_row() {
        for s in TABLE {
            assert!(std::ptr::eq(lookup(s.nr as u64).unwrap(), s));
        }
    }

    #[test]
    fn in_buffer_lengths_point_at_a_size() {
        for s in TABLE {
            for a in s.args {
                if let InBuf(i) | InIovec(i) | OutIovec(i) = a {
                    assert!((*i as usize) < s.args.len(), "{}", s.name);
                }
            }
        }
    }

    #[test]
    fn statuses() {
        let implemented: Vec<_> = crate::supported_names().collect();
        for name in [
            "read",
            "mmap",
            "futex",
            "rseq",
            "dup3",
            "getcwd",
            "readlinkat",
        ] {
            assert!(implemented.contains(&name), "{name}");
        }
        let counted = TABLE.iter().filter(|s| s.status.has_handler()).count();
        assert_eq!(implemented.len(), counted);
        assert_eq!(lookup(246).unwrap().status.errno(), Some(Errno::ENOSYS));
        assert!(matches!(lookup(9).unwrap().status, Status::Partial(_)));
    }
}
