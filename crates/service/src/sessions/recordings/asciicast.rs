//! Turning what `read.sh` printed in a container (hostile input) into an asciicast v2
//! recording that is valid whatever the container wrote.
//!
//! The output is framed as parts (`part NAME LENGTH`, then LENGTH bytes), oldest first; a
//! frame that does not parse ends the reading, and what came before it is kept. Parts are
//! taken from the newest, gzip segments decompressed within what is left of the budget (a
//! segment that would pass it is left out, with every older one), and each line is checked:
//! `[TIME, "o", TEXT]` and `[TIME, "r", "WxH"]` with a finite time are kept, bytes that are
//! not UTF-8 are replaced, and every other line is dropped. Times never go back, and become
//! relative to the first event kept. The events are then cut from the oldest to fit the cap,
//! and the header takes the terminal size in force at the first one kept.

use std::io::Read;

use serde::Serialize;

/// The size a recording starts with when none of its events says (that of a new tmux
/// session, see `start.sh`).
const DEFAULT_SIZE: (u32, u32) = (120, 40);
/// Times after this (the year 5138, in seconds since the epoch) are not believed.
const MAX_TIME: f64 = 1e11;
/// The largest terminal side an `"r"` event may give.
const MAX_SIDE: u32 = 10_000;

/// A recording ready to be answered, and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// Asciicast v2: the header line, then one event a line.
    pub text: String,
    pub events: usize,
    /// Lines that were not valid events and were dropped.
    pub invalid_lines: usize,
    /// The oldest part was left out to keep within the cap.
    pub cut: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The part being written, as text.
    Current,
    /// A finished part, compressed with gzip.
    Segment,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Output(String),
    Resize(u32, u32),
}

#[derive(Serialize)]
struct Header<'a> {
    version: u8,
    width: u32,
    height: u32,
    timestamp: i64,
    title: &'a str,
}

/// The parts of `output`, oldest first, up to the first frame that does not parse.
fn parts(output: &[u8]) -> Vec<(Part, &[u8])> {
    let mut found = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        let Some(end) = rest.iter().take(64).position(|b| *b == b'\n') else {
            break;
        };
        let Ok(line) = std::str::from_utf8(&rest[..end]) else {
            break;
        };
        let mut fields = line.split(' ');
        let (Some("part"), Some(name), Some(len), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            break;
        };
        let part = match name.strip_suffix(".gz") {
            _ if name == "cur" => Part::Current,
            Some(n) if (1..=12).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) => {
                Part::Segment
            }
            _ => break,
        };
        let Some(len) = len.parse::<usize>().ok().filter(|l| *l < rest.len() - end) else {
            break;
        };
        let body = &rest[end + 1..end + 1 + len];
        found.push((part, body));
        rest = &rest[end + 1 + len..];
    }
    found
}

/// The gzip stream decompressed, `None` when it holds more than `max` bytes. A stream that
/// is cut or corrupt gives what came before the fault.
fn gunzip(data: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(data).take(max as u64 + 1);
    // A fault leaves in `out` what was decoded before it; its last line, cut short, is
    // dropped as invalid.
    let _ = decoder.read_to_end(&mut out);
    (out.len() <= max).then_some(out)
}

/// The text of the newest parts, oldest first, within `budget` bytes.
fn texts(parts: &[(Part, &[u8])], budget: usize) -> Vec<Vec<u8>> {
    let mut left = budget;
    let mut texts = Vec::new();
    for (part, data) in parts.iter().rev() {
        let text = match part {
            Part::Current => data[data.len().saturating_sub(left)..].to_vec(),
            Part::Segment => match gunzip(data, left) {
                Some(text) => text,
                None => break,
            },
        };
        left -= text.len();
        texts.push(text);
        if left == 0 {
            break;
        }
    }
    texts.reverse();
    texts
}

/// One line as an event, if it is a valid one.
fn event(line: &[u8]) -> Option<(f64, Kind)> {
    let (time, code, data): (f64, String, String) =
        serde_json::from_str(&String::from_utf8_lossy(line)).ok()?;
    if !time.is_finite() || !(0.0..=MAX_TIME).contains(&time) {
        return None;
    }
    let kind = match code.as_str() {
        "o" => Kind::Output(data),
        "r" => {
            let (w, h) = data.split_once('x')?;
            let side = |s: &str| {
                (!s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<u32>().ok())
                    .flatten()
                    .filter(|n| (1..=MAX_SIDE).contains(n))
            };
            Kind::Resize(side(w)?, side(h)?)
        }
        _ => return None,
    };
    Some((time, kind))
}

/// Seconds rounded to the microsecond, as the recorder writes them.
fn micros(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

/// The most bytes a time takes in an event line (up to [`MAX_TIME`], to the microsecond).
const TIME_CHARS: usize = 18;

/// The recording in `output` (what `read.sh` printed), read within `budget` bytes of text
/// and answered within `cap` bytes of events; `title` names it, and `now` (seconds since
/// the epoch) dates a recording without events.
pub fn assemble(output: &[u8], budget: usize, cap: usize, title: &str, now: i64) -> Recording {
    let mut events: Vec<(f64, Kind)> = Vec::new();
    let mut invalid_lines = 0;
    for text in texts(&parts(output), budget) {
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match event(line) {
                Some((time, kind)) => {
                    let time = events.last().map_or(time, |(last, _)| time.max(*last));
                    events.push((time, kind));
                }
                None => invalid_lines += 1,
            }
        }
    }
    // Each event as `"CODE",DATA` in JSON; its line adds the time and brackets.
    let bodies: Vec<String> = events
        .iter()
        .map(|(_, kind)| match kind {
            Kind::Output(data) => format!("\"o\",{}", serde_json::Value::from(data.as_str())),
            Kind::Resize(w, h) => format!("\"r\",\"{w}x{h}\""),
        })
        .collect();
    let mut size = 0;
    let first = bodies
        .iter()
        .rposition(|body| {
            size += body.len() + TIME_CHARS + 4;
            size > cap
        })
        .map_or(0, |i| i + 1);
    let (mut width, mut height) = DEFAULT_SIZE;
    for (_, kind) in &events[..first] {
        if let Kind::Resize(w, h) = kind {
            (width, height) = (*w, *h);
        }
    }
    let start = events.get(first).map(|(time, _)| *time);
    let header = Header {
        version: 2,
        width,
        height,
        timestamp: start.map_or(now, |t| t.floor() as i64),
        title,
    };
    let mut text = serde_json::to_string(&header).unwrap_or_default();
    text.push('\n');
    for ((time, _), body) in events[first..].iter().zip(&bodies[first..]) {
        let at = serde_json::Value::from(micros(time - start.unwrap_or(*time)));
        text.push_str(&format!("[{at},{body}]\n"));
    }
    Recording {
        text,
        events: events.len() - first,
        invalid_lines,
        cut: first > 0,
    }
}

#[cfg(test)]
#[path = "asciicast_tests.rs"]
mod tests;
