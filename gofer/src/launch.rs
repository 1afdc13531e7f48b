//! Starting a gofer process next to the sentry: socket pairs for its channels, the
//! `runsc gofer` command line, and the gofer's tie to its parent's life.

use crate::sys::channel_pair;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Spawns `exe gofer --root ROOT [--read-only] --fds A,B,...` with `channels` channels
/// and returns the child and the sentry's ends.
pub fn spawn(
    exe: &Path,
    root: &Path,
    read_only: bool,
    channels: usize,
) -> io::Result<(Child, Vec<OwnedFd>)> {
    spawn_with(exe, root, None, read_only, channels)
}

/// `spawn` for a gofer that serves the one regular file `file` (`--root` its directory,
/// `--file` its name; see `server::serve_file`).
pub fn spawn_file(
    exe: &Path,
    file: &Path,
    read_only: bool,
    channels: usize,
) -> io::Result<(Child, Vec<OwnedFd>)> {
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", file.display()),
        ));
    };
    spawn_with(exe, dir, Some(name), read_only, channels)
}

fn spawn_with(
    exe: &Path,
    root: &Path,
    file: Option<&std::ffi::OsStr>,
    read_only: bool,
    channels: usize,
) -> io::Result<(Child, Vec<OwnedFd>)> {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..channels.max(1) {
        let (a, b) = channel_pair()?;
        // The gofer's end must survive exec.
        // SAFETY: F_SETFD with an int argument on a descriptor we own.
        if unsafe { libc::fcntl(b.as_raw_fd(), libc::F_SETFD, 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        ours.push(a);
        theirs.push(b);
    }
    let fds: Vec<String> = theirs.iter().map(|f| f.as_raw_fd().to_string()).collect();
    let mut cmd = Command::new(exe);
    cmd.arg("gofer")
        .arg("--root")
        .arg(root)
        .arg("--fds")
        .arg(fds.join(","));
    if let Some(name) = file {
        cmd.arg("--file").arg(name);
    }
    if read_only {
        cmd.arg("--read-only");
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let child = cmd.spawn();
    // Our copies of the gofer's ends close here whatever happened.
    drop(theirs);
    Ok((child?, ours))
}

/// Makes the calling gofer process die when its parent (the runsc that started it)
/// does. (It also exits when every channel has closed, which is the normal way.)
pub fn die_with_parent() {
    // SAFETY: a process-attribute syscall without pointers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}
