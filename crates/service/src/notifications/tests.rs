use chrono::{DateTime, Duration as Span};

use super::*;

fn activity(state: ActivityState, since: DateTime<Utc>, detail: Option<&str>) -> Activity {
    Activity {
        state,
        since,
        detail: detail.map(str::to_owned),
    }
}

fn transition(previous: Option<Activity>, now: Activity) -> Transition {
    Transition {
        session: SessionId::new(),
        environment: EnvironmentId::new(),
        owner: UserId::new(),
        previous,
        now,
    }
}

#[test]
fn only_what_needs_the_user_is_worth_telling() {
    use ActivityState::*;
    let t0 = Utc::now();
    let worked = |for_: i64| {
        transition(
            Some(activity(Working, t0, None)),
            activity(Idle, t0 + Span::seconds(for_), None),
        )
    };
    assert!(worth_telling(&transition(None, activity(Permission, t0, None))).is_some());
    assert!(worth_telling(&transition(None, activity(Waiting, t0, None))).is_some());
    assert!(worth_telling(&worked(45)).is_some());
    assert!(worth_telling(&worked(5)).is_none(), "a short turn");
    assert!(worth_telling(&transition(None, activity(Idle, t0, None))).is_none());
    assert!(worth_telling(&transition(None, activity(Working, t0, None))).is_none());
    assert!(worth_telling(&transition(None, activity(Exited, t0, Some("status 2")))).is_some());
    assert!(worth_telling(&transition(None, activity(Exited, t0, Some("status 0")))).is_none());
    assert!(worth_telling(&transition(None, activity(Exited, t0, None))).is_none());
}

#[test]
fn webhooks_never_go_to_local_addresses() {
    for local in [
        "127.0.0.1",
        "::1",
        "169.254.169.254",
        "0.0.0.0",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ] {
        assert!(!allowed(local.parse().unwrap()), "{local}");
    }
    for remote in ["10.0.0.5", "192.168.1.2", "93.184.216.34", "2001:db8::1"] {
        assert!(allowed(remote.parse().unwrap()), "{remote}");
    }
}

#[tokio::test]
async fn a_webhook_on_a_local_address_is_refused_without_sending() {
    let url = WebhookUrl::parse("http://127.0.0.1:9/hook?token=secret").unwrap();
    let notice = Notice {
        session_id: SessionId::new(),
        environment_id: EnvironmentId::new(),
        state: "waiting",
        title: "t".into(),
        text: "t".into(),
        detail: None,
    };
    let why = post(&url, &notice, false).await.unwrap_err();
    assert!(why.contains("NOTIFY_LOCAL_WEBHOOKS"), "{why}");
    let why = post(&url, &notice, true).await.unwrap_err();
    assert!(!why.contains("secret"), "the URL leaked into: {why}");
}
