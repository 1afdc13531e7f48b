//! Finds the `runsc` binary to measure: `$RUNSC`, else the workspace's
//! `target/release/runsc`, else `target/debug/runsc`; says which, and whether it is a
//! debug build (whose figures mean little).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::workspace::target_dir;

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

    /// `runsc --platform=PLATFORM do -- PROGRAM`; the caller adds the program's
    /// arguments.
    pub fn do_command(&self, platform: &str, program: &Path) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg(format!("--platform={platform}"))
            .args(["do", "--"])
            .arg(program);
        cmd
    }

    /// Prints which runsc the rows use (or why there is none) and warns about a debug
    /// build.
    pub fn print_header(runsc: Option<&Runsc>) {
        match runsc {
            Some(r) => {
                println!("runsc: {r}");
                if r.is_debug_build() {
                    println!("warning: runsc is a debug build; its rows are not representative");
                }
            }
            None => println!("runsc: {}", Runsc::searched()),
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

/// The platforms to measure: ptrace, always, then each of `extra` once, in order.
pub fn platforms(extra: Vec<String>) -> Vec<String> {
    let mut platforms = vec!["ptrace".to_string()];
    for p in extra {
        if !platforms.contains(&p) {
            platforms.push(p);
        }
    }
    platforms
}

#[cfg(test)]
mod tests {
    use super::platforms;

    #[test]
    fn ptrace_first_and_no_duplicates() {
        let extra = ["kvm", "ptrace", "kvm", "seccomp"]
            .map(String::from)
            .to_vec();
        assert_eq!(platforms(extra), ["ptrace", "kvm", "seccomp"]);
        assert_eq!(platforms(Vec::new()), ["ptrace"]);
    }
}
