use super::*;

fn client(base: &str, token: &str) -> CoolifyClient {
    CoolifyClient::new(CoolifySettings::new(
        Url::parse(base).unwrap(),
        Secret::new(token.into()),
    ))
}

#[test]
fn endpoints_keep_a_prefix_and_accept_api_v1() {
    for (base, want) in [
        (
            "https://coolify.example.com",
            "https://coolify.example.com/api/v1/deployments/abc",
        ),
        (
            "https://coolify.example.com/",
            "https://coolify.example.com/api/v1/deployments/abc",
        ),
        (
            "https://coolify.example.com/api/v1",
            "https://coolify.example.com/api/v1/deployments/abc",
        ),
        (
            "http://127.0.0.1:8000/coolify/",
            "http://127.0.0.1:8000/coolify/api/v1/deployments/abc",
        ),
    ] {
        let url = client(base, "t").endpoint(&["deployments", "abc"]).unwrap();
        assert_eq!(url.as_str(), want, "{base}");
    }
    let url = client("https://c.example", "t")
        .endpoint(&["applications", "../x?y"])
        .unwrap();
    assert_eq!(
        url.as_str(),
        "https://c.example/api/v1/applications/..%2Fx%3Fy"
    );
}

#[test]
fn messages_come_from_coolify_without_the_token() {
    let c = client("https://c.example", "sekrit-token");
    assert_eq!(
        c.message_of(br#"{"message":"Unauthenticated."}"#),
        "Unauthenticated."
    );
    assert_eq!(
        c.message_of(
            br#"{"message":"Validation failed.","errors":{"git_branch":["The git branch field must be a string."]}}"#
        ),
        "Validation failed. (git_branch: The git branch field must be a string.)"
    );
    assert_eq!(
        c.message_of(br#"{"message":"token sekrit-token is bad"}"#),
        "token *** is bad"
    );
    assert!(
        c.message_of(b"<html>502</html>")
            .contains("COOLIFY_API_URL")
    );
    assert_eq!(c.message_of(b""), "no message");
    let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
    assert_eq!(c.message_of(long.as_bytes()).chars().count(), 201);
}

#[test]
fn bad_json_never_quotes_values() {
    let e = parse::<DeploymentInfo>(br#"{"status": 12345}"#, READ_DEPLOYMENT).unwrap_err();
    assert!(!e.to_string().contains("12345"), "{e}");
    let e = parse::<DeploymentInfo>(br#"{"commit": "abc"}"#, READ_DEPLOYMENT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Coolify's answer while reading the deployment is not the JSON Coolify documents: the field status is missing"
    );
    let info: DeploymentInfo = parse(
        br#"{"status":"queued","commit":null,"server_name":7}"#,
        READ_DEPLOYMENT,
    )
    .unwrap();
    assert_eq!((info.commit, info.server_name), (None, None));
}

#[test]
fn uuids() {
    assert!(is_coolify_uuid("ro04ok80o8oc4kkcco8kow8s"));
    assert!(is_coolify_uuid("Abc123"));
    for bad in ["", "a-b", "a/b", "a b", "ü", &"a".repeat(65)] {
        assert!(!is_coolify_uuid(bad), "{bad:?}");
    }
}

#[test]
fn secrets_do_not_print() {
    let settings = CoolifySettings::new(
        Url::parse("https://c.example").unwrap(),
        Secret::new("sekrit".into()),
    );
    assert!(!format!("{settings:?}").contains("sekrit"));
    assert!(!format!("{:?}", CoolifyClient::new(settings)).contains("sekrit"));
}
