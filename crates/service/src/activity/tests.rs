use super::*;

fn tracked() -> Tracked {
    Tracked {
        owner: UserId::new(),
        environment: EnvironmentId::new(),
        shown: None,
        candidate: None,
        pane: Pane::default(),
        hook_changed: None,
        screen: None,
        screen_changed: None,
    }
}

fn agent(command: &str, hook: Option<&str>) -> Pane {
    Pane {
        command: command.into(),
        agent: Some("claude-code".into()),
        hook: hook.map(str::to_owned),
        ..Pane::default()
    }
}

/// Observes `pane` (and `screen`, if any) at `now`, as a report would.
fn observe(t: &mut Tracked, pane: Pane, screen: Option<&str>, now: Instant) -> Option<Activity> {
    if t.pane.hook != pane.hook {
        t.hook_changed = pane.hook.is_some().then_some(now);
    }
    if let Some(screen) = screen {
        t.screen = rules::classify(pane.agent.as_deref().unwrap_or(""), screen);
        t.screen_changed = Some(now);
    }
    t.pane = pane;
    step(t, now)
}

fn state(a: Option<Activity>) -> Option<ActivityState> {
    a.map(|a| a.state)
}

#[tokio::test(start_paused = true)]
async fn a_hook_signal_is_shown_at_once_and_a_screen_guess_after_the_debounce() {
    let mut t = tracked();
    let now = Instant::now();
    let shown = observe(&mut t, agent("claude", Some("working 1.5")), None, now);
    assert_eq!(state(shown), Some(ActivityState::Working));
    // A permission dialog on the screen beats the hook, once it held.
    let dialog = "Do you want to proceed?\n❯ 1. Yes\n";
    let at = now + Duration::from_millis(200);
    assert_eq!(
        observe(
            &mut t,
            agent("claude", Some("working 1.5")),
            Some(dialog),
            at
        ),
        None
    );
    assert_eq!(step(&mut t, at + Duration::from_millis(500)), None);
    let shown = step(&mut t, at + DEBOUNCE).unwrap();
    assert_eq!(shown.state, ActivityState::Permission);
    assert_eq!(shown.detail.as_deref(), Some("asks to approve an action"));
    // The dialog answered: the hook says working again, and the screen no longer asks.
    let later = at + Duration::from_secs(5);
    let shown = observe(
        &mut t,
        agent("claude", Some("working 2.5")),
        Some("● Bash(ls)"),
        later,
    );
    assert_eq!(state(shown), Some(ActivityState::Working));
    // The Stop hook: idle at once, with no flicker from the screen that still changes.
    let stop = later + Duration::from_secs(1);
    let shown = observe(&mut t, agent("claude", Some("idle 3.5")), None, stop);
    assert_eq!(state(shown), Some(ActivityState::Idle));
}

#[tokio::test(start_paused = true)]
async fn a_flickering_guess_is_never_shown() {
    let mut t = tracked();
    let now = Instant::now();
    let mut at = now;
    observe(&mut t, agent("claude", None), Some("plain"), at);
    at += DEBOUNCE * 3;
    assert_eq!(step(&mut t, at), None);
    at += DEBOUNCE;
    assert_eq!(state(step(&mut t, at)), Some(ActivityState::Idle));
    // A dialog shows for less than the debounce at a time, between redraws.
    for i in 0..6 {
        at += Duration::from_millis(600);
        let screen = if i % 2 == 0 {
            "Do you want to proceed?"
        } else {
            "plain"
        };
        let shown = observe(&mut t, agent("claude", None), Some(screen), at);
        assert_eq!(shown, None, "flickered at {i}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_agent_whose_cli_ended_is_exited_at_once_with_the_launchers_detail() {
    let mut t = tracked();
    let now = Instant::now();
    let shown = observe(&mut t, agent("sh", Some("exited 9.1 status 1")), None, now).unwrap();
    assert_eq!(shown.state, ActivityState::Exited);
    assert_eq!(shown.detail.as_deref(), Some("status 1"));
}

#[tokio::test(start_paused = true)]
async fn a_terminal_works_while_a_command_runs_and_is_idle_at_its_prompt() {
    let mut t = tracked();
    let now = Instant::now();
    let pane = |command: &str, output_at: i64| Pane {
        command: command.into(),
        output_at: Some(output_at),
        ..Pane::default()
    };
    let long_ago = Utc::now().timestamp() - 60;
    observe(&mut t, pane("cargo", long_ago), None, now);
    let shown = step(&mut t, now + DEBOUNCE).unwrap();
    assert_eq!(
        (shown.state, shown.detail.as_deref()),
        (ActivityState::Working, Some("cargo"))
    );
    observe(&mut t, pane("bash", long_ago), None, now + DEBOUNCE * 2);
    assert_eq!(
        state(step(&mut t, now + DEBOUNCE * 4)),
        Some(ActivityState::Idle)
    );
    // Output at the prompt (a background job) is work too.
    observe(
        &mut t,
        pane("bash", Utc::now().timestamp()),
        None,
        now + DEBOUNCE * 5,
    );
    assert_eq!(
        state(step(&mut t, now + DEBOUNCE * 7)),
        Some(ActivityState::Working)
    );
    // The shell ended.
    let mut dead = pane("bash", long_ago);
    dead.dead = true;
    assert_eq!(
        state(observe(&mut t, dead, None, now + DEBOUNCE * 8)),
        Some(ActivityState::Exited)
    );
}

#[test]
fn hook_values_are_parsed_strictly_and_details_cleaned() {
    assert_eq!(
        parse_hook("working 1"),
        Some((ActivityState::Working, None))
    );
    assert_eq!(
        parse_hook("waiting 1 needs\u{1b}[31m you"),
        Some((ActivityState::Waiting, Some("needs [31m you".into())))
    );
    for bad in ["", "working", "busy 1", "unknown 1", "Working 1"] {
        assert_eq!(parse_hook(bad), None, "{bad:?}");
    }
    let long = format!("idle 1 {}", "x".repeat(10_000));
    assert_eq!(
        parse_hook(&long).unwrap().1.unwrap().chars().count(),
        MAX_DETAIL
    );
}
