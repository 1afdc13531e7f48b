//! Prints results as a plain aligned table; formats times and ratios the same way in
//! every benchmark.

/// One row of a table: its figures, the one-line error that replaced them, or why the
/// row was not measured on this host.
pub enum Cells {
    Figures(Vec<String>),
    Error(String),
    Skipped(String),
}

/// A table whose first column is a left-aligned row name and whose other columns are
/// right-aligned figures.
pub struct Table {
    header: Vec<String>,
    rows: Vec<(String, Cells)>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, name: impl Into<String>, cells: Cells) {
        self.rows.push((name.into(), cells));
    }

    pub fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(String::len).collect();
        for (name, cells) in &self.rows {
            widths[0] = widths[0].max(name.len());
            if let Cells::Figures(figs) = cells {
                for (w, f) in widths.iter_mut().skip(1).zip(figs) {
                    *w = (*w).max(f.len());
                }
            }
        }
        let line = |first: &str, rest: &[String]| {
            let mut s = format!("{first:<w$}", w = widths[0]);
            for (w, f) in widths.iter().skip(1).zip(rest) {
                s.push_str(&format!("  {f:>w$}"));
            }
            s
        };
        println!("{}", line(&self.header[0], &self.header[1..]));
        println!(
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
        );
        for (name, cells) in &self.rows {
            match cells {
                Cells::Figures(figs) => println!("{}", line(name, figs)),
                Cells::Error(err) => println!("{name:<w$}  FAILED: {err}", w = widths[0]),
                Cells::Skipped(why) => println!("{name:<w$}  skipped: {why}", w = widths[0]),
            }
        }
    }
}

/// Nanoseconds with precision suited to the size: `187.3`, `20413`.
pub fn ns(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Seconds, to the hundredth: `2.31`.
pub fn secs(v: f64) -> String {
    format!("{v:.2}")
}

/// A ratio such as `1.07x` or `103x`.
pub fn ratio(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}x")
    } else {
        format!("{v:.0}x")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ns(187.34), "187.3");
        assert_eq!(ns(20413.4), "20413");
        assert_eq!(ratio(1.0712), "1.07x");
        assert_eq!(ratio(103.4), "103x");
        assert_eq!(secs(2.314), "2.31");
    }
}
