//! What `git status --porcelain=v2 --branch -z` prints, read into values. The format is
//! git's stable machine interface: NUL-terminated records, headers starting with `#`.

/// The state of one side (index or worktree) of a changed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Unmodified,
    Modified,
    TypeChanged,
    Added,
    Deleted,
    Renamed,
    Copied,
    Unmerged,
    Untracked,
}

impl FileState {
    fn from_code(c: char) -> Option<Self> {
        Some(match c {
            '.' => Self::Unmodified,
            'M' => Self::Modified,
            'T' => Self::TypeChanged,
            'A' => Self::Added,
            'D' => Self::Deleted,
            'R' => Self::Renamed,
            'C' => Self::Copied,
            'U' => Self::Unmerged,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unmodified => "unmodified",
            Self::Modified => "modified",
            Self::TypeChanged => "type-changed",
            Self::Added => "added",
            Self::Deleted => "deleted",
            Self::Renamed => "renamed",
            Self::Copied => "copied",
            Self::Unmerged => "unmerged",
            Self::Untracked => "untracked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub path: String,
    /// Where a renamed or copied file came from.
    pub original_path: Option<String>,
    pub index: FileState,
    pub worktree: FileState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `None` when HEAD is detached.
    pub branch: Option<String>,
    pub upstream: Option<String>,
    pub ahead: u64,
    pub behind: u64,
    pub files: Vec<FileStatus>,
}

/// Reads the output; a record it does not understand is an error naming it.
pub fn parse(raw: &[u8]) -> Result<Status, String> {
    let text = String::from_utf8_lossy(raw);
    let mut records = text.split('\0').filter(|r| !r.is_empty());
    let mut status = Status::default();
    while let Some(record) = records.next() {
        let bad = || format!("unexpected git status record {record:?}");
        if let Some(header) = record.strip_prefix("# ") {
            let (key, value) = header.split_once(' ').unwrap_or((header, ""));
            match key {
                "branch.head" if value != "(detached)" => status.branch = Some(value.to_owned()),
                "branch.upstream" => status.upstream = Some(value.to_owned()),
                "branch.ab" => {
                    let (a, b) = value.split_once(' ').ok_or_else(bad)?;
                    status.ahead = a.trim_start_matches('+').parse().map_err(|_| bad())?;
                    status.behind = b.trim_start_matches('-').parse().map_err(|_| bad())?;
                }
                _ => {}
            }
            continue;
        }
        let (kind, rest) = record.split_once(' ').ok_or_else(bad)?;
        let file = match kind {
            "1" | "2" | "u" => {
                // Fields before the path: 1 → 7, 2 → 8 (with the score), u → 9.
                let before = match kind {
                    "1" => 7,
                    "2" => 8,
                    _ => 9,
                };
                let mut fields = rest.splitn(before + 1, ' ');
                let xy = fields.next().ok_or_else(bad)?;
                let path = fields.nth(before - 1).ok_or_else(bad)?;
                let mut codes = xy.chars();
                let (x, y) = (codes.next().ok_or_else(bad)?, codes.next().ok_or_else(bad)?);
                let original_path = if kind == "2" {
                    Some(records.next().ok_or_else(bad)?.to_owned())
                } else {
                    None
                };
                let (index, worktree) = if kind == "u" {
                    (FileState::Unmerged, FileState::Unmerged)
                } else {
                    (
                        FileState::from_code(x).ok_or_else(bad)?,
                        FileState::from_code(y).ok_or_else(bad)?,
                    )
                };
                FileStatus {
                    path: path.to_owned(),
                    original_path,
                    index,
                    worktree,
                }
            }
            "?" => FileStatus {
                path: rest.to_owned(),
                original_path: None,
                index: FileState::Untracked,
                worktree: FileState::Untracked,
            },
            "!" => continue,
            _ => return Err(bad()),
        };
        status.files.push(file);
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_branch_counts_and_every_kind_of_record() {
        let raw = b"# branch.oid 1f2e3d\0# branch.head feature/x\0# branch.upstream origin/feature/x\0# branch.ab +2 -1\0\
1 .M N... 100644 100644 100644 aaa bbb src/a file.rs\0\
1 A. N... 000000 100644 100644 000 ccc new.txt\0\
2 R. N... 100644 100644 100644 ddd eee R100 renamed.txt\0old name.txt\0\
u UU N... 100644 100644 100644 100644 f1 f2 f3 conflict.txt\0\
? untracked.txt\0! ignored.log\0";
        let s = parse(raw).unwrap();
        assert_eq!(s.branch.as_deref(), Some("feature/x"));
        assert_eq!(s.upstream.as_deref(), Some("origin/feature/x"));
        assert_eq!((s.ahead, s.behind), (2, 1));
        let files: Vec<(&str, Option<&str>, &str, &str)> = s
            .files
            .iter()
            .map(|f| {
                (
                    f.path.as_str(),
                    f.original_path.as_deref(),
                    f.index.as_str(),
                    f.worktree.as_str(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("src/a file.rs", None, "unmodified", "modified"),
                ("new.txt", None, "added", "unmodified"),
                ("renamed.txt", Some("old name.txt"), "renamed", "unmodified"),
                ("conflict.txt", None, "unmerged", "unmerged"),
                ("untracked.txt", None, "untracked", "untracked"),
            ]
        );
    }

    #[test]
    fn a_detached_head_and_a_fresh_repository() {
        let s = parse(b"# branch.oid (initial)\0# branch.head (detached)\0").unwrap();
        assert_eq!(s, Status::default());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &b"7 what"[..],
            b"1 M",
            b"# branch.ab +x -y",
            b"2 R. N... 1 2 3 a b R100 p",
        ] {
            assert!(parse(raw).is_err(), "{:?}", String::from_utf8_lossy(raw));
        }
    }
}
