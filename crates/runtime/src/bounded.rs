//! Keeping the end of an output stream in bounded memory, whatever a container prints.

/// The last `limit` bytes pushed, and whether anything before them was dropped.
///
/// Bytes are appended and the front is dropped only once the buffer holds twice the limit,
/// so each byte is moved at most once: 1.5 GB through a 1 MiB tail costs a linear pass,
/// never a quadratic one, and memory stays under twice the limit plus one chunk.
#[derive(Debug)]
pub struct Tail {
    buf: Vec<u8>,
    limit: usize,
    cut: bool,
}

impl Tail {
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            limit,
            cut: false,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= self.limit {
            self.cut |= !self.buf.is_empty() || chunk.len() > self.limit;
            self.buf.clear();
            self.buf
                .extend_from_slice(&chunk[chunk.len() - self.limit..]);
            return;
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() > 2 * self.limit {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.buf.len() > self.limit {
            let excess = self.buf.len() - self.limit;
            self.buf.drain(..excess);
            self.cut = true;
        }
    }

    /// The kept bytes, and whether the front was cut.
    pub fn finish(mut self) -> (Vec<u8>, bool) {
        self.trim();
        self.buf.shrink_to_fit();
        (self.buf, self.cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole_and_not_cut() {
        let mut t = Tail::new(10);
        t.push(b"abc");
        t.push(b"def");
        assert_eq!(t.finish(), (b"abcdef".to_vec(), false));
    }

    #[test]
    fn exactly_the_limit_is_not_cut() {
        let mut t = Tail::new(4);
        t.push(b"ab");
        t.push(b"cd");
        assert_eq!(t.finish(), (b"abcd".to_vec(), false));
        let mut t = Tail::new(4);
        t.push(b"abcd");
        assert_eq!(t.finish(), (b"abcd".to_vec(), false));
    }

    #[test]
    fn long_output_keeps_its_end_and_is_marked_cut() {
        let mut t = Tail::new(5);
        for chunk in [&b"0123"[..], b"4567", b"89", b"abcdefg", b"h"] {
            t.push(chunk);
        }
        assert_eq!(t.finish(), (b"defgh".to_vec(), true));
    }

    #[test]
    fn one_huge_chunk_keeps_its_end() {
        let mut t = Tail::new(3);
        t.push(b"xy");
        t.push(b"0123456789");
        assert_eq!(t.finish(), (b"789".to_vec(), true));
    }

    #[test]
    fn memory_stays_under_twice_the_limit() {
        let mut t = Tail::new(1024);
        let chunk = vec![7u8; 100];
        for _ in 0..100_000 {
            t.push(&chunk);
            assert!(t.buf.len() <= 2 * 1024 + 100);
        }
        let (kept, cut) = t.finish();
        assert_eq!(kept.len(), 1024);
        assert!(cut);
    }
}
