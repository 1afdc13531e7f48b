//! The stub: a tiny position-independent routine (raw syscalls, no stack, no libc) that
//! becomes the whole address space of a stub process. It is copied once into a fixed
//! region of the sentry; stub processes are forks of the sentry that jump into it, unmap
//! everything else and stop, leaving an empty address space below the stub region.
//!
//! Stub processes are forked by the platform's `Factory`, a process forked from the
//! sentry before its seccomp allowlist is installed, with `CLONE_PARENT` so that they
//! are the sentry's children. The factory itself is forked by one long-lived thread
//! (`on_spawner`): a child's `PR_SET_PDEATHSIG` fires when the *thread* that forked it
//! exits (for a stub, the thread that forked the factory), and a stub must outlive the
//! sentry thread that asked for it (other threads may run in it).

use crate::{PlatformError, Result};
use std::arch::global_asm;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, mpsc};

// Entry: rdi = end of the low region to unmap (the stub region's start),
//        rsi = start of the high region to unmap (the stub region's end),
//        rdx = length of the high region.
// After unmapping it stops itself with SIGSTOP (so its parent knows it is ready), then
// parks in `runsc_stub_park` (a `pause` loop) until a sentry thread seizes it. Stub
// threads made later park there too. Injected syscalls run at `runsc_stub_syscall`:
// `syscall` then `int3` hands control back; `runsc_stub_clone` is the same for `clone`,
// whose child goes to the park loop.
global_asm!(
    ".pushsection .text.runsc_stub, \"ax\"",
    ".globl runsc_stub_begin",
    ".globl runsc_stub_syscall",
    ".globl runsc_stub_syscall_trap",
    ".globl runsc_stub_clone",
    ".globl runsc_stub_clone_trap",
    ".globl runsc_stub_end",
    ".p2align 12",
    "runsc_stub_begin:",
    "mov r12, rsi",
    "mov r13, rdx",
    "mov rsi, rdi",
    "xor edi, edi",
    "mov eax, 11", // munmap(0, stub_start)
    "syscall",
    "mov rdi, r12",
    "mov rsi, r13",
    "mov eax, 11", // munmap(stub_end, top - stub_end)
    "syscall",
    "mov eax, 39", // getpid()
    "syscall",
    "mov rdi, rax",
    "mov esi, 19", // kill(pid, SIGSTOP)
    "mov eax, 62",
    "syscall",
    "runsc_stub_park:",
    "mov eax, 34", // pause()
    "syscall",
    "jmp runsc_stub_park",
    "runsc_stub_syscall:",
    "syscall",
    "int3",
    "runsc_stub_syscall_trap:",
    "jmp runsc_stub_park",
    "runsc_stub_clone:",
    "syscall",
    "test rax, rax",
    "jz runsc_stub_park",
    "int3",
    "runsc_stub_clone_trap:",
    "jmp runsc_stub_park",
    "runsc_stub_end:",
    ".popsection",
);

unsafe extern "C" {
    // glibc's rseq registration of the calling thread (glibc ≥ 2.35).
    static __rseq_offset: isize;
    static __rseq_size: u32;
    static runsc_stub_begin: u8;
    static runsc_stub_syscall: u8;
    static runsc_stub_syscall_trap: u8;
    static runsc_stub_clone: u8;
    static runsc_stub_clone_trap: u8;
    static runsc_stub_end: u8;
}

/// Size of the stub region (its code page; later platforms add shared pages).
pub const STUB_REGION_SIZE: u64 = 0x10000;
/// The top of the x86-64 user address space (47-bit, last page excluded as Linux does).
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;

/// The stub code copied into a region of this process.
#[derive(Clone, Copy, Debug)]
pub struct StubRegion {
    pub start: u64,
    pub end: u64,
    /// Address of the `syscall; int3` pair used for injected syscalls, and where the
    /// thread stops after its `int3`.
    pub syscall_addr: u64,
    pub syscall_trap: u64,
    /// The same for an injected `clone`, whose child parks.
    pub clone_addr: u64,
    pub clone_trap: u64,
    /// Address of the entry routine.
    pub entry: u64,
    /// A writable page at the end of the region, private to each stub after its fork:
    /// where a ptrace stub thread writes what an injected syscall returns in memory
    /// (`SCRATCH_SLOTS` slots of `SCRATCH_SLOT` bytes), out of the application's reach.
    pub scratch: u64,
}

/// Slots of the scratch page (one per stub thread, by `StubThread`'s slot number).
pub const SCRATCH_SLOTS: u64 = 256;
pub const SCRATCH_SLOT: u64 = 16;

impl StubRegion {
    /// Maps the stub region somewhere high in this process and copies the stub code there.
    pub fn install() -> Result<StubRegion> {
        // Taking the addresses of the symbols defined by the global_asm! above.
        let (begin, end) = (
            &raw const runsc_stub_begin as u64,
            &raw const runsc_stub_end as u64,
        );
        let syms = [
            &raw const runsc_stub_syscall as u64,
            &raw const runsc_stub_syscall_trap as u64,
            &raw const runsc_stub_clone as u64,
            &raw const runsc_stub_clone_trap as u64,
        ];
        let code_len = (end - begin) as usize;
        if code_len as u64 > STUB_REGION_SIZE - 4096 {
            return Err(PlatformError::Unsupported(
                "ptrace: the stub code is larger than its region".into(),
            ));
        }
        // SAFETY: a fresh anonymous mapping chosen by the kernel; no existing memory is
        // affected.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STUB_REGION_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(PlatformError::last_os("mmap of the stub region"));
        }
        // SAFETY: `addr` is a fresh writable mapping of STUB_REGION_SIZE ≥ code_len bytes;
        // the source is the stub's code in our text segment.
        unsafe {
            std::ptr::copy_nonoverlapping(begin as *const u8, addr as *mut u8, code_len);
            if libc::mprotect(
                addr,
                (STUB_REGION_SIZE - 4096) as usize,
                libc::PROT_READ | libc::PROT_EXEC,
            ) != 0
            {
                return Err(PlatformError::last_os("mprotect of the stub region"));
            }
        }
        let start = addr as u64;
        let at = |sym: u64| start + (sym - begin);
        Ok(StubRegion {
            start,
            end: start + STUB_REGION_SIZE,
            syscall_addr: at(syms[0]),
            syscall_trap: at(syms[1]),
            clone_addr: at(syms[2]),
            clone_trap: at(syms[3]),
            entry: start,
            scratch: start + STUB_REGION_SIZE - 4096,
        })
    }

    /// A factory that forks this region's stub processes with the memory file at
    /// descriptor `memfd` (as in the sentry).
    pub fn factory(&self, memfd: i32) -> Result<Factory> {
        let region = *self;
        Factory::start(move |fds| {
            let &[keep] = fds else {
                return -libc::EINVAL;
            };
            region.fork_child(keep, memfd)
        })
    }

    /// Forks a stub process through `factory` and returns its pid once it has unmapped
    /// everything outside the stub and is on its way to the park loop, untraced. The
    /// memory file is the only file descriptor left open in it.
    pub fn spawn(&self, factory: &Factory, memfd: i32) -> Result<i32> {
        let pid = factory.spawn(&[memfd])?;
        let mut status = 0;
        let r = loop {
            // SAFETY: waiting for our own child (the factory forks with CLONE_PARENT).
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED | libc::__WALL) };
            if r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break r;
        };
        if r != pid {
            let e = PlatformError::last_os("waitpid for a new stub");
            kill_and_reap(pid);
            return Err(e);
        }
        if !(libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGSTOP) {
            if libc::WIFSTOPPED(status) {
                kill_and_reap(pid);
            }
            return Err(PlatformError::ThreadGone(status));
        }
        // Out of its stop and into the park loop, where a sentry thread seizes it.
        // SAFETY: `pid` is our stopped, unreaped child.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        Ok(pid)
    }

    /// In the factory: forks one stub whose memory file is the factory's descriptor
    /// `keep`, to be `memfd` in the stub. Returns the pid or -errno.
    fn fork_child(&self, keep: i32, memfd: i32) -> i32 {
        let fork = ForkSetup::capture();
        // SAFETY: the child only runs `self.child`, which makes raw syscalls and jumps
        // into the stub, never returning to Rust code (see `raw_fork`).
        match unsafe { raw_fork() } {
            Ok(0) => {
                // SAFETY: child side, see above.
                unsafe {
                    let keep = move_fd(keep, memfd);
                    self.child(&fork, keep)
                }
            }
            Ok(pid) => pid,
            Err(e) => -e.errno().unwrap_or(libc::EAGAIN),
        }
    }

    /// # Safety
    /// Must only be called in the child of `raw_fork`.
    unsafe fn child(&self, fork: &ForkSetup, keep_fd: i32) -> ! {
        // SAFETY: raw syscalls only (the caller guarantees we are the fork's child), then
        // a jump into the stub, which never returns to Rust code.
        unsafe {
            child_prologue(fork, keep_fd);
            // No blocked signals: the tracer must see every signal sent to interrupt us.
            let empty: u64 = 0;
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &empty,
                0usize,
                8usize,
            );
            std::arch::asm!(
                "jmp {entry}",
                entry = in(reg) self.entry,
                in("rdi") self.start,
                in("rsi") self.end,
                in("rdx") TASK_SIZE - self.end,
                options(noreturn)
            );
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The channel to the thread that forks every stub process.
static SPAWNER: Mutex<Option<mpsc::Sender<Job>>> = Mutex::new(None);

/// Runs `f` on the platform's spawner thread (started on first use; it lives as long as
/// the sentry) and returns its result.
pub fn on_spawner<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    let tx = {
        let mut guard = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(tx) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::channel::<Job>();
                std::thread::Builder::new()
                    .name("runsc-stubs".into())
                    .spawn(move || {
                        for job in rx {
                            job();
                        }
                    })
                    .map_err(|err| PlatformError::Host {
                        what: "starting the stub-forking thread",
                        err,
                    })?;
                *guard = Some(tx.clone());
                tx
            }
        }
    };
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    let gone = || PlatformError::Unsupported("the stub-forking thread is gone".into());
    tx.send(Box::new(move || {
        let _ = reply_tx.send(f());
    }))
    .map_err(|_| gone())?;
    reply_rx.recv().map_err(|_| gone())
}

/// What the child of a stub fork needs from the parent, captured before the fork so the
/// child allocates and computes nothing.
pub struct ForkSetup {
    parent: i32,
    rseq_area: u64,
    rseq_size: u32,
}

impl ForkSetup {
    pub fn capture() -> ForkSetup {
        // The fork inherits this thread's rseq registration; once the stub has unmapped
        // the area, the kernel's rseq update on return to user mode would fault. The child
        // unregisters it first, with the area's address taken here.
        let tp: u64;
        // SAFETY: reads the thread pointer (TCB self-pointer at %fs:0 on x86-64 glibc).
        unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly)) };
        // SAFETY: plain reads of glibc's exported, immutable rseq description.
        let (rseq_area, rseq_size) =
            unsafe { (tp.wrapping_add(__rseq_offset as u64), __rseq_size) };
        ForkSetup {
            // Stubs are forked with CLONE_PARENT from the factory: their parent is the
            // factory's, the sentry.
            // SAFETY: getppid has no preconditions.
            parent: unsafe { libc::getppid() },
            rseq_area,
            rseq_size,
        }
    }
}

/// A raw fork of a stub from the factory: a clone with `CLONE_PARENT` (the stub is a
/// child of the sentry, which waits for it and reaps it, not of the factory) and
/// SIGCHLD, no shared VM. The child's pid in the parent, 0 in the child.
///
/// # Safety
/// The child must only make raw syscalls (async-signal-safe) and then jump into a stub,
/// never returning to Rust code, so no lock or allocator state of the parent is touched.
pub unsafe fn raw_fork() -> Result<i32> {
    // SAFETY: the caller upholds the child's restrictions.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as u64,
            0u64,
            0u64,
            0u64,
            0u64,
        )
    };
    if pid < 0 {
        return Err(PlatformError::last_os("clone of a stub process"));
    }
    Ok(pid as i32)
}

/// In a forked stub child: makes descriptor `from` (received by the factory) the
/// descriptor `to` (its number in the sentry, which the sentry's requests name) and
/// returns `to`.
///
/// # Safety
/// Must only be called in the child of `raw_fork`.
pub unsafe fn move_fd(from: i32, to: i32) -> i32 {
    if from != to {
        // SAFETY: a raw dup3 between descriptor numbers of this process.
        if unsafe { libc::syscall(libc::SYS_dup3, from, to, 0) } < 0 {
            // SAFETY: raw exit of the child.
            unsafe { libc::syscall(libc::SYS_exit_group, 119) };
        }
    }
    to
}

/// The most descriptors one factory request carries (the memory file and a stub's
/// shared areas).
const FACTORY_MAX_FDS: usize = 2;

/// The process that forks stub processes: a fork of the sentry made when the platform
/// starts, before the sentry installs its own seccomp allowlist (runsc-cli), which every
/// process forked later would inherit — it kills on the syscalls a stub must trap, and
/// a stub needs calls the sentry may not make (`rt_sigaction` of SIGSYS, `seccomp`).
/// The factory makes only raw syscalls: it receives the descriptors of one stub over a
/// socket, forks the stub with `CLONE_PARENT` (so the sentry stays its parent), closes
/// its copies and answers the pid. It trusts nothing it receives: a malformed request
/// gets -EINVAL. It exits when the socket closes, and dies with the sentry.
pub struct Factory {
    sock: OwnedFd,
    pid: i32,
    lock: Mutex<()>,
}

impl Factory {
    /// Forks the factory; `spawn(fds)` runs in it for each request, with the received
    /// descriptors, and returns the new stub's pid or -errno. `spawn` must make only raw
    /// syscalls and allocate nothing (the factory is a fork of a threaded process).
    pub fn start(spawn: impl Fn(&[i32]) -> i32 + Send + 'static) -> Result<Factory> {
        let mut pair = [0i32; 2];
        // SAFETY: socketpair writes two descriptors into `pair`.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                pair.as_mut_ptr(),
            )
        } != 0
        {
            return Err(PlatformError::last_os("socketpair for the stub factory"));
        }
        // SAFETY: both descriptors are fresh and ours.
        let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
        let theirs_fd = theirs.as_raw_fd();
        let parent = std::process::id() as i32;
        let filter = crate::seccomp::filter::factory_filter();
        // Forked on the spawner thread: a child's PR_SET_PDEATHSIG fires when the
        // thread that forked it exits, and the factory must live as long as the sentry.
        let pid = on_spawner(move || {
            // SAFETY: a plain fork; the child runs only `serve_factory` (raw syscalls,
            // no allocation) and exits without returning.
            let pid = unsafe {
                libc::syscall(libc::SYS_clone, libc::SIGCHLD as u64, 0u64, 0u64, 0u64, 0u64)
            };
            if pid == 0 {
                // SAFETY: child side, see above.
                unsafe { serve_factory(theirs_fd, parent, &filter, &spawn) }
            }
            pid
        })?;
        drop(theirs);
        if pid < 0 {
            return Err(PlatformError::last_os("fork of the stub factory"));
        }
        Ok(Factory {
            sock: ours,
            pid: pid as i32,
            lock: Mutex::new(()),
        })
    }

    /// Asks the factory for a stub process made with `fds` (the sentry's descriptors; the
    /// factory receives copies). Returns its pid: a child of this process.
    pub fn spawn(&self, fds: &[i32]) -> Result<i32> {
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let sock = self.sock.as_raw_fd();
        let mut byte = [0u8; 1];
        let mut cbuf = [0u64; 8];
        let space = cmsg_space(fds.len());
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: msghdr is plain data; zero is a valid value.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: the control buffer (64 bytes) holds one SCM_RIGHTS header with up to
        // FACTORY_MAX_FDS descriptors; the CMSG macros stay inside it.
        unsafe {
            assert!(fds.len() <= FACTORY_MAX_FDS && space <= std::mem::size_of_val(&cbuf));
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN((4 * fds.len()) as u32) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast::<i32>(), fds.len());
        }
        loop {
            // SAFETY: msg points at live buffers set up above.
            let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
            if n == 1 {
                break;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(PlatformError::last_os("request to the stub factory"));
        }
        let mut answer = [0u8; 4];
        loop {
            // SAFETY: reads at most 4 bytes into `answer`.
            let n = unsafe { libc::recv(sock, answer.as_mut_ptr().cast(), 4, 0) };
            if n == 4 {
                break;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(PlatformError::Unsupported(
                "the stub factory is gone".into(),
            ));
        }
        let r = i32::from_ne_bytes(answer);
        if r <= 0 {
            return Err(PlatformError::Host {
                what: "fork of a stub process",
                err: std::io::Error::from_raw_os_error(-r),
            });
        }
        Ok(r)
    }
}

impl Drop for Factory {
    fn drop(&mut self) {
        // Closing our end ends the factory; it is our child, so it is reaped here.
        // SAFETY: shutting down our own socket, then waiting for our own child.
        unsafe {
            libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RDWR);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, libc::__WALL);
        }
    }
}

fn cmsg_space(fds: usize) -> usize {
    // SAFETY: CMSG_SPACE is arithmetic.
    unsafe { libc::CMSG_SPACE((4 * fds) as u32) as usize }
}

/// The factory's loop (see `Factory`).
///
/// # Safety
/// Must only be called in the child of the factory's fork.
unsafe fn serve_factory(
    sock: i32,
    parent: i32,
    filter: &[libc::sock_filter],
    spawn: &dyn Fn(&[i32]) -> i32,
) -> ! {
    // SAFETY: raw syscalls on buffers of this frame only.
    unsafe {
        libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::syscall(libc::SYS_getppid) as i32 != parent {
            libc::syscall(libc::SYS_exit_group, 0);
        }
        let name = b"runsc-factory\0";
        libc::syscall(libc::SYS_prctl, libc::PR_SET_NAME, name.as_ptr());
        // Only the socket stays open.
        if sock > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (sock - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (sock + 1) as u32, u32::MAX, 0u32);
        // Confined to what it and its stubs need (see `factory_filter`).
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        const SECCOMP_SET_MODE_FILTER: u32 = 1;
        if libc::syscall(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                0u32,
                &prog as *const libc::sock_fprog,
            ) != 0
        {
            libc::syscall(libc::SYS_exit_group, 1);
        }
        loop {
            let mut byte = [0u8; 1];
            let mut cbuf = [0u64; 8];
            let mut iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&cbuf);
            let n = libc::syscall(libc::SYS_recvmsg, sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                libc::syscall(libc::SYS_exit_group, 0);
            }
            let mut fds = [-1i32; FACTORY_MAX_FDS];
            let mut count = 0;
            let mut bad = n != 1 || msg.msg_flags & libc::MSG_CTRUNC != 0;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let len = (*c).cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize) / 4;
                    let data = libc::CMSG_DATA(c).cast::<i32>();
                    for i in 0..len {
                        let fd = data.add(i).read_unaligned();
                        if count < FACTORY_MAX_FDS {
                            fds[count] = fd;
                            count += 1;
                        } else {
                            libc::syscall(libc::SYS_close, fd);
                            bad = true;
                        }
                    }
                } else {
                    bad = true;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            let r = if bad { -libc::EINVAL } else { spawn(&fds[..count]) };
            for &fd in &fds[..count] {
                libc::syscall(libc::SYS_close, fd);
            }
            let answer = r.to_ne_bytes();
            libc::syscall(
                libc::SYS_sendto,
                sock,
                answer.as_ptr(),
                4usize,
                libc::MSG_NOSIGNAL,
                0usize,
                0usize,
            );
        }
    }
}

/// The child's common setup: unregisters rseq, dies with its parent thread, names itself
/// and closes every file descriptor except `keep_fd` (the memory file).
///
/// # Safety
/// Must only be called in the child of `raw_fork`.
pub unsafe fn child_prologue(fork: &ForkSetup, keep_fd: i32) {
    // SAFETY: raw syscalls only; on failure the child exits at once.
    unsafe {
        const RSEQ_FLAG_UNREGISTER: u64 = 1;
        const RSEQ_SIG: u64 = 0x5305_3053;
        for len in [fork.rseq_size, 32] {
            if len != 0
                && libc::syscall(
                    libc::SYS_rseq,
                    fork.rseq_area,
                    len,
                    RSEQ_FLAG_UNREGISTER,
                    RSEQ_SIG,
                ) == 0
            {
                break;
            }
        }
        libc::syscall(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::syscall(libc::SYS_getppid) as i32 != fork.parent {
            libc::syscall(libc::SYS_exit_group, 111);
        }
        let name = b"runsc-stub\0";
        libc::syscall(libc::SYS_prctl, libc::PR_SET_NAME, name.as_ptr());
        // Only the memory file stays open.
        if keep_fd > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (keep_fd - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (keep_fd + 1) as u32, u32::MAX, 0u32);
    }
}

/// Kills a stub process and reaps it.
pub fn kill_and_reap(pid: i32) {
    let mut status = 0;
    // SAFETY: `pid` is a child of this process that we have not reaped yet, so it cannot
    // have been reused.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, libc::__WALL);
    }
}
