//! An environment's variables: plain values and secrets that every new session of the
//! environment finds in its shell's environment. They are replaced as a whole by the
//! environment's owner (or an admin); secrets are sealed like every other credential, bound
//! to their environment and name, and never answered. A session gets them through a file
//! written through an exec's standard input (see `sessions::tmux`), never an argument list,
//! and each session keeps the version it started with, so that the sessions still running
//! with older values can be told.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use craftastic_domain::{
    EnvironmentId, SessionId, ValidationError, VariableInput, VariableName, VariableSet,
};
use craftastic_store::{EnvironmentVariables, Store, StoreError, StoredValue, StoredVariable};
use serde_json::json;

use crate::crypto::Cipher;
use crate::tokens::Principal;
use crate::{ServiceError, ServiceResult, access};

/// One variable as answered: a secret shows that it is set, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableView {
    pub name: VariableName,
    /// `None` for a secret.
    pub value: Option<String>,
    pub secret: bool,
}

/// An environment's variables as answered.
#[derive(Debug, Clone)]
pub struct VariablesView {
    /// Grows with every change of them.
    pub version: i64,
    pub variables: Vec<VariableView>,
    /// The sessions that run with another version: starting them again gives them these.
    pub outdated_sessions: Vec<SessionId>,
}

/// What a new session of an environment gets: the version it starts with and, when the
/// environment has variables, the file its shell sources (see [`env_file`]).
pub(crate) struct SessionVariables {
    pub version: i64,
    pub file: Option<Vec<u8>>,
}

impl std::fmt::Debug for SessionVariables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionVariables")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Variables {
    store: Arc<dyn Store>,
    cipher: Cipher,
}

impl Variables {
    pub fn new(store: Arc<dyn Store>, cipher: Cipher) -> Self {
        Self { store, cipher }
    }

    /// The environment's variables, secrets without their values, and the sessions that run
    /// with older ones.
    /// Fails: no such environment, or another user's → 404.
    pub async fn get(&self, who: Principal, id: EnvironmentId) -> ServiceResult<VariablesView> {
        let env = access::environment(self.store.as_ref(), who, id).await?;
        let stored = self.stored(env.id).await?;
        self.view(env.id, stored).await
    }

    /// Replaces the environment's variables with `variables`. A secret given without a
    /// value keeps the value stored under its name (a plain one is sealed from now on).
    /// When anything changed, the version grows, and the sessions running now are told as
    /// outdated; new sessions, and sessions started again, get the new values. Audited with
    /// the names only.
    /// Fails: no such environment, or another user's → 404; being deleted → 409
    /// `not_ready`; a secret without a value and none stored under its name, or names and
    /// values over [`VariableSet::MAX_TOTAL_BYTES`] with the kept secrets → 422 naming it.
    pub async fn set(
        &self,
        who: Principal,
        id: EnvironmentId,
        variables: VariableSet,
    ) -> ServiceResult<VariablesView> {
        let env = access::changeable_environment(self.store.as_ref(), who, id).await?;
        let before = self.stored(env.id).await?;
        let old: HashMap<&str, &StoredValue> = before
            .variables
            .iter()
            .map(|v| (v.name.as_str(), &v.value))
            .collect();
        let mut next = Vec::with_capacity(variables.entries().len());
        let mut errors = Vec::new();
        let mut total = 0;
        for (i, (name, input)) in variables.entries().iter().enumerate() {
            let value = match input {
                VariableInput::Plain(value) => {
                    total += value.len();
                    StoredValue::Plain(value.expose().to_owned())
                }
                VariableInput::Secret(Some(value)) => {
                    total += value.len();
                    match old.get(name.as_str()) {
                        // The same value again keeps its sealed text: nothing changed.
                        Some(StoredValue::Sealed(sealed))
                            if self.open(env.id, name, sealed)? == value.expose() =>
                        {
                            StoredValue::Sealed(sealed.clone())
                        }
                        _ => StoredValue::Sealed(self.seal(env.id, name, value.expose())),
                    }
                }
                VariableInput::Secret(None) => match old.get(name.as_str()) {
                    Some(StoredValue::Sealed(sealed)) => {
                        total += self.open(env.id, name, sealed)?.len();
                        StoredValue::Sealed(sealed.clone())
                    }
                    Some(StoredValue::Plain(plain)) => {
                        total += plain.len();
                        StoredValue::Sealed(self.seal(env.id, name, plain))
                    }
                    None => {
                        let field = format!("variables[{i}].value");
                        errors.push(ValidationError::new(
                            field.clone(),
                            format!("{field}: {name} is a new secret; give its value"),
                        ));
                        continue;
                    }
                },
            };
            total += name.as_str().len();
            next.push(StoredVariable {
                name: name.clone(),
                value,
            });
        }
        if errors.is_empty() && total > VariableSet::MAX_TOTAL_BYTES {
            errors.push(VariableSet::too_large(total));
        }
        if !errors.is_empty() {
            return Err(ServiceError::InvalidFields(errors));
        }
        if next == before.variables {
            return self.view(env.id, before).await;
        }
        let after = self
            .store
            .set_environment_variables(env.id, &next, Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::NotFound("environment"),
                other => other.into(),
            })?;
        let names = |vars: &[StoredVariable]| -> Vec<String> {
            vars.iter().map(|v| v.name.to_string()).collect()
        };
        let (old_names, new_names) = (names(&before.variables), names(&after.variables));
        let changed: Vec<&str> = after
            .variables
            .iter()
            .filter(|v| {
                old.get(v.name.as_str())
                    .is_some_and(|value| **value != v.value)
            })
            .map(|v| v.name.as_str())
            .collect();
        crate::audit::record(
            self.store.as_ref(),
            Some(who.user_id),
            "environments.variables",
            Some(env.id.to_string()),
            "ok",
            json!({
                "names": new_names,
                "secrets": after.variables.iter()
                    .filter(|v| matches!(v.value, StoredValue::Sealed(_)))
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>(),
                "added": new_names.iter().filter(|n| !old_names.contains(n)).collect::<Vec<_>>(),
                "removed": old_names.iter().filter(|n| !new_names.contains(n)).collect::<Vec<_>>(),
                "changed": changed,
                "version": after.version,
            }),
        )
        .await;
        self.view(env.id, after).await
    }

    /// What a new session of the environment gets (see [`SessionVariables`]).
    /// Fails: the environment is gone → 404; a stored secret does not open → 500.
    pub(crate) async fn for_session(&self, id: EnvironmentId) -> ServiceResult<SessionVariables> {
        let stored = self.stored(id).await?;
        let mut values = Vec::with_capacity(stored.variables.len());
        for variable in &stored.variables {
            let value = match &variable.value {
                StoredValue::Plain(plain) => plain.clone(),
                StoredValue::Sealed(sealed) => self.open(id, &variable.name, sealed)?,
            };
            values.push((variable.name.clone(), value));
        }
        Ok(SessionVariables {
            version: stored.version,
            file: (!values.is_empty()).then(|| env_file(&values)),
        })
    }

    async fn stored(&self, id: EnvironmentId) -> ServiceResult<EnvironmentVariables> {
        self.store
            .get_environment_variables(id)
            .await?
            .ok_or(ServiceError::NotFound("environment"))
    }

    async fn view(
        &self,
        id: EnvironmentId,
        stored: EnvironmentVariables,
    ) -> ServiceResult<VariablesView> {
        let outdated_sessions = self
            .store
            .list_sessions(Some(id))
            .await?
            .into_iter()
            .filter(|s| s.variables_outdated)
            .map(|s| s.id)
            .collect();
        Ok(VariablesView {
            version: stored.version,
            variables: stored
                .variables
                .into_iter()
                .map(|v| match v.value {
                    StoredValue::Plain(value) => VariableView {
                        name: v.name,
                        value: Some(value),
                        secret: false,
                    },
                    StoredValue::Sealed(_) => VariableView {
                        name: v.name,
                        value: None,
                        secret: true,
                    },
                })
                .collect(),
            outdated_sessions,
        })
    }

    fn seal(&self, env: EnvironmentId, name: &VariableName, value: &str) -> String {
        self.cipher
            .seal(value.as_bytes(), &secret_context(env, name))
    }

    fn open(&self, env: EnvironmentId, name: &VariableName, sealed: &str) -> ServiceResult<String> {
        let plain = self
            .cipher
            .open(sealed, &secret_context(env, name))
            .map_err(|e| {
                ServiceError::Internal(format!("the secret variable {name} does not open: {e}"))
            })?;
        String::from_utf8(plain)
            .map_err(|_| ServiceError::Internal(format!("the secret variable {name} is not text")))
    }
}

/// Where a secret variable lives; binds the ciphertext to its environment and name, so
/// that a sealed value copied to another row does not open.
pub fn secret_context(env: EnvironmentId, name: &VariableName) -> String {
    format!("environment_variables.sealed_value:{env}:{name}")
}

/// The file a session's shell sources: one `export NAME='value'` line per variable. Each
/// value is single-quoted (a `'` in it written `'\''`), so the shell reads every byte of
/// it as it is, newlines, `$` and backslashes included; names are POSIX names, checked at
/// the edge.
pub(crate) fn env_file(variables: &[(VariableName, String)]) -> Vec<u8> {
    let mut file = String::new();
    for (name, value) in variables {
        file.push_str("export ");
        file.push_str(name.as_str());
        file.push_str("='");
        file.push_str(&value.replace('\'', r"'\''"));
        file.push_str("'\n");
    }
    file.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_file_gives_the_shell_every_value_as_it_is() {
        let values = [
            ("PLAIN", "hello world"),
            ("QUOTES", r#"it's "quoted" \ and \' too"#),
            ("EXPANSIONS", "$HOME $(touch /tmp/pwned) `id` ${X:-y} !!"),
            ("LINES", "one\ntwo\n\nthree\n"),
            ("EMPTY", ""),
            ("UNICODE", "héllo ✓"),
        ];
        let variables: Vec<(VariableName, String)> = values
            .iter()
            .map(|(n, v)| (VariableName::parse(n).unwrap(), (*v).to_owned()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, env_file(&variables)).unwrap();
        for (name, value) in values {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(". \"$1\" && printf %s \"${name}\""))
                .arg("sh")
                .arg(&file)
                .env_clear()
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value, "{name}");
        }
        assert!(!std::path::Path::new("/tmp/pwned").exists());
    }
}
