//! An environment's variables: plain values and secrets that every new session of the
//! environment (terminal or agent) finds in its shell's environment.

use std::collections::HashMap;
use std::fmt;

use crate::ValidationError;

/// A POSIX environment variable name (`[A-Za-z_][A-Za-z0-9_]*`), at most 128 characters,
/// that is none of the names the sandbox sets itself or that change how every program of
/// the session runs (see [`VariableName::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariableName(String);

/// Names the sandbox's shells and tmux set, or that Craftastic sets for restricted
/// environments: a value of the user's would break the session or the egress policy.
const SET_BY_THE_SANDBOX: [&str; 18] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "HOSTNAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

/// Names that change how every shell of the session reads its commands.
const SHELL_BEHAVIOUR: [&str; 5] = ["IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS"];

impl VariableName {
    pub const MAX_CHARS: usize = 128;

    /// Parses one name; the error is a sentence naming it (the caller adds where it stood).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("name is required".into());
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "name must be at most {} characters",
                Self::MAX_CHARS
            ));
        }
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!(
                "{name:?} is not a variable name: use letters, digits and '_', not starting with a digit (e.g. DATABASE_URL)"
            ));
        }
        if SET_BY_THE_SANDBOX.contains(&name) {
            return Err(format!(
                "{name} is set by the workspace itself and cannot be changed here"
            ));
        }
        if SHELL_BEHAVIOUR.contains(&name) {
            return Err(format!(
                "{name} changes how every shell of the session reads its commands and cannot be set here"
            ));
        }
        for (prefix, why) in [
            (
                "LD_",
                "changes how every program of the workspace is loaded",
            ),
            ("TMUX", "belongs to tmux, which runs the session"),
            ("CRAFTASTIC_", "belongs to Craftastic"),
        ] {
            if name.starts_with(prefix) {
                return Err(format!(
                    "{name} cannot be set here: a name starting with {prefix} {why}"
                ));
            }
        }
        Ok(Self(name.to_owned()))
    }

    /// For values read back from storage, which were validated when written.
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VariableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of a variable: text without NUL bytes (a process's environment cannot hold
/// them), at most 32 KiB. `Debug` never shows it, since it may be a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct VariableValue(String);

impl VariableValue {
    /// Enough for a PEM key or a JSON credentials file, and far below what one string of a
    /// process's environment may be (128 KiB).
    pub const MAX_BYTES: usize = 32 << 10;

    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.contains('\0') {
            return Err("value must not contain NUL bytes".into());
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(format!(
                "value must be at most {} KiB",
                Self::MAX_BYTES >> 10
            ));
        }
        Ok(Self(raw))
    }

    /// For values read back from storage (or opened), which were validated when written.
    pub fn from_trusted(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for VariableValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VariableValue(…)")
    }
}

/// What a client says of one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableInput {
    Plain(VariableValue),
    /// A secret: sealed at rest and never answered. `None` keeps the value stored under
    /// that name.
    Secret(Option<VariableValue>),
}

/// One entry of a set of variables as a client sent it, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct VariableEntry {
    pub name: String,
    pub value: Option<String>,
    pub secret: bool,
}

/// A whole set of variables, checked: at most [`VariableSet::MAX_COUNT`], each name once, in
/// the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariableSet(Vec<(VariableName, VariableInput)>);

impl VariableSet {
    /// More than a project's settings need; a session's shell starts with all of them.
    pub const MAX_COUNT: usize = 100;
    /// Names and values together (kept secrets included): every program the session
    /// starts carries them, and a process's environment and arguments share about 2 MiB.
    pub const MAX_TOTAL_BYTES: usize = 64 << 10;

    /// Checks every entry and names each bad one by its place (`variables[2].name: …`), so
    /// that a form can show them all. A plain variable needs its value; a secret without
    /// one keeps the stored value.
    pub fn parse(entries: Vec<VariableEntry>) -> Result<Self, Vec<ValidationError>> {
        if entries.len() > Self::MAX_COUNT {
            return Err(vec![ValidationError::new(
                "variables",
                format!(
                    "variables: at most {} variables, not {}",
                    Self::MAX_COUNT,
                    entries.len()
                ),
            )]);
        }
        let mut errors = Vec::new();
        let mut parsed = Vec::with_capacity(entries.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut total = 0;
        for (i, entry) in entries.into_iter().enumerate() {
            let at = |field: &str, why: String| {
                let field = format!("variables[{i}].{field}");
                ValidationError::new(field.clone(), format!("{field}: {why}"))
            };
            let name = match VariableName::parse(&entry.name) {
                Ok(name) => match seen.insert(name.as_str().to_owned(), i) {
                    Some(first) => {
                        errors.push(at(
                            "name",
                            format!("{name} is given twice (also variables[{first}])"),
                        ));
                        None
                    }
                    None => Some(name),
                },
                Err(why) => {
                    errors.push(at("name", why));
                    None
                }
            };
            let value = match entry.value.map(VariableValue::parse).transpose() {
                Ok(value) => value,
                Err(why) => {
                    errors.push(at("value", why));
                    continue;
                }
            };
            let input = match (entry.secret, value) {
                (false, None) => {
                    errors.push(at(
                        "value",
                        "value is required (it may be empty); only a secret may leave it out to keep the stored one".into(),
                    ));
                    continue;
                }
                (false, Some(value)) => VariableInput::Plain(value),
                (true, value) => VariableInput::Secret(value),
            };
            if let Some(name) = name {
                total += name.as_str().len() + input_len(&input);
                parsed.push((name, input));
            }
        }
        if errors.is_empty() && total > Self::MAX_TOTAL_BYTES {
            errors.push(Self::too_large(total));
        }
        if errors.is_empty() {
            Ok(Self(parsed))
        } else {
            Err(errors)
        }
    }

    pub fn entries(&self) -> &[(VariableName, VariableInput)] {
        &self.0
    }

    pub fn into_entries(self) -> Vec<(VariableName, VariableInput)> {
        self.0
    }

    /// The error of a set of variables whose names and values hold `total` bytes.
    pub fn too_large(total: usize) -> ValidationError {
        ValidationError::new(
            "variables",
            format!(
                "variables: names and values together must be at most {} KiB, not {:.1} KiB",
                Self::MAX_TOTAL_BYTES >> 10,
                total as f64 / 1024.0
            ),
        )
    }
}

fn input_len(input: &VariableInput) -> usize {
    match input {
        VariableInput::Plain(v) | VariableInput::Secret(Some(v)) => v.len(),
        VariableInput::Secret(None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, value: Option<&str>, secret: bool) -> VariableEntry {
        VariableEntry {
            name: name.into(),
            value: value.map(Into::into),
            secret,
        }
    }

    #[test]
    fn posix_names_are_taken_and_the_sandboxs_own_refused_with_a_reason() {
        for good in [
            "DATABASE_URL",
            "_x",
            "a1",
            "Path",
            "GIT_AUTHOR_NAME",
            " FOO ",
        ] {
            assert!(VariableName::parse(good).is_ok(), "{good}");
        }
        assert_eq!(VariableName::parse(" FOO ").unwrap().as_str(), "FOO");
        for (bad, says) in [
            ("", "required"),
            ("1X", "not a variable name"),
            ("A-B", "not a variable name"),
            ("A B", "not a variable name"),
            ("É", "not a variable name"),
            ("PATH", "set by the workspace"),
            ("HOME", "set by the workspace"),
            ("TERM", "set by the workspace"),
            ("https_proxy", "set by the workspace"),
            ("BASH_ENV", "how every shell"),
            ("LD_PRELOAD", "starting with LD_"),
            ("TMUX_PANE", "starting with TMUX"),
            ("CRAFTASTIC_SESSION", "starting with CRAFTASTIC_"),
        ] {
            let e = VariableName::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(VariableName::parse(&"A".repeat(129)).is_err());
        assert!(VariableName::parse(&"A".repeat(128)).is_ok());
    }

    #[test]
    fn values_are_bounded_and_free_of_nul_and_never_printed() {
        assert!(VariableValue::parse(String::new()).is_ok());
        assert!(VariableValue::parse("a\nb 'c' $(d)".into()).is_ok());
        assert!(
            VariableValue::parse("a\0b".into())
                .unwrap_err()
                .contains("NUL")
        );
        assert!(VariableValue::parse("x".repeat(32 << 10)).is_ok());
        assert!(VariableValue::parse("x".repeat((32 << 10) + 1)).is_err());
        let v = VariableValue::parse("hunter2".into()).unwrap();
        assert_eq!(format!("{v:?}"), "VariableValue(…)");
        let input = VariableInput::Secret(Some(v));
        assert!(!format!("{input:?}").contains("hunter2"));
    }

    #[test]
    fn a_set_names_each_bad_entry_by_its_place() {
        let e = VariableSet::parse(vec![
            entry("GOOD", Some("1"), false),
            entry("PATH", Some("/x"), false),
            entry("GOOD", Some("2"), false),
            entry("NUL", Some("a\0"), true),
            entry("PLAIN", None, false),
            entry("KEPT", None, true),
        ])
        .unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_ref()).collect();
        assert_eq!(
            fields,
            [
                "variables[1].name",
                "variables[2].name",
                "variables[3].value",
                "variables[4].value"
            ]
        );
        assert!(
            e[0].message
                .starts_with("variables[1].name: PATH is set by")
        );
        assert_eq!(
            e[1].message,
            "variables[2].name: GOOD is given twice (also variables[0])"
        );
        assert!(e[2].message.contains("NUL"));
        assert!(e[3].message.contains("value is required"));

        let ok = VariableSet::parse(vec![
            entry("A", Some(""), false),
            entry("B", None, true),
            entry("C", Some("s"), true),
        ])
        .unwrap();
        assert_eq!(
            ok.entries()
                .iter()
                .map(|(n, i)| (n.as_str(), i.clone()))
                .collect::<Vec<_>>(),
            [
                (
                    "A",
                    VariableInput::Plain(VariableValue::from_trusted("".into()))
                ),
                ("B", VariableInput::Secret(None)),
                (
                    "C",
                    VariableInput::Secret(Some(VariableValue::from_trusted("s".into())))
                ),
            ]
        );
    }

    #[test]
    fn a_set_is_bounded_in_count_and_bytes() {
        let many: Vec<_> = (0..=VariableSet::MAX_COUNT)
            .map(|i| entry(&format!("V{i}"), Some("x"), false))
            .collect();
        let e = VariableSet::parse(many).unwrap_err();
        assert_eq!(e[0].field, "variables");
        assert!(e[0].message.contains("at most 100"), "{}", e[0].message);
        let big: Vec<_> = (0..3)
            .map(|i| entry(&format!("V{i}"), Some(&"x".repeat(30 << 10)), false))
            .collect();
        let e = VariableSet::parse(big).unwrap_err();
        assert_eq!(e[0].field, "variables");
        assert!(e[0].message.contains("at most 64 KiB"), "{}", e[0].message);
    }
}
