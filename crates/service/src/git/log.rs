//! What `git log` prints with [`FORMAT`], read into commits. Every field ends with a NUL,
//! which no commit message, name or email can contain.

/// The `--format` that [`parse`] reads: hash, author name, author email, author date
/// (strict ISO 8601) and the whole message.
pub const FORMAT: &str = "--format=%H%x00%an%x00%ae%x00%aI%x00%B%x00";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub hash: String,
    pub author: String,
    pub email: String,
    pub date: String,
    pub message: String,
}

pub fn parse(raw: &[u8]) -> Result<Vec<Commit>, String> {
    let text = String::from_utf8_lossy(raw);
    let fields: Vec<&str> = text.split('\0').collect();
    // The output ends with a NUL, so the split leaves one last empty piece (or one
    // newline, which git adds between commits).
    let whole = fields.len() - 1;
    if whole % 5 != 0 || !fields[whole].trim().is_empty() {
        return Err(format!(
            "unexpected git log output ({} fields)",
            fields.len()
        ));
    }
    fields[..whole]
        .chunks(5)
        .map(|c| {
            let hash = c[0].trim_start_matches('\n');
            if hash.len() < 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("unexpected commit hash {hash:?} in git log output"));
            }
            Ok(Commit {
                hash: hash.to_owned(),
                author: c[1].to_owned(),
                email: c[2].to_owned(),
                date: c[3].to_owned(),
                message: c[4].trim_end().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commits_with_multi_line_messages() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let raw = format!(
            "{a}\0Ada\0ada@example.com\02026-11-24T10:00:00+00:00\0Fix it\n\nBecause.\n\0\n\
             {b}\0Grace\0grace@example.com\02026-11-23T09:00:00+01:00\0First\n\0"
        );
        let commits = parse(raw.as_bytes()).unwrap();
        assert_eq!(commits.len(), 2);
        assert_eq!(commits[0].hash, a);
        assert_eq!(commits[0].message, "Fix it\n\nBecause.");
        assert_eq!(commits[1].author, "Grace");
        assert_eq!(commits[1].date, "2026-11-23T09:00:00+01:00");
    }

    #[test]
    fn no_commits_and_garbage() {
        assert_eq!(parse(b"").unwrap(), Vec::new());
        assert!(parse(b"nonsense\0").is_err());
        assert!(parse(b"zz\0a\0b\0c\0d\0").is_err());
    }
}
