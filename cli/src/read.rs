//! `failsoft get` and `failsoft watch`.

use crate::args::seconds;
use crate::source_args::SourceArgs;
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key (langfuse: a prompt name; opik: a project, `-` for --project)
    pub key: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The keys to read on every round
    #[arg(required = true)]
    pub keys: Vec<String>,
    /// Time between rounds
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, default_value = "1")]
    pub interval: Duration,
    /// Stop after this many rounds (default: run until interrupted)
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub fn get(args: &GetArgs) -> Result<ExitCode, String> {
    let s = &args.source;
    let client = s.client()?;
    let key = s.keys(std::slice::from_ref(&args.key))?.remove(0);
    match client.get_with(&key, s.read_options()) {
        Ok(v) => {
            let mut out = v.to_json();
            out["key"] = serde_json::Value::String(key.to_string());
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("failsoft: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn watch(args: &WatchArgs) -> Result<ExitCode, String> {
    let s = &args.source;
    let client = s.client()?;
    let keys = s.keys(&args.keys)?;
    let mut n = 0u64;
    while args.count.is_none_or(|c| n < c) {
        for key in &keys {
            let t = std::time::Instant::now();
            match client.get_with(key, s.read_options()) {
                Ok(v) => println!(
                    "{key}  source={:<8} version={:<4} age={:<8} read={:.3}ms{}",
                    v.source.as_str(),
                    v.version().map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
                    v.age_seconds().map(|a| format!("{a:.1}s")).unwrap_or_else(|| "-".into()),
                    t.elapsed().as_secs_f64() * 1000.0,
                    v.error.map(|e| format!("  ({}: {})", e.kind, e.message)).unwrap_or_default(),
                ),
                Err(e) => println!("{key}  error {e}"),
            }
        }
        n += 1;
        if args.count.is_none_or(|c| n < c) {
            std::thread::sleep(args.interval);
        }
    }
    Ok(ExitCode::SUCCESS)
}
