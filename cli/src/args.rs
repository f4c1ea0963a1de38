//! A small flag parser: `--name value`, `--name=value`, repeated flags, and positionals.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Args {
    flags: HashMap<String, Vec<String>>,
    switches: Vec<String>,
    pub positional: Vec<String>,
}

/// Flags that take no value.
const SWITCHES: &[&str] = &["help", "stream", "json"];

impl Args {
    pub fn parse(raw: &[String]) -> Result<Args, String> {
        let mut args = Args::default();
        let mut it = raw.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                args.positional.extend(it.by_ref().cloned());
                break;
            }
            if let Some(name) = a.strip_prefix("--") {
                if let Some((n, v)) = name.split_once('=') {
                    args.flags.entry(n.to_string()).or_default().push(v.to_string());
                } else if SWITCHES.contains(&name) {
                    args.switches.push(name.to_string());
                } else {
                    let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                    args.flags.entry(name.to_string()).or_default().push(v.clone());
                }
            } else if a == "-h" {
                args.switches.push("help".into());
            } else {
                args.positional.push(a.clone());
            }
        }
        Ok(args)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.flags.get(name).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default()
    }

    pub fn has_switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// A flag's value, else an environment variable's.
    pub fn get_or_env(&self, name: &str, env: &str) -> Option<String> {
        self.get(name).map(str::to_string).or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
    }

    pub fn seconds(&self, name: &str) -> Result<Option<std::time::Duration>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => failsoft::options::parse_seconds(raw)
                .map(Some)
                .ok_or_else(|| format!("--{name} must be a non-negative number of seconds, got {raw:?}")),
        }
    }

    /// Flags given that no command uses, so a typo is an error rather than silently ignored.
    pub fn unknown(&self, known: &[&str]) -> Option<String> {
        self.flags.keys().chain(self.switches.iter()).find(|f| !known.contains(&f.as_str())).cloned()
    }
}
