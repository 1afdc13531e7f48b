//! Builds the vDSO (vdso/vdso.S) into a shared object that the loader maps into every
//! application, with the machine's C compiler driver (`$CC`, default `cc`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("vdso.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    for f in ["vdso/vdso.S", "vdso/vdso.lds", "vdso/vdso.ver"] {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=CC");
    let status = Command::new(&cc)
        .args([
            "-shared",
            "-nostdlib",
            "-fPIC",
            "-Wl,-T,vdso/vdso.lds",
            "-Wl,--version-script=vdso/vdso.ver",
            "-Wl,-soname=linux-vdso.so.1",
            "-Wl,--hash-style=both",
            "-Wl,-z,max-page-size=4096",
            "-Wl,-z,noexecstack",
            "-Wl,--build-id=none",
            "-Wl,--eh-frame-hdr",
            "-o",
        ])
        .arg(&out)
        .arg("vdso/vdso.S")
        .status()
        .unwrap_or_else(|e| panic!("building the vDSO needs a C compiler driver ({cc}): {e}"));
    assert!(status.success(), "building the vDSO with {cc} failed");
}
