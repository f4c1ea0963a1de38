//! A prompt in LangChain's template form, for Langfuse's `get_langchain_prompt()` /
//! `getLangchainPrompt()`: the one conversion every binding (Python, Node, C) calls.
//!
//! LangChain's default template format is Python's f-string syntax: `{name}` is a variable and
//! `{{` / `}}` stand for literal braces. failsoft's templates (SPEC §6, [`crate::template`]) use
//! `{{name}}`. The conversion makes LangChain format a prompt to exactly the text
//! [`template::compile`] would give for the same variables:
//!
//! - every `{{name}}` (inner spaces or tabs allowed, the variable syntax of [`crate::template`])
//!   whose variable is given to the call is filled in first, like Langfuse's keyword arguments;
//!   the others become LangChain variables `{name}`;
//! - every other `{` and `}` (JSON in the prompt, extra braces, text that is not a variable, and
//!   the braces inside filled-in values) is doubled, so LangChain prints it as written instead
//!   of reading it as a variable.
//!
//! Langfuse's own two SDKs differ here (Python accepts `{{ name }}`, JS only `{{name}}`; both
//! escape only the braces that look like JSON), so a prompt with `{` in prose, e.g. `use {a, b}`,
//! breaks in LangChain with theirs; doubling every brace that is not a variable cannot.
//!
//! # Chat prompts
//!
//! Messages become [`LangchainItem::Message`] `(role, content)` pairs with only the role and the
//! converted content (Langfuse's `type: "chatmessage"` and other keys are dropped, as Langfuse
//! does). A placeholder given in the call is expanded like [`template::compile_chat`]: its
//! messages are inserted, with the call's variables substituted; they are conversation history,
//! so everything else in them stays literal text (their braces are doubled too), and a user who
//! types `{{x}}` never makes LangChain demand a variable `x`. A placeholder not given becomes a
//! [`LangchainItem::Placeholder`] (LangChain's `MessagesPlaceholder`).
//!
//! # Names LangChain cannot hold
//!
//! LangChain refuses f-string variables with `.` or `[` (attribute access, indexing) and names
//! made only of digits (positional arguments). A variable or placeholder with such a name that
//! is not given in the call is `InvalidArgument` naming it: its value has to be filled in here.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::template::{placeholder_name, scan, value_text};

/// A prompt converted for LangChain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LangchainPrompt {
    /// A text prompt: the template for LangChain's `PromptTemplate.from_template`.
    Text(String),
    /// A chat prompt: the items for `ChatPromptTemplate.from_messages`.
    Chat(Vec<LangchainItem>),
}

/// One item of a converted chat prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LangchainItem {
    /// A message template: role and content in LangChain's f-string format.
    Message { role: String, content: String },
    /// A placeholder not given in the call: LangChain's `MessagesPlaceholder(variable_name=name)`.
    Placeholder { name: String },
}

impl LangchainItem {
    /// The JSON form Langfuse JS returns: `{"role", "content"}` for a message,
    /// `["placeholder", "{name}"]` for a placeholder (LangChain's shorthand for a
    /// `MessagesPlaceholder`). `ChatPromptTemplate.fromMessages` takes both.
    pub fn to_json(&self) -> Value {
        match self {
            LangchainItem::Message { role, content } => json!({"role": role, "content": content}),
            LangchainItem::Placeholder { name } => json!(["placeholder", format!("{{{name}}}")]),
        }
    }
}

impl LangchainPrompt {
    /// A JSON string (text) or an array of [`LangchainItem::to_json`] items (chat).
    pub fn to_json(&self) -> Value {
        match self {
            LangchainPrompt::Text(text) => Value::String(text.clone()),
            LangchainPrompt::Chat(items) => Value::Array(items.iter().map(LangchainItem::to_json).collect()),
        }
    }
}

/// What becomes of a variable the call does not give.
#[derive(Clone, Copy)]
enum Unfilled {
    /// A LangChain variable `{name}` (the prompt's own text).
    Variable,
    /// Literal text, printed as written (messages inserted through a placeholder).
    Literal,
}

/// Appends `text` with every `{` and `}` doubled: LangChain prints it as written.
fn push_escaped(out: &mut String, text: &str) {
    let mut copied = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'{' || b == b'}' {
            // Braces are ASCII, so `i` is a char boundary.
            out.push_str(&text[copied..=i]);
            out.push(b as char);
            copied = i + 1;
        }
    }
    out.push_str(&text[copied..]);
}

/// Why `name` cannot be a LangChain f-string variable, if it cannot.
fn unusable_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['.', '[', ']']) {
        Some("LangChain reads `.` and `[]` in a variable as attribute access and indexing")
    } else if name.contains(['{', '}', '!', ':']) {
        Some("LangChain reads `{`, `}`, `!` and `:` in a variable as format syntax")
    } else if name.chars().all(char::is_numeric) {
        Some("LangChain reads a name made of digits as a positional argument")
    } else {
        None
    }
}

fn check_name(what: &str, name: &str) -> Result<()> {
    match unusable_name(name) {
        None => Ok(()),
        Some(why) => Err(Error::invalid_argument(format!(
            "{what} {name:?} cannot be a LangChain variable ({why}): give its value in the call"
        ))),
    }
}

/// Converts one template, appending to `out`.
fn convert_into(
    out: &mut String,
    template: &str,
    vars: &Map<String, Value>,
    unfilled: Unfilled,
) -> Result<()> {
    let mut copied = 0;
    let mut bad = None;
    scan(template, |var| {
        push_escaped(out, &template[copied..var.start]);
        copied = var.end;
        match (vars.get(var.name), unfilled) {
            (Some(value), _) => {
                let mut text = String::new();
                value_text(value, &mut text);
                push_escaped(out, &text);
            }
            (None, Unfilled::Variable) => {
                if bad.is_none() && unusable_name(var.name).is_some() {
                    bad = Some(var.name);
                }
                out.push('{');
                out.push_str(var.name);
                out.push('}');
            }
            (None, Unfilled::Literal) => push_escaped(out, &template[var.start..var.end]),
        }
    });
    if let Some(name) = bad {
        check_name("variable", name)?;
    }
    push_escaped(out, &template[copied..]);
    Ok(())
}

fn convert(template: &str, vars: &Map<String, Value>, unfilled: Unfilled) -> Result<String> {
    let mut out = String::with_capacity(template.len() + template.len() / 8);
    convert_into(&mut out, template, vars, unfilled)?;
    Ok(out)
}

/// A text template in LangChain's format (see the [module documentation](self)): the variables
/// in `vars` filled in, the others `{name}`, every other brace doubled.
pub fn text(template: &str, vars: &Map<String, Value>) -> Result<String> {
    convert(template, vars, Unfilled::Variable)
}

/// The role and string content of a message, or an error saying what `what` lacks.
fn role_and_content<'a>(message: &'a Value, what: &dyn Fn() -> String) -> Result<(&'a str, &'a str)> {
    let role = message.get("role").and_then(Value::as_str);
    let content = message.get("content").and_then(Value::as_str);
    match (role, content) {
        (Some(role), Some(content)) => Ok((role, content)),
        _ => Err(Error::invalid_argument(format!(
            "{}: LangChain needs a string `role` and a string `content`",
            what()
        ))),
    }
}

/// A chat prompt in LangChain's form (see the [module documentation](self)).
///
/// `messages` are the prompt's items (messages and `{"type": "placeholder", "name"}` items);
/// `placeholders` maps a placeholder's name to the messages that replace it (an empty list
/// removes it). Errors (`InvalidArgument`): an item that is not a message with a string role
/// and content, a placeholder without a name or given something other than a list of such
/// messages, and a variable or placeholder LangChain cannot hold that the call does not give.
pub fn chat(
    messages: &[Value],
    vars: &Map<String, Value>,
    placeholders: &Map<String, Value>,
) -> Result<Vec<LangchainItem>> {
    let mut out = Vec::with_capacity(messages.len());
    for (i, item) in messages.iter().enumerate() {
        match placeholder_name(item) {
            None => {
                let (role, content) = role_and_content(item, &|| format!("message {i}"))?;
                let content = convert(content, vars, Unfilled::Variable)?;
                out.push(LangchainItem::Message { role: role.to_owned(), content });
            }
            Some(None) => {
                return Err(Error::invalid_argument(format!("placeholder {i} has no string `name`")));
            }
            Some(Some(name)) => match placeholders.get(name) {
                Some(Value::Array(inserted)) => {
                    for (j, message) in inserted.iter().enumerate() {
                        let what = || format!("message {j} of placeholder {name:?}");
                        let (role, content) = role_and_content(message, &what)?;
                        let content = convert(content, vars, Unfilled::Literal)?;
                        out.push(LangchainItem::Message { role: role.to_owned(), content });
                    }
                }
                Some(_) => {
                    return Err(Error::invalid_argument(format!(
                        "placeholder {name:?} must be an array of message objects"
                    )));
                }
                None => {
                    check_name("placeholder", name)?;
                    out.push(LangchainItem::Placeholder { name: name.to_owned() });
                }
            },
        }
    }
    Ok(out)
}

/// Converts a prompt's `prompt` field: a string (text) or an array of items (chat).
/// Placeholders given for a text prompt are `InvalidArgument`.
pub fn prompt(
    prompt: &Value,
    vars: &Map<String, Value>,
    placeholders: &Map<String, Value>,
) -> Result<LangchainPrompt> {
    match prompt {
        Value::String(t) if placeholders.is_empty() => text(t, vars).map(LangchainPrompt::Text),
        Value::String(_) => Err(Error::invalid_argument("a text prompt has no placeholders")),
        Value::Array(items) => chat(items, vars, placeholders).map(LangchainPrompt::Chat),
        _ => Err(Error::invalid_argument("a prompt is a string (text) or an array of messages (chat)")),
    }
}

/// Splits one map of call arguments the way Langfuse Python's `get_langchain_prompt(**kwargs)`
/// reads them: an entry named after one of the prompt's placeholders fills that placeholder,
/// every other entry is a variable. Returns `(variables, placeholders)`.
pub fn split_arguments(
    prompt: &Value,
    arguments: &Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let names: Vec<&str> = match prompt {
        Value::Array(items) => items.iter().filter_map(|i| placeholder_name(i).flatten()).collect(),
        _ => Vec::new(),
    };
    let mut vars = Map::new();
    let mut placeholders = Map::new();
    for (k, v) in arguments {
        let to = if names.contains(&k.as_str()) { &mut placeholders } else { &mut vars };
        to.insert(k.clone(), v.clone());
    }
    (vars, placeholders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn variables_become_single_braces_and_other_braces_double() {
        let out = text(r#"Reply {"a": [{{ x }}], "b": {}} {{y}}"#, &Map::new()).unwrap();
        assert_eq!(out, r#"Reply {{"a": [{x}], "b": {{}}}} {y}"#);
    }

    #[test]
    fn given_variables_are_filled_and_their_braces_escaped() {
        let vars = map(json!({"x": {"k": 1}, "y": "{{z}}", "n": null}));
        assert_eq!(text("{{x}} {{ y }} [{{n}}] {{z}}", &vars).unwrap(), r#"{{"k":1}} {{{{z}}}} [] {z}"#);
    }

    #[test]
    fn text_that_is_not_a_variable_is_literal() {
        assert_eq!(text("{{ not a var! }} {{{x}}}", &Map::new()).unwrap(), "{{{{ not a var! }}}} {{{x}}}");
        assert_eq!(text("é{{prénom}}🦀{", &Map::new()).unwrap(), "é{prénom}🦀{{");
    }

    #[test]
    fn names_langchain_cannot_hold_must_be_given() {
        for t in ["{{user.name}}", "{{42}}"] {
            let err = text(t, &Map::new()).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument);
            assert!(err.message.contains(&t[2..t.len() - 2]), "{}", err.message);
        }
        assert_eq!(text("{{user.name}}", &map(json!({"user.name": "Ann"}))).unwrap(), "Ann");
        assert_eq!(text("{{user-id}} {{1a}}", &Map::new()).unwrap(), "{user-id} {1a}");
    }

    #[test]
    fn chat_expands_given_placeholders_literally_and_keeps_the_others() {
        let messages = vec![
            json!({"type": "chatmessage", "role": "system", "content": "Be {{tone}} {json}"}),
            json!({"type": "placeholder", "name": "history"}),
            json!({"type": "placeholder", "name": "later"}),
        ];
        let vars = map(json!({"tone": "kind"}));
        let ph = map(json!({"history": [{"role": "user", "content": "{{tone}} {{x}} {"}]}));
        assert_eq!(
            chat(&messages, &vars, &ph).unwrap(),
            vec![
                LangchainItem::Message { role: "system".into(), content: "Be kind {{json}}".into() },
                LangchainItem::Message { role: "user".into(), content: "kind {{{{x}}}} {{".into() },
                LangchainItem::Placeholder { name: "later".into() },
            ]
        );
        let json = LangchainPrompt::Chat(chat(&messages, &vars, &Map::new()).unwrap()).to_json();
        assert_eq!(json[1], json!(["placeholder", "{history}"]));
    }

    #[test]
    fn bad_chat_items_are_named() {
        let cases = [
            (vec![json!({"role": "user", "content": [{"type": "text"}]})], Map::new(), "message 0"),
            (vec![json!({"type": "placeholder"})], Map::new(), "placeholder 0"),
            (vec![json!({"type": "placeholder", "name": "h"})], map(json!({"h": "x"})), "\"h\""),
            (
                vec![json!({"type": "placeholder", "name": "h"})],
                map(json!({"h": [{"role": "user"}]})),
                "message 0 of placeholder \"h\"",
            ),
            (vec![json!({"type": "placeholder", "name": "a.b"})], Map::new(), "\"a.b\""),
        ];
        for (messages, ph, needle) in cases {
            let err = chat(&messages, &Map::new(), &ph).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument);
            assert!(err.message.contains(needle), "{} lacks {needle}", err.message);
        }
    }

    #[test]
    fn arguments_named_after_placeholders_fill_them() {
        let prompt = json!([{"role": "user", "content": "{{q}}"}, {"type": "placeholder", "name": "h"}]);
        let (vars, ph) = split_arguments(&prompt, &map(json!({"q": "x", "h": []})));
        assert_eq!((vars, ph), (map(json!({"q": "x"})), map(json!({"h": []}))));
        let (vars, ph) = split_arguments(&json!("{{h}}"), &map(json!({"h": "x"})));
        assert_eq!((vars, ph), (map(json!({"h": "x"})), Map::new()));
    }
}
