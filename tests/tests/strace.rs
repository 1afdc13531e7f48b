//! `runsc --strace`: the syscall log goes to stderr and the program's stdout
//! is untouched.

use tests::{
    Link, TempDir, available_platforms, build_program, native_command, run, runsc_command,
};

#[test]
fn strace_logs_syscalls_to_stderr() {
    let hello = build_program("hello", Link::Static);
    let dir = TempDir::new("strace");
    let native = run(native_command(&hello, &[], dir.path()), b"", tests::TIMEOUT);
    assert_eq!(native.status, 0);
    for platform in available_platforms("strace_logs_syscalls_to_stderr") {
        let traced = run(
            runsc_command(&platform, &["--strace"], &hello, &[], dir.path()),
            b"",
            tests::TIMEOUT,
        );
        let stderr = traced.stderr_str();
        assert_eq!(traced.status, 0, "platform {platform}: stderr:\n{stderr}");
        assert_eq!(
            traced.stdout_str(),
            native.stdout_str(),
            "platform {platform}: --strace changed the program's stdout"
        );
        for needle in ["write(1, ", "exit_group("] {
            assert!(
                stderr.contains(needle),
                "platform {platform}: --strace output has no `{needle}`:\n{stderr}"
            );
        }
    }
}
