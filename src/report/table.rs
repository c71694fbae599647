//! Plain-text tables and numbers shared by every view: aligned terminal columns, Markdown
//! tables, thousands separators. A leaf: it knows nothing of results.

use std::fmt::Write as _;

/// Groups digits: 1234567 -> "1,234,567".
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rows as aligned columns for a terminal: column `left` is left-aligned, the others right-aligned;
/// every line starts with `indent`.
pub fn columns<R: AsRef<[String]>>(rows: &[R], left: usize, indent: &str) -> String {
    let cols = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|j| {
            rows.iter()
                .map(|r| r.as_ref().get(j).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .as_ref()
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(j, (c, w))| {
                if j == left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{indent}{}", cells.join("  ").trim_end());
    }
    out
}

/// Rows as a Markdown table, the first row being the header.
pub fn markdown_table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        let _ = writeln!(out, "| {} |", row.join(" | "));
        if i == 0 {
            let _ = writeln!(out, "|{}", "---|".repeat(row.len()));
        }
    }
    out
}
