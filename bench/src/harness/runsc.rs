//! Finds the `runsc` binary to measure: `$RUNSC`, else the workspace's
//! `target/release/runsc`, else `target/debug/runsc`; says which, and whether it is a
//! debug build (whose figures mean little).

use std::fmt;
use std::path::{Path, PathBuf};

/// The `runsc` binary the rows will run.
pub struct Runsc {
    pub path: PathBuf,
    pub source: Source,
}

/// Where `Runsc::path` came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Env,
    Release,
    Debug,
}

impl Runsc {
    /// `None` if no candidate exists; the caller reports the rows as failed.
    pub fn locate() -> Option<Runsc> {
        if let Some(path) = std::env::var_os("RUNSC") {
            return Some(Runsc {
                path: PathBuf::from(path),
                source: Source::Env,
            });
        }
        let target = target_dir();
        [(Source::Release, "release"), (Source::Debug, "debug")]
            .into_iter()
            .map(|(source, profile)| Runsc {
                path: target.join(profile).join("runsc"),
                source,
            })
            .find(|r| r.path.is_file())
    }

    /// True if this is (or, for `$RUNSC`, looks like) an unoptimised build.
    pub fn is_debug_build(&self) -> bool {
        match self.source {
            Source::Debug => true,
            Source::Release => false,
            Source::Env => self.path.components().any(|c| c.as_os_str() == "debug"),
        }
    }

    /// Where a missing runsc was looked for, for the error line.
    pub fn searched() -> String {
        let target = target_dir();
        format!(
            "no runsc: $RUNSC unset and neither {} nor {} exists",
            target.join("release/runsc").display(),
            target.join("debug/runsc").display()
        )
    }
}

impl fmt::Display for Runsc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.source {
            Source::Env => "from $RUNSC",
            Source::Release => "workspace target/release",
            Source::Debug => "workspace target/debug",
        };
        write!(f, "{} ({from})", self.path.display())
    }
}

/// `$CARGO_TARGET_DIR` if set, else `<workspace root>/target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    workspace_root().join("target")
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}
