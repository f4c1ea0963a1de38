//! Prompt helpers the JS `Prompt` needs beyond reads: the core's fallback prompt and LangChain
//! conversion.

use crate::convert::js_error;
use failsoft::prompt::PromptKind;
use napi_derive::napi;
use serde_json::{Map, Value};

type Result<T> = std::result::Result<T, napi::Error<String>>;

/// A fallback's prompt JSON (`prompt::fallback_prompt`): version 0, checked against `kind` (`text` or `chat`) when
/// given. `fallback` is a string, a list of messages, or `{prompt, config}`.
#[napi]
pub fn fallback_prompt(name: String, fallback: Value, kind: Option<String>) -> Result<Value> {
    let kind = kind.as_deref().map(PromptKind::parse).transpose().map_err(|e| js_error(&e))?;
    failsoft::prompt::fallback_prompt(&name, fallback, kind).map_err(|e| js_error(&e))
}

/// A prompt's `prompt` (a template string or chat items) in LangChain's form (core
/// `langchain::prompt`): a string for `PromptTemplate.fromTemplate`, or `{role, content}`
/// messages and `["placeholder", "{name}"]` items for `ChatPromptTemplate.fromMessages`.
#[napi]
pub fn langchain_prompt(
    prompt: Value,
    vars: Map<String, Value>,
    placeholders: Map<String, Value>,
) -> Result<Value> {
    failsoft::langchain::prompt(&prompt, &vars, &placeholders).map(|p| p.to_json()).map_err(|e| js_error(&e))
}
