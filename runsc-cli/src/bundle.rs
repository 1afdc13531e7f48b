//! An OCI bundle: its `config.json` read with `oci-spec`, checked, and mapped onto what
//! the sentry runs (`sentry::Config` without the root, which the gofer serves).

use crate::logging::Logger;
use oci_spec::runtime::{PosixRlimitType, Spec};
use std::path::{Path, PathBuf};

/// A checked bundle.
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    pub spec: Spec,
    /// The container's root filesystem on the host, absolute.
    pub rootfs: PathBuf,
    pub readonly: bool,
}

/// Reads and checks `<dir>/config.json`: every error is one line that names the field.
pub fn load(dir: &Path) -> Result<Bundle, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("bundle {}: {e}", dir.display()))?;
    let path = dir.join("config.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let spec: Spec = serde_json::from_slice(&text)
        .map_err(|e| format!("{}: invalid config: {e}", path.display()))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| format!("{}: no root", path.display()))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("root.path {}: not a directory", rootfs.display())),
        Err(e) => return Err(format!("root.path {}: {e}", rootfs.display())),
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| format!("{}: no process", path.display()))?;
    check_process(process)?;
    process_caps(process)?;
    if let Some(hooks) = spec.hooks() {
        for h in all_hooks(hooks) {
            if !h.path().is_absolute() {
                return Err(format!(
                    "hook path {:?} must be absolute",
                    h.path().display()
                ));
            }
        }
    }
    Ok(Bundle {
        readonly: root.readonly().unwrap_or(false),
        dir,
        spec,
        rootfs,
    })
}

/// The checks of `process` that `create` and `exec` share.
pub fn check_process(process: &oci_spec::runtime::Process) -> Result<(), String> {
    match process.args() {
        Some(a) if !a.is_empty() && !a[0].is_empty() => {}
        _ => return Err("process.args must not be empty".into()),
    }
    if !process.cwd().is_absolute() {
        return Err(format!(
            "process.cwd {:?} must be an absolute path",
            process.cwd().display()
        ));
    }
    Ok(())
}

fn all_hooks(h: &oci_spec::runtime::Hooks) -> impl Iterator<Item = &oci_spec::runtime::Hook> {
    #[allow(deprecated)]
    let prestart = h.prestart();
    [
        prestart,
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
        h.poststart(),
        h.poststop(),
    ]
    .into_iter()
    .flatten()
    .flatten()
}

/// The Linux resource number of an OCI rlimit type.
fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// The capability sets the process starts with: those of `process.capabilities` (a set
/// missing from it is empty) as runc sets them just before its execve(2), transformed
/// by that execve as Linux does (root gets its bounding and inheritable sets, anyone
/// else its ambient set; `noNewPrivileges` counts). Without the field, what a process
/// of its uid gets from a root runtime. The effective set must be within the permitted
/// one; ambient capabilities that are not both permitted and inheritable are left out,
/// as runc does.
pub fn process_caps(process: &oci_spec::runtime::Process) -> Result<sentry::caps::Caps, String> {
    let uid = process.user().uid();
    let mut caps = bundle_caps(process)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    sentry::caps::exec(&mut caps, &mut 0, uid, uid, nnp);
    Ok(caps)
}

/// `process.capabilities` exactly (see `process_caps`).
fn bundle_caps(process: &oci_spec::runtime::Process) -> Result<sentry::caps::Caps, String> {
    use sentry::caps::{Caps, bit, by_name};
    let Some(c) = process.capabilities() else {
        return Ok(Caps::for_uid(process.user().uid()));
    };
    let set = |field: &str, s: &Option<oci_spec::runtime::Capabilities>| -> Result<u64, String> {
        let mut v = 0;
        for cap in s.iter().flatten() {
            let name = cap.to_string();
            let n = by_name(&name).ok_or_else(|| {
                format!("process.capabilities.{field}: unknown capability {name}")
            })?;
            v |= bit(n);
        }
        Ok(v)
    };
    let caps = Caps {
        effective: set("effective", c.effective())?,
        permitted: set("permitted", c.permitted())?,
        inheritable: set("inheritable", c.inheritable())?,
        bounding: set("bounding", c.bounding())?,
        ambient: set("ambient", c.ambient())?,
    };
    if caps.effective & !caps.permitted != 0 {
        return Err("process.capabilities: effective capabilities must also be permitted".into());
    }
    Ok(Caps {
        ambient: caps.ambient & caps.permitted & caps.inheritable,
        ..caps
    })
}

/// The bundle's `linux.resources`, checked.
pub fn resources(b: &Bundle) -> Result<crate::control::Resources, String> {
    match b.spec.linux().as_ref().and_then(|l| l.resources().as_ref()) {
        Some(r) => {
            crate::control::Resources::from_oci(r).map_err(|e| format!("linux.resources: {e}"))
        }
        None => Ok(Default::default()),
    }
}

/// The sentry's configuration for the bundle's process (the root is set by the caller).
pub fn sentry_config(
    b: &Bundle,
    platform: &str,
    strace: bool,
    seccomp_patch: bool,
) -> Result<sentry::Config, String> {
    let process = b.spec.process().as_ref().ok_or("config.json: no process")?;
    check_process(process)?;
    let args = process.args().clone().unwrap_or_default();
    let user = process.user();
    let mut rlimits = Vec::new();
    for r in process.rlimits().iter().flatten() {
        if r.soft() > r.hard() {
            let name = serde_json::to_value(r.typ())
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(format!(
                "process.rlimits {name}: soft limit {} above hard limit {}",
                r.soft(),
                r.hard()
            ));
        }
        rlimits.push((rlimit_resource(r.typ()), r.soft(), r.hard()));
    }
    Ok(sentry::Config {
        platform: platform.to_string(),
        root: sentry::RootFs::Tmpfs,
        strace,
        seccomp_patch,
        program: args[0].clone(),
        argv: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: process
            .env()
            .iter()
            .flatten()
            .map(|e| e.as_bytes().to_vec())
            .collect(),
        cwd: process.cwd().as_os_str().as_encoded_bytes().to_vec(),
        user: Some(sentry::User {
            uid: user.uid(),
            gid: user.gid(),
            groups: user.additional_gids().clone().unwrap_or_default(),
            caps: process_caps(process)?,
            no_new_privs: process.no_new_privileges().unwrap_or(false),
        }),
        hostname: b.spec.hostname().clone(),
        rlimits,
        // Set by the sandbox process from `plan_mounts` (a bind mount needs a gofer).
        mounts: Vec::new(),
        // Set by the sandbox process from `--network`.
        network: sentry::Network::Host,
        resources: resources(b)?.initial(),
    })
}

/// A bundle mount the sandbox serves itself (the others are the sentry's own `/proc`,
/// `/sys`, `/dev`, `/tmp`, `/dev/shm`, or ignored with a log line: devpts, mqueue,
/// cgroup, bind mounts of devices, sockets and FIFOs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Planned {
    Tmpfs {
        destination: String,
        mode: u32,
        read_only: bool,
    },
    /// A host directory, served by a gofer of its own.
    Bind {
        destination: String,
        source: PathBuf,
        read_only: bool,
    },
    /// A host regular file (Docker's `/etc/hosts`, `/etc/resolv.conf`, `/etc/hostname`),
    /// served by a gofer of its own whose root is the file, mounted over a file.
    BindFile {
        destination: String,
        source: PathBuf,
        read_only: bool,
    },
}

/// The sandbox's own mounts, which bundle mounts on them stand for.
const OWN_MOUNTS: &[(&str, &str)] = &[
    ("proc", "/proc"),
    ("sysfs", "/sys"),
    ("tmpfs", "/dev"),
    ("tmpfs", "/tmp"),
    ("tmpfs", "/dev/shm"),
];

/// The bundle's mounts in order: what the sandbox serves, checked (absolute
/// destinations, existing bind sources).
pub fn plan_mounts(b: &Bundle, log: &Logger) -> Result<Vec<Planned>, String> {
    let mut out = Vec::new();
    for m in b.spec.mounts().iter().flatten() {
        let dest = m.destination().display().to_string();
        if !m.destination().is_absolute() {
            return Err(format!(
                "mount destination {dest:?} must be an absolute path"
            ));
        }
        let options = m.options().clone().unwrap_or_default();
        let read_only = options.iter().any(|o| o == "ro");
        let bind = options.iter().any(|o| o == "bind" || o == "rbind");
        let typ = m
            .typ()
            .as_deref()
            .unwrap_or(if bind { "bind" } else { "none" });
        let dest_clean = dest.trim_end_matches('/');
        if OWN_MOUNTS.contains(&(typ, dest_clean)) {
            log.info(&format!(
                "mount {typ} on {dest}: the sentry's own {dest} serves it"
            ));
            continue;
        }
        match typ {
            "tmpfs" => {
                let mode = options
                    .iter()
                    .find_map(|o| o.strip_prefix("mode="))
                    .map(|m| u32::from_str_radix(m, 8))
                    .transpose()
                    .map_err(|_| format!("mount tmpfs on {dest}: bad mode option"))?
                    .unwrap_or(0o1777);
                out.push(Planned::Tmpfs {
                    destination: dest,
                    mode,
                    read_only,
                });
            }
            "bind" | "none" if bind || typ == "bind" => {
                let source = m.source().clone().unwrap_or_default();
                let source = if source.is_absolute() {
                    source
                } else {
                    b.dir.join(source)
                };
                match std::fs::metadata(&source) {
                    Ok(md) if md.is_dir() => out.push(Planned::Bind {
                        destination: dest,
                        source,
                        read_only,
                    }),
                    Ok(md) if md.is_file() => out.push(Planned::BindFile {
                        destination: dest,
                        source,
                        read_only,
                    }),
                    Ok(_) => log.info(&format!(
                        "bind mount of {} on {dest}: ignored (only directories and regular files are served)",
                        source.display()
                    )),
                    Err(e) => {
                        return Err(format!("mount source {}: {e}", source.display()));
                    }
                }
            }
            _ => log.info(&format!(
                "mount {typ} on {dest}: ignored (the sentry has no such filesystem yet)"
            )),
        }
    }
    Ok(out)
}

/// The default `config.json` that `runsc spec` writes: oci-spec's defaults, which
/// follow runc's (`sh` in `rootfs`, a terminal, the usual mounts and namespaces).
pub fn default_spec() -> Spec {
    Spec::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(mounts: serde_json::Value) -> Bundle {
        let mut spec = serde_json::to_value(default_spec()).unwrap();
        spec["mounts"] = mounts;
        Bundle {
            dir: "/b".into(),
            spec: serde_json::from_value(spec).unwrap(),
            rootfs: "/b/rootfs".into(),
            readonly: false,
        }
    }

    fn quiet() -> Logger {
        Logger {
            file: None,
            format: crate::logging::Format::Text,
            debug: false,
        }
    }

    #[test]
    fn mounts_are_planned_in_order() {
        let tmp = std::env::temp_dir();
        let b = bundle(serde_json::json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm"},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755", "ro"]},
            {"destination": "/data", "type": "bind", "source": tmp, "options": ["rbind"]},
            {"destination": "/data2", "source": tmp, "options": ["bind", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
        ]));
        let plan = plan_mounts(&b, &quiet()).unwrap();
        assert_eq!(
            plan,
            [
                Planned::Tmpfs {
                    destination: "/run".into(),
                    mode: 0o755,
                    read_only: true
                },
                Planned::Bind {
                    destination: "/data".into(),
                    source: tmp.clone(),
                    read_only: false
                },
                Planned::Bind {
                    destination: "/data2".into(),
                    source: tmp,
                    read_only: true
                },
            ]
        );
    }

    #[test]
    fn bad_mounts_are_errors() {
        for m in [
            serde_json::json!({"destination": "rel", "type": "tmpfs"}),
            serde_json::json!({"destination": "/x", "type": "tmpfs", "options": ["mode=9z"]}),
            serde_json::json!({"destination": "/x", "type": "bind", "source": "/nonexistent/runsc"}),
        ] {
            assert!(
                plan_mounts(&bundle(serde_json::json!([m])), &quiet()).is_err(),
                "{m}"
            );
        }
    }
}
