//! Linux signal numbers (x86-64) and their names, the realtime ones named as strace
//! names them (`SIGRTMIN`, `SIGRT_1` … `SIGRT_32`).

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGIOT: i32 = SIGABRT;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGSTKFLT: i32 = 16;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGVTALRM: i32 = 26;
pub const SIGPROF: i32 = 27;
pub const SIGWINCH: i32 = 28;
pub const SIGIO: i32 = 29;
pub const SIGPOLL: i32 = SIGIO;
pub const SIGPWR: i32 = 30;
pub const SIGSYS: i32 = 31;
/// The first realtime signal as the kernel numbers it (glibc reserves 32 and 33).
pub const SIGRTMIN: i32 = 32;
pub const SIGRTMAX: i32 = 64;
/// The highest signal number (`_NSIG - 1`).
pub const NSIG: i32 = 64;

#[rustfmt::skip]
const NAMES: [&str; 65] = [
    "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    "SIGRTMIN", "SIGRT_1", "SIGRT_2", "SIGRT_3", "SIGRT_4", "SIGRT_5", "SIGRT_6", "SIGRT_7",
    "SIGRT_8", "SIGRT_9", "SIGRT_10", "SIGRT_11", "SIGRT_12", "SIGRT_13", "SIGRT_14",
    "SIGRT_15", "SIGRT_16", "SIGRT_17", "SIGRT_18", "SIGRT_19", "SIGRT_20", "SIGRT_21",
    "SIGRT_22", "SIGRT_23", "SIGRT_24", "SIGRT_25", "SIGRT_26", "SIGRT_27", "SIGRT_28",
    "SIGRT_29", "SIGRT_30", "SIGRT_31", "SIGRT_32",
];

/// The name of signal `signo`, e.g. `SIGSEGV`; `None` outside 1..=64.
pub fn name(signo: i32) -> Option<&'static str> {
    NAMES
        .get(usize::try_from(signo).ok()?)
        .copied()
        .filter(|n| !n.is_empty())
}

/// The signal called `name` (with or without the `SIG` prefix).
pub fn from_name(name: &str) -> Option<i32> {
    let full = if name.starts_with("SIG") {
        name.to_owned()
    } else {
        format!("SIG{name}")
    };
    match full.as_str() {
        "SIGIOT" => Some(SIGIOT),
        "SIGPOLL" => Some(SIGPOLL),
        "SIGRTMAX" => Some(SIGRTMAX),
        n => NAMES
            .iter()
            .position(|&x| x == n && !x.is_empty())
            .map(|i| i as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(SIGSEGV), Some("SIGSEGV"));
        assert_eq!(name(SIGCHLD), Some("SIGCHLD"));
        assert_eq!(name(SIGSYS), Some("SIGSYS"));
        assert_eq!(name(SIGRTMIN), Some("SIGRTMIN"));
        assert_eq!(name(33), Some("SIGRT_1"));
        assert_eq!(name(SIGRTMAX), Some("SIGRT_32"));
        assert_eq!(name(0), None);
        assert_eq!(name(65), None);
        assert_eq!(name(-1), None);
        assert_eq!(from_name("TERM"), Some(SIGTERM));
        assert_eq!(from_name("SIGRT_5"), Some(37));
        for s in 1..=NSIG {
            assert_eq!(from_name(name(s).unwrap()), Some(s));
        }
    }
}
