//! `--strace` formatting: one line per syscall, arguments decoded from the table.

use crate::{Errno, Syscall};

/// Formats `name(args…) = result` for a finished syscall. `read_mem(addr, len)` reads
/// application memory (None on a bad address).
pub fn format(
    sc: &Syscall,
    args: &[u64; 6],
    ret: i64,
    _read_mem: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
) -> String {
    let a: Vec<String> = args
        .iter()
        .take(sc.args.len())
        .map(|v| format!("{v:#x}"))
        .collect();
    format!("{}({}) = {}", sc.name, a.join(", "), format_ret(ret))
}

pub fn format_ret(ret: i64) -> String {
    if (-4095..0).contains(&ret) {
        let e = Errno(-ret as i32);
        format!("-1 {} ({})", e.name().unwrap_or("E?"), e.message())
    } else {
        ret.to_string()
    }
}
