//! `kbench completions SHELL`: the completion script of every subcommand and flag.

use crate::cli::CompletionsArgs;
use crate::exit;

/// Prints the completion script of `args.shell` for every subcommand and flag (clap_complete).
pub(crate) fn cmd_completions(args: CompletionsArgs) -> anyhow::Result<i32> {
    use clap::CommandFactory as _;
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "kbench", &mut std::io::stdout());
    Ok(exit::OK)
}
