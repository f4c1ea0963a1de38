//! The core's template functions (SPEC §6), unchanged: `{{name}}` substitution and chat
//! placeholders.

use crate::convert::js_error;
use failsoft::template;
use napi_derive::napi;
use serde_json::{Map, Value};

type Result<T> = std::result::Result<T, napi::Error<String>>;

/// Replaces `{{name}}` with the variable's text; strict mode fails naming every missing one.
#[napi]
pub fn compile_text(template: String, vars: Map<String, Value>, strict: bool) -> Result<String> {
    template::compile(&template, &vars, strict).map_err(|e| js_error(&e))
}

/// Compiles a chat prompt: message contents and `{type: "placeholder", name}` items.
#[napi]
pub fn compile_chat(
    messages: Vec<Value>,
    vars: Map<String, Value>,
    placeholders: Map<String, Value>,
    strict: bool,
) -> Result<Vec<Value>> {
    template::compile_chat(&messages, &vars, &placeholders, strict).map_err(|e| js_error(&e))
}

/// The variable names a text template uses, in first-appearance order.
#[napi]
pub fn text_variables(template: String) -> Vec<String> {
    template::variables(&template)
}

/// The variable names a chat prompt's messages use, in first-appearance order.
#[napi]
pub fn chat_variables(messages: Vec<Value>) -> Vec<String> {
    template::chat_variables(&messages)
}
