//! `failsoft`: read values through the availability cache, watch them, pull snapshots, and run
//! the demo against the bundled simulator.

mod args;
mod chat;
mod demo;
mod fleet;
mod logging;
mod read;
mod snapshots;
mod source_args;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// Remote prompts and config that stay available when the backend fails.
#[derive(Debug, Parser)]
#[command(
    name = "failsoft",
    version,
    arg_required_else_help = true,
    // A flag given twice keeps its last value, as before clap.
    args_override_self = true,
    after_help = "RUST_LOG=debug shows the library's log lines on stderr (never a secret).\n\
                  `failsoft help COMMAND` or `failsoft COMMAND --help` for a command's flags."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read one value through the cache; print it as JSON with source, is_fallback, version and
    /// age (exit 1 when no value could be served)
    #[command(after_help = "\
Examples:
  failsoft get KEY --source http --url 'http://host/{key}' [--header 'Name: value']
  failsoft get KEY --source file --path values.json
  failsoft get NAME --source langfuse [--label L | --version N]
  failsoft get PROJECT --source opik [--env E | --version vN|latest]")]
    Get(read::GetArgs),
    /// Read keys every --interval and print source, version and age, to watch stale and fresh flip
    Watch(read::WatchArgs),
    /// Fetch keys and write them as snapshots to --out, to bake into an image
    Pull(snapshots::PullArgs),
    /// Inspect a snapshot directory
    #[command(subcommand)]
    Snapshot(snapshots::SnapshotCommand),
    /// Mark keys due fleet-wide (fleet mode): one process of the fleet refreshes each
    Invalidate(fleet::InvalidateArgs),
    /// Fleet mode's single writer
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// One chat completion through the fallback chain, printing who answered
    Chat(chat::ChatArgs),
    /// Walk through every failure failsoft absorbs, against a bundled simulator (no account or network)
    Demo,
    /// Print a shell completion script: `failsoft completions bash > /etc/bash_completion.d/failsoft`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    logging::init();
    // Usage errors (an unknown flag, a bad value) exit 2 with clap's message naming the flag.
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Get(args) => read::get(args),
        Command::Watch(args) => read::watch(args),
        Command::Pull(args) => snapshots::pull(args),
        Command::Snapshot(cmd) => snapshots::snapshot(cmd),
        Command::Invalidate(args) => fleet::invalidate(args),
        Command::Fleet(cmd) => fleet::run(cmd),
        Command::Chat(args) => chat::run(args),
        Command::Demo => demo::run(),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "failsoft", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => usage_error(&e),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("failsoft: {msg}\n\nRun `failsoft help` for usage.");
    ExitCode::from(2)
}
