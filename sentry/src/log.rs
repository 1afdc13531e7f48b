//! The sentry's debug log: where warnings and "unsupported syscall" notes go. It is the
//! `--log` file when one was given, else stderr when `--debug` is set, else nowhere (the
//! application's own stderr is never written to).

use std::io::Write;
use std::sync::Mutex;

static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends log lines to `w` from now on.
pub fn set_sink(w: Box<dyn Write + Send>) {
    *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
}

pub fn warn(msg: &str) {
    if let Some(w) = SINK.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = writeln!(w, "runsc: {msg}");
        let _ = w.flush();
    }
}
