//! What may be logged. Some libraries log whole request bodies at `debug` (bollard logs the
//! body of every engine request, which holds the environment of an exec, and so a push's
//! token); their level is capped whatever the configured filter says (invariant I4).

/// Libraries whose `debug`/`trace` output may carry secrets, capped at `info`.
const CAPPED: [&str; 5] = ["bollard", "hyper", "hyper_util", "h2", "reqwest"];

/// The tracing filter for a configured `LOG_LEVEL`: its directives, minus any that would
/// open a capped library, plus the caps.
pub fn log_directives(level: &str) -> String {
    let mut directives: Vec<String> = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| {
            let target = d.split(['=', '[']).next().unwrap_or("");
            !CAPPED
                .iter()
                .any(|c| target == *c || target.starts_with(&format!("{c}::")))
        })
        .map(str::to_owned)
        .collect();
    directives.extend(CAPPED.iter().map(|c| format!("{c}=info")));
    directives.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_libraries_stay_at_info() {
        assert_eq!(
            log_directives("trace"),
            "trace,bollard=info,hyper=info,hyper_util=info,h2=info,reqwest=info"
        );
        assert_eq!(
            log_directives("info, bollard=trace,bollard::docker=debug,craftastic=debug"),
            "info,craftastic=debug,bollard=info,hyper=info,hyper_util=info,h2=info,reqwest=info"
        );
    }
}
