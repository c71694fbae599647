//! The run history as text: `kbench history list`'s table.

use super::table::{columns, thousands};
use crate::history::Row;
use crate::units::human_us;

/// One line per run, newest first, then the fingerprints the runs were measured on.
pub fn list(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "no runs in this history\n".into();
    }
    let mut prints: Vec<&str> = Vec::new();
    let mut table = vec![[
        "id", "started", "scenario", "branch", "commit", "env", "valid", "msgs/s", "p50", "p99",
        "loss",
    ]
    .map(String::from)
    .to_vec()];
    for r in rows {
        let env = match prints.iter().position(|p| *p == r.fingerprint) {
            Some(i) => i,
            None => {
                prints.push(&r.fingerprint);
                prints.len() - 1
            }
        };
        table.push(vec![
            r.id.to_string(),
            r.started_at.clone(),
            r.scenario.clone(),
            r.branch.clone().unwrap_or_else(|| "-".into()),
            r.commit
                .as_deref()
                .map_or("-".into(), |c| c.chars().take(10).collect()),
            format!("#{}", env + 1),
            if r.valid { "yes" } else { "INVALID" }.into(),
            thousands(r.throughput.round() as u64),
            human_us(r.p50_us),
            human_us(r.p99_us),
            format!("{:.3}%", r.loss_rate * 100.0),
        ]);
    }
    let mut out = columns(&table, 2, "");
    for (i, p) in prints.iter().enumerate() {
        out.push_str(&format!("env #{}: {p}\n", i + 1));
    }
    out
}
