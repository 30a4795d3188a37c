//! The devcontainer.json reader against good, odd and hostile files.

use super::*;
use serde_json::json;

fn parse(value: Value) -> Result<Config, ConfigError> {
    Config::parse(LOCATIONS[0], value.to_string().as_bytes())
}

fn fields(config: &Config) -> Vec<&str> {
    config
        .unsupported
        .iter()
        .map(|u| u.field.as_str())
        .collect()
}

#[test]
fn a_full_file_is_read_with_paths_from_the_repository_root() {
    let text = r#"{
        // a comment
        "name": "app",
        "build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": "1"}},
        "containerEnv": {"GREETING": "hi", "PATH": "/x:${containerEnv:PATH}"},
        "remoteEnv": {"EDITOR": "vi"},
        "remoteUser": "vscode",
        "postCreateCommand": "echo made >> /tmp/x",
        "postStartCommand": ["echo", "started"],
        "forwardPorts": [3000, "db:5432", 3000],
        "features": {"ghcr.io/devcontainers/features/node:1": {}},
        "privileged": true,
    }"#;
    let c = Config::parse(LOCATIONS[0], text.as_bytes()).unwrap();
    assert_eq!(c.name.as_deref(), Some("app"));
    assert_eq!(
        c.source,
        Source::Dockerfile {
            dockerfile: ".devcontainer/Dockerfile".into(),
            context: "".into(),
            args: BTreeMap::from([("V".into(), "1".into())]),
            target: None,
        }
    );
    assert_eq!(c.container_env[0], ("GREETING".into(), "hi".into()));
    assert_eq!(c.remote_user.as_deref(), Some("vscode"));
    assert_eq!(
        c.post_start_command,
        Some(Lifecycle::Exec {
            args: vec!["echo".into(), "started".into()]
        })
    );
    assert_eq!(
        c.forward_ports,
        vec![
            Port {
                port: 3000,
                host: None
            },
            Port {
                port: 5432,
                host: Some("db".into())
            }
        ]
    );
    assert_eq!(fields(&c), ["features", "privileged"]);
    assert!(c.unsupported[1].reason.starts_with("refused"));

    let root = Config::parse(
        LOCATIONS[1],
        br#"{"build": {"dockerfile": "ci/Dockerfile"}}"#,
    )
    .unwrap();
    let Source::Dockerfile {
        dockerfile,
        context,
        ..
    } = root.source
    else {
        panic!()
    };
    assert_eq!(
        (dockerfile.as_str(), context.as_str()),
        ("ci/Dockerfile", "")
    );
}

#[test]
fn the_object_form_of_a_command_runs_each_named_one() {
    let c =
        parse(json!({"image": "debian", "postCreateCommand": {"a": "make", "b": ["npm", "ci"]}}))
            .unwrap();
    let Some(Lifecycle::Parallel { commands }) = c.post_create_command else {
        panic!()
    };
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[1].0, "b");
    let err = parse(json!({"image": "d", "postCreateCommand": {"a": {"b": "c"}}})).unwrap_err();
    assert!(
        err.reason.contains("postCreateCommand.a must be a string"),
        "{err}"
    );
}

#[test]
fn root_reserved_variables_and_the_proxy_are_reported_not_applied() {
    let c = parse(json!({
        "image": "debian",
        "remoteUser": "root",
        "containerEnv": {"HOME": "/root", "CRAFTASTIC_BRANCH": "x", "HTTP_PROXY": "http://p", "OK": "1"},
    }))
    .unwrap();
    assert_eq!(c.remote_user, None);
    assert_eq!(c.container_env, vec![("OK".into(), "1".into())]);
    assert_eq!(
        fields(&c),
        [
            "containerEnv.CRAFTASTIC_BRANCH",
            "containerEnv.HOME",
            "containerEnv.HTTP_PROXY",
            "remoteUser",
        ]
    );
}

#[test]
fn hostile_values_get_one_clear_error_each() {
    let cases = [
        (json!([]), "must be a JSON object"),
        (json!({}), "names neither an image"),
        (
            json!({"image": "a", "build": {"dockerfile": "D"}}),
            "both an image",
        ),
        (json!({"image": "-v /:/host"}), "not an image reference"),
        (
            json!({"build": {"dockerfile": "/etc/passwd"}}),
            "must be relative",
        ),
        (
            json!({"build": {"dockerfile": "../../x"}}),
            "leads out of the repository",
        ),
        (
            json!({"build": {"dockerfile": "D", "context": "../.."}}),
            "build.context",
        ),
        (
            json!({"build": {"dockerfile": "D", "options": ["--privileged"]}}),
            "build.options is not supported",
        ),
        (
            json!({"build": {"dockerfile": "D", "target": "a b"}}),
            "not a stage name",
        ),
        (
            json!({"build": {"dockerfile": "D", "args": {"1A": "x"}}}),
            "not a variable name",
        ),
        (
            json!({"image": "a", "containerEnv": {"A=B": "x"}}),
            "not a variable name",
        ),
        (
            json!({"image": "a", "containerEnv": {"A": 1}}),
            "containerEnv.A must be a string",
        ),
        (
            json!({"image": "a", "containerEnv": {"A": "x".repeat(40_000)}}),
            "longer than 32 KiB",
        ),
        (
            json!({"image": "a", "remoteUser": "a:b c"}),
            "is not a user name",
        ),
        (
            json!({"image": "a", "postStartCommand": []}),
            "must list a program",
        ),
        (
            json!({"image": "a", "postStartCommand": 3}),
            "must be a string, an array",
        ),
        (json!({"image": "a", "postStartCommand": "a\u{0}b"}), "NUL"),
        (json!({"image": "a", "forwardPorts": [0]}), "is not a port"),
        (
            json!({"image": "a", "forwardPorts": [70000]}),
            "is not a port",
        ),
        (
            json!({"image": "a", "forwardPorts": ["a b:1"]}),
            "is not a port",
        ),
        (
            json!({"image": "a", "forwardPorts": "3000"}),
            "must be an array",
        ),
    ];
    for (value, expected) in cases {
        let err = parse(value.clone()).expect_err(&value.to_string());
        assert!(
            err.to_string().contains(expected),
            "{value}: {err} (wanted {expected})"
        );
        assert!(
            err.to_string()
                .starts_with(".devcontainer/devcontainer.json: ")
        );
    }
    let many: Map<String, Value> = (0..300).map(|i| (format!("V{i}"), json!("x"))).collect();
    assert!(parse(json!({"image": "a", "containerEnv": many})).is_err());
    let broken = Config::parse(LOCATIONS[0], b"{\"image\": \"a\",\n \"x\" 1}").unwrap_err();
    assert!(broken.reason.starts_with("line 2, column 6"), "{broken}");
}

#[test]
fn variables_are_replaced_and_the_servers_environment_never_leaks() {
    let env = [("PATH".to_owned(), "/usr/bin".to_owned())];
    let vars = Variables {
        container_env: &env,
        basename: "app",
        id: "w1",
    };
    assert_eq!(
        vars.substitute("${containerEnv:PATH}:/x ${localEnv:HOME} ${localEnv:NOPE:dflt} ${containerWorkspaceFolder} ${localWorkspaceFolderBasename} ${other} ${unclosed"),
        "/usr/bin:/x  dflt /workspace app ${other} ${unclosed"
    );
}
