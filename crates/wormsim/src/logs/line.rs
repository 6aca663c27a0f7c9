//! Bounded line reading and transparent gzip.
//!
//! [`LineReader`] hands out one line at a time from any [`BufRead`] of bytes and
//! never holds more than `max_len` bytes of a line: a longer line is reported as
//! [`Line::TooLong`] and skipped to its end without being buffered. Bytes need not
//! be UTF-8. [`open`] peeks at the first two bytes and decompresses gzip
//! (magic `1f 8b`, RFC 1952 §2.3.1) whatever the file is called.

use flate2::bufread::MultiGzDecoder;
use std::io::{self, BufRead, BufReader, Read};

/// Default cap on the length of one line [bytes] (64 KiB).
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// Buffer size for reading files and decompressed data [bytes].
const BUF_SIZE: usize = 256 * 1024;

/// The gzip magic bytes (RFC 1952 §2.3.1: ID1 = 31, ID2 = 139).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without the `\n` or `\r\n` ending.
    Text(&'a [u8]),
    /// The line was longer than the cap; `len` is its full length [bytes].
    TooLong { len: u64 },
}

/// Reads lines of bytes with a cap on their length (see the module docs).
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_len: usize,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader whose lines are at most `max_len` bytes (longer ones are skipped).
    pub fn new(inner: R, max_len: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            max_len,
            line_no: 0,
        }
    }

    /// Number of the line last returned, counting from 1.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line, or `None` at the end of the input. A last line without a
    /// final newline is still returned.
    ///
    /// # Errors
    /// A read error (for gzip: truncated or corrupt data). The partial line read
    /// before the error is dropped; the lines returned before it stay valid.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        let mut ended = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            let (chunk, used) = match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    ended = true;
                    (&avail[..i], i + 1)
                }
                None => (avail, avail.len()),
            };
            len += chunk.len() as u64;
            if !too_long {
                if self.buf.len() + chunk.len() > self.max_len {
                    too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.inner.consume(used);
            if ended {
                break;
            }
        }
        if !ended && len == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if too_long {
            return Ok(Some(Line::TooLong { len }));
        }
        let mut text = &self.buf[..];
        if let [rest @ .., b'\r'] = text {
            text = rest;
        }
        Ok(Some(Line::Text(text)))
    }
}

/// Wrap `reader` in a buffered reader, decompressing it if it starts with the gzip
/// magic bytes. Returns the reader and whether it is gzip. Concatenated gzip
/// members (as `cat a.gz b.gz` makes) are read as one stream.
///
/// # Errors
/// Reading the first two bytes failed.
pub fn open<'a, R: Read + 'a>(mut reader: R) -> io::Result<(Box<dyn BufRead + 'a>, bool)> {
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = io::Cursor::new(head).take(n as u64).chain(reader);
    if n == 2 && head == GZIP_MAGIC {
        let compressed = BufReader::with_capacity(BUF_SIZE, whole);
        let plain = BufReader::with_capacity(BUF_SIZE, MultiGzDecoder::new(compressed));
        Ok((Box::new(plain), true))
    } else {
        Ok((Box::new(BufReader::with_capacity(BUF_SIZE, whole)), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut r = LineReader::new(BufReader::with_capacity(7, input), max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(match l {
                Line::Text(t) => Ok(t.to_vec()),
                Line::TooLong { len } => Err(len),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        let got = lines(b"a\r\nbb\n\nlast", 100);
        assert_eq!(
            got,
            vec![
                Ok(b"a".to_vec()),
                Ok(b"bb".to_vec()),
                Ok(vec![]),
                Ok(b"last".to_vec())
            ]
        );
        assert!(lines(b"", 100).is_empty());
        assert_eq!(lines(b"x\n", 100), vec![Ok(b"x".to_vec())]);
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        let mut input = vec![b'N'; 1000];
        input.extend_from_slice(b"\nok\n");
        input.extend_from_slice(&[b'X'; 30]);
        let got = lines(&input, 20);
        assert_eq!(got, vec![Err(1000), Ok(b"ok".to_vec()), Err(30)]);
        // Exactly at the cap is fine.
        assert_eq!(lines(&[b'a'; 20], 20), vec![Ok(vec![b'a'; 20])]);
    }

    #[test]
    fn line_numbers_count_every_line() {
        let mut r = LineReader::new(&b"a\n\xff\xfe\nc"[..], 100);
        while r.next_line().unwrap().is_some() {}
        assert_eq!(r.line_no(), 3);
    }

    #[test]
    fn open_detects_gzip_by_magic() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello\nworld\n").unwrap();
        let gz = enc.finish().unwrap();
        let (mut r, is_gz) = open(&gz[..]).unwrap();
        assert!(is_gz);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\nworld\n");

        let (mut r, is_gz) = open(&b"\x1fplain"[..]).unwrap();
        assert!(!is_gz);
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        assert_eq!(v, b"\x1fplain");
        let (_, is_gz) = open(&b""[..]).unwrap();
        assert!(!is_gz);
    }
}
