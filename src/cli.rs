//! The command line (clap derive): `run`, `validate`, `report`, `compare`, `gate`, `capacity`,
//! `merge`, `broker`, `engines` and `completions`, with the value parsers for sizes, rates and durations.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Load generation and benchmarking for Kafka producers.
#[derive(Debug, Parser)]
#[command(name = "kbench", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its result (embedded broker unless bootstrap servers are given).
    Run(RunArgs),
    /// Check a scenario file without running it; prints the resolved scenario.
    Validate(ValidateArgs),
    /// Re-draw the charts and report.html of saved results (files or directories).
    Report(ReportArgs),
    /// Compare saved runs: ratio table, overlaid spectra, bars, throughput-vs-p99 scatter, HTML.
    Compare(CompareArgs),
    /// Merge the shards of one run (kbench run --shard I/N) into one result, exactly.
    Merge(MergeArgs),
    /// Find the highest rate that meets the [capacity] SLO (ramp, bisect, confirm).
    Capacity(CapacityArgs),
    /// Judge saved results against a gate and/or baseline results, without running anything.
    Gate(GateArgs),
    /// Serve the embedded mock cluster for other tools until interrupted or --seconds elapse.
    Broker(BrokerArgs),
    /// Print a shell completion script: kbench completions bash > ~/.local/share/bash-completion/completions/kbench
    Completions(CompletionsArgs),
    /// List the engines (the clients kbench can drive), or build one ahead of its first run.
    Engines(EnginesArgs),
    /// The run history (--history FILE): list its runs, or show one.
    History(HistoryArgs),
}

impl ScenarioArgs {
    /// Where the scenario comes from, for messages: the file, `<stdin>`, or `<command line>`.
    pub fn location(&self) -> String {
        match &self.scenario {
            Some(p) if p.as_os_str() == "-" => "<stdin>".into(),
            Some(p) => p.display().to_string(),
            None => "<command line>".into(),
        }
    }
}

/// The common keys as flags: each is a shorthand of `--set KEY=VALUE` (applied after every
/// `--set`, so a flag wins over the file and over `--set`).
#[derive(Debug, Args, Default)]
pub struct Shorthands {
    /// load.rate, e.g. 10k/s or max.
    #[arg(long, value_name = "RATE", help_heading = "Shorthands of --set")]
    pub rate: Option<String>,
    /// message.size, e.g. 1KiB.
    #[arg(long, value_name = "SIZE", help_heading = "Shorthands of --set")]
    pub size: Option<String>,
    /// producer.acks: 0, 1 or all.
    #[arg(long, value_name = "ACKS", help_heading = "Shorthands of --set")]
    pub acks: Option<String>,
    /// load.duration, e.g. 30s.
    #[arg(long, value_name = "DURATION", help_heading = "Shorthands of --set")]
    pub duration: Option<String>,
    /// load.messages (instead of a duration).
    #[arg(long, value_name = "N", help_heading = "Shorthands of --set")]
    pub messages: Option<String>,
    /// load.warmup, e.g. 2s.
    #[arg(long, value_name = "DURATION", help_heading = "Shorthands of --set")]
    pub warmup: Option<String>,
    /// producer.workers.
    #[arg(long, value_name = "N", help_heading = "Shorthands of --set")]
    pub workers: Option<String>,
    /// producer.linger, e.g. 5ms.
    #[arg(long, value_name = "DURATION", help_heading = "Shorthands of --set")]
    pub linger: Option<String>,
    /// producer.compression: none, gzip, snappy, lz4, zstd.
    #[arg(long, value_name = "CODEC", help_heading = "Shorthands of --set")]
    pub compression: Option<String>,
    /// topic.name.
    #[arg(long, value_name = "NAME", help_heading = "Shorthands of --set")]
    pub topic: Option<String>,
    /// topic.partitions.
    #[arg(long, value_name = "N", help_heading = "Shorthands of --set")]
    pub partitions: Option<String>,
    /// load.repeats: run the scenario N times in a row, one result with medians and intervals.
    #[arg(long, value_name = "N", help_heading = "Shorthands of --set")]
    pub repeat: Option<String>,
}

impl Shorthands {
    /// The flags given, as `--set` overrides.
    pub fn overrides(&self) -> Vec<String> {
        let pairs = [
            ("load.rate", &self.rate),
            ("message.size", &self.size),
            ("producer.acks", &self.acks),
            ("load.duration", &self.duration),
            ("load.messages", &self.messages),
            ("load.warmup", &self.warmup),
            ("producer.workers", &self.workers),
            ("producer.linger", &self.linger),
            ("producer.compression", &self.compression),
            ("topic.name", &self.topic),
            ("topic.partitions", &self.partitions),
            ("load.repeats", &self.repeat),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Print every librdkafka property kbench would set instead, one key=value a line, sorted
    /// (as rdkafka_performance -X dump does; secrets as ***).
    #[arg(long)]
    pub properties: bool,
}

#[derive(Debug, Args)]
pub struct EnginesArgs {
    /// `build` builds an engine (with Go; from the Go module proxy, pinned by go.sum).
    #[arg(value_parser = ["build"])]
    pub action: Option<String>,
    /// The engine to build (default: every external engine).
    pub name: Option<crate::scenario::engine::Engine>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: HistoryAction,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// The last runs, newest first: time, scenario, branch, commit, validity, headline figures.
    List {
        /// The history (an SQLite file written by --history).
        file: PathBuf,
        /// Only runs of this scenario (by name).
        #[arg(long)]
        scenario: Option<String>,
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
    /// Draw a scenario's history: throughput, p50, p99 and loss by run, one series per
    /// environment, the last N runs shaded, into DIR (SVG, PNG and report.html).
    Trend {
        /// The history.
        file: PathBuf,
        /// The scenario (by name; default: the newest run's).
        #[arg(long)]
        scenario: Option<String>,
        /// How many of each environment's last runs the shaded band spans (a gate's --last).
        #[arg(long, default_value_t = 10)]
        last: usize,
        /// At most this many runs, the newest.
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Directory for the charts and report.html.
        #[arg(long, default_value = "reports/history")]
        out: PathBuf,
    },
    /// One run's whole result, as JSON.
    Show {
        /// The history.
        file: PathBuf,
        /// The run's id (from `list`).
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Scenario file (.toml, or .json with the same structure); `-` reads TOML from stdin.
    /// `run` may leave it out and give the shorthand flags below instead (an empty scenario).
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub shorthands: Shorthands,
    /// Override a scenario key, e.g. --set load.rate=20k/s (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Bootstrap servers of an external cluster (overrides cluster.bootstrap; without either,
    /// KBENCH_BOOTSTRAP or KAFKA_BOOTSTRAP_SERVERS, else the embedded broker).
    #[arg(long, value_name = "HOST:PORT,...")]
    pub bootstrap: Option<String>,
    /// Bootstrap servers used only when neither the scenario nor --bootstrap/--set gives any.
    #[arg(long, value_name = "HOST:PORT,...", env = "KBENCH_BOOTSTRAP")]
    pub default_bootstrap: Option<String>,
    /// The same fallback from the variable other Kafka tools read (after KBENCH_BOOTSTRAP).
    #[arg(long, hide = true, env = "KAFKA_BOOTSTRAP_SERVERS")]
    pub kafka_bootstrap_servers: Option<String>,
    /// A librdkafka client property, as in kcat and rdkafka_performance: -X linger.ms=5
    /// (repeatable; same as --set cluster.properties."KEY"=VALUE).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub property: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Directory for results: each run writes <out>/<timestamp>-<name>/result.json.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short, conflicts_with = "json")]
    pub quiet: bool,
    /// Print the result JSON to stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Do not draw charts or report.html next to result.json.
    #[arg(long)]
    pub no_charts: bool,
    /// Print the plan (one row per run, with the keys that vary, and the estimated time) and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Run a sweep even when its plan has more runs than experiment.max_runs.
    #[arg(long)]
    pub yes: bool,
    /// Continue the sweep in this directory, skipping the runs that finished.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Run as shard I of N (I from 0, like Kubernetes' JOB_COMPLETION_INDEX): 1/N of the rate and
    /// messages, on a schedule that interleaves with the other shards'. E.g. --shard 2/8.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, conflicts_with = "shards")]
    pub shard: Option<(u32, u32)>,
    /// Number of shards; this shard's index comes from JOB_COMPLETION_INDEX.
    #[arg(long, env = "KBENCH_SHARDS", value_name = "N")]
    pub shards: Option<u32>,
    /// Start the schedule at this wall-clock time (RFC 3339), so shards start together.
    #[arg(long, env = "KBENCH_START_AT", value_name = "TIME", value_parser = parse_time)]
    pub start_at: Option<std::time::SystemTime>,
    /// Start the schedule this long from now (e.g. 30s).
    #[arg(long, value_name = "DURATION", conflicts_with = "start_at")]
    pub start_after: Option<crate::units::Dur>,
    #[command(flatten)]
    pub gate: GateFlags,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

/// The live metrics endpoint.
#[derive(Debug, Args, Default, Clone)]
pub struct MetricsFlags {
    /// Serve live metrics (Prometheus / OpenMetrics text) at http://ADDR/metrics while the
    /// command runs, e.g. 127.0.0.1:9464 (overrides [output] metrics_addr).
    #[arg(long, value_name = "ADDR", env = "KBENCH_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Keep serving this long after the run, so the last scrape sees the final numbers.
    #[arg(long, value_name = "DURATION", default_value = "0s")]
    pub metrics_hold: crate::units::Dur,
}

/// Flags shared by `run` and `gate`.
#[derive(Debug, Args, Default)]
pub struct GateFlags {
    /// Baseline result(s) to judge against ([gate.baseline]); several are repeats.
    #[arg(long, num_args = 1..)]
    pub baseline: Vec<PathBuf>,
    /// Write the verdict as Markdown here (also appended to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Write the verdict as JUnit XML here, one test case per checked metric.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// A run history (SQLite; created if missing): judge against its last comparable runs (same
    /// scenario and environment, on --branch) instead of --baseline; `run` also appends its
    /// result to it (overrides [output] history).
    #[arg(
        long,
        value_name = "FILE",
        env = "KBENCH_HISTORY",
        conflicts_with = "baseline"
    )]
    pub history: Option<PathBuf>,
    /// How many of the history's comparable runs to judge against.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub last: usize,
    /// The branch whose history a gate compares with.
    #[arg(long, default_value = "main", value_name = "NAME")]
    pub branch: String,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard results: result.json files or directories holding them.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Directory for the merged result.json, latency.hlog, charts and report.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Merge even when shards are missing or some have counts that do not add up (the merged
    /// result says which, and stays invalid for gates in the second case).
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Directory for the search: <out>/<timestamp>-<name>-capacity/ (probes, capacity.json, chart).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Print only the answer line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Fail (exit 99) when the capacity is below this rate, e.g. 40k/s.
    #[arg(long, value_parser = parse_rate)]
    pub floor: Option<f64>,
    /// Fail (exit 99) when the capacity drops below a saved capacity.json by more than --max-drop.
    #[arg(long, value_name = "CAPACITY_JSON")]
    pub baseline: Option<PathBuf>,
    /// Largest allowed drop against --baseline.
    #[arg(long, default_value = "10%", requires = "baseline", value_parser = parse_percent)]
    pub max_drop: f64,
    #[command(flatten)]
    pub metrics: MetricsFlags,
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let err = || format!("expected I/N with 0 <= I < N, like 2/8, found {s:?}");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n): (u32, u32) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

fn parse_time(s: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(s.trim()).map_err(|e| {
        format!("expected an RFC 3339 time like 2026-11-21T20:30:00Z, found {s:?}: {e}")
    })
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<crate::units::Rate>() {
        Ok(crate::units::Rate::PerSec(r)) => Ok(r),
        Ok(crate::units::Rate::Max) => {
            Err("a floor must be a number of messages per second".into())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    s.trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|v| (0.0..=100.0).contains(v))
        .map(|v| v / 100.0)
        .ok_or_else(|| format!("expected a percentage like 10%, found {s:?}"))
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Result(s) to judge (files or directories); several are repeats.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// A scenario file whose [gate] to use (default: the [gate] stored in the first result).
    #[arg(long, value_name = "SCENARIO")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub gate: GateFlags,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// result.json files, or directories holding them.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// result.json files, or directories of results; the first run is the reference.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// Directory for the comparison's charts, table and HTML (default: reports/<timestamp>-compare).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Number of brokers.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub brokers: u32,
    /// Topics to create, as NAME:PARTITIONS (repeatable).
    #[arg(long = "topic", value_name = "NAME:PARTITIONS", value_parser = parse_topic)]
    pub topics: Vec<(String, u32)>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
}

fn parse_topic(s: &str) -> Result<(String, u32), String> {
    let (name, parts) = match s.split_once(':') {
        Some((n, p)) => (
            n,
            p.parse::<u32>()
                .map_err(|_| format!("invalid partition count in {s:?}"))?,
        ),
        None => (s, 1),
    };
    if name.is_empty() || parts == 0 {
        return Err(format!(
            "expected NAME:PARTITIONS with PARTITIONS >= 1, found {s:?}"
        ));
    }
    Ok((name.to_string(), parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shards_and_times_parse() {
        assert_eq!(parse_shard("2/8").unwrap(), (2, 8));
        assert_eq!(parse_shard("0/1").unwrap(), (0, 1));
        for bad in ["8/8", "1/0", "x/2", "3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert!(parse_time("2026-11-21T20:30:00Z").is_ok());
        assert!(parse_time("tomorrow").is_err());
    }

    #[test]
    fn topics_parse() {
        assert_eq!(parse_topic("t:6").unwrap(), ("t".into(), 6));
        assert_eq!(parse_topic("t").unwrap(), ("t".into(), 1));
        assert!(parse_topic("t:0").is_err());
        assert!(parse_topic(":3").is_err());
        assert!(parse_topic("t:x").is_err());
    }
}
