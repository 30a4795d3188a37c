use super::*;
use reqwest::header::HeaderValue;

#[test]
fn link_header_next() {
    let mut h = HeaderMap::new();
    assert!(!has_next(&h));
    h.insert(
        LINK,
        HeaderValue::from_static(
            r#"<https://api.github.com/user/repos?page=3>; rel="next", <https://api.github.com/user/repos?page=5>; rel="last""#,
        ),
    );
    assert!(has_next(&h));
    h.insert(
        LINK,
        HeaderValue::from_static(
            r#"<https://api.github.com/user/repos?page=1>; rel="prev", <https://api.github.com/user/repos?page=1>; rel="first""#,
        ),
    );
    assert!(!has_next(&h));
}

#[test]
fn urls_keep_their_prefix() {
    let base = Url::parse("http://127.0.0.1:9/api/v3").unwrap();
    assert_eq!(join(&base, "/user"), "http://127.0.0.1:9/api/v3/user");
    let base = Url::parse("https://api.github.com").unwrap();
    assert_eq!(join(&base, "/user"), "https://api.github.com/user");
}

#[test]
fn bad_json_never_quotes_values() {
    let Err(e) = parse::<TokenBody>(br#"{"access_token": 12345}"#, TOKEN) else {
        panic!("a number is not a token");
    };
    assert!(!e.to_string().contains("12345"), "{e}");
    let e = parse::<GithubUser>(br#"{"id": 1}"#, USER).unwrap_err();
    assert_eq!(
        e.to_string(),
        "GitHub's answer while reading the GitHub account is not the JSON GitHub documents: the field login is missing"
    );
    let e = parse::<GithubUser>(b"<html>", USER).unwrap_err();
    assert!(e.to_string().ends_with("it is not JSON"), "{e}");
}

#[test]
fn secrets_do_not_print() {
    let s = Secret::new("gho_abc".into());
    assert_eq!(format!("{s:?}"), "Secret(***)");
    let poll = TokenPoll::Token(s);
    assert!(!format!("{poll:?}").contains("gho_abc"));
}
