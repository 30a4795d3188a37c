//! What an agent CLI's screen says about it, for the states its hooks miss: permission
//! dialogs, sign-in, trust, quota and error prompts, interrupts, and whether it works on a
//! turn. One rule set per CLI, tried in order; the first rule with a phrase on the screen
//! decides. The screen is the CLI's own output (hostile like all of it): a rule only reads
//! it, and a forged screen can only mislead its own session's state.
//!
//! The rules are tested against a corpus of screens (`tests/screens/`): those the real CLIs
//! render in the sandbox image without network (first start, trust, sign-in), and the
//! dialogs their documentation shows.

use craftastic_domain::ActivityState;

/// Dialogs and prompts are drawn at the bottom of the screen; phrases that scrolled above
/// this many non-blank lines are an earlier dialog, already answered.
const BOTTOM_LINES: usize = 24;

struct Rule {
    state: ActivityState,
    detail: &'static str,
    /// Any of these on one of the bottom lines.
    phrases: &'static [&'static str],
}

const fn rule(
    state: ActivityState,
    detail: &'static str,
    phrases: &'static [&'static str],
) -> Rule {
    Rule {
        state,
        detail,
        phrases,
    }
}

use ActivityState::{Idle, Permission, Waiting, Working};

const CLAUDE: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &[
            "Do you want to proceed?",
            "Do you want to make this edit",
            "Do you want to create ",
            "Do you want to allow",
            "Yes, and don't ask again",
            "No, and tell Claude what to do differently",
        ],
    ),
    rule(
        Waiting,
        "asks whether to trust this folder",
        &[
            "Do you trust the files in this folder?",
            "Yes, proceed",
            "Quick safety check",
        ],
    ),
    rule(
        Waiting,
        "needs a sign-in",
        &[
            "Select login method",
            "Invalid API key",
            "Missing API key",
            "Please run /login",
            "OAuth token has expired",
            "Paste code here if prompted",
        ],
    ),
    rule(
        Waiting,
        "cannot reach its API",
        &[
            "Unable to connect to Anthropic services",
            "Failed to connect to api.anthropic.com",
        ],
    ),
    rule(
        Waiting,
        "reached a usage limit",
        &[
            "usage limit reached",
            "limit reached",
            "Credit balance is too low",
        ],
    ),
    rule(Waiting, "stopped on an API error", &["API Error"]),
    rule(
        Idle,
        "interrupted",
        &["Interrupted by user", "What should Claude do instead?"],
    ),
    rule(Working, "", &["esc to interrupt"]),
];

/// Gemini CLI and Qwen Code (a fork of it) draw the same dialogs.
const GEMINI: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &[
            "Allow execution",
            "Apply this change?",
            "Allow once",
            "Allow for this session",
            "Do you want to proceed?",
        ],
    ),
    rule(
        Waiting,
        "asks whether to trust this folder",
        &[
            "Do you trust the files in this folder?",
            "Do you trust this folder?",
        ],
    ),
    rule(
        Waiting,
        "needs a sign-in",
        &[
            "How would you like to authenticate",
            "Waiting for auth",
            "Connect a Provider",
            "You must connect a provider",
        ],
    ),
    rule(
        Waiting,
        "reached a usage limit",
        &[
            "Quota exceeded",
            "RESOURCE_EXHAUSTED",
            "Rate limit exceeded",
        ],
    ),
    rule(Waiting, "stopped on an API error", &["[API Error"]),
    rule(Idle, "interrupted", &["Request cancelled"]),
    rule(Working, "", &["esc to cancel"]),
];

const CODEX: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &[
            "Would you like to run the following command?",
            "Would you like to make the following edits?",
            "Allow command?",
            "Approve this",
        ],
    ),
    rule(
        Waiting,
        "asks whether to trust this folder",
        &[
            "allow Codex to work in this folder",
            "Do you trust the contents of this directory?",
        ],
    ),
    rule(
        Waiting,
        "needs a sign-in",
        &["Sign in with ChatGPT", "Provide your own API key"],
    ),
    rule(
        Waiting,
        "reached a usage limit",
        &["You've hit your usage limit", "Rate limit reached"],
    ),
    rule(
        Waiting,
        "stopped on an API error",
        &["stream error", "exceeded retry limit"],
    ),
    rule(Idle, "interrupted", &["Conversation interrupted"]),
    rule(Working, "", &["esc to interrupt"]),
];

const OPENCODE: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &["Permission required", "Allow once", "Allow always"],
    ),
    rule(
        Waiting,
        "needs a sign-in",
        &["No provider", "opencode auth login"],
    ),
    rule(
        Waiting,
        "reached a usage limit",
        &["rate limit", "quota exceeded", "insufficient_quota"],
    ),
    rule(Waiting, "stopped on an API error", &["AI_APICallError"]),
    rule(Working, "", &["esc interrupt", "esc to interrupt"]),
];

const CURSOR: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &["Run this command?", "Run (once)", "Allow this"],
    ),
    rule(
        Waiting,
        "needs a sign-in",
        &[
            "Press any key to sign in",
            "cursor-agent login",
            "Not logged in",
        ],
    ),
    rule(
        Waiting,
        "reached a usage limit",
        &["usage limit", "rate limit"],
    ),
    rule(Working, "", &["ctrl+c to stop", "Generating"]),
];

/// Prompts any program may print, tried after a CLI's own rules.
const ANY: &[Rule] = &[
    rule(
        Permission,
        "asks to approve an action",
        &["Do you want to proceed?"],
    ),
    rule(
        Waiting,
        "asks a yes-or-no question",
        &["(y/n)", "[y/N]", "[Y/n]"],
    ),
];

fn rules_for(agent: &str) -> &'static [Rule] {
    match agent {
        "claude-code" => CLAUDE,
        "gemini-cli" | "qwen-coder" => GEMINI,
        "codex" => CODEX,
        "opencode" => OPENCODE,
        "cursor-cli" => CURSOR,
        _ => &[],
    }
}

/// The state the screen of a session of `agent` (an agent type's name) shows, with a
/// detail for the user, or `None` when no rule knows it.
pub fn classify(agent: &str, screen: &str) -> Option<(ActivityState, &'static str)> {
    let bottom: Vec<&str> = screen
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(BOTTOM_LINES)
        .collect();
    rules_for(agent)
        .iter()
        .chain(ANY)
        .find(|r| {
            r.phrases
                .iter()
                .any(|p| bottom.iter().any(|line| line.contains(p)))
        })
        .map(|r| (r.state, r.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bottom_of_the_screen_counts() {
        let mut screen = String::from("Do you want to proceed?\n");
        for i in 0..BOTTOM_LINES {
            screen.push_str(&format!("line {i}\n\n"));
        }
        assert_eq!(classify("claude-code", &screen), None);
        screen.push_str("Do you want to proceed?\n");
        assert_eq!(classify("claude-code", &screen).unwrap().0, Permission);
    }

    #[test]
    fn an_unknown_agent_gets_the_common_rules_only() {
        assert_eq!(classify("who", "esc to interrupt"), None);
        assert_eq!(classify("who", "Overwrite? (y/n)").unwrap().0, Waiting);
    }
}
