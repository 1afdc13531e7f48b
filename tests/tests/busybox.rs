//! Real program: Debian's static busybox, natively and under runsc, on
//! every available platform. A missing /bin/busybox fails the test with what
//! to install.

use tests::{Case, busybox};

fn check(test: &str, args: &[&str], expected_status: i32) {
    Case {
        program: busybox(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        expected_status,
    }
    .check(test);
}

#[test]
fn busybox_echo() {
    check("busybox_echo", &["echo", "hello"], 0);
}

#[test]
fn busybox_printf() {
    check("busybox_printf", &["printf", "%s-%d\\n", "a", "5"], 0);
}

#[test]
fn busybox_seq_100000() {
    check("busybox_seq_100000", &["seq", "1", "100000"], 0);
}

#[test]
fn busybox_sh_arithmetic_and_exit_status() {
    check(
        "busybox_sh_arithmetic_and_exit_status",
        &["sh", "-c", "echo $((6*7)); exit 7"],
        7,
    );
}
