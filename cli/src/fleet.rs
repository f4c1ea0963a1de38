//! `failsoft invalidate KEY…` and `failsoft fleet warm KEY…`: the CLI's part of fleet mode.

use crate::args::Args;
use crate::source_args::{build_source, client_options, keys, SOURCE_FLAGS};
use failsoft::{Client, ClientOptions};
use std::process::ExitCode;
use std::time::Duration;

/// Fleet options are required here: without a shared store there is no fleet to act on.
fn fleet_client(args: &Args) -> Result<Client, String> {
    let o: ClientOptions = client_options(args)?;
    if o.resolve_fleet().is_none() {
        return Err("--redis-url (or FAILSOFT_REDIS_URL) is required".into());
    }
    Client::with_source(build_source(args)?, o).map_err(|e| e.to_string())
}

/// Marks each key due fleet-wide; one process of the fleet refreshes it.
pub fn invalidate(args: &Args) -> Result<ExitCode, String> {
    if let Some(f) = args.unknown(SOURCE_FLAGS) {
        return Err(format!("unknown flag --{f} for invalidate"));
    }
    let client = fleet_client(args)?;
    let mut code = ExitCode::SUCCESS;
    for key in keys(args, &args.positional)? {
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

pub fn run(args: &Args) -> Result<ExitCode, String> {
    match args.positional.first().map(String::as_str) {
        Some("warm") => warm(args),
        Some(other) => Err(format!("unknown fleet command {other:?} (expected warm)")),
        None => Err("fleet needs a command: warm".into()),
    }
}

/// Keeps the listed keys fresh in the shared store: reads them every `--interval` (default a
/// tenth of the TTL), so refresh-ahead fetches each about once per TTL for the whole fleet.
/// Read-only processes (`mode: read_only`) then never need backend credentials.
fn warm(args: &Args) -> Result<ExitCode, String> {
    let mut known = SOURCE_FLAGS.to_vec();
    known.extend(["interval", "count"]);
    if let Some(f) = args.unknown(&known) {
        return Err(format!("unknown flag --{f} for fleet warm"));
    }
    let count: Option<u64> = args
        .get("count")
        .map(|c| c.parse().map_err(|_| format!("--count must be a whole number, got {c:?}")))
        .transpose()?;
    let client = fleet_client(args)?;
    let interval = args.seconds("interval")?.unwrap_or((client.ttl() / 10).max(Duration::from_millis(100)));
    let keys = keys(args, &args.positional[1..])?;
    let mut rounds = 0u64;
    let mut versions = vec![None; keys.len()];
    while count.is_none_or(|c| rounds < c) {
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
        if count.is_none_or(|c| rounds < c) {
            std::thread::sleep(interval);
        }
    }
    Ok(ExitCode::SUCCESS)
}
