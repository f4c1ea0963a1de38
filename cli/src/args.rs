//! Value parsers shared by the commands' flags (clap calls them, so a bad value is reported with
//! the flag's name), and the flag-else-environment rule for endpoints and keys.

use std::time::Duration;

/// `--ttl 0.5`: a non-negative number of seconds, parsed as the library parses its options.
pub fn seconds(raw: &str) -> Result<Duration, String> {
    failsoft::options::parse_seconds(raw)
        .ok_or_else(|| "must be a non-negative number of seconds".to_string())
}

/// `--fallback '{"text":"hi"}'`: any JSON value.
pub fn json(raw: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(raw).map_err(|e| format!("must be JSON ({e})"))
}

/// A flag's value, else a non-empty environment variable's. Not clap's `env`: that would show a
/// key's value in `--help`, and an empty variable would count as given.
pub fn or_env(flag: Option<&str>, env: &str) -> Option<String> {
    flag.map(str::to_string).or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
}
