//! Capabilities (capabilities(7)): a thread's five sets and securebits, and how they
//! change on uid changes and on execve. No file capabilities: an executable's extended
//! attributes grant nothing (the syscall table says so).

/// The highest capability number this kernel knows (CAP_CHECKPOINT_RESTORE), as
/// /proc/sys/kernel/cap_last_cap shows.
pub const CAP_LAST_CAP: u32 = 40;
/// Every valid capability.
pub const ALL: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_IPC_OWNER: u32 = 15;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_SYS_TIME: u32 = 25;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_MAC_OVERRIDE: u32 = 32;
pub const CAP_WAKE_ALARM: u32 = 35;
pub const CAP_BLOCK_SUSPEND: u32 = 36;

/// The names, by number, as OCI bundles and capabilities(7) spell them.
pub const NAMES: [&str; CAP_LAST_CAP as usize + 1] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability named `CAP_X` or `X` (any case), as runc accepts them.
pub fn by_name(name: &str) -> Option<u32> {
    let up = name.to_ascii_uppercase();
    let bare = up.strip_prefix("CAP_").unwrap_or(&up);
    NAMES.iter().position(|n| &n[4..] == bare).map(|i| i as u32)
}

/// The capabilities a file-system uid change of root drops and restores (CAP_FS_MASK).
pub const FS_MASK: u64 = bit(CAP_CHOWN)
    | bit(CAP_DAC_OVERRIDE)
    | bit(CAP_DAC_READ_SEARCH)
    | bit(CAP_FOWNER)
    | bit(CAP_FSETID)
    | bit(CAP_LINUX_IMMUTABLE)
    | bit(CAP_MKNOD)
    | bit(CAP_MAC_OVERRIDE);

pub const fn bit(cap: u32) -> u64 {
    1u64 << cap
}

/// securebits (capabilities(7) "The securebits flags").
pub const SECBIT_NOROOT: u32 = 1 << 0;
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
/// Every flag this kernel has (the four above and SECBIT_EXEC_RESTRICT_FILE,
/// SECBIT_EXEC_DENY_INTERACTIVE, which only interpreters act on): even bits.
pub const SECURE_ALL_BITS: u32 = 0x155;
/// Their locks: the odd bit above each.
pub const SECURE_ALL_LOCKS: u32 = SECURE_ALL_BITS << 1;

/// A thread's capability sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

impl Caps {
    /// What a process of `uid` started by a root shell with every capability gets:
    /// root all of them, anyone else none (the bounding set stays full).
    pub fn for_uid(uid: u32) -> Caps {
        let full = if uid == 0 { ALL } else { 0 };
        Caps {
            effective: full,
            permitted: full,
            inheritable: 0,
            bounding: ALL,
            ambient: 0,
        }
    }

    pub fn has(&self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.effective & bit(cap) != 0
    }
}

/// The ids a uid change moves between (real, effective, saved, fs).
#[derive(Clone, Copy, Debug)]
pub struct Uids {
    pub ruid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
}

/// cap_task_fix_setuid for setuid, setreuid and setresuid: leaving root for good drops
/// the permitted and effective sets (unless keepcaps) and the ambient set; an effective
/// uid that leaves 0 drops the effective set, one that becomes 0 takes the permitted.
pub fn fix_setuid(c: &mut Caps, securebits: u32, old: Uids, new: Uids) {
    if securebits & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    let had_root = old.ruid == 0 || old.euid == 0 || old.suid == 0;
    let has_root = new.ruid == 0 || new.euid == 0 || new.suid == 0;
    if had_root && !has_root {
        if securebits & SECBIT_KEEP_CAPS == 0 {
            c.permitted = 0;
            c.effective = 0;
        }
        c.ambient = 0;
    }
    if old.euid == 0 && new.euid != 0 {
        c.effective = 0;
    }
    if old.euid != 0 && new.euid == 0 {
        c.effective = c.permitted;
    }
}

/// cap_task_fix_setuid for setfsuid: the file-system capabilities follow fsuid 0.
pub fn fix_setfsuid(c: &mut Caps, securebits: u32, old_fsuid: u32, new_fsuid: u32) {
    if securebits & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    if old_fsuid == 0 && new_fsuid != 0 {
        c.effective &= !FS_MASK;
    }
    if old_fsuid != 0 && new_fsuid == 0 {
        c.effective |= c.permitted & FS_MASK;
    }
}

/// The transformation execve(2) makes (capabilities(7) "Transformation of capabilities
/// during execve()") for a file without capabilities and without set-user-ID: root (real
/// or effective, unless SECBIT_NOROOT) gets the bounding and inheritable sets as
/// permitted, and an effective root has them effective; everyone else keeps only the
/// ambient set. With no_new_privs nothing is gained. Keepcaps is cleared.
pub fn exec(c: &mut Caps, securebits: &mut u32, ruid: u32, euid: u32, no_new_privs: bool) {
    let mut permitted = 0;
    let mut effective = false;
    if *securebits & SECBIT_NOROOT == 0 {
        if euid == 0 || ruid == 0 {
            permitted = c.bounding | c.inheritable;
        }
        effective = euid == 0;
    }
    if no_new_privs && permitted & !c.permitted != 0 {
        permitted &= c.permitted;
    }
    c.permitted = permitted | c.ambient;
    c.effective = if effective { c.permitted } else { c.ambient };
    *securebits &= !SECBIT_KEEP_CAPS;
}

/// What execve(2) would give a program this host process starts: its own sets, ids and
/// no_new_privs from /proc/self/status, transformed. Read before the process changes
/// its own credentials (`runsc do` gives its program what Linux would). None if the
/// file cannot be read or parsed.
pub fn host_exec() -> Option<(Caps, bool)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| s.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let hex = |name: &str| field(name).and_then(|v| u64::from_str_radix(v, 16).ok());
    let mut c = Caps {
        inheritable: hex("CapInh:")?,
        permitted: hex("CapPrm:")?,
        effective: hex("CapEff:")?,
        bounding: hex("CapBnd:")?,
        ambient: hex("CapAmb:")?,
    };
    let uids: Vec<u32> = field("Uid:")?
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let nnp = field("NoNewPrivs:") == Some("1");
    // The host's securebits are not shown; a runtime's are the default (none).
    let mut securebits = 0;
    exec(&mut c, &mut securebits, *uids.first()?, *uids.get(1)?, nnp);
    Some((c, nnp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(by_name("CAP_SYS_ADMIN"), Some(CAP_SYS_ADMIN));
        assert_eq!(by_name("net_raw"), Some(CAP_NET_RAW));
        assert_eq!(by_name("CAP_CHECKPOINT_RESTORE"), Some(CAP_LAST_CAP));
        assert_eq!(by_name("CAP_NOPE"), None);
        assert_eq!(ALL, 0x1ff_ffff_ffff);
    }

    #[test]
    fn root_leaving_drops_unless_keepcaps() {
        let root = Uids {
            ruid: 0,
            euid: 0,
            suid: 0,
            fsuid: 0,
        };
        let user = Uids {
            ruid: 1,
            euid: 1,
            suid: 1,
            fsuid: 1,
        };
        let mut c = Caps::for_uid(0);
        fix_setuid(&mut c, 0, root, user);
        assert_eq!((c.permitted, c.effective), (0, 0));
        let mut c = Caps::for_uid(0);
        fix_setuid(&mut c, SECBIT_KEEP_CAPS, root, user);
        assert_eq!((c.permitted, c.effective), (ALL, 0));
    }

    #[test]
    fn exec_of_non_root_keeps_ambient_only() {
        let mut c = Caps::for_uid(0);
        c.inheritable = bit(CAP_KILL);
        c.ambient = bit(CAP_KILL);
        let mut sb = SECBIT_KEEP_CAPS;
        exec(&mut c, &mut sb, 1, 1, false);
        assert_eq!(
            (c.permitted, c.effective, sb),
            (bit(CAP_KILL), bit(CAP_KILL), 0)
        );
    }
}
