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

use args::Args;
use std::process::ExitCode;

const USAGE: &str = "\
failsoft — remote prompts and config that stay available when the backend fails

USAGE:
  failsoft get KEY --source http --url 'http://host/{key}' [--header 'Name: value']
  failsoft get KEY --source file --path values.json
  failsoft get NAME --source langfuse [--label L | --version N]     (LANGFUSE_BASE_URL, _PUBLIC_KEY, _SECRET_KEY)
  failsoft get PROJECT --source opik [--env E | --version vN|latest] (OPIK_URL_OVERRIDE, OPIK_API_KEY, OPIK_WORKSPACE)
  failsoft watch KEY [KEY…] --source … [--interval SECONDS] [--count N]
  failsoft pull KEY [KEY…] --source … --out DIR   write snapshots to bake into an image
  failsoft snapshot ls DIR                      list what a snapshot directory holds
  failsoft invalidate KEY [KEY…] --source … --redis-url URL   force a fleet-wide refresh
  failsoft fleet warm KEY [KEY…] --source … --redis-url URL [--interval S] [--count N]
                 the single writer that keeps the listed keys fresh in the shared store
  failsoft chat PROMPT --base-url URL --model M [--fallback-base-url URL] [--fallback-model M] [--stream] [--json]
                 (keys: --api-key / OPENAI_API_KEY, --fallback-api-key; --timeout, --fallback-timeout, --deadline)
  failsoft demo

OPTIONS (get, watch):
  --ttl SECONDS            cache TTL (default: FAILSOFT_TTL_SECONDS, else 300)
  --cold-deadline SECONDS  how long a read with nothing cached waits (default 5)
  --snapshot-dir DIR       last-known-good snapshots (default: FAILSOFT_SNAPSHOT_DIR)
  --fallback JSON          served when the backend fails and nothing is cached
  --request-timeout SECONDS  bound on one background fetch (default 10)
  --redis-url URL          fleet mode: share refreshes through Redis (default: FAILSOFT_REDIS_URL)
  --fleet-prefix P         prefix of the fleet's Redis keys (default failsoft)
  RUST_LOG=debug           show the library's log lines on stderr (never a secret)

`get` prints the value as JSON with source, is_fallback, version and age;
it exits 1 when no value could be served.";

fn main() -> ExitCode {
    logging::init();
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = raw.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(rest) {
        Ok(a) => a,
        Err(e) => return usage_error(&e),
    };
    let result = match cmd.as_str() {
        "get" => read::get(&args),
        "watch" => read::watch(&args),
        "pull" => snapshots::pull(&args),
        "snapshot" => snapshots::snapshot(&args),
        "invalidate" => fleet::invalidate(&args),
        "fleet" => fleet::run(&args),
        "chat" => chat::run(&args),
        "demo" => demo::run(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}")),
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
