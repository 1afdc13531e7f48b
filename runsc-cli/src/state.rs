//! Container state under `--root`: one directory per container holding `state.json`
//! (written atomically: a temporary file renamed over it), the sandbox's control socket
//! and, once the sandbox has ended, its exit status. Commands that change a container
//! hold an exclusive flock on its directory, so concurrent invocations are safe.

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const OCI_VERSION: &str = "1.1.0";

/// What `state.json` holds: the OCI state plus what later commands need.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub oci_version: String,
    pub id: String,
    /// creating, created, running or paused as last recorded; `status()` says whether
    /// the sandbox is still there.
    pub status: String,
    /// The sandbox process (0 while it is being created).
    pub pid: i32,
    /// The sandbox process's start time (field 22 of /proc/PID/stat), against pid reuse.
    #[serde(default)]
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// `linux.resources` as created and updated since (`runsc update`).
    #[serde(default)]
    pub resources: crate::control::Resources,
}

impl Container {
    /// The status as OCI defines it now: `stopped` once the sandbox process is gone.
    pub fn status(&self) -> &str {
        // A sandbox being created has no pid yet; any other without a live one ended.
        let creating = self.status == "creating" && self.pid == 0;
        if !creating && (self.pid <= 0 || !alive(self.pid, self.pid_start)) {
            return "stopped";
        }
        &self.status
    }

    /// The OCI state JSON (`runc state`).
    pub fn oci_state(&self) -> serde_json::Value {
        let status = self.status();
        let pid = if status == "stopped" { 0 } else { self.pid };
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "pid": pid,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "annotations": self.annotations,
        })
    }
}

/// The start time of process `pid`, None if there is no such process or it is a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

pub fn alive(pid: i32, start: u64) -> bool {
    start_time(pid).is_some_and(|s| start == 0 || s == start)
}

/// A container id: what runc accepts, so it is one safe path component.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid container id {id:?}"))
    }
}

/// The state root (`--root`).
pub struct Root {
    pub dir: PathBuf,
}

/// A container's directory, locked.
pub struct Locked {
    pub dir: PathBuf,
    _lock: Flock<File>,
}

impl Root {
    pub fn new(dir: &Path) -> Result<Root, String> {
        let dir = std::path::absolute(dir).map_err(|e| format!("--root: {e}"))?;
        std::fs::create_dir_all(&dir).map_err(|e| format!("--root {}: {e}", dir.display()))?;
        Ok(Root { dir })
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Makes the directory of a new container and locks it; an error if the id is
    /// taken.
    pub fn create(&self, id: &str) -> Result<Locked, String> {
        check_id(id)?;
        let dir = self.container_dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!("container {id:?} already exists"));
            }
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
        lock(&dir, id)
    }

    /// Locks an existing container's directory and reads its state.
    pub fn open(&self, id: &str) -> Result<(Locked, Container), String> {
        check_id(id)?;
        let dir = self.container_dir(id);
        let l = lock(&dir, id)?;
        // A delete may have removed it while we waited for the lock.
        let c = read_state(&dir, id)?;
        Ok((l, c))
    }

    /// Reads a container's state without the lock (the file is replaced atomically).
    pub fn peek(&self, id: &str) -> Result<Container, String> {
        check_id(id)?;
        read_state(&self.container_dir(id), id)
    }

    /// The ids of every container, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        v.sort();
        v
    }
}

fn lock(dir: &Path, id: &str) -> Result<Locked, String> {
    let f = File::open(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("container {id:?} does not exist"),
        _ => format!("{}: {e}", dir.display()),
    })?;
    let lock = Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("locking {}: {e}", dir.display()))?;
    Ok(Locked {
        dir: dir.to_path_buf(),
        _lock: lock,
    })
}

fn read_state(dir: &Path, id: &str) -> Result<Container, String> {
    let path = dir.join("state.json");
    let text = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("container {id:?} does not exist"),
        _ => format!("{}: {e}", path.display()),
    })?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

impl Locked {
    /// Replaces `state.json` atomically.
    pub fn save(&self, c: &Container) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(c).map_err(|e| e.to_string())?;
        write_atomic(&self.dir.join("state.json"), &text)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join(CONTROL_SOCKET)
    }

    /// Removes the container's directory (the lock goes with it).
    pub fn remove(self) -> Result<(), String> {
        std::fs::remove_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))
    }
}

pub const CONTROL_SOCKET: &str = "control.sock";
pub const EXIT_STATUS: &str = "exit-status";
pub const BOOT_ERROR: &str = "boot-error";

/// Writes `path` by writing a temporary file beside it and renaming it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let r = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    r.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_safe_path_component() {
        for ok in ["a", "abc-1_2.3+x", "0123456789abcdef"] {
            assert!(check_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "a b", "x\n", "é"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn liveness_checks_the_start_time() {
        let me = std::process::id() as i32;
        let start = start_time(me).expect("our own stat");
        assert!(alive(me, start));
        assert!(!alive(me, start + 1), "a reused pid is not the sandbox");
        assert!(!alive(i32::MAX, 0));
    }

    fn container(status: &str, pid: i32) -> Container {
        Container {
            oci_version: OCI_VERSION.into(),
            id: "c".into(),
            status: status.into(),
            pid,
            pid_start: 0,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            annotations: Default::default(),
            hooks: None,
            resources: Default::default(),
        }
    }

    #[test]
    fn status_is_stopped_once_the_sandbox_is_gone() {
        assert_eq!(container("creating", 0).status(), "creating");
        assert_eq!(container("running", 0).status(), "stopped");
        assert_eq!(container("running", i32::MAX).status(), "stopped");
        let me = std::process::id() as i32;
        assert_eq!(container("paused", me).status(), "paused");
        let st = container("running", i32::MAX).oci_state();
        assert_eq!(st["status"], "stopped");
        assert_eq!(st["pid"], 0);
    }

    #[test]
    fn state_files_are_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("runsc-state-unit-{}", std::process::id()));
        let root = Root::new(&dir).unwrap();
        let l = root.create("c1").unwrap();
        assert!(root.create("c1").err().unwrap().contains("already exists"));
        l.save(&container("created", 0)).unwrap();
        assert_eq!(root.peek("c1").unwrap().status, "created");
        assert_eq!(root.ids(), ["c1"]);
        let left: Vec<_> = std::fs::read_dir(dir.join("c1"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
        l.remove().unwrap();
        assert!(root.peek("c1").unwrap_err().contains("does not exist"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
