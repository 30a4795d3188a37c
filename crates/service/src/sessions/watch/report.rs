//! A watcher's output, read as hostile input: cut into lines and reports within bounds,
//! and a budget of what it may print per period.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::Pane;
use crate::sessions::tmux::session_of;

/// The longest line a watcher may print.
const MAX_LINE: usize = 4096;
/// Lines and bytes of one report (a container with more tmux sessions than this is asked
/// by an exec instead, whose output has its own bound).
const MAX_REPORT_LINES: usize = 10_000;
const MAX_REPORT_BYTES: usize = 1 << 20;
/// What a watcher may print within one period: a few full reports, and the reports the
/// server asks for sooner.
const MAX_BYTES_PER_PERIOD: usize = 4 << 20;
const MAX_REPORTS_PER_PERIOD: usize = 32;
/// The most of one screen kept (a screen is a few kilobytes; the rules read its bottom).
const MAX_SCREEN: usize = 64 << 10;
/// One complete report: the names of the tmux sessions of the server's own naming that
/// run in the container (other names are left out: only these can be compared with rows).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Report {
    pub(super) token: u64,
    pub(crate) sessions: HashSet<String>,
    /// The watcher could not ask tmux: the report says nothing of the sessions.
    pub(super) unknown: bool,
    /// The first pane of each of those sessions.
    pub(crate) panes: HashMap<String, Pane>,
    /// The screens of agents' panes that changed since the watcher's previous report.
    pub(crate) screens: HashMap<String, String>,
}

/// The report being read.
#[derive(Debug)]
struct Partial {
    report: Report,
    /// The screen being read: its session's name and its text.
    screen: Option<(String, String)>,
    lines: usize,
    bytes: usize,
    began: Instant,
}

/// Cuts a watcher's output into lines and reports, within the bounds above.
#[derive(Debug, Default)]
pub(super) struct Reader {
    line: Vec<u8>,
    open: Option<Partial>,
}

impl Reader {
    /// Reads one chunk; returns the reports it completed, or why the watcher broke its
    /// bounds.
    pub(super) fn feed(&mut self, chunk: &[u8], now: Instant) -> Result<Vec<Report>, String> {
        let mut done = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            let (part, newline) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], Some(i)),
                None => (rest, None),
            };
            if self.line.len() + part.len() > MAX_LINE {
                return Err(format!("it printed a line longer than {MAX_LINE} bytes"));
            }
            self.line.extend_from_slice(part);
            let Some(i) = newline else { break };
            rest = &rest[i + 1..];
            let line = std::mem::take(&mut self.line);
            if let Some(report) = self.take_line(&line, now)? {
                done.push(report);
            }
        }
        Ok(done)
    }

    fn take_line(&mut self, line: &[u8], now: Instant) -> Result<Option<Report>, String> {
        let mut fields = line.split(|b| *b == b'\t');
        let kind = fields.next().unwrap_or_default();
        if kind == b"report" {
            if self.open.is_some() {
                return Err("it began a report inside another".into());
            }
            self.open = Some(Partial {
                report: Report {
                    token: token(fields.next())?,
                    ..Report::default()
                },
                screen: None,
                lines: 0,
                bytes: 0,
                began: now,
            });
            return Ok(None);
        }
        // Lines outside a report are ignored (the bytes of a period bound them).
        let Some(open) = self.open.as_mut() else {
            return Ok(None);
        };
        if kind == b"end" {
            if token(fields.next())? != open.report.token {
                return Err("it ended a report with another token than it began".into());
            }
            return Ok(self.open.take().map(|p| p.report));
        }
        open.lines += 1;
        open.bytes += line.len() + 1;
        if open.lines > MAX_REPORT_LINES || open.bytes > MAX_REPORT_BYTES {
            return Err(format!(
                "it printed a report of more than {MAX_REPORT_LINES} lines or {MAX_REPORT_BYTES} bytes"
            ));
        }
        if let Some((_, text)) = open.screen.as_mut()
            && let Some(content) = line.strip_prefix(b"|")
        {
            if text.len() + content.len() < MAX_SCREEN {
                text.push_str(&String::from_utf8_lossy(content));
                text.push('\n');
            }
            return Ok(None);
        }
        let name = |f: Option<&[u8]>| {
            f.and_then(|n| std::str::from_utf8(n).ok())
                .filter(|n| session_of(n).is_some())
                .map(str::to_owned)
        };
        match kind {
            b"unknown" => open.report.unknown = true,
            b"s" => {
                if let Some(name) = name(fields.next()) {
                    open.report.sessions.insert(name);
                }
            }
            b"p" => {
                if let Some(name) = name(fields.next()) {
                    let pane = pane(fields);
                    open.report.panes.entry(name).or_insert(pane);
                }
            }
            b"screen" => open.screen = name(fields.next()).map(|n| (n, String::new())),
            b"endscreen" => {
                if let Some((name, text)) = open.screen.take() {
                    open.report.screens.insert(name, text);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// When the report being read began.
    pub(super) fn began(&self) -> Option<Instant> {
        self.open.as_ref().map(|p| p.began)
    }
}

/// The fields of a pane line after the session's name: PANE DEAD OUTPUT AGENT COMMAND HOOK.
fn pane<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> Pane {
    let text = |f: Option<&[u8]>| String::from_utf8_lossy(f.unwrap_or_default()).into_owned();
    let _pane_id = fields.next();
    let dead = fields.next() == Some(b"1");
    let output_at = std::str::from_utf8(fields.next().unwrap_or_default())
        .ok()
        .and_then(|t| t.parse().ok());
    let agent = Some(text(fields.next())).filter(|a| a != "-" && !a.is_empty());
    let command = text(fields.next());
    // The hook's value is the rest of the line: it may hold tabs.
    let rest: Vec<&[u8]> = fields.collect();
    let hook =
        Some(String::from_utf8_lossy(&rest.join(&b'\t')).into_owned()).filter(|h| !h.is_empty());
    Pane {
        command,
        output_at,
        dead,
        agent,
        hook,
    }
}

fn token(field: Option<&[u8]>) -> Result<u64, String> {
    field
        .filter(|f| !f.is_empty() && f.len() <= 20 && f.iter().all(u8::is_ascii_digit))
        .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok())
        .ok_or_else(|| "it printed a report without a valid token".into())
}

/// What the bytes and reports of the current period add up to.
pub(super) struct Budget {
    since: Instant,
    bytes: usize,
    reports: usize,
}

impl Budget {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            since: now,
            bytes: 0,
            reports: 0,
        }
    }

    pub(super) fn spend(
        &mut self,
        bytes: usize,
        reports: usize,
        now: Instant,
        period: Duration,
    ) -> Result<(), String> {
        if now.duration_since(self.since) >= period {
            *self = Self::new(now);
        }
        self.bytes += bytes;
        self.reports += reports;
        if self.bytes > MAX_BYTES_PER_PERIOD || self.reports > MAX_REPORTS_PER_PERIOD {
            return Err(format!(
                "it printed more than {MAX_BYTES_PER_PERIOD} bytes or {MAX_REPORTS_PER_PERIOD} reports within {} s",
                period.as_secs_f32()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "cs-0123456789abcdef0123456789abcdef";
    const B: &str = "cs-fedcba9876543210fedcba9876543210";

    fn feed(reader: &mut Reader, text: &str) -> Result<Vec<Report>, String> {
        reader.feed(text.as_bytes(), Instant::now())
    }

    fn names(report: &Report) -> Vec<&str> {
        let mut v: Vec<&str> = report.sessions.iter().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[tokio::test]
    async fn reports_are_read_across_chunks_and_unknown_lines_and_fields_are_ignored() {
        let mut r = Reader::default();
        let text = format!(
            "noise before\nreport\t7\ns\t{A}\tbash\t1a2b\nfuture\tkind\ns\tnot-ours\ns\t{B}\nend\t7\n"
        );
        let (one, two) = text.split_at(17);
        assert!(feed(&mut r, one).unwrap().is_empty());
        let reports = feed(&mut r, two).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].token, 7);
        assert_eq!(names(&reports[0]), [A, B]);
        let empty = feed(&mut r, "report\t8\nend\t8\n").unwrap();
        assert!(empty[0].sessions.is_empty() && !empty[0].unknown);
        let unknown = feed(&mut r, "report\t9\nunknown\nend\t9\n").unwrap();
        assert!(unknown[0].unknown);
    }

    #[tokio::test]
    async fn panes_and_screens_are_read_and_a_screen_cannot_end_the_report() {
        let mut r = Reader::default();
        let text = format!(
            "report\t3\ns\t{A}\np\t{A}\t%1\t0\t1796677398\tclaude-code\tclaude\tpermission 1.5 a\tb\n\
             p\t{B}\t%2\t1\t\t-\tbash\t\nscreen\t{A}\n|end\t3\n|report\t4\n|\nendscreen\nend\t3\n"
        );
        let reports = feed(&mut r, &text).unwrap();
        assert_eq!(reports.len(), 1);
        let a = &reports[0].panes[A];
        assert_eq!(a.agent.as_deref(), Some("claude-code"));
        assert_eq!(a.command, "claude");
        assert_eq!(a.output_at, Some(1796677398));
        assert_eq!(a.hook.as_deref(), Some("permission 1.5 a\tb"));
        assert!(!a.dead);
        let b = &reports[0].panes[B];
        assert!(b.dead && b.agent.is_none() && b.hook.is_none() && b.output_at.is_none());
        assert_eq!(reports[0].screens[A], "end\t3\nreport\t4\n\n");
    }

    #[tokio::test]
    async fn a_line_too_long_breaks_the_watcher_even_without_a_newline() {
        let mut r = Reader::default();
        let long = "x".repeat(MAX_LINE / 2);
        assert!(feed(&mut r, &long).is_ok());
        assert!(feed(&mut r, &long).is_ok());
        assert!(feed(&mut r, "y").unwrap_err().contains("line longer"));
    }

    #[tokio::test]
    async fn a_report_too_long_breaks_the_watcher() {
        let mut r = Reader::default();
        feed(&mut r, "report\t1\n").unwrap();
        let line = format!("s\t{A}\n");
        let mut broke = None;
        for _ in 0..=MAX_REPORT_LINES {
            if let Err(e) = feed(&mut r, &line) {
                broke = Some(e);
                break;
            }
        }
        assert!(broke.unwrap().contains("more than"));
    }

    #[tokio::test]
    async fn bad_tokens_and_nested_reports_break_the_watcher() {
        for text in [
            "report\tx\n",
            "report\t\n",
            "report\t99999999999999999999999\n",
            "report\t1\nreport\t2\n",
            "report\t1\nend\t2\n",
        ] {
            assert!(feed(&mut Reader::default(), text).is_err(), "{text:?}");
        }
        // An end outside a report is noise.
        assert!(feed(&mut Reader::default(), "end\t3\n").unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_budget_of_a_period_bounds_bytes_and_reports() {
        let now = Instant::now();
        let period = Duration::from_secs(5);
        let mut b = Budget::new(now);
        assert!(b.spend(MAX_BYTES_PER_PERIOD, 1, now, period).is_ok());
        assert!(b.spend(1, 0, now, period).is_err());
        let mut b = Budget::new(now);
        assert!(
            b.spend(10, MAX_REPORTS_PER_PERIOD + 1, now, period)
                .is_err()
        );
        let mut b = Budget::new(now);
        assert!(b.spend(MAX_BYTES_PER_PERIOD, 0, now, period).is_ok());
        assert!(b.spend(10, 1, now + period, period).is_ok());
    }
}
