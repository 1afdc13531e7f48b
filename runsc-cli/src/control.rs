//! The control socket between the `runsc` commands and a sandbox (`runsc boot`): a Unix
//! stream socket in the container's state directory; one request per connection, each
//! message a 4-byte big-endian length and that much JSON. Both sides treat what they
//! read as hostile: bounded lengths, unknown requests are errors, never panics.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

/// The largest message either side accepts.
const MAX_MESSAGE: usize = 1 << 20;
/// How long one side waits for the other to send a whole message.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Is the sandbox ready? (answered once it is listening)
    Ping,
    /// Let the initial process run.
    Start,
    Signal {
        signo: i32,
        all: bool,
    },
    Ps,
    Pause,
    Resume,
    Stats,
    /// A new process in the running sandbox. Its stdin, stdout and stderr follow the
    /// request as three one-byte messages carrying one FD each (`send_stdio`). The
    /// answer is `Started`, then `Exited` when it ends.
    Exec(ExecProcess),
    /// New limits (OCI `update`); only the memory and pids limits matter to the sandbox.
    Update(Resources),
}

/// A container's `linux.resources` as runsc keeps them (in its state, and on the wire to
/// the sandbox for `update`). Limits follow runc: None or 0 leaves a limit as it is, a
/// negative one removes it. Memory and pids are enforced by the sandbox; the cpu values
/// are stored and reported only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<String>,
}

impl Resources {
    /// Reads and checks `linux.resources` (each error one line naming the field).
    pub fn from_oci(r: &oci_spec::runtime::LinuxResources) -> Result<Resources, String> {
        let mut out = Resources::default();
        if let Some(m) = r.memory() {
            out.memory_limit = m.limit();
        }
        if let Some(p) = r.pids() {
            out.pids_limit = Some(p.limit());
        }
        if let Some(c) = r.cpu() {
            out.cpu_shares = c.shares();
            out.cpu_quota = c.quota();
            out.cpu_period = c.period();
            out.cpuset_cpus = c.cpus().clone();
        }
        out.check()?;
        Ok(out)
    }

    /// Values the kernel would refuse are errors (cgroup v1/v2 ranges).
    pub fn check(&self) -> Result<(), String> {
        if let Some(m) = self.memory_limit
            && m < -1
        {
            return Err(format!("memory limit {m}: want bytes, or -1 for no limit"));
        }
        if let Some(s) = self.cpu_shares
            && s != 0
            && !(2..=262_144).contains(&s)
        {
            return Err(format!("cpu shares {s}: want 2 to 262144"));
        }
        if let Some(p) = self.cpu_period
            && p != 0
            && !(1000..=1_000_000).contains(&p)
        {
            return Err(format!("cpu period {p}: want 1000 to 1000000 microseconds"));
        }
        if let Some(q) = self.cpu_quota
            && q != 0
            && q != -1
            && q < 1000
        {
            return Err(format!(
                "cpu quota {q}: want at least 1000 microseconds, or -1"
            ));
        }
        if let Some(c) = &self.cpuset_cpus
            && !valid_cpu_list(c)
        {
            return Err(format!("cpuset cpus {c:?}: want a list like 0-3,5"));
        }
        Ok(())
    }

    /// `other`'s values replace these where it has one (what `update` does).
    pub fn merge(&mut self, other: &Resources) {
        fn set<T: Clone>(a: &mut Option<T>, b: &Option<T>) {
            if b.is_some() {
                a.clone_from(b);
            }
        }
        let keep = |v: Option<i64>| v.filter(|&x| x != 0);
        if let Some(m) = keep(other.memory_limit) {
            self.memory_limit = Some(m);
        }
        if let Some(p) = keep(other.pids_limit) {
            self.pids_limit = Some(p);
        }
        set(&mut self.cpu_shares, &other.cpu_shares);
        set(&mut self.cpu_quota, &other.cpu_quota);
        set(&mut self.cpu_period, &other.cpu_period);
        set(&mut self.cpuset_cpus, &other.cpuset_cpus);
    }

    /// A limit as the sandbox takes it: None leaves it, Some(None) removes it.
    pub fn limit(v: Option<i64>) -> Option<Option<u64>> {
        match v {
            None | Some(0) => None,
            Some(n) if n < 0 => Some(None),
            Some(n) => Some(Some(n as u64)),
        }
    }

    /// The limits a new sandbox starts with.
    pub fn initial(&self) -> sentry::Resources {
        sentry::Resources {
            memory: Resources::limit(self.memory_limit).flatten(),
            pids: Resources::limit(self.pids_limit).flatten(),
        }
    }
}

/// A cpuset list: comma-separated numbers and ranges (`0-3,5`).
fn valid_cpu_list(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|part| {
            let mut ends = part.splitn(2, '-').map(|n| n.parse::<u32>());
            match (ends.next(), ends.next()) {
                (Some(Ok(_)), None) => true,
                (Some(Ok(a)), Some(Ok(b))) => a <= b,
                _ => false,
            }
        })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecProcess {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    /// Capability sets: effective, permitted, inheritable, bounding, ambient.
    pub caps: [u64; 5],
    #[serde(default)]
    pub no_new_privs: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proc {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub state: String,
    pub comm: String,
    pub threads: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    Ok,
    Error {
        msg: String,
    },
    Ps {
        processes: Vec<Proc>,
    },
    Stats {
        pids: usize,
        threads: usize,
        /// Tasks as the pids cgroup counts them, and its limit.
        #[serde(default)]
        tasks: u64,
        #[serde(default)]
        pids_limit: Option<u64>,
        /// Bytes of application memory in use, and the limit.
        #[serde(default)]
        memory_usage: u64,
        #[serde(default)]
        memory_limit: Option<u64>,
    },
    Started {
        pid: i32,
    },
    Exited {
        status: i32,
    },
}

pub fn send<T: Serialize>(s: &mut UnixStream, msg: &T) -> Result<(), String> {
    let body = serde_json::to_vec(msg).map_err(|e| e.to_string())?;
    if body.len() > MAX_MESSAGE {
        return Err("control message too large".into());
    }
    let mut buf = (body.len() as u32).to_be_bytes().to_vec();
    buf.extend_from_slice(&body);
    s.write_all(&buf)
        .map_err(|e| format!("control socket: {e}"))
}

pub fn recv<T: for<'de> Deserialize<'de>>(s: &mut impl Read) -> Result<T, String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)
        .map_err(|e| format!("control socket: {e}"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(format!("control message of {len} bytes refused"));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)
        .map_err(|e| format!("control socket: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("bad control message: {e}"))
}

/// Listens at `path` (the sandbox side).
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    via_short_path(path, |p| UnixListener::bind(p)).map_err(|e| format!("control socket: {e}"))
}

/// Runs `op` on `path`, or, when `path` is too long for a socket address (108 bytes:
/// an engine's state root plus a 64-character id can pass it), on the same file named
/// through an open FD of its directory (`/proc/self/fd/N/NAME`).
fn via_short_path<T>(path: &Path, op: impl Fn(&Path) -> std::io::Result<T>) -> std::io::Result<T> {
    const SUN_PATH_MAX: usize = 107;
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return op(path);
    }
    use std::os::fd::AsRawFd;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return op(path);
    };
    let d = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd")
        .join(d.as_raw_fd().to_string())
        .join(name);
    op(&short)
}

/// Connects to the sandbox listening at `path`.
pub fn connect(path: &Path) -> Result<UnixStream, String> {
    let s = via_short_path(path, |p| UnixStream::connect(p))
        .map_err(|e| format!("sandbox not reachable: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok();
    s.set_write_timeout(Some(IO_TIMEOUT)).ok();
    Ok(s)
}

/// Sends one request to the sandbox listening at `path` and returns its answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, String> {
    let mut s = connect(path)?;
    send(&mut s, req)?;
    answer(&mut s)
}

/// The next answer on `s`; an `Error` answer is the error.
pub fn answer(s: &mut impl Read) -> Result<Response, String> {
    match recv(s)? {
        Response::Error { msg } => Err(msg),
        r => Ok(r),
    }
}

/// Sends the stdin, stdout and stderr of an `Exec` request, after it.
pub fn send_stdio(s: &UnixStream, stdio: [std::os::fd::BorrowedFd<'_>; 3]) -> Result<(), String> {
    use std::os::fd::AsFd;
    for fd in stdio {
        gofer::fdpass::send_msg(s.as_fd(), &[0], Some(fd))
            .map_err(|e| format!("control socket: passing stdio: {e:?}"))?;
    }
    Ok(())
}

/// Receives the three stdio FDs of an `Exec` request: exactly one FD per one-byte
/// message, or an error.
pub fn recv_stdio(s: &UnixStream) -> Result<[std::os::fd::OwnedFd; 3], String> {
    use std::os::fd::AsFd;
    let mut got = Vec::new();
    for _ in 0..3 {
        let mut b = [0u8; 1];
        let r = gofer::fdpass::recv_msg(s.as_fd(), &mut b)
            .map_err(|e| format!("control socket: receiving stdio: {e:?}"))?;
        let n = r.fds.len();
        if r.len != 1 || r.truncated || n != 1 {
            return Err(format!(
                "control socket: want one FD per stdio message, got {n} in {} bytes",
                r.len
            ));
        }
        got.extend(r.fds);
    }
    got.try_into()
        .map_err(|_| "control socket: stdio FDs missing".to_string())
}

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// Serves requests on `listener` with `handle` (which may answer more than once on the
/// stream, and returns the final answer) until the process exits, one thread per
/// connection; a connection that misbehaves is dropped.
pub fn serve(
    listener: UnixListener,
    handle: impl Fn(Request, &mut UnixStream) -> Response + Send + Sync + 'static,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let handle = Arc::new(handle);
    let live = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        while live.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            std::thread::sleep(Duration::from_millis(5));
        }
        s.set_read_timeout(Some(IO_TIMEOUT)).ok();
        s.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let (handle, live2) = (handle.clone(), live.clone());
        live.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                let resp = match recv::<Request>(&mut s) {
                    Ok(req) => handle(req, &mut s),
                    Err(e) => Response::Error { msg: e },
                };
                let _ = send(&mut s, &resp);
                live2.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_messages_are_errors() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&u32::MAX.to_be_bytes()).unwrap();
        assert!(recv::<Request>(&mut b).unwrap_err().contains("refused"));
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let body = br#"{"op":"format_disk"}"#;
        a.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
        a.write_all(body).unwrap();
        assert!(recv::<Request>(&mut b).is_err());
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&[0, 0]).unwrap();
        drop(a);
        assert!(recv::<Request>(&mut b).is_err());
    }

    #[test]
    fn exec_stdio_must_be_one_fd_per_message() {
        // Bytes without FDs.
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[0, 0, 0]).unwrap();
        assert!(recv_stdio(&b).unwrap_err().contains("one FD"));
        // The caller hangs up half-way.
        let (a, b) = UnixStream::pair().unwrap();
        use std::os::fd::AsFd;
        let stdin = std::io::stdin();
        gofer::fdpass::send_msg(a.as_fd(), &[0], Some(stdin.as_fd())).unwrap();
        drop(a);
        assert!(recv_stdio(&b).is_err());
        // Three FDs as sent by send_stdio.
        let (a, b) = UnixStream::pair().unwrap();
        let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
        send_stdio(&a, [i.as_fd(), o.as_fd(), e.as_fd()]).unwrap();
        assert_eq!(recv_stdio(&b).unwrap().len(), 3);
    }

    #[test]
    fn long_socket_paths_work() {
        let base = std::env::temp_dir().join(format!("runsc-ctl-{}", std::process::id()));
        let dir = base.join("x".repeat(60)).join("y".repeat(60));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("control.sock");
        assert!(path.as_os_str().len() > 108);
        let l = bind(&path).unwrap();
        assert!(path.exists(), "the socket is made in the real directory");
        let t = std::thread::spawn(move || {
            serve(l, |req, _| match req {
                Request::Ping => Response::Ok,
                _ => Response::Error { msg: "no".into() },
            })
        });
        assert_eq!(call(&path, &Request::Ping), Ok(Response::Ok));
        drop(t);
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn round_trip() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let r = Request::Signal {
            signo: 15,
            all: true,
        };
        send(&mut a, &r).unwrap();
        assert_eq!(recv::<Request>(&mut b).unwrap(), r);
    }
}

#[cfg(test)]
mod resource_tests {
    use super::*;

    #[test]
    fn limits_follow_runc() {
        assert_eq!(Resources::limit(None), None);
        assert_eq!(Resources::limit(Some(0)), None);
        assert_eq!(Resources::limit(Some(-1)), Some(None));
        assert_eq!(Resources::limit(Some(4096)), Some(Some(4096)));
    }

    #[test]
    fn update_merges_and_checks() {
        let mut r = Resources {
            memory_limit: Some(1 << 20),
            pids_limit: Some(10),
            ..Default::default()
        };
        r.merge(&Resources {
            pids_limit: Some(20),
            memory_limit: Some(0),
            cpu_shares: Some(512),
            ..Default::default()
        });
        assert_eq!(r.memory_limit, Some(1 << 20), "0 leaves the limit");
        assert_eq!((r.pids_limit, r.cpu_shares), (Some(20), Some(512)));
        assert!(r.check().is_ok());
        let bad = |r: Resources| r.check().is_err();
        assert!(bad(Resources {
            memory_limit: Some(-2),
            ..Default::default()
        }));
        assert!(bad(Resources {
            cpu_period: Some(10),
            ..Default::default()
        }));
        assert!(bad(Resources {
            cpu_quota: Some(5),
            ..Default::default()
        }));
        assert!(bad(Resources {
            cpuset_cpus: Some("3-1".into()),
            ..Default::default()
        }));
        assert!(bad(Resources {
            cpuset_cpus: Some("x".into()),
            ..Default::default()
        }));
        assert!(valid_cpu_list("0-3,5"));
    }
}
