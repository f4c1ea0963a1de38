//! `failsoft-sim [--fixture FILE.json] [--exit-on-stdin-eof] [--verbose]`
//!
//! Prints one JSON line `{"url": ..., "control": ...}` on stdout, then serves until killed (or,
//! with `--exit-on-stdin-eof`, until stdin is closed). Logs go to stderr.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::thread;

use failsoft_sim::Simulator;
use serde_json::{json, Value};

const USAGE: &str = "usage: failsoft-sim [--fixture FILE.json] [--exit-on-stdin-eof] [--verbose]";

struct Args {
    fixture: Option<String>,
    exit_on_stdin_eof: bool,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { fixture: None, exit_on_stdin_eof: false, verbose: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--fixture" => args.fixture = Some(it.next().ok_or("--fixture needs a file")?),
            "--exit-on-stdin-eof" => args.exit_on_stdin_eof = true,
            "--verbose" | "-v" => args.verbose = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(args)
}

fn load_fixture(path: Option<&str>) -> Result<Value, String> {
    let Some(path) = path else { return Ok(failsoft_sim::default_fixture()) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let sim = Simulator::try_start(load_fixture(args.fixture.as_deref())?)?;
    sim.set_verbose(args.verbose);
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", json!({"url": sim.url(), "control": sim.control_url()}))
        .map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    drop(stdout);
    eprintln!("failsoft-sim: data {} control {}", sim.url(), sim.control_url());
    if args.exit_on_stdin_eof {
        // Returns at EOF (or on a read error): the parent closed the pipe or died.
        let _ = io::copy(&mut io::stdin().lock().by_ref(), &mut io::sink());
        eprintln!("failsoft-sim: stdin closed, exiting");
        return Ok(());
    }
    loop {
        thread::park();
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("failsoft-sim: {message}");
            ExitCode::from(2)
        }
    }
}
