//! What a caller asks for. Keys are exact: `foo` never matches `foobar`.

use std::fmt;

/// Which variant of a named thing is wanted. Each source documents which qualifiers it accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Qualifier {
    /// The source's default (Langfuse: label `production`; Opik: env `prod`).
    Default,
    /// A Langfuse label.
    Label(String),
    /// A numbered version (Langfuse prompt version).
    Version(u64),
    /// An Opik environment.
    Env(String),
    /// An Opik blueprint version name (`v1`, `v2`, ...).
    Named(String),
    /// The newest version.
    Latest,
}

/// A cache key: a name plus a qualifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub name: String,
    pub qualifier: Qualifier,
}

impl Key {
    /// A plain key (HTTP and file sources).
    pub fn new(name: impl Into<String>) -> Self {
        Key { name: name.into(), qualifier: Qualifier::Default }
    }

    pub fn with(name: impl Into<String>, qualifier: Qualifier) -> Self {
        Key { name: name.into(), qualifier }
    }

    /// A stable text form, used in errors, logs, status and snapshot file names:
    /// `name`, `name@label:x`, `name@version:3`, `name@env:prod`, `name@name:v2`, `name@latest`.
    pub fn canonical(&self) -> String {
        self.to_string()
    }

    /// Parses the canonical form back (the CLI and the C ABI take keys as text).
    pub fn parse(text: &str) -> Key {
        if let Some((name, rest)) = text.rsplit_once('@') {
            let q = if rest == "latest" {
                Some(Qualifier::Latest)
            } else if let Some((tag, val)) = rest.split_once(':') {
                match tag {
                    "label" => Some(Qualifier::Label(val.to_string())),
                    "version" => val.parse().ok().map(Qualifier::Version),
                    "env" => Some(Qualifier::Env(val.to_string())),
                    "name" => Some(Qualifier::Named(val.to_string())),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(qualifier) = q {
                return Key { name: name.to_string(), qualifier };
            }
        }
        Key::new(text)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            Qualifier::Default => write!(f, "{}", self.name),
            Qualifier::Label(l) => write!(f, "{}@label:{}", self.name, l),
            Qualifier::Version(v) => write!(f, "{}@version:{}", self.name, v),
            Qualifier::Env(e) => write!(f, "{}@env:{}", self.name, e),
            Qualifier::Named(n) => write!(f, "{}@name:{}", self.name, n),
            Qualifier::Latest => write!(f, "{}@latest", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_round_trips() {
        for k in [
            Key::new("plain"),
            Key::new("with@at"),
            Key::with("p", Qualifier::Label("staging".into())),
            Key::with("folder/x", Qualifier::Version(3)),
            Key::with("proj", Qualifier::Env("prod".into())),
            Key::with("proj", Qualifier::Named("v2".into())),
            Key::with("proj", Qualifier::Latest),
        ] {
            assert_eq!(Key::parse(&k.canonical()), k);
        }
    }
}
