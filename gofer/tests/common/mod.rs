//! Test harness: a temporary directory tree served by an in-process gofer thread over
//! socket pairs, with a `Client` on some channels and raw FDs on others.
#![allow(dead_code)]

use gofer::server::{self, Config};
use gofer::{Client, Handle};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "gofer-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gofer serving a directory on its own thread.
pub struct Served {
    pub client: Client,
    /// The root handle, from `mount`.
    pub root: Handle,
    /// Peer ends of the extra channels, for tests that speak raw bytes.
    pub raw: Vec<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

pub fn serve(dir: &Path, clients: usize, raws: usize, config: Config) -> Served {
    let mut gofer_ends = Vec::new();
    let mut client_ends = Vec::new();
    let mut raw = Vec::new();
    for i in 0..clients + raws {
        let (a, b) = gofer::channel_pair().unwrap();
        gofer_ends.push(a);
        if i < clients {
            client_ends.push(b);
        } else {
            raw.push(b);
        }
    }
    let root = server::open_root(dir).unwrap();
    let thread = std::thread::spawn(move || server::serve_with(root, gofer_ends, config).unwrap());
    let client = Client::new(client_ends);
    let root = client.mount().unwrap().handle;
    Served {
        client,
        root,
        raw,
        thread: Some(thread),
    }
}

pub fn serve_default(dir: &Path) -> Served {
    serve(dir, 2, 0, Config::default())
}

impl Drop for Served {
    fn drop(&mut self) {
        self.client = Client::new(Vec::new());
        self.raw.clear();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Reads all of an FD from offset 0.
pub fn read_all(fd: OwnedFd) -> Vec<u8> {
    use std::io::Read;
    let mut f = std::fs::File::from(fd);
    let mut v = Vec::new();
    f.read_to_end(&mut v).unwrap();
    v
}

/// A deterministic xorshift generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
