//! `failsoft get` and `failsoft watch`.

use crate::args::Args;
use crate::source_args::{build_source, client_options, fallback, keys, SOURCE_FLAGS};
use failsoft::{Client, ReadOptions};
use std::process::ExitCode;
use std::time::Duration;

pub fn get(args: &Args) -> Result<ExitCode, String> {
    if let Some(f) = args.unknown(SOURCE_FLAGS) {
        return Err(format!("unknown flag --{f} for get"));
    }
    let [name] = args.positional.as_slice() else {
        return Err("get takes exactly one KEY".into());
    };
    let client =
        Client::with_source(build_source(args)?, client_options(args)?).map_err(|e| e.to_string())?;
    let key = keys(args, std::slice::from_ref(name))?.remove(0);
    let opts = ReadOptions { fallback: fallback(args)?.map(failsoft::Fallback::Value), ..Default::default() };
    match client.get_with(&key, opts) {
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

pub fn watch(args: &Args) -> Result<ExitCode, String> {
    let mut known = SOURCE_FLAGS.to_vec();
    known.extend(["interval", "count"]);
    if let Some(f) = args.unknown(&known) {
        return Err(format!("unknown flag --{f} for watch"));
    }
    let interval = args.seconds("interval")?.unwrap_or(Duration::from_secs(1));
    let count: Option<u64> = args
        .get("count")
        .map(|c| c.parse().map_err(|_| format!("--count must be a whole number, got {c:?}")))
        .transpose()?;
    let client =
        Client::with_source(build_source(args)?, client_options(args)?).map_err(|e| e.to_string())?;
    let keys = keys(args, &args.positional)?;
    let fb = fallback(args)?;
    let mut n = 0u64;
    while count.is_none_or(|c| n < c) {
        for key in &keys {
            let opts =
                ReadOptions { fallback: fb.clone().map(failsoft::Fallback::Value), ..Default::default() };
            let t = std::time::Instant::now();
            match client.get_with(key, opts) {
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
        if count.is_none_or(|c| n < c) {
            std::thread::sleep(interval);
        }
    }
    Ok(ExitCode::SUCCESS)
}
