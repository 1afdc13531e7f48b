//! Builds the benchmarks' small C programs with the host `cc` (static, -O2) into a
//! temporary directory under the workspace's target directory (visible inside the
//! sandbox, unlike the host's `/tmp`), removed when the `BuildDir` is dropped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::workspace::target_dir;
use super::{Error, Result};

/// A temporary directory holding compiled programs; removed on drop.
pub struct BuildDir {
    path: PathBuf,
}

impl BuildDir {
    pub fn new(tag: &str) -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = target_dir()
            .join("bench-tmp")
            .join(format!("{tag}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path)
            .map_err(|e| Error::io(format!("create {}", path.display()), e))?;
        Ok(BuildDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Compiles `source` (C text) as `name` with `cc -static -O2` and returns the
    /// executable's path.
    pub fn compile_c(&self, name: &str, source: &str) -> Result<PathBuf> {
        let src = self.path.join(format!("{name}.c"));
        let exe = self.path.join(name);
        fs::write(&src, source).map_err(|e| Error::io(format!("write {}", src.display()), e))?;
        let out = Command::new("cc")
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .map_err(|e| Error::io("run cc", e))?;
        if !out.status.success() {
            return Err(Error::Run(format!(
                "cc {name}.c failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(exe)
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}
