//! Codex and OpenCode sessions, and what every agent session keeps across restarts: the
//! CLI's own state in the worktree's volume, continued when the session, its workspace or
//! its container starts again, while its credential is written anew each time.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use craftastic_testkit::{docker_cli, sample_host_command_lines};
use serde_json::{Value, json};

use super::{id, place, screen, sh, state_dir, wait_for_screen};

/// Ends the session's tmux session and starts it again, as a user would from the UI.
async fn restart(p: &super::Place, session: &Value) {
    let path = format!("/api/sessions/{}", id(session));
    let (code, dead) = p
        .call("PATCH", &path, Some(json!({"status": "dead"})))
        .await;
    assert_eq!(code, 200, "{dead}");
    let (code, alive) = p
        .call("PATCH", &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!((code, &alive["status"]), (200, &json!("active")), "{alive}");
}

#[tokio::test]
async fn codex_and_opencode_get_their_credentials_without_argv_and_continue_their_conversations() {
    let p = place().await;
    let key = format!("sk-proj-canary{}", uuid::Uuid::new_v4().simple());
    let access = format!("chatgpt-canary{}", uuid::Uuid::new_v4().simple());
    let provider_key = format!("sk-ant-api03-canary{}", uuid::Uuid::new_v4().simple());
    let sign_in = json!({"tokens": {"access_token": access, "refresh_token": "r"}}).to_string();

    let (code, e) = p
        .call(
            "POST",
            "/api/agents",
            Some(json!({"name": "oc", "type": "opencode",
                        "credential": {"type": "api-key", "value": provider_key}})),
        )
        .await;
    assert_eq!(code, 422, "{e}");
    assert_eq!(
        e["details"]["fields"]["credential.value"],
        "an opencode api-key names its provider before the key, as provider:key, e.g. anthropic:sk-ant-… or openai:sk-…",
        "{e}"
    );
    assert!(!e.to_string().contains(&provider_key));

    let codex_keyed = p
        .agent(json!({"name": "codex-key", "type": "codex",
                      "credential": {"type": "api-key", "value": key}}))
        .await;
    let codex_signed_in = p
        .agent(json!({"name": "codex-chatgpt", "type": "codex",
                      "credential": {"type": "oauth", "value": sign_in}}))
        .await;
    let opencode = p
        .agent(json!({"name": "oc", "type": "opencode",
                      "credential": {"type": "api-key",
                                     "value": format!("anthropic:{provider_key}")}}))
        .await;

    let stop = Arc::new(AtomicBool::new(false));
    let host = sample_host_command_lines(stop.clone());
    let keyed = p.agent_session("codex-key", &codex_keyed).await;
    let signed_in = p.agent_session("codex-chatgpt", &codex_signed_in).await;
    let oc = p.agent_session("oc", &opencode).await;
    let container = p.container().await;
    for (session, cli) in [(&keyed, "codex"), (&signed_in, "codex"), (&oc, "opencode")] {
        wait_for_screen(&container, session, &format!("fake-{cli}: waiting")).await;
    }
    stop.store(true, Ordering::Relaxed);
    let host = host.join().unwrap();

    // Codex: the key in OPENAI_API_KEY; the ChatGPT sign-in as $CODEX_HOME/auth.json.
    let shown = screen(&container, &keyed);
    for line in [
        format!("fake-codex: OPENAI_API_KEY={key}"),
        "fake-codex: args=[]".into(),
        "fake-codex: earlier turns 0".into(),
        r#"fake-codex: config notify=["craftastic-hook","codex"]"#.into(),
    ] {
        assert!(shown.contains(&line), "no {line:?} in:\n{shown}");
    }
    assert!(!shown.contains("auth file"), "{shown}");
    let shown = screen(&container, &signed_in);
    let auth = format!("{}/codex/auth.json", state_dir(&signed_in));
    assert!(
        shown.contains("fake-codex: OPENAI_API_KEY=unset")
            && shown.contains(&format!("auth file {auth} mode 600 holds {sign_in}")),
        "{shown}"
    );

    // OpenCode: the key in its auth file under the provider the user named.
    let shown = screen(&container, &oc);
    let auth = format!("{}/opencode/opencode/auth.json", state_dir(&oc));
    let expected = json!({"anthropic": {"type": "api", "key": provider_key}}).to_string();
    assert!(
        shown.contains(&format!("auth file {auth} mode 600 holds {expected}"))
            && shown.contains("fake-opencode: ANTHROPIC_API_KEY=unset"),
        "{shown}"
    );
    assert_eq!(
        sh(
            &container,
            &format!(
                "stat -c '%a' /workspace/.craftastic-agents {}",
                state_dir(&oc)
            )
        ),
        "700\n700\n"
    );

    // In no process's command line, in the container or on the host.
    let inside = docker_cli(&["exec", &container, "ps", "-eo", "args="]);
    for line in inside.lines().chain(host.iter().map(String::as_str)) {
        for secret in [&key, &access, &provider_key] {
            assert!(
                !line.contains(secret.as_str()),
                "a command line holds a credential: {line}"
            );
        }
    }
    // git neither shows nor would commit the agents' state.
    assert_eq!(sh(&container, "git -C /workspace status --porcelain"), "");

    // Started again: each CLI gets its resume flag and finds its conversation; while the
    // session was dead its credential was not in the workspace.
    let path = format!("/api/sessions/{}", id(&signed_in));
    let (code, _) = p
        .call("PATCH", &path, Some(json!({"status": "dead"})))
        .await;
    assert_eq!(code, 200);
    let state = state_dir(&signed_in);
    assert_eq!(
        sh(
            &container,
            &format!("test -e {state}/codex/auth.json || ls {state}/codex")
        ),
        "sessions\n",
        "the conversation stays, the sign-in goes"
    );
    let (code, _) = p
        .call("PATCH", &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(code, 200);
    restart(&p, &oc).await;
    for (session, cli, flag) in [
        (&signed_in, "codex", "resume --last"),
        (&oc, "opencode", "--continue"),
    ] {
        let shown = wait_for_screen(&container, session, &format!("fake-{cli}: waiting")).await;
        assert!(
            shown.contains(&format!("fake-{cli}: args=[{flag}]"))
                && shown.contains(&format!("fake-{cli}: earlier turns 1"))
                && shown.contains("craftastic: continuing the last conversation"),
            "{shown}"
        );
    }
    let shown = screen(&container, &signed_in);
    assert!(shown.contains(&format!("holds {sign_in}")), "{shown}");

    // A recreated container: the worktree's volume keeps the conversation.
    docker_cli(&["rm", "-f", &container]);
    let (code, report) = p.call("POST", "/api/cleanup/sessions", None).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["missingWorkspaces"], 1, "{report}");
    let path = format!("/api/sessions/{}", id(&keyed));
    let (code, alive) = p
        .call("PATCH", &path, Some(json!({"status": "active"})))
        .await;
    assert_eq!(code, 200, "{alive}");
    let recreated = p.container().await;
    assert_ne!(recreated, container);
    let shown = wait_for_screen(&recreated, &keyed, "fake-codex: waiting").await;
    assert!(
        shown.contains("fake-codex: args=[resume --last]")
            && shown.contains("fake-codex: earlier turns 1")
            && shown.contains(&format!("fake-codex: OPENAI_API_KEY={key}")),
        "{shown}"
    );
    // The other sessions' credentials were cleared when the new container started, and
    // come back when they start.
    // `ls` of each folder alone: given several, it sorts them by name.
    for (folder, kept) in [
        (format!("{}/codex", state_dir(&signed_in)), "sessions\n"),
        (format!("{}/opencode/opencode", state_dir(&oc)), "storage\n"),
    ] {
        assert_eq!(sh(&recreated, &format!("ls {folder}")), kept, "{folder}");
    }

    // Deleting the agent, then starting its session again, removes its conversations.
    let (code, _) = p
        .call("DELETE", &format!("/api/agents/{opencode}"), None)
        .await;
    assert_eq!(code, 204);
    restart(&p, &oc).await;
    wait_for_screen(
        &recreated,
        &oc,
        "craftastic: the agent of this session was deleted",
    )
    .await;
    assert_eq!(
        sh(
            &recreated,
            &format!("test -e {} || echo gone", state_dir(&oc))
        ),
        "gone\n"
    );
}
