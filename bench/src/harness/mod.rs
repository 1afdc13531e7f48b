//! Helpers shared by every benchmark: building C programs, running and timing commands,
//! choosing iteration counts, summarising samples, finding `runsc` and the host tools a
//! benchmark needs, measuring and reporting operations natively and per platform, and
//! the one-line error every row reports.

pub mod calibrate;
pub mod cc;
pub mod matrix;
pub mod report;
pub mod run;
pub mod runsc;
pub mod stats;
pub mod tools;
pub mod workspace;

use std::fmt;
use std::io;

/// Why one measurement (or the setup of a benchmark) failed. Displayed as one line,
/// because a failed row prints its error in the table and the benchmark goes on.
#[derive(Debug)]
pub enum Error {
    /// A host operation of the bench itself failed.
    Io { context: String, source: io::Error },
    /// A measured program ran but did not succeed or did not print what it should.
    Run(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The error from `errno` after a failed libc call named `call`.
    pub fn last_os(call: &str) -> Self {
        Error::io(call, io::Error::last_os_error())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::Io { context, source } => format!("{context}: {source}"),
            Error::Run(msg) => msg.clone(),
        };
        // One line, whatever the program printed.
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        f.write_str(&line)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
