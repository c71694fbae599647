//! `kbench broker`: the embedded broker on its own, until Ctrl-C or `--seconds`.

use std::io::Write;

use crate::cli::BrokerArgs;
use crate::signal::Interrupts;
use crate::{broker, exit};

pub(crate) async fn cmd_broker(args: BrokerArgs) -> anyhow::Result<i32> {
    let embedded = broker::Embedded::start(args.brokers)?;
    for (name, partitions) in &args.topics {
        embedded.create_topic(name, *partitions, args.brokers.min(3))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", embedded.bootstrap())?;
        out.flush()?;
    }
    eprintln!(
        "embedded broker: {} brokers at {}; topics: {}; Ctrl-C to stop",
        args.brokers,
        embedded.bootstrap(),
        if args.topics.is_empty() {
            "none (auto-created with 4 partitions on first use)".to_string()
        } else {
            args.topics
                .iter()
                .map(|(n, p)| format!("{n}:{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let interrupts = Interrupts::listen();
    match args.seconds {
        Some(secs) => {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(secs)) => {}
                _ = interrupts.at_least(1) => {}
            }
        }
        None => interrupts.at_least(1).await,
    }
    drop(embedded);
    Ok(exit::OK)
}
