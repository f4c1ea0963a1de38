//! OpenAI-compatible chat completions, plain and streamed, for any number of named targets:
//! `POST /v1/chat/completions` is target `default`, `POST /t/{target}/v1/chat/completions`
//! (or `/t/{target}/chat/completions`) is `{target}`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::request::{body_value, Incoming};
use crate::util;
use crate::wire::{Api, Reply};

/// The target of requests without a `/t/{target}` prefix.
pub const DEFAULT_TARGET: &str = "default";
const DEFAULT_REPLY: &str = "Hello from the simulator";
const DEFAULT_CHUNK_DELAY: Duration = Duration::from_millis(5);

/// The model's answers and what it was asked.
pub(crate) struct OpenAiStore {
    reply: String,
    chunk_delay: Duration,
    last: BTreeMap<String, Value>,
    completions: u64,
}

impl OpenAiStore {
    /// Loads the fixture's `openai` section: `{"reply": "...", "chunk_delay_ms": 5}`.
    pub fn from_fixture(section: Option<&Value>) -> Result<OpenAiStore, String> {
        let mut store = OpenAiStore {
            reply: DEFAULT_REPLY.to_owned(),
            chunk_delay: DEFAULT_CHUNK_DELAY,
            last: BTreeMap::new(),
            completions: 0,
        };
        if let Some(section) = section.filter(|s| !s.is_null()) {
            store.configure(section)?;
        }
        Ok(store)
    }

    /// Changes the reply text and/or the delay between streamed chunks.
    pub fn configure(&mut self, body: &Value) -> Result<(), String> {
        if let Some(reply) = body.get("reply") {
            self.reply = reply.as_str().ok_or("'reply' must be a string")?.to_owned();
        }
        if let Some(ms) = util::u64_field(body, "chunk_delay_ms")? {
            self.chunk_delay = Duration::from_millis(ms);
        }
        Ok(())
    }

    /// The body of the last request a target received.
    pub fn last_request(&self, target: &str) -> Option<Value> {
        self.last.get(target).cloned()
    }

    /// Answers a data request for a chat completion.
    pub fn handle(&mut self, request: &Incoming) -> Reply {
        let Some(target) = target_of(&request.path) else {
            return Reply::error(
                Api::OpenAi,
                404,
                &format!("Invalid URL ({} {})", request.method, request.path),
            );
        };
        if request.method != "POST" {
            return Reply::error(Api::OpenAi, 405, &format!("Invalid method for URL ({})", request.method));
        }
        self.last.insert(target.clone(), body_value(&request.body));
        if !has_bearer(request) {
            return Reply::error(
                Api::OpenAi,
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header \
                 using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            );
        }
        let body = match request.json() {
            Ok(body) if body.is_object() => body,
            Ok(_) => return Reply::error(Api::OpenAi, 400, "the request body must be a JSON object"),
            Err(message) => return Reply::error(Api::OpenAi, 400, &message),
        };
        let Some(model) = util::str_field(&body, "model") else {
            return Reply::error(Api::OpenAi, 400, "you must provide a model parameter");
        };
        if !body.get("messages").is_some_and(Value::is_array) {
            return Reply::error(Api::OpenAi, 400, "'messages' is a required property");
        }
        self.completions += 1;
        let answer = Answer {
            id: format!("chatcmpl-sim{:08}", self.completions),
            created: util::unix_now(),
            model: model.to_owned(),
            content: format!("{} [target={target}]", self.reply),
            prompt_tokens: prompt_tokens(&body),
        };
        if body.get("stream").and_then(Value::as_bool) == Some(true) {
            let usage = body.pointer("/stream_options/include_usage").and_then(Value::as_bool) == Some(true);
            Reply::events(answer.events(usage), self.chunk_delay)
        } else {
            Reply::json(200, &answer.completion())
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"reply": self.reply, "chunk_delay_ms": self.chunk_delay.as_millis() as u64, "last_requests": self.last})
    }
}

/// The target named by a completion path, if it is one.
fn target_of(path: &str) -> Option<String> {
    if path == "/v1/chat/completions" {
        return Some(DEFAULT_TARGET.to_owned());
    }
    let (target, rest) = path.strip_prefix("/t/")?.split_once('/')?;
    matches!(rest, "v1/chat/completions" | "chat/completions").then(|| util::decode(target))
}

fn has_bearer(request: &Incoming) -> bool {
    let header = request.header("authorization").unwrap_or_default();
    header.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer ")) && !header[7..].trim().is_empty()
}

/// A rough token count: words of the messages' text contents.
fn prompt_tokens(body: &Value) -> usize {
    let messages = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    messages.iter().filter_map(|m| m.get("content").and_then(Value::as_str)).map(words).sum()
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

struct Answer {
    id: String,
    created: u64,
    model: String,
    content: String,
    prompt_tokens: usize,
}

impl Answer {
    fn usage(&self) -> Value {
        let completion = words(&self.content);
        json!({"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
               "total_tokens": self.prompt_tokens + completion})
    }

    fn completion(&self) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": self.content, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": self.usage(),
        })
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": choices,
        })
    }

    fn delta(&self, delta: Value, finish_reason: Value) -> String {
        let choices = json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]);
        event(&self.chunk(choices))
    }

    /// Role first, then the content word by word, then the finish reason (and usage), then `[DONE]`.
    fn events(&self, include_usage: bool) -> Vec<String> {
        let mut events = vec![self.delta(json!({"role": "assistant", "content": ""}), Value::Null)];
        let pieces = self.content.split_inclusive(' ');
        events.extend(pieces.map(|piece| self.delta(json!({"content": piece}), Value::Null)));
        events.push(self.delta(json!({}), json!("stop")));
        if include_usage {
            let mut last = self.chunk(json!([]));
            last["usage"] = self.usage();
            events.push(event(&last));
        }
        events.push("data: [DONE]\n\n".to_owned());
        events
    }
}

/// One server-sent event carrying `data`.
fn event(data: &Value) -> String {
    format!("data: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_come_from_the_path() {
        assert_eq!(target_of("/v1/chat/completions").as_deref(), Some("default"));
        assert_eq!(target_of("/t/primary/v1/chat/completions").as_deref(), Some("primary"));
        assert_eq!(target_of("/t/fallback/chat/completions").as_deref(), Some("fallback"));
        assert_eq!(target_of("/t/x/v1/models"), None);
    }

    #[test]
    fn stream_events_rebuild_the_content() {
        let answer = Answer {
            id: "chatcmpl-1".into(),
            created: 1,
            model: "m".into(),
            content: "Hello big world".into(),
            prompt_tokens: 2,
        };
        let events = answer.events(true);
        assert_eq!(events.last().unwrap(), "data: [DONE]\n\n");
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap().trim()).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String =
            chunks.iter().filter_map(|c| c.pointer("/choices/0/delta/content")?.as_str()).collect();
        assert_eq!(text, "Hello big world");
        assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[chunks.len() - 1]["usage"]["total_tokens"], 5);
    }
}
