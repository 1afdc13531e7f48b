//! The `--log` file in the format a container engine asks for (`--log-format text|json`,
//! as runc writes it): containerd's shim reports the `msg` of the last JSON line as the
//! error. Errors also go to stderr as one `runsc: ` line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown --log-format {other:?} (known: text, json)"
            )),
        }
    }
}

/// Where log lines go: the `--log` file, else stderr with `--debug`, else nowhere.
#[derive(Clone, Debug)]
pub struct Logger {
    pub file: Option<PathBuf>,
    pub format: Format,
    pub debug: bool,
}

/// Serialises log lines, and holds each log file open once it has been opened: the
/// sandbox process opens no files once it is confined (`sandbox::install`).
static WRITE: Mutex<Vec<(PathBuf, std::fs::File)>> = Mutex::new(Vec::new());

/// Keeps `file`, opened for appending, as the log file at `path`.
pub fn keep_open(path: &std::path::Path, file: std::fs::File) {
    let mut open = WRITE.lock().unwrap_or_else(|e| e.into_inner());
    if !open.iter().any(|(p, _)| p == path) {
        open.push((path.to_path_buf(), file));
    }
}

impl Logger {
    /// One log line at `level` (not on stderr unless `--debug` without `--log`).
    pub fn log(&self, level: &str, msg: &str) {
        let line = render(self.format, level, msg);
        let mut open = WRITE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = &self.file {
            if !open.iter().any(|(p, _)| p == path)
                && let Ok(f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
            {
                open.push((path.clone(), f));
            }
            if let Some((_, f)) = open.iter_mut().find(|(p, _)| p == path) {
                // One write per line: concurrent runsc processes append whole lines.
                let _ = f.write_all(line.as_bytes());
            }
        } else if self.debug {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    pub fn info(&self, msg: &str) {
        self.log("info", msg);
    }

    pub fn warn(&self, msg: &str) {
        self.log("warning", msg);
    }

    /// A fatal error: one `runsc: ` line on stderr and an `error` line in the log file.
    pub fn error(&self, msg: &str) {
        eprintln!("runsc: {msg}");
        if self.file.is_some() {
            self.log("error", msg);
        }
    }

    /// A writer for the sentry's own log (`sentry::log`), one line per log entry.
    pub fn sentry_sink(&self) -> Box<dyn Write + Send> {
        Box::new(SentrySink {
            logger: self.clone(),
            buf: Vec::new(),
        })
    }
}

/// Turns the sentry's `runsc: message` lines into log lines of the chosen format.
struct SentrySink {
    logger: Logger,
    buf: Vec<u8>,
}

impl Write for SentrySink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        while let Some(i) = self.buf.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            let text = text.strip_prefix("runsc: ").unwrap_or(&text);
            self.logger.warn(text);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn render(format: Format, level: &str, msg: &str) -> String {
    let time = rfc3339(SystemTime::now());
    match format {
        Format::Json => {
            let v = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{v}\n")
        }
        Format::Text => format!(
            "time={} level={level} msg={}\n",
            serde_json::Value::from(time),
            serde_json::Value::from(msg)
        ),
    }
}

/// `t` as an RFC 3339 UTC timestamp with nanoseconds (what OCI `created` and the log
/// lines carry).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
        // 2024-02-29 12:34:56 UTC (a leap day).
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.000000000Z");
    }

    #[test]
    fn json_line_has_msg() {
        let l = render(Format::Json, "error", "a \"quoted\" thing");
        let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
        assert_eq!(v["msg"], "a \"quoted\" thing");
        assert_eq!(v["level"], "error");
    }
}
