//! What tests do on the host itself: a fixture repository, the `docker` command line, and
//! the host's processes' command lines.

use std::path::PathBuf;

/// A git repository with a README on `main` and a second branch `feature`, in `dir/name`,
/// for environments to clone.
pub fn fixture_repo(dir: &std::path::Path, name: &str) -> PathBuf {
    let repo = dir.join(name);
    std::fs::create_dir_all(&repo).expect("fixture dir");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Fixture")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "Fixture")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("README.md"), "# Fixture\n").expect("write");
    git(&["add", "README.md"]);
    git(&["commit", "--quiet", "-m", "First commit"]);
    git(&["checkout", "--quiet", "-b", "feature"]);
    std::fs::write(repo.join("feature.txt"), "feature work\n").expect("write");
    git(&["add", "feature.txt"]);
    git(&["commit", "--quiet", "-m", "Feature commit"]);
    git(&["checkout", "--quiet", "main"]);
    repo
}

/// Runs the `docker` command line (what an operator would type) and returns its stdout.
pub fn docker_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads the command line of every process on the host, over and over, until `stop` is
/// set; returns each distinct one (for checking that no secret ever stands in one).
pub fn sample_host_command_lines(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen = std::collections::BTreeSet::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
                if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
                    seen.insert(String::from_utf8_lossy(&raw).replace('\0', " "));
                }
            }
        }
        seen.into_iter().collect()
    })
}
