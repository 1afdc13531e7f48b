//! The runsc command line: bad input is one `runsc: ` line on stderr and a
//! non-zero exit (never a panic), `--version` names the commit, and the
//! `syscalls` support report comes in json, csv and table form.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tests::{Link, Outcome, TIMEOUT, TempDir, build_program, platforms, run, runsc};

/// The platform the error tests name explicitly, so that a default platform
/// that is unavailable here does not mask the error under test.
fn platform_flag() -> String {
    format!("--platform={}", platforms()[0])
}

fn runsc_do(program: &Path) -> Outcome {
    let mut cmd = Command::new(runsc());
    cmd.arg(platform_flag()).arg("do").arg("--").arg(program);
    run(cmd, b"", TIMEOUT)
}

/// Exactly one stderr line, starting `runsc: ` and mentioning `mention`;
/// nothing on stdout; an ordinary non-zero exit (not a signal: with
/// panic=abort a panic would be SIGABRT).
fn assert_one_line_error(what: &str, out: &Outcome, mention: &str) {
    let stderr = out.stderr_str();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        out.status != 0 && out.status < 128,
        "{what}: want a non-zero exit status without a signal, got {}; stderr:\n{stderr}",
        tests::describe_status(out.status)
    );
    assert_eq!(
        lines.len(),
        1,
        "{what}: want exactly one stderr line, got:\n{stderr}"
    );
    assert!(
        lines[0].starts_with("runsc: "),
        "{what}: the line must start with `runsc: `: {stderr}"
    );
    assert!(
        lines[0].contains(mention),
        "{what}: the error should name `{mention}`: {stderr}"
    );
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(
            !stderr.contains(bad),
            "{what}: stderr contains `{bad}`: {stderr}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "{what}: unexpected stdout: {}",
        out.stdout_str()
    );
}

fn write_file(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("writing a fixture");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    p
}

/// A minimal i386 ELF32 executable: one PT_LOAD and `exit(0)` via int $0x80.
fn elf32_i386() -> Vec<u8> {
    let code: &[u8] = &[0xb8, 1, 0, 0, 0, 0xbb, 0, 0, 0, 0, 0xcd, 0x80];
    let base: u32 = 0x0804_8000;
    let total = (52 + 32 + code.len()) as u32;
    let mut f = Vec::new();
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type = ET_EXEC
    f.extend_from_slice(&3u16.to_le_bytes()); // e_machine = EM_386
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&(base + 52 + 32).to_le_bytes()); // e_entry
    f.extend_from_slice(&52u32.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [52u16, 32, 1, 40, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        f.extend_from_slice(&v.to_le_bytes());
    }
    for v in [1u32, 0, base, base, total, total, 5, 0x1000] {
        // p_type = PT_LOAD, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags = R+X, p_align
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(code);
    f
}

/// A minimal AArch64 ELF64 executable: one PT_LOAD and `exit(0)` via svc #0.
fn elf64_aarch64() -> Vec<u8> {
    let code: [u32; 3] = [0xd280_0000, 0xd280_0ba8, 0xd400_0001]; // mov x0,#0; mov x8,#93; svc #0
    let base: u64 = 0x40_0000;
    let total = (64 + 56 + 4 * code.len()) as u64;
    let mut f = Vec::new();
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type = ET_EXEC
    f.extend_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&(base + 64 + 56).to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 1, 64, 0, 0] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&1u32.to_le_bytes()); // p_type = PT_LOAD
    f.extend_from_slice(&5u32.to_le_bytes()); // p_flags = R+X
    for v in [0u64, base, base, total, total, 0x1000] {
        // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        f.extend_from_slice(&v.to_le_bytes());
    }
    for insn in code {
        f.extend_from_slice(&insn.to_le_bytes());
    }
    f
}

#[test]
fn unknown_platform_is_one_line_error() {
    let hello = build_program("hello", Link::Static);
    let mut cmd = Command::new(runsc());
    cmd.arg("--platform=nope").arg("do").arg("--").arg(&hello);
    assert_one_line_error("--platform=nope", &run(cmd, b"", TIMEOUT), "nope");
}

#[test]
fn missing_program_is_one_line_error() {
    let dir = TempDir::new("cli-missing");
    let p = dir.path().join("does-not-exist");
    assert_one_line_error("missing program", &runsc_do(&p), "does-not-exist");
}

#[test]
fn text_file_is_one_line_error() {
    let dir = TempDir::new("cli-text");
    let p = write_file(
        &dir,
        "plain-text",
        b"this is not an executable\njust text\n",
    );
    assert_one_line_error("text file", &runsc_do(&p), "plain-text");
}

#[test]
fn elf32_is_one_line_error() {
    let dir = TempDir::new("cli-elf32");
    let p = write_file(&dir, "i386-elf", &elf32_i386());
    assert_one_line_error("32-bit ELF", &runsc_do(&p), "i386-elf");
}

#[test]
fn aarch64_elf_is_one_line_error() {
    let dir = TempDir::new("cli-aarch64");
    let p = write_file(&dir, "aarch64-elf", &elf64_aarch64());
    assert_one_line_error("aarch64 ELF", &runsc_do(&p), "aarch64-elf");
}

#[test]
fn directory_is_one_line_error() {
    let dir = TempDir::new("cli-dir");
    let p = dir.path().join("a-directory");
    std::fs::create_dir(&p).expect("mkdir");
    assert_one_line_error("directory", &runsc_do(&p), "a-directory");
}

#[test]
fn version_has_commit_line() {
    let mut cmd = Command::new(runsc());
    cmd.arg("--version");
    let out = run(cmd, b"", TIMEOUT);
    let stdout = out.stdout_str();
    assert_eq!(
        out.status,
        0,
        "runsc --version failed: {}",
        out.stderr_str()
    );
    assert!(
        stdout.lines().next().is_some_and(|l| !l.trim().is_empty()),
        "no version line: {stdout:?}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("commit:")),
        "no `commit:` line in:\n{stdout}"
    );
}

fn syscalls(format: &str) -> Outcome {
    let mut cmd = Command::new(runsc());
    cmd.arg("syscalls").arg(format!("--format={format}"));
    run(cmd, b"", TIMEOUT)
}

#[test]
fn syscalls_json_lists_the_table() {
    let out = syscalls("json");
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_str());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let rows = v.as_array().expect("a JSON array");
    assert!(rows.len() >= 370, "only {} syscalls listed", rows.len());
    for row in rows {
        assert!(row["nr"].is_u64(), "bad nr in {row}");
        assert!(
            row["name"].as_str().is_some_and(|s| !s.is_empty()),
            "bad name in {row}"
        );
        assert!(
            row["status"].as_str().is_some_and(|s| !s.is_empty()),
            "bad status in {row}"
        );
    }
    let nr_of = |name: &str| {
        rows.iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["nr"].as_u64())
    };
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
    assert_eq!(nr_of("read"), Some(0));
    assert_eq!(nr_of("write"), Some(1));
    assert_eq!(nr_of("exit_group"), Some(231));
}

#[test]
fn syscalls_csv_and_table_work() {
    for format in ["csv", "table"] {
        let out = syscalls(format);
        let stdout = out.stdout_str();
        assert_eq!(
            out.status,
            0,
            "--format={format}: stderr: {}",
            out.stderr_str()
        );
        let lines = stdout.lines().filter(|l| !l.trim().is_empty()).count();
        assert!(lines >= 370, "--format={format}: only {lines} lines");
        assert!(
            stdout.contains("exit_group"),
            "--format={format}: no exit_group"
        );
        if format == "csv" {
            assert!(
                stdout
                    .lines()
                    .filter(|l| !l.is_empty())
                    .all(|l| l.contains(',')),
                "--format=csv: a line without a comma"
            );
        }
    }
}

#[test]
fn syscalls_unknown_format_is_one_line_error() {
    assert_one_line_error("--format=xml", &syscalls("xml"), "xml");
}

/// An unsupported syscall gets the errno the table gives it (ENOSYS by default) and is
/// logged once per name in the `--log` file, however often it is made; an undefined
/// number gets ENOSYS too.
#[test]
fn unsupported_syscalls_get_table_errno_and_are_logged_once() {
    let out = Command::new(runsc())
        .args(["syscalls", "--format=json"])
        .output()
        .expect("runsc syscalls");
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).expect("syscalls json");
    let unsupported: Vec<(u64, String, String)> = table
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["status"] == "unsupported")
        .map(|e| {
            let nr = e["nr"].as_u64().expect("nr");
            let name = e["name"].as_str().expect("name").to_string();
            let errno = e["errno"].as_str().unwrap_or("ENOSYS").to_string();
            (nr, name, errno)
        })
        .take(2)
        .collect();
    assert_eq!(unsupported.len(), 2, "the table has unsupported syscalls");
    let prog = build_program("raw_syscalls", Link::Static);
    let dir = TempDir::new("unsupported");
    let log = dir.path().join("runsc.log");
    let mut cmd = Command::new(runsc());
    cmd.arg(platform_flag())
        .arg("--log")
        .arg(&log)
        .arg("do")
        .arg("--")
        .arg(&prog);
    for (nr, _, _) in &unsupported {
        cmd.arg(nr.to_string());
    }
    cmd.arg("1000");
    let out = run(cmd, b"", TIMEOUT);
    assert_eq!(out.status, 0, "stderr: {}", out.stderr_str());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut want = String::new();
    for (nr, _, errno) in &unsupported {
        want.push_str(&format!("{nr}: -1 {errno}\n{nr}: -1 {errno}\n"));
    }
    want.push_str("1000: -1 ENOSYS\n1000: -1 ENOSYS\n");
    assert_eq!(stdout, want);
    let logged = std::fs::read_to_string(&log).expect("reading the log");
    for (nr, name, _) in &unsupported {
        let n = logged
            .lines()
            .filter(|l| l.contains(&format!("syscall {name} ({nr})")))
            .count();
        assert_eq!(n, 1, "{name} logged {n} times in:\n{logged}");
    }
    let n = logged
        .lines()
        .filter(|l| l.contains("syscall 1000 "))
        .count();
    assert_eq!(n, 1, "syscall 1000 logged {n} times in:\n{logged}");
}

fn runsc_network(network: &str, program: &Path, args: &[&str]) -> Outcome {
    let mut cmd = Command::new(runsc());
    cmd.arg(platform_flag())
        .arg(format!("--network={network}"))
        .arg("do")
        .arg("--")
        .arg(program)
        .args(args);
    run(cmd, b"", TIMEOUT)
}

/// `--network=none` is a loopback of the sandbox's own: a listener on the host's
/// 127.0.0.1 is out of reach (ECONNREFUSED, nothing arrives); `--network=host` reaches
/// it, and what the sandbox sends arrives.
#[test]
fn network_none_cannot_reach_host_listener_host_can() {
    use std::io::Read;
    let prog = build_program("inet_reach", Link::Static);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listening on the host");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let port = listener
        .local_addr()
        .expect("local address")
        .port()
        .to_string();

    let none = runsc_network("none", &prog, &[&port]);
    assert_eq!(none.status, 0, "stderr:\n{}", none.stderr_str());
    assert_eq!(none.stdout_str(), "connect: ECONNREFUSED\n");
    assert!(
        listener.accept().is_err(),
        "--network=none reached the host's listener"
    );

    let host = runsc_network("host", &prog, &[&port]);
    assert_eq!(host.status, 0, "stderr:\n{}", host.stderr_str());
    assert_eq!(host.stdout_str(), "connected\n");
    let (mut conn, _) = listener.accept().expect("the sandbox's connection");
    conn.set_nonblocking(false).expect("blocking connection");
    let mut got = String::new();
    conn.read_to_string(&mut got)
        .expect("reading the connection");
    assert_eq!(got, "hello from the sandbox\n");
}

#[test]
fn network_sandbox_and_unknown_are_one_line_errors() {
    let hello = build_program("hello", Link::Static);
    let out = runsc_network("sandbox", &hello, &[]);
    assert_one_line_error("--network=sandbox", &out, "none");
    let out = runsc_network("bogus", &hello, &[]);
    assert_one_line_error("--network=bogus", &out, "bogus");
}
