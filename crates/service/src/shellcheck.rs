//! Every shell script the server runs in a container (`*.sh` under the `src/` of this crate
//! and of `craftastic-runtime`, loaded with `include_str!`), and the sandbox image's
//! `craftastic-hook`, passes shellcheck. The shell each
//! is written for is named by its own `# shellcheck shell=…` line, since none is run as a
//! file with a `#!` line.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scripts(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            scripts(&path, found);
        } else if path.extension().is_some_and(|e| e == "sh") {
            found.push(path);
        }
    }
}

#[test]
fn every_script_passes_shellcheck() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src");
    let mut found = Vec::new();
    scripts(&src, &mut found);
    scripts(&runtime, &mut found);
    found.sort();
    found.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sandbox/craftastic-hook"));
    for dir in [src.join("git").join("scripts"), runtime] {
        assert!(
            found.iter().any(|p| p.starts_with(&dir)),
            "no script found under {}; did the scripts move?",
            dir.display()
        );
    }
    let out = match Command::new("shellcheck").args(&found).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "shellcheck is not installed, so the shell scripts cannot be checked: apt-get install shellcheck"
        ),
        Err(e) => panic!("running shellcheck: {e}"),
    };
    assert!(
        out.status.success(),
        "shellcheck found problems in the shell scripts ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
