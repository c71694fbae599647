//! `kbench compare` of capacity searches (each a `capacity.json` or its directory), typically one
//! per client: each search's answer, the clients' settings side by side (from each search's first
//! probe), and their knee charts overlaid in one.

use std::path::{Path, PathBuf};

use crate::capacity::drive::{read_report, CapacityReport};
use crate::compare::Comparison;
use crate::report;
use crate::units::Rate;

/// One search: its path, report, and a probe's result (for the client and its settings).
struct Search {
    path: PathBuf,
    report: CapacityReport,
    probe: Option<crate::result::RunResult>,
}

impl Search {
    fn read(path: &Path) -> anyhow::Result<Search> {
        let report = read_report(path)?;
        let dir = if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        };
        let probe = report::read_results(&[dir])
            .ok()
            .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0).1));
        Ok(Search {
            path: path.to_path_buf(),
            report,
            probe,
        })
    }

    /// The client that searched, and the search's place when two share a client.
    fn label(&self) -> String {
        self.probe
            .as_ref()
            .and_then(|r| r.engine.as_ref().map(|e| e.name.clone()))
            .unwrap_or_else(|| "librdkafka".into())
    }
}

/// Compares the searches at `paths`, writing the overlay, the table and report.html into `out`.
pub(crate) fn compare_searches(paths: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let searches = paths
        .iter()
        .map(|p| Search::read(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut labels: Vec<String> = searches.iter().map(Search::label).collect();
    for i in 0..labels.len() {
        if labels.iter().filter(|l| **l == labels[i]).count() > 1 {
            labels[i] = format!("{} ({})", labels[i], searches[i].path.display());
        }
    }
    let mut rows = vec![["search", "capacity", "bracket", "probes", "SLO"]
        .map(String::from)
        .to_vec()];
    for (label, s) in labels.iter().zip(&searches) {
        let a = &s.report.answer;
        let rate = |r: Option<f64>| r.map_or("-".into(), Rate::human);
        rows.push(vec![
            label.clone(),
            a.rate
                .map_or("none".into(), |r| format!("{} msg/s", Rate::human(r))),
            format!("{}..{}", rate(a.bracket[0]), rate(a.bracket[1])),
            a.probes.to_string(),
            s.report.slo.clone(),
        ]);
    }
    let probes: Vec<(String, crate::result::RunResult)> = labels
        .iter()
        .zip(&searches)
        .filter_map(|(l, s)| s.probe.clone().map(|r| (l.clone(), r)))
        .collect();
    let c = (probes.len() == searches.len()).then(|| Comparison::new(probes));
    print!("{}", report::table::columns(&rows, 0, ""));
    if let Some(settings) = c.as_ref().and_then(report::settings::table) {
        println!("\nclient settings ({})", report::compare::SETTINGS_NOTE);
        print!("{}", report::table::columns(&settings, 0, ""));
    }
    let knees = report::chart::Knees {
        searches: labels
            .iter()
            .cloned()
            .zip(searches.iter().map(|s| &s.report))
            .collect(),
    };
    let files = report::write_capacity_comparison(&knees, &rows, c.as_ref(), out)?;
    println!(
        "\ncomparison written to {} ({} files)",
        out.display(),
        files.len()
    );
    Ok(())
}
