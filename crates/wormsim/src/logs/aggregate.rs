//! Per-source records and the binned series of worm requests.
//!
//! Memory: one record per distinct worm source, plus one entry per
//! distinct (source, bin) pair and per non-empty bin. It grows with the number
//! of sources and the time they span, not with the number of lines read.

use super::classify::Class;
use super::source::SourceId;
use crate::time::SimTime;
use std::collections::{BTreeMap, HashMap};

/// Columns of the series (`series.csv`), shared with the darknet telescope.
pub const SERIES_COLUMNS: [&str; 5] = [
    "time",
    "probes_seen",
    "unique_sources",
    "new_sources",
    "cumulative_sources",
];

/// Columns of the per-source table (`sources.csv`): the telescope's four, then
/// one count per worm class.
pub const SOURCE_COLUMNS: [&str; 8] = [
    "source",
    "first_seen",
    "last_seen",
    "probes",
    "crv1v2",
    "crii",
    "nimda",
    "ida_generic",
];

/// Most rows a series may have; more means the bin is too small for the span.
pub const MAX_SERIES_ROWS: i64 = 1_000_000;

/// Why aggregation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AggregateError {
    #[error(
        "bin width {0} s is out of range; use a whole number of seconds from 1 to 3162240000 (100 years)"
    )]
    Bin(u64),
    #[error(
        "the worm requests span {first} to {last}, {rows} bins of {bin} s (at most {max}); use a larger bin width (--bin)"
    )]
    TooManyBins {
        first: SimTime,
        last: SimTime,
        rows: i64,
        bin: u64,
        max: i64,
    },
}

/// What is known of one source.
#[derive(Clone, Debug, Default)]
struct SourceState {
    first: f64,
    last: f64,
    /// Worm requests by class, in [`Class::WORMS`] order.
    counts: [u64; 4],
    /// Bins with a request from this source, sorted, distinct.
    bins: Vec<i64>,
}

/// One row of the series: a bin and what was seen in it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// Start of the bin (bins are aligned to multiples of the bin width since
    /// 1970-01-01T00:00:00Z).
    pub time: SimTime,
    /// Worm requests in the bin.
    pub probes_seen: u64,
    /// Distinct sources with a worm request in the bin.
    pub unique_sources: u64,
    /// Sources whose first worm request is in the bin.
    pub new_sources: u64,
    /// Distinct sources seen up to the end of the bin.
    pub cumulative_sources: u64,
}

/// One source's record.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceRow {
    pub source: SourceId,
    pub first_seen: SimTime,
    pub last_seen: SimTime,
    /// All worm requests from the source.
    pub probes: u64,
    /// Worm requests by class, in [`Class::WORMS`] order
    /// (`crv1v2`, `crii`, `nimda`, `ida_generic`).
    pub by_class: [u64; 4],
}

/// Accumulates worm requests in any time order.
///
/// Sources are kept in a hash map for speed; every output is sorted (sources by
/// address, rows by time), so no hash order ever reaches an output.
#[derive(Clone, Debug)]
pub struct Aggregator {
    bin: u64,
    sources: HashMap<SourceId, SourceState>,
    probes: BTreeMap<i64, u64>,
}

impl Aggregator {
    /// An empty aggregator with bins of `bin` seconds.
    ///
    /// # Errors
    /// [`AggregateError::Bin`] if `bin` is 0 or above 100 years.
    pub fn new(bin: u64) -> Result<Aggregator, AggregateError> {
        if bin == 0 || bin > 100 * 366 * 86_400 {
            return Err(AggregateError::Bin(bin));
        }
        Ok(Aggregator {
            bin,
            sources: HashMap::new(),
            probes: BTreeMap::new(),
        })
    }

    /// The bin width [s].
    pub fn bin(&self) -> u64 {
        self.bin
    }

    fn bin_of(&self, time: f64) -> i64 {
        (time / self.bin as f64).floor() as i64
    }

    /// Record one request; requests of [`Class::Other`] are ignored.
    pub fn add(&mut self, time: f64, source: &SourceId, class: Class) {
        if !class.is_worm() || !time.is_finite() {
            return;
        }
        let b = self.bin_of(time);
        *self.probes.entry(b).or_insert(0) += 1;
        let s = match self.sources.get_mut(source) {
            Some(s) => s,
            None => self.sources.entry(source.clone()).or_insert(SourceState {
                first: time,
                last: time,
                ..SourceState::default()
            }),
        };
        s.first = s.first.min(time);
        s.last = s.last.max(time);
        s.counts[class.index()] += 1;
        // In-order input appends; out-of-order input inserts.
        match s.bins.last() {
            Some(&l) if l == b => {}
            Some(&l) if l < b => s.bins.push(b),
            None => s.bins.push(b),
            Some(_) => {
                if let Err(i) = s.bins.binary_search(&b) {
                    s.bins.insert(i, b);
                }
            }
        }
    }

    /// Number of distinct worm sources so far.
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// The series, one row per bin from the first to the last bin with a worm
    /// request (empty bins in between included); empty without worm requests.
    ///
    /// # Errors
    /// [`AggregateError::TooManyBins`] if that would be more than
    /// [`MAX_SERIES_ROWS`] rows.
    pub fn series(&self) -> Result<Vec<SeriesRow>, AggregateError> {
        let (Some((&b0, _)), Some((&b1, _))) =
            (self.probes.first_key_value(), self.probes.last_key_value())
        else {
            return Ok(Vec::new());
        };
        let rows = b1 - b0 + 1;
        if rows > MAX_SERIES_ROWS {
            return Err(AggregateError::TooManyBins {
                first: SimTime(b0 as f64 * self.bin as f64),
                last: SimTime((b1 + 1) as f64 * self.bin as f64),
                rows,
                bin: self.bin,
                max: MAX_SERIES_ROWS,
            });
        }
        // Counts per bin, indexed from the first bin (sums: order-free).
        let at = |b: i64| (b - b0) as usize;
        let mut new = vec![0u64; rows as usize];
        let mut unique = vec![0u64; rows as usize];
        for s in self.sources.values() {
            new[at(s.bins[0])] += 1;
            for &b in &s.bins {
                unique[at(b)] += 1;
            }
        }
        let mut cumulative = 0;
        Ok((b0..=b1)
            .map(|b| {
                let n = new[at(b)];
                cumulative += n;
                SeriesRow {
                    time: SimTime(b as f64 * self.bin as f64),
                    probes_seen: self.probes.get(&b).copied().unwrap_or(0),
                    unique_sources: unique[at(b)],
                    new_sources: n,
                    cumulative_sources: cumulative,
                }
            })
            .collect())
    }

    /// Per-source records, sorted by source (see [`SourceId`]'s order).
    pub fn sources(&self) -> Vec<SourceRow> {
        let mut ids: Vec<(&SourceId, &SourceState)> = self.sources.iter().collect();
        ids.sort_unstable_by(|a, b| a.0.cmp(b.0));
        ids.into_iter()
            .map(|(id, s)| SourceRow {
                source: id.clone(),
                first_seen: SimTime(s.first),
                last_seen: SimTime(s.last),
                probes: s.counts.iter().sum(),
                by_class: s.counts,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> SourceId {
        SourceId::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn bins_sources_and_out_of_order_input() {
        let mut a = Aggregator::new(3600).unwrap();
        let h = |x: f64| 995_536_800.0 + x * 3600.0; // 2001-07-19T10:00:00Z
        a.add(h(2.5), &ip("10.0.0.2"), Class::CodeRed);
        a.add(h(0.1), &ip("10.0.0.1"), Class::CodeRed);
        a.add(h(0.2), &ip("10.0.0.1"), Class::Other);
        a.add(h(0.9), &ip("10.0.0.1"), Class::Nimda);
        a.add(h(2.0), &ip("10.0.0.1"), Class::IdaGeneric);
        a.add(h(1.5), &ip("10.0.0.2"), Class::CodeRedII); // earlier than its first
        let s = a.series().unwrap();
        let got: Vec<_> = s
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
        assert_eq!(
            got,
            [
                ("2001-07-19T10:00:00Z".to_string(), 2, 1, 1, 1),
                ("2001-07-19T11:00:00Z".to_string(), 1, 1, 1, 2),
                ("2001-07-19T12:00:00Z".to_string(), 2, 2, 0, 2),
            ]
        );
        let src = a.sources();
        assert_eq!(src.len(), 2);
        assert_eq!(src[0].source.to_string(), "10.0.0.1");
        assert_eq!(src[0].probes, 3);
        assert_eq!(src[0].by_class, [1, 0, 1, 1]);
        assert_eq!(src[1].first_seen, SimTime(h(1.5)));
        assert_eq!(src[1].last_seen, SimTime(h(2.5)));
        assert_eq!(src[1].by_class, [1, 1, 0, 0]);
    }

    #[test]
    fn empty_and_invalid() {
        assert!(Aggregator::new(60).unwrap().series().unwrap().is_empty());
        assert_eq!(Aggregator::new(0).unwrap_err(), AggregateError::Bin(0));
        let mut a = Aggregator::new(1).unwrap();
        a.add(0.0, &ip("1.1.1.1"), Class::CodeRed);
        a.add(1e7, &ip("1.1.1.1"), Class::CodeRed);
        assert!(matches!(
            a.series(),
            Err(AggregateError::TooManyBins { .. })
        ));
    }
}
