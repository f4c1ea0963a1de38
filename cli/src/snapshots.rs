//! `failsoft pull` (write a snapshot directory to bake into an image) and `failsoft snapshot ls`.

use crate::args::Args;
use crate::source_args::{build_source, client_options, keys, SOURCE_FLAGS};
use failsoft::Client;
use std::process::ExitCode;

pub fn pull(args: &Args) -> Result<ExitCode, String> {
    let mut known = SOURCE_FLAGS.to_vec();
    known.push("out");
    if let Some(f) = args.unknown(&known) {
        return Err(format!("unknown flag --{f} for pull"));
    }
    let out = args.get("out").ok_or("pull needs --out DIR")?;
    let mut options = client_options(args)?;
    options.snapshot_dir = Some(out.into());
    let client = Client::with_source(build_source(args)?, options).map_err(|e| e.to_string())?;
    let keys = keys(args, &args.positional)?;
    let deadline = options_deadline(args)?;
    match client.prefetch(&keys, deadline) {
        Ok(values) => {
            for (k, v) in keys.iter().zip(values) {
                println!(
                    "pulled {k} (version {})",
                    v.version().map(|x| x.to_string()).unwrap_or_else(|| "-".into())
                );
            }
            println!("wrote {} snapshot(s) to {out}", keys.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for k in &e.succeeded {
                println!("pulled {k}");
            }
            for (k, err) in &e.failures {
                eprintln!("failsoft: could not pull {k}: {} ({})", err.kind, err.message);
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn options_deadline(args: &Args) -> Result<Option<std::time::Duration>, String> {
    args.seconds("cold-deadline")
}

pub fn snapshot(args: &Args) -> Result<ExitCode, String> {
    match args.positional.as_slice() {
        [cmd, dir] if cmd == "ls" => {
            let items =
                failsoft::snapshot::list(std::path::Path::new(dir)).map_err(|e| format!("{dir}: {e}"))?;
            if items.is_empty() {
                println!("no snapshots in {dir}");
            } else {
                println!("{:<40} {:>8} {:>10}  source", "key", "version", "age");
                for s in items {
                    println!(
                        "{:<40} {:>8} {:>10}  {}",
                        s.key,
                        s.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                        human_age(s.age),
                        s.source
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => Err("usage: failsoft snapshot ls DIR".into()),
    }
}

fn human_age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
