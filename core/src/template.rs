//! Prompt templates (SPEC §6): `{{name}}` substitution for text prompts and placeholder expansion
//! for chat prompts. This is the one implementation every binding (Python, Node, C) calls, so the
//! rules below are the rules everywhere; `tests/scenarios/templates.json` pins them down.
//!
//! # Syntax
//!
//! A variable is `{{`, optional spaces or tabs, a *name*, optional spaces or tabs, `}}`.
//!
//! - A **name** starts with a Unicode letter, a Unicode digit or `_`, and continues with Unicode
//!   letters, digits, `_`, `-` or `.` (`{{user_name}}`, `{{user-id}}`, `{{user.name}}`,
//!   `{{prénom}}`). The Langfuse editor only highlights `[A-Za-z][A-Za-z_]*`, while the Python SDK
//!   substitutes any key of the data; this is a superset of the former that still refuses things
//!   that are plainly not names. A dot is part of the name, not a path: `{{user.name}}` looks up
//!   the key `"user.name"` (no Mustache-style nested lookup).
//! - Anything else between braces is text and is left verbatim: `{{ not a var! }}`, `{{}}`,
//!   `{{ }}`, `{{#section}}`, JSON such as `{"a": {"b": 1}}`, single braces, an unmatched `{{` or
//!   `}}`, and a newline inside the braces (`{{\nname}}`): only spaces and tabs may pad a name.
//! - **Extra braces** are text around the innermost variable: `{{{x}}}` is `{` + the value of `x` +
//!   `}` (and `{{{{x}}}}` is `{{` + value + `}}`). Mustache would treat `{{{x}}}` as an unescaped
//!   variable; failsoft never escapes, so triple braces have no meaning of their own and the
//!   surrounding braces are kept, which is what JSON-like prompts such as `{"user": {{user}}}`
//!   need.
//!
//! # Values
//!
//! Values are inserted raw, in one pass: a string as is (no HTML escaping; `$` and `\` are plain
//! characters), a number or boolean as its JSON text (`3`, `2.5`, `true`), `null` as the empty
//! string, an object or array as compact JSON text (`{"a":1}`, `[1,2]`). The output is never
//! scanned again, so a value containing `{{x}}` stays literally `{{x}}`.
//!
//! # Missing variables
//!
//! A variable with no entry in the map is left exactly as written (`{{ name }}` keeps its
//! spaces), like the Langfuse Python SDK. In `strict` mode it is an
//! [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) error whose message names
//! every missing variable once, in first-appearance order:
//! `missing template variables: movie, year`.
//!
//! # Cost
//!
//! A single left-to-right scan over the bytes, linear in the template length plus the output;
//! no regex. Braces, spaces and tabs are ASCII, so byte positions found for them are always char
//! boundaries and the text is never split inside a UTF-8 sequence.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One `{{ name }}` found in a template.
pub(crate) struct Var<'a> {
    /// Byte offset of the opening `{{`.
    pub(crate) start: usize,
    /// Byte offset just past the closing `}}`.
    pub(crate) end: usize,
    pub(crate) name: &'a str,
}

/// Whether `c` may start a variable name.
fn is_name_start(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `c` may continue a variable name.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// Tries to read a variable whose `{{` starts at byte `start` (the caller checked the braces).
fn parse_var(template: &str, start: usize) -> Option<Var<'_>> {
    let bytes = template.as_bytes();
    let mut i = start + 2;
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    let name_start = i;
    let mut chars = template[i..].chars();
    match chars.next() {
        Some(c) if is_name_start(c) => i += c.len_utf8(),
        _ => return None,
    }
    for c in chars {
        if !is_name_char(c) {
            break;
        }
        i += c.len_utf8();
    }
    let name = &template[name_start..i];
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    if bytes.get(i) == Some(&b'}') && bytes.get(i + 1) == Some(&b'}') {
        Some(Var { start, end: i + 2, name })
    } else {
        None
    }
}

/// Calls `f` on every variable of `template`, left to right, never overlapping.
///
/// When a `{{` does not open a variable the scan resumes one byte later, so in `{{{x}}}` the
/// variable is the innermost `{{x}}`. Linear: a failed attempt only reads spaces, tabs and name
/// characters, none of which can start the next `{{`.
pub(crate) fn scan<'a>(template: &'a str, mut f: impl FnMut(Var<'a>)) {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && bytes[i + 1] == b'{' {
            if let Some(var) = parse_var(template, i) {
                i = var.end;
                f(var);
                continue;
            }
        }
        i += 1;
    }
}

/// The text a value is inserted as: strings raw, `null` empty, everything else compact JSON.
pub(crate) fn value_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(_) | Value::Object(_) => out.push_str(&value.to_string()),
    }
}

/// Substitutes the variables of `template`, leaving missing ones verbatim and appending their
/// names (once each) to `missing`.
fn render(template: &str, vars: &Map<String, Value>, missing: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    scan(template, |var| match vars.get(var.name) {
        Some(value) => {
            out.push_str(&template[copied..var.start]);
            value_text(value, &mut out);
            copied = var.end;
        }
        None => {
            if !missing.iter().any(|m| m == var.name) {
                missing.push(var.name.to_owned());
            }
        }
    });
    out.push_str(&template[copied..]);
    out
}

fn missing_variables_message(missing: &[String]) -> String {
    format!("missing template variables: {}", missing.join(", "))
}

/// Replaces `{{name}}` / `{{ name }}` with the variable's text.
///
/// See the [module documentation](self) for the exact syntax. Values are inserted raw (strings
/// as is, `null` as nothing, numbers, booleans, objects and arrays as compact JSON) and never
/// re-expanded. A variable missing from `vars` is left verbatim, or, when `strict`, makes the
/// call fail with `InvalidArgument` naming every missing variable in first-appearance order
/// (`missing template variables: movie, year`).
pub fn compile(template: &str, vars: &Map<String, Value>, strict: bool) -> Result<String> {
    let mut missing = Vec::new();
    let out = render(template, vars, &mut missing);
    if strict && !missing.is_empty() {
        return Err(Error::invalid_argument(missing_variables_message(&missing)));
    }
    Ok(out)
}

/// The variable names a template uses, in first-appearance order, without duplicates.
///
/// Only what [`compile`] would substitute counts: `{{ a }}` and `{{a}}` are both `a`, while
/// `{{ not a var! }}` or `{{}}` are text and are not listed.
pub fn variables(template: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    scan(template, |var| {
        if !names.iter().any(|n| n == var.name) {
            names.push(var.name.to_owned());
        }
    });
    names
}

/// The name of a `{"type": "placeholder", "name": N}` item: `Some(Some(N))`, `Some(None)` for a
/// placeholder without a string name, `None` for anything that is not a placeholder.
pub(crate) fn placeholder_name(item: &Value) -> Option<Option<&str>> {
    let obj = item.as_object()?;
    if obj.get("type").and_then(Value::as_str) != Some("placeholder") {
        return None;
    }
    Some(obj.get("name").and_then(Value::as_str))
}

/// `message` with its string `content` compiled; every other key kept untouched.
fn render_message(message: &Value, vars: &Map<String, Value>, missing: &mut Vec<String>) -> Value {
    let mut message = message.clone();
    if let Some(Value::String(content)) = message.get_mut("content") {
        *content = render(content, vars, missing);
    }
    message
}

/// Compiles a chat prompt: a list of messages `{role, content, ...}` and
/// `{type:"placeholder", name}` items.
///
/// - A message (any item that is not a placeholder) keeps all its keys (`role`, `type:
///   "chatmessage"`, `name`, tool-call fields, ...); only a string `content` is compiled with
///   `vars`, by the rules of [`compile`]. A non-string `content` (multimodal parts, `null`) and
///   items that are not objects are kept as they are.
/// - A placeholder is replaced by the messages in `placeholders[name]`, in order; an empty list
///   removes it. The value must be an array of objects, otherwise the call fails with
///   `InvalidArgument` (strict or not). The inserted messages keep all their keys and their
///   string contents are compiled with `vars` too, as both official Langfuse SDKs do (Python v3
///   and JS resolve placeholders first, then substitute variables in every message). Inserted
///   items are not expanded again (a placeholder inside a placeholder's list stays as is).
/// - A placeholder with no entry in `placeholders` (or without a string `name`) is left in place
///   untouched; in `strict` mode it is an `InvalidArgument` error naming it.
/// - `strict` also fails on a variable missing from `vars` in the prompt's own messages, i.e.
///   the names [`chat_variables`] lists. Variables in messages inserted through a placeholder
///   are substituted when known but never make the call fail: those messages are usually
///   conversation history whose text the prompt author does not control, and a user typing
///   `{{x}}` must not break the prompt.
///
/// The strict error message names everything missing, in first-appearance order:
/// `missing template variables: movie, year; missing placeholders: history`.
pub fn compile_chat(
    messages: &[Value],
    vars: &Map<String, Value>,
    placeholders: &Map<String, Value>,
    strict: bool,
) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(messages.len());
    let mut missing_vars = Vec::new();
    let mut missing_placeholders: Vec<String> = Vec::new();
    let mut unnamed_placeholder = false;
    // Variables missing from inserted messages are ignored (see above).
    let mut ignored = Vec::new();
    for item in messages {
        match placeholder_name(item) {
            None => out.push(render_message(item, vars, &mut missing_vars)),
            Some(None) => {
                unnamed_placeholder = true;
                out.push(item.clone());
            }
            Some(Some(name)) => match placeholders.get(name) {
                Some(Value::Array(inserted)) if inserted.iter().all(Value::is_object) => {
                    out.extend(inserted.iter().map(|m| render_message(m, vars, &mut ignored)));
                }
                Some(_) => {
                    return Err(Error::invalid_argument(format!(
                        "placeholder {name:?} must be an array of message objects"
                    )));
                }
                None => {
                    if !missing_placeholders.iter().any(|m| m == name) {
                        missing_placeholders.push(name.to_owned());
                    }
                    out.push(item.clone());
                }
            },
        }
    }
    if strict && (!missing_vars.is_empty() || !missing_placeholders.is_empty() || unnamed_placeholder) {
        let mut parts = Vec::new();
        if !missing_vars.is_empty() {
            parts.push(missing_variables_message(&missing_vars));
        }
        if !missing_placeholders.is_empty() {
            parts.push(format!("missing placeholders: {}", missing_placeholders.join(", ")));
        }
        if unnamed_placeholder {
            parts.push("placeholder without a string name".to_owned());
        }
        return Err(Error::invalid_argument(parts.join("; ")));
    }
    Ok(out)
}

/// Variables used across a chat prompt's message contents.
///
/// The names [`variables`] finds in each message's string `content`, in first-appearance order
/// across the messages, without duplicates. Placeholder items contribute nothing: their names
/// are not template variables.
pub fn chat_variables(messages: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in messages {
        if placeholder_name(item).is_some() {
            continue;
        }
        if let Some(content) = item.get("content").and_then(Value::as_str) {
            scan(content, |var| {
                if !names.iter().any(|n| n == var.name) {
                    names.push(var.name.to_owned());
                }
            });
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn substitutes_with_and_without_spaces() {
        let v = vars(json!({"a": "x", "b": 2}));
        assert_eq!(compile("{{a}}-{{ b }}-{{\ta\t}}", &v, true).unwrap(), "x-2-x");
    }

    #[test]
    fn missing_is_verbatim_or_strict_error() {
        let v = vars(json!({}));
        assert_eq!(compile("hi {{ who }}!", &v, false).unwrap(), "hi {{ who }}!");
        let err = compile("{{b}} {{a}} {{b}}", &v, true).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert_eq!(err.message, "missing template variables: b, a");
    }

    #[test]
    fn triple_braces_keep_outer_braces() {
        let v = vars(json!({"x": "v"}));
        assert_eq!(compile("{{{x}}}", &v, false).unwrap(), "{v}");
        assert_eq!(compile("{{{{x}}}}", &v, false).unwrap(), "{{v}}");
    }

    #[test]
    fn unicode_is_never_split() {
        let v = vars(json!({"prénom": "Zoë", "名前": "🦀"}));
        assert_eq!(compile("é{{prénom}}é{{ 名前 }}{{", &v, true).unwrap(), "éZoëé🦀{{");
        assert_eq!(variables("{{é}}{{🦀}}{{ 名前 }}"), vec!["é", "名前"]);
    }

    #[test]
    fn no_reexpansion() {
        let v = vars(json!({"a": "{{b}}", "b": "no"}));
        assert_eq!(compile("{{a}}", &v, true).unwrap(), "{{b}}");
    }

    #[test]
    fn long_runs_of_braces_stay_linear() {
        let t = "{".repeat(200_000) + &" ".repeat(200_000);
        assert_eq!(compile(&t, &Map::new(), false).unwrap(), t);
        let t = "{{ a".repeat(100_000);
        assert_eq!(variables(&t), Vec::<String>::new());
    }

    #[test]
    fn chat_placeholders() {
        let messages = vec![
            json!({"role": "system", "content": "be {{tone}}", "type": "chatmessage"}),
            json!({"type": "placeholder", "name": "history"}),
            json!({"type": "placeholder", "name": "later"}),
        ];
        let v = vars(json!({"tone": "kind"}));
        let p = vars(json!({"history": [{"role": "user", "content": "{{tone}}?"}]}));
        let out = compile_chat(&messages, &v, &p, false).unwrap();
        assert_eq!(
            out,
            vec![
                json!({"role": "system", "content": "be kind", "type": "chatmessage"}),
                json!({"role": "user", "content": "kind?"}),
                json!({"type": "placeholder", "name": "later"}),
            ]
        );
        let err = compile_chat(&messages, &v, &p, true).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert!(err.message.contains("later"), "{}", err.message);
        let bad = vars(json!({"history": "text"}));
        assert!(compile_chat(&messages, &v, &bad, false).is_err());
        assert_eq!(chat_variables(&messages), vec!["tone"]);
    }
}
