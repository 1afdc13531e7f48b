//! Every request round-trips through a live gofer and does what the matching Linux
//! syscall does on the served tree (observed with std::fs on the host side).

mod common;

use common::{TempDir, read_all, serve_default};
use gofer::client::Owner;
use gofer::{Errno, SetStat, SetTime, Timespec};
use std::io::{Seek, Write};
use std::os::unix::fs::MetadataExt;

#[test]
fn mount_and_stat_root() {
    let t = TempDir::new("mount");
    let s = serve_default(t.path());
    let st = s.client.stat(s.root).unwrap();
    let md = std::fs::metadata(t.path()).unwrap();
    assert_eq!(st.ino, md.ino());
    assert_eq!(st.dev, md.dev());
    assert_eq!(st.file_type(), libc::S_IFDIR);
    assert_eq!(st.mode, md.mode());
    assert_eq!(st.nlink, md.nlink());
    assert_eq!(st.mtime.sec, md.mtime());
    assert_eq!(st.mtime.nsec as i64, md.mtime_nsec());
    // A second mount is a second handle on the same directory.
    let again = s.client.mount().unwrap();
    assert_ne!(again.handle, s.root);
    assert_eq!(again.stat.ino, st.ino);
}

#[test]
fn walk_open_read_write() {
    let t = TempDir::new("walk");
    std::fs::create_dir(t.join("a")).unwrap();
    std::fs::write(t.join("a/f"), b"hello").unwrap();
    let s = serve_default(t.path());
    let a = s.client.walk(s.root, b"a").unwrap();
    assert_eq!(a.stat.file_type(), libc::S_IFDIR);
    let f = s.client.walk(a.handle, b"f").unwrap();
    assert_eq!(f.stat.file_type(), libc::S_IFREG);
    assert_eq!(f.stat.size, 5);
    assert_eq!(s.client.walk(a.handle, b"nope").unwrap_err(), Errno::ENOENT);
    // Walking from a file is ENOTDIR, as openat on a non-directory dirfd.
    assert_eq!(s.client.walk(f.handle, b"x").unwrap_err(), Errno::ENOTDIR);

    assert_eq!(
        read_all(s.client.open(f.handle, libc::O_RDONLY).unwrap()),
        b"hello"
    );
    let mut w = std::fs::File::from(
        s.client
            .open(f.handle, libc::O_WRONLY | libc::O_APPEND)
            .unwrap(),
    );
    w.write_all(b" world").unwrap();
    drop(w);
    assert_eq!(std::fs::read(t.join("a/f")).unwrap(), b"hello world");
    // O_TRUNC empties the file.
    let w = s
        .client
        .open(f.handle, libc::O_WRONLY | libc::O_TRUNC)
        .unwrap();
    drop(w);
    assert_eq!(std::fs::read(t.join("a/f")).unwrap(), b"");
    // The donated FD has the requested access mode and nothing more.
    let r = s.client.open(f.handle, libc::O_RDONLY).unwrap();
    let mut r = std::fs::File::from(r);
    assert!(r.write_all(b"x").is_err());
    // Directories open read-only only.
    let d = s.client.open(a.handle, libc::O_RDONLY).unwrap();
    let mut d = std::fs::File::from(d);
    assert!(d.stream_position().is_ok());
    assert_eq!(
        s.client.open(a.handle, libc::O_RDWR).unwrap_err(),
        Errno::EISDIR
    );
    // Unknown flags and O_CREAT are refused.
    assert_eq!(
        s.client.open(f.handle, libc::O_CREAT).unwrap_err(),
        Errno::EINVAL
    );
    assert_eq!(s.client.open(f.handle, 3).unwrap_err(), Errno::EINVAL);
    // A donated FD is not O_NONBLOCK unless asked.
    let fd = s.client.open(f.handle, libc::O_RDONLY).unwrap();
    let fl = unsafe_fcntl_getfl(&fd);
    assert_eq!(fl & libc::O_NONBLOCK, 0);
    let fd = s
        .client
        .open(f.handle, libc::O_RDONLY | libc::O_NONBLOCK)
        .unwrap();
    assert_ne!(unsafe_fcntl_getfl(&fd) & libc::O_NONBLOCK, 0);
}

fn unsafe_fcntl_getfl(fd: &std::os::fd::OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    // SAFETY: F_GETFL takes no pointer.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) }
}

#[test]
fn create_mkdir_mknod_symlink_link() {
    let t = TempDir::new("create");
    let s = serve_default(t.path());
    let c = &s.client;
    let (e, fd) = c
        .create(s.root, b"new", libc::O_RDWR, 0o640, Owner::default())
        .unwrap();
    assert_eq!(e.stat.mode, libc::S_IFREG | 0o640);
    let mut f = std::fs::File::from(fd);
    f.write_all(b"data").unwrap();
    assert_eq!(std::fs::read(t.join("new")).unwrap(), b"data");
    // Exact permission bits regardless of the process umask.
    assert_eq!(
        std::fs::metadata(t.join("new")).unwrap().mode() & 0o7777,
        0o640
    );
    assert_eq!(
        c.create(s.root, b"new", libc::O_RDWR, 0o644, Owner::default())
            .unwrap_err(),
        Errno::EEXIST
    );

    let d = c.mkdir(s.root, b"dir", 0o777, Owner::default()).unwrap();
    assert_eq!(d.stat.mode, libc::S_IFDIR | 0o777);
    assert!(t.join("dir").is_dir());
    assert_eq!(
        c.mkdir(s.root, b"dir", 0o755, Owner::default())
            .unwrap_err(),
        Errno::EEXIST
    );

    let p = c
        .mknod(d.handle, b"fifo", libc::S_IFIFO | 0o600, Owner::default())
        .unwrap();
    assert_eq!(p.stat.mode, libc::S_IFIFO | 0o600);
    let r = c.mknod(d.handle, b"reg", 0o600, Owner::default()).unwrap();
    assert_eq!(r.stat.file_type(), libc::S_IFREG);
    // A socket node (what bind(2) of an AF_UNIX socket makes; the socket lives in the
    // sentry) is never opened either.
    let k = c
        .mknod(d.handle, b"sock", libc::S_IFSOCK | 0o755, Owner::default())
        .unwrap();
    assert_eq!(k.stat.mode, libc::S_IFSOCK | 0o755);
    assert!(c.open(k.handle, libc::O_RDWR).is_err());
    assert_eq!(
        c.mknod(d.handle, b"dev", libc::S_IFCHR | 0o600, Owner::default())
            .unwrap_err(),
        Errno::EPERM
    );
    // The gofer never opens a FIFO (the sentry emulates them).
    assert_eq!(c.open(p.handle, libc::O_RDONLY).unwrap_err(), Errno::EPERM);

    let l = c
        .symlink(d.handle, b"ln", b"../new", Owner::default())
        .unwrap();
    assert_eq!(l.stat.file_type(), libc::S_IFLNK);
    assert_eq!(c.readlink(l.handle).unwrap(), b"../new");
    assert_eq!(
        std::fs::read_link(t.join("dir/ln")).unwrap().as_os_str(),
        "../new"
    );
    assert_eq!(c.readlink(e.handle).unwrap_err(), Errno::EINVAL);

    let h = c.link(d.handle, b"hard", e.handle).unwrap();
    assert_eq!(h.stat.ino, e.stat.ino);
    assert_eq!(h.stat.nlink, 2);
    assert_eq!(
        c.link(s.root, b"dirlink", d.handle).unwrap_err(),
        Errno::EPERM
    );

    // Ownership as requested (the test runs as whoever it runs as: ask for ourselves).
    let uid = std::fs::metadata(t.path()).unwrap().uid();
    let gid = std::fs::metadata(t.path()).unwrap().gid();
    let o = c
        .mkdir(s.root, b"owned", 0o700, Owner::new(uid, gid))
        .unwrap();
    assert_eq!((o.stat.uid, o.stat.gid), (uid, gid));
}

#[test]
fn unlink_and_rename() {
    let t = TempDir::new("unlink");
    std::fs::create_dir(t.join("d")).unwrap();
    std::fs::create_dir(t.join("e")).unwrap();
    std::fs::write(t.join("d/a"), b"A").unwrap();
    std::fs::write(t.join("d/b"), b"B").unwrap();
    let s = serve_default(t.path());
    let c = &s.client;
    let d = c.walk(s.root, b"d").unwrap().handle;
    let e = c.walk(s.root, b"e").unwrap().handle;
    let a = c.walk(d, b"a").unwrap().handle;

    c.rename(d, b"a", e, b"moved", 0).unwrap();
    assert_eq!(std::fs::read(t.join("e/moved")).unwrap(), b"A");
    // The handle follows its file through a rename made by the gofer.
    assert_eq!(read_all(c.open(a, libc::O_RDONLY).unwrap()), b"A");

    assert_eq!(
        c.rename(e, b"moved", d, b"b", libc::RENAME_NOREPLACE)
            .unwrap_err(),
        Errno::EEXIST
    );
    c.rename(e, b"moved", d, b"b", libc::RENAME_EXCHANGE)
        .unwrap();
    assert_eq!(std::fs::read(t.join("d/b")).unwrap(), b"A");
    assert_eq!(std::fs::read(t.join("e/moved")).unwrap(), b"B");
    assert_eq!(read_all(c.open(a, libc::O_RDONLY).unwrap()), b"A");
    assert_eq!(
        c.rename(
            d,
            b"b",
            e,
            b"x",
            libc::RENAME_EXCHANGE | libc::RENAME_NOREPLACE
        )
        .unwrap_err(),
        Errno::EINVAL
    );

    c.unlink(d, b"b", 0).unwrap();
    assert!(!t.join("d/b").exists());
    assert_eq!(c.unlink(d, b"b", 0).unwrap_err(), Errno::ENOENT);
    assert_eq!(c.unlink(s.root, b"e", 0).unwrap_err(), Errno::EISDIR);
    assert_eq!(
        c.unlink(s.root, b"e", libc::AT_REMOVEDIR).unwrap_err(),
        Errno::ENOTEMPTY
    );
    c.unlink(e, b"moved", 0).unwrap();
    c.unlink(s.root, b"e", libc::AT_REMOVEDIR).unwrap();
    assert!(!t.join("e").exists());
    assert_eq!(c.unlink(s.root, b"d", 0x1).unwrap_err(), Errno::EINVAL);
}

#[test]
fn getdents_pages_large_directories() {
    let t = TempDir::new("dents");
    let n = 1500;
    for i in 0..n {
        std::fs::write(t.join(&format!("file-{i:04}-{}", "x".repeat(i % 200))), b"").unwrap();
    }
    std::fs::create_dir(t.join("sub")).unwrap();
    let s = serve_default(t.path());
    let mut names = Vec::new();
    let mut cookie = 0;
    let mut batches = 0;
    loop {
        let ents = s.client.getdents(s.root, cookie, 4096).unwrap();
        if ents.is_empty() {
            break;
        }
        batches += 1;
        for e in &ents {
            assert_ne!(e.name, b".");
            assert_ne!(e.name, b"..");
            if e.name == b"sub" {
                assert_eq!(e.dtype, libc::DT_DIR);
            }
            names.push(e.name.clone());
        }
        cookie = ents.last().unwrap().cookie;
    }
    assert!(batches > 10, "{batches} batches");
    names.sort();
    let mut want: Vec<Vec<u8>> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_encoded_bytes())
        .collect();
    want.sort();
    assert_eq!(names, want);
    // An empty directory has no entries at all (no . or ..).
    let sub = s.client.walk(s.root, b"sub").unwrap().handle;
    assert!(s.client.getdents(sub, 0, 4096).unwrap().is_empty());
    // A buffer too small for any entry.
    assert_eq!(s.client.getdents(s.root, 0, 4).unwrap_err(), Errno::EINVAL);
}

#[test]
fn setstat_statfs_fsync_close() {
    let t = TempDir::new("setstat");
    std::fs::write(t.join("f"), b"0123456789").unwrap();
    let s = serve_default(t.path());
    let c = &s.client;
    let f = c.walk(s.root, b"f").unwrap().handle;
    c.setstat(
        f,
        &SetStat {
            mode: Some(0o604),
            size: Some(4),
            atime: Some(SetTime::At(Timespec {
                sec: 1_000_000,
                nsec: 123,
            })),
            mtime: Some(SetTime::At(Timespec {
                sec: 2_000_000,
                nsec: 456,
            })),
            ..SetStat::default()
        },
    )
    .unwrap();
    let md = std::fs::metadata(t.join("f")).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o604);
    assert_eq!(md.len(), 4);
    assert_eq!((md.atime(), md.atime_nsec()), (1_000_000, 123));
    assert_eq!((md.mtime(), md.mtime_nsec()), (2_000_000, 456));
    let st = c.stat(f).unwrap();
    assert_eq!(st.size, 4);
    assert_eq!(
        st.atime,
        Timespec {
            sec: 1_000_000,
            nsec: 123
        }
    );
    // UTIME_NOW for mtime, UTIME_OMIT for atime.
    c.setstat(
        f,
        &SetStat {
            mtime: Some(SetTime::Now),
            ..SetStat::default()
        },
    )
    .unwrap();
    let st2 = c.stat(f).unwrap();
    assert_eq!(st2.atime, st.atime);
    assert!(st2.mtime.sec > 2_000_000);
    // Extending works too; a directory cannot be truncated.
    c.setstat(
        f,
        &SetStat {
            size: Some(100),
            ..SetStat::default()
        },
    )
    .unwrap();
    assert_eq!(c.stat(f).unwrap().size, 100);
    assert_eq!(
        c.setstat(
            s.root,
            &SetStat {
                size: Some(0),
                ..SetStat::default()
            }
        )
        .unwrap_err(),
        Errno::EISDIR
    );
    // chown to ourselves.
    let uid = md.uid();
    c.setstat(
        f,
        &SetStat {
            uid: Some(uid),
            gid: Some(md.gid()),
            ..SetStat::default()
        },
    )
    .unwrap();
    // Times on a symlink change the link, not its target.
    std::os::unix::fs::symlink("f", t.join("l")).unwrap();
    let l = c.walk(s.root, b"l").unwrap().handle;
    c.setstat(
        l,
        &SetStat {
            mtime: Some(SetTime::At(Timespec { sec: 5, nsec: 0 })),
            ..SetStat::default()
        },
    )
    .unwrap();
    assert_eq!(std::fs::symlink_metadata(t.join("l")).unwrap().mtime(), 5);
    assert_ne!(std::fs::metadata(t.join("f")).unwrap().mtime(), 5);

    let fs = c.statfs(s.root).unwrap();
    assert!(fs.bsize > 0);
    assert_eq!(fs.namelen, 255);
    c.fsync(f, false).unwrap();
    c.fsync(f, true).unwrap();
    c.fsync(s.root, false).unwrap();
    c.close(f).unwrap();
    assert_eq!(c.stat(f).unwrap_err(), Errno::EBADF);
    assert_eq!(c.close(f).unwrap_err(), Errno::EBADF);
    assert_eq!(c.stat(gofer::Handle(0)).unwrap_err(), Errno::EBADF);
    // A closed handle's FD is really gone, and the root handle survives other closes.
    assert!(c.stat(s.root).is_ok());
}

#[test]
fn channels_serve_in_parallel() {
    let t = TempDir::new("parallel");
    for i in 0..8 {
        std::fs::write(t.join(&format!("f{i}")), format!("{i}")).unwrap();
    }
    let s = common::serve(t.path(), 4, 0, gofer::server::Config::default());
    std::thread::scope(|sc| {
        for i in 0..8 {
            let s = &s;
            sc.spawn(move || {
                for _ in 0..200 {
                    let e = s.client.walk(s.root, format!("f{i}").as_bytes()).unwrap();
                    let data = read_all(s.client.open(e.handle, libc::O_RDONLY).unwrap());
                    assert_eq!(data, format!("{i}").as_bytes());
                    s.client.close(e.handle).unwrap();
                }
            });
        }
    });
    assert_eq!(s.client.live_channels(), 4);
}
