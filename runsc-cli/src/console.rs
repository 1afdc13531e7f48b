//! The console of a process with a terminal (`process.terminal`, `exec --tty`): a host
//! pty pair whose master goes to the engine over `--console-socket` and whose slave is
//! the process's stdin, stdout and stderr, served by the sentry as a host terminal.

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

#[cfg(test)]
mod tests {
    use super::*;

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
