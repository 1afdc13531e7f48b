//! Runs a measured program with a time limit and captures what it prints; parses the
//! `key=value` figures our C programs print. Programs time themselves, so polling for
//! exit here adds nothing to a figure.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Error, Result};

/// What a finished program printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` in its own process group; kills the whole group if it is still running
/// after `limit`. Fails, with one line saying why, unless it exits with status 0.
pub fn run_with_limit(cmd: Command, what: &str, limit: Duration) -> Result<Output> {
    let (status, out) = run_to_exit(cmd, what, limit)?;
    if !status.success() {
        let why = last_line(&out.stderr)
            .or_else(|| last_line(&out.stdout))
            .unwrap_or("(no output)");
        return Err(Error::Run(format!("{what}: {status}: {why}")));
    }
    Ok(out)
}

/// As `run_with_limit`, but a program that ran to its end, whatever its status, is not
/// an error: the caller judges the status and the output.
pub fn run_to_exit(mut cmd: Command, what: &str, limit: Duration) -> Result<(ExitStatus, Output)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("start {what}"), e))?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let start = Instant::now();
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                kill_group(child.id());
                let _ = child.wait();
                // Readers are left behind: a process that escaped the group may hold
                // the pipes open, and the error below is all the row needs.
                return Err(Error::Run(format!(
                    "{what}: timed out after {:.0?}, killed",
                    limit
                )));
            }
            Err(e) => return Err(Error::io(format!("wait for {what}"), e)),
        }
    };
    // Members of the group that outlived the leader would hold the pipes open.
    kill_group(child.id());
    let out = Output {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    Ok((status, out))
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

fn kill_group(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours. The group is
    // the one created for our child (process_group(0) makes its id the child's pid),
    // and the kernel does not reuse a pid while a process group of that id lives.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

pub fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty())
}

/// The finite number printed as `key=NUMBER` in `text`, e.g. `ns_per_call=` in
/// `iters=100 ns_per_call=20.5 checksum=7`.
pub fn field(text: &str, key: &str) -> Result<f64> {
    let value = raw_field(text, key)?;
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| Error::Run(format!("bad number after `{key}`: {value}")))
}

/// The unsigned integer printed as `key=NUMBER` in `text`.
pub fn field_u64(text: &str, key: &str) -> Result<u64> {
    let value = raw_field(text, key)?;
    value
        .parse::<u64>()
        .map_err(|_| Error::Run(format!("bad integer after `{key}`: {value}")))
}

fn raw_field<'a>(text: &'a str, key: &str) -> Result<&'a str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix(key))
        .ok_or_else(|| {
            Error::Run(format!(
                "no `{key}` in output: {}",
                last_line(text).unwrap_or("(empty)")
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_finds_value() {
        let text = "iters=100 ns_per_call=20.5 checksum=7\n";
        assert_eq!(field(text, "ns_per_call=").unwrap(), 20.5);
        assert_eq!(field_u64(text, "checksum=").unwrap(), 7);
    }

    #[test]
    fn field_missing_or_bad_is_error() {
        assert!(field("hello", "ns_per_call=").is_err());
        assert!(field("ns_per_call=abc", "ns_per_call=").is_err());
    }

    #[test]
    fn failing_program_reports_its_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo first >&2; echo 'it broke' >&2; exit 3"]);
        let err = run_with_limit(cmd, "sh", Duration::from_secs(10))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("it broke"), "{err}");
    }

    #[test]
    fn hung_program_is_killed() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let err = run_with_limit(cmd, "sleep", Duration::from_millis(100))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("timed out"), "{err}");
    }
}
