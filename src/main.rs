//! The kbench binary: parse the command line, run it on a tokio runtime, map errors to exit codes.

use clap::Parser;

fn main() {
    kbench::tune_allocator();
    let cli = kbench::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KBENCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the tokio runtime: {e}");
            std::process::exit(kbench::exit::FAILURE);
        }
    };
    let code = match runtime.block_on(kbench::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            kbench::exit_code_of(&e)
        }
    };
    // librdkafka threads may still be winding down; the result is already written.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
