//! `failsoft invalidate KEY…` and `failsoft fleet warm KEY…`: the CLI's part of fleet mode.

use crate::args::seconds;
use crate::source_args::SourceArgs;
use clap::{Args, Subcommand};
use failsoft::Client;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct InvalidateArgs {
    /// The keys to refresh fleet-wide
    #[arg(required = true)]
    pub keys: Vec<String>,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Keep the listed keys fresh in the shared store (the single writer of read-only fleets)
    Warm(WarmArgs),
}

#[derive(Debug, Args)]
pub struct WarmArgs {
    /// The keys to keep fresh
    #[arg(required = true)]
    pub keys: Vec<String>,
    /// Time between rounds (default: a tenth of the TTL, at least 0.1 s)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true)]
    pub interval: Option<Duration>,
    /// Stop after this many rounds (default: run until interrupted)
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Fleet options are required here: without a shared store there is no fleet to act on.
fn fleet_client(s: &SourceArgs) -> Result<Client, String> {
    let client = s.client()?;
    if client.options().resolve_fleet().is_none() {
        return Err("--redis-url (or FAILSOFT_REDIS_URL) is required".into());
    }
    Ok(client)
}

/// Marks each key due fleet-wide; one process of the fleet refreshes it.
pub fn invalidate(args: &InvalidateArgs) -> Result<ExitCode, String> {
    let client = fleet_client(&args.source)?;
    let mut code = ExitCode::SUCCESS;
    for key in args.source.keys(&args.keys)? {
        match client.invalidate(&key) {
            Ok(()) => println!("{key}  invalidated"),
            Err(e) => {
                eprintln!("failsoft: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

pub fn run(cmd: &FleetCommand) -> Result<ExitCode, String> {
    match cmd {
        FleetCommand::Warm(args) => warm(args),
    }
}

/// Keeps the listed keys fresh in the shared store: reads them every `--interval` (default a
/// tenth of the TTL), so refresh-ahead fetches each about once per TTL for the whole fleet.
/// Read-only processes (`mode: read_only`) then never need backend credentials.
fn warm(args: &WarmArgs) -> Result<ExitCode, String> {
    let client = fleet_client(&args.source)?;
    let interval = args.interval.unwrap_or((client.ttl() / 10).max(Duration::from_millis(100)));
    let keys = args.source.keys(&args.keys)?;
    let mut rounds = 0u64;
    let mut versions = vec![None; keys.len()];
    while args.count.is_none_or(|c| rounds < c) {
        for (key, last) in keys.iter().zip(versions.iter_mut()) {
            match client.get(key) {
                Ok(v) if *last != Some(v.version()) => {
                    println!("{key}  version={:?} source={}", v.version(), v.source.as_str());
                    *last = Some(v.version());
                }
                Ok(_) => {}
                Err(e) => eprintln!("failsoft: {key}: {e}"),
            }
        }
        rounds += 1;
        if args.count.is_none_or(|c| rounds < c) {
            std::thread::sleep(interval);
        }
    }
    Ok(ExitCode::SUCCESS)
}
