//! Saved states: run one scenario from the end state of another.
//!
//! `wormsim run A --until T --save-checkpoint a.ckpt` writes the state of every
//! host at `T`; a scenario with `[initial] checkpoint = "a.ckpt"` (and
//! `population.model = "checkpoint"`, `scenario.start = T`) starts from it. That
//! chains July into August: the 19 July outbreak, its dormant hosts, who was
//! patched and who rebooted, and the wrong clocks, all carry over.
//!
//! # Format
//! A text file: a `# wormsim checkpoint v1` line, `key = value` header lines
//! (`time`, `space_bits`, `hosts`), a column header, then one line per host with
//! exact values (times as seconds since the epoch in shortest round-trip form):
//!
//! `addr,state,instances,awake,thread_units,threads,traits,clock_offset,flags,first_infected_at,first_infector,infected_at,patch_at`
//!
//! `state` is `S`, `I`, `P` or `C`; `flags` a subset of `bdaz` (backdoor,
//! defaced, asleep for good, dead); empty times mean none.
//!
//! The last line, `# checksum fnv1a64 <16 hex digits>`, is the 64-bit FNV-1a
//! hash of every byte before it. A file whose contents no longer match it is
//! refused as damaged (a flipped digit would otherwise start a silently
//! different run). A file without the line (hand-made, or edited and the line
//! deleted) is read without the check.

use crate::engine::{HostState, NO_HOST, Setup};
use crate::population::{Population, fmt_addr, parse_addr};
use crate::scenario::Scenario;
use crate::time::SimTime;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

const MAGIC: &str = "# wormsim checkpoint v1";
const CHECKSUM: &str = "# checksum fnv1a64 ";

/// 64-bit FNV-1a (Fowler, Noll and Vo) of `bytes`: the checksum of
/// checkpoints, and of sweep unit files (`wormsim` CLI).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
const COLUMNS: &str = "addr,state,instances,awake,thread_units,threads,traits,clock_offset,flags,first_infected_at,first_infector,infected_at,patch_at";

/// One host in a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSnapshot {
    pub addr: u32,
    pub state: HostState,
    pub instances: u8,
    pub awake: u32,
    pub thread_units: u64,
    pub threads: u16,
    pub traits: u8,
    pub clock_offset: f64,
    pub backdoor: bool,
    pub defaced: bool,
    pub asleep: bool,
    pub dead: bool,
    pub first_infected_at: f64,
    /// Host index of the first infector, or [`NO_HOST`].
    pub first_infector: u32,
    pub infected_at: f64,
    /// A pending patch install [s], or NaN.
    pub patch_at: f64,
}

/// The state of every host at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub time: SimTime,
    pub space_bits: u8,
    /// Hosts in address order (the population's order).
    pub hosts: Vec<HostSnapshot>,
}

/// Distinct numbers of threads per instance a checkpoint may carry: the
/// general engine keeps a host's as a one-byte index into a table.
pub const MAX_THREAD_COUNTS: usize = 256;

/// Why a checkpoint could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{col}: {msg}")]
pub struct CheckpointError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

fn time_str(t: f64) -> String {
    if t.is_nan() {
        String::new()
    } else {
        format!("{t}")
    }
}

impl Checkpoint {
    /// Render as text (see the module docs).
    pub fn to_text(&self) -> String {
        let mut o = String::with_capacity(100 * self.hosts.len() + 200);
        let _ = writeln!(o, "{MAGIC}");
        let _ = writeln!(o, "time = {}", self.time.secs());
        let _ = writeln!(o, "time_utc = {}", self.time);
        let _ = writeln!(o, "space_bits = {}", self.space_bits);
        let _ = writeln!(o, "hosts = {}", self.hosts.len());
        let _ = writeln!(o, "{COLUMNS}");
        for h in &self.hosts {
            let state = match h.state {
                HostState::Susceptible => 'S',
                HostState::Infected => 'I',
                HostState::Patched => 'P',
                HostState::Crashed => 'C',
            };
            let mut flags = String::new();
            for (on, c) in [
                (h.backdoor, 'b'),
                (h.defaced, 'd'),
                (h.asleep, 'a'),
                (h.dead, 'z'),
            ] {
                if on {
                    flags.push(c);
                }
            }
            let by = if h.first_infector == NO_HOST {
                String::new()
            } else {
                fmt_addr(self.hosts[h.first_infector as usize].addr)
            };
            let _ = writeln!(
                o,
                "{},{state},{},{},{},{},{},{},{flags},{},{by},{},{}",
                fmt_addr(h.addr),
                h.instances,
                h.awake,
                h.thread_units,
                h.threads,
                h.traits,
                h.clock_offset,
                time_str(h.first_infected_at),
                time_str(h.infected_at),
                time_str(h.patch_at)
            );
        }
        let sum = fnv1a64(o.as_bytes());
        let _ = writeln!(o, "{CHECKSUM}{sum:016x}");
        o
    }

    /// Read a checkpoint file.
    ///
    /// # Errors
    /// [`CheckpointError`] with the line and column of the first problem.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CheckpointError {
            file: name.clone(),
            line: 1,
            col: 1,
            msg: format!("cannot read the checkpoint: {e}"),
        })?;
        Checkpoint::parse(&name, &text)
    }

    /// Parse checkpoint text; `name` is used in errors.
    ///
    /// # Errors
    /// [`CheckpointError`]: a field that does not parse (with its line and
    /// column), or, when every field parses, contents that do not match the
    /// checksum line.
    pub fn parse(name: &str, text: &str) -> Result<Checkpoint, CheckpointError> {
        // The checksum line, if any: the last line, covering all before it.
        let trimmed = text.trim_end_matches(['\n', '\r']);
        let at = trimmed.rfind('\n').map_or(0, |i| i + 1);
        let (body, sum) = match trimmed[at..].strip_prefix(CHECKSUM) {
            Some(hex) => (&text[..at], Some((hex.trim(), trimmed.lines().count()))),
            None => (text, None),
        };
        let c = Checkpoint::parse_body(name, body)?;
        if let Some((hex, line)) = sum {
            let want = u64::from_str_radix(hex, 16).ok();
            if want != Some(fnv1a64(body.as_bytes())) {
                return Err(CheckpointError {
                    file: name.to_string(),
                    line,
                    col: 1,
                    msg: "the checkpoint is damaged: its contents do not match its checksum \
                          line; save it again with --save-checkpoint (if you edited it on \
                          purpose, delete the checksum line)"
                        .into(),
                });
            }
        }
        Ok(c)
    }

    fn parse_body(name: &str, text: &str) -> Result<Checkpoint, CheckpointError> {
        let err = |line: usize, col: usize, msg: String| CheckpointError {
            file: name.to_string(),
            line,
            col,
            msg,
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim() == MAGIC => {}
            _ => {
                return Err(err(
                    1,
                    1,
                    format!("not a wormsim checkpoint (the first line must be `{MAGIC}`)"),
                ));
            }
        }
        let (mut time, mut bits, mut count) = (None, None, None);
        for (i, l) in lines.by_ref() {
            if l == COLUMNS {
                break;
            }
            let (k, v) = l.split_once('=').ok_or_else(|| {
                err(
                    i + 1,
                    1,
                    format!("expected `key = value` or the column header, found `{l}`"),
                )
            })?;
            let v = v.trim();
            let bad = |what: &str| {
                err(
                    i + 1,
                    l.find('=').unwrap_or(0) + 3,
                    format!("bad {what} `{v}`"),
                )
            };
            match k.trim() {
                "time" => {
                    time = Some(
                        v.parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite())
                            .ok_or_else(|| bad("time"))?,
                    )
                }
                "time_utc" => {}
                "space_bits" => {
                    bits = Some(
                        v.parse::<u8>()
                            .ok()
                            .filter(|b| (16..=32).contains(b))
                            .ok_or_else(|| bad("space_bits"))?,
                    )
                }
                "hosts" => count = Some(v.parse::<usize>().map_err(|_| bad("host count"))?),
                other => return Err(err(i + 1, 1, format!("unknown header key `{other}`"))),
            }
        }
        let time = time.ok_or_else(|| err(1, 1, "missing `time` header".into()))?;
        let space_bits = bits.ok_or_else(|| err(1, 1, "missing `space_bits` header".into()))?;
        let count = count.ok_or_else(|| err(1, 1, "missing `hosts` header".into()))?;
        let mut hosts = Vec::with_capacity(count);
        let mut infector_addr: Vec<Option<u32>> = Vec::with_capacity(count);
        let mut thread_counts: Vec<u16> = Vec::new();
        for (i, l) in lines {
            if l.is_empty() {
                continue;
            }
            let ln = i + 1;
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 13 {
                return Err(err(ln, 1, format!("expected 13 fields, found {}", f.len())));
            }
            let col = |k: usize| f[..k].iter().map(|x| x.len() + 1).sum::<usize>() + 1;
            let num = |k: usize, what: &str| -> Result<u64, CheckpointError> {
                f[k].parse::<u64>()
                    .map_err(|_| err(ln, col(k), format!("bad {what} `{}`", f[k])))
            };
            let time_f = |k: usize| -> Result<f64, CheckpointError> {
                if f[k].is_empty() {
                    Ok(f64::NAN)
                } else {
                    f[k].parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| err(ln, col(k), format!("bad time `{}`", f[k])))
                }
            };
            let addr =
                parse_addr(f[0]).ok_or_else(|| err(ln, 1, format!("bad address `{}`", f[0])))?;
            let state = match f[1] {
                "S" => HostState::Susceptible,
                "I" => HostState::Infected,
                "P" => HostState::Patched,
                "C" => HostState::Crashed,
                other => {
                    return Err(err(
                        ln,
                        col(1),
                        format!("bad state `{other}`; use S, I, P or C"),
                    ));
                }
            };
            let flags = f[8];
            if let Some(c) = flags.chars().find(|c| !"bdaz".contains(*c)) {
                return Err(err(ln, col(8), format!("bad flag `{c}`; use b, d, a, z")));
            }
            let clock_offset = f[7]
                .parse::<f64>()
                .ok()
                .filter(|x| x.abs() <= crate::calendar::MAX_CLOCK_ERROR)
                .ok_or_else(|| {
                    err(
                        ln,
                        col(7),
                        format!(
                            "bad clock offset `{}`; use seconds within ±{} (a century)",
                            f[7],
                            crate::calendar::MAX_CLOCK_ERROR
                        ),
                    )
                })?;
            infector_addr.push(if f[10].is_empty() {
                None
            } else {
                Some(
                    parse_addr(f[10]).ok_or_else(|| {
                        err(ln, col(10), format!("bad infector address `{}`", f[10]))
                    })?,
                )
            });
            let threads = num(5, "thread count")?.min(u16::MAX as u64) as u16;
            if !thread_counts.contains(&threads) {
                if thread_counts.len() == MAX_THREAD_COUNTS {
                    return Err(err(
                        ln,
                        col(5),
                        format!(
                            "thread count `{threads}` is the {}th distinct one; the general \
                             engine keeps at most {MAX_THREAD_COUNTS} distinct numbers of threads \
                             per instance: give this host one of the counts already used",
                            MAX_THREAD_COUNTS + 1
                        ),
                    ));
                }
                thread_counts.push(threads);
            }
            hosts.push(HostSnapshot {
                addr,
                state,
                instances: num(2, "instance count")?.min(255) as u8,
                awake: num(3, "awake thread count")? as u32,
                thread_units: num(4, "rate")?,
                threads,
                traits: num(6, "traits")?.min(255) as u8,
                clock_offset,
                backdoor: flags.contains('b'),
                defaced: flags.contains('d'),
                asleep: flags.contains('a'),
                dead: flags.contains('z'),
                first_infected_at: time_f(9)?,
                first_infector: NO_HOST,
                infected_at: time_f(11)?,
                patch_at: time_f(12)?,
            });
        }
        if hosts.len() != count {
            return Err(err(
                text.lines().count(),
                1,
                format!(
                    "the header says {count} hosts, the file has {}",
                    hosts.len()
                ),
            ));
        }
        if hosts.windows(2).any(|w| w[0].addr >= w[1].addr) {
            return Err(err(
                1,
                1,
                "hosts must be listed in increasing address order, once each".into(),
            ));
        }
        for (i, a) in infector_addr.into_iter().enumerate() {
            if let Some(a) = a {
                let j = hosts
                    .binary_search_by_key(&a, |h| h.addr)
                    .map_err(|_| err(1, 1, format!("infector {} is not a host", fmt_addr(a))))?;
                hosts[i].first_infector = j as u32;
            }
        }
        Ok(Checkpoint {
            time: SimTime(time),
            space_bits,
            hosts,
        })
    }

    /// The setup a run starting from this checkpoint uses.
    pub fn setup(self: &Arc<Self>, _s: &Scenario) -> Setup {
        let addrs: Vec<u32> = self.hosts.iter().map(|h| h.addr).collect();
        let population =
            Population::from_addrs(self.space_bits, addrs).expect("checked when loaded");
        let mut clock = Vec::new();
        for (i, h) in self.hosts.iter().enumerate() {
            if h.traits & crate::engine::trait_bit::WRONG_CLOCK != 0 {
                clock.push((i as u32, h.clock_offset));
            }
        }
        Setup {
            population,
            thread_units: self.hosts.iter().map(|h| h.thread_units).collect(),
            threads: self.hosts.iter().map(|h| h.threads.max(1)).collect(),
            flags: self.hosts.iter().map(|h| h.traits).collect(),
            clock,
            seeds: Vec::new(),
            patched: Vec::new(),
            checkpoint: Some(Arc::clone(self)),
        }
    }

    /// Pending patch installs (host, time).
    pub fn pending_patches(&self, _p: &Population) -> Vec<(u32, f64)> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.patch_at.is_nan() && h.state != HostState::Patched)
            .map(|(i, h)| (i as u32, h.patch_at))
            .collect()
    }

    /// Hosts ever infected, in the order of their first infection.
    pub fn infection_order(&self, first_at: &[f64]) -> Vec<u32> {
        let mut v: Vec<u32> = (0..first_at.len() as u32)
            .filter(|&h| !first_at[h as usize].is_nan())
            .collect();
        v.sort_by(|&a, &b| {
            first_at[a as usize]
                .total_cmp(&first_at[b as usize])
                .then(a.cmp(&b))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let h = |addr, state, first: f64, by| HostSnapshot {
            addr,
            state,
            instances: u8::from(state == HostState::Infected),
            awake: 0,
            thread_units: 63_550,
            threads: 99,
            traits: 1,
            clock_offset: 0.0,
            backdoor: false,
            defaced: false,
            asleep: false,
            dead: false,
            first_infected_at: first,
            first_infector: by,
            infected_at: first,
            patch_at: f64::NAN,
        };
        Checkpoint {
            time: SimTime(995_587_200.0),
            space_bits: 32,
            hosts: vec![
                h(10, HostState::Infected, 995_500_000.123_456_7, NO_HOST),
                h(20, HostState::Susceptible, f64::NAN, NO_HOST),
                h(30, HostState::Patched, 995_500_100.5, 0),
            ],
        }
    }

    #[test]
    fn text_round_trip_is_exact() {
        let c = sample();
        let text = c.to_text();
        let back = Checkpoint::parse("x.ckpt", &text).unwrap();
        assert_eq!(back.hosts.len(), 3);
        assert_eq!(back.time, c.time);
        assert_eq!(
            back.hosts[0].first_infected_at.to_bits(),
            c.hosts[0].first_infected_at.to_bits()
        );
        assert_eq!(back.hosts[2].first_infector, 0);
        assert!(back.hosts[1].first_infected_at.is_nan());
        assert_eq!(back.to_text(), text);
    }

    /// A flipped digit that still parses is caught by the checksum line;
    /// without the line the file is read as it is.
    #[test]
    fn a_damaged_checkpoint_is_refused() {
        let text = sample().to_text();
        assert!(text.lines().last().unwrap().starts_with(CHECKSUM));
        let flipped = text.replace("995500100.5", "995500100.6");
        assert_ne!(flipped, text);
        let e = Checkpoint::parse("x.ckpt", &flipped).unwrap_err();
        assert!(e.msg.contains("damaged"), "{e}");
        assert_eq!(e.line, text.lines().count(), "{e}");
        let unchecked: String = flipped
            .lines()
            .filter(|l| !l.starts_with(CHECKSUM))
            .map(|l| format!("{l}\n"))
            .collect();
        let c = Checkpoint::parse("x.ckpt", &unchecked).unwrap();
        assert_eq!(c.hosts[2].first_infected_at, 995_500_100.6);
        // Windows line ends after the checksum line, and a damaged checksum.
        assert!(Checkpoint::parse("x.ckpt", &format!("{}\r\n", text.trim_end())).is_ok());
        let bad_sum = format!("{}{CHECKSUM}zz\n", &text[..text.rfind(CHECKSUM).unwrap()]);
        assert!(Checkpoint::parse("x.ckpt", &bad_sum).is_err());
    }

    /// A clock offset beyond a century is refused, as the scenario's
    /// `wrong_clock_max_days` is (the calendar cannot step such a clock).
    #[test]
    fn a_clock_offset_beyond_a_century_is_refused() {
        let mut c = sample();
        c.hosts[1].clock_offset = -crate::calendar::MAX_CLOCK_ERROR;
        let back = Checkpoint::parse("x.ckpt", &c.to_text()).expect("a century is allowed");
        assert_eq!(
            back.hosts[1].clock_offset,
            -crate::calendar::MAX_CLOCK_ERROR
        );
        for off in [crate::calendar::MAX_CLOCK_ERROR * 1.001, 1e20, -1e300] {
            c.hosts[1].clock_offset = off;
            let e = Checkpoint::parse("x.ckpt", &c.to_text()).unwrap_err();
            assert!(e.msg.contains("bad clock offset"), "{off}: {e}");
            assert!(e.msg.contains("a century"), "{off}: {e}");
        }
    }

    #[test]
    fn errors_point_at_the_field() {
        let text = sample().to_text().replace("0.0.0.20,S", "0.0.0.20,Q");
        let e = Checkpoint::parse("x.ckpt", &text).unwrap_err();
        assert_eq!((e.line, e.col), (8, 10), "{e}");
        assert!(
            Checkpoint::parse("x.ckpt", "hello")
                .unwrap_err()
                .msg
                .contains("not a wormsim checkpoint")
        );
        let mut many = sample();
        many.hosts = (0..300u32)
            .map(|k| HostSnapshot {
                addr: k,
                threads: 1 + k as u16,
                ..many.hosts[1]
            })
            .collect();
        let e = Checkpoint::parse("x.ckpt", &many.to_text()).unwrap_err();
        assert_eq!((e.line, e.col), (6 + 257, 21), "{e}");
        assert!(e.msg.contains("at most 256 distinct"), "{e}");
        let short = sample().to_text().replace("hosts = 3", "hosts = 4");
        assert!(
            Checkpoint::parse("x.ckpt", &short)
                .unwrap_err()
                .msg
                .contains("says 4 hosts")
        );
    }
}
