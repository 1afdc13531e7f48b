//! The sandbox kernel: state shared by all tasks of one sandbox (platform, memory file,
//! options) and `run`, which loads the initial program and runs it to its exit.

use crate::fd::FdTable;
use crate::loader::{self, Image, LoadError};
use crate::mm::memfile::MemoryFile;
use crate::mm::{MemoryManager, page_down};
use crate::task::{Creds, SigAction, SignalState, Task};
use crate::{host, log};
use platform::{CpuState, Platform, PlatformError, Regs};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Size of the memory file: the most application memory one sandbox can hold.
const MEMORY_FILE_SIZE: u64 = 64 << 30;

/// How a thread group ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The exit code a shell reports: the status, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c & 0xff,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

pub struct Config {
    pub platform: String,
    pub strace: bool,
    /// Host path of the program.
    pub program: String,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("platform {0}: {1}")]
    Platform(String, PlatformError),
    #[error("memory file: {0}")]
    MemoryFile(std::io::Error),
}

/// State shared by every task of a sandbox.
pub struct Kernel {
    pub platform: Arc<dyn Platform>,
    pub memfile: Arc<MemoryFile>,
    pub strace: bool,
    /// The initial program's path as `/proc/self/exe` shows it.
    pub exe: Vec<u8>,
    pub cwd: Vec<u8>,
    /// Syscall numbers already reported as unsupported (each is logged once).
    pub unsupported_logged: Mutex<HashSet<u64>>,
}

/// Loads and runs `cfg.program` in a new sandbox on the calling thread; returns how it
/// ended.
pub fn run(cfg: Config) -> Result<ExitStatus, Error> {
    let path = cfg.program.clone();
    let meta = std::fs::metadata(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(path.clone()),
        std::io::ErrorKind::PermissionDenied => LoadError::PermissionDenied(path.clone()),
        _ => LoadError::Io(path.clone(), e),
    })?;
    if meta.is_dir() {
        return Err(LoadError::IsDirectory(path).into());
    }
    let data = std::fs::read(&path).map_err(|e| LoadError::Io(path.clone(), e))?;
    loader::parse(&path, &data)?;
    let exe = std::fs::canonicalize(&path).map_err(|e| LoadError::Io(path.clone(), e))?;

    let memfile = Arc::new(MemoryFile::new(MEMORY_FILE_SIZE).map_err(Error::MemoryFile)?);
    let platform = platform::new_platform(&cfg.platform, memfile.fd())
        .map_err(|e| Error::Platform(cfg.platform.clone(), e))?;
    let perr = |e| Error::Platform(cfg.platform.clone(), e);
    let aspace = platform.new_address_space().map_err(perr)?;
    let ctx = platform.new_context().map_err(perr)?;
    let mm = Arc::new(MemoryManager::new(
        aspace,
        memfile.clone(),
        platform.min_user_addr(),
        platform.max_user_addr(),
    ));

    let ids = host::ids();
    // Read the host's auxiliary vector now, while the sentry may still open files.
    host::getauxval(0);
    let mut rlimits = [(0u64, 0u64); 16];
    for (i, r) in rlimits.iter_mut().enumerate() {
        *r = host::getrlimit(i as u32);
    }
    let stack_limit = rlimits[libc::RLIMIT_STACK as usize]
        .0
        .clamp(128 << 10, 1 << 30);
    let img = Image {
        path: &path,
        data: &data,
        argv: &cfg.argv,
        envp: &cfg.envp,
        execfn: cfg
            .argv
            .first()
            .map(|v| v.as_slice())
            .unwrap_or(path.as_bytes()),
        uid: ids.uid,
        gid: ids.gid,
        stack_limit,
    };
    let stack_top = page_down(platform.max_user_addr()) - 0x1000;
    let loaded = loader::load(&mm, &img, stack_top)?;
    drop(data);

    let kernel = Arc::new(Kernel {
        platform,
        memfile,
        strace: cfg.strace,
        exe: exe.into_os_string().into_encoded_bytes(),
        cwd: cfg.cwd,
        unsupported_logged: Mutex::new(HashSet::new()),
    });
    let regs = Regs {
        rip: loaded.entry,
        rsp: loaded.sp,
        cs: 0x33,
        ss: 0x2b,
        eflags: 0x202,
        ..Default::default()
    };
    let mut task = Task {
        k: kernel,
        cpu: CpuState {
            regs,
            ..Default::default()
        },
        ctx,
        mm,
        tid: 1,
        fds: FdTable::from_host_stdio(),
        sig: SignalState {
            actions: [SigAction::default(); 64],
            mask: 0,
            pending: 0,
            altstack: (0, libc::SS_DISABLE as u32, 0),
        },
        rlimits,
        creds: Creds {
            uid: ids.uid,
            gid: ids.gid,
            groups: ids.groups,
        },
        umask: 0o022,
        affinity: host::sched_getaffinity(),
        clear_child_tid: 0,
        robust_list: (0, 0),
        rseq: None,
        exit: None,
    };
    let status = task.run().map_err(|e| {
        log::warn(&format!("task 1: {e}"));
        Error::Platform(cfg.platform.clone(), e)
    })?;
    Ok(status)
}
