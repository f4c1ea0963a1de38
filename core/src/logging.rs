//! The one log bridge every door installs (SPEC §4: secrets never appear in logs).
//!
//! The core and the crates under it (ureq, rustls) log through the `log` crate. A door (CLI,
//! C, Node, Python) hands [`install`] its sink — any [`log::Log`] — and the bridge decides, in
//! one place for every language:
//!
//! - **which records leave the library**: failsoft's own targets at any level; third-party
//!   crates at most at `warn`, so the HTTP stack's debug/trace chatter (connection details,
//!   header and wire dumps) never reaches a sink however verbose the host asks for;
//! - **what they say**: every message is passed through [`redact`] before the sink formats it:
//!   `Authorization`/`Proxy-Authorization` values, `sk-…`/`pk-lf-…`/`sk-lf-…`-style keys, the
//!   password of a URL, and every secret configured on a client ([`register_secret`], called by
//!   the sources and LLM targets when they are built), in plain, base64 and hex form.
//!
//! Error messages go through [`redact`] too (`Error::new`), so `status()` and every binding's
//! error text are held to the same rule.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::borrow::Cow;
use std::sync::RwLock;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Shorter configured "secrets" (test placeholders, empty strings) protect nothing and would
/// blot out ordinary words of every message.
const MIN_SECRET_LEN: usize = 6;

/// A `sk-`/`pk-` token needs at least this many key characters after the prefix to count as a
/// key (`sk-1` in prose is not one; real keys have 20 or more).
const MIN_KEY_TAIL: usize = 8;

/// Every configured secret and its encoded forms, longest first so a longer form is replaced
/// before a shorter one inside it. Only grows: a process has a handful of credentials.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Remembers `secret` (an API key, a password, a header value) so that it, its base64 and its
/// hex form are redacted from every log record and error message from now on. Values shorter
/// than 6 characters are ignored.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let forms = [
        secret.to_owned(),
        crate::sources::langfuse::base64(secret.as_bytes()),
        hex(secret.as_bytes(), false),
        hex(secret.as_bytes(), true),
    ];
    let mut all = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if all.iter().any(|s| s == secret) {
        return;
    }
    all.extend(forms);
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all.dedup();
}

/// Registers the password of `url` (`scheme://user:password@host/…`), if it has one.
pub fn register_url_password(url: &str) {
    if let Some(range) = url_password(url, 0) {
        register_secret(&url[range]);
    }
}

/// Registers a header's value when its name says it carries a credential (`Authorization`,
/// `X-Api-Key`, `Cookie`, …): both the whole value and its token after a scheme word (`Bearer`).
pub fn register_header(name: &str, value: &str) {
    let name = name.to_ascii_lowercase();
    if ["auth", "key", "token", "secret", "cookie", "password"].iter().any(|w| name.contains(w)) {
        register_secret(value);
        if let Some((_, token)) = value.trim().split_once(' ') {
            register_secret(token);
        }
    }
}

/// `text` with every credential replaced by `<redacted>`; borrowed when there is none.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), REDACTED));
            }
        }
    }
    for pass in [redact_authorization, redact_keys, redact_url_passwords] {
        if let Cow::Owned(changed) = pass(&out) {
            out = Cow::Owned(changed);
        }
    }
    out
}

/// [`redact`] for an owned string: the same string back when there was nothing to redact.
pub fn redact_owned(text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => clean,
    }
}

/// `Authorization: <value>` (also `Proxy-Authorization`, `authorization=…`, `("authorization",
/// "…")`): the value up to the end of the line or its closing quote.
fn redact_authorization(text: &str) -> Cow<'_, str> {
    const NAME: &[u8] = b"authorization";
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + NAME.len() <= bytes.len() {
        if !bytes[i..i + NAME.len()].eq_ignore_ascii_case(NAME) {
            i += 1;
            continue;
        }
        let mut j = i + NAME.len();
        let mut separated = false;
        while j < bytes.len() && j < i + NAME.len() + 4 && b"\"' :=,\t".contains(&bytes[j]) {
            separated |= matches!(bytes[j], b':' | b'=' | b',');
            j += 1;
        }
        let end = bytes[j..]
            .iter()
            .position(|b| matches!(b, b'"' | b'\'' | b'\r' | b'\n' | b'}' | b')' | b']'))
            .map_or(bytes.len(), |p| j + p);
        if separated && end > j {
            out.push_str(&text[copied..j]);
            out.push_str(REDACTED);
            copied = end;
        }
        i = end.max(i + 1);
    }
    finish(text, out, copied)
}

/// `sk-…`, `pk-…`, `sk-lf-…`, `pk-lf-…`, `sk-proj-…`: the key shapes of OpenAI-compatible vendors
/// and Langfuse, when they start a token (so `task-12345678` is left alone).
fn redact_keys(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let key_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + 3 <= bytes.len() {
        let prefix = &bytes[i..i + 3];
        let starts_token = i == 0 || !key_char(bytes[i - 1]);
        if starts_token && (prefix.eq_ignore_ascii_case(b"sk-") || prefix.eq_ignore_ascii_case(b"pk-")) {
            let tail = bytes[i + 3..].iter().take_while(|&&b| key_char(b)).count();
            if tail >= MIN_KEY_TAIL {
                out.push_str(&text[copied..i]);
                out.push_str(REDACTED);
                copied = i + 3 + tail;
                i = copied;
                continue;
            }
        }
        i += 1;
    }
    finish(text, out, copied)
}

/// `scheme://user:password@host` → `scheme://user:<redacted>@host`, wherever a URL appears.
fn redact_url_passwords(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        match url_password(text, start) {
            Some(range) => {
                out.push_str(&text[copied..range.start]);
                out.push_str(REDACTED);
                copied = range.end;
                from = range.end;
            }
            None => from = start,
        }
    }
    finish(text, out, copied)
}

/// The byte range of the password in the URL authority at or after `from` (just past `://`
/// when called from the scanner; anywhere when `from` is 0 and the text is one URL).
fn url_password(text: &str, from: usize) -> Option<std::ops::Range<usize>> {
    let start = if from == 0 { text.find("://")? + 3 } else { from };
    let rest = &text[start..];
    let len = rest
        .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || "\"'<>".contains(c))
        .unwrap_or(rest.len());
    let authority = &rest[..len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    (colon + 1 < at).then(|| start + colon + 1..start + at)
}

fn finish(text: &str, mut out: String, copied: usize) -> Cow<'_, str> {
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn hex(bytes: &[u8], upper: bool) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = if upper { write!(s, "{b:02X}") } else { write!(s, "{b:02x}") };
        s
    })
}

/// Whether a record of `target` at `level` may leave the library (before the sink's own filter).
pub fn allowed(target: &str, level: Level) -> bool {
    is_ours(target) || level <= Level::Warn
}

/// failsoft's own targets: the core (`failsoft::…`), the C library (also `failsoft::…`), the
/// Node addon (`failsoft_node::…`), the CLI (`failsoft::…`) and the Python module (`_native::…`).
fn is_ours(target: &str) -> bool {
    let crate_name = target.split("::").next().unwrap_or(target);
    crate_name == "failsoft" || crate_name.starts_with("failsoft_") || crate_name == "_native"
}

/// The bridge: filters and redacts, then hands the record to the door's sink.
struct Bridge {
    sink: Box<dyn Log>,
}

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
            && allowed(metadata.target(), metadata.level())
            && self.sink.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = match record.args().as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(record.args().to_string()),
        };
        let clean = redact(&text);
        self.sink.log(
            &Record::builder()
                .metadata(record.metadata().clone())
                .args(format_args!("{clean}"))
                .module_path(record.module_path())
                .file(record.file())
                .line(record.line())
                .build(),
        );
    }

    fn flush(&self) {
        self.sink.flush();
    }
}

/// Installs `sink` behind the bridge as this process's `log` logger, at `max_level`. Fails when
/// a logger is already installed (by the host, or an earlier call): the `log` crate allows one.
pub fn install(sink: Box<dyn Log>, max_level: LevelFilter) -> Result<(), log::SetLoggerError> {
    // Leaked once per process (the `log` crate keeps a `&'static` logger); a second call fails
    // before allocating.
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = None;
    INSTALLED.call_once(|| result = Some(log::set_logger(Box::leak(Box::new(Bridge { sink })))));
    result.unwrap_or_else(|| log::set_logger(&NoLogger))?;
    log::set_max_level(max_level);
    Ok(())
}

/// Stands in for a sink on a second [`install`], only to get `log`'s "already set" error.
struct NoLogger;

impl Log for NoLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn log(&self, _: &Record<'_>) {}
    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_redacted_in_every_shape() {
        for (text, kept) in [
            ("Authorization: Bearer abc.def-ghi", "Authorization: "),
            ("proxy-authorization: Basic dXNlcjpwYXNz\r\nHost: x", "proxy-authorization: "),
            (r#"headers: [("authorization", "Bearer tok123")]"#, r#"headers: [("authorization", ""#),
            (r#"{"Authorization":"Basic dXNlcjpwYXNz"}"#, r#"{"Authorization":""#),
            ("authorization=opaque-token-value", "authorization="),
        ] {
            let out = redact(text);
            assert!(out.starts_with(kept) && out.contains(REDACTED), "{text:?} -> {out:?}");
            for secret in ["abc.def-ghi", "dXNlcjpwYXNz", "tok123", "opaque-token-value"] {
                assert!(!out.contains(secret), "{text:?} -> {out:?}");
            }
        }
        assert_eq!(
            redact("Host: x\r\nAuthorization: Bearer t0k3n\r\nAccept: */*"),
            "Host: x\r\nAuthorization: <redacted>\r\nAccept: */*"
        );
    }

    #[test]
    fn authorization_in_prose_is_left_alone() {
        for text in ["authorization failed", "the request was unauthorized (401)", "no authorization"] {
            assert_eq!(redact(text), text);
            assert!(matches!(redact(text), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn vendor_key_shapes_are_redacted_where_a_token_starts() {
        assert_eq!(redact("key sk-proj-AbC123_xyz-9876 rejected"), "key <redacted> rejected");
        assert_eq!(redact("pk-lf-1234abcd-5678:sk-lf-abcdef12-3456"), "<redacted>:<redacted>");
        // The ASCII column of a hex dump: the key follows a '.'.
        assert_eq!(redact("|..r.sk-FBSECRET0123|"), "|..r.<redacted>|");
        for text in ["task-12345678901", "disk-abcdefghijk", "sk-1 is short", "pk-lf-x"] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn url_passwords_are_redacted_and_the_rest_of_the_url_kept() {
        assert_eq!(
            redact("GET https://bob:hunter2@api.example:8443/v1?x=1 failed"),
            "GET https://bob:<redacted>@api.example:8443/v1?x=1 failed"
        );
        assert_eq!(redact("redis://:p4ss@127.0.0.1:6379/0"), "redis://:<redacted>@127.0.0.1:6379/0");
        for text in ["http://127.0.0.1:8080/kv/a", "https://bob@host/x", "mailto:x@y", "a://b"] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn registered_secrets_are_redacted_in_plain_base64_and_hex() {
        let secret = "opik-K3y-registered-in-test";
        register_secret(secret);
        register_secret("short"); // ignored: too short to protect anything
        let b64 = crate::sources::langfuse::base64(secret.as_bytes());
        let hex_lower = hex(secret.as_bytes(), false);
        let text = format!("a {secret} b {b64} c {hex_lower} d {} short", hex_lower.to_uppercase());
        assert_eq!(redact(&text), "a <redacted> b <redacted> c <redacted> d <redacted> short");
    }

    #[test]
    fn header_values_are_registered_only_for_credential_headers() {
        register_header("X-Api-Key", "custom-header-key-0001");
        register_header("Authorization", "Token bearer-value-0002");
        register_header("Accept", "application/json");
        assert_eq!(redact("custom-header-key-0001 bearer-value-0002"), "<redacted> <redacted>");
        assert_eq!(redact("application/json"), "application/json");
        register_url_password("http://u:url-pass-0003@h/x");
        assert_eq!(redact("pw url-pass-0003"), "pw <redacted>");
    }

    #[test]
    fn third_party_records_pass_only_at_warn_or_above() {
        for ours in ["failsoft", "failsoft::llm::client", "failsoft_node::logger", "_native::logging"] {
            assert!(allowed(ours, Level::Trace), "{ours}");
        }
        for theirs in ["ureq::unversioned::transport::tcp", "ureq_proto::client", "rustls::conn"] {
            assert!(!allowed(theirs, Level::Trace) && !allowed(theirs, Level::Debug), "{theirs}");
            assert!(allowed(theirs, Level::Warn), "{theirs}");
        }
        assert!(!allowed("failsoftish", Level::Debug));
    }
}
