//! How an agent session starts its agent's CLI: where each CLI expects its credential,
//! keeps its state and continues its last conversation, and the folders Craftastic gives
//! it in the workspace.

use craftastic_domain::{AgentCredential, AgentName, AgentType, CredentialType, SessionId};

/// The folder of an agent session's private files, relative to the container user's home:
/// the env file the session's shell sources (an API key, and where the CLI keeps its
/// state). It lives in the container only: a container that starts clears them all.
pub fn session_dir(session: SessionId) -> String {
    format!(".craftastic/agents/{}", session.0)
}

/// Where agent sessions keep their CLI's own state (config, conversations), one folder per
/// session: in the worktree's volume, so that it survives a stopped workspace and a
/// recreated container, and out of git's sight (the folder holds a `.gitignore` of `*`).
pub const STATE_ROOT: &str = "/workspace/.craftastic-agents";

/// The state folder of one agent session (see [`STATE_ROOT`]).
pub fn state_dir(session: SessionId) -> String {
    format!("{STATE_ROOT}/{}", session.0)
}

/// Every credentials file a CLI reads from its state folder, relative to [`state_dir`].
/// They are Craftastic's to write: removed when the session ends or its container starts,
/// and written again from the agent's stored credential when the session starts.
pub const CREDENTIAL_FILES: [&str; 5] = [
    "claude/.credentials.json",
    "gemini/.gemini/oauth_creds.json",
    "qwen/oauth_creds.json",
    "codex/auth.json",
    "opencode/opencode/auth.json",
];

/// Which folder a [`PrivateFile`] goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// [`session_dir`], in the container only.
    Private,
    /// [`state_dir`], in the worktree's volume; only [`CREDENTIAL_FILES`] go there.
    State,
}

/// A file to write for the session before the CLI starts.
pub struct PrivateFile {
    pub place: Place,
    /// Relative to the folder of its `place`.
    pub path: &'static str,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for PrivateFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateFile")
            .field("place", &self.place)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How one agent session starts its CLI. Built only from the agent's type and credential:
/// the secret travels in [`PrivateFile`]s (written through an exec's standard input, mode
/// 0600), never in an argument list; what goes on command lines is in `command`,
/// `resume`, `history` and `notice`.
#[derive(Debug)]
pub struct LaunchPlan {
    /// The CLI's command, looked up on `PATH` in the container.
    pub command: &'static str,
    /// The agent type, for messages.
    pub kind: &'static str,
    /// A line the terminal shows before the CLI starts, when there is something to say.
    pub notice: String,
    /// `env` first (sourced by the shell that starts the CLI), then the CLI's own files.
    pub files: Vec<PrivateFile>,
    /// The CLI's own folder in [`state_dir`] (its config-folder variable points there),
    /// made before it starts; none for a CLI whose folder cannot be moved.
    pub state_folder: Option<&'static str>,
    /// The arguments that make the CLI continue its last conversation.
    pub resume: &'static str,
    /// Patterns, relative to [`state_dir`], of the files the CLI keeps a conversation in:
    /// `resume` is given only when one matches, so that a first start starts afresh.
    pub history: &'static [&'static str],
    /// An option and its value, given to the CLI before any other argument, that make its
    /// hooks call `craftastic-hook` (see "What sessions are doing" in the README); empty
    /// for a CLI whose hooks are set otherwise.
    pub hooks: (&'static str, String),
}

/// The name of the env file in the session's folder.
pub const ENV_FILE: &str = "env";

/// What Craftastic knows of one CLI.
struct Cli {
    command: &'static str,
    /// Where an API key goes.
    key_var: &'static str,
    /// The variable that moves the CLI's config folder, and that folder in the state folder.
    home: Option<(&'static str, &'static str)>,
    /// Where its credentials file is, in the state folder (one of [`CREDENTIAL_FILES`]).
    credentials: Option<&'static str>,
    resume: &'static str,
    history: &'static [&'static str],
}

/// The Claude Code events `craftastic-hook` knows (see its head), each calling it.
const CLAUDE_HOOK_EVENTS: [&str; 7] = [
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionStart",
    "SessionEnd",
];

/// Claude Code's `--settings` (added to the user's own settings): a hook on each event of
/// [`CLAUDE_HOOK_EVENTS`] that tells Craftastic, and does nothing in an image without
/// `craftastic-hook`.
fn claude_hooks() -> String {
    let hooks: serde_json::Map<String, serde_json::Value> = CLAUDE_HOOK_EVENTS
        .iter()
        .map(|event| {
            let command = format!(
                "command -v craftastic-hook >/dev/null 2>&1 && craftastic-hook claude {event} || true"
            );
            let group = serde_json::json!([{
                "matcher": "*",
                "hooks": [{"type": "command", "command": command, "timeout": 10}],
            }]);
            ((*event).to_owned(), group)
        })
        .collect();
    serde_json::json!({ "hooks": hooks }).to_string()
}

/// How each CLI is told to call `craftastic-hook`: Claude Code through `--settings`, Codex
/// through its `notify` program. Gemini CLI and Qwen Code read theirs from the system
/// defaults the image ships, and OpenCode from the plugin its managed config names (see
/// `sandbox/Dockerfile`), wherever they run; Cursor's CLI has none.
fn hook_args(agent_type: AgentType) -> (&'static str, String) {
    match agent_type {
        AgentType::ClaudeCode => ("--settings", claude_hooks()),
        AgentType::Codex => ("-c", r#"notify=["craftastic-hook","codex"]"#.to_owned()),
        _ => ("", String::new()),
    }
}

impl Cli {
    /// Each CLI as its documentation says:
    /// - claude-code (`claude`): an API key in `ANTHROPIC_API_KEY`, or a long-lived token
    ///   from `claude setup-token` (`sk-ant-oat…`) in `CLAUDE_CODE_OAUTH_TOKEN`; OAuth in
    ///   `$CLAUDE_CONFIG_DIR/.credentials.json`; conversations in
    ///   `$CLAUDE_CONFIG_DIR/projects/<folder>/<id>.jsonl`, continued with `--continue`.
    /// - gemini-cli (`gemini`): `GEMINI_API_KEY`; OAuth in
    ///   `$GEMINI_CLI_HOME/.gemini/oauth_creds.json`; conversations in
    ///   `.gemini/tmp/<project>/chats/`, continued with `--resume`.
    /// - qwen-coder (`qwen`): an OpenAI-compatible key in `OPENAI_API_KEY`; Qwen OAuth in
    ///   `$QWEN_HOME/oauth_creds.json`; conversations in `projects/<folder>/chats/`,
    ///   continued with `--continue`.
    /// - cursor-cli (`cursor-agent`): `CURSOR_API_KEY`; its folder cannot be moved.
    /// - codex (`codex`): `OPENAI_API_KEY`; a ChatGPT sign-in in `$CODEX_HOME/auth.json`;
    ///   conversations in `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`, continued
    ///   with `codex resume --last`.
    /// - opencode (`opencode`): keys and sign-ins per provider in
    ///   `$XDG_DATA_HOME/opencode/auth.json`; conversations in the same folder
    ///   (`storage/session/`, or `opencode.db` in newer versions), continued with
    ///   `--continue`.
    fn of(agent_type: AgentType) -> Self {
        match agent_type {
            AgentType::ClaudeCode => Self {
                command: "claude",
                key_var: "ANTHROPIC_API_KEY",
                home: Some(("CLAUDE_CONFIG_DIR", "claude")),
                credentials: Some(CREDENTIAL_FILES[0]),
                resume: "--continue",
                history: &["claude/projects/*/*.jsonl"],
            },
            AgentType::GeminiCli => Self {
                command: "gemini",
                key_var: "GEMINI_API_KEY",
                home: Some(("GEMINI_CLI_HOME", "gemini")),
                credentials: Some(CREDENTIAL_FILES[1]),
                resume: "--resume",
                history: &["gemini/.gemini/tmp/*/chats/*"],
            },
            AgentType::QwenCoder => Self {
                command: "qwen",
                key_var: "OPENAI_API_KEY",
                home: Some(("QWEN_HOME", "qwen")),
                credentials: Some(CREDENTIAL_FILES[2]),
                resume: "--continue",
                history: &["qwen/projects/*/chats/*", "qwen/tmp/*/chats/*"],
            },
            AgentType::CursorCli => Self {
                command: "cursor-agent",
                key_var: "CURSOR_API_KEY",
                home: None,
                credentials: None,
                resume: "",
                history: &[],
            },
            AgentType::Codex => Self {
                command: "codex",
                key_var: "OPENAI_API_KEY",
                home: Some(("CODEX_HOME", "codex")),
                credentials: Some(CREDENTIAL_FILES[3]),
                resume: "resume --last",
                history: &["codex/sessions/*/*/*/rollout-*"],
            },
            AgentType::OpenCode => Self {
                command: "opencode",
                key_var: "",
                home: Some(("XDG_DATA_HOME", "opencode")),
                credentials: Some(CREDENTIAL_FILES[4]),
                resume: "--continue",
                history: &[
                    "opencode/opencode/storage/session/*/*",
                    "opencode/opencode/opencode*.db",
                ],
            },
        }
    }
}

impl LaunchPlan {
    /// The plan of one session of an agent of `agent_type`. The config-folder variable
    /// points into the session's own state folder, so that sessions in one workspace never
    /// share or overwrite each other's files, and a session started again finds its own.
    pub fn new(
        session: SessionId,
        agent_type: AgentType,
        agent_name: &AgentName,
        credential: Option<&AgentCredential>,
    ) -> Self {
        let cli = Cli::of(agent_type);
        let command = cli.command;
        let mut env = String::from(
            "# Written by Craftastic for one agent session; removed with the session.\n",
        );
        if let Some((var, folder)) = cli.home {
            env.push_str(&format!(
                "export {var}={}\n",
                shell_quote(&format!("{}/{folder}", state_dir(session)))
            ));
        }
        let mut files = Vec::new();
        let mut notice = String::new();
        let credentials_file = |content: Vec<u8>| {
            cli.credentials.map(|path| PrivateFile {
                place: Place::State,
                path,
                content,
            })
        };
        match credential {
            None => {
                notice = format!(
                    "craftastic: the agent {agent_name} has no credential; {command} may ask you to log in. Add one to the agent and start this session again to skip that."
                );
            }
            Some(c) if c.kind() == CredentialType::ApiKey && agent_type == AgentType::OpenCode => {
                // Checked when the credential was stored; a value that no longer splits
                // starts the CLI without it rather than in the wrong provider's slot.
                if let Ok((provider, key)) = c.provider_key() {
                    let auth = serde_json::json!({ provider: { "type": "api", "key": key } });
                    files.extend(credentials_file(auth.to_string().into_bytes()));
                }
            }
            Some(c) if c.kind() == CredentialType::ApiKey => {
                let var = if agent_type == AgentType::ClaudeCode
                    && c.expose().starts_with("sk-ant-oat")
                {
                    "CLAUDE_CODE_OAUTH_TOKEN"
                } else {
                    cli.key_var
                };
                env.push_str(&format!("export {var}={}\n", shell_quote(c.expose())));
            }
            Some(c) => match credentials_file(c.expose().as_bytes().to_vec()) {
                Some(file) => files.push(file),
                None => {
                    notice = format!(
                        "craftastic: {} cannot use an oauth credential; {command} starts without one.",
                        agent_type.as_str()
                    );
                }
            },
        }
        files.insert(
            0,
            PrivateFile {
                place: Place::Private,
                path: ENV_FILE,
                content: env.into_bytes(),
            },
        );
        Self {
            command,
            kind: agent_type.as_str(),
            notice,
            files,
            state_folder: cli.home.map(|(_, folder)| folder),
            resume: cli.resume,
            history: cli.history,
            hooks: hook_args(agent_type),
        }
    }
}

/// `value` in single quotes for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(t: AgentType, c: Option<(CredentialType, &str)>) -> LaunchPlan {
        let credential = c.map(|(k, v)| AgentCredential::from_trusted(k, v.to_owned()));
        LaunchPlan::new(
            SessionId(uuid::Uuid::nil()),
            t,
            &AgentName::parse("a").unwrap(),
            credential.as_ref(),
        )
    }

    fn env_of(p: &LaunchPlan) -> String {
        assert_eq!(p.files[0].path, ENV_FILE);
        String::from_utf8(p.files[0].content.clone()).unwrap()
    }

    #[test]
    fn api_keys_go_to_each_clis_documented_variable() {
        for (t, var) in [
            (AgentType::ClaudeCode, "ANTHROPIC_API_KEY"),
            (AgentType::GeminiCli, "GEMINI_API_KEY"),
            (AgentType::QwenCoder, "OPENAI_API_KEY"),
            (AgentType::CursorCli, "CURSOR_API_KEY"),
            (AgentType::Codex, "OPENAI_API_KEY"),
        ] {
            let p = plan(t, Some((CredentialType::ApiKey, "k'1")));
            assert!(
                env_of(&p).contains(&format!("export {var}='k'\\''1'\n")),
                "{}",
                env_of(&p)
            );
            assert_eq!(p.files.len(), 1);
            assert!(!p.notice.contains("k'1") && !p.command.contains("k'1"));
        }
        let token = plan(
            AgentType::ClaudeCode,
            Some((CredentialType::ApiKey, "sk-ant-oat01-x")),
        );
        assert!(env_of(&token).contains("export CLAUDE_CODE_OAUTH_TOKEN='sk-ant-oat01-x'"));
    }

    #[test]
    fn an_opencode_key_goes_to_its_auth_file_under_its_provider() {
        let p = plan(
            AgentType::OpenCode,
            Some((CredentialType::ApiKey, "anthropic:sk-ant-1")),
        );
        assert_eq!(p.command, "opencode");
        assert!(!env_of(&p).contains("sk-ant-1"), "{}", env_of(&p));
        assert_eq!(p.files[1].place, Place::State);
        assert_eq!(p.files[1].path, "opencode/opencode/auth.json");
        let auth: serde_json::Value = serde_json::from_slice(&p.files[1].content).unwrap();
        assert_eq!(
            auth,
            serde_json::json!({"anthropic": {"type": "api", "key": "sk-ant-1"}})
        );
        assert!(env_of(&p).contains(
            "export XDG_DATA_HOME='/workspace/.craftastic-agents/00000000-0000-0000-0000-000000000000/opencode'\n"
        ));
    }

    #[test]
    fn oauth_documents_go_to_the_clis_file_in_the_sessions_own_state_folder() {
        let p = plan(AgentType::GeminiCli, Some((CredentialType::OAuth, "{}")));
        assert_eq!(p.command, "gemini");
        assert_eq!(p.files[0].place, Place::Private);
        assert_eq!(p.files[1].place, Place::State);
        assert_eq!(p.files[1].path, "gemini/.gemini/oauth_creds.json");
        assert_eq!(p.files[1].content, b"{}");
        assert!(!env_of(&p).contains("{}"));
        assert!(
            env_of(&p).contains(
                "export GEMINI_CLI_HOME='/workspace/.craftastic-agents/00000000-0000-0000-0000-000000000000/gemini'\n"
            ),
            "{}",
            env_of(&p)
        );
        let codex = plan(AgentType::Codex, Some((CredentialType::OAuth, "{}")));
        assert_eq!(codex.files[1].path, "codex/auth.json");
        assert!(env_of(&codex).contains("export CODEX_HOME='/workspace/.craftastic-agents/"));
        let none = plan(AgentType::QwenCoder, None);
        assert!(none.notice.contains("no credential"), "{}", none.notice);
        assert_eq!(none.files.len(), 1);
        let cursor = plan(AgentType::CursorCli, Some((CredentialType::OAuth, "{}")));
        assert!(cursor.notice.contains("cannot use an oauth credential"));
        assert_eq!((cursor.files.len(), cursor.state_folder), (1, None));
    }

    #[test]
    fn every_cli_with_a_state_folder_keeps_its_credentials_and_history_inside_it() {
        for t in AgentType::ALL {
            let p = plan(t, Some((CredentialType::OAuth, "{}")));
            let Some(folder) = p.state_folder else {
                assert!(p.resume.is_empty() && p.history.is_empty(), "{t}");
                continue;
            };
            assert!(!p.resume.is_empty(), "{t}");
            for path in p.history {
                assert!(path.starts_with(&format!("{folder}/")), "{t}: {path}");
            }
            let file = &p.files[1];
            assert!(CREDENTIAL_FILES.contains(&file.path), "{t}: {}", file.path);
            assert!(file.path.starts_with(&format!("{folder}/")), "{t}");
        }
    }
}
