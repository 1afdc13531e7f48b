//! Syscall dispatch (DESIGN.md §5 "Syscall handlers"): one module per family, each handler
//! a short function that decodes arguments, calls into the object that owns the
//! behaviour, and returns `Result<u64, Errno>`. Which numbers have a handler must agree
//! with the support status in `syscalls-table` (checked by a test).

mod sys_clone;
mod sys_cred;
mod sys_epoll;
mod sys_eventfd;
mod sys_file;
mod sys_fs;
mod sys_futex;
mod sys_ipc;
mod sys_lock;
mod sys_mm;
mod sys_pidfd;
mod sys_pipe;
mod sys_poll;
mod sys_process;
mod sys_rw;
mod sys_sched;
mod sys_signal;
mod sys_socket;
mod sys_time;
mod sys_timer;
mod sys_xattr;

use crate::log;
use crate::task::Task;
use syscalls_table::Errno;

pub use sys_pidfd::pidfd_pid;

pub type Handler = fn(&mut Task, &[u64; 6]) -> Result<u64, Errno>;

/// The handler of syscall `nr`, if the sentry implements it.
#[allow(non_upper_case_globals)]
pub fn handler(nr: u64) -> Option<Handler> {
    use libc::*;
    let nr = i64::try_from(nr).ok()?;
    Some(match nr {
        SYS_read => sys_rw::read,
        SYS_write => sys_rw::write,
        SYS_readv => sys_rw::readv,
        SYS_writev => sys_rw::writev,
        SYS_pread64 => sys_rw::pread64,
        SYS_pwrite64 => sys_rw::pwrite64,
        SYS_preadv => sys_rw::preadv,
        SYS_pwritev => sys_rw::pwritev,
        SYS_preadv2 => sys_rw::preadv2,
        SYS_pwritev2 => sys_rw::pwritev2,
        SYS_lseek => sys_rw::lseek,
        SYS_sendfile => sys_rw::sendfile,
        SYS_copy_file_range => sys_rw::copy_file_range,
        SYS_splice => sys_rw::splice,
        SYS_tee => sys_pipe::tee,
        SYS_vmsplice => sys_rw::vmsplice,
        SYS_pipe => sys_pipe::pipe,
        SYS_pipe2 => sys_pipe::pipe2,
        SYS_close => sys_fs::close,
        SYS_close_range => sys_fs::close_range,
        SYS_dup => sys_fs::dup,
        SYS_dup2 => sys_fs::dup2,
        SYS_dup3 => sys_fs::dup3,
        SYS_fcntl => sys_fs::fcntl,
        SYS_fstat => sys_fs::fstat,
        SYS_ioctl => sys_fs::ioctl,
        SYS_getdents64 => sys_fs::getdents64,
        SYS_ftruncate => sys_fs::ftruncate,
        SYS_fchmod => sys_fs::fchmod,
        SYS_fchdir => sys_fs::fchdir,
        SYS_fsync => sys_fs::fsync,
        SYS_fdatasync => sys_fs::fsync,
        SYS_syncfs => sys_fs::syncfs,
        SYS_sync_file_range => sys_fs::sync_file_range,
        SYS_sync => sys_fs::sync,
        SYS_fstatfs => sys_fs::fstatfs,
        SYS_umask => sys_fs::umask,
        SYS_open => sys_file::open,
        SYS_openat => sys_file::openat,
        SYS_openat2 => sys_file::openat2,
        SYS_creat => sys_file::creat,
        SYS_stat => sys_file::stat,
        SYS_lstat => sys_file::lstat,
        SYS_newfstatat => sys_file::newfstatat,
        SYS_statx => sys_file::statx,
        SYS_mkdir => sys_file::mkdir,
        SYS_mkdirat => sys_file::mkdirat,
        SYS_mknod => sys_file::mknod,
        SYS_mknodat => sys_file::mknodat,
        SYS_rmdir => sys_file::rmdir,
        SYS_unlink => sys_file::unlink,
        SYS_unlinkat => sys_file::unlinkat,
        SYS_rename => sys_file::rename,
        SYS_renameat => sys_file::renameat,
        SYS_renameat2 => sys_file::renameat2,
        SYS_link => sys_file::link,
        SYS_linkat => sys_file::linkat,
        SYS_symlink => sys_file::symlink,
        SYS_symlinkat => sys_file::symlinkat,
        SYS_readlink => sys_file::readlink,
        SYS_readlinkat => sys_file::readlinkat,
        SYS_chdir => sys_file::chdir,
        SYS_getcwd => sys_file::getcwd,
        SYS_access => sys_file::access,
        SYS_faccessat => sys_file::faccessat,
        SYS_faccessat2 => sys_file::faccessat2,
        SYS_chmod => sys_file::chmod,
        SYS_fchmodat => sys_file::fchmodat,
        SYS_fchmodat2 => sys_file::fchmodat2,
        SYS_truncate => sys_file::truncate,
        SYS_utimensat => sys_file::utimensat,
        SYS_statfs => sys_file::statfs,
        SYS_chown => sys_file::chown,
        SYS_lchown => sys_file::lchown,
        SYS_fchown => sys_file::fchown,
        SYS_fchownat => sys_file::fchownat,
        SYS_utimes => sys_file::utimes,
        SYS_futimesat => sys_file::futimesat,
        SYS_utime => sys_file::utime,
        SYS_chroot => sys_file::chroot,
        SYS_fallocate => sys_fs::fallocate,
        SYS_flock => sys_lock::flock,
        SYS_memfd_create => sys_fs::memfd_create,
        SYS_fadvise64 => sys_fs::fadvise64,
        SYS_readahead => sys_fs::readahead,
        SYS_getxattr => sys_xattr::getxattr,
        SYS_lgetxattr => sys_xattr::lgetxattr,
        SYS_fgetxattr => sys_xattr::fgetxattr,
        SYS_setxattr => sys_xattr::setxattr,
        SYS_lsetxattr => sys_xattr::lsetxattr,
        SYS_fsetxattr => sys_xattr::fsetxattr,
        SYS_listxattr => sys_xattr::listxattr,
        SYS_llistxattr => sys_xattr::llistxattr,
        SYS_flistxattr => sys_xattr::flistxattr,
        SYS_removexattr => sys_xattr::removexattr,
        SYS_lremovexattr => sys_xattr::lremovexattr,
        SYS_fremovexattr => sys_xattr::fremovexattr,
        SYS_brk => sys_mm::brk,
        SYS_mmap => sys_mm::mmap,
        SYS_munmap => sys_mm::munmap,
        SYS_mprotect => sys_mm::mprotect,
        SYS_mremap => sys_mm::mremap,
        SYS_madvise => sys_mm::madvise,
        SYS_msync => sys_mm::msync,
        SYS_exit => sys_clone::exit,
        SYS_exit_group => sys_clone::exit_group,
        SYS_clone => sys_clone::clone,
        SYS_clone3 => sys_clone::clone3,
        SYS_fork => sys_clone::fork,
        SYS_vfork => sys_clone::vfork,
        SYS_execve => sys_clone::execve,
        SYS_execveat => sys_clone::execveat,
        SYS_wait4 => sys_clone::wait4,
        SYS_waitid => sys_clone::waitid,
        SYS_setpgid => sys_process::setpgid,
        SYS_socket => sys_socket::socket,
        SYS_socketpair => sys_socket::socketpair,
        SYS_connect => sys_socket::connect,
        SYS_accept => sys_socket::accept,
        SYS_accept4 => sys_socket::accept4,
        SYS_sendto => sys_socket::sendto,
        SYS_recvfrom => sys_socket::recvfrom,
        SYS_sendmsg => sys_socket::sendmsg,
        SYS_recvmsg => sys_socket::recvmsg,
        SYS_sendmmsg => sys_socket::sendmmsg,
        SYS_recvmmsg => sys_socket::recvmmsg,
        SYS_shutdown => sys_socket::shutdown,
        SYS_bind => sys_socket::bind,
        SYS_listen => sys_socket::listen,
        SYS_getsockname => sys_socket::getsockname,
        SYS_getpeername => sys_socket::getpeername,
        SYS_setsockopt => sys_socket::setsockopt,
        SYS_getsockopt => sys_socket::getsockopt,
        SYS_setuid => sys_cred::setuid,
        SYS_setgid => sys_cred::setgid,
        SYS_setreuid => sys_cred::setreuid,
        SYS_setregid => sys_cred::setregid,
        SYS_setresuid => sys_cred::setresuid,
        SYS_setresgid => sys_cred::setresgid,
        SYS_setfsuid => sys_cred::setfsuid,
        SYS_setfsgid => sys_cred::setfsgid,
        SYS_setgroups => sys_cred::setgroups,
        SYS_capget => sys_cred::capget,
        SYS_capset => sys_cred::capset,
        SYS_setsid => sys_process::setsid,
        SYS_pidfd_open => sys_pidfd::pidfd_open,
        SYS_pidfd_send_signal => sys_pidfd::pidfd_send_signal,
        SYS_pidfd_getfd => sys_pidfd::pidfd_getfd,
        SYS_rt_sigsuspend => sys_signal::rt_sigsuspend,
        SYS_rt_sigtimedwait => sys_signal::rt_sigtimedwait,
        SYS_pause => sys_signal::pause,
        SYS_restart_syscall => sys_time::restart_syscall,
        SYS_arch_prctl => sys_process::arch_prctl,
        SYS_prctl => sys_process::prctl,
        SYS_set_tid_address => sys_process::set_tid_address,
        SYS_set_robust_list => sys_process::set_robust_list,
        SYS_get_robust_list => sys_process::get_robust_list,
        SYS_rseq => sys_process::rseq,
        SYS_uname => sys_process::uname,
        SYS_sysinfo => sys_process::sysinfo,
        SYS_getpid => sys_process::getpid,
        SYS_getppid => sys_process::getppid,
        SYS_gettid => sys_process::gettid,
        SYS_getuid => sys_process::getuid,
        SYS_geteuid => sys_process::geteuid,
        SYS_getgid => sys_process::getgid,
        SYS_getegid => sys_process::getegid,
        SYS_getresuid => sys_process::getresuid,
        SYS_getresgid => sys_process::getresgid,
        SYS_getgroups => sys_process::getgroups,
        SYS_getpgrp => sys_process::getpgrp,
        SYS_getpgid => sys_process::getpgid,
        SYS_getsid => sys_process::getsid,
        SYS_prlimit64 => sys_process::prlimit64,
        SYS_getrlimit => sys_process::getrlimit,
        SYS_setrlimit => sys_process::setrlimit,
        SYS_sched_getaffinity => sys_process::sched_getaffinity,
        SYS_sched_yield => sys_process::sched_yield,
        SYS_getcpu => sys_process::getcpu,
        SYS_getrandom => sys_process::getrandom,
        SYS_clock_gettime => sys_time::clock_gettime,
        SYS_clock_getres => sys_time::clock_getres,
        SYS_clock_settime => sys_time::clock_settime,
        SYS_gettimeofday => sys_time::gettimeofday,
        SYS_time => sys_time::time,
        SYS_nanosleep => sys_time::nanosleep,
        SYS_clock_nanosleep => sys_time::clock_nanosleep,
        SYS_rt_sigaction => sys_signal::rt_sigaction,
        SYS_rt_sigprocmask => sys_signal::rt_sigprocmask,
        SYS_rt_sigpending => sys_signal::rt_sigpending,
        SYS_rt_sigreturn => sys_signal::rt_sigreturn,
        SYS_rt_sigqueueinfo => sys_signal::rt_sigqueueinfo,
        SYS_rt_tgsigqueueinfo => sys_signal::rt_tgsigqueueinfo,
        SYS_sigaltstack => sys_signal::sigaltstack,
        SYS_kill => sys_signal::kill,
        SYS_tkill => sys_signal::tkill,
        SYS_tgkill => sys_signal::tgkill,
        SYS_sched_setaffinity => sys_process::sched_setaffinity,
        SYS_getpriority => sys_sched::getpriority,
        SYS_setpriority => sys_sched::setpriority,
        SYS_sched_getscheduler => sys_sched::sched_getscheduler,
        SYS_sched_setscheduler => sys_sched::sched_setscheduler,
        SYS_sched_getparam => sys_sched::sched_getparam,
        SYS_sched_setparam => sys_sched::sched_setparam,
        SYS_sched_getattr => sys_sched::sched_getattr,
        SYS_sched_setattr => sys_sched::sched_setattr,
        SYS_sched_rr_get_interval => sys_sched::sched_rr_get_interval,
        SYS_sched_get_priority_max => sys_sched::sched_get_priority_max,
        SYS_sched_get_priority_min => sys_sched::sched_get_priority_min,
        SYS_futex => sys_futex::futex,
        SYS_futex_waitv => sys_futex::futex_waitv,
        // futex_wake, futex_wait, futex_requeue (Linux 6.7; not in the libc crate yet).
        454 => sys_futex::futex_wake,
        455 => sys_futex::futex_wait,
        456 => sys_futex::futex_requeue,
        SYS_poll => sys_poll::poll,
        SYS_ppoll => sys_poll::ppoll,
        SYS_select => sys_poll::select,
        SYS_pselect6 => sys_poll::pselect6,
        SYS_epoll_create => sys_epoll::epoll_create,
        SYS_epoll_create1 => sys_epoll::epoll_create1,
        SYS_epoll_ctl => sys_epoll::epoll_ctl,
        SYS_epoll_wait => sys_epoll::epoll_wait,
        SYS_epoll_pwait => sys_epoll::epoll_pwait,
        SYS_epoll_pwait2 => sys_epoll::epoll_pwait2,
        SYS_eventfd => sys_eventfd::eventfd,
        SYS_eventfd2 => sys_eventfd::eventfd2,
        SYS_signalfd => sys_eventfd::signalfd,
        SYS_signalfd4 => sys_eventfd::signalfd4,
        SYS_alarm => sys_timer::alarm,
        SYS_getitimer => sys_timer::getitimer,
        SYS_setitimer => sys_timer::setitimer,
        SYS_timer_create => sys_timer::timer_create,
        SYS_timer_settime => sys_timer::timer_settime,
        SYS_timer_gettime => sys_timer::timer_gettime,
        SYS_timer_getoverrun => sys_timer::timer_getoverrun,
        SYS_timer_delete => sys_timer::timer_delete,
        SYS_timerfd_create => sys_timer::timerfd_create,
        SYS_timerfd_settime => sys_timer::timerfd_settime,
        SYS_timerfd_gettime => sys_timer::timerfd_gettime,
        SYS_getrusage => sys_timer::getrusage,
        SYS_times => sys_timer::times,
        SYS_shmget => sys_ipc::shmget,
        SYS_shmat => sys_ipc::shmat,
        SYS_shmdt => sys_ipc::shmdt,
        SYS_shmctl => sys_ipc::shmctl,
        SYS_semget => sys_ipc::semget,
        SYS_semop => sys_ipc::semop,
        SYS_semtimedop => sys_ipc::semtimedop,
        SYS_semctl => sys_ipc::semctl,
        SYS_msgget => sys_ipc::msgget,
        SYS_msgsnd => sys_ipc::msgsnd,
        SYS_msgrcv => sys_ipc::msgrcv,
        SYS_msgctl => sys_ipc::msgctl,
        _ => return None,
    })
}

/// Handles the syscall the task just made and puts the result in its registers.
pub fn dispatch(t: &mut Task) {
    let (nr, args) = t.cpu.regs.syscall_args();
    let result = match handler(nr) {
        Some(h) => h(t, &args),
        None => Err(unsupported(t, nr)),
    };
    let ret: i64 = match result {
        Ok(v) => v as i64,
        Err(e) => -(e.0 as i64),
    };
    t.restart = match result {
        Err(
            e @ (Errno::ERESTARTSYS
            | Errno::ERESTARTNOINTR
            | Errno::ERESTARTNOHAND
            | Errno::ERESTART_RESTARTBLOCK),
        ) => Some(e),
        _ => None,
    };
    if t.k.strace {
        trace(t, nr, &args, ret);
    }
    t.cpu.regs.rax = ret as u64;
}

fn unsupported(t: &Task, nr: u64) -> Errno {
    let sc = syscalls_table::lookup(nr);
    let errno = match sc.map(|s| s.status) {
        Some(syscalls_table::Status::Unsupported { errno, .. }) => errno,
        _ => Errno::ENOSYS,
    };
    let first =
        t.k.unsupported_logged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(nr);
    if first {
        let name = sc.map_or_else(|| format!("syscall {nr}"), |s| s.name.to_string());
        log::warn(&format!(
            "unsupported syscall {name} ({nr}): returning {}",
            errno.name().unwrap_or("?")
        ));
    }
    errno
}

fn trace(t: &Task, nr: u64, args: &[u64; 6], ret: i64) {
    let read_mem = |addr: u64, len: usize| -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        t.mm.copy_in(addr, &mut buf).ok().map(|_| buf)
    };
    let line = match syscalls_table::lookup(nr) {
        Some(sc) => syscalls_table::strace::format(sc, args, ret, &read_mem),
        None => format!(
            "syscall_{nr:#x}(...) = {}",
            syscalls_table::strace::format_ret(ret)
        ),
    };
    eprintln!("[pid {:>5}] {line}", t.tid);
}

/// Reads a `T`-sized little-endian value from application memory.
pub(crate) fn read_u64(t: &Task, addr: u64) -> Result<u64, Errno> {
    let mut b = [0u8; 8];
    t.mm.copy_in(addr, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub(crate) fn write_u64(t: &Task, addr: u64, v: u64) -> Result<(), Errno> {
    t.mm.copy_out(addr, &v.to_le_bytes())
}

pub(crate) fn write_u32(t: &Task, addr: u64, v: u32) -> Result<(), Errno> {
    t.mm.copy_out(addr, &v.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::handler;

    /// The support table and the dispatch table must agree: a syscall marked Supported or
    /// Partial has a handler, and one with a handler is not marked Unsupported.
    #[test]
    fn table_matches_handlers() {
        let mut bad = Vec::new();
        for sc in syscalls_table::all() {
            let has = handler(sc.nr as u64).is_some();
            if has != sc.status.has_handler() {
                bad.push(format!(
                    "{} ({}): handler={has} status={:?}",
                    sc.name, sc.nr, sc.status
                ));
            }
        }
        for nr in 0..1024u64 {
            if handler(nr).is_some() && syscalls_table::lookup(nr).is_none() {
                bad.push(format!("handler for unknown syscall {nr}"));
            }
        }
        assert!(
            bad.is_empty(),
            "table and handlers disagree:\n{}",
            bad.join("\n")
        );
    }
}
