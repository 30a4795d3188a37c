//! The terminal modes tmux has set on a shared client's terminal: the alternate screen, cursor
//! keys, mouse reporting, bracketed paste, focus events, the cursor and the keypad. tmux sends
//! a mode only when it changes, so a viewer that joins a client already running learns them
//! here, before its screen is redrawn.
//!
//! The output read here comes from the container: the state is a fixed set of flags, and a
//! sequence too long to be one of them is skipped, so nothing it says can make this grow.

/// The DEC private modes followed (`CSI ? n h` sets, `CSI ? n l` resets). The alternate
/// screen comes first, so that switching to it does not undo the others.
const FOLLOWED: [u16; 13] = [
    1049, 1, 7, 12, 25, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 2004,
];
/// More parameters than this make a sequence no mode change of tmux's.
const MAX_PARAMS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    /// After `CSI`: whether it is private (`?`), and whether it is still one of ours.
    Csi {
        private: bool,
        ours: bool,
    },
    /// Inside a string (OSC, DCS, APC, PM) until BEL or ST; `escape` after its ESC.
    Text {
        escape: bool,
    },
}

/// Follows the modes through the output, chunk by chunk (a sequence may be cut anywhere).
#[derive(Debug, Clone)]
pub(super) struct Modes {
    state: State,
    params: [u16; MAX_PARAMS],
    count: usize,
    /// Per mode of [`FOLLOWED`]: unknown, set or reset.
    modes: [Option<bool>; FOLLOWED.len()],
    /// Application keypad (`ESC =`) or normal (`ESC >`).
    keypad: Option<bool>,
}

impl Default for Modes {
    fn default() -> Self {
        Self {
            state: State::Ground,
            params: [0; MAX_PARAMS],
            count: 0,
            modes: [None; FOLLOWED.len()],
            keypad: None,
        }
    }
}

impl Modes {
    pub(super) fn read(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = match self.state {
                State::Ground if b == 0x1b => State::Escape,
                State::Ground => State::Ground,
                State::Escape => match b {
                    b'[' => {
                        self.params = [0; MAX_PARAMS];
                        self.count = 0;
                        State::Csi {
                            private: false,
                            ours: true,
                        }
                    }
                    b']' | b'P' | b'_' | b'^' => State::Text { escape: false },
                    b'=' => {
                        self.keypad = Some(true);
                        State::Ground
                    }
                    b'>' => {
                        self.keypad = Some(false);
                        State::Ground
                    }
                    0x1b => State::Escape,
                    _ => State::Ground,
                },
                State::Csi { private, ours } => self.csi(b, private, ours),
                State::Text { escape } => match b {
                    0x07 => State::Ground,
                    b'\\' if escape => State::Ground,
                    0x1b => State::Text { escape: true },
                    _ => State::Text { escape: false },
                },
            };
        }
    }

    fn csi(&mut self, b: u8, private: bool, ours: bool) -> State {
        match b {
            b'?' if self.count == 0 && !private => State::Csi {
                private: true,
                ours,
            },
            b'0'..=b'9' => {
                if self.count == 0 {
                    self.count = 1;
                }
                let p = &mut self.params[self.count - 1];
                *p = p.saturating_mul(10).saturating_add(u16::from(b - b'0'));
                State::Csi { private, ours }
            }
            b';' => {
                let ours = ours && self.count.max(1) < MAX_PARAMS;
                if ours {
                    self.count = self.count.max(1) + 1;
                }
                State::Csi { private, ours }
            }
            0x40..=0x7e => {
                if private && ours && (b == b'h' || b == b'l') {
                    for p in &self.params[..self.count] {
                        if let Some(i) = FOLLOWED.iter().position(|m| m == p) {
                            self.modes[i] = Some(b == b'h');
                        }
                    }
                }
                State::Ground
            }
            0x1b => State::Escape,
            // Intermediate bytes and anything else: not a mode change.
            _ => State::Csi {
                private,
                ours: false,
            },
        }
    }

    /// The bytes that put a fresh terminal in the modes seen so far.
    pub(super) fn replay(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, set) in FOLLOWED.iter().zip(self.modes) {
            if let Some(set) = set {
                out.extend_from_slice(
                    format!("\x1b[?{mode}{}", if set { 'h' } else { 'l' }).as_bytes(),
                );
            }
        }
        match self.keypad {
            Some(true) => out.extend_from_slice(b"\x1b="),
            Some(false) => out.extend_from_slice(b"\x1b>"),
            None => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replayed(chunks: &[&[u8]]) -> String {
        let mut modes = Modes::default();
        for c in chunks {
            modes.read(c);
        }
        String::from_utf8(modes.replay()).unwrap()
    }

    #[test]
    fn what_tmux_sets_when_it_attaches_is_replayed() {
        let attach = b"\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J\x1b[?12l\x1b[?25h\
            \x1b[?1000l\x1b[?1006h\x1b[?1000h\x1b[?1002h\x1b[?2004h\x1b[?25l\x1b[34mhello";
        assert_eq!(
            replayed(&[attach]),
            "\x1b[?1049h\x1b[?1h\x1b[?12l\x1b[?25l\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?2004h\x1b="
        );
    }

    #[test]
    fn a_sequence_cut_anywhere_counts_the_same() {
        let whole: &[u8] = b"ab\x1b[?1000;1006hcd\x1b[?2004l\x1b>";
        let expected = replayed(&[whole]);
        assert_eq!(expected, "\x1b[?1000h\x1b[?1006h\x1b[?2004l\x1b>");
        for cut in 0..whole.len() {
            assert_eq!(
                replayed(&[&whole[..cut], &whole[cut..]]),
                expected,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn strings_other_sequences_and_hostile_lengths_change_nothing() {
        assert_eq!(replayed(&[b"\x1b]0;\x1b[?1000h title\x07"]), "");
        assert_eq!(replayed(&[b"\x1bPtmux;\x1b[?1000h\x1b\\"]), "");
        assert_eq!(replayed(&[b"\x1b[1000h\x1b[?1000 h\x1b[>1000h"]), "");
        let long = format!("\x1b[?{}h", ["1000"; 100].join(";"));
        assert_eq!(replayed(&[long.as_bytes()]), "");
        assert_eq!(replayed(&[b"\x1b[?99999999999999h\x1b[?25h"]), "\x1b[?25h");
    }
}
