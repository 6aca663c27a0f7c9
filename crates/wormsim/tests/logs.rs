//! Integration tests for `wormsim::logs`: fixtures in every format, aggregation,
//! hostile input.

use std::io::Write;
use std::path::{Path, PathBuf};
use wormsim::logs::{Analysis, Class, Format, Options, Scanner};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/logs")
        .join(name)
}

fn scan_files(names: &[&str], opts: Options) -> Analysis {
    let mut s = Scanner::new(opts).unwrap();
    for n in names {
        s.scan_path(&fixture(n)).unwrap();
    }
    s.finish().unwrap()
}

fn scan_bytes(bytes: &[u8], opts: Options) -> Analysis {
    let mut s = Scanner::new(opts).unwrap();
    s.scan_reader("input", bytes);
    s.finish().unwrap()
}

/// Every way to read a log: the format sniffed, then each format forced.
const EVERY_FORMAT: [Option<Format>; 5] = [
    None,
    Some(Format::Common),
    Some(Format::Combined),
    Some(Format::Error),
    Some(Format::W3c),
];

/// [`scan_bytes`] with the format forced (or sniffed, for `None`).
fn scan_as(bytes: &[u8], format: Option<Format>) -> Analysis {
    scan_bytes(
        bytes,
        Options {
            format,
            ..Options::default()
        },
    )
}

fn by_class(a: &Analysis) -> [u64; 5] {
    a.report.by_class
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

mod formats {
    use super::*;

    /// crv1v2, crii, nimda, ida_generic, other for the ten shared events.
    const TEN: [u64; 5] = [1, 1, 2, 1, 5];

    #[test]
    fn the_same_events_in_common_combined_and_w3c() {
        for (file, format, extra_other) in [
            ("access_common.log", Format::Common, 0),
            ("access_combined.log", Format::Combined, 1),
            ("iis_w3c.log", Format::W3c, 0),
        ] {
            let a = scan_files(&[file], Options::default());
            let mut want = TEN;
            want[4] += extra_other;
            assert_eq!(by_class(&a), want, "{file}");
            assert_eq!(a.report.malformed, 0, "{file}");
            assert_eq!(a.report.files[0].format, Some(format), "{file}");
            let srcs: Vec<String> = a.sources.iter().map(|s| s.source.to_string()).collect();
            assert_eq!(
                srcs,
                ["10.0.0.1", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
                "{file}"
            );
            // Times: common/combined carry -0700, W3C is UTC; all must agree.
            assert_eq!(a.sources[0].first_seen.to_string(), "2001-07-19T10:12:01Z");
            assert_eq!(a.sources[1].first_seen.to_string(), "2001-08-04T16:33:38Z");
            assert_eq!(a.sources[0].by_class, [1, 0, 0, 0]);
            assert_eq!(a.sources[1].by_class, [0, 1, 0, 0]);
            assert_eq!(a.sources[2].by_class, [0, 0, 2, 0]);
            assert_eq!(a.sources[3].by_class, [0, 0, 0, 1]);
            // Forcing the right format gives the same answer.
            let forced = scan_files(
                &[file],
                Options {
                    format: Some(format),
                    ..Options::default()
                },
            );
            assert_eq!(by_class(&forced), want, "{file} forced");
        }
    }

    #[test]
    fn w3c_directives_are_not_requests() {
        let a = scan_files(&["iis_w3c.log"], Options::default());
        assert_eq!(a.report.not_requests, 4);
        assert_eq!(a.report.lines, 14);
    }

    #[test]
    fn error_log_classifies_what_it_has() {
        let a = scan_files(&["error_log"], Options::default());
        assert_eq!(a.report.files[0].format, Some(Format::Error));
        assert_eq!(a.report.not_requests, 1); // the [notice] line
        assert_eq!(a.report.malformed, 0);
        // default.ida (generic: no query in error_log), favicon, robots+referer,
        // malformed Host header (other), Invalid URI with the CRII request,
        // root.exe and cmd.exe (Nimda).
        assert_eq!(by_class(&a), [0, 1, 2, 1, 3]);
        let srcs: Vec<String> = a.sources.iter().map(|s| s.source.to_string()).collect();
        assert_eq!(srcs, ["10.0.0.1", "10.0.0.4", "10.0.0.8"]);
        assert_eq!(a.sources[0].by_class, [0, 0, 0, 1]);
    }

    #[test]
    fn error_log_local_time_offset() {
        let a = scan_files(
            &["error_log"],
            Options {
                error_offset: -7.0 * 3600.0,
                ..Options::default()
            },
        );
        assert_eq!(a.sources[0].first_seen.to_string(), "2001-07-19T17:12:01Z");
    }

    #[test]
    fn apache_24_error_log() {
        let a = scan_files(&["error_log_24"], Options::default());
        assert_eq!(a.report.files[0].format, Some(Format::Error));
        assert_eq!(by_class(&a), [0, 0, 1, 1, 0]);
        assert_eq!(a.report.not_requests, 1);
        let srcs: Vec<String> = a.sources.iter().map(|s| s.source.to_string()).collect();
        assert_eq!(srcs, ["10.0.0.1", "2001:db8::7"]);
        assert_eq!(
            a.sources[0].first_seen.to_string(),
            "2001-07-19T10:12:01.123Z"
        );
    }

    #[test]
    fn wrong_forced_format_makes_every_line_malformed() {
        let a = scan_files(
            &["access_common.log"],
            Options {
                format: Some(Format::W3c),
                ..Options::default()
            },
        );
        assert_eq!(a.report.malformed, 10);
        assert_eq!(a.report.requests, 0);
        assert_eq!(a.report.malformed_examples.len(), 10);
        assert_eq!(a.report.malformed_examples[3].line, 4);
        assert!(
            a.report.malformed_examples[0]
                .file
                .ends_with("access_common.log")
        );
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let plain = std::fs::read(fixture("iis_w3c.log")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ex010719.log"); // no .gz ending
        std::fs::write(&p, gzip(&plain)).unwrap();
        let mut s = Scanner::new(Options::default()).unwrap();
        let fr = s.scan_path(&p).unwrap().clone();
        assert!(fr.gzip);
        assert_eq!(fr.format, Some(Format::W3c));
        let a = s.finish().unwrap();
        assert_eq!(by_class(&a), TEN);
    }
}

mod aggregation {
    use super::*;

    #[test]
    fn first_last_seen_and_new_sources_per_bin() {
        let a = scan_files(&["aggregate.log"], Options::default());
        let rows: Vec<(String, u64, u64, u64, u64)> = a
            .series
            .iter()
            .map(|r| {
                (
                    r.time.to_string(),
                    r.probes_seen,
                    r.unique_sources,
                    r.new_sources,
                    r.cumulative_sources,
                )
            })
            .collect();
        let want = [
            ("2001-07-19T09:00:00Z", 1, 1, 1, 1),
            ("2001-07-19T10:00:00Z", 3, 2, 2, 3),
            ("2001-07-19T11:00:00Z", 2, 2, 1, 4),
            ("2001-07-19T12:00:00Z", 0, 0, 0, 4),
            ("2001-07-19T13:00:00Z", 1, 1, 0, 4),
        ]
        .map(|(t, p, u, n, c)| (t.to_string(), p, u, n, c));
        assert_eq!(rows, want);

        let src: Vec<(String, String, String, u64, [u64; 4])> = a
            .sources
            .iter()
            .map(|s| {
                (
                    s.source.to_string(),
                    s.first_seen.to_string(),
                    s.last_seen.to_string(),
                    s.probes,
                    s.by_class,
                )
            })
            .collect();
        let want = [
            (
                "9.1.1.1",
                "2001-07-19T11:20:00Z",
                "2001-07-19T11:20:00Z",
                1,
                [0, 1, 0, 0],
            ),
            (
                "10.0.0.9",
                "2001-07-19T10:10:00Z",
                "2001-07-19T13:15:00Z",
                2,
                [2, 0, 0, 0],
            ),
            (
                "10.0.0.10",
                "2001-07-19T10:05:00Z",
                "2001-07-19T11:30:00Z",
                3,
                [2, 0, 0, 1],
            ),
            (
                "2001:db8::1",
                "2001-07-19T09:59:59Z",
                "2001-07-19T09:59:59Z",
                1,
                [0, 0, 1, 0],
            ),
        ]
        .map(|(s, f, l, p, c)| (s.to_string(), f.to_string(), l.to_string(), p, c));
        assert_eq!(src, want);
    }

    #[test]
    fn other_bin_widths() {
        let a = scan_files(
            &["aggregate.log"],
            Options {
                bin: 2 * 3600,
                ..Options::default()
            },
        );
        let t: Vec<(String, u64, u64)> = a
            .series
            .iter()
            .map(|r| (r.time.to_string(), r.probes_seen, r.new_sources))
            .collect();
        assert_eq!(
            t,
            [
                ("2001-07-19T08:00:00Z".to_string(), 1, 1),
                ("2001-07-19T10:00:00Z".to_string(), 5, 3),
                ("2001-07-19T12:00:00Z".to_string(), 1, 0),
            ]
        );
        assert!(
            Scanner::new(Options {
                bin: 0,
                ..Options::default()
            })
            .is_err()
        );
    }

    #[test]
    fn split_files_and_gzip_give_the_same_result() {
        let text = std::fs::read(fixture("aggregate.log")).unwrap();
        let whole = scan_bytes(&text, Options::default());
        let cut = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(3)
            .unwrap()
            .0
            + 1;
        let mut s = Scanner::new(Options::default()).unwrap();
        s.scan_reader("part1.gz", &gzip(&text[..cut])[..]);
        s.scan_reader("part2", &text[cut..]);
        let parts = s.finish().unwrap();
        assert_eq!(parts.series, whole.series);
        assert_eq!(parts.sources, whole.sources);
        assert_eq!(parts.report.by_class, whole.report.by_class);
        // Reversed line order: same output (order-independent aggregation).
        let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        lines.reverse();
        let rev = scan_bytes(&lines.join(&b'\n'), Options::default());
        assert_eq!(rev.series, whole.series);
        assert_eq!(rev.sources, whole.sources);
    }

    #[test]
    fn no_worms_no_rows() {
        let a = scan_bytes(
            b"1.2.3.4 - - [19/Jul/2001:10:00:00 +0000] \"GET / HTTP/1.0\" 200 5\n",
            Options::default(),
        );
        assert_eq!(a.report.requests, 1);
        assert_eq!(a.report.by_class[Class::Other.index()], 1);
        assert!(a.series.is_empty());
        assert!(a.sources.is_empty());
    }
}

mod hostile {
    use super::*;

    const GOOD: &[u8] = b"10.0.0.1 - - [19/Jul/2001:10:12:01 +0000] \"GET /default.ida?NNNNNNNNNNNNNNNNN HTTP/1.0\" 404 5\n";

    #[test]
    fn huge_line_is_malformed_and_skipped() {
        let mut input = GOOD.to_vec();
        // 5 MB line with no newline until the end, then a good line.
        input.extend(std::iter::repeat_n(b'N', 5_000_000));
        input.push(b'\n');
        input.extend_from_slice(GOOD);
        let a = scan_bytes(&input, Options::default());
        assert_eq!(a.report.lines, 3);
        assert_eq!(a.report.requests, 2);
        assert_eq!(a.report.malformed, 1);
        assert_eq!(a.report.malformed_examples[0].line, 2);
        assert!(a.report.malformed_examples[0].why.contains("longer"));
        assert_eq!(a.report.bytes, input.len() as u64);
    }

    #[test]
    fn invalid_utf8_is_read_as_bytes() {
        let line = b"10.0.0.1 - - [19/Jul/2001:10:12:01 +0000] \"GET /scripts/..\xc0\xaf../winnt/system32/cmd.exe?/c+dir HTTP/1.0\" 404 5\n\xff\xfe\xfd\n";
        let a = scan_bytes(line, Options::default());
        assert_eq!(a.report.by_class[Class::Nimda.index()], 1);
        assert_eq!(a.report.malformed, 1);
    }

    #[test]
    fn binary_garbage_never_panics() {
        // A fixed pseudo-random stream (xorshift), with and without newlines.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut bytes = Vec::with_capacity(1 << 20);
        for _ in 0..(1 << 20) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push(x as u8);
        }
        for format in EVERY_FORMAT {
            let a = scan_as(&bytes, format);
            assert_eq!(a.report.requests, 0);
            assert_eq!(
                a.report.lines,
                a.report.malformed + a.report.not_requests,
                "{format:?}"
            );
        }
    }

    #[test]
    fn truncated_gzip_keeps_what_was_read() {
        let mut text = Vec::new();
        for i in 0..2000 {
            text.extend_from_slice(
                format!(
                    "10.0.{}.{} - - [19/Jul/2001:10:12:01 +0000] \"GET /default.ida?NNNNNNNNNNNNNNNNNNNNNNNN HTTP/1.0\" 404 5\n",
                    i / 250,
                    i % 250
                )
                .as_bytes(),
            );
        }
        let gz = gzip(&text);
        let cut = &gz[..gz.len() / 2];
        let mut s = Scanner::new(Options::default()).unwrap();
        let fr = s.scan_reader("cut.gz", cut).clone();
        assert!(fr.gzip);
        let err = fr.error.expect("truncation is reported");
        assert!(err.contains("gzip"), "{err}");
        assert!(fr.lines > 0 && fr.lines < 2000, "{}", fr.lines);
        assert_eq!(
            fr.malformed, 0,
            "the partial last line is dropped, not counted"
        );
        // The file after it is still read.
        s.scan_reader("next", GOOD);
        let a = s.finish().unwrap();
        assert_eq!(a.report.requests, fr.lines + 1);
        assert_eq!(a.sources.len() as u64, fr.lines.min(2000)); // distinct addresses
    }

    #[test]
    fn corrupt_gzip_header_and_empty_input() {
        let mut s = Scanner::new(Options::default()).unwrap();
        let fr = s
            .scan_reader("bad.gz", &[0x1f, 0x8b, 0x08, 0xff, 0x00][..])
            .clone();
        assert!(fr.error.is_some());
        assert_eq!(fr.lines, 0);
        let fr = s.scan_reader("empty", &b""[..]).clone();
        assert!(fr.error.is_none());
        assert_eq!((fr.lines, fr.format), (0, None));
        let fr = s.scan_reader("only-gzip-magic", &[0x1f, 0x8b][..]).clone();
        assert!(fr.error.is_some());
        let a = s.finish().unwrap();
        assert_eq!(a.report.lines, 0);
        assert!(a.series.is_empty());
    }

    #[test]
    fn missing_file_is_an_error() {
        let mut s = Scanner::new(Options::default()).unwrap();
        let e = s.scan_path(&fixture("no-such-file.log")).unwrap_err();
        assert!(e.to_string().contains("no-such-file.log"), "{e}");
        let e = s.scan_path(&fixture("")).unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[test]
    fn absurd_time_span_is_a_clear_error() {
        let mut s = Scanner::new(Options {
            bin: 1,
            ..Options::default()
        })
        .unwrap();
        s.scan_reader(
            "x",
            &b"1.1.1.1 - - [19/Jul/2001:10:00:00 +0000] \"GET /default.ida HTTP/1.0\" 404 5\n\
               1.1.1.1 - - [19/Jul/2101:10:00:00 +0000] \"GET /default.ida HTTP/1.0\" 404 5\n"[..],
        );
        let e = s.finish().unwrap_err();
        assert!(e.to_string().contains("larger bin width"), "{e}");
    }
}

/// Inputs that once crashed the `logs_parse` fuzz target, replayed in every format.
mod fuzz_regressions {
    use super::*;

    #[test]
    fn replay() {
        let dir = fixture("fuzz-regressions");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            for format in EVERY_FORMAT {
                let a = scan_as(&data, format);
                let r = &a.report;
                assert_eq!(r.lines, r.requests + r.not_requests + r.malformed);
            }
            n += 1;
        }
        assert!(n >= 1);
    }
}
