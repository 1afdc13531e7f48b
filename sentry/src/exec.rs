//! Finding what to execute (execve(2) semantics for the initial program): the path is
//! resolved in the sandbox's VFS (a bare name through $PATH), `#!` scripts name their
//! interpreter (up to 4 levels), and a dynamically linked ELF brings its PT_INTERP
//! loader. Files are read through the VFS, so nothing is opened on the host.

use crate::loader::{self, Executable, LoadError, Program};
use crate::mm::FileMap;
use crate::vfs::inode::S_IFREG;
use crate::vfs::{Creds, FsContext, MAY_EXEC, Path, Vfs, permitted};
use syscalls_table::Errno;

/// Linux's BINPRM_BUF_SIZE: how much of a `#!` line is read.
const BINPRM_BUF_SIZE: usize = 256;
/// Nested `#!` interpreters allowed (Linux: 4 more after the first).
const MAX_SCRIPT_DEPTH: usize = 5;

fn errno_err(path: &[u8], e: Errno) -> LoadError {
    let p = String::from_utf8_lossy(path).into_owned();
    match e {
        Errno::ENOENT => LoadError::NotFound(p),
        Errno::EACCES => LoadError::PermissionDenied(p),
        Errno::EISDIR => LoadError::IsDirectory(p),
        e => LoadError::Errno(p, e),
    }
}

/// An executable file, opened.
struct Opened {
    /// Its absolute name in the sandbox.
    name: Vec<u8>,
    /// Its first BINPRM_BUF_SIZE bytes (fewer for a shorter file).
    head: Vec<u8>,
    /// The file as a private mapping of it maps it (offset 0).
    file: FileMap,
    size: u64,
    path: Path,
}

/// Opens the executable file `path` and reads its first bytes.
fn open_executable(
    vfs: &Vfs,
    ctx: &FsContext,
    creds: Creds,
    path: &[u8],
) -> Result<Opened, LoadError> {
    let p = vfs
        .resolve(ctx, creds, &ctx.cwd, path, true)
        .map_err(|e| errno_err(path, e))?;
    let st = p.stat().map_err(|e| errno_err(path, e))?;
    if st.is_dir() {
        return Err(errno_err(path, Errno::EISDIR));
    }
    if st.file_type() != S_IFREG || !permitted(&st, creds, MAY_EXEC) {
        return Err(errno_err(path, Errno::EACCES));
    }
    let ops = p
        .dentry
        .inode
        .clone()
        .open(0)
        .map_err(|e| errno_err(path, e))?;
    let spath = String::from_utf8_lossy(path).into_owned();
    let mut head = vec![0u8; BINPRM_BUF_SIZE];
    let n = loader::read_at(&spath, &*ops, 0, &mut head)?;
    head.truncate(n);
    let name = vfs.path_name(&ctx.root, &p);
    let file = FileMap {
        ops,
        offset: 0,
        cache: false,
        may_write: true,
        name: name.clone(),
        dev: st.dev,
        ino: st.ino,
    };
    Ok(Opened {
        name,
        head,
        file,
        size: st.size,
        path: p,
    })
}

/// Splits a `#!` line into (interpreter, optional argument), as binfmt_script does.
fn parse_shebang(data: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let line = &data[2..data.len().min(BINPRM_BUF_SIZE)];
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_ws(b))?;
    let line = &line[start..];
    let end = line.iter().position(is_ws).unwrap_or(line.len());
    let interp = line[..end].to_vec();
    let rest = &line[end..];
    let arg = match rest.iter().position(|b| !is_ws(b)) {
        Some(i) => {
            let a = &rest[i..];
            let trimmed = &a[..a.iter().rposition(|b| !is_ws(b)).map_or(0, |j| j + 1)];
            Some(trimmed.to_vec())
        }
        None => None,
    };
    Some((interp, arg))
}

/// Resolves `program` and `argv` into what to load; `argv` is rewritten for scripts.
/// Returns the executable and the path /proc/self/exe shows.
pub fn find(
    vfs: &Vfs,
    ctx: &FsContext,
    creds: Creds,
    program: &[u8],
    argv: &mut Vec<Vec<u8>>,
    envp: &[Vec<u8>],
) -> Result<(Executable, Vec<u8>, Path), LoadError> {
    let path = search_path(vfs, ctx, creds, program, envp);
    find_no_search(vfs, ctx, creds, &path, argv)
}

/// As `find`, for execve(2): `program` is a path, never looked up in $PATH.
pub fn find_no_search(
    vfs: &Vfs,
    ctx: &FsContext,
    creds: Creds,
    program: &[u8],
    argv: &mut Vec<Vec<u8>>,
) -> Result<(Executable, Vec<u8>, Path), LoadError> {
    let mut path = program.to_vec();
    for _ in 0..MAX_SCRIPT_DEPTH {
        let Opened {
            name,
            head,
            file,
            size,
            path: vpath,
        } = open_executable(vfs, ctx, creds, &path)?;
        if head.starts_with(b"#!") {
            let (interp, arg) = parse_shebang(&head)
                .ok_or_else(|| LoadError::NotElf(String::from_utf8_lossy(&path).into_owned()))?;
            // argv becomes: interpreter, [argument], the script's path, the rest.
            let mut new = vec![interp.clone()];
            new.extend(arg);
            new.push(path.clone());
            new.extend(argv.iter().skip(1).cloned());
            *argv = new;
            path = interp;
            continue;
        }
        let spath = String::from_utf8_lossy(&path).into_owned();
        let elf = loader::parse(&spath, &head, &*file.ops)?;
        let interp = match &elf.interp {
            Some(i) => {
                let o = open_executable(vfs, ctx, creds, i)?;
                let ipath = String::from_utf8_lossy(&o.name).into_owned();
                let ielf = loader::parse(&ipath, &o.head, &*o.file.ops)?;
                Some(Program {
                    path: ipath,
                    file: o.file,
                    size: o.size,
                    elf: ielf,
                })
            }
            None => None,
        };
        return Ok((
            Executable {
                program: Program {
                    path: spath,
                    file,
                    size,
                    elf,
                },
                interp,
            },
            name,
            vpath,
        ));
    }
    Err(LoadError::TooManyInterpreters(
        String::from_utf8_lossy(program).into_owned(),
    ))
}

/// A bare program name is looked up in the environment's $PATH (or the default one).
fn search_path(
    vfs: &Vfs,
    ctx: &FsContext,
    creds: Creds,
    program: &[u8],
    envp: &[Vec<u8>],
) -> Vec<u8> {
    if program.contains(&b'/') || program.is_empty() {
        return program.to_vec();
    }
    let path = envp
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(|&b| b == b':') {
        let mut cand = if dir.is_empty() {
            b".".to_vec()
        } else {
            dir.to_vec()
        };
        cand.push(b'/');
        cand.extend_from_slice(program);
        if let Ok(p) = vfs.resolve(ctx, creds, &ctx.cwd, &cand, true)
            && p.stat().is_ok_and(|s| s.file_type() == S_IFREG)
        {
            return cand;
        }
    }
    program.to_vec()
}
