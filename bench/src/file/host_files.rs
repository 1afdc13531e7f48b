//! Picks, at run time, the host files the read rows use: they must be regular files of
//! at least a given size, and which ones exist differs from host to host. The sandbox
//! sees the same files, since runsc serves the host root through the gofer.

use std::fs;
use std::path::{Path, PathBuf};

/// A host file the bench might read, and its size if it is a regular file (after
/// following symlinks) that could be inspected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub size: Option<u64>,
}

impl Candidate {
    /// Inspects `path` on the host.
    pub fn probe(path: &Path) -> Candidate {
        let size = fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        Candidate {
            path: path.to_path_buf(),
            size,
        }
    }

    fn size_at_least(&self, min: u64) -> Option<u64> {
        self.size.filter(|&s| s >= min)
    }
}

/// Inspects each of `paths`.
pub fn probe_all(paths: &[&str]) -> Vec<Candidate> {
    paths
        .iter()
        .map(|p| Candidate::probe(Path::new(p)))
        .collect()
}

/// The first candidate of at least `min` bytes.
pub fn first_at_least(candidates: &[Candidate], min: u64) -> Option<&Candidate> {
    candidates.iter().find(|c| c.size_at_least(min).is_some())
}

/// The biggest candidate of at least `min` bytes; the earliest of equals (so a symlink
/// listed after its target does not replace it).
pub fn biggest_at_least(candidates: &[Candidate], min: u64) -> Option<&Candidate> {
    let mut best: Option<(&Candidate, u64)> = None;
    for c in candidates {
        if let Some(size) = c.size_at_least(min)
            && best.is_none_or(|(_, b)| size > b)
        {
            best = Some((c, size));
        }
    }
    best.map(|(c, _)| c)
}

/// The error line for a row that found no file: what was needed and what was tried.
pub fn none_found(candidates: &[Candidate], min: u64) -> String {
    let tried: Vec<String> = candidates
        .iter()
        .map(|c| match c.size {
            Some(s) => format!("{} ({s} bytes)", c.path.display()),
            None => format!("{} (missing or not a regular file)", c.path.display()),
        })
        .collect();
    format!(
        "no host file of at least {min} bytes among: {}",
        tried.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(path: &str, size: Option<u64>) -> Candidate {
        Candidate {
            path: PathBuf::from(path),
            size,
        }
    }

    #[test]
    fn first_skips_missing_and_small_files() {
        let c = [
            cand("/a", None),
            cand("/b", Some(100)),
            cand("/c", Some(4096)),
            cand("/d", Some(9999)),
        ];
        assert_eq!(first_at_least(&c, 4096).unwrap().path, Path::new("/c"));
        assert_eq!(first_at_least(&c, 10_000), None);
    }

    #[test]
    fn biggest_prefers_earliest_of_equals() {
        let c = [
            cand("/usr/bin/python3.11", Some(6_000_000)),
            cand("/usr/bin/python3", Some(6_000_000)),
            cand("/usr/bin/bash", Some(1_300_000)),
            cand("/usr/bin/huge", None),
        ];
        assert_eq!(
            biggest_at_least(&c, 1 << 20).unwrap().path,
            Path::new("/usr/bin/python3.11")
        );
        assert_eq!(biggest_at_least(&c, 7_000_000), None);
        let later_bigger = [cand("/small", Some(2 << 20)), cand("/big", Some(3 << 20))];
        assert_eq!(
            biggest_at_least(&later_bigger, 1 << 20).unwrap().path,
            Path::new("/big")
        );
    }

    #[test]
    fn probe_sees_regular_files_only() {
        let exe = std::env::current_exe().unwrap();
        let c = Candidate::probe(&exe);
        assert!(c.size.is_some_and(|s| s > 0));
        assert_eq!(Candidate::probe(Path::new("/")).size, None);
        assert_eq!(Candidate::probe(Path::new("/no/such/file/here")).size, None);
    }

    #[test]
    fn none_found_lists_what_was_tried() {
        let c = [cand("/a", None), cand("/b", Some(10))];
        let msg = none_found(&c, 4096);
        assert!(
            msg.contains("/a (missing") && msg.contains("/b (10 bytes)"),
            "{msg}"
        );
    }
}
