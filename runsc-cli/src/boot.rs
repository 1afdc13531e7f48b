//! `runsc boot`: the sandbox process of one container (DESIGN.md §2, §7). Started
//! detached by `create`, it starts the gofer on the bundle's rootfs, builds the sentry
//! with the initial process loaded, listens on the control socket, and lets the process
//! run when `start` asks. It exits with the container's exit status, which it also
//! leaves in the state directory for `wait`.

use crate::control::{self, Proc, Request, Response};
use crate::oci::Globals;
use crate::state::{self, BOOT_ERROR, CONTROL_SOCKET, EXIT_STATUS};
use crate::{GOFER_CHANNELS, bundle};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

pub fn boot(g: &Globals, bundle_dir: &Path, id: &str) -> ExitCode {
    let dir = g.root.join(id);
    // Detached from the caller's session: the engine's signals to its own process group
    // do not reach the container, which is signalled through the control socket.
    let _ = nix::unistd::setsid();
    // The sandbox runs in a child. This process, whose pid is the container's (the pid
    // file), waits for it, leaves its exit status for `wait` and exits with it: the
    // child is confined to its seccomp allowlist and cannot write a file by then.
    // Its boot error comes back through a pipe, for the same reason.
    let (err_r, err_w) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("pipe for the sandbox process: {e}");
            if state::write_atomic(&dir.join(BOOT_ERROR), msg.as_bytes()).is_err() {
                eprintln!("runsc: {msg}");
            }
            return ExitCode::from(1);
        }
    };
    // Boot is the first thing `main` runs: the process has one thread.
    match crate::sandbox::fork_sandbox_process() {
        Ok(None) => {
            drop(err_r);
            run_sandbox(g, bundle_dir, &dir, std::fs::File::from(err_w))
        }
        Ok(Some(ended)) => {
            drop(err_w);
            if let Some(line) = ended.describe() {
                g.logger.error(&line);
            }
            let code = ended.code();
            // A boot that failed leaves its error for `create` instead.
            let mut msg = String::new();
            use std::io::Read;
            let _ = std::fs::File::from(err_r).read_to_string(&mut msg);
            if !msg.is_empty() {
                if state::write_atomic(&dir.join(BOOT_ERROR), msg.as_bytes()).is_err() {
                    eprintln!("runsc: {msg}");
                }
            } else {
                let _ = state::write_atomic(&dir.join(EXIT_STATUS), code.to_string().as_bytes());
            }
            ExitCode::from(code as u8)
        }
        Err(msg) => {
            if state::write_atomic(&dir.join(BOOT_ERROR), msg.as_bytes()).is_err() {
                eprintln!("runsc: {msg}");
            }
            ExitCode::from(1)
        }
    }
}

/// The sandbox process proper: prepares the sandbox, runs it once started, and exits
/// with the container's status.
fn run_sandbox(g: &Globals, bundle_dir: &Path, dir: &Path, mut errors: std::fs::File) -> ExitCode {
    match prepare(g, bundle_dir, dir) {
        Ok((sandbox, mut gofers)) => {
            drop(errors);
            let status = sandbox.run();
            gofers.iter_mut().for_each(stop_gofer);
            ExitCode::from(status.code() as u8)
        }
        Err(e) => {
            // `create` reports it (one line, in the log format it was asked for), once
            // the parent has it.
            use std::io::Write;
            let _ = errors.write_all(e.as_bytes());
            ExitCode::from(1)
        }
    }
}

/// Everything up to the initial process's first instruction.
fn prepare(
    g: &Globals,
    bundle_dir: &Path,
    dir: &Path,
) -> Result<(sentry::Sandbox, Vec<std::process::Child>), String> {
    // Before any thread exists (they inherit the blocked mask).
    let signals = crate::console::take_terminal_signals()?;
    // Detached from the caller's session: the engine's signals to its own process group
    // do not reach the container, which is signalled through the control socket. A
    // console's pty becomes our controlling terminal, so that its ^C, ^Z, ^\ and
    // resizes signal us and reach the sandbox's foreground process group.
    nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
    crate::console::acquire_controlling_terminal();
    // Read while /proc is still there.
    let tty = crate::console::controlling_terminal();
    let b = bundle::load(bundle_dir)?;
    let mut cfg = bundle::sentry_config(&b, &g.platform, g.strace, g.seccomp_patch)?;
    cfg.network = g.network;
    // A read-only root is served read-only without an upper layer; else `--overlay`.
    let (read_only, overlay) = if b.readonly {
        (true, false)
    } else {
        match g.overlay.as_str() {
            "memory" => (true, true),
            "none" => (false, false),
            other => return Err(format!("unknown --overlay {other:?} (known: memory, none)")),
        }
    };
    let exe = std::env::current_exe().map_err(|e| format!("cannot find runsc: {e}"))?;
    // Bound before the process gives up its view of the host's files; served once the
    // sandbox is built.
    let listener = control::bind(&dir.join(CONTROL_SOCKET))?;
    let mut gofers = Vec::new();
    let sandbox = match build(g, &b, &exe, (read_only, overlay), cfg, &mut gofers) {
        Ok(s) => s,
        Err(e) => {
            gofers.iter_mut().for_each(stop_gofer);
            return Err(e);
        }
    };
    let profile = crate::sandbox::Profile::new(&g.platform, g.network);
    let ctl = sandbox.control();
    crate::console::forward(signals, ctl.clone(), false, tty);
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let started = Arc::new(AtomicBool::new(false));
    let start_flag = started.clone();
    std::thread::spawn(move || {
        control::serve(listener, move |req, stream| {
            handle(&ctl, &start_flag, &start_tx, req, stream)
        })
    });
    // Confined before the application runs: every thread, including the control
    // socket's, is under the allowlist.
    crate::sandbox::install(&profile, crate::sandbox::mode_from_env())?;
    // Until `start` (or a signal that ends the initial process before it ran).
    if start_rx.recv().is_err() {
        return Err("control socket closed before start".into());
    }
    Ok((sandbox, gofers))
}

/// Channels of the gofer of a bind mount (less traffic than the root's).
const BIND_CHANNELS: usize = 2;

/// Starts the gofers (the root's, one per bind mount; into `gofers`, which the caller
/// stops on failure) and builds the sandbox on them.
fn build(
    g: &Globals,
    b: &bundle::Bundle,
    exe: &Path,
    (read_only, overlay): (bool, bool),
    mut cfg: sentry::Config,
    gofers: &mut Vec<std::process::Child>,
) -> Result<sentry::Sandbox, String> {
    let (gofer, channels) = gofer::launch::spawn(exe, &b.rootfs, read_only, GOFER_CHANNELS)
        .map_err(|e| format!("starting the gofer: {e}"))?;
    gofers.push(gofer);
    cfg.root = sentry::RootFs::Gofer { channels, overlay };
    for m in bundle::plan_mounts(b, &g.logger)? {
        cfg.mounts.push(match m {
            bundle::Planned::Tmpfs {
                destination,
                mode,
                read_only,
            } => sentry::Mount {
                destination: destination.into_bytes(),
                fs: sentry::MountFs::Tmpfs { mode },
                read_only,
            },
            bundle::Planned::Bind {
                destination,
                source,
                read_only,
            } => {
                let (gofer, channels) =
                    gofer::launch::spawn(exe, &source, read_only, BIND_CHANNELS)
                        .map_err(|e| format!("starting the gofer of {destination}: {e}"))?;
                gofers.push(gofer);
                sentry::Mount {
                    destination: destination.into_bytes(),
                    fs: sentry::MountFs::Gofer {
                        channels,
                        source: source.display().to_string(),
                    },
                    read_only,
                }
            }
            // One channel: a single file sees little traffic.
            bundle::Planned::BindFile {
                destination,
                source,
                read_only,
            } => {
                let (gofer, channels) = gofer::launch::spawn_file(exe, &source, read_only, 1)
                    .map_err(|e| format!("starting the gofer of {destination}: {e}"))?;
                gofers.push(gofer);
                sentry::Mount {
                    destination: destination.into_bytes(),
                    fs: sentry::MountFs::Gofer {
                        channels,
                        source: source.display().to_string(),
                    },
                    read_only,
                }
            }
        });
    }
    join_network_namespace(b, g.network)?;
    // The gofers have what they need; the sentry needs no host file and no capability.
    crate::sandbox::confine_sentry(&crate::sandbox::Profile::new(&g.platform, g.network))?;
    crate::sandbox::drop_capabilities()?;
    sentry::Sandbox::new(cfg).map_err(|e| e.to_string())
}

fn handle(
    ctl: &sentry::Control,
    started: &AtomicBool,
    start: &mpsc::Sender<()>,
    req: Request,
    stream: &mut UnixStream,
) -> Response {
    let err = |msg: String| Response::Error { msg };
    match req {
        Request::Ping => Response::Ok,
        Request::Start => {
            if started.swap(true, Ordering::SeqCst) {
                return err("the container was already started".into());
            }
            let _ = start.send(());
            Response::Ok
        }
        Request::Signal { signo, all } => match ctl.signal(signo, all) {
            Ok(()) => {
                // A created container killed before it ran: let it run to its end.
                if ctl.init_exiting() && !started.swap(true, Ordering::SeqCst) {
                    let _ = start.send(());
                }
                Response::Ok
            }
            Err(syscalls_table::Errno::ESRCH) => {
                err("container not running (its init has exited)".into())
            }
            Err(_) => err(format!("invalid signal {signo}")),
        },
        Request::Ps => Response::Ps {
            processes: ctl
                .processes()
                .into_iter()
                .map(|p| Proc {
                    pid: p.pid,
                    ppid: p.ppid,
                    uid: p.uid,
                    state: p.state.to_string(),
                    comm: p.comm,
                    threads: p.threads,
                })
                .collect(),
        },
        Request::Pause => {
            ctl.pause();
            Response::Ok
        }
        Request::Resume => {
            ctl.resume();
            Response::Ok
        }
        Request::Exec(p) => exec(ctl, started, p, stream),
        Request::Stats => {
            let ps = ctl.processes();
            let u = ctl.usage();
            Response::Stats {
                pids: ps.iter().filter(|p| p.state != 'Z').count(),
                threads: ps.iter().map(|p| p.threads).sum(),
                tasks: u.pids,
                pids_limit: u.pids_limit,
                memory_usage: u.memory,
                memory_limit: u.memory_limit,
            }
        }
        Request::Update(r) => match r.check() {
            Ok(()) => {
                use control::Resources;
                ctl.update_resources(
                    Resources::limit(r.memory_limit),
                    Resources::limit(r.pids_limit),
                );
                Response::Ok
            }
            Err(msg) => Response::Error { msg },
        },
    }
}

/// `exec`: starts the process with the caller's stdio, answers `Started`, and returns
/// `Exited` once it has ended.
fn exec(
    ctl: &sentry::Control,
    started: &AtomicBool,
    p: control::ExecProcess,
    stream: &mut UnixStream,
) -> Response {
    let err = |msg: String| Response::Error { msg };
    // The FDs come first, whatever happens next.
    let stdio = match control::recv_stdio(stream) {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    if !started.load(Ordering::SeqCst) {
        return err("container not running (not started)".into());
    }
    let Some(program) = p.args.first().filter(|a| !a.is_empty()).cloned() else {
        return err("process.args must not be empty".into());
    };
    let spec = sentry::ExecSpec {
        program,
        argv: p.args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        envp: p.env.iter().map(|e| e.as_bytes().to_vec()).collect(),
        cwd: p.cwd.into_bytes(),
        user: sentry::User {
            uid: p.uid,
            gid: p.gid,
            groups: p.groups,
            caps: sentry::caps::Caps {
                effective: p.caps[0],
                permitted: p.caps[1],
                inheritable: p.caps[2],
                bounding: p.caps[3],
                ambient: p.caps[4],
            },
            no_new_privs: p.no_new_privs,
        },
        stdio,
    };
    let proc = match ctl.exec(spec) {
        Ok(x) => x,
        Err(e) => return err(e.to_string()),
    };
    if control::send(stream, &Response::Started { pid: proc.pid }).is_err() {
        // The caller is gone; the process runs on.
        return Response::Ok;
    }
    Response::Exited {
        status: proc.wait().code(),
    }
}

/// Ends a gofer the sandbox is done with, and reaps it. It would exit by itself once the
/// sentry's channels close, but the control socket's thread keeps the sentry's file
/// system (and so the channels) until this process exits: waiting for that held every
/// container's end by a fixed delay. The sentry makes no request once it has ended (its
/// writes go through donated FDs), so nothing is lost.
pub fn stop_gofer(gofer: &mut std::process::Child) {
    if let Ok(None) = gofer.try_wait() {
        let _ = gofer.kill();
    }
    let _ = gofer.wait();
}

/// The bundle's network namespace (`linux.namespaces`, type `network`): with a path
/// (Docker's, with the container's bridge) the sandbox process joins it, so that
/// `--network=host` means the container's network; without one it gets a new, empty
/// one, as runc would make. Without the entry it stays in the caller's. (`--network=none`
/// leaves every host network anyway: the sandbox's loopback is its own.)
fn join_network_namespace(b: &bundle::Bundle, network: sentry::Network) -> Result<(), String> {
    use nix::sched::{CloneFlags, setns, unshare};
    use oci_spec::runtime::LinuxNamespaceType;
    if network != sentry::Network::Host {
        return Ok(());
    }
    let Some(ns) = b
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|list| list.iter().find(|n| n.typ() == LinuxNamespaceType::Network))
    else {
        return Ok(());
    };
    match ns.path() {
        Some(path) => {
            let f = std::fs::File::open(path)
                .map_err(|e| format!("network namespace {}: {e}", path.display()))?;
            setns(f, CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("joining the network namespace {}: {e}", path.display()))
        }
        None => unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("a network namespace for the container: {e}")),
    }
}
