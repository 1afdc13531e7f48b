//! A gofer that serves one regular file as its root (an OCI bind mount of a file): the
//! file opens for reading and (unless read-only) writing, and nothing else of its
//! directory is reachable.

mod common;

use common::{TempDir, read_all};
use gofer::server;
use gofer::Errno;

fn serve_file(dir: &TempDir, name: &[u8], read_only: bool) -> std::io::Result<()> {
    let (a, _b) = gofer::channel_pair().unwrap();
    server::serve_file(
        server::open_root(dir.path()).unwrap(),
        name,
        vec![a],
        read_only,
    )
}

#[test]
fn a_file_root_serves_the_file_and_nothing_beside_it() {
    let dir = TempDir::new("fileroot");
    std::fs::write(dir.join("hosts"), "127.0.0.1 localhost\n").unwrap();
    std::fs::write(dir.join("secret"), "no").unwrap();
    let (ours, theirs) = gofer::channel_pair().unwrap();
    let root = server::open_root(dir.path()).unwrap();
    let t = std::thread::spawn(move || server::serve_file(root, b"hosts", vec![ours], false));
    let client = gofer::Client::new(vec![theirs]);
    let e = client.mount().unwrap();
    assert_eq!(e.stat.mode & libc::S_IFMT, libc::S_IFREG);
    assert_eq!(
        read_all(client.open(e.handle, libc::O_RDONLY).unwrap()),
        b"127.0.0.1 localhost\n"
    );
    // Written through to the host file.
    let w = std::fs::File::from(
        client
            .open(e.handle, libc::O_WRONLY | libc::O_APPEND)
            .unwrap(),
    );
    use std::io::Write;
    (&w).write_all(b"10.0.0.2 c\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("hosts")).unwrap(),
        "127.0.0.1 localhost\n10.0.0.2 c\n"
    );
    // The directory it is in is not reachable through it.
    for name in [&b"secret"[..], b"..", b"."] {
        assert!(client.walk(e.handle, name).is_err(), "{name:?}");
    }
    assert_eq!(
        client.walk(e.handle, b"secret").unwrap_err(),
        Errno::ENOTDIR
    );
    assert_eq!(
        client.getdents(e.handle, 0, 4096).unwrap_err(),
        Errno::ENOTDIR
    );
    drop(client);
    t.join().unwrap().unwrap();
}

#[test]
fn a_file_root_must_be_one_name_of_a_regular_file() {
    let dir = TempDir::new("fileroot-bad");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/f"), "x").unwrap();
    std::os::unix::fs::symlink("sub/f", dir.join("link")).unwrap();
    for name in [&b"sub"[..], b"sub/f", b"..", b"", b"link", b"missing"] {
        assert!(serve_file(&dir, name, true).is_err(), "{name:?}");
    }
}
