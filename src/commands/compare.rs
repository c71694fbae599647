//! `kbench compare`: saved results side by side, on the terminal and as files; saved capacity
//! searches (`compare_capacity`) side by side with their knees overlaid.

use std::path::Path;

use crate::cli::CompareArgs;
use crate::result::{self, run_dir};
use crate::{compare, exit, report};

pub(crate) fn cmd_compare(args: CompareArgs) -> anyhow::Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        run_dir(Path::new("reports"), &now, "compare")
    });
    let searches = args
        .results
        .iter()
        .filter(|p| crate::capacity::drive::is_search(p))
        .count();
    if searches == args.results.len() && searches >= 2 {
        super::compare_capacity::compare_searches(&args.results, &out)?;
        return Ok(exit::OK);
    }
    let results = report::read_results(&args.results)?;
    if results.len() < 2 {
        anyhow::bail!(result::ResultError::Invalid {
            path: args.results[0].display().to_string(),
            detail: "a comparison needs at least two results".into(),
        });
    }
    let c = compare::Comparison::new(
        results
            .into_iter()
            .map(|(p, r)| (p.display().to_string(), r))
            .collect(),
    );
    print!("{}", report::compare::terminal(&c));
    let files = report::write_comparison_report(&c, &out)?;
    println!(
        "\ncomparison written to {} ({} files)",
        out.display(),
        files.len()
    );
    Ok(exit::OK)
}
