//! JSON with comments, as devcontainer.json is written: `//` and `/* */` comments and
//! trailing commas in arrays and objects. Comments and those commas become spaces (newlines
//! stay), so that serde_json reads the rest and its errors name the line and column of the
//! file as written.

use serde_json::Value;

/// The largest devcontainer.json read.
pub const MAX_BYTES: usize = 256 << 10;

/// Why a file could not be read, with where (1-based) when it is a syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsoncError {
    #[error("it is larger than {} KiB", MAX_BYTES >> 10)]
    TooLarge,
    #[error("it is not UTF-8 text")]
    NotUtf8,
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
}

/// Reads a JSONC document.
pub fn parse(bytes: &[u8]) -> Result<Value, JsoncError> {
    if bytes.len() > MAX_BYTES {
        return Err(JsoncError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| JsoncError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let plain = strip(text)?;
    serde_json::from_str(&plain).map_err(|e| JsoncError::Syntax {
        line: e.line(),
        column: e.column(),
        message: describe(&e),
    })
}

/// serde_json's message without its own " at line L column C".
fn describe(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// The text with comments and trailing commas blanked out.
fn strip(text: &str) -> Result<String, JsoncError> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    // Where the last comma outside strings is, while only blanks and comments follow it.
    let mut pending_comma: Option<usize> = None;
    // The last byte that was neither blank nor in a comment (`"` for a string).
    let mut last = b' ';
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                pending_comma = None;
                last = b'"';
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                i += 2;
                loop {
                    if i + 1 >= bytes.len() {
                        let (line, column) = position(text, start);
                        return Err(JsoncError::Syntax {
                            line,
                            column,
                            message: "a comment that never ends (no */)".into(),
                        });
                    }
                    if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
                for b in &mut out[start..i] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
            }
            b',' => {
                // A comma after an opening bracket or another comma trails nothing: it stays,
                // for serde_json to refuse.
                pending_comma = (!matches!(last, b'[' | b'{' | b',')).then_some(i);
                last = b',';
                i += 1;
            }
            b']' | b'}' => {
                if let Some(comma) = pending_comma.take() {
                    out[comma] = b' ';
                }
                last = bytes[i];
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            other => {
                pending_comma = None;
                last = other;
                i += 1;
            }
        }
    }
    // Only ASCII bytes outside strings were replaced by ASCII spaces: still UTF-8. A
    // comment's multi-byte characters became several spaces, which only moves columns
    // after it on that line.
    String::from_utf8(out).map_err(|_| JsoncError::NotUtf8)
}

/// The 1-based line and column of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comments_and_trailing_commas_are_read() {
        let text = r#"// a devcontainer
{
    /* the image */ "image": "debian", // trailing
    "url": "http://example.com/*not a comment*/",
    "slashes": "a // b",
    "escaped": "quote \" // still a string",
    "list": [1, 2, /* two */ 3,],
    "nested": {"a": 1, // comment after a comma
    },
}
"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            json!({
                "image": "debian",
                "url": "http://example.com/*not a comment*/",
                "slashes": "a // b",
                "escaped": "quote \" // still a string",
                "list": [1, 2, 3],
                "nested": {"a": 1},
            })
        );
    }

    #[test]
    fn a_broken_file_names_the_line_and_column() {
        let text = "{\n  // fine\n  \"image\": \"x\"\n  \"other\": 1\n}\n";
        let err = parse(text.as_bytes()).unwrap_err();
        let JsoncError::Syntax { line, column, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*line, *column), (4, 3), "{err}");
        assert!(
            err.to_string().starts_with("line 4, column 3: expected"),
            "{err}"
        );
    }

    #[test]
    fn hostile_input_is_refused_clearly_and_never_panics() {
        assert_eq!(parse(&vec![b' '; MAX_BYTES + 1]), Err(JsoncError::TooLarge));
        assert_eq!(parse(b"{\"a\": \"\xff\"}"), Err(JsoncError::NotUtf8));
        let err = parse(b"{\n  /* never ends").unwrap_err();
        assert!(err.to_string().contains("line 2, column 3"), "{err}");
        let deep = "[".repeat(100_000);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(JsoncError::Syntax { .. })
        ));
        for bad in [
            &b""[..],
            b"\"unterminated",
            b"\"ends in a backslash\\",
            b",",
            b"[,]",
            b"{,}",
            b"/",
            b"{\"a\": 1,,}",
            b"\xef\xbb\xbf",
            b"{\"a\": \"\xc3\"}",
        ] {
            let _ = parse(bad);
        }
        assert!(parse(b"[,]").is_err(), "a lone comma is no trailing comma");
        assert_eq!(
            parse("\u{feff}{\"a\": \"é\" /* é */}".as_bytes()).unwrap(),
            json!({"a": "é"})
        );
    }
}
