//! `runsc do` in a terminal, as a user runs it: the test opens a pty pair, starts
//! `runsc do busybox sh -i` as a session leader whose controlling terminal is the
//! slave, and types on the master. Linux is the oracle: the same keys typed to the same
//! shell run natively give the same results (n_tty's isig, tty_do_resize).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::{BUSYBOX, TIMEOUT, available_platforms, runsc};

/// A pty pair: (master, slave).
fn openpty() -> (std::fs::File, OwnedFd) {
    // SAFETY: posix_openpt, grantpt, unlockpt and ptsname_r get a descriptor we own and
    // a buffer that lives across the call; open gets a NUL-terminated path.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(
            s >= 0,
            "opening the slave: {}",
            std::io::Error::last_os_error()
        );
        (std::fs::File::from_raw_fd(m), OwnedFd::from_raw_fd(s))
    }
}

/// The session: the sandbox on the slave, and what the master reads (`\r` dropped).
struct Session {
    child: Child,
    master: std::fs::File,
    text: Arc<Mutex<Vec<u8>>>,
    seen: usize,
    platform: String,
}

impl Session {
    fn start(platform: &str) -> Session {
        let mut cmd = Command::new(runsc());
        cmd.arg(format!("--platform={platform}"))
            .args(["do", "--", BUSYBOX, "sh", "-i"]);
        Session::start_cmd(cmd, platform)
    }

    /// `cmd` on the slave, as the session leader whose controlling terminal it is.
    fn start_cmd(mut cmd: Command, platform: &str) -> Session {
        let (master, slave) = openpty();
        cmd.env("PS1", "P> ")
            .env("TERM", "dumb")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: setsid and ioctl are async-signal-safe; TIOCSCTTY takes no pointer.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawning runsc do");
        let text = Arc::new(Mutex::new(Vec::new()));
        let (t, mut r) = (text.clone(), master.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            // EIO once every slave is closed.
            while let Ok(n @ 1..) = r.read(&mut chunk) {
                t.lock()
                    .unwrap()
                    .extend(chunk[..n].iter().filter(|&&c| c != b'\r'));
            }
        });
        Session {
            child,
            master,
            text,
            seen: 0,
            platform: platform.to_string(),
        }
    }

    /// Types `keys`, then waits until `want` appears after what earlier steps saw.
    fn step(&mut self, keys: &[u8], want: &str) {
        self.master.write_all(keys).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let text = String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned();
            if let Some(at) = text.get(self.seen..).and_then(|t| t.find(want)) {
                self.seen += at + want.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {want:?} after {:?}",
                self.platform,
                text.get(self.seen..).unwrap_or("")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one struct winsize, which lives across the call.
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(r, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ^C, ^Z and a resize typed on `runsc do`'s terminal reach the sandbox's foreground job
/// (not the shell, not the sandbox process); the shell's job control works on them.
#[test]
fn job_control_keys_under_runsc_do() {
    for p in available_platforms("job_control_keys_under_runsc_do") {
        let mut s = Session::start(&p);
        s.step(b"", "P> ");
        s.step(
            b"busybox sh -c 'echo sl\"\"eeping; exec busybox sleep 100'\n",
            "sleeping\n",
        );
        s.step(b"\x03", "P> ");
        s.step(b"echo rc=$?\n", "rc=130\n");
        s.step(
            b"busybox sh -c 'echo ca\"\"tting; exec busybox cat'\n",
            "catting\n",
        );
        s.step(b"\x1a", "Stopped");
        // Typed once the shell reads again (its line editor would take keys typed
        // earlier), and once `fg` has given cat the terminal.
        s.step(b"", "P> ");
        s.step(b"fg\n", "exec busybox cat\"\n");
        s.step(b"again\n", "again\nagain\n");
        s.step(b"\x03", "P> ");
        s.step(b"echo rc=$?\n", "rc=130\n");
        s.step(
            b"busybox sh -c 'trap \"busybox stty size\" WINCH; echo tr\"\"apped; \
              while :; do busybox sleep 1; done'\n",
            "trapped\n",
        );
        s.resize(21, 61);
        s.step(b"", "21 61\n");
        s.step(b"\x03", "P> ");
        s.step(b"exit 7\n", "exit");
        let deadline = Instant::now() + TIMEOUT;
        let st = loop {
            if let Some(st) = s.child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "{p}: runsc do did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(st.code(), Some(7), "{p}");
    }
}

/// runsc do is a job of the caller's shell: ^Z on a program that runs no job control of
/// its own stops the whole of runsc do, the shell reports the job stopped, and `fg`
/// continues it (the shell on the host is the oracle: the same keys stop and continue a
/// native cat the same way).
#[test]
fn a_stop_key_stops_runsc_do_as_a_job() {
    for p in available_platforms("a_stop_key_stops_runsc_do_as_a_job") {
        let mut sh = Command::new(BUSYBOX);
        sh.args(["sh", "-i"]);
        let mut s = Session::start_cmd(sh, &p);
        s.step(b"", "P> ");
        let line = format!(
            "{} --platform={p} do -- {BUSYBOX} sh -c 'echo ca\"\"tting; exec {BUSYBOX} cat'\n",
            runsc().display()
        );
        s.step(line.as_bytes(), "catting\n");
        s.step(b"\x1a", "Stopped");
        s.step(b"", "P> ");
        s.step(b"fg\n", "busybox cat\"\n");
        s.step(b"again\n", "again\nagain\n");
        s.step(b"\x03", "P> ");
        s.step(b"echo rc=$?\n", "rc=130\n");
    }
}
