use std::io::Write;

use serde_json::{Value, json};

use super::*;

fn part(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("part {name} {}\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn lines(r: &Recording) -> Vec<Value> {
    r.text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

const MB: usize = 1 << 20;

#[test]
fn valid_events_come_out_relative_to_the_first_with_a_header() {
    let cur = b"[1000.5,\"r\",\"80x24\"]\n[1000.5,\"o\",\"$ \"]\n[1001.75,\"o\",\"hi\\r\\n\"]\n";
    let r = assemble(&part("cur", cur), MB, MB, "main", 7);
    let l = lines(&r);
    assert_eq!(
        l[0],
        json!({"version": 2, "width": 120, "height": 40, "timestamp": 1000, "title": "main"})
    );
    assert_eq!(l[1], json!([0.0, "r", "80x24"]));
    assert_eq!(l[2], json!([0.0, "o", "$ "]));
    assert_eq!(l[3], json!([1.25, "o", "hi\r\n"]));
    assert_eq!((r.events, r.invalid_lines, r.cut), (3, 0, false));
}

#[test]
fn segments_are_decompressed_and_come_before_the_current_part() {
    let mut output = part("000000000001.gz", &gz(b"[10,\"o\",\"one\"]\n"));
    output.extend(part("000000000002.gz", &gz(b"[11,\"o\",\"two\"]\n")));
    output.extend(part("cur", b"[12,\"o\",\"three\"]\n"));
    let r = assemble(&output, MB, MB, "s", 0);
    let data: Vec<Value> = lines(&r)[1..].iter().map(|e| e[2].clone()).collect();
    assert_eq!(data, [json!("one"), json!("two"), json!("three")]);
}

#[test]
fn bad_lines_are_dropped_and_bad_bytes_repaired() {
    let mut cur = Vec::new();
    for bad in [
        &b"not json"[..],
        b"[1,\"o\"]",
        b"[1,\"o\",\"x\",4]",
        b"[1,\"i\",\"typed secret\"]",
        b"[1,\"x\",\"?\"]",
        b"[-1,\"o\",\"x\"]",
        b"[1e300,\"o\",\"x\"]",
        b"[\"1\",\"o\",\"x\"]",
        b"[1,\"r\",\"80\"]",
        b"[1,\"r\",\"0x5\"]",
        b"[1,\"r\",\"99999x5\"]",
        b"[1,\"o\",\"\\ud800\"]",
        b"{\"version\":2}",
    ] {
        cur.extend_from_slice(bad);
        cur.push(b'\n');
    }
    cur.extend_from_slice(b"[5,\"o\",\"ok \xff\"]\n[4,\"o\",\"earlier\"]\n");
    let r = assemble(&part("cur", &cur), MB, MB, "s", 0);
    let l = lines(&r);
    assert_eq!(r.invalid_lines, 13);
    assert_eq!(l[1], json!([0.0, "o", "ok \u{fffd}"]));
    assert_eq!(l[2], json!([0.0, "o", "earlier"]), "times never go back");
}

#[test]
fn a_broken_frame_ends_the_reading_and_keeps_what_came_before() {
    let mut output = part("cur", b"[1,\"o\",\"kept\"]\n");
    output.extend_from_slice(b"part ../../etc/passwd 5\nroot:");
    output.extend(part("cur", b"[2,\"o\",\"after\"]\n"));
    let r = assemble(&output, MB, MB, "s", 0);
    assert_eq!(r.events, 1);
    assert!(r.text.contains("kept") && !r.text.contains("after"));
    for garbage in [&b"part cur 999\nshort"[..], b"\xff\xfe", b"partcur 1\nx"] {
        assert_eq!(assemble(garbage, MB, MB, "s", 9).events, 0);
    }
}

#[test]
fn a_gzip_bomb_is_decompressed_only_up_to_the_budget() {
    let bomb = gz(&vec![b'y'; 64 * MB]);
    let mut output = part("000000000001.gz", &bomb);
    output.extend(part("cur", b"[3,\"o\",\"newest\"]\n"));
    let r = assemble(&output, MB, MB, "s", 0);
    assert_eq!(r.events, 1);
    assert!(r.text.contains("newest"));
    assert!(gunzip(&bomb, MB).is_none());
}

#[test]
fn a_corrupt_segment_gives_its_whole_lines_before_the_fault() {
    let mut seg = gz(b"[1,\"o\",\"first\"]\n[2,\"o\",\"second\"]\n");
    seg.truncate(seg.len() - 12);
    let r = assemble(&part("000000000001.gz", &seg), MB, MB, "s", 0);
    assert!(r.events <= 2);
    assert!(lines(&r).len() == r.events + 1);
}

#[test]
fn the_cap_drops_the_oldest_events_and_the_header_takes_the_size_then() {
    let mut cur = b"[100,\"r\",\"90x30\"]\n".to_vec();
    for i in 0..1000 {
        cur.extend(format!("[{},\"o\",\"line {i:04} {}\"]\n", 100 + i, "x".repeat(50)).bytes());
    }
    let r = assemble(&part("cur", &cur), MB, 10_000, "s", 0);
    assert!(r.cut);
    assert!(r.text.len() <= 10_000 + 200, "{}", r.text.len());
    let l = lines(&r);
    assert_eq!(l[0]["width"], 90);
    assert_eq!(l[0]["height"], 30);
    assert_eq!(l[1][0], json!(0.0));
    assert!(l.last().unwrap()[2].as_str().unwrap().contains("line 0999"));
    assert!(!r.text.contains("line 0000"));
}

#[test]
fn the_budget_keeps_the_end_of_the_current_part() {
    let mut cur = Vec::new();
    for i in 0..100 {
        cur.extend(format!("[{i},\"o\",\"event {i:03}\"]\n").bytes());
    }
    let r = assemble(&part("cur", &cur), 200, MB, "s", 0);
    assert!(r.text.contains("event 099"));
    assert!(!r.text.contains("event 000"));
    assert!(r.events < 10);
}

#[test]
fn no_events_still_make_a_valid_recording() {
    let r = assemble(b"", MB, MB, "s", 1234);
    assert_eq!(
        lines(&r),
        [json!({"version": 2, "width": 120, "height": 40, "timestamp": 1234, "title": "s"})]
    );
}
