//! The ELF loader (DESIGN.md §5): maps a static or static-pie x86-64 executable into a
//! fresh memory manager and builds the initial stack exactly as Linux's `load_elf_binary`
//! and `create_elf_tables` do (strings, AT_RANDOM, argv, envp, auxiliary vector).

use crate::host;
use crate::mm::memfile::PAGE_SIZE;
use crate::mm::{FileMap, MemoryManager, MmapArgs, VmaKind, page_down, page_up};
use crate::vfs::inode::FileOps;
use goblin::elf::{header, program_header};
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

/// A program header, the fields the loader uses.
#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// What the loader needs of an ELF file: its header fields, program headers and the
/// interpreter it names. Read from the file's first bytes and its program header table,
/// never the whole file.
#[derive(Clone, Debug)]
pub struct ElfInfo {
    pub e_type: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phentsize: u16,
    pub phdrs: Vec<Phdr>,
    pub interp: Option<Vec<u8>>,
}

/// An ELF file to load: the name it was executed by (for messages), the file as a private
/// mapping maps it (offset 0), its size and its parsed headers.
pub struct Program {
    pub path: String,
    pub file: FileMap,
    pub size: u64,
    pub elf: ElfInfo,
}

/// Size of an x86-64 ELF header and program header.
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// Linux refuses program header tables above 64 KiB and interpreter paths above PATH_MAX.
const MAX_PHDRS_SIZE: usize = 65536;
const MAX_INTERP: u64 = 4096;

/// Reads `buf.len()` bytes of the file at `off`, or fewer at its end.
pub fn read_at(
    path: &str,
    ops: &dyn FileOps,
    off: u64,
    buf: &mut [u8],
) -> Result<usize, LoadError> {
    let bad = || LoadError::Malformed(path.into(), "file offset out of range".into());
    if off
        .checked_add(buf.len() as u64)
        .is_none_or(|e| e > i64::MAX as u64)
    {
        return Err(bad());
    }
    let mut done = 0usize;
    while done < buf.len() {
        let seg = host::seg_of(&mut buf[done..]);
        let n = ops
            .read(&[seg], Some(off + done as u64))
            .map_err(|e| LoadError::Errno(path.into(), e))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Checks the header (`head`: the file's first bytes) and reads the program headers and
/// the interpreter's name from the file, as load_elf_binary does.
pub fn parse(path: &str, head: &[u8], ops: &dyn FileOps) -> Result<ElfInfo, LoadError> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return Err(LoadError::NotElf(path.into()));
    }
    let machine = u16::from_le_bytes([head[18], head[19]]);
    let class = head[4];
    if machine != header::EM_X86_64 || class != header::ELFCLASS64 || head[5] != header::ELFDATA2LSB
    {
        let arch = if machine == header::EM_X86_64 {
            "x32 or big-endian x86-64".into()
        } else {
            arch_name(machine)
        };
        return Err(LoadError::WrongArch(path.into(), arch));
    }
    let bad = |m: &str| LoadError::Malformed(path.into(), m.into());
    if head.len() < EHDR_SIZE {
        return Err(bad("truncated ELF header"));
    }
    let h = goblin::elf::Elf::parse_header(head)
        .map_err(|e| LoadError::Malformed(path.into(), e.to_string()))?;
    let e_type = h.e_type;
    if e_type != header::ET_EXEC && e_type != header::ET_DYN {
        return Err(LoadError::NotExecutable(path.into(), e_type));
    }
    let (entry, phoff, phentsize, phnum) =
        (h.e_entry, h.e_phoff, h.e_phentsize, h.e_phnum as usize);
    if phentsize as usize != PHDR_SIZE {
        return Err(bad("unexpected program header size"));
    }
    if phnum == 0 || phnum * PHDR_SIZE > MAX_PHDRS_SIZE {
        return Err(bad("bad number of program headers"));
    }
    let mut table = vec![0u8; phnum * PHDR_SIZE];
    if read_at(path, ops, phoff, &mut table)? != table.len() {
        return Err(bad("program headers past the end of the file"));
    }
    let ctx = goblin::container::Ctx::new(
        goblin::container::Container::Big,
        goblin::container::Endian::Little,
    );
    let phdrs: Vec<Phdr> = program_header::ProgramHeader::parse(&table, 0, phnum, ctx)
        .map_err(|e| LoadError::Malformed(path.into(), e.to_string()))?
        .into_iter()
        .map(|p| Phdr {
            p_type: p.p_type,
            flags: p.p_flags,
            offset: p.p_offset,
            vaddr: p.p_vaddr,
            filesz: p.p_filesz,
            memsz: p.p_memsz,
        })
        .collect();
    let mut interp = None;
    if let Some(ph) = phdrs.iter().find(|p| p.p_type == program_header::PT_INTERP) {
        if ph.filesz < 2 || ph.filesz > MAX_INTERP {
            return Err(bad("bad interpreter name size"));
        }
        let mut name = vec![0u8; ph.filesz as usize];
        if read_at(path, ops, ph.offset, &mut name)? != name.len() || name.last() != Some(&0) {
            return Err(bad("bad interpreter name"));
        }
        let nul = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        name.truncate(nul);
        interp = Some(name);
    }
    Ok(ElfInfo {
        e_type,
        entry,
        phoff,
        phentsize,
        phdrs,
        interp,
    })
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

/// Maps the PT_LOAD segments of `prog` as load_elf_binary does: each segment's file part
/// is a private mapping of the file (demand-paged, shared with the page cache until
/// written), the rest of its last file page is zeroed when the segment has a bss, and the
/// bss beyond is anonymous memory.
fn map_image(mm: &MemoryManager, prog: &Program, place: Placement) -> Result<Mapped, LoadError> {
    let path = prog.path.as_str();
    let elf = &prog.elf;
    let bad = |m: &str| LoadError::Malformed(path.into(), m.into());
    let nomem = || LoadError::NoMemory(path.into());
    let loads: Vec<&Phdr> = elf
        .phdrs
        .iter()
        .filter(|p| p.p_type == program_header::PT_LOAD)
        .collect();
    if loads.is_empty() {
        return Err(bad("no loadable segments"));
    }
    let lo = loads.iter().map(|p| page_down(p.vaddr)).min().unwrap_or(0);
    let hi = loads
        .iter()
        .map(|p| p.vaddr.checked_add(p.memsz).and_then(page_up))
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
        if ph.filesz > ph.memsz {
            return Err(bad("segment file size larger than memory size"));
        }
        if ph.vaddr % PAGE_SIZE != ph.offset % PAGE_SIZE {
            return Err(bad(
                "segment offset and address disagree modulo the page size",
            ));
        }
        if ph
            .offset
            .checked_add(ph.filesz)
            .is_none_or(|e| e > prog.size)
        {
            return Err(bad("segment extends past the end of the file"));
        }
        let perms = Perms {
            read: ph.flags & program_header::PF_R != 0,
            write: ph.flags & program_header::PF_W != 0,
            exec: ph.flags & program_header::PF_X != 0,
        };
        let vaddr = ph.vaddr + bias;
        let start = page_down(vaddr);
        let end = page_up(vaddr + ph.memsz).ok_or_else(|| bad("segment too large"))?;
        let file_end = vaddr + ph.filesz;
        // The pages holding file bytes.
        let fpages_end = if ph.filesz == 0 {
            start
        } else {
            page_up(file_end).ok_or_else(|| bad("segment too large"))?
        };
        if fpages_end > start {
            let mut file = prog.file.clone();
            file.offset = page_down(ph.offset);
            mm.mmap(MmapArgs {
                file: Some(file),
                ..anon_args(start, fpages_end - start, perms, true, VmaKind::Image)
            })
            .map_err(|_| nomem())?;
        }
        if ph.memsz > ph.filesz {
            // The bss: zeroes after the file bytes in their last page (what follows in
            // the file must not show), then anonymous pages.
            let zero_to = fpages_end.min(end);
            if ph.filesz > 0 && zero_to > file_end {
                let zeros = vec![0u8; (zero_to - file_end) as usize];
                mm.write_force(file_end, &zeros).map_err(|_| nomem())?;
            }
            let anon_from = fpages_end.max(start);
            if end > anon_from {
                mm.mmap(anon_args(
                    anon_from,
                    end - anon_from,
                    perms,
                    true,
                    VmaKind::Anon,
                ))
                .map_err(|_| nomem())?;
            }
        }
        end_all = end_all.max(vaddr + ph.memsz);
    }
    let phdr = elf
        .phdrs
        .iter()
        .find(|p| p.p_type == program_header::PT_PHDR)
        .map(|p| p.vaddr + bias)
        .or_else(|| {
            // No PT_PHDR: the headers are where a segment maps file offset e_phoff.
            let ph = loads
                .iter()
                .find(|p| p.offset <= elf.phoff && elf.phoff < p.offset + p.filesz)?;
            Some(elf.phoff - ph.offset + ph.vaddr + bias)
        })
        .unwrap_or(0);
    Ok(Mapped {
        bias,
        entry: elf.entry.wrapping_add(bias),
        phdr,
        phent: elf.phentsize as u64,
        phnum: elf.phdrs.len() as u64,
        end: end_all,
    })
}

/// An executable to load: the program and, for a dynamically linked one, its
/// interpreter (the dynamic loader).
pub struct Executable {
    pub program: Program,
    pub interp: Option<Program>,
}

/// Loads `exe` into `mm` (fresh) and builds the initial stack below `stack_top`.
pub fn load(
    mm: &MemoryManager,
    exe: &Executable,
    img: &Image,
    stack_top: u64,
) -> Result<Loaded, LoadError> {
    let path = &exe.program.path;
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
    let is_pie = exe.program.elf.e_type == header::ET_DYN;
    let place = match (is_pie, exe.interp.is_some()) {
        (true, true) => {
            Placement::At(ELF_ET_DYN_BASE + (host::random_u64() % (1 << 28)) * PAGE_SIZE)
        }
        (true, false) => Placement::TopDown,
        (false, _) => Placement::Linked,
    };
    let main = map_image(mm, &exe.program, place)?;
    let (entry, base) = match &exe.interp {
        Some(interp) => {
            if interp.elf.interp.is_some() {
                return Err(LoadError::Malformed(
                    interp.path.clone(),
                    "the interpreter has an interpreter".into(),
                ));
            }
            let m = map_image(mm, interp, Placement::TopDown)?;
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
