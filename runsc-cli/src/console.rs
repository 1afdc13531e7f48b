//! The console of a process with a terminal (`process.terminal`, `exec --tty`): a host
//! pty pair whose master goes to the engine over `--console-socket` and whose slave is
//! the process's stdin, stdout and stderr, served by the sentry as a host terminal; and
//! the signals a host terminal generates for the sandbox process (^C, ^Z, ^\\, a resize,
//! a hangup), passed on to the sandbox's foreground process group of that terminal.

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Opens a pty pair, sends the master over the unix socket at `socket` (one message
/// whose data is the slave's name and whose `SCM_RIGHTS` is the master, as engines
/// expect from runc) and returns the slave. The socket path is the caller's input: any
/// failure is an error line.
pub fn open(socket: &Path) -> Result<OwnedFd, String> {
    let pty = nix::pty::openpty(None, None).map_err(|e| format!("opening a pty: {e}"))?;
    let name = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
    ))
    .map(|p| p.into_os_string().into_encoded_bytes())
    .unwrap_or_else(|_| b"/dev/pts".to_vec());
    let s = UnixStream::connect(socket)
        .map_err(|e| format!("--console-socket {}: {e}", socket.display()))?;
    gofer::fdpass::send_msg(s.as_fd(), &name, Some(pty.master.as_fd())).map_err(|e| {
        format!(
            "--console-socket {}: sending the pty: {e:?}",
            socket.display()
        )
    })?;
    // The engine has its own copy of the master now; ours closes here.
    Ok(pty.slave)
}

/// The three stdio descriptors of a process whose terminal is `slave`.
pub fn stdio(slave: &OwnedFd) -> Result<[OwnedFd; 3], String> {
    let dup = || slave.try_clone().map_err(|e| format!("the pty: {e}"));
    Ok([dup()?, dup()?, dup()?])
}

/// The signals a terminal's line discipline sends its foreground process group (or, for
/// a hangup, its session leader).
const TERMINAL_SIGNALS: [Signal; 5] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTSTP,
    Signal::SIGWINCH,
    Signal::SIGHUP,
];

/// The terminal signals of the sandbox process, taken before any thread exists: blocked
/// (every thread made later inherits the mask) so that only `forward` reads them, and
/// ignored, so that the other processes of our process group that a terminal signals
/// with us (the gofer, the platform's stub processes) are not stopped or killed.
pub fn take_terminal_signals() -> Result<SignalFd, String> {
    let set: SigSet = TERMINAL_SIGNALS.into_iter().collect();
    set.thread_block()
        .map_err(|e| format!("blocking the terminal signals: {e}"))?;
    for s in TERMINAL_SIGNALS {
        sentry::host::ignore_signal(s as i32).map_err(|e| format!("ignoring {s}: {e:?}"))?;
    }
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd of the terminal signals: {e}"))
}

/// The host device number of our controlling terminal (`tty_nr` of /proc/self/stat,
/// which has the encoding of `st_rdev`), 0 when there is none.
pub fn controlling_terminal() -> u64 {
    std::fs::read_to_string("/proc/self/stat").map_or(0, |s| tty_nr(&s))
}

/// The `tty_nr` field (the 7th) of a /proc/PID/stat line; 0 if it is not there.
fn tty_nr(stat: &str) -> u64 {
    // The fields after the command name, which is in parentheses and may hold any byte.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(4))
        .and_then(|f| f.parse::<i64>().ok())
        .map_or(0, |n| n as u32 as u64)
}

/// Makes the host terminal on our stdin our controlling terminal, when we lead a session
/// that has none (Linux gives it to a session leader that opens it without O_NOCTTY):
/// its line discipline then signals us, the foreground process group, for ^C, ^Z, ^\\,
/// a resize and a hangup. A terminal that is another session's stays that session's.
pub fn acquire_controlling_terminal() {
    if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/proc/self/fd/0");
    }
}

/// Passes on, from a thread, each terminal signal the sandbox process gets: one the
/// kernel generated (SI_KERNEL: a terminal's line discipline) goes where Linux's tty
/// layer would send it inside the sandbox; one sent with kill(2) from outside goes to
/// the initial process, as `runsc kill` sends it.
///
/// With `whole_job` (runsc do, which is a job of the caller's shell), a stop key (^Z)
/// that no job control inside the sandbox handles also stops us and our host process
/// group (the gofer, the stubs), so that the caller's shell gets the terminal back and
/// reports the job stopped, as it would the program run natively; once the shell
/// continues us, the sandbox gets SIGCONT.
/// `tty` is `controlling_terminal()`, read before the process gave up /proc.
pub fn forward(signals: SignalFd, ctl: sentry::Control, whole_job: bool, tty: u64) {
    ctl.set_controlling_terminal(tty);
    // Weak: the sandbox's files (its gofer channels) close when it ends.
    let weak = ctl.downgrade();
    drop(ctl);
    std::thread::spawn(move || {
        const SI_KERNEL: i32 = 0x80;
        while let Ok(info) = signals.read_signal() {
            let Some(info) = info else { continue };
            let Some(ctl) = weak.upgrade() else { return };
            let signo = info.ssi_signo as i32;
            if info.ssi_code == SI_KERNEL {
                let alone = !ctl.terminal_job_control();
                ctl.terminal_signal(signo);
                if whole_job && alone && signo == Signal::SIGTSTP as i32 {
                    let me = nix::unistd::getpgrp();
                    if nix::sys::signal::killpg(me, Signal::SIGSTOP).is_ok() {
                        ctl.terminal_signal(Signal::SIGCONT as i32);
                    }
                }
            } else {
                let _ = ctl.signal(signo, false);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_nr_is_the_seventh_field() {
        // pid (comm) state ppid pgrp session tty_nr …, with a comm that looks like fields.
        let line = "42 (a) b) 1 2 3) S 1 42 42 34816 42 4194560 0 0";
        assert_eq!(tty_nr(line), 34816);
        assert_eq!(tty_nr("42 (x) S 1 42 42 0 -1 0"), 0);
        assert_eq!(tty_nr("garbage"), 0);
        assert_eq!(tty_nr("1 (x) S 1"), 0);
    }

    #[test]
    fn the_master_reaches_the_socket() {
        let dir = std::env::temp_dir().join(format!("runsc-console-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (c, _) = l.accept().unwrap();
            let mut b = [0u8; 256];
            let r = gofer::fdpass::recv_msg(c.as_fd(), &mut b).unwrap();
            (b[..r.len].to_vec(), r.fds)
        });
        let slave = open(&path).unwrap();
        let (name, fds) = t.join().unwrap();
        assert!(name.starts_with(b"/dev/pts/"), "{name:?}");
        assert_eq!(fds.len(), 1);
        // What the slave writes, the master reads.
        let mut w = std::fs::File::from(slave);
        std::io::Write::write_all(&mut w, b"x").unwrap();
        let mut r = std::fs::File::from(fds.into_iter().next().unwrap());
        let mut b = [0u8; 1];
        std::io::Read::read_exact(&mut r, &mut b).unwrap();
        assert_eq!(&b, b"x");
        // A socket that is not there is an error, not a panic.
        assert!(open(&dir.join("missing")).is_err());
        assert!(open(Path::new(&"x".repeat(200))).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
