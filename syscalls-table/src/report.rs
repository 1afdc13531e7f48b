//! The support report printed by `runsc syscalls`: every syscall with our status and
//! note, as an aligned table, JSON or CSV.

use crate::{Status, Syscall, all};
use std::fmt::{self, Write};
use std::str::FromStr;

/// The output formats of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

impl Format {
    /// The names `FromStr` accepts.
    pub const NAMES: &'static [&'static str] = &["table", "json", "csv"];
}

/// An unknown format name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFormatError(pub String);

impl fmt::Display for ParseFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown format `{}`: expected one of {}",
            self.0,
            Format::NAMES.join(", ")
        )
    }
}

impl std::error::Error for ParseFormatError {}

impl FromStr for Format {
    type Err = ParseFormatError;

    fn from_str(s: &str) -> Result<Format, ParseFormatError> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(ParseFormatError(s.to_owned())),
        }
    }
}

/// The whole report in `format`.
pub fn render(format: Format) -> String {
    match format {
        Format::Table => table(all()),
        Format::Json => json(all()),
        Format::Csv => csv(all()),
    }
}

/// `N syscalls: S supported, P partial, U unsupported`.
pub fn summary() -> String {
    summarize(all())
}

fn summarize(rows: &[Syscall]) -> String {
    let count = |label: &str| rows.iter().filter(|s| s.status.label() == label).count();
    format!(
        "{} syscalls: {} supported, {} partial, {} unsupported",
        rows.len(),
        count("supported"),
        count("partial"),
        count("unsupported")
    )
}

fn errno_name(status: &Status) -> Option<&'static str> {
    status.errno().map(|e| e.name().unwrap_or("E?"))
}

fn table(rows: &[Syscall]) -> String {
    let name_w = rows.iter().map(|s| s.name.len()).max().unwrap_or(4).max(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>3}  {:<name_w$}  {:<11}  {:<6}  NOTE",
        "NR", "NAME", "STATUS", "ERRNO"
    );
    for s in rows {
        let line = format!(
            "{:>3}  {:<name_w$}  {:<11}  {:<6}  {}",
            s.nr,
            s.name,
            s.status.label(),
            errno_name(&s.status).unwrap_or("-"),
            s.status.note()
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&summarize(rows));
    out.push('\n');
    out
}

/// A JSON string literal (RFC 8259 escaping).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json(rows: &[Syscall]) -> String {
    let mut out = String::from("[\n");
    for (i, s) in rows.iter().enumerate() {
        let errno = errno_name(&s.status).map_or_else(|| "null".to_owned(), json_str);
        let _ = write!(
            out,
            "  {{\"nr\":{},\"name\":{},\"status\":{},\"errno\":{},\"note\":{}}}",
            s.nr,
            json_str(s.name),
            json_str(s.status.label()),
            errno,
            json_str(s.status.note())
        );
        out.push_str(if i + 1 < rows.len() { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    out
}

/// A CSV field, quoted when it needs to be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(rows: &[Syscall]) -> String {
    let mut out = String::from("nr,name,status,errno,note\n");
    for s in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            s.nr,
            csv_field(s.name),
            s.status.label(),
            errno_name(&s.status).unwrap_or(""),
            csv_field(s.status.note())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArgKind, Errno};

    #[test]
    fn formats_parse() {
        assert_eq!("json".parse(), Ok(Format::Json));
        assert_eq!("CSV".parse(), Ok(Format::Csv));
        assert_eq!("table".parse(), Ok(Format::Table));
        let err = "yaml".parse::<Format>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown format `yaml`: expected one of table, json, csv"
        );
    }

    #[test]
    fn json_parses_and_matches_the_table() {
        let v: serde_json::Value = serde_json::from_str(&render(Format::Json)).unwrap();
        let rows = v.as_array().unwrap();
        assert_eq!(rows.len(), all().len());
        // kexec_load is never going to be supported in a sandbox.
        let row = rows.iter().find(|r| r["nr"] == 246).unwrap();
        assert_eq!(
            *row,
            serde_json::json!({"nr":246,"name":"kexec_load","status":"unsupported","errno":"ENOSYS",
                               "note":crate::lookup(246).unwrap().status.note()})
        );
        let openat = rows.iter().find(|r| r["name"] == "openat").unwrap();
        assert_eq!(openat["nr"], 257);
        let close = rows.iter().find(|r| r["name"] == "close").unwrap();
        assert_eq!(close["status"], "supported");
        assert_eq!(close["note"], "");
    }

    #[test]
    fn json_escapes_strings() {
        const ARGS: &[ArgKind] = &[];
        let odd = [Syscall {
            nr: 1,
            name: "a\"b",
            args: ARGS,
            status: Status::Unsupported {
                errno: Errno::EPERM,
                note: "back\\slash\nnew\u{1}",
            },
        }];
        let v: serde_json::Value = serde_json::from_str(&json(&odd)).unwrap();
        assert_eq!(v[0]["name"], "a\"b");
        assert_eq!(v[0]["note"], "back\\slash\nnew\u{1}");
        assert_eq!(v[0]["errno"], "EPERM");
    }

    #[test]
    fn csv_has_a_header_and_quotes() {
        let text = render(Format::Csv);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("nr,name,status,errno,note"));
        let row = lines.find(|l| l.starts_with("246,")).unwrap();
        assert!(
            row.starts_with("246,kexec_load,unsupported,ENOSYS,"),
            "{row}"
        );
        // A note with commas is quoted.
        let ioctl = crate::lookup(16).unwrap().status.note();
        assert!(ioctl.contains(','));
        assert!(text.contains(&format!("\n16,ioctl,partial,,\"{ioctl}\"\n")));
        assert_eq!(text.lines().count(), all().len() + 1);
    }

    #[test]
    fn table_is_aligned_and_summarized() {
        let text = render(Format::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), all().len() + 2);
        assert!(lines[0].starts_with(" NR  NAME"));
        let status_col = lines[0].find("STATUS").unwrap();
        for line in &lines[1..lines.len() - 1] {
            let label = &line[status_col..];
            assert!(
                ["supported", "partial", "unsupported"]
                    .iter()
                    .any(|l| label.starts_with(l)),
                "{line}"
            );
        }
        assert_eq!(*lines.last().unwrap(), summary());
        let all = crate::all();
        let count = |f: fn(&Status) -> bool| all.iter().filter(|s| f(&s.status)).count();
        assert_eq!(
            summary(),
            format!(
                "{} syscalls: {} supported, {} partial, {} unsupported",
                all.len(),
                count(|s| matches!(s, Status::Supported)),
                count(|s| matches!(s, Status::Partial(_))),
                count(|s| matches!(s, Status::Unsupported { .. }))
            )
        );
    }
}
