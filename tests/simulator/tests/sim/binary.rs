//! The `failsoft-sim` binary as other languages start it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::get;

#[test]
fn binary_prints_urls_and_exits_when_stdin_closes() {
    let fixture = std::env::temp_dir().join(format!("failsoft-sim-fixture-{}.json", std::process::id()));
    std::fs::write(&fixture, json!({"kv": {"k": {"value": [1, 2], "version": 7}}}).to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_failsoft-sim"))
        .args(["--fixture", fixture.to_str().unwrap(), "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap();
    let (url, control) = (urls["url"].as_str().unwrap(), urls["control"].as_str().unwrap());
    assert_ne!(url, control);
    let resp = get(&format!("{url}/kv/k"));
    assert_eq!((resp.json(), resp.header("etag")), (json!([1, 2]), Some("\"7\"")));
    assert_eq!(get(&format!("{control}/_sim/health")).status, 200);

    let mut stdin = child.stdin.take().unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the simulator exits when stdin closes");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(fixture);
}
