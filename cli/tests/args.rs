//! The CLI's argument handling as a user meets it: version, help, errors that name the wrong
//! flag or value, shell completions, and the old flag conventions kept.

use std::process::Command;

fn failsoft(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_failsoft"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("FAILSOFT_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An http source on a port nothing listens on: reads fail at once.
const DEAD: &str = "http://127.0.0.1:9/{key}";

#[test]
fn version_is_the_workspace_version() {
    let (code, out, _) = failsoft(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("failsoft {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_get_and_get_help_list_the_commands_flags() {
    for args in [&["help", "get"][..], &["get", "--help"][..]] {
        let (code, out, err) = failsoft(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        for flag in ["--source", "--url", "--header", "--label", "--ttl", "--cold-deadline", "--fallback"] {
            assert!(out.contains(flag), "{args:?} does not mention {flag}:\n{out}");
        }
    }
    let (code, out, _) = failsoft(&["help"]);
    assert_eq!(code, 0);
    for cmd in ["get", "watch", "pull", "snapshot", "chat", "demo", "completions"] {
        assert!(out.contains(cmd), "help does not list {cmd}:\n{out}");
    }
}

#[test]
fn no_arguments_prints_usage_and_exits_2() {
    let (code, _, err) = failsoft(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage: failsoft"), "{err}");
}

#[test]
fn a_bad_value_is_reported_with_its_flag() {
    let (code, _, err) = failsoft(&["get", "k", "--source", "http", "--url", DEAD, "--ttl", "-1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--ttl") && err.contains("non-negative"), "{err}");
    let (code, _, err) = failsoft(&["get", "k", "--source", "http", "--url", DEAD, "--fallback", "{nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("--fallback") && err.contains("JSON"), "{err}");
    let (code, _, err) = failsoft(&["watch", "k", "--source", "http", "--url", DEAD, "--count", "many"]);
    assert_eq!(code, 2);
    assert!(err.contains("--count"), "{err}");
}

#[test]
fn missing_required_flags_are_named() {
    let (code, _, err) = failsoft(&["get", "k"]);
    assert_eq!(code, 2);
    assert!(err.contains("--source"), "{err}");
    let (code, _, err) = failsoft(&["chat", "hi", "--base-url", "http://127.0.0.1:9/v1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--model"), "{err}");
    let (code, _, err) = failsoft(&["pull", "k", "--source", "http", "--url", DEAD]);
    assert_eq!(code, 2);
    assert!(err.contains("--out"), "{err}");
}

#[test]
fn a_flag_of_another_source_is_refused() {
    // `--version` after a command is the source's version flag, not the program's.
    let (code, _, err) = failsoft(&["get", "k", "--source", "http", "--url", DEAD, "--version", "3"]);
    assert_eq!(code, 2);
    assert!(err.contains("--version does not apply to --source http"), "{err}");
}

#[test]
fn old_conventions_still_work() {
    // --name=value, a repeated flag keeps its last value, a negative JSON fallback, `--` before a key.
    let (code, out, err) = failsoft(&[
        "get",
        "--source=http",
        "--url",
        "http://127.0.0.1:9/first/{key}",
        "--url",
        DEAD,
        "--fallback",
        "-5",
        "--",
        "-k",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["value"], serde_json::json!(-5));
    assert_eq!(v["is_fallback"], serde_json::json!(true));
    assert_eq!(v["key"], serde_json::json!("-k"));
}

#[test]
fn completions_are_printed_for_bash_zsh_and_fish() {
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef failsoft"), ("fish", "complete -c failsoft")]
    {
        let (code, out, err) = failsoft(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell} completions lack {marker:?}");
        assert!(out.contains("cold-deadline") && out.contains("snapshot"), "{shell} completions lack flags");
    }
    let (code, _, err) = failsoft(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("tcsh"), "{err}");
}
