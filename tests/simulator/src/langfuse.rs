//! Langfuse prompt management: `GET /api/public/v2/prompts/{name}` and `POST /api/public/v2/prompts`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::request::Incoming;
use crate::util;
use crate::wire::{Api, Reply};

const PREFIX: &str = "/api/public/v2/prompts";
const LATEST: &str = "latest";
const DEFAULT_LABEL: &str = "production";
const PROJECT_ID: &str = "sim-project";

/// One version of a prompt, as stored.
#[derive(Clone, Debug)]
struct PromptVersion {
    name: String,
    version: u64,
    kind: String,
    prompt: Value,
    config: Value,
    labels: Vec<String>,
    tags: Vec<String>,
    commit_message: Value,
    created_at: String,
}

impl PromptVersion {
    /// The body Langfuse answers for this version.
    fn to_json(&self) -> Value {
        json!({
            "id": util::uuid_like(&format!("langfuse:{}:{}", self.name, self.version)),
            "projectId": PROJECT_ID,
            "name": self.name,
            "version": self.version,
            "type": self.kind,
            "prompt": self.prompt,
            "config": self.config,
            "labels": self.labels,
            "tags": self.tags,
            "commitMessage": self.commit_message,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "createdBy": "API",
            "isActive": null,
            "resolutionGraph": null,
        })
    }
}

/// What a create request (or a fixture item) asks for.
struct Spec {
    name: String,
    version: Option<u64>,
    kind: String,
    prompt: Value,
    config: Value,
    labels: Vec<String>,
    tags: Option<Vec<String>>,
    commit_message: Value,
}

impl Spec {
    fn parse(body: &Value) -> Result<Spec, String> {
        let name = util::required_str(body, "name")?.to_owned();
        let kind = util::str_field(body, "type").unwrap_or("text").to_owned();
        let prompt = normalize_prompt(&kind, body.get("prompt").unwrap_or(&Value::Null))?;
        let config = match body.get("config") {
            None | Some(Value::Null) => json!({}),
            Some(c) => c.clone(),
        };
        let labels = util::str_list(body, "labels")?;
        if let Some(bad) = labels.iter().find(|l| !valid_label(l)) {
            return Err(format!("invalid label '{bad}': labels match ^[a-z0-9_\\-.]+$"));
        }
        let tags = match body.get("tags") {
            None | Some(Value::Null) => None,
            Some(_) => Some(util::str_list(body, "tags")?),
        };
        Ok(Spec {
            name,
            version: util::u64_field(body, "version")?,
            kind,
            prompt,
            config,
            labels,
            tags,
            commit_message: body.get("commitMessage").cloned().unwrap_or(Value::Null),
        })
    }
}

/// Checks a prompt against its type; chat messages get `"type": "chatmessage"` like Langfuse adds.
fn normalize_prompt(kind: &str, prompt: &Value) -> Result<Value, String> {
    match (kind, prompt) {
        ("text", Value::String(_)) => Ok(prompt.clone()),
        ("chat", Value::Array(items)) => items.iter().map(normalize_chat_item).collect(),
        ("text" | "chat", _) => Err(format!(
            "a {kind} prompt needs a {}",
            if kind == "text" { "string" } else { "list of messages" }
        )),
        _ => Err(format!("unknown prompt type '{kind}' (text or chat)")),
    }
}

fn normalize_chat_item(item: &Value) -> Result<Value, String> {
    let mut item = item.as_object().cloned().ok_or("a chat message must be an object")?;
    if item.get("type").and_then(Value::as_str) == Some("placeholder") {
        return if item.get("name").is_some_and(Value::is_string) {
            Ok(Value::Object(item))
        } else {
            Err("a placeholder needs a 'name'".into())
        };
    }
    if !item.get("role").is_some_and(Value::is_string) || !item.contains_key("content") {
        return Err("a chat message needs 'role' and 'content'".into());
    }
    item.entry("type").or_insert_with(|| json!("chatmessage"));
    Ok(Value::Object(item))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
}

/// The Langfuse project: its keys and prompts.
#[derive(Default)]
pub(crate) struct LangfuseStore {
    public_key: Option<String>,
    secret_key: Option<String>,
    prompts: BTreeMap<String, Vec<PromptVersion>>,
}

impl LangfuseStore {
    /// Loads the fixture's `langfuse` section: `{"public_key","secret_key","prompts":[...]}`.
    /// A null public key turns authentication off.
    pub fn from_fixture(section: Option<&Value>) -> Result<LangfuseStore, String> {
        let none = Value::Null;
        let section = section.unwrap_or(&none);
        let mut store = LangfuseStore {
            public_key: util::str_field(section, "public_key").map(str::to_owned),
            secret_key: util::str_field(section, "secret_key").map(str::to_owned),
            prompts: BTreeMap::new(),
        };
        let prompts = match section.get("prompts") {
            None | Some(Value::Null) => return Ok(store),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("fixture 'langfuse.prompts' must be a list".into()),
        };
        for item in prompts {
            store.insert(Spec::parse(item).map_err(|e| format!("fixture langfuse prompt: {e}"))?)?;
        }
        Ok(store)
    }

    /// Publishes a new version (body of the create API); returns it as Langfuse answers it.
    pub fn publish(&mut self, body: &Value) -> Result<Value, String> {
        let mut spec = Spec::parse(body)?;
        spec.version = None;
        self.insert(spec)
    }

    /// Adds a version like Langfuse: next version number, its labels leave the other versions,
    /// `latest` on the newest. Tags are per prompt: given tags replace them on every version.
    fn insert(&mut self, spec: Spec) -> Result<Value, String> {
        let versions = self.prompts.entry(spec.name.clone()).or_default();
        let next = versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let version = spec.version.unwrap_or(next);
        if versions.iter().any(|v| v.version == version) {
            return Err(format!("prompt '{}' already has version {version}", spec.name));
        }
        let labels: Vec<String> = spec.labels.into_iter().filter(|l| l != LATEST).collect();
        for other in versions.iter_mut() {
            other.labels.retain(|l| !labels.contains(l));
        }
        let tags = match spec.tags {
            Some(tags) => {
                versions.iter_mut().for_each(|v| v.tags = tags.clone());
                tags
            }
            None => versions.last().map(|v| v.tags.clone()).unwrap_or_default(),
        };
        versions.push(PromptVersion {
            name: spec.name.clone(),
            version,
            kind: spec.kind,
            prompt: spec.prompt,
            config: spec.config,
            labels,
            tags,
            commit_message: spec.commit_message,
            created_at: util::iso_now(),
        });
        versions.sort_by_key(|v| v.version);
        move_latest(versions);
        let created = versions.iter().find(|v| v.version == version).map(PromptVersion::to_json);
        Ok(created.unwrap_or_default())
    }

    /// Deletes a prompt (every version), one `version` of it, or only a `label` from it.
    /// Returns false when there was nothing to delete.
    pub fn delete(&mut self, name: &str, version: Option<u64>, label: Option<&str>) -> bool {
        let Some(versions) = self.prompts.get_mut(name) else { return false };
        let deleted = match (version, label) {
            (Some(n), _) => {
                let before = versions.len();
                versions.retain(|v| v.version != n);
                before != versions.len()
            }
            (None, Some(label)) => versions.iter_mut().any(|v| {
                let before = v.labels.len();
                v.labels.retain(|l| l != label);
                before != v.labels.len()
            }),
            (None, None) => {
                versions.clear();
                true
            }
        };
        if versions.is_empty() {
            self.prompts.remove(name);
        } else if version.is_some() {
            move_latest(versions);
        }
        deleted
    }

    /// Answers a data request under `/api/public/`.
    pub fn handle(&mut self, request: &Incoming) -> Reply {
        if let Err(denied) = self.authorize(request) {
            return denied;
        }
        let rest = request.path.strip_prefix(PREFIX);
        match (request.method.as_str(), rest) {
            ("GET", Some("" | "/")) => self.list(),
            ("POST", Some("" | "/")) => self.create(request),
            ("GET" | "HEAD", Some(name)) if name.starts_with('/') => {
                self.get(&util::decode(&name[1..]), request)
            }
            (_, Some(rest)) if rest.is_empty() || rest.starts_with('/') => {
                Reply::error(Api::Langfuse, 405, "Method not allowed")
            }
            _ => Reply::error(Api::Langfuse, 404, &format!("no such route: {}", request.path)),
        }
    }

    fn authorize(&self, request: &Incoming) -> Result<(), Reply> {
        let Some(public_key) = &self.public_key else { return Ok(()) };
        let credentials = request.header("authorization").and_then(basic_credentials);
        let forbidden = || {
            Reply::error(Api::Langfuse, 403, "Access denied: prompts need the secret key (HTTP Basic pk:sk)")
        };
        match credentials {
            Some((user, secret)) if user == *public_key => {
                if self.secret_key.is_none() || self.secret_key.as_deref() == Some(secret.as_str()) {
                    Ok(())
                } else if secret.is_empty() {
                    Err(forbidden())
                } else {
                    Err(invalid_credentials())
                }
            }
            None if request.header("x-langfuse-public-key") == Some(public_key) => Err(forbidden()),
            _ => Err(invalid_credentials()),
        }
    }

    fn get(&self, name: &str, request: &Incoming) -> Reply {
        let label = request.param("label");
        let version = request.param("version");
        let found = match (version, label) {
            (Some(_), Some(_)) => {
                return Reply::error(Api::Langfuse, 400, "Cannot specify both version and label")
            }
            (Some(version), None) => {
                let Ok(number) = version.parse::<u64>() else {
                    return Reply::error(Api::Langfuse, 400, &format!("Invalid version: '{version}'"));
                };
                self.find(name, |v| v.version == number)
                    .ok_or_else(|| format!("Prompt not found: '{name}' with version {number}"))
            }
            (None, label) => {
                let label = label.unwrap_or_else(|| DEFAULT_LABEL.to_owned());
                self.find(name, |v| v.labels.contains(&label))
                    .ok_or_else(|| format!("Prompt not found: '{name}' with label '{label}'"))
            }
        };
        match found {
            Ok(version) => Reply::json(200, &version.to_json()),
            Err(message) => Reply::error(Api::Langfuse, 404, &message),
        }
    }

    fn find(&self, name: &str, pick: impl Fn(&PromptVersion) -> bool) -> Option<&PromptVersion> {
        self.prompts.get(name)?.iter().rev().find(|v| pick(v))
    }

    fn create(&mut self, request: &Incoming) -> Reply {
        match request.json().and_then(|body| self.publish(&body)) {
            Ok(created) => Reply::json(201, &created),
            Err(message) => Reply::error(Api::Langfuse, 400, &message),
        }
    }

    /// `GET /api/public/v2/prompts`: the prompt list (one page with everything).
    fn list(&self) -> Reply {
        let data: Vec<Value> = self.prompts.values().filter_map(|versions| list_item(versions)).collect();
        let total = data.len();
        Reply::json(
            200,
            &json!({"data": data, "meta": {"page": 1, "limit": total.max(1), "totalItems": total, "totalPages": 1}}),
        )
    }

    pub fn to_json(&self) -> Value {
        self.prompts.values().flatten().map(PromptVersion::to_json).collect()
    }
}

fn list_item(versions: &[PromptVersion]) -> Option<Value> {
    let newest = versions.last()?;
    let mut labels: Vec<&String> = versions.iter().flat_map(|v| &v.labels).collect();
    labels.sort();
    labels.dedup();
    Some(json!({
        "name": newest.name,
        "type": newest.kind,
        "versions": versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        "labels": labels,
        "tags": newest.tags,
        "lastUpdatedAt": newest.created_at,
        "lastConfig": newest.config,
    }))
}

/// Puts `latest` on the newest version only.
fn move_latest(versions: &mut [PromptVersion]) {
    versions.iter_mut().for_each(|v| v.labels.retain(|l| l != LATEST));
    if let Some(newest) = versions.last_mut() {
        newest.labels.push(LATEST.to_owned());
    }
}

fn invalid_credentials() -> Reply {
    Reply::error(Api::Langfuse, 401, "Invalid credentials. Confirm that you've configured the correct host.")
}

/// `(user, password)` of an HTTP Basic `Authorization` header.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((&text, ""));
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LangfuseStore {
        LangfuseStore::from_fixture(Some(&json!({"prompts": [
            {"name": "p", "type": "text", "prompt": "one", "labels": ["production"]},
            {"name": "p", "type": "text", "prompt": "two", "labels": ["staging"], "tags": ["t"]},
        ]})))
        .unwrap()
    }

    fn labels_of(store: &LangfuseStore, version: u64) -> Vec<String> {
        store.find("p", |v| v.version == version).unwrap().labels.clone()
    }

    #[test]
    fn publishing_moves_labels_and_latest() {
        let mut store = store();
        assert_eq!(labels_of(&store, 2), ["staging", "latest"]);
        let created =
            store.publish(&json!({"name": "p", "prompt": "three", "labels": ["production"]})).unwrap();
        assert_eq!(created["version"], 3);
        assert_eq!(created["labels"], json!(["production", "latest"]));
        assert_eq!(created["tags"], json!(["t"]));
        assert!(labels_of(&store, 1).is_empty());
        assert_eq!(labels_of(&store, 2), ["staging"]);
    }

    #[test]
    fn deleting_a_label_or_version() {
        let mut store = store();
        assert!(store.delete("p", None, Some("production")));
        assert!(!store.delete("p", None, Some("production")));
        assert!(store.delete("p", Some(2), None));
        assert_eq!(labels_of(&store, 1), ["latest"]);
        assert!(store.delete("p", None, None));
        assert!(store.prompts.is_empty());
    }

    #[test]
    fn chat_messages_get_their_type() {
        let prompt = normalize_prompt(
            "chat",
            &json!([{"role": "system", "content": "x"}, {"type": "placeholder", "name": "history"}]),
        )
        .unwrap();
        assert_eq!(prompt[0]["type"], "chatmessage");
        assert_eq!(prompt[1], json!({"type": "placeholder", "name": "history"}));
        assert!(normalize_prompt("chat", &json!("text")).is_err());
        assert!(normalize_prompt("text", &json!([])).is_err());
    }

    #[test]
    fn labels_are_validated() {
        assert!(valid_label("prod-1.x_y"));
        assert!(!valid_label("Prod"));
        assert!(!valid_label(""));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        assert_eq!(basic_credentials("Basic cGs6c2s="), Some(("pk".into(), "sk".into())));
        assert_eq!(basic_credentials("Bearer x"), None);
    }
}
