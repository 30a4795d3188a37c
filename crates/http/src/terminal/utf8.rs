//! Terminal output as text for the JSON protocol.

/// Cuts terminal output into valid UTF-8 text: a character split across two chunks is held
/// back until its end arrives, and only bytes that can never be UTF-8 become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Split {
    pending: Vec<u8>,
}

impl Utf8Split {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            bytes
        } else {
            let mut j = std::mem::take(&mut self.pending);
            j.extend_from_slice(bytes);
            joined = j;
            &joined
        };
        let mut out = String::with_capacity(rest.len());
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    return out;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).expect("checked valid"));
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        None => {
                            self.pending = after.to_vec();
                            return out;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_across_chunks_arrives_whole() {
        let text = "héllo → 世界 🦀";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut split = Utf8Split::default();
            let mut got = split.push(&bytes[..cut]);
            got.push_str(&split.push(&bytes[cut..]));
            assert_eq!(got, text, "cut at {cut}");
        }
        let mut split = Utf8Split::default();
        let got: String = bytes.iter().map(|b| split.push(&[*b])).collect();
        assert_eq!(got, text);
    }

    #[test]
    fn only_impossible_bytes_become_replacement_characters() {
        let mut split = Utf8Split::default();
        assert_eq!(split.push(b"a\xffb\xc3"), "a\u{fffd}b");
        assert_eq!(split.push(b"\xa9"), "é");
    }
}
