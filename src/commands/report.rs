//! `kbench report`: charts and HTML again from saved results.

use std::path::Path;

use crate::cli::ReportArgs;
use crate::{exit, report};

pub(crate) fn cmd_report(args: ReportArgs) -> anyhow::Result<i32> {
    for (path, r) in report::read_results(&args.results)? {
        let dir = path.parent().unwrap_or(Path::new("."));
        let files = report::write_run_report(&r, dir)?;
        println!("{}: {} files", dir.display(), files.len());
        for f in files {
            println!("  {}", f.display());
        }
    }
    Ok(exit::OK)
}
