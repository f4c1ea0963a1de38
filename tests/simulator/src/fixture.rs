//! Fixtures: the data a simulator starts with (and returns to on reset), and the built-in default.

use serde_json::{json, Value};

use crate::kv::KvStore;
use crate::langfuse::LangfuseStore;
use crate::openai::OpenAiStore;
use crate::opik::OpikStore;

/// Everything the data routes serve.
pub(crate) struct Stores {
    pub kv: KvStore,
    pub langfuse: LangfuseStore,
    pub opik: OpikStore,
    pub openai: OpenAiStore,
}

impl Stores {
    /// Loads a fixture; every section is optional.
    pub fn from_fixture(fixture: &Value) -> Result<Stores, String> {
        if !fixture.is_object() && !fixture.is_null() {
            return Err("a fixture must be a JSON object".into());
        }
        Ok(Stores {
            kv: KvStore::from_fixture(fixture.get("kv"))?,
            langfuse: LangfuseStore::from_fixture(fixture.get("langfuse"))?,
            opik: OpikStore::from_fixture(fixture.get("opik"))?,
            openai: OpenAiStore::from_fixture(fixture.get("openai"))?,
        })
    }

    /// The current data, for `GET /_sim/state`.
    pub fn to_json(&self) -> Value {
        json!({
            "kv": self.kv.to_json(),
            "langfuse": {"prompts": self.langfuse.to_json()},
            "opik": self.opik.to_json(),
            "openai": self.openai.to_json(),
        })
    }
}

/// The built-in fixture of `Simulator::start_default()` and of the binary without `--fixture`.
pub fn default_fixture() -> Value {
    json!({
        "kv": {
            "greeting": {"value": {"text": "hello"}, "version": 1},
            "settings": {"value": {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256,
                                   "tools": true}, "version": 3},
            "plain": {"value": "just a string", "version": 1},
        },
        "langfuse": {
            "public_key": "pk-lf-test",
            "secret_key": "sk-lf-test",
            "prompts": [
                {"name": "movie-critic", "version": 1, "type": "text",
                 "prompt": "Do you like {{movie}}?", "config": {"temperature": 0.7},
                 "labels": ["production"], "tags": ["movies"], "commitMessage": null},
                {"name": "movie-critic", "version": 2, "type": "text",
                 "prompt": "As a {{criticLevel}} critic, do you like {{movie}}?",
                 "config": {"temperature": 0.9}, "labels": ["staging"], "tags": ["movies"],
                 "commitMessage": "ask for the critic level"},
                {"name": "chat-agent", "version": 1, "type": "chat",
                 "prompt": [
                     {"role": "system", "content": "You are {{role}}."},
                     {"type": "placeholder", "name": "history"},
                     {"role": "user", "content": "{{question}}"}
                 ],
                 "config": {"model": "gpt-4o-mini"}, "labels": ["production"], "tags": [],
                 "commitMessage": null},
                {"name": "folder/x y ü", "version": 1, "type": "text", "prompt": "Special {{thing}}",
                 "config": {}, "labels": ["production"], "tags": [], "commitMessage": null}
            ]
        },
        "opik": {
            "api_key": null,
            "workspace": null,
            "projects": [
                {"name": "my-agent", "blueprints": [
                    {"name": "v1", "envs": ["prod"], "values": [
                        {"key": "model", "value": "gpt-4o-mini", "type": "string"},
                        {"key": "max_tokens", "value": "256", "type": "integer"},
                        {"key": "temperature", "value": "0.2", "type": "float"},
                        {"key": "use_tools", "value": "true", "type": "boolean"},
                        {"key": "system_prompt", "value": "abc123", "type": "prompt"}
                    ]},
                    {"name": "v2", "envs": ["staging"], "values": [
                        {"key": "model", "value": "gpt-4o", "type": "string"},
                        {"key": "max_tokens", "value": "512", "type": "integer"},
                        {"key": "temperature", "value": "0.5", "type": "float"},
                        {"key": "use_tools", "value": "false", "type": "boolean"},
                        {"key": "system_prompt", "value": "abc123", "type": "prompt"}
                    ]}
                ]},
                {"name": "empty-agent", "blueprints": []}
            ],
            "prompts": [
                {"commit": "abc123", "name": "system_prompt", "template": "You are {{role}}."}
            ]
        },
        "openai": {"reply": "Hello from the simulator", "chunk_delay_ms": 5}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixture_loads() {
        Stores::from_fixture(&default_fixture()).unwrap();
        Stores::from_fixture(&json!({})).unwrap();
        assert!(Stores::from_fixture(&json!([])).is_err());
    }
}
