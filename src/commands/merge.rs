//! `kbench merge`: the shards of one run into one result, its charts and summary.

use anyhow::Context as _;

use crate::cli::MergeArgs;
use crate::orchestrate::write_charts;
use crate::result::RunResult;
use crate::{exit, merge, report};

pub(crate) fn cmd_merge(args: MergeArgs) -> anyhow::Result<i32> {
    // A merged result found among the shards (an earlier merge) is not a shard: skip it.
    let results: Vec<(String, RunResult)> = report::read_results(&args.results)?
        .into_iter()
        .filter(|(_, r)| r.merge.is_none())
        .map(|(p, r)| (p.display().to_string(), r))
        .collect();
    let merged = merge::merge(&results, args.allow_partial)?;
    let path = merged
        .write(&args.out)
        .with_context(|| format!("writing the merged result into {}", args.out.display()))?;
    write_charts(&merged, &args.out);
    print!("{}", report::terminal::summary(&merged));
    println!("  result     {}", path.display());
    Ok(exit::OK)
}
