//! The ELF loader (DESIGN.md §5): maps a static or static-pie x86-64 executable into a
//! fresh memory manager and builds the initial stack exactly as Linux's `load_elf_binary`
//! and `create_elf_tables` do (strings, AT_RANDOM, argv, envp, auxiliary vector).

use crate::host;
use crate::mm::memfile::PAGE_SIZE;
use crate::mm::{MemoryManager, MmapArgs, VmaKind, page_down, page_up};
use goblin::elf::{Elf, header, program_header};
use platform::Perms;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: no such file")]
    NotFound(String),
    #[error("{0}: is a directory")]
    IsDirectory(String),
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    #[error("{0}: cannot read: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not an ELF executable")]
    NotElf(String),
    #[error("{0}: ELF for {1}, not x86-64")]
    WrongArch(String, String),
    #[error("{0}: not an executable ELF (type {1})")]
    NotExecutable(String, u16),
    #[error("{0}: {msg}", msg = .1.message())]
    Errno(String, syscalls_table::Errno),
    #[error("{0}: too many levels of #! interpreters")]
    TooManyInterpreters(String),
    #[error("{0}: malformed ELF: {1}")]
    Malformed(String, String),
    #[error("{0}: out of memory while loading")]
    NoMemory(String),
}

/// What the task needs to start.
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    /// The auxiliary vector given to the program (for /proc/PID/auxv).
    pub auxv: Vec<(u64, u64)>,
}

/// Where Linux puts a position-independent executable without interpreter (`ELF_ET_DYN_BASE`).
const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4000;
/// The break is randomized within this range above its base (arch_randomize_brk).
const BRK_RANDOM_RANGE: u64 = 1 << 30;
/// Initial stack VMA size (Linux expands the argument pages by 128 KiB).
const STACK_INIT: u64 = 132 * 1024;

pub struct Image<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The name the program was executed as (AT_EXECFN).
    pub execfn: &'a [u8],
    pub uid: u32,
    pub gid: u32,
    pub stack_limit: u64,
}

fn arch_name(machine: u16) -> String {
    match machine {
        header::EM_386 => "i386".into(),
        header::EM_AARCH64 => "aarch64".into(),
        header::EM_ARM => "arm".into(),
        header::EM_RISCV => "riscv".into(),
        header::EM_PPC64 => "ppc64".into(),
        header::EM_S390 => "s390".into(),
        m => format!("machine {m}"),
    }
}

/// Checks the header and returns the parsed ELF.
pub fn parse<'a>(path: &str, data: &'a [u8]) -> Result<Elf<'a>, LoadError> {
    if data.len() < 20 || &data[..4] != b"\x7fELF" {
        return Err(LoadError::NotElf(path.into()));
    }
    let machine = u16::from_le_bytes([data[18], data[19]]);
    let class = data[4];
    if machine != header::EM_X86_64 || class != header::ELFCLASS64 || data[5] != header::ELFDATA2LSB
    {
        let arch = if machine == header::EM_X86_64 {
            "x32 or big-endian x86-64".into()
        } else {
            arch_name(machine)
        };
        return Err(LoadError::WrongArch(path.into(), arch));
    }
    let elf = Elf::parse(data).map_err(|e| LoadError::Malformed(path.into(), e.to_string()))?;
    if elf.header.e_type != header::ET_EXEC && elf.header.e_type != header::ET_DYN {
        return Err(LoadError::NotExecutable(path.into(), elf.header.e_type));
    }
    Ok(elf)
}

/// The parts of an ELF image once mapped.
struct Mapped {
    bias: u64,
    entry: u64,
    phdr: u64,
    phent: u64,
    phnum: u64,
    /// End of the highest segment (where the break starts for the main program).
    end: u64,
}

fn anon_args(addr: u64, len: u64, perms: Perms, fixed: bool, kind: VmaKind) -> MmapArgs {
    MmapArgs {
        addr,
        len,
        perms,
        fixed,
        noreplace: false,
        shared: false,
        growsdown: kind == VmaKind::Stack,
        populate: false,
        below_2g: false,
        kind,
        file: None,
    }
}

/// Where an image goes: where it was linked (`Fixed`), at a given base (`At`), or where
/// mmap would put it (`TopDown`).
enum Placement {
    Linked,
    At(u64),
    TopDown,
}

/// Maps the PT_LOAD segments of `elf` (whose file is `data`), as a file mapping would
/// show them: the file's bytes from each segment's first page through the end of its
/// file part, zeroes for the bss.
fn map_image(
    mm: &MemoryManager,
    path: &str,
    data: &[u8],
    elf: &Elf,
    place: Placement,
) -> Result<Mapped, LoadError> {
    let bad = |m: &str| LoadError::Malformed(path.into(), m.into());
    let nomem = || LoadError::NoMemory(path.into());
    let loads: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
        .collect();
    if loads.is_empty() {
        return Err(bad("no loadable segments"));
    }
    let lo = loads
        .iter()
        .map(|p| page_down(p.p_vaddr))
        .min()
        .unwrap_or(0);
    let hi = loads
        .iter()
        .map(|p| p.p_vaddr.checked_add(p.p_memsz).and_then(page_up))
        .try_fold(0u64, |m, e| e.map(|e| m.max(e)))
        .ok_or_else(|| bad("segment address overflow"))?;
    let span = hi
        .checked_sub(lo)
        .filter(|&s| s > 0)
        .ok_or_else(|| bad("empty image"))?;
    let bias = match place {
        Placement::Linked => 0,
        Placement::At(base) => base.wrapping_sub(lo),
        Placement::TopDown => {
            let base = mm
                .mmap(anon_args(0, span, Perms::NONE, false, VmaKind::Anon))
                .map_err(|_| nomem())?;
            mm.munmap(base, span).map_err(|_| nomem())?;
            base.wrapping_sub(lo)
        }
    };
    if hi.checked_add(bias).is_none_or(|e| e > mm.max_addr()) || lo.wrapping_add(bias) < 0x10000 {
        return Err(bad("segments outside the user address range"));
    }
    let mut end_all = 0u64;
    for ph in &loads {
        if ph.p_filesz > ph.p_memsz {
            return Err(bad("segment file size larger than memory size"));
        }
        if ph.p_vaddr % PAGE_SIZE != ph.p_offset % PAGE_SIZE {
            return Err(bad(
                "segment offset and address disagree modulo the page size",
            ));
        }
        let vaddr = ph.p_vaddr + bias;
        let start = page_down(vaddr);
        let end = page_up(vaddr + ph.p_memsz).ok_or_else(|| bad("segment too large"))?;
        let perms = Perms {
            read: ph.is_read(),
            write: ph.is_write(),
            exec: ph.is_executable(),
        };
        if end > start {
            mm.mmap(anon_args(start, end - start, perms, true, VmaKind::Image))
                .map_err(|_| nomem())?;
        }
        let foff = page_down(ph.p_offset) as usize;
        let fend = ph
            .p_offset
            .checked_add(ph.p_filesz)
            .filter(|&e| e <= data.len() as u64)
            .ok_or_else(|| bad("segment extends past the end of the file"))?
            as usize;
        let mut fill = data[foff..fend].to_vec();
        if ph.p_memsz > ph.p_filesz {
            let zero_to = (page_up(vaddr + ph.p_filesz).unwrap_or(end)).min(end);
            fill.resize(fill.len() + (zero_to - (vaddr + ph.p_filesz)) as usize, 0);
        } else {
            // The rest of the last page shows what follows in the file.
            let page_end = (page_up(fend as u64).unwrap_or(0) as usize).min(data.len());
            fill.extend_from_slice(&data[fend..page_end.max(fend)]);
        }
        mm.write_force(start, &fill).map_err(|_| nomem())?;
        end_all = end_all.max(vaddr + ph.p_memsz);
    }
    let phdr = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == program_header::PT_PHDR)
        .map(|p| p.p_vaddr + bias)
        .or_else(|| {
            // No PT_PHDR: the headers are where a segment maps file offset e_phoff.
            let ph = loads.iter().find(|p| {
                p.p_offset <= elf.header.e_phoff && elf.header.e_phoff < p.p_offset + p.p_filesz
            })?;
            Some(elf.header.e_phoff - ph.p_offset + ph.p_vaddr + bias)
        })
        .unwrap_or(0);
    Ok(Mapped {
        bias,
        entry: elf.header.e_entry.wrapping_add(bias),
        phdr,
        phent: elf.header.e_phentsize as u64,
        phnum: elf.header.e_phnum as u64,
        end: end_all,
    })
}

/// An executable to load: the program and, for a dynamically linked one, its
/// interpreter (the dynamic loader), each as (path, file contents).
pub struct Executable {
    pub program: (String, Vec<u8>),
    pub interp: Option<(String, Vec<u8>)>,
}

/// Loads `exe` into `mm` (fresh) and builds the initial stack below `stack_top`.
pub fn load(
    mm: &MemoryManager,
    exe: &Executable,
    img: &Image,
    stack_top: u64,
) -> Result<Loaded, LoadError> {
    let (path, data) = (&exe.program.0, &exe.program.1);
    let elf = parse(path, data)?;
    let nomem = || LoadError::NoMemory(path.clone());

    // The stack, and the mmap layout below it.
    let rw = Perms {
        read: true,
        write: true,
        exec: false,
    };
    mm.mmap(anon_args(
        stack_top - STACK_INIT,
        STACK_INIT,
        rw,
        true,
        VmaKind::Stack,
    ))
    .map_err(|_| nomem())?;
    let gap = img.stack_limit.clamp(128 << 20, (mm.max_addr() / 6) * 5);
    mm.set_layout(page_down(stack_top - gap), img.stack_limit);

    // The vDSO, mapped read+exec below the stack like any other mapping.
    let vdso_len = page_up(VDSO.len() as u64).unwrap_or(PAGE_SIZE);
    let rx = Perms {
        read: true,
        write: false,
        exec: true,
    };
    let vdso = mm
        .mmap(anon_args(0, vdso_len, rx, false, VmaKind::Vdso))
        .map_err(|_| nomem())?;
    mm.write_force(vdso, VDSO).map_err(|_| nomem())?;

    // A position-independent program with an interpreter goes at ELF_ET_DYN_BASE plus
    // a random offset; one without (static-pie) where mmap would put it; others where
    // they were linked. The interpreter goes where mmap would put it.
    let is_pie = elf.header.e_type == header::ET_DYN;
    let place = match (is_pie, exe.interp.is_some()) {
        (true, true) => {
            Placement::At(ELF_ET_DYN_BASE + (host::random_u64() % (1 << 28)) * PAGE_SIZE)
        }
        (true, false) => Placement::TopDown,
        (false, _) => Placement::Linked,
    };
    let main = map_image(mm, path, data, &elf, place)?;
    let (entry, base) = match &exe.interp {
        Some((ipath, idata)) => {
            let ielf = parse_interp(ipath, idata)?;
            let m = map_image(mm, ipath, idata, &ielf, Placement::TopDown)?;
            (m.entry, m.bias)
        }
        None => (main.entry, 0),
    };

    // The break starts at a random page within 1 GiB above the image (above
    // ELF_ET_DYN_BASE for a static-pie), as arch_randomize_brk does on x86-64.
    let brk_base = if is_pie && exe.interp.is_none() {
        ELF_ET_DYN_BASE
    } else {
        page_up(main.end).ok_or_else(|| LoadError::Malformed(path.clone(), "bad break".into()))?
    };
    let brk_start = brk_base + (host::random_u64() % BRK_RANDOM_RANGE) / PAGE_SIZE * PAGE_SIZE;
    mm.set_brk_start(brk_start);

    let aux = Aux {
        phdr: main.phdr,
        phent: main.phent,
        phnum: main.phnum,
        entry: main.entry,
        base,
        uid: img.uid as u64,
        gid: img.gid as u64,
        vdso,
    };
    let (sp, auxv) = build_stack(mm, img, stack_top, &aux).map_err(|_| nomem())?;
    Ok(Loaded { entry, sp, auxv })
}

/// Checks an interpreter: an x86-64 ELF that does not itself need one.
fn parse_interp<'a>(path: &str, data: &'a [u8]) -> Result<Elf<'a>, LoadError> {
    let elf = parse(path, data)?;
    if elf.interpreter.is_some() {
        return Err(LoadError::Malformed(
            path.into(),
            "the interpreter has an interpreter".into(),
        ));
    }
    Ok(elf)
}

struct Aux {
    phdr: u64,
    phent: u64,
    phnum: u64,
    entry: u64,
    base: u64,
    uid: u64,
    gid: u64,
    vdso: u64,
}

/// The vDSO image built from vdso/vdso.S by build.rs.
static VDSO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_RSEQ_FEATURE_SIZE: u64 = 27;
const AT_RSEQ_ALIGN: u64 = 28;
const AT_EXECFN: u64 = 31;
const AT_SYSINFO_EHDR: u64 = 33;
const AT_MINSIGSTKSZ: u64 = 51;

/// The rseq ABI the sentry implements: `struct rseq` up to and including `mm_cid`.
pub const RSEQ_FEATURE_SIZE: u64 = 28;
pub const RSEQ_ALIGN: u64 = 32;

/// Lays out the initial stack as Linux does and returns the initial stack pointer.
fn build_stack(
    mm: &MemoryManager,
    img: &Image,
    top: u64,
    a: &Aux,
) -> Result<(u64, Vec<(u64, u64)>), syscalls_table::Errno> {
    // From the top: an 8-byte NULL, the exec file name, envp strings, argv strings.
    let mut p = top - 8;
    mm.copy_out(p, &[0u8; 8])?;
    let push = |p: &mut u64, s: &[u8]| -> Result<u64, syscalls_table::Errno> {
        *p -= s.len() as u64 + 1;
        let mut b = s.to_vec();
        b.push(0);
        mm.copy_out(*p, &b)?;
        Ok(*p)
    };
    let execfn = push(&mut p, img.execfn)?;
    let mut envp: Vec<u64> = Vec::new();
    for e in img.envp.iter().rev() {
        envp.push(push(&mut p, e)?);
    }
    envp.reverse();
    let env_end = envp.last().map_or(p, |&e| {
        e + img.envp.last().map_or(0, |v| v.len() as u64 + 1)
    });
    let env_start = envp.first().copied().unwrap_or(p);
    let mut argv: Vec<u64> = Vec::new();
    for s in img.argv.iter().rev() {
        argv.push(push(&mut p, s)?);
    }
    argv.reverse();
    let arg_start = argv.first().copied().unwrap_or(p);
    mm.set_arg_env((arg_start, env_start, env_start, env_end));
    p &= !15;
    let platform = push(&mut p, b"x86_64")?;
    let mut random = [0u8; 16];
    host::getrandom(&mut random, 0).map_err(|_| syscalls_table::Errno::EIO)?;
    p -= 16;
    mm.copy_out(p, &random)?;
    let random_at = p;

    let auxv: Vec<(u64, u64)> = vec![
        (AT_SYSINFO_EHDR, a.vdso),
        (AT_MINSIGSTKSZ, host::getauxval(AT_MINSIGSTKSZ)),
        (AT_HWCAP, host::getauxval(AT_HWCAP)),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, a.phdr),
        (AT_PHENT, a.phent),
        (AT_PHNUM, a.phnum),
        (AT_BASE, a.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, a.entry),
        (AT_UID, a.uid),
        (AT_EUID, a.uid),
        (AT_GID, a.gid),
        (AT_EGID, a.gid),
        (AT_SECURE, 0),
        (AT_RANDOM, random_at),
        (AT_HWCAP2, host::getauxval(AT_HWCAP2)),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_RSEQ_FEATURE_SIZE, RSEQ_FEATURE_SIZE),
        (AT_RSEQ_ALIGN, RSEQ_ALIGN),
        (AT_NULL, 0),
    ];
    let words = 1 + argv.len() + 1 + envp.len() + 1 + auxv.len() * 2;
    let sp = (p - words as u64 * 8) & !15;
    let mut table: Vec<u8> = Vec::with_capacity(words * 8);
    let mut put = |v: u64| table.extend_from_slice(&v.to_le_bytes());
    put(argv.len() as u64);
    argv.iter().for_each(|&v| put(v));
    put(0);
    envp.iter().for_each(|&v| put(v));
    put(0);
    for &(k, v) in &auxv {
        put(k);
        put(v);
    }
    mm.copy_out(sp, &table)?;
    Ok((sp, auxv))
}
