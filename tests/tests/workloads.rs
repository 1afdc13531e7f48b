//! The CI workloads the sandbox exists for, natively and under runsc with the host root
//! as the lower layer: shell pipelines and background jobs, a parallel `make` of a C
//! project with gcc, Python with threads and subprocesses. Output and status must be
//! identical. And killing runsc in the middle of a `make -j2` leaves no process behind.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tests::procs::{descendants, describe, is_gone, kill_survivors};
use tests::{
    Case, TIMEOUT, TempDir, available_platforms, compare, kill_group, native_command, run,
    runsc_command, target_dir,
};

fn installed(test: &str, programs: &[&str]) -> bool {
    for p in programs {
        if !Path::new(p).exists() {
            tests::skip(&format!("{test}: {p} is not installed on this machine"));
            return false;
        }
    }
    true
}

fn check(test: &str, program: &str, args: &[&str]) {
    if !installed(test, &[program]) {
        return;
    }
    Case {
        program: program.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: Vec::new(),
        expected_status: 0,
    }
    .check(test);
}

#[test]
fn bash_pipeline_sort_tail() {
    check(
        "bash_pipeline_sort_tail",
        "/bin/bash",
        &[
            "-c",
            "for i in $(seq 1 50); do echo $i; done | sort -n | tail -3",
        ],
    );
}

#[test]
fn bash_background_job_and_wait() {
    check(
        "bash_background_job_and_wait",
        "/bin/bash",
        &["-c", "sleep 0.2 & wait; echo done"],
    );
}

#[test]
fn python3_threads_and_subprocesses() {
    check(
        "python3_threads_and_subprocesses",
        "/usr/bin/python3",
        &[
            "-c",
            "import subprocess, threading\n\
             out = [None] * 20\n\
             def work(i):\n\
             \x20   for j in range(i, 20, 8):\n\
             \x20       r = subprocess.run(['sh', '-c', 'echo $((%d*%d))' % (j, j)], capture_output=True, text=True)\n\
             \x20       out[j] = r.stdout.strip()\n\
             ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n\
             [t.start() for t in ts]\n\
             [t.join() for t in ts]\n\
             print(' '.join(out))",
        ],
    );
}

/// Writes a C project of 20 source files, main.c and a Makefile into `dir`; `prog`
/// prints the sum of what the 20 functions return.
fn write_project(dir: &Path) {
    let mut main = String::from("#include <stdio.h>\n");
    for i in 1..=20 {
        std::fs::write(
            dir.join(format!("f{i}.c")),
            format!("int f{i}(int x) {{ int s = 0; for (int k = 0; k < x; k++) s += k * {i}; return s + {i}; }}\n"),
        )
        .expect("writing a source file");
        main.push_str(&format!("int f{i}(int);\n"));
    }
    main.push_str("int main(void) {\n    long s = 0;\n");
    for i in 1..=20 {
        main.push_str(&format!("    s += f{i}({});\n", i * 3));
    }
    main.push_str("    printf(\"sum=%ld\\n\", s);\n    return 0;\n}\n");
    std::fs::write(dir.join("main.c"), main).expect("writing main.c");
    std::fs::write(
        dir.join("Makefile"),
        "OBJS = main.o $(patsubst %.c,%.o,$(wildcard f*.c))\n\
         prog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n\
         %.o: %.c\n\tgcc -O2 -c $< -o $@\n",
    )
    .expect("writing the Makefile");
}

const MAKE_AND_RUN: &str = "make -s -j2 && ./prog";

/// `make -j2` of a 20-file project with gcc, natively and in the sandbox (each in a
/// fresh copy of the project, outside /tmp, which the sandbox replaces with its own).
#[test]
fn make_j2_builds_a_c_project() {
    let test = "make_j2_builds_a_c_project";
    if !installed(test, &["/bin/sh", "/usr/bin/make", "/usr/bin/gcc"]) {
        return;
    }
    let sh = Path::new("/bin/sh");
    let native_dir = TempDir::new_in(&target_dir(), "make-native");
    write_project(native_dir.path());
    let native = run(
        native_command(sh, &["-c", MAKE_AND_RUN], native_dir.path()),
        &[],
        TIMEOUT,
    );
    assert_eq!(
        native.status,
        0,
        "{test}: the native build failed:\n{}",
        native.stderr_str()
    );
    assert!(native.stdout_str().starts_with("sum="), "{test}: native output");
    let mut failures = String::new();
    for platform in available_platforms(test) {
        let dir = TempDir::new_in(&target_dir(), "make-runsc");
        write_project(dir.path());
        let sandboxed = run(
            runsc_command(&platform, &[], sh, &["-c", MAKE_AND_RUN], dir.path()),
            &[],
            TIMEOUT * 3,
        );
        if let Err(report) = compare(&native, &sandboxed) {
            failures.push_str(&format!("{test} on {platform}:\n{report}\n"));
        }
        // The build's outputs stayed in the sandbox's overlay.
        if dir.path().join("prog").exists() {
            failures.push_str(&format!("{test} on {platform}: prog reached the host\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// SIGKILL to runsc while `make -j2` runs compilers: every process runsc made is gone
/// within 2 s.
#[test]
fn killing_runsc_during_make_leaves_nothing_behind() {
    let test = "killing_runsc_during_make_leaves_nothing_behind";
    if !installed(test, &["/bin/sh", "/usr/bin/make", "/usr/bin/gcc"]) {
        return;
    }
    for platform in available_platforms(test) {
        let dir = TempDir::new_in(&target_dir(), "make-kill");
        write_project(dir.path());
        let mut cmd = runsc_command(
            &platform,
            &[],
            Path::new("/bin/sh"),
            &["-c", "while :; do make -s -j2 >/dev/null 2>&1; rm -f *.o prog; done"],
            dir.path(),
        );
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().expect("spawning runsc");
        let pid = child.id() as i32;
        let start = Instant::now();
        let mut seen = std::collections::BTreeSet::new();
        // Let the build get going: several processes (compilers) under runsc. kvm runs
        // them all in vCPUs of runsc itself: only its gofer is there to be seen.
        let want = if platform == "kvm" { 1 } else { 6 };
        while start.elapsed() < Duration::from_secs(20) {
            seen.extend(descendants(pid));
            if seen.len() >= want && start.elapsed() > Duration::from_millis(1500) {
                break;
            }
            if child.try_wait().expect("waiting for runsc").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // SAFETY: kill only sends a signal, to our own unreaped child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        let deadline = Instant::now() + TIMEOUT;
        while child.try_wait().expect("waiting for runsc").is_none() {
            if Instant::now() > deadline {
                kill_group(&child);
                panic!("{test} on {platform}: runsc did not die");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            seen.len() >= 3 || platform == "kvm",
            "{test} on {platform}: the build never started ({} processes seen)",
            seen.len()
        );
        let grace = Instant::now() + Duration::from_secs(2);
        loop {
            let alive: Vec<_> = seen.iter().copied().filter(|id| !is_gone(*id)).collect();
            if alive.is_empty() {
                break;
            }
            if Instant::now() > grace {
                let list: Vec<String> = alive.iter().map(|id| describe(*id)).collect();
                kill_survivors(&seen);
                panic!(
                    "{test} on {platform}: {} processes survived runsc: {}",
                    alive.len(),
                    list.join(", ")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
