//! LLM options as plain data: the one definition of every option's name, shared by the C options
//! JSON, the Python keyword arguments and the Node options object (camelCased there).
//!
//! ```json
//! {"targets": [{"base_url": "https://api.openpipe.ai/api/v1", "api_key": "…", "model": "openpipe:x", "timeout_seconds": 10},
//!              {"base_url": "https://api.openai.com/v1", "api_key": "…", "model": "gpt-4o-mini", "timeout_seconds": 20}],
//!  "deadline_seconds": 30, "max_retries": 1}
//! ```

use super::{CallOptions, ErrorClass, FalloverPolicy, LlmClient, LlmOptions, StreamRecovery, Target};
use crate::error::{Error, Result};
use crate::spec::seconds;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Parses `v` as `T` for the option at `at` (`""` for the whole options object): an unknown,
/// missing or mistyped field is `InvalidArgument` naming its path, as every language shows it
/// (`invalid LLM options: fallback[0].timeout: invalid type: string "x", expected f64`).
pub(crate) fn parse_at<T: DeserializeOwned>(at: &str, v: Value) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (at, inner.as_str()) {
            (_, ".") => at.to_string(),
            ("", p) => p.to_string(),
            (a, p) if p.starts_with('[') => format!("{a}{p}"),
            (a, p) => format!("{a}.{p}"),
        };
        let what = e.into_inner();
        let message = if path.is_empty() { what.to_string() } else { format!("{path}: {what}") };
        Error::invalid_argument(format!("invalid LLM options: {message}"))
    })
}

/// One target, by the names every language uses.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub base_url: String,
    #[serde(default)]
    pub api_key: Option<String>,
    /// `None` keeps the request's own model.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
}

impl std::fmt::Debug for TargetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetSpec")
            .field("base_url", &crate::http::redact_url(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

/// Every LLM option; fields left out keep [`LlmOptions`]' defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSpec {
    pub targets: Vec<TargetSpec>,
    #[serde(default)]
    pub deadline_seconds: Option<f64>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    pub retry_after_cap_seconds: Option<f64>,
    #[serde(default)]
    pub breaker_threshold: Option<u32>,
    #[serde(default)]
    pub breaker_cooldown_seconds: Option<f64>,
    #[serde(default)]
    pub first_chunk_timeout_seconds: Option<f64>,
    /// HTTP statuses that end the call without fallover (default 400, 413, 422).
    #[serde(default)]
    pub stop_statuses: Option<Vec<u16>>,
    /// The error classes that fall over (default every class but `content_policy` and
    /// `bad_request`).
    #[serde(default)]
    pub fallover_classes: Option<Vec<String>>,
    /// Longest silence between stream events after the first chunk (default 30).
    #[serde(default)]
    pub stream_idle_timeout_seconds: Option<f64>,
    /// `error` (default) or `restart`.
    #[serde(default)]
    pub stream_recovery: Option<String>,
    /// Share the breakers with the fleet: the client's `fleet` option, same shape
    /// (`redis_url` left out takes `FAILSOFT_REDIS_URL`).
    #[serde(default)]
    pub fleet: Option<crate::spec::FleetSpec>,
}

/// Options of one call, by the names every language uses (`{"stream_recovery": "restart"}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    #[serde(default)]
    pub stream_recovery: Option<String>,
}

impl CallSpec {
    /// Parses a call's options JSON; an unknown or mistyped option is `InvalidArgument` naming it.
    pub fn from_value(v: serde_json::Value) -> Result<CallSpec> {
        parse_at("", v)
    }

    pub fn options(&self) -> Result<CallOptions> {
        Ok(CallOptions { stream_recovery: self.stream_recovery.as_deref().map(recovery).transpose()? })
    }
}

fn recovery(s: &str) -> Result<StreamRecovery> {
    s.parse().map_err(|e| Error::invalid_argument(format!("LLM option stream_recovery: {e}")))
}

impl LlmSpec {
    /// Parses the options JSON; an unknown or mistyped option is `InvalidArgument` naming it.
    pub fn from_json(text: &str) -> Result<LlmSpec> {
        LlmSpec::from_value(super::front::json_object(text)?)
    }

    /// Parses the options as a JSON value; an error names the field's path
    /// (`targets[1].timeout_seconds: invalid type: …`).
    pub fn from_value(v: serde_json::Value) -> Result<LlmSpec> {
        parse_at("", v)
    }

    pub fn options(&self) -> Result<LlmOptions> {
        let mut o = LlmOptions::default();
        for (i, t) in self.targets.iter().enumerate() {
            let mut target = Target::new(t.base_url.clone());
            if let Some(k) = &t.api_key {
                target = target.api_key(k.clone());
            }
            if let Some(m) = &t.model {
                target = target.model(m.clone());
            }
            if let Some(s) = t.timeout_seconds {
                target = target.timeout(seconds(&format!("targets[{i}].timeout_seconds"), s)?);
            }
            o.targets.push(target);
        }
        let secs = |name: &str, v: Option<f64>| v.map(|s| seconds(name, s)).transpose();
        o.deadline = secs("deadline_seconds", self.deadline_seconds)?;
        if let Some(t) = secs("timeout_seconds", self.timeout_seconds)? {
            o.timeout = t;
        }
        if let Some(n) = self.max_retries {
            o.max_retries = n;
        }
        if let Some(c) = secs("retry_after_cap_seconds", self.retry_after_cap_seconds)? {
            o.retry_after_cap = c;
        }
        if let Some(n) = self.breaker_threshold {
            o.breaker_threshold = n;
        }
        if let Some(c) = secs("breaker_cooldown_seconds", self.breaker_cooldown_seconds)? {
            o.breaker_cooldown = c;
        }
        if let Some(t) = secs("first_chunk_timeout_seconds", self.first_chunk_timeout_seconds)? {
            o.first_chunk_timeout = Some(t);
        }
        if let Some(t) = secs("stream_idle_timeout_seconds", self.stream_idle_timeout_seconds)? {
            if t.is_zero() {
                return Err(Error::invalid_argument("stream_idle_timeout_seconds must be more than 0"));
            }
            o.stream_idle_timeout = t;
        }
        if let Some(r) = &self.stream_recovery {
            o.stream_recovery = recovery(r)?;
        }
        if let Some(f) = &self.fleet {
            o.fleet = Some(f.options()?);
        }
        if let Some(stop) = &self.stop_statuses {
            if let Some(i) = stop.iter().position(|s| !(100..=599).contains(s)) {
                return Err(Error::invalid_argument(format!(
                    "LLM option stop_statuses[{i}] must be an HTTP status (100-599), got {}",
                    stop[i]
                )));
            }
            o.policy.stop_statuses = stop.clone();
        }
        if let Some(classes) = &self.fallover_classes {
            o.policy = FalloverPolicy {
                fallover_classes: classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        c.parse::<ErrorClass>().map_err(|e| {
                            Error::invalid_argument(format!("LLM option fallover_classes[{i}]: {e}"))
                        })
                    })
                    .collect::<Result<_>>()?,
                ..o.policy
            };
        }
        Ok(o)
    }

    /// Builds the client (validates every option; no I/O).
    pub fn build(&self) -> Result<LlmClient> {
        LlmClient::new(self.options()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_options_and_bad_ones_are_named() {
        let spec = LlmSpec::from_json(
            r#"{"targets": [{"base_url": "http://127.0.0.1:1/v1", "api_key": "sk-secret", "model": "a", "timeout_seconds": 0.5},
                            {"base_url": "http://127.0.0.1:2/v1"}],
                "deadline_seconds": 3, "max_retries": 0, "stop_statuses": [400]}"#,
        )
        .unwrap();
        let o = spec.options().unwrap();
        assert_eq!(o.targets.len(), 2);
        assert_eq!(o.targets[0].timeout, Some(std::time::Duration::from_millis(500)));
        assert_eq!(o.deadline, Some(std::time::Duration::from_secs(3)));
        assert_eq!(o.max_retries, 0);
        assert_eq!(o.policy.stop_statuses, vec![400]);
        assert!(!format!("{spec:?}").contains("sk-secret"));
        spec.build().unwrap();
        let e = LlmSpec::from_json(r#"{"targets": [{"url": "http://h/v1"}]}"#).unwrap_err();
        assert!(e.message.contains("url"), "{e}");
        let e = LlmSpec::from_json(r#"{"targets": [{"base_url": "http://h/v1", "timeout_seconds": -1}]}"#)
            .unwrap()
            .options()
            .unwrap_err();
        assert!(e.message.contains("targets[0].timeout_seconds"), "{e}");
        assert!(LlmSpec::from_json(r#"{"targets": []}"#).unwrap().build().is_err());
    }

    #[test]
    fn the_fleet_option_has_the_clients_shape_and_errors_name_it_without_the_password() {
        let t = r#"{"targets": [{"base_url": "http://h/v1"}], "#;
        let o = LlmSpec::from_json(&format!(
            r#"{t}"fleet": {{"redis_url": "redis://:hunter2@127.0.0.1:1/0", "prefix": "agents"}}}}"#
        ))
        .unwrap()
        .options()
        .unwrap();
        let f = o.fleet.unwrap();
        assert_eq!((f.redis_url.as_str(), f.prefix.as_str()), ("redis://:hunter2@127.0.0.1:1/0", "agents"));
        let e = LlmSpec::from_json(&format!(r#"{t}"fleet": {{"redis_url": "http://:hunter2@h/0"}}}}"#))
            .unwrap()
            .options()
            .unwrap_err();
        assert!(e.message.contains("fleet.redis_url") && !e.message.contains("hunter2"), "{e}");
        let e = LlmSpec::from_json(&format!(r#"{t}"fleet": {{"url": "redis://h"}}}}"#)).unwrap_err();
        assert!(e.message.contains("url"), "{e}");
    }

    #[test]
    fn stream_and_fallover_options_are_parsed_and_bad_values_named() {
        let t = r#"{"targets": [{"base_url": "http://h/v1"}], "#;
        let o = LlmSpec::from_json(&format!(
            r#"{t}"stream_recovery": "restart", "stream_idle_timeout_seconds": 2, "fallover_classes": ["server", "content_policy"]}}"#
        ))
        .unwrap()
        .options()
        .unwrap();
        assert_eq!(o.stream_recovery, StreamRecovery::Restart);
        assert_eq!(o.stream_idle_timeout, std::time::Duration::from_secs(2));
        assert_eq!(o.policy.fallover_classes, vec![ErrorClass::Server, ErrorClass::ContentPolicy]);
        let bad = |extra: &str| {
            LlmSpec::from_json(&format!("{t}{extra}}}")).and_then(|s| s.options()).unwrap_err().message
        };
        assert!(bad(r#""stream_recovery": "retry""#).contains("stream_recovery"));
        assert!(bad(r#""fallover_classes": ["server", "nope"]"#).contains("fallover_classes[1]"));
        assert!(bad(r#""stream_idle_timeout_seconds": 0"#).contains("stream_idle_timeout_seconds"));
        assert!(bad(r#""stop_statuses": [400, 99]"#).contains("stop_statuses[1]"));
        let call = CallSpec::from_value(serde_json::json!({"stream_recovery": "restart"})).unwrap();
        assert_eq!(call.options().unwrap().stream_recovery, Some(StreamRecovery::Restart));
        assert!(CallSpec::from_value(serde_json::json!({"stream_recovery": "x"}))
            .unwrap()
            .options()
            .unwrap_err()
            .message
            .contains("stream_recovery"));
        assert!(CallSpec::from_value(serde_json::json!({"recovery": "restart"}))
            .unwrap_err()
            .message
            .contains("recovery"));
    }
}
