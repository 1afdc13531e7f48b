//! Whether the host programs a benchmark needs are there, so that a row (or a whole
//! benchmark) that cannot run is skipped with a printed reason rather than failing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Why `path` cannot be executed, if it is not an executable regular file.
pub fn not_executable(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => None,
        Ok(_) => Some(format!("{} is not an executable file", path.display())),
        Err(e) => Some(format!("{}: {e}", path.display())),
    }
}

/// The first executable `name` in the directories of `$PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| not_executable(p).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_recognised() {
        assert_eq!(not_executable(&std::env::current_exe().unwrap()), None);
        assert!(not_executable(Path::new("/no/such/program")).is_some());
        assert!(not_executable(Path::new("/")).is_some());
    }

    #[test]
    fn path_search_finds_sh_only_if_it_exists() {
        assert!(find_in_path("sh").is_some());
        assert_eq!(find_in_path("no-such-program-here"), None);
    }
}
