//! `--strace` formatting: one line per finished syscall, `name(args…) = result`, with the
//! arguments decoded from the table the way strace prints them.

use crate::consts::{FUTEX_CLOCK_REALTIME, FUTEX_CMD, FUTEX_PRIVATE_FLAG, Names};
use crate::{ArgKind, Errno, Syscall, consts, signal};
use std::fmt::Write;

/// Reads `len` bytes of application memory at `addr`; `None` on a bad address.
pub type ReadMem<'a> = &'a dyn Fn(u64, usize) -> Option<Vec<u8>>;

/// How many bytes of a buffer or string argument are shown before `...`.
pub const STRING_LIMIT: usize = 32;
/// Paths are shown whole, as strace does, up to `PATH_MAX`.
const PATH_LIMIT: usize = 4096;
/// How many elements of an array (argv, iovecs) are shown before `...`.
const ARRAY_LIMIT: usize = 32;
const AT_FDCWD: i32 = -100;
const PAGE_SIZE: u64 = 4096;

/// Formats `name(args…) = result` for a finished syscall. `read_mem(addr, len)` reads
/// application memory (None on a bad address); buffers the syscall filled are read now.
pub fn format(sc: &Syscall, args: &[u64; 6], ret: i64, read_mem: ReadMem) -> String {
    let ret_text = match sc.name {
        "mmap" | "mremap" | "brk" | "shmat" if !is_error(ret) => format!("{ret:#x}"),
        _ => format_ret(ret),
    };
    format!("{} = {ret_text}", format_args_only(sc, args, ret, read_mem))
}

/// Formats `name(args…)` for a call that does not return (`exit_group`, a successful
/// `execve` seen from the old image): strace prints these as `exit_group(0) = ?`, which is
/// this followed by `" = ?"`. Buffers the syscall would fill are shown as addresses.
pub fn format_call(sc: &Syscall, args: &[u64; 6], read_mem: ReadMem) -> String {
    format_args_only(sc, args, -(Errno::EFAULT.0 as i64), read_mem)
}

fn format_args_only(sc: &Syscall, args: &[u64; 6], ret: i64, read_mem: ReadMem) -> String {
    let printed: Vec<String> = sc
        .args
        .iter()
        .zip(args)
        .take(shown_args(sc, args))
        .filter(|(k, _)| !matches!(k, ArgKind::Skip))
        .map(|(k, &v)| format_arg(*k, v, args, ret, read_mem))
        .collect();
    format!("{}({})", sc.name, printed.join(", "))
}

/// Formats a syscall the table does not know: `syscall_0x1c3(0x1, …) = -1 ENOSYS (…)`.
pub fn format_unknown(nr: u64, args: &[u64; 6], ret: i64) -> String {
    let printed: Vec<String> = args.iter().map(|v| format!("{v:#x}")).collect();
    format!(
        "syscall_{nr:#x}({}) = {}",
        printed.join(", "),
        format_ret(ret)
    )
}

/// Formats a return value: decimal, or `-1 ENOENT (No such file or directory)`.
pub fn format_ret(ret: i64) -> String {
    if is_error(ret) {
        let e = Errno(-ret as i32);
        match e.name() {
            Some(name) => format!("-1 {name} ({})", e.message()),
            None => format!("-1 (errno {})", e.0),
        }
    } else {
        ret.to_string()
    }
}

/// How many arguments strace shows: a few syscalls read an argument only for some values
/// of another (open's mode without `O_CREAT`, fcntl's argument for the `F_GET*` commands).
fn shown_args(sc: &Syscall, args: &[u64; 6]) -> usize {
    const O_CREAT: u64 = 0o100;
    const O_TMPFILE_BIT: u64 = 0o20000000;
    const MREMAP_FIXED: u64 = 2;
    let creates = |flags: u64| flags & (O_CREAT | O_TMPFILE_BIT) != 0;
    match sc.name {
        "open" | "mq_open" if !creates(args[1]) => 2,
        "openat" if !creates(args[2]) => 3,
        "mremap" if args[3] & MREMAP_FIXED == 0 => 4,
        "fcntl" if matches!(args[1], 1 | 3 | 9 | 11 | 1025 | 1032 | 1034) => 2,
        _ => sc.args.len(),
    }
}

fn is_error(ret: i64) -> bool {
    (-(Errno::MAX_ERRNO as i64)..0).contains(&ret)
}

fn format_arg(kind: ArgKind, v: u64, args: &[u64; 6], ret: i64, mem: ReadMem) -> String {
    use ArgKind::*;
    // What a successful call filled: the return value is the length.
    let filled = (!is_error(ret) && ret >= 0).then_some(ret as usize);
    match kind {
        Int | Fd | Pid => (v as i32).to_string(),
        Long | Off => (v as i64).to_string(),
        Uint | Size => v.to_string(),
        Hex => format!("{v:#x}"),
        Skip => String::new(),
        DirFd if v as i32 == AT_FDCWD => "AT_FDCWD".to_owned(),
        DirFd => (v as i32).to_string(),
        Ptr => ptr(v),
        CStr => cstr(v, PATH_LIMIT, mem),
        InBuf(i) => buffer(v, arg(args, i) as usize, mem),
        OutBuf => match filled {
            Some(len) => buffer(v, len, mem),
            None => ptr(v),
        },
        OutCStr => match filled {
            Some(len) => out_cstr(v, len, mem),
            None => ptr(v),
        },
        StrArray => str_array(v, mem),
        EnvArray => env_array(v, mem),
        InIovec(i) => iovec(v, arg(args, i), None, mem),
        OutIovec(i) => match filled {
            Some(len) => iovec(v, arg(args, i), Some(len), mem),
            None => ptr(v),
        },
        SigSet => sigset(v, mem),
        Timespec => timespec(v, mem),
        Signal => signal_name(v as i32),
        Mode => mode(v),
        Flags(names) => flags(v, names),
        Enum(names) => enumeration(v, names),
        EnumFlags(mask, values, names) => {
            let mut s = enumeration(v & mask, values);
            if v & !mask != 0 {
                s.push('|');
                s.push_str(&flags(v & !mask, names));
            }
            s
        }
        CloneFlags => clone_flags(v),
        FutexOp => futex_op(v),
    }
}

fn arg(args: &[u64; 6], i: u8) -> u64 {
    args.get(i as usize).copied().unwrap_or(0)
}

fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".to_owned()
    } else {
        format!("{v:#x}")
    }
}

fn signal_name(signo: i32) -> String {
    signal::name(signo).map_or_else(|| signo.to_string(), str::to_owned)
}

/// Octal as strace prints modes: `0644`, `022`, `000`.
fn mode(v: u64) -> String {
    format!("0{:02o}", v)
}

/// `A|B|0x…`; the entry with value 0 (or `0`) names zero.
pub fn flags(v: u64, names: Names) -> String {
    if v == 0 {
        let zero = names.iter().find(|(bits, _)| *bits == 0);
        return zero.map_or("0", |(_, n)| n).to_owned();
    }
    let mut rest = v;
    let mut out: Vec<String> = Vec::new();
    for &(bits, name) in names {
        if bits != 0 && rest & bits == bits {
            out.push(name.to_owned());
            rest &= !bits;
        }
    }
    if rest != 0 {
        out.push(format!("{rest:#x}"));
    }
    out.join("|")
}

/// The name of `v` (compared as a C `int`), or `v` in hex.
pub fn enumeration(v: u64, names: Names) -> String {
    names
        .iter()
        .find(|(value, _)| {
            *value as u32 == v as u32 && (v >> 32 == 0 || v as i32 as i64 as u64 == v)
        })
        .map_or_else(|| format!("{v:#x}"), |(_, n)| (*n).to_owned())
}

fn clone_flags(v: u64) -> String {
    let sig = v & 0xff;
    let mut parts = Vec::new();
    if v & !0xff != 0 {
        parts.push(flags(v & !0xff, consts::CLONE));
    }
    if sig != 0 {
        parts.push(signal_name(sig as i32));
    }
    if parts.is_empty() {
        "0".to_owned()
    } else {
        parts.join("|")
    }
}

fn futex_op(v: u64) -> String {
    let cmd = v & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let mut s = enumeration(cmd, FUTEX_CMD);
    if v & FUTEX_PRIVATE_FLAG != 0 {
        s.push_str("_PRIVATE");
    }
    if v & FUTEX_CLOCK_REALTIME != 0 {
        s.push_str("|FUTEX_CLOCK_REALTIME");
    }
    s
}

/// Reads up to `len` bytes at `addr`, stopping early at an unreadable page; `None` if not
/// even the first byte is readable.
fn read_prefix(addr: u64, len: usize, mem: ReadMem) -> Option<Vec<u8>> {
    if len == 0 {
        return mem(addr, 0).or_else(|| Some(Vec::new()));
    }
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let at = addr.wrapping_add(out.len() as u64);
        let to_page_end = (PAGE_SIZE - at % PAGE_SIZE) as usize;
        match mem(at, (len - out.len()).min(to_page_end)) {
            Some(chunk) if !chunk.is_empty() => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A NUL-terminated string, shown up to `limit` bytes.
fn read_cstr(addr: u64, limit: usize, mem: ReadMem) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    loop {
        let at = addr.wrapping_add(out.len() as u64);
        let want = ((PAGE_SIZE - at % PAGE_SIZE) as usize).min(limit + 1 - out.len());
        let chunk = mem(at, want)?;
        if chunk.is_empty() {
            return None;
        }
        if let Some(nul) = chunk.iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            break;
        }
        out.extend_from_slice(&chunk);
        if out.len() > limit {
            break;
        }
    }
    let truncated = out.len() > limit;
    out.truncate(limit);
    Some((out, truncated))
}

fn cstr(addr: u64, limit: usize, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    match read_cstr(addr, limit, mem) {
        Some((bytes, truncated)) => quote(&bytes, truncated),
        None => ptr(addr),
    }
}

fn buffer(addr: u64, len: usize, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    let shown = len.min(STRING_LIMIT);
    match read_prefix(addr, shown, mem) {
        Some(bytes) if bytes.len() == shown => quote(&bytes, len > shown),
        _ => ptr(addr),
    }
}

fn out_cstr(addr: u64, len: usize, mem: ReadMem) -> String {
    match read_prefix(addr, len.min(PATH_LIMIT), mem) {
        Some(bytes) => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            quote(&bytes[..end], false)
        }
        None => ptr(addr),
    }
}

fn read_u64(addr: u64, mem: ReadMem) -> Option<u64> {
    let b = mem(addr, 8)?;
    Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?))
}

/// The pointers of a NULL-terminated array (at most `ARRAY_LIMIT` + 1 of them).
fn pointers(addr: u64, mem: ReadMem) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    while out.len() <= ARRAY_LIMIT {
        match read_u64(addr.wrapping_add(8 * out.len() as u64), mem)? {
            0 => break,
            p => out.push(p),
        }
    }
    Some(out)
}

fn str_array(addr: u64, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    let Some(ptrs) = pointers(addr, mem) else {
        return ptr(addr);
    };
    let mut items: Vec<String> = ptrs
        .iter()
        .take(ARRAY_LIMIT)
        .map(|&p| cstr(p, STRING_LIMIT, mem))
        .collect();
    if ptrs.len() > ARRAY_LIMIT {
        items.push("...".to_owned());
    }
    format!("[{}]", items.join(", "))
}

fn env_array(addr: u64, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    let mut n = 0u64;
    while let Some(p) = read_u64(addr.wrapping_add(8 * n), mem) {
        if p == 0 {
            let s = if n == 1 { "" } else { "s" };
            return format!("{addr:#x} /* {n} var{s} */");
        }
        n += 1;
    }
    ptr(addr)
}

/// `[{iov_base="hello", iov_len=5}, …]`. For a filled array, `filled` says how many bytes
/// the syscall wrote across the buffers.
fn iovec(addr: u64, count: u64, filled: Option<usize>, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    let mut left = filled.unwrap_or(usize::MAX);
    let mut items = Vec::new();
    for i in 0..count.min(ARRAY_LIMIT as u64) {
        let Some(raw) = mem(addr.wrapping_add(16 * i), 16).filter(|b| b.len() == 16) else {
            return ptr(addr);
        };
        let base = u64::from_le_bytes(raw[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(raw[8..].try_into().unwrap_or_default());
        let shown = (len as usize).min(left);
        left -= shown;
        items.push(format!(
            "{{iov_base={}, iov_len={len}}}",
            buffer(base, shown, mem)
        ));
    }
    if count > ARRAY_LIMIT as u64 {
        items.push("...".to_owned());
    }
    format!("[{}]", items.join(", "))
}

/// `[INT TERM]`, or `~[…]` listing the signals not in the set when most are.
fn sigset(addr: u64, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    let Some(set) = read_u64(addr, mem) else {
        return ptr(addr);
    };
    let (prefix, bits) = if set.count_ones() > 32 {
        ("~", !set)
    } else {
        ("", set)
    };
    let names: Vec<&str> = (1..=signal::NSIG)
        .filter(|s| bits & (1 << (s - 1)) != 0)
        .filter_map(|s| signal::name(s).map(|n| n.trim_start_matches("SIG")))
        .collect();
    format!("{prefix}[{}]", names.join(" "))
}

fn timespec(addr: u64, mem: ReadMem) -> String {
    if addr == 0 {
        return "NULL".to_owned();
    }
    match mem(addr, 16).filter(|b| b.len() == 16) {
        Some(b) => {
            let sec = i64::from_le_bytes(b[..8].try_into().unwrap_or_default());
            let nsec = i64::from_le_bytes(b[8..].try_into().unwrap_or_default());
            format!("{{tv_sec={sec}, tv_nsec={nsec}}}")
        }
        None => ptr(addr),
    }
}

/// Quotes bytes as strace does: C escapes, octal for other non-printables (three digits
/// when a digit follows), `...` after the closing quote when truncated.
pub fn quote(bytes: &[u8], truncated: bool) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            0x0b => s.push_str("\\v"),
            0x0c => s.push_str("\\f"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let next_is_digit = bytes.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n));
                let _ = if next_is_digit {
                    write!(s, "\\{b:03o}")
                } else {
                    write!(s, "\\{b:o}")
                };
            }
        }
    }
    s.push('"');
    if truncated {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup;
    use std::collections::BTreeMap;

    /// Application memory for tests, mapped by pages like the real thing: `put` maps
    /// the pages its bytes touch (zero-filled around them); other pages are bad addresses.
    struct Mem(BTreeMap<u64, [u8; PAGE_SIZE as usize]>);

    impl Mem {
        fn new() -> Mem {
            Mem(BTreeMap::new())
        }
        fn put(&mut self, addr: u64, bytes: &[u8]) -> &mut Mem {
            for (i, &b) in bytes.iter().enumerate() {
                let a = addr + i as u64;
                let page = self
                    .0
                    .entry(a / PAGE_SIZE)
                    .or_insert([0; PAGE_SIZE as usize]);
                page[(a % PAGE_SIZE) as usize] = b;
            }
            self
        }
        fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
            (0..len as u64)
                .map(|i| {
                    let a = addr.checked_add(i)?;
                    self.0
                        .get(&(a / PAGE_SIZE))
                        .map(|p| p[(a % PAGE_SIZE) as usize])
                })
                .collect()
        }
    }

    fn fmt(nr: u64, args: [u64; 6], ret: i64, mem: &Mem) -> String {
        format(lookup(nr).unwrap(), &args, ret, &|a, l| mem.read(a, l))
    }

    #[test]
    fn openat_with_flags() {
        let mut m = Mem::new();
        m.put(0x1000, b"/etc/passwd\0");
        let at_fdcwd = -100i64 as u64;
        assert_eq!(
            fmt(257, [at_fdcwd, 0x1000, 0o2000000, 0, 0, 0], 3, &m),
            r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3"#
        );
        assert_eq!(
            fmt(257, [5, 0x1000, 0o1101, 0o644, 0, 0], -2, &m),
            r#"openat(5, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 ENOENT (No such file or directory)"#
        );
        assert_eq!(
            fmt(2, [0x1000, 0o20200002, 0o600, 0, 0, 0], 4, &m),
            r#"open("/etc/passwd", O_RDWR|O_TMPFILE, 0600) = 4"#
        );
        // A bad path pointer is shown as an address.
        assert_eq!(
            fmt(2, [0xdead000, 0, 0, 0, 0, 0], -14, &m),
            "open(0xdead000, O_RDONLY) = -1 EFAULT (Bad address)"
        );
    }

    #[test]
    fn write_and_read_buffers() {
        let mut m = Mem::new();
        m.put(0x2000, b"hello\n");
        assert_eq!(
            fmt(1, [1, 0x2000, 6, 0, 0, 0], 6, &m),
            r#"write(1, "hello\n", 6) = 6"#
        );
        m.put(
            0x3000,
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0",
        );
        assert_eq!(
            fmt(0, [3, 0x3000, 832, 0, 0, 0], 34, &m),
            r#"read(3, "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\0\0\0\0\0\0\0\0"..., 832) = 34"#
        );
        // A failed read shows the buffer's address.
        assert_eq!(
            fmt(0, [3, 0x3000, 832, 0, 0, 0], -9, &m),
            "read(3, 0x3000, 832) = -1 EBADF (Bad file descriptor)"
        );
        // An unreadable in-buffer.
        assert_eq!(
            fmt(1, [1, 0x9999000, 4, 0, 0, 0], -14, &m),
            "write(1, 0x9999000, 4) = -1 EFAULT (Bad address)"
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(quote(b"a\"b\\c\t\r\x0b\x0c", false), r#""a\"b\\c\t\r\v\f""#);
        assert_eq!(quote(b"\x001\x01x\xff", false), r#""\0001\1x\377""#);
        assert_eq!(quote(b"abc", true), r#""abc"..."#);
    }

    #[test]
    fn mmap_family() {
        let m = Mem::new();
        assert_eq!(
            fmt(9, [0, 8192, 3, 0x22, u64::MAX, 0], 0x7f12_3456_7000, &m),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234567000"
        );
        assert_eq!(
            fmt(10, [0x7f00_0000_0000, 4096, 0, 0, 0, 0], 0, &m),
            "mprotect(0x7f0000000000, 4096, PROT_NONE) = 0"
        );
        assert_eq!(
            fmt(12, [0, 0, 0, 0, 0, 0], 0x5555_5555_9000, &m),
            "brk(NULL) = 0x555555559000"
        );
        assert_eq!(
            fmt(9, [0, 4096, 1, 0x12, 3, 0], -12, &m),
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED, 3, 0) = -1 ENOMEM (Cannot allocate memory)"
        );
        assert_eq!(
            fmt(28, [0x1000, 4096, 4, 0, 0, 0], 0, &m),
            "madvise(0x1000, 4096, MADV_DONTNEED) = 0"
        );
        assert_eq!(
            fmt(25, [0x1000, 4096, 8192, 1, 0, 0], 0x2000, &m),
            "mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE) = 0x2000"
        );
    }

    #[test]
    fn clone_futex_and_signals() {
        let m = Mem::new();
        assert_eq!(
            fmt(56, [0x0120_0011, 0, 0, 0x7f00, 0, 0], 42, &m),
            "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, 0x7f00, 0x0) = 42"
        );
        assert_eq!(
            fmt(56, [0x0000_0f00 | 0x10000, 0, 0, 0, 0, 0], 7, &m),
            "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, NULL, NULL, NULL, 0x0) = 7"
        );
        assert_eq!(
            fmt(202, [0x4000, 128, 1, 0, 0, 0], 0, &m),
            "futex(0x4000, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0) = 0"
        );
        assert_eq!(
            fmt(202, [0x4000, 9 | 128 | 256, 1, 0, 0, 0], -110, &m),
            "futex(0x4000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0) = -1 ETIMEDOUT (Connection timed out)"
        );
        assert_eq!(
            fmt(62, [1234, 15, 0, 0, 0, 0], 0, &m),
            "kill(1234, SIGTERM) = 0"
        );
        assert_eq!(fmt(62, [u64::MAX, 0, 0, 0, 0, 0], 0, &m), "kill(-1, 0) = 0");
        assert_eq!(
            fmt(13, [34, 0, 0, 8, 0, 0], 0, &m),
            "rt_sigaction(SIGRT_2, NULL, NULL, 8) = 0"
        );
    }

    #[test]
    fn sigsets_and_timespecs() {
        let mut m = Mem::new();
        let int_term: u64 = (1 << 1) | (1 << 14);
        m.put(0x5000, &int_term.to_le_bytes());
        m.put(0x5100, &(!((1u64 << 8) | (1 << 18))).to_le_bytes());
        m.put(0x5200, &(3u64 << 31).to_le_bytes());
        assert_eq!(
            fmt(14, [0, 0x5000, 0x5100, 8, 0, 0], 0, &m),
            "rt_sigprocmask(SIG_BLOCK, [INT TERM], ~[KILL STOP], 8) = 0"
        );
        assert_eq!(
            fmt(14, [1, 0x5200, 0, 8, 0, 0], 0, &m),
            "rt_sigprocmask(SIG_UNBLOCK, [RTMIN RT_1], NULL, 8) = 0"
        );
        let mut ts = 1i64.to_le_bytes().to_vec();
        ts.extend(500_000_000i64.to_le_bytes());
        m.put(0x6000, &ts);
        assert_eq!(
            fmt(35, [0x6000, 0, 0, 0, 0, 0], 0, &m),
            "nanosleep({tv_sec=1, tv_nsec=500000000}, NULL) = 0"
        );
        assert_eq!(
            fmt(228, [1, 0x6000, 0, 0, 0, 0], 0, &m),
            "clock_gettime(CLOCK_MONOTONIC, {tv_sec=1, tv_nsec=500000000}) = 0"
        );
    }

    #[test]
    fn enums_and_small_flags() {
        let mut m = Mem::new();
        assert_eq!(
            fmt(158, [0x1002, 0x7f00, 0, 0, 0, 0], 0, &m),
            "arch_prctl(ARCH_SET_FS, 0x7f00) = 0"
        );
        assert_eq!(
            fmt(158, [0x3001, 0, 0, 0, 0, 0], -22, &m)
                .split(" = ")
                .next(),
            Some("arch_prctl(0x3001, 0x0)")
        );
        assert_eq!(fmt(72, [0, 1, 0, 0, 0, 0], 0, &m), "fcntl(0, F_GETFD) = 0");
        assert_eq!(
            fmt(72, [0, 2, 1, 0, 0, 0], 0, &m),
            "fcntl(0, F_SETFD, 0x1) = 0"
        );
        assert_eq!(
            fmt(8, [3, 0, 2, 0, 0, 0], 100, &m),
            "lseek(3, 0, SEEK_END) = 100"
        );
        assert_eq!(fmt(95, [0o22, 0, 0, 0, 0, 0], 0o22, &m), "umask(022) = 18");
        assert_eq!(
            fmt(302, [0, 7, 0, 0x7000, 0, 0], 0, &m),
            "prlimit64(0, RLIMIT_NOFILE, NULL, 0x7000) = 0"
        );
        assert_eq!(
            fmt(292, [3, 1, 0o2000000, 0, 0, 0], 1, &m),
            "dup3(3, 1, O_CLOEXEC) = 1"
        );
        assert_eq!(
            fmt(16, [1, 0x5413, 0x7000, 0, 0, 0], 0, &m),
            "ioctl(1, TIOCGWINSZ, 0x7000) = 0"
        );
        m.put(0x1000, b"\0");
        assert_eq!(
            fmt(262, [1, 0x1000, 0x7000, 0x1000, 0, 0], 0, &m),
            r#"newfstatat(1, "", 0x7000, AT_EMPTY_PATH) = 0"#
        );
        assert_eq!(
            fmt(318, [0x1000, 0, 1, 0, 0, 0], 0, &m),
            r#"getrandom("", 0, GRND_NONBLOCK) = 0"#
        );
        assert_eq!(
            fmt(41, [2, 1 | 0o2000000, 0, 0, 0, 0], -97, &m)
                .split(" = ")
                .next(),
            Some("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)")
        );
    }

    #[test]
    fn out_strings_iovecs_and_argv() {
        let mut m = Mem::new();
        m.put(0x1000, b"/home/user\0garbage");
        assert_eq!(
            fmt(79, [0x1000, 4096, 0, 0, 0, 0], 11, &m),
            r#"getcwd("/home/user", 4096) = 11"#
        );
        m.put(0x2000, b"/bin/true");
        m.put(0x3000, b"/proc/self/exe\0");
        assert_eq!(
            fmt(89, [0x3000, 0x2000, 4096, 0, 0, 0], 9, &m),
            r#"readlink("/proc/self/exe", "/bin/true", 4096) = 9"#
        );
        m.put(0x4000, b"hello");
        m.put(0x4100, b"\n");
        let mut iov = Vec::new();
        for (base, len) in [(0x4000u64, 5u64), (0x4100, 1)] {
            iov.extend(base.to_le_bytes());
            iov.extend(len.to_le_bytes());
        }
        m.put(0x5000, &iov);
        assert_eq!(
            fmt(20, [1, 0x5000, 2, 0, 0, 0], 6, &m),
            r#"writev(1, [{iov_base="hello", iov_len=5}, {iov_base="\n", iov_len=1}], 2) = 6"#
        );
        assert_eq!(
            fmt(19, [0, 0x5000, 2, 0, 0, 0], 3, &m),
            r#"readv(0, [{iov_base="hel", iov_len=5}, {iov_base="", iov_len=1}], 2) = 3"#
        );
        m.put(0x6000, b"ls\0");
        m.put(0x6100, b"-l\0");
        let mut argv = Vec::new();
        for p in [0x6000u64, 0x6100, 0] {
            argv.extend(p.to_le_bytes());
        }
        m.put(0x7000, &argv);
        m.put(0x8000, b"/bin/ls\0");
        assert_eq!(
            fmt(59, [0x8000, 0x7000, 0x7000, 0, 0, 0], 0, &m),
            r#"execve("/bin/ls", ["ls", "-l"], 0x7000 /* 2 vars */) = 0"#
        );
    }

    #[test]
    fn strings_cross_pages_and_long_paths() {
        // Paths are shown whole, across pages; a string running into an unmapped page
        // is shown as its address.
        let mut m = Mem::new();
        let long = "a".repeat(100);
        m.put(0xfff0, format!("{long}\0").as_bytes());
        assert_eq!(
            fmt(87, [0xfff0, 0, 0, 0, 0, 0], 0, &m),
            format!("unlink(\"{long}\") = 0")
        );
        m.put(0x30ffc, b"abcd");
        assert_eq!(
            fmt(87, [0x30ffc, 0, 0, 0, 0, 0], -14, &m),
            "unlink(0x30ffc) = -1 EFAULT (Bad address)"
        );
        let mut data = vec![b'x'; 40];
        data.push(0);
        m.put(0x20000, &data);
        assert_eq!(
            fmt(1, [1, 0x20000, 40, 0, 0, 0], 40, &m),
            format!("write(1, \"{}\"..., 40) = 40", "x".repeat(32))
        );
    }

    #[test]
    fn preadv2_skips_the_high_offset_half() {
        let m = Mem::new();
        assert_eq!(
            fmt(327, [3, 0x5000, 1, 10, 0, 8], -11, &m),
            "preadv2(3, 0x5000, 1, 10, RWF_NOWAIT) = -1 EAGAIN (Resource temporarily unavailable)"
        );
    }

    #[test]
    fn calls_that_do_not_return() {
        let m = Mem::new();
        let read = |a, l| m.read(a, l);
        assert_eq!(
            format!(
                "{} = ?",
                format_call(lookup(231).unwrap(), &[3, 0, 0, 0, 0, 0], &read)
            ),
            "exit_group(3) = ?"
        );
        assert_eq!(
            format_call(lookup(0).unwrap(), &[0, 0x1000, 5, 0, 0, 0], &read),
            "read(0, 0x1000, 5)"
        );
    }

    #[test]
    fn unknown_and_returns() {
        assert_eq!(
            format_unknown(0x1c3, &[1, 2, 3, 4, 5, 6], -38),
            "syscall_0x1c3(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(format_ret(0), "0");
        assert_eq!(format_ret(-4096), "-4096");
        assert_eq!(
            format_ret(-512),
            "-1 ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(format_ret(-600), "-1 (errno 600)");
    }
}
