//! Where the workspace keeps its build output. The bench builds its programs there too:
//! runsc serves the host root to the sandbox but gives it a fresh tmpfs at `/tmp`, so a
//! program under the host's `/tmp` could not be run (or its directory used) inside.

use std::path::{Path, PathBuf};

/// `$CARGO_TARGET_DIR` if set, else `<workspace root>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    workspace_root().join("target")
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
