//! The OpenAI-shaped front of the LLM calls: the options of `failsoft.OpenAI` (Python), `OpenAI`
//! (Node), the C options JSON and `failsoft chat`, turned into target lists (SPEC §8). Every door
//! converts its arguments to this JSON and back; every decision is here, once:
//!
//! ```json
//! {"base_url": "https://api.openpipe.ai/api/v1", "api_key": "…", "timeout": 10, "max_retries": 1,
//!  "fallback_client": {"base_url": "https://api.openai.com/v1", "api_key": "…", "timeout": 20},
//!  "fallback": [{"model": "gpt-4o-mini", "timeout": 20}, "gpt-4o"],
//!  "deadline_seconds": 40, "stream_recovery": "restart"}
//! ```
//!
//! Decisions (README › Decisions, "The LLM front"):
//! - `base_url` left out (or null) is `OPENAI_BASE_URL`, else `https://api.openai.com/v1`;
//!   `api_key` left out is `OPENAI_API_KEY` (an empty variable counts as unset). Trailing `/`s
//!   of a base URL are dropped. A `fallback_client` (or a fallback's own `client`) takes the same
//!   defaults but must name its `base_url`: an extra API says where it lives.
//! - `fallback` is one fallback or a list; each is a model name (`"gpt-4o"`) or
//!   `{"model", "timeout", "client"}`, every field optional. Its API is its `client`, else the
//!   `fallback_client`, else the primary's own. Its timeout is its own `timeout`, else its
//!   client's (`client`, else `fallback_client`), else the front's `timeout` (never a call's:
//!   a call's `timeout` is the primary's alone).
//! - OpenPipe's spellings: `openpipe={"fallback_client": …}` on the client and
//!   `openpipe={"fallback": …}` on a call; other `openpipe` keys (OpenPipe's reporting options)
//!   are ignored. Giving the same thing both ways is `InvalidArgument` (which one was meant?).
//! - A call's `fallback` replaces the front's; `max_retries` on a call replaces the front's.
//! - Every other key is one of the shared LLM options ([`LlmSpec`]) and keeps its name there.
//! - A bad option is `InvalidArgument` naming its path as given: `fallback[0].timeout`
//!   (a list), `fallback.timeout` (one), `fallback_client.base_url`, `targets[1].timeout_seconds`.
//! - One [`LlmClient`] per distinct target list, so a front's calls share their targets' circuit
//!   breakers. The pool keeps the [`MAX_POOLED`] most recently used; it is keyed by what is
//!   public (base URLs, models, timeouts, retries) and the API keys are compared inside the
//!   entry, never part of a key, a hash or a message.

use super::spec::parse_at;
use super::{CallOptions, CallSpec, LlmClient, LlmSpec};
use crate::error::{Error, Result};
use crate::spec::seconds;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

/// The OpenAI SDK's default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Native clients a front keeps, one per distinct target list; the least recently used goes.
pub const MAX_POOLED: usize = 64;

/// The text as a JSON object, or `InvalidArgument` saying why not.
pub(crate) fn json_object(text: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid_argument(format!("invalid LLM options: not valid JSON ({e})")))?;
    if !v.is_object() {
        return Err(Error::invalid_argument("invalid LLM options: the options must be a JSON object"));
    }
    Ok(v)
}

/// An LLM client from either options form: the shared options with `targets` ([`LlmSpec`]), or
/// the OpenAI-shaped front (`base_url`, `api_key`, `fallback`, ...). The C entry point.
pub fn client_from_value(v: Value) -> Result<LlmClient> {
    // `max_retries` is a shared option too: it tells neither form.
    let front =
        v.as_object().is_some_and(|m| FRONT_KEYS.iter().any(|k| *k != "max_retries" && m.contains_key(*k)));
    if !front || v.get("targets").is_some() {
        if front {
            return Err(Error::invalid_argument(
                "invalid LLM options: give either targets or base_url/fallback, not both",
            ));
        }
        return LlmSpec::from_value(v)?.build();
    }
    Front::from_value(v)?.client(&FrontCall::default())
}

/// [`client_from_value`] of JSON text.
pub fn client_from_json(text: &str) -> Result<LlmClient> {
    client_from_value(json_object(text)?)
}

/// The front's own keys; every other key is a shared LLM option.
const FRONT_KEYS: [&str; 7] =
    ["base_url", "api_key", "timeout", "max_retries", "fallback_client", "openpipe", "fallback"];

/// Reads the process environment; tests pass their own.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// An OpenAI-compatible API, its defaults applied: where it lives, its key, its per-attempt
/// timeout in seconds (`None`: inherited). `Debug` shows neither the key nor URL credentials.
#[derive(Clone, PartialEq)]
pub struct Api {
    pub base_url: String,
    pub api_key: Option<String>,
    pub timeout: Option<f64>,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base_url", &crate::http::redact_url(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiSpec {
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    timeout: Option<f64>,
}

impl Api {
    /// `OpenAICompatibleClient(base_url=…, api_key=…, timeout=…)`: the JSON object (every field
    /// optional) with the environment's defaults. Errors name `{at}.timeout`, ….
    pub fn from_value(at: &str, v: Value) -> Result<Api> {
        Api::resolve(at, parse_at(at, v)?, &process_env)
    }

    fn resolve(at: &str, spec: ApiSpec, env: Env<'_>) -> Result<Api> {
        let name = |field: &str| if at.is_empty() { field.to_string() } else { format!("{at}.{field}") };
        let base_url =
            spec.base_url.or_else(|| env("OPENAI_BASE_URL")).unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let timeout = spec.timeout.map(|t| seconds(&name("timeout"), t).map(|_| t)).transpose()?;
        Ok(Api {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: spec.api_key.or_else(|| env("OPENAI_API_KEY")),
            timeout,
        })
    }

    /// An extra API (`fallback_client`, a fallback's `client`): it must name its base URL.
    fn extra(at: &str, v: Value, env: Env<'_>) -> Result<Api> {
        let spec: ApiSpec = parse_at(at, v)?;
        if spec.base_url.is_none() {
            return Err(Error::invalid_argument(format!("invalid LLM options: {at}.base_url is missing")));
        }
        Api::resolve(at, spec, env)
    }
}

/// One fallback, resolved but for what it inherits.
#[derive(Clone, Debug)]
struct Fallback {
    model: Option<String>,
    timeout: Option<f64>,
    client: Option<Api>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FallbackSpec {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    client: Option<Value>,
}

/// `fallback`: none (null), one, or a list; each a model name or an object.
fn fallbacks(v: Value, env: Env<'_>) -> Result<Vec<Fallback>> {
    let one = |at: &str, v: Value| -> Result<Fallback> {
        if let Value::String(model) = v {
            return Ok(Fallback { model: Some(model), timeout: None, client: None });
        }
        let spec: FallbackSpec = parse_at(at, v)?;
        Ok(Fallback {
            model: spec.model,
            timeout: spec.timeout.map(|t| seconds(&format!("{at}.timeout"), t).map(|_| t)).transpose()?,
            client: spec.client.map(|c| Api::extra(&format!("{at}.client"), c, env)).transpose()?,
        })
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            items.into_iter().enumerate().map(|(i, item)| one(&format!("fallback[{i}]"), item)).collect()
        }
        other => Ok(vec![one("fallback", other)?]),
    }
}

/// `openpipe={"<key>": …}`: that key's value; OpenPipe's other keys are ignored.
fn openpipe(map: &mut Map<String, Value>, key: &str) -> Result<Option<Value>> {
    match map.remove("openpipe") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(mut o)) => Ok(o.remove(key).filter(|v| !v.is_null())),
        Some(_) => Err(Error::invalid_argument(format!(
            "invalid LLM options: openpipe must be an object ({{\"{key}\": …}})"
        ))),
    }
}

/// The value given directly or through `openpipe`, not both.
fn once(direct: Option<Value>, via_openpipe: Option<Value>, name: &str) -> Result<Option<Value>> {
    match (direct.filter(|v| !v.is_null()), via_openpipe) {
        (Some(_), Some(_)) => Err(Error::invalid_argument(format!(
            "invalid LLM options: give {name} once: {name} or openpipe.{name}"
        ))),
        (d, o) => Ok(d.or(o)),
    }
}

fn count(name: &str, v: Option<Value>) -> Result<Option<u32>> {
    v.map(|v| parse_at::<Option<u32>>(name, v)).transpose().map(Option::flatten)
}

/// A call's options: `{"fallback", "openpipe": {"fallback"}, "timeout", "max_retries",
/// "stream_recovery"}`, every one optional.
#[derive(Clone, Debug, Default)]
pub struct FrontCall {
    /// `Some` replaces the front's fallbacks.
    fallback: Option<Vec<Fallback>>,
    timeout: Option<f64>,
    max_retries: Option<u32>,
    options: CallOptions,
}

impl FrontCall {
    pub fn from_value(v: Value) -> Result<FrontCall> {
        FrontCall::from_value_with(v, &process_env)
    }

    fn from_value_with(v: Value, env: Env<'_>) -> Result<FrontCall> {
        let mut map = match v {
            Value::Null => Map::new(),
            Value::Object(m) => m,
            _ => {
                return Err(Error::invalid_argument(
                    "invalid LLM options: a call's options must be an object",
                ))
            }
        };
        let via = openpipe(&mut map, "fallback")?;
        let fallback = once(map.remove("fallback"), via, "fallback")?;
        let timeout = match map.remove("timeout") {
            Some(t) => parse_at::<Option<f64>>("timeout", t)?,
            None => None,
        };
        Ok(FrontCall {
            fallback: fallback.map(|f| fallbacks(f, env)).transpose()?,
            timeout: timeout.map(|t| seconds("timeout", t).map(|_| t)).transpose()?,
            max_retries: count("max_retries", map.remove("max_retries"))?,
            options: CallSpec::from_value(Value::Object(map))?.options()?,
        })
    }

    /// The per-call options core's calls take (`stream_recovery`).
    pub fn options(&self) -> CallOptions {
        self.options
    }
}

/// What tells two target lists apart, without the API keys (compared inside the entry).
#[derive(PartialEq, Debug)]
struct PoolKey {
    targets: Vec<(String, Option<String>, Option<u64>)>,
    max_retries: Option<u32>,
}

struct Pooled {
    key: PoolKey,
    api_keys: Vec<Option<String>>,
    client: LlmClient,
}

/// An OpenAI-shaped client: its APIs, its default fallbacks, the shared options, and the pool of
/// core clients its calls go through (breakers shared by its calls). Thread-safe.
pub struct Front {
    primary: Api,
    fallback_client: Option<Api>,
    fallback: Vec<Fallback>,
    max_retries: Option<u32>,
    /// The shared LLM options (checked when the front was made), `targets` aside.
    shared: Map<String, Value>,
    /// Most recently used last.
    pool: Mutex<Vec<Pooled>>,
}

impl fmt::Debug for Front {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Front")
            .field("primary", &self.primary)
            .field("fallback_client", &self.fallback_client)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl Front {
    /// The front from its options JSON (module docs); checks every option, no I/O.
    pub fn from_value(v: Value) -> Result<Front> {
        Front::from_value_with(v, &process_env)
    }

    fn from_value_with(v: Value, env: Env<'_>) -> Result<Front> {
        let Value::Object(mut map) = v else {
            return Err(Error::invalid_argument("invalid LLM options: the options must be an object"));
        };
        if map.contains_key("targets") {
            return Err(Error::invalid_argument(
                "invalid LLM options: targets is not an option of the OpenAI client (use fallback)",
            ));
        }
        let mut api = Map::new();
        for k in ["base_url", "api_key", "timeout"] {
            if let Some(v) = map.remove(k) {
                api.insert(k.to_string(), v);
            }
        }
        let primary = Api::resolve("", parse_at("", Value::Object(api))?, env)?;
        let via = openpipe(&mut map, "fallback_client")?;
        let fallback_client = once(map.remove("fallback_client"), via, "fallback_client")?
            .map(|c| Api::extra("fallback_client", c, env))
            .transpose()?;
        let fallback = fallbacks(map.remove("fallback").unwrap_or(Value::Null), env)?;
        let max_retries = count("max_retries", map.remove("max_retries"))?;
        // The shared options are checked now, on a stand-in target, so a call never fails on them.
        let mut probe = map.clone();
        probe.insert("targets".into(), json!([{"base_url": primary.base_url}]));
        LlmSpec::from_value(Value::Object(probe))?.options()?;
        Ok(Front {
            primary,
            fallback_client,
            fallback,
            max_retries,
            shared: map,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// The primary API, its defaults applied (`client.base_url`, `client.api_key`, `client.timeout`).
    pub fn primary(&self) -> &Api {
        &self.primary
    }

    /// The `fallback_client` (or `openpipe.fallback_client`), if any.
    pub fn fallback_client(&self) -> Option<&Api> {
        self.fallback_client.as_ref()
    }

    /// The front's `max_retries`, if given.
    pub fn max_retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The target list of a call: the primary, then each fallback with what it inherits.
    fn targets<'a>(&'a self, call: &'a FrontCall) -> Vec<(&'a Api, Option<&'a str>, Option<f64>)> {
        let mut out = vec![(&self.primary, None, call.timeout.or(self.primary.timeout))];
        for fb in call.fallback.as_ref().unwrap_or(&self.fallback) {
            let client = fb.client.as_ref().or(self.fallback_client.as_ref());
            let timeout = fb.timeout.or(client.and_then(|c| c.timeout)).or(self.primary.timeout);
            out.push((client.unwrap_or(&self.primary), fb.model.as_deref(), timeout));
        }
        out
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Pooled>> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The core client for this call's target list: one per distinct list, so calls through the
    /// same targets share their breakers.
    pub fn client(&self, call: &FrontCall) -> Result<LlmClient> {
        let targets = self.targets(call);
        let max_retries = call.max_retries.or(self.max_retries);
        let key = PoolKey {
            targets: targets
                .iter()
                .map(|(api, model, t)| (api.base_url.clone(), model.map(str::to_string), t.map(f64::to_bits)))
                .collect(),
            max_retries,
        };
        let api_keys: Vec<Option<String>> = targets.iter().map(|(api, _, _)| api.api_key.clone()).collect();
        {
            let mut pool = self.lock();
            if let Some(i) = pool.iter().position(|p| p.key == key && p.api_keys == api_keys) {
                let hit = pool.remove(i);
                let client = hit.client.clone();
                pool.push(hit);
                return Ok(client);
            }
        }
        // Built outside the lock (it validates and may connect to the fleet's store).
        let mut spec = self.shared.clone();
        let list: Vec<Value> = targets
            .iter()
            .map(|(api, model, timeout)| {
                json!({"base_url": api.base_url, "api_key": api.api_key, "model": model, "timeout_seconds": timeout})
            })
            .collect();
        spec.insert("targets".into(), Value::Array(list));
        if let Some(n) = max_retries {
            spec.insert("max_retries".into(), json!(n));
        }
        let client = LlmSpec::from_value(Value::Object(spec))?.build()?;
        let mut pool = self.lock();
        if let Some(i) = pool.iter().position(|p| p.key == key && p.api_keys == api_keys) {
            return Ok(pool[i].client.clone()); // another thread built it meanwhile: share its breakers
        }
        if pool.len() >= MAX_POOLED {
            pool.remove(0);
        }
        pool.push(Pooled { key, api_keys, client: client.clone() });
        Ok(client)
    }

    /// A call given as its options JSON (`null`: none; [`FrontCall`]): the core client for its
    /// target list ([`client`](Self::client)) and the options core's calls take. What each door
    /// does with a call's options, once.
    pub fn call(&self, options: Value) -> Result<(LlmClient, CallOptions)> {
        let call = FrontCall::from_value(options)?;
        Ok((self.client(&call)?, call.options()))
    }

    /// How many core clients the pool holds (tests, diagnostics).
    pub fn pooled(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn front(v: Value, vars: &'static [(&'static str, &'static str)]) -> Result<Front> {
        Front::from_value_with(v, &env(vars))
    }

    fn call(v: Value) -> FrontCall {
        FrontCall::from_value_with(v, &env(&[])).unwrap()
    }

    /// (base_url, api_key, model, timeout) of a target.
    type Shown = (String, Option<String>, Option<String>, Option<f64>);

    /// Each target of a call.
    fn targets(f: &Front, c: &FrontCall) -> Vec<Shown> {
        f.targets(c)
            .into_iter()
            .map(|(a, m, t)| (a.base_url.clone(), a.api_key.clone(), m.map(str::to_string), t))
            .collect()
    }

    fn message(r: Result<impl fmt::Debug>) -> String {
        r.unwrap_err().message
    }

    #[test]
    fn base_url_and_api_key_default_to_the_openai_variables_then_the_openai_api() {
        let vars = &[("OPENAI_BASE_URL", "http://env.example/v1/"), ("OPENAI_API_KEY", "sk-env")];
        let f = front(json!({}), vars).unwrap();
        assert_eq!(f.primary().base_url, "http://env.example/v1");
        assert_eq!(f.primary().api_key.as_deref(), Some("sk-env"));
        let f = front(json!({"base_url": "http://given/v1", "api_key": "sk-given"}), vars).unwrap();
        assert_eq!(
            (f.primary().base_url.as_str(), f.primary().api_key.as_deref()),
            ("http://given/v1", Some("sk-given"))
        );
        let f = front(json!({}), &[]).unwrap();
        assert_eq!((f.primary().base_url.as_str(), f.primary().api_key.as_deref()), (DEFAULT_BASE_URL, None));
        // A fallback client takes the key's default too.
        let f = front(json!({"fallback_client": {"base_url": "http://fb/v1"}}), vars).unwrap();
        assert_eq!(f.fallback_client().unwrap().api_key.as_deref(), Some("sk-env"));
    }

    #[test]
    fn a_fallback_inherits_its_own_timeout_else_its_clients_else_the_fronts_never_the_calls() {
        let f = front(
            json!({"base_url": "http://p/v1", "api_key": "sk-p", "timeout": 10,
                   "fallback_client": {"base_url": "http://fc/v1", "api_key": "sk-fc", "timeout": 20}}),
            &[],
        )
        .unwrap();
        let c = call(json!({"timeout": 1, "fallback": [
            {"model": "a", "timeout": 3},
            {"model": "b"},
            {"model": "c", "client": {"base_url": "http://own/v1", "api_key": "sk-own"}},
        ]}));
        assert_eq!(
            targets(&f, &c),
            vec![
                ("http://p/v1".into(), Some("sk-p".into()), None, Some(1.0)),
                ("http://fc/v1".into(), Some("sk-fc".into()), Some("a".into()), Some(3.0)),
                ("http://fc/v1".into(), Some("sk-fc".into()), Some("b".into()), Some(20.0)),
                ("http://own/v1".into(), Some("sk-own".into()), Some("c".into()), Some(10.0)),
            ]
        );
        // No fallback_client: the primary's API, and the front's timeout.
        let f = front(json!({"base_url": "http://p/v1", "timeout": 10}), &[]).unwrap();
        let t = targets(&f, &call(json!({"fallback": {"model": "x"}})));
        assert_eq!(t[1], ("http://p/v1".into(), None, Some("x".into()), Some(10.0)));
    }

    #[test]
    fn fallback_is_one_or_a_list_of_model_names_or_objects() {
        let f = front(json!({"base_url": "http://p/v1"}), &[]).unwrap();
        let models = |v: Value| -> Vec<Option<String>> {
            targets(&f, &call(json!({"fallback": v}))).into_iter().skip(1).map(|t| t.2).collect()
        };
        assert_eq!(models(json!("gpt-4o")), vec![Some("gpt-4o".to_string())]);
        assert_eq!(models(json!({"model": "a"})), vec![Some("a".to_string())]);
        assert_eq!(models(json!(["a", {"model": "b"}, {}])), vec![Some("a".into()), Some("b".into()), None]);
        assert_eq!(models(Value::Null), Vec::<Option<String>>::new());
        // The front's own fallback (the C options JSON, the CLI) serves calls that give none.
        let f = front(json!({"base_url": "http://p/v1", "fallback": "m2"}), &[]).unwrap();
        assert_eq!(targets(&f, &FrontCall::default()).len(), 2);
        assert_eq!(targets(&f, &call(json!({"fallback": []}))).len(), 1);
    }

    #[test]
    fn openpipe_spellings_are_accepted_once() {
        let f = front(json!({"base_url": "http://p/v1", "openpipe": {"fallback_client": {"base_url": "http://fc/v1"}, "api_key": "reporting"}}), &[])
            .unwrap();
        assert_eq!(f.fallback_client().unwrap().base_url, "http://fc/v1");
        let c = call(json!({"openpipe": {"fallback": {"model": "m"}, "tags": {"a": "b"}}}));
        assert_eq!(targets(&f, &c)[1].2.as_deref(), Some("m"));
        let both =
            FrontCall::from_value_with(json!({"fallback": "a", "openpipe": {"fallback": "b"}}), &env(&[]));
        assert!(message(both).contains("give fallback once"));
        let both = front(
            json!({"fallback_client": {"base_url": "http://a"}, "openpipe": {"fallback_client": {"base_url": "http://b"}}}),
            &[],
        );
        assert!(message(both).contains("give fallback_client once"));
    }

    #[test]
    fn each_bad_option_is_invalid_argument_naming_its_path() {
        let bad = |v: Value| {
            let e = front(v, &[]).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidArgument);
            e.message
        };
        let cases = [
            (json!({"timeout": "soon"}), "timeout: invalid type"),
            (json!({"timeout": -1}), "timeout must be"),
            (json!({"api_key": 7}), "api_key: invalid type"),
            (json!({"organisation": "x"}), "organisation"),
            (json!({"max_retries": -1}), "max_retries: invalid value"),
            (json!({"fallback": [{"model": "m"}, {"timeout": "x"}]}), "fallback[1].timeout: invalid type"),
            (json!({"fallback": {"timeout": -2}}), "fallback.timeout must be"),
            (
                json!({"fallback": [{"model": "x", "retries": 3}]}),
                "fallback[0].retries: unknown field `retries`",
            ),
            (json!({"fallback": [{"model": 5}]}), "fallback[0].model: invalid type"),
            (json!({"fallback": {"client": "not a client"}}), "fallback.client: invalid type"),
            (json!({"fallback": {"client": {}}}), "fallback.client.base_url is missing"),
            (
                json!({"fallback_client": {"base_url": "http://x", "timeout": false}}),
                "fallback_client.timeout: invalid type",
            ),
            (json!({"openpipe": 3}), "openpipe must be an object"),
            (json!({"stream_recovery": "sometimes"}), "stream_recovery"),
            (json!({"deadline_seconds": "x"}), "deadline_seconds: invalid type"),
            (json!({"targets": []}), "targets is not an option"),
        ];
        for (v, want) in cases {
            let m = bad(v.clone());
            assert!(m.contains(want), "{v}: {m}");
        }
        let c = FrontCall::from_value_with(json!({"fallback": [{"timeout": "slow"}]}), &env(&[]));
        assert!(message(c).contains("fallback[0].timeout: invalid type"));
        let c = FrontCall::from_value_with(json!({"stream_recovery": "x"}), &env(&[]));
        assert!(message(c).contains("stream_recovery"));
        let c = FrontCall::from_value_with(json!({"temperature": 1}), &env(&[]));
        assert!(message(c).contains("temperature"));
    }

    #[test]
    fn the_c_entry_point_takes_either_form_and_max_retries_belongs_to_both() {
        let t = json!({"targets": [{"base_url": "http://h/v1"}], "max_retries": 0});
        client_from_value(t).unwrap();
        client_from_value(json!({"base_url": "http://h/v1", "max_retries": 0, "fallback": "m"})).unwrap();
        let both = client_from_value(json!({"targets": [{"base_url": "http://h/v1"}], "fallback": "m"}));
        assert!(message(both).contains("not both"));
        assert!(message(client_from_value(json!({}))).contains("targets"));
    }

    #[test]
    fn a_call_from_its_options_json_shares_the_pooled_client_and_keeps_its_stream_recovery() {
        let f = front(json!({"base_url": "http://127.0.0.1:1/v1"}), &[]).unwrap();
        let (a, none) = f.call(Value::Null).unwrap();
        assert_eq!(none, CallOptions::default());
        let (b, restart) = f.call(json!({"stream_recovery": "restart"})).unwrap();
        assert!(a.same_breakers(&b));
        assert_eq!(restart.stream_recovery, Some(super::super::StreamRecovery::Restart));
        let (c, _) = f.call(json!({"fallback": "m"})).unwrap();
        assert!(!a.same_breakers(&c));
        assert!(message(f.call(json!({"fallback": [{"timeout": "x"}]}))).contains("fallback[0].timeout"));
    }

    #[test]
    fn the_pool_shares_one_client_per_target_list_and_its_key_holds_no_secret() {
        let f =
            front(json!({"base_url": "http://127.0.0.1:1/v1", "api_key": "sk-secret-primary"}), &[]).unwrap();
        let a = f.client(&call(json!({"fallback": "m"}))).unwrap();
        let b = f.client(&call(json!({"fallback": {"model": "m"}}))).unwrap();
        assert!(a.same_breakers(&b));
        let other = f.client(&call(json!({"fallback": "n"}))).unwrap();
        assert!(!a.same_breakers(&other));
        // Another key is another client (its requests carry that key), yet no key is in a pool key.
        let keyed = |k: &str| {
            call(
                json!({"fallback": {"model": "m", "client": {"base_url": "http://127.0.0.1:1/v1", "api_key": k}}}),
            )
        };
        let k1 = f.client(&keyed("sk-one")).unwrap();
        let k2 = f.client(&keyed("sk-two")).unwrap();
        assert!(!k1.same_breakers(&k2));
        assert!(k1.same_breakers(&f.client(&keyed("sk-one")).unwrap()));
        for p in f.lock().iter() {
            let shown = format!("{:?}", p.key);
            assert!(!shown.contains("sk-"), "{shown}");
        }
        assert!(!format!("{f:?}").contains("sk-secret"));
        for i in 0..MAX_POOLED + 5 {
            f.client(&call(json!({"fallback": format!("model-{i}")}))).unwrap();
        }
        assert_eq!(f.pooled(), MAX_POOLED);
    }
}
