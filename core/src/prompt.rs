//! Prompts on top of a [`Client`]: keys, the parsed [`Prompt`], compiling, and fallbacks. Every
//! binding (Python, Node, C) goes through this module, so a prompt means the same in each.
//!
//! # The prompt JSON
//!
//! A prompt value's data (what the Langfuse source stores, what snapshots hold, what
//! [`fallback_prompt`] builds) is
//! `{"name", "version", "type": "text"|"chat", "prompt", "config", "labels", "tags", "commit_message"}`,
//! `prompt` being a string (text) or a list of `{role, content}` messages and
//! `{"type": "placeholder", "name"}` items (chat). A fallback has version 0, `config` `{}` (unless
//! given), `labels` and `tags` `[]`, `commit_message` `null`.
//!
//! # Keys
//!
//! [`prompt_key`] maps (name, label, version) to a [`Key`]: no label and label `production` are
//! the same key (one cache entry, one request), label and version together are
//! `InvalidArgument`.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::key::{Key, Qualifier};
use crate::langchain::{self, LangchainPrompt};
use crate::options::{Fallback, ReadOptions};
use crate::template;
use crate::value::{Value, ValueSource};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;
use std::time::Duration;

/// A text prompt (one template string) or a chat prompt (a list of messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PromptKind {
    Text,
    Chat,
}

impl PromptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Text => "text",
            PromptKind::Chat => "chat",
        }
    }

    /// `text` or `chat`; anything else is `InvalidArgument`.
    pub fn parse(s: &str) -> Result<PromptKind> {
        match s {
            "text" => Ok(PromptKind::Text),
            "chat" => Ok(PromptKind::Chat),
            other => Err(Error::invalid_argument(format!(
                "prompt type must be \"text\" or \"chat\", got {other:?}"
            ))),
        }
    }
}

impl std::fmt::Display for PromptKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn wrong(what: impl std::fmt::Display) -> Error {
    Error::invalid_response(format!("not a Langfuse prompt: {what}"))
}

/// A list of strings (`null`/absent: empty).
fn string_list(body: &Map<String, Json>, field: &str) -> Result<Vec<Json>> {
    match body.get(field) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) if items.iter().all(Json::is_string) => Ok(items.clone()),
        Some(_) => Err(wrong(format!("`{field}` must be a list of strings"))),
    }
}

/// Checks one chat item: a `{type: "placeholder", name}` or a message with a string `role` and
/// a `content`.
pub(crate) fn check_chat_item(item: &Json, i: usize) -> std::result::Result<(), String> {
    let Some(obj) = item.as_object() else {
        return Err(format!("chat item {i} is not an object"));
    };
    if obj.get("type").and_then(Json::as_str) == Some("placeholder") {
        return match obj.get("name") {
            Some(Json::String(n)) if !n.is_empty() => Ok(()),
            _ => Err(format!("chat item {i} is a placeholder without a string `name`")),
        };
    }
    if !obj.get("role").is_some_and(Json::is_string) {
        return Err(format!("chat item {i} has no string `role`"));
    }
    if !obj.contains_key("content") {
        return Err(format!("chat item {i} has no `content`"));
    }
    Ok(())
}

/// A prompt body in Langfuse's shape (the shape every prompt takes) as the prompt JSON (see the
/// module documentation): `type` inferred from `prompt` when absent, chat items kept as sent,
/// `config` defaulting to `{}`, `labels` and `tags` to `[]`, `commit_message` (also read from
/// `commitMessage`) to `null`; unknown fields (`id`, `projectId`, `resolutionGraph`, …) dropped.
/// Any other shape is `InvalidResponse`.
pub fn normalize_prompt(body: &Json, key_name: &str) -> Result<Json> {
    let obj = body.as_object().ok_or_else(|| wrong("the body is not an object"))?;
    let prompt = obj.get("prompt").ok_or_else(|| wrong("no `prompt` field"))?;
    let kind = match obj.get("type") {
        Some(Json::String(t)) if t == "text" || t == "chat" => t.as_str(),
        Some(Json::String(t)) => return Err(wrong(format!("unknown type {t:?} (expected text or chat)"))),
        None | Some(Json::Null) => match prompt {
            Json::String(_) => "text",
            Json::Array(_) => "chat",
            _ => return Err(wrong("no `type` and `prompt` is neither a string nor a list")),
        },
        Some(_) => return Err(wrong("`type` is not a string")),
    };
    match (kind, prompt) {
        ("text", Json::String(_)) => {}
        ("text", _) => return Err(wrong("a text prompt's `prompt` must be a string")),
        (_, Json::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_chat_item(item, i).map_err(wrong)?;
            }
        }
        _ => return Err(wrong("a chat prompt's `prompt` must be a list of messages")),
    }
    let name = match obj.get("name") {
        Some(Json::String(n)) => n.clone(),
        None | Some(Json::Null) => key_name.to_string(),
        Some(_) => return Err(wrong("`name` is not a string")),
    };
    let version = match obj.get("version") {
        Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Some(_) => return Err(wrong("`version` is not a non-negative integer")),
        None => return Err(wrong("no `version` field")),
    };
    let config = match obj.get("config") {
        None | Some(Json::Null) => json!({}),
        Some(c) => c.clone(),
    };
    let commit_message = match obj.get("commitMessage").or_else(|| obj.get("commit_message")) {
        None | Some(Json::Null) => Json::Null,
        Some(Json::String(s)) => Json::String(s.clone()),
        Some(_) => return Err(wrong("`commitMessage` is not a string")),
    };
    Ok(json!({
        "name": name,
        "version": version,
        "type": kind,
        "prompt": prompt,
        "config": config,
        "labels": string_list(obj, "labels")?,
        "tags": string_list(obj, "tags")?,
        "commit_message": commit_message,
    }))
}

/// The label a key without label or version reads.
pub const DEFAULT_LABEL: &str = "production";

/// Checks a Langfuse label: `^[a-z0-9_\-.]+$`.
pub fn validate_label(label: &str) -> Result<()> {
    let ok = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!("invalid label {label:?}: labels match ^[a-z0-9_\\-.]+$")))
    }
}

/// The cache key of a prompt. Label `production` (and no label) is [`Qualifier::Default`];
/// giving both a label and a version, an empty name or an invalid label is `InvalidArgument`.
pub fn prompt_key(name: &str, label: Option<&str>, version: Option<u64>) -> Result<Key> {
    if name.is_empty() {
        return Err(Error::invalid_argument("the prompt name must not be empty"));
    }
    let qualifier = match (label, version) {
        (Some(l), Some(v)) => {
            return Err(Error::invalid_argument(format!(
                "give a label or a version, not both (label {l:?}, version {v})"
            ))
            .with_key(name))
        }
        (None, Some(v)) => Qualifier::Version(v),
        (Some(l), None) if l == DEFAULT_LABEL => Qualifier::Default,
        (Some(l), None) => {
            validate_label(l).map_err(|e| e.with_key(name))?;
            Qualifier::Label(l.to_string())
        }
        (None, None) => Qualifier::Default,
    };
    Ok(Key::with(name, qualifier))
}

/// A prompt as read: its fields plus where the value came from.
#[derive(Clone, Debug)]
pub struct Prompt {
    pub name: String,
    /// The prompt's version; 0 for a fallback.
    pub version: i64,
    pub kind: PromptKind,
    /// A string (text) or a list of messages and placeholders (chat).
    pub prompt: Json,
    pub config: Json,
    pub labels: Vec<String>,
    pub tags: Vec<String>,
    pub commit_message: Option<String>,
    /// The prompt commit, for prompts referenced by an Opik config.
    pub commit: Option<String>,
    pub source: ValueSource,
    /// Since the data was fetched; `None` for a fallback.
    pub age: Option<Duration>,
    /// Why the value is not fresh from the backend, when a fetch failed.
    pub error: Option<Arc<Error>>,
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

impl Prompt {
    /// Parses a read's value. Data that is not prompt JSON is `InvalidResponse`.
    pub fn from_value(value: &Value) -> Result<Prompt> {
        let mut p = Prompt::from_json(value.data())?;
        p.source = value.source;
        p.age = value.age();
        p.error = value.error.clone();
        Ok(p)
    }

    /// Parses prompt JSON (also Langfuse's own body, and the prompts inside an Opik config),
    /// as a fresh value.
    pub fn from_json(data: &Json) -> Result<Prompt> {
        let n = normalize_prompt(data, "")?;
        Ok(Prompt {
            name: n["name"].as_str().unwrap_or_default().to_string(),
            version: n["version"].as_i64().unwrap_or_default(),
            kind: if n["type"] == "chat" { PromptKind::Chat } else { PromptKind::Text },
            prompt: n["prompt"].clone(),
            config: n["config"].clone(),
            labels: strings(&n["labels"]),
            tags: strings(&n["tags"]),
            commit_message: n["commit_message"].as_str().map(str::to_string),
            commit: data.get("commit").and_then(Json::as_str).map(str::to_string),
            source: ValueSource::Fresh,
            age: None,
            error: None,
        })
    }

    pub fn is_fallback(&self) -> bool {
        self.source == ValueSource::Fallback
    }

    /// The text template; `None` for a chat prompt.
    pub fn text(&self) -> Option<&str> {
        self.prompt.as_str()
    }

    /// The chat items; `None` for a text prompt.
    pub fn messages(&self) -> Option<&[Json]> {
        self.prompt.as_array().map(Vec::as_slice)
    }

    /// A text prompt with its variables substituted (SPEC §6). A chat prompt is
    /// `InvalidArgument` (use [`Prompt::compile_chat`]).
    pub fn compile(&self, vars: &Map<String, Json>, strict: bool) -> Result<String> {
        let text = self.text().ok_or_else(|| {
            Error::invalid_argument(format!(
                "prompt {:?} is a chat prompt: compile it with compile_chat",
                self.name
            ))
        })?;
        template::compile(text, vars, strict).map_err(|e| e.with_key(&self.name))
    }

    /// A chat prompt's messages with variables substituted and placeholders expanded (SPEC §6).
    /// A text prompt is `InvalidArgument` (use [`Prompt::compile`]).
    pub fn compile_chat(
        &self,
        vars: &Map<String, Json>,
        placeholders: &Map<String, Json>,
        strict: bool,
    ) -> Result<Vec<Json>> {
        let messages = self.messages().ok_or_else(|| {
            Error::invalid_argument(format!(
                "prompt {:?} is a text prompt: compile it with compile",
                self.name
            ))
        })?;
        template::compile_chat(messages, vars, placeholders, strict).map_err(|e| e.with_key(&self.name))
    }

    /// The prompt in LangChain's template form (Langfuse's `get_langchain_prompt`): the given
    /// variables filled in, the others `{name}`, every other brace doubled; a chat prompt's
    /// placeholders expanded when given, LangChain placeholders otherwise. See
    /// [`crate::langchain`].
    pub fn langchain(
        &self,
        vars: &Map<String, Json>,
        placeholders: &Map<String, Json>,
    ) -> Result<LangchainPrompt> {
        langchain::prompt(&self.prompt, vars, placeholders).map_err(|e| e.with_key(&self.name))
    }

    /// [`Prompt::langchain`] with one map of arguments, as Langfuse Python's keyword arguments:
    /// an entry named after one of the prompt's placeholders fills it, the rest are variables.
    pub fn langchain_from_arguments(&self, arguments: &Map<String, Json>) -> Result<LangchainPrompt> {
        let (vars, placeholders) = langchain::split_arguments(&self.prompt, arguments);
        self.langchain(&vars, &placeholders)
    }

    /// The variables the prompt uses, in first-appearance order.
    pub fn variables(&self) -> Vec<String> {
        match &self.prompt {
            Json::String(t) => template::variables(t),
            Json::Array(m) => template::chat_variables(m),
            _ => Vec::new(),
        }
    }

    /// The prompt JSON (see the module documentation).
    pub fn data_json(&self) -> Json {
        serde_json::to_value(self.data()).expect("a prompt always serializes")
    }

    /// The prompt JSON plus `source`, `is_fallback`, `age` (seconds) and `error` (the `Error`
    /// JSON), the shape bindings hand out (the serde form of `Prompt`).
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).expect("a prompt always serializes")
    }

    fn data(&self) -> PromptData<'_> {
        PromptData {
            name: &self.name,
            version: self.version,
            kind: self.kind,
            prompt: &self.prompt,
            config: &self.config,
            labels: &self.labels,
            tags: &self.tags,
            commit_message: self.commit_message.as_deref(),
            commit: self.commit.as_deref(),
        }
    }
}

crate::serial::serialize_as_str!(PromptKind);

/// The prompt JSON (the module documentation), `commit` only when there is one.
#[derive(serde::Serialize)]
struct PromptData<'a> {
    name: &'a str,
    version: i64,
    #[serde(rename = "type")]
    kind: PromptKind,
    prompt: &'a Json,
    config: &'a Json,
    labels: &'a [String],
    tags: &'a [String],
    commit_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a str>,
}

impl serde::Serialize for Prompt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Read<'a> {
            #[serde(flatten)]
            data: PromptData<'a>,
            source: ValueSource,
            is_fallback: bool,
            age: Option<f64>,
            error: Option<&'a Error>,
        }
        let read = Read {
            data: self.data(),
            source: self.source,
            is_fallback: self.is_fallback(),
            age: self.age.map(|a| a.as_secs_f64()),
            error: self.error.as_deref(),
        };
        read.serialize(serializer)
    }
}

/// Builds a fallback's prompt JSON: version 0, `config` `{}`, `labels` and `tags` `[]`.
///
/// `fallback` is a string (a text prompt), a list of messages (a chat prompt: objects with
/// `role` and `content`, or `{"type": "placeholder", "name"}`), or an object
/// `{"prompt": <either>, "config"?: {…}}` to give the fallback a config too. `kind`, when
/// given, is the type the caller expects: a fallback of the other type is `InvalidArgument`.
pub fn fallback_prompt(name: &str, fallback: Json, kind: Option<PromptKind>) -> Result<Json> {
    let bad = |m: String| Error::invalid_argument(format!("fallback of prompt {name:?}: {m}")).with_key(name);
    let (prompt, config) = match fallback {
        Json::Object(mut o) if o.contains_key("prompt") => {
            let config = match o.remove("config") {
                None | Some(Json::Null) => json!({}),
                Some(c @ Json::Object(_)) => c,
                Some(_) => return Err(bad("`config` must be an object".into())),
            };
            if let Some(t) = o.get("type").and_then(Json::as_str) {
                let declared = PromptKind::parse(t).map_err(|e| bad(e.message))?;
                if kind.is_some_and(|k| k != declared) {
                    return Err(bad(format!(
                        "a {declared} fallback was given for a {} prompt",
                        kind.unwrap_or(declared)
                    )));
                }
            }
            (o.remove("prompt").unwrap_or_default(), config)
        }
        other => (other, json!({})),
    };
    let found = match &prompt {
        Json::String(_) => PromptKind::Text,
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_chat_item(item, i).map_err(bad)?;
            }
            PromptKind::Chat
        }
        _ => return Err(bad("must be a string (text prompt) or a list of messages (chat prompt)".into())),
    };
    if let Some(k) = kind {
        if k != found {
            return Err(bad(format!("a {found} fallback was given for a {k} prompt")));
        }
    }
    Ok(json!({
        "name": name,
        "version": 0,
        "type": found.as_str(),
        "prompt": prompt,
        "config": config,
        "labels": [],
        "tags": [],
        "commit_message": null,
    }))
}

/// One prompt read: name, label or version, the expected type, a fallback (a value or a function
/// called only when needed), and per-read TTL and cold deadline.
#[derive(Debug)]
pub struct PromptRequest<'a> {
    pub name: String,
    pub label: Option<String>,
    pub version: Option<u64>,
    /// The type the caller expects; checked against the fallback only (a fetched prompt is
    /// returned as it is).
    pub kind: Option<PromptKind>,
    /// A string, a list of messages, or `{"prompt", "config"}` (see [`fallback_prompt`]).
    pub fallback: Option<Fallback<'a>>,
    pub ttl: Option<Duration>,
    pub cold_deadline: Option<Duration>,
}

impl<'a> PromptRequest<'a> {
    pub fn new(name: impl Into<String>) -> Self {
        PromptRequest {
            name: name.into(),
            label: None,
            version: None,
            kind: None,
            fallback: None,
            ttl: None,
            cold_deadline: None,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    pub fn kind(mut self, kind: PromptKind) -> Self {
        self.kind = Some(kind);
        self
    }

    pub fn fallback(mut self, fallback: Json) -> Self {
        self.fallback = Some(Fallback::Value(fallback));
        self
    }

    /// A fallback produced only when it is served.
    pub fn lazy_fallback(mut self, f: impl FnOnce() -> Result<Json> + 'a) -> Self {
        self.fallback = Some(Fallback::Lazy(Box::new(f)));
        self
    }

    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    pub fn cold_deadline(mut self, d: Duration) -> Self {
        self.cold_deadline = Some(d);
        self
    }

    /// The key this request reads.
    pub fn key(&self) -> Result<Key> {
        prompt_key(&self.name, self.label.as_deref(), self.version)
    }

    /// Reads the prompt (SPEC §2): fresh, stale, snapshot, then the fallback. A fallback value is
    /// checked at once (a bad one is `InvalidArgument` even when the backend answers); a lazy one
    /// is called, and checked, only when it is served.
    pub fn get(self, client: &Client) -> Result<Prompt> {
        self.get_value(client).map(|(_, p)| p)
    }

    /// Like [`PromptRequest::get`], also returning the read's [`Value`] (bindings cache their
    /// converted objects by its payload).
    pub fn get_value(self, client: &Client) -> Result<(Value, Prompt)> {
        let (key, opts) = self.into_read()?;
        let value = client.get_with(&key, opts)?;
        let prompt =
            Prompt::from_value(&value).map_err(|e| if e.key.is_empty() { e.with_key(&key) } else { e })?;
        Ok((value, prompt))
    }

    /// The key and read options this request stands for (the fallback turned into prompt JSON).
    pub fn into_read(self) -> Result<(Key, ReadOptions<'a>)> {
        let key = self.key()?;
        let kind = self.kind;
        let fallback = match self.fallback {
            None => None,
            Some(Fallback::Value(v)) => Some(Fallback::Value(fallback_prompt(&self.name, v, kind)?)),
            Some(Fallback::Lazy(f)) => {
                let name = self.name.clone();
                Some(Fallback::Lazy(Box::new(move || fallback_prompt(&name, f()?, kind))))
            }
        };
        Ok((
            key,
            ReadOptions { ttl: self.ttl, cold_deadline: self.cold_deadline, fallback, create_from: None },
        ))
    }
}

/// Reads a prompt by name and label or version, with an optional fallback and TTL. See
/// [`PromptRequest`] for the expected-type check and the other options.
pub fn get_prompt(
    client: &Client,
    name: &str,
    label: Option<&str>,
    version: Option<u64>,
    fallback: Option<Fallback<'_>>,
    ttl: Option<Duration>,
) -> Result<Prompt> {
    PromptRequest {
        name: name.to_string(),
        label: label.map(str::to_string),
        version,
        kind: None,
        fallback,
        ttl,
        cold_deadline: None,
    }
    .get(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn production_is_the_default_key() {
        assert_eq!(prompt_key("p", Some("production"), None).unwrap(), prompt_key("p", None, None).unwrap());
        assert_eq!(
            prompt_key("p", Some("staging"), None).unwrap().qualifier,
            Qualifier::Label("staging".into())
        );
        assert_eq!(prompt_key("p", None, Some(3)).unwrap().qualifier, Qualifier::Version(3));
        for (name, label, version) in [
            ("p", Some("x"), Some(1)),
            ("", None, None),
            ("p", Some("Bad Label"), None),
            ("p", Some(""), None),
        ] {
            assert_eq!(prompt_key(name, label, version).unwrap_err().kind, ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn fallbacks_have_version_zero_and_match_the_type() {
        let t = fallback_prompt("p", json!("Hi {{x}}"), Some(PromptKind::Text)).unwrap();
        assert_eq!(
            t,
            json!({"name":"p","version":0,"type":"text","prompt":"Hi {{x}}","config":{},"labels":[],"tags":[],"commit_message":null})
        );
        let c = fallback_prompt("p", json!([{"role":"user","content":"{{q}}"}]), None).unwrap();
        assert_eq!(c["type"], "chat");
        let with_config = fallback_prompt("p", json!({"prompt":"x","config":{"model":"m"}}), None).unwrap();
        assert_eq!(with_config["config"]["model"], "m");
        for (fb, kind) in [
            (json!("x"), Some(PromptKind::Chat)),
            (json!([{"role":"user","content":"x"}]), Some(PromptKind::Text)),
            (json!(3), None),
            (json!([{"content":"no role"}]), None),
            (json!({"prompt":"x","config":3}), None),
        ] {
            assert_eq!(fallback_prompt("p", fb, kind).unwrap_err().kind, ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn compiles_text_and_chat() {
        let t = Prompt::from_json(&fallback_prompt("p", json!("Hi {{ who }}"), None).unwrap()).unwrap();
        let vars: Map<String, Json> = json!({"who":"Ann"}).as_object().unwrap().clone();
        assert_eq!(t.compile(&vars, true).unwrap(), "Hi Ann");
        assert_eq!(t.variables(), vec!["who"]);
        assert_eq!(t.compile_chat(&vars, &Map::new(), false).unwrap_err().kind, ErrorKind::InvalidArgument);
        let c = Prompt::from_json(
            &fallback_prompt(
                "c",
                json!([{"role":"system","content":"Be {{who}}"},{"type":"placeholder","name":"h"}]),
                None,
            )
            .unwrap(),
        )
        .unwrap();
        let ph: Map<String, Json> =
            json!({"h":[{"role":"user","content":"yo"}]}).as_object().unwrap().clone();
        let out = c.compile_chat(&vars, &ph, true).unwrap();
        assert_eq!(
            out,
            vec![json!({"role":"system","content":"Be Ann"}), json!({"role":"user","content":"yo"})]
        );
        assert_eq!(c.compile(&vars, false).unwrap_err().kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn normalizes_text_and_chat() {
        let text = normalize_prompt(
            &json!({"type":"text","name":"p","version":2,"prompt":"hi {{x}}","config":null,"labels":["production"],
                    "tags":null,"commitMessage":"m","id":"ignored","resolutionGraph":null}),
            "p",
        )
        .unwrap();
        assert_eq!(
            text,
            json!({"name":"p","version":2,"type":"text","prompt":"hi {{x}}","config":{},"labels":["production"],
                   "tags":[],"commit_message":"m"})
        );
        let chat = normalize_prompt(
            &json!({"type":"chat","name":"c","version":1,"prompt":[{"role":"system","content":"s","type":"chatmessage"},
                    {"type":"placeholder","name":"history"}],"config":{"model":"m"}}),
            "c",
        )
        .unwrap();
        assert_eq!(chat["prompt"][1]["name"], "history");
        assert_eq!(chat["config"]["model"], "m");
    }

    #[test]
    fn rejects_wrong_shapes() {
        for bad in [
            json!([]),
            json!({"type":"text","name":"p","version":1}),
            json!({"type":"text","name":"p","version":1,"prompt":["x"]}),
            json!({"type":"chat","name":"p","version":1,"prompt":"x"}),
            json!({"type":"chat","name":"p","version":1,"prompt":["x"]}),
            json!({"type":"chat","name":"p","version":1,"prompt":[{"content":"no role"}]}),
            json!({"type":"chat","name":"p","version":1,"prompt":[{"type":"placeholder"}]}),
            json!({"type":"image","name":"p","version":1,"prompt":"x"}),
            json!({"type":"text","name":"p","version":"1","prompt":"x"}),
            json!({"type":"text","name":"p","prompt":"x"}),
            json!({"type":"text","name":"p","version":1,"prompt":"x","labels":[1]}),
        ] {
            let e = normalize_prompt(&bad, "p").unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidResponse, "{bad}");
        }
    }
}
