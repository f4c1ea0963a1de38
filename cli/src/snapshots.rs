//! `failsoft pull` (write a snapshot directory to bake into an image) and `failsoft snapshot ls`.

use crate::source_args::{build, SourceArgs};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The keys to fetch and write
    #[arg(required = true)]
    pub keys: Vec<String>,
    /// The snapshot directory to write (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// List the snapshots a directory holds: key, version, age, source
    Ls {
        /// The snapshot directory
        dir: PathBuf,
    },
}

pub fn pull(args: &PullArgs) -> Result<ExitCode, String> {
    let s = &args.source;
    let mut spec = s.spec()?;
    spec.snapshot_dir = Some(args.out.to_str().ok_or("--out must be valid UTF-8")?.to_string());
    let client = build(&spec)?;
    let keys = s.keys(&args.keys)?;
    match client.prefetch(&keys, s.cold_deadline) {
        Ok(values) => {
            for (k, v) in keys.iter().zip(values) {
                println!(
                    "pulled {k} (version {})",
                    v.version().map(|x| x.to_string()).unwrap_or_else(|| "-".into())
                );
            }
            println!("wrote {} snapshot(s) to {}", keys.len(), args.out.display());
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

pub fn snapshot(cmd: &SnapshotCommand) -> Result<ExitCode, String> {
    match cmd {
        SnapshotCommand::Ls { dir } => {
            let shown = dir.display();
            let items = failsoft::snapshot::list(dir).map_err(|e| format!("{shown}: {e}"))?;
            if items.is_empty() {
                println!("no snapshots in {shown}");
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
