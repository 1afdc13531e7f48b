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
    Error { msg: String },
    Ps { processes: Vec<Proc> },
    Stats { pids: usize, threads: usize },
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

pub fn recv<T: for<'de> Deserialize<'de>>(s: &mut UnixStream) -> Result<T, String> {
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

/// Sends one request to the sandbox listening at `path` and returns its answer.
pub fn call(path: &Path, req: &Request) -> Result<Response, String> {
    let mut s = UnixStream::connect(path).map_err(|e| format!("sandbox not reachable: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).ok();
    s.set_write_timeout(Some(IO_TIMEOUT)).ok();
    send(&mut s, req)?;
    match recv(&mut s)? {
        Response::Error { msg } => Err(msg),
        r => Ok(r),
    }
}

/// Serves requests on `listener` with `handle` until the process exits; a connection
/// that misbehaves is dropped.
pub fn serve(listener: UnixListener, handle: impl Fn(Request) -> Response + Send + 'static) {
    for conn in listener.incoming() {
        let Ok(mut s) = conn else { continue };
        s.set_read_timeout(Some(IO_TIMEOUT)).ok();
        s.set_write_timeout(Some(IO_TIMEOUT)).ok();
        let resp = match recv::<Request>(&mut s) {
            Ok(req) => handle(req),
            Err(e) => Response::Error { msg: e },
        };
        let _ = send(&mut s, &resp);
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
