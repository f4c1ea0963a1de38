//! `failsoft pull` writes a snapshot directory that a fresh process serves with the backend down.

use failsoft_sim::{FaultMode, Simulator};
use serde_json::{json, Value};
use std::process::Command;

const LANGFUSE_KEYS: &[(&str, &str)] =
    &[("LANGFUSE_PUBLIC_KEY", "pk-lf-test"), ("LANGFUSE_SECRET_KEY", "sk-lf-test")];

fn failsoft(args: &[&str]) -> (i32, String, String) {
    failsoft_with(args, &[])
}

/// Runs the CLI with `env` set (and the Langfuse variables of the host removed).
fn failsoft_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_failsoft"));
    cmd.args(args).env_remove("RUST_LOG").env_remove("LANGFUSE_PUBLIC_KEY").env_remove("LANGFUSE_SECRET_KEY");
    let out = cmd.envs(env.iter().copied()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("failsoft-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn pull_then_serve_from_the_snapshot_with_the_backend_down() {
    let sim = Simulator::start_default();
    let dir = tmpdir("pull");
    let url = sim.url();
    let (code, out, err) = failsoft(&[
        "pull",
        "movie-critic",
        "chat-agent",
        "--source",
        "langfuse",
        "--url",
        &url,
        "--out",
        dir.to_str().unwrap(),
    ]);
    // Credentials come from the environment only.
    assert_ne!(code, 0, "no credentials: {out} {err}");
    let dir_arg = dir.to_str().unwrap();
    let (code, out, err) = failsoft_with(
        &["pull", "movie-critic", "chat-agent", "--source", "langfuse", "--url", &url, "--out", dir_arg],
        LANGFUSE_KEYS,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, listing, _) = failsoft(&["snapshot", "ls", dir_arg]);
    assert_eq!(code, 0);
    assert!(listing.contains("movie-critic") && listing.contains("chat-agent"), "{listing}");
    for file in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains("sk-lf-test"), "a secret in a snapshot");
    }

    sim.set_fault("*", FaultMode::Refused);
    let (code, out, err) = failsoft_with(
        &[
            "get",
            "movie-critic",
            "--source",
            "langfuse",
            "--url",
            &url,
            "--snapshot-dir",
            dir_arg,
            "--fallback",
            "\"fb\"",
        ],
        LANGFUSE_KEYS,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], json!("snapshot"));
    assert_eq!(v["is_fallback"], json!(false));
    assert_eq!(v["value"]["name"], json!("movie-critic"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn pull_names_each_key_it_could_not_fetch() {
    let sim = Simulator::start_default();
    let dir = tmpdir("pull-fail");
    let template = format!("{}/kv/{{key}}", sim.url());
    let (code, out, err) = failsoft(&[
        "pull",
        "greeting",
        "nope",
        "--source",
        "http",
        "--url",
        &template,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("nope") && err.contains("NotFound"), "{err}");
    assert!(!err.contains("greeting"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_flags_and_sources_are_usage_errors() {
    let (code, _, err) = failsoft(&["get", "k", "--source", "ftp"]);
    assert_eq!(code, 2);
    assert!(err.contains("ftp"), "{err}");
    let (code, _, err) =
        failsoft(&["get", "k", "--source", "http", "--url", "http://h/{key}", "--colour", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("--colour"), "{err}");
}
