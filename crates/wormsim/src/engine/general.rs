//! The general exact engine: every mechanism, cost per event.
//!
//! # Method
//! A next-reaction scheme (Anderson 2007, "modified next reaction method"):
//! - **Aggregate channels**, each with its own unit-exponential clock and random
//!   stream: infection (rate from the scan model), re-infection of infected hosts
//!   (another worm instance), reboot (`ρ(t)·I`) and crash recovery (`κ·C`).
//!   Between events every rate is constant, so channel `k` fires after `E_k/a_k`;
//!   a channel that does not fire burns `a_k·Δt` of its clock. This stays exact
//!   across rate changes and keeps each mechanism on its own stream.
//! - **Pooled re-infections** ([`pool`]): hosts an extra instance cannot speed
//!   up leave the re-infection channel; their hits are settled, exactly, when
//!   the engine next looks at them.
//! - **The wake cohort** ([`wake`]): the right-clock hosts' thread wake-ups on
//!   the 1st are one aggregate channel with hazard `K/(L − u)`.
//! - **Scheduled host events** in a priority queue (next-reaction method):
//!   phase changes of hosts with wrong clocks, thread wake-ups after dormancy
//!   (sorted uniform lags generated one at a time), the end of an infection's
//!   lifetime or defacement, the drop-dead date of a wrong clock, and CRv1's
//!   deterministic sequence hits. Entries carry the host's infection epoch and
//!   are skipped when stale.
//! - **Patch installs** drawn once per host: download `T = Λ⁻¹(Λ(t0) + E)` from
//!   the download hazard, plus the testing lag, kept sorted.
//! - **Breakpoints** where a global rate changes: the right-clock calendar phase,
//!   reboot-rate steps and the drop-dead date.
//!
//! Scanning rates are integer units of 2^-20 probes/s (exact sums, independent
//! of update order); infectors are drawn in proportion to them by
//! composition–rejection ([`scanset`]). The scan models:
//! - uniform: targets uniform over susceptible hosts, infectors ∝ rate;
//! - local preference (CRII): per-/8 and per-/16 aggregates ([`local`]);
//! - sequence (CRv1): deterministic runners over a keyed permutation ([`runner`]).

mod containment;
mod local;
mod permutation;
mod pool;
mod queue;
mod runner;
mod scanset;
mod strategy;
mod subset;
mod wake;

use super::{
    Clear, Counters, Event, HostRecords, HostState, Keep, NO_HOST, Observer, RATE_UNITS_PER_PROBE,
    Setup, SetupError, View, exp1, trait_bit,
};
use crate::alloc::{prefetch, reserve_for_push};
use crate::calendar::Phase;
use crate::checkpoint::{Checkpoint, HostSnapshot};
use crate::rng::{Rng, Streams, below_u64, keyed_exp1, stream};
use crate::scenario::{Congestion, PatchLag, ScanStrategy, Scenario, Wake};
use crate::time::{DAY, SimTime};
use rand::RngExt;

/// Host flag bits (engine state, beside the trait bits of the setup).
mod flag {
    pub const EVER: u8 = 1;
    pub const BACKDOOR: u8 = 2;
    pub const DEFACED: u8 = 4;
    /// The worm on this host will never wake again (wake = "never").
    pub const ASLEEP: u8 = 8;
    pub const FLOODING: u8 = 16;
    /// The host's clock is past the drop-dead date: the worm does nothing.
    pub const DEAD: u8 = 32;
    /// Its probes are not in the aggregate channels: it works through a hit
    /// list, or a throttle clock sends them ([`super::strategy`]).
    pub const HELD: u8 = 64;
    /// Its re-infections are pooled and settled lazily ([`super::pool`]).
    pub const POOLED: u8 = 128;
}

/// The `a` argument of a pooled host's keyed draws: host and infection epoch.
#[inline]
fn pool_id(h: u32, epoch: u32) -> u64 {
    (h as u64) << 32 | epoch as u64
}

/// Tag of the keyed draw after a pooled host's hit (`b = HIT | instances`);
/// the draw when a host joins the pool uses `b` = the time's bits, which never
/// has the top bit set for a time ≥ 0.
const HIT: u64 = 1 << 63;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A wrong-clock host's phase changes.
    HostPhase,
    /// One more thread of the host wakes. `start`: when the wake session began
    /// [s]; `lag`: this thread's lag [s]; `left`: threads still asleep after it.
    Wake { start: f64, lag: f64, left: u32 },
    /// The infection's lifetime ends (CRII).
    Lifetime,
    /// The defaced page is restored.
    DefaceEnd,
    /// A wrong-clock host reaches the drop-dead date.
    DropDead,
    /// A CRv1 runner (id, version) reaches its next target.
    Runner(u32, u32),
    /// Hit lists, permutation runners, throttle ticks, blacklisting, payload.
    Ext(strategy::Due),
}

#[derive(Clone, Copy, Debug)]
struct Sched {
    t: f64,
    seq: u64,
    host: u32,
    epoch: u32,
    kind: Kind,
}

impl queue::Keyed for Sched {
    /// Time (in the order of `f64::total_cmp`), then sequence number: events
    /// at the same instant run in the order they were scheduled.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(queue::f64_key(self.t)) << 64) | u128::from(self.seq)
    }
}

/// The hot per-host fields (28 bytes: packed to 4-byte alignment; only the
/// 8-byte weight is ever copied rather than borrowed). Where the worm
/// re-infects, each record is followed by the host's re-infection position
/// ([`Hosts`]).
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Host {
    /// Scanning weight now [rate units] ([`scanset`]).
    w: u64,
    /// Scanning threads awake, over all instances.
    awake: u32,
    /// Infection epoch: scheduled events of an earlier infection are stale.
    epoch: u32,
    /// Position in its weight group of the scanning set, if `w > 0`.
    spos: u32,
    /// Position in the set of its state ([`General::susceptible`] under
    /// uniform scanning, [`General::infected`], [`General::crashed`]).
    ipos: u32,
    /// Per-thread scan rate and scanning threads per instance, as an index
    /// into [`General::classes`].
    class: u8,
    state: HostState,
    /// Engine flags ([`flag`]).
    flags: u8,
    instances: u8,
}

/// A host record with its re-infection position: position in the pool's
/// entries if [`flag::POOLED`], else in [`General::reinfectable`]; [`NO_HOST`]
/// if in neither (a pooled host is never reinfectable, so one field serves
/// both). Aligned to 8 bytes, so the weight is too.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(8))]
struct HostR {
    host: Host,
    rpos: u32,
}

// 28 and 32 bytes: the hot array of 10 million hosts is 280 MB, or 320 MB
// where the worm re-infects (bench/RESULTS.md, "Memory per host", "The host
// record in 32 bytes" and "A set's growth, the infection start times, and the
// re-infection position").
const _: () = assert!(std::mem::size_of::<Host>() == 28);
const _: () = assert!(std::mem::size_of::<HostR>() == 32);

/// The host records, indexed by host. A worm that never re-infects a host
/// (`max_instances` 1) has no re-infection positions, and its records take
/// 28 bytes instead of 32. The two layouts are chosen once per run; each
/// access pays a branch that always goes the same way, instead of the extra
/// cache miss a separate position array costs a re-infecting worm (CRv2
/// 0.85–0.91× as fast with one; bench/RESULTS.md).
enum Hosts {
    Plain(Vec<Host>),
    WithRpos(Vec<HostR>),
}

impl Hosts {
    /// The records of hosts of classes `class`, with re-infection positions
    /// if `reinfects`.
    fn new(class: Vec<u8>, reinfects: bool) -> Hosts {
        let host = |class| Host {
            w: 0,
            awake: 0,
            epoch: 0,
            spos: 0,
            ipos: NO_HOST,
            class,
            state: HostState::Susceptible,
            flags: 0,
            instances: 0,
        };
        // Each array is built at its final size (no copy beside it).
        if reinfects {
            let mut v = Vec::with_capacity(class.len());
            v.extend(class.into_iter().map(|c| HostR {
                host: host(c),
                rpos: NO_HOST,
            }));
            Hosts::WithRpos(v)
        } else {
            let mut v = Vec::with_capacity(class.len());
            v.extend(class.into_iter().map(host));
            Hosts::Plain(v)
        }
    }

    /// Host `i`'s re-infection position ([`NO_HOST`] for a worm that never
    /// re-infects).
    #[inline]
    fn rpos(&self, i: usize) -> u32 {
        match self {
            Hosts::Plain(_) => NO_HOST,
            Hosts::WithRpos(v) => v[i].rpos,
        }
    }

    /// Host `i`'s re-infection position, to set. Only a re-infecting worm
    /// ever puts a host in the re-infection set or the pool.
    #[inline]
    fn rpos_mut(&mut self, i: usize) -> &mut u32 {
        match self {
            Hosts::Plain(_) => {
                unreachable!("a host joins the re-infection set only if max_instances > 1")
            }
            Hosts::WithRpos(v) => &mut v[i].rpos,
        }
    }

    /// `f` of every host record, in host order.
    fn map<T>(&self, f: impl Fn(&Host) -> T) -> Vec<T> {
        match self {
            Hosts::Plain(v) => v.iter().map(f).collect(),
            Hosts::WithRpos(v) => v.iter().map(|x| f(&x.host)).collect(),
        }
    }
}

impl std::ops::Index<usize> for Hosts {
    type Output = Host;
    #[inline]
    fn index(&self, i: usize) -> &Host {
        match self {
            Hosts::Plain(v) => &v[i],
            Hosts::WithRpos(v) => &v[i].host,
        }
    }
}

impl std::ops::IndexMut<usize> for Hosts {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut Host {
        match self {
            Hosts::Plain(v) => &mut v[i],
            Hosts::WithRpos(v) => &mut v[i].host,
        }
    }
}

/// The hosts' per-thread scan rates [rate units] and scanning threads per
/// instance, by class ([`Host::class`]). A scenario has few distinct pairs
/// (one or two with a fixed scan rate), so a host keeps a one-byte class
/// instead of an 8-byte rate. Where the pairs are more than 256 (a scan-rate
/// distribution), the classes hold the thread counts alone and the rates
/// stay per host in [`Classes::host_tu`].
struct Classes {
    /// Per-thread scan rate [rate units] (unused if `host_tu` is not empty)
    /// and scanning threads per instance of each class.
    pairs: Vec<(u64, u16)>,
    /// Per-thread scan rate of each host [rate units], or empty if the
    /// classes hold the rates.
    host_tu: Vec<u64>,
    /// Weight ceiling of each class ([`General::ceiling`]) when the classes
    /// hold the rates and there is a ceiling, else empty: computed once here
    /// instead of at each of the million reads in a CRv2 run.
    ceilings: Vec<u64>,
}

/// Most classes a host's byte can name.
const MAX_CLASSES: usize = 256;

impl Classes {
    /// The classes of hosts with per-thread rates `tu` and thread counts
    /// `threads` (one each per host), and each host's class. Takes `tu`,
    /// which becomes [`Classes::host_tu`] if the distinct pairs are too many.
    fn new(tu: Vec<u64>, threads: &[u16]) -> Result<(Self, Vec<u8>), SetupError> {
        let mut c = Classes {
            pairs: Vec::new(),
            host_tu: Vec::new(),
            ceilings: Vec::new(),
        };
        let mut class = Vec::with_capacity(threads.len());
        let mut last = 0usize;
        let mut by_pair = true;
        for (&r, &k) in tu.iter().zip(threads) {
            if c.pairs.get(last) == Some(&(r, k)) {
                class.push(last as u8);
                continue;
            }
            match c.pairs.iter().position(|&p| p == (r, k)) {
                Some(j) => last = j,
                None if c.pairs.len() < MAX_CLASSES => {
                    c.pairs.push((r, k));
                    last = c.pairs.len() - 1;
                }
                None => {
                    by_pair = false;
                    break;
                }
            }
            class.push(last as u8);
        }
        if by_pair {
            return Ok((c, class));
        }
        // Too many pairs: classes by thread count, rates per host.
        c.pairs.clear();
        class.clear();
        for &k in threads {
            let j = match c.pairs.iter().position(|&(_, x)| x == k) {
                Some(j) => j,
                None if c.pairs.len() < MAX_CLASSES => {
                    c.pairs.push((0, k));
                    c.pairs.len() - 1
                }
                None => {
                    return Err(SetupError::Unsupported(
                        "more than 256 distinct numbers of threads per worm instance (from a \
                         checkpoint); the general engine keeps at most 256"
                            .into(),
                    ));
                }
            };
            class.push(j as u8);
        }
        c.host_tu = tu;
        Ok((c, class))
    }

    /// With [`Classes::ceilings`] for weight ceiling `max_scan_multiple`.
    fn with_ceilings(mut self, max_scan_multiple: Option<f64>) -> Self {
        self.ceilings = match max_scan_multiple {
            Some(m) if self.host_tu.is_empty() => self
                .pairs
                .iter()
                .map(|&(tu, k)| ceiling_of(tu * k as u64, m))
                .collect(),
            _ => Vec::new(),
        };
        self
    }
}

/// The weight ceiling of a host whose one instance scans at `units` [rate
/// units], for `max_scan_multiple` `m`. The integer converted to f64 is
/// rounded once, as the product of the two converted factors was: the same
/// value.
#[inline]
fn ceiling_of(units: u64, m: f64) -> u64 {
    (units as f64 * m) as u64
}

/// Per-host infection record (12 bytes: packed to 4-byte alignment, its
/// fields are only ever copied, never borrowed). The start of the current
/// infection, which only a checkpoint reads, is kept apart
/// ([`General::starts`]).
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Record {
    /// First infection time [s], NaN if never.
    first_at: f64,
    /// First infector, [`NO_HOST`] for a seed or never.
    first_by: u32,
}

const _: () = assert!(std::mem::size_of::<Record>() == 12);

/// A patch install: time [s] and host (12 bytes, packed like [`Record`]).
/// The download time is not kept: a checkpoint replays it ([`PatchReplay`]).
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Install {
    t: f64,
    h: u32,
}

/// What a checkpoint needs to recompute the patch download times of the
/// installs still queued: the patch stream as it was at the start (if the
/// scenario patches), and the start (the download time of an install pending
/// in the checkpoint the run started from).
struct PatchReplay {
    stream: Option<(Rng, crate::schedule::RateSchedule)>,
    start: SimTime,
}

#[derive(Clone, Copy, Debug)]
enum Break {
    Phase(Phase),
    RebootRate(f64),
    DropDead,
    /// Containment filters switch on.
    Ext(strategy::Switch),
}

struct Channel {
    e: f64,
    rng: Rng,
}

impl Channel {
    fn new(mut rng: Rng) -> Self {
        Channel {
            e: exp1(&mut rng),
            rng,
        }
    }
    #[inline]
    fn burn(&mut self, a: f64, dt: f64) {
        self.e = (self.e - a * dt).max(0.0);
    }
    #[inline]
    fn due(&self, a: f64) -> f64 {
        if a > 0.0 { self.e / a } else { f64::INFINITY }
    }
    fn fired(&mut self) {
        self.e = exp1(&mut self.rng);
    }
}

/// The bits of a stream drawn [`AHEAD`] values ahead, so that what the next
/// draws will pick can be prefetched ([`General::prefetch_victims`]). The values come out
/// in the stream's order, so [`Ahead::below`] is [`crate::rng::below`] on it.
struct Ahead {
    next: [u32; AHEAD],
    rng: Rng,
}

/// How many draws [`Ahead`] holds.
const AHEAD: usize = 4;

impl Ahead {
    fn new(mut rng: Rng) -> Self {
        let next = std::array::from_fn(|_| rand::Rng::next_u32(&mut rng));
        Ahead { next, rng }
    }
    #[inline]
    fn pop(&mut self) -> u32 {
        let x = self.next[0];
        self.next.copy_within(1.., 0);
        self.next[AHEAD - 1] = rand::Rng::next_u32(&mut self.rng);
        x
    }
    /// Uniform on `0..n` (`n > 0`), as [`crate::rng::below`].
    #[inline]
    fn below(&mut self, n: u32) -> u32 {
        let x = self.pop();
        crate::rng::below_from(x, n, || self.pop())
    }
    /// What [`Ahead::below`] will return `k` draws from now (`k` < [`AHEAD`]) if it
    /// is asked for `0..n` and does not reject.
    #[inline]
    fn peek(&self, k: usize, n: u32) -> usize {
        ((self.next[k] as u64 * n as u64) >> 32) as usize
    }
}

/// `x` as the nearest `f64`, ties to even: the same value as `x as f64`,
/// without that conversion's library call (`__floatuntidf`, a generic
/// software routine; CRII's prefix aggregates ([`local`]) convert their
/// 128-bit sums of products at every event, and the sums are often above
/// 2^64). Above 2^64, the top 64 bits of `x`, with a sticky bit for any set
/// bit below them, round the same way (the sticky bit sits below the 53 bits
/// kept), and scaling by a power of two is exact. Written out in full
/// because LLVM folds a `u64` fast path beside `x as f64` back into the call
/// (bench/RESULTS.md, nineteenth session). 1.00–1.08× on the CRII preset,
/// within the noise of the machine it was measured on; the same values.
#[inline]
fn f64_of(x: u128) -> f64 {
    let hi = (x >> 64) as u64;
    if hi == 0 {
        return x as u64 as f64;
    }
    let shift = 64 - hi.leading_zeros();
    let top = (x >> shift) as u64;
    let sticky = u64::from(x & ((1u128 << shift) - 1) != 0);
    (top | sticky) as f64 * f64::from_bits(u64::from(1023 + shift) << 52)
}

/// The positions of the set bits of `bits`, in order.
fn set_bits(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter().enumerate().flat_map(|(k, &word)| {
        let mut b = word;
        std::iter::from_fn(move || {
            (b != 0).then(|| {
                let i = (k * 64) as u32 + b.trailing_zeros();
                b &= b - 1;
                i
            })
        })
    })
}

/// Whether bit `i` of `bits` is set.
#[inline]
fn has_bit(bits: &[u64], i: u32) -> bool {
    bits[i as usize / 64] >> (i % 64) & 1 != 0
}

/// Set bit `i` of `bits`.
#[inline]
fn set_bit(bits: &mut [u64], i: u32) {
    bits[i as usize / 64] |= 1 << (i % 64);
}

/// How many hosts ahead the phase change's sweep asks for a host's slot in
/// the scanning set ([`General::pool_enter_phase`]).
const SWEEP_AHEAD: usize = 8;

/// The stream an infection's infector is drawn from: the model's own
/// (`own`), unless the probe crashes its target (Windows NT 4 and Code Red
/// II). Such a probe infects no one, so only an observer reads its infector
/// (`O::CRASH_INFECTORS`): then it comes from `crash`, a stream of its own,
/// so the outbreak is the same either way; else none is drawn.
#[inline]
fn infector_stream<'a, O: Observer>(
    crashes: bool,
    own: &'a mut Rng,
    crash: &'a mut Rng,
) -> Option<&'a mut Rng> {
    if !crashes {
        Some(own)
    } else if O::CRASH_INFECTORS {
        Some(crash)
    } else {
        None
    }
}

/// A set of hosts with O(1) insert, remove and uniform choice, whose
/// positions live in the host records (one cache miss less per update than a
/// separate position array).
#[derive(Clone, Debug, Default)]
struct Members {
    items: Vec<u32>,
    /// The most members the set can have (the host count), 0 if unknown:
    /// see [`reserve_for_push`].
    limit: u32,
}

impl Members {
    /// An empty set of at most `limit` hosts.
    fn with_limit(limit: usize) -> Self {
        Members {
            items: Vec::new(),
            limit: limit as u32,
        }
    }
    #[inline]
    fn len(&self) -> usize {
        self.items.len()
    }
    #[inline]
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    #[cfg(test)]
    fn items(&self) -> &[u32] {
        &self.items
    }
    /// Add `h`; returns its position.
    #[inline]
    fn push(&mut self, h: u32) -> u32 {
        reserve_for_push(&mut self.items, self.limit as usize);
        self.items.push(h);
        (self.items.len() - 1) as u32
    }
    /// Remove the host at `pos`; returns the host moved into `pos`, if any.
    #[inline]
    fn swap_remove(&mut self, pos: u32) -> Option<u32> {
        let last = self.items.pop().expect("remove from a non-empty set");
        let pos = pos as usize;
        if pos < self.items.len() {
            self.items[pos] = last;
            Some(last)
        } else {
            None
        }
    }
    #[inline]
    fn choose(&self, rng: &mut Rng) -> u32 {
        self.items[crate::rng::below(rng, self.items.len() as u32) as usize]
    }
    /// The slot [`Members::choose`] will read if it draws from `rng` (which
    /// it advances as `choose` would).
    #[inline]
    fn peek(&self, rng: &mut Rng) -> Option<&u32> {
        if self.items.is_empty() {
            return None;
        }
        self.items
            .get(crate::rng::below(rng, self.items.len() as u32) as usize)
    }
    /// Leave a hole ([`NO_HOST`]) at `pos`, to be closed by [`Members::close_holes`].
    #[inline]
    fn vacate(&mut self, pos: u32) {
        debug_assert_ne!(self.items[pos as usize], NO_HOST);
        self.items[pos as usize] = NO_HOST;
    }
    /// Close the holes left by [`Members::vacate`], keeping the order of the
    /// rest; `moved(h, pos)` is told each member's new position where it changed.
    fn close_holes(&mut self, mut moved: impl FnMut(u32, u32)) {
        let mut k = 0;
        for i in 0..self.items.len() {
            let h = self.items[i];
            if h != NO_HOST {
                if k != i {
                    self.items[k] = h;
                    moved(h, k as u32);
                }
                k += 1;
            }
        }
        self.items.truncate(k);
    }
}

/// The susceptible and the infected sets in one array of a slot per host.
///
/// A host is in at most one of them, so together they never hold more than
/// `n` hosts. The susceptible set fills the array from the front and the
/// infected set from the back: the infected set's `k`-th member is in slot
/// `n − 1 − k`. Each behaves exactly as a [`Members`] of its own (the same
/// positions, the same member a draw picks), in 4 bytes per host instead of
/// up to 8 (bench/RESULTS.md, "The host record in 32 bytes").
#[derive(Clone, Debug, Default)]
struct StateSets {
    slots: Vec<u32>,
    /// Members of the susceptible set, in `slots[..sus]`.
    sus: u32,
    /// Members of the infected set, in `slots[n - inf..]`.
    inf: u32,
}

impl StateSets {
    fn new(n: usize) -> Self {
        StateSets {
            // Zeroed: the pages are mapped when first written, so the back
            // half's are resident only as far as the infected set reaches.
            slots: vec![0; n],
            sus: 0,
            inf: 0,
        }
    }
    /// Slot of member `k` of the set (`infected`: the back one).
    #[inline]
    fn slot(&self, infected: bool, k: usize) -> usize {
        if infected {
            self.slots.len() - 1 - k
        } else {
            k
        }
    }
    #[inline]
    fn len(&self, infected: bool) -> usize {
        (if infected { self.inf } else { self.sus }) as usize
    }
    /// Member `k` of the set.
    #[inline]
    fn get(&self, infected: bool, k: usize) -> u32 {
        self.slots[self.slot(infected, k)]
    }
    /// The members of the set, in position order.
    fn iter(&self, infected: bool) -> impl Iterator<Item = u32> + '_ {
        (0..self.len(infected)).map(move |k| self.get(infected, k))
    }
    /// Add `h`; returns its position.
    #[inline]
    fn push(&mut self, infected: bool, h: u32) -> u32 {
        assert!(
            self.len(false) + self.len(true) < self.slots.len(),
            "a host is in at most one of the susceptible and infected sets"
        );
        let k = self.len(infected);
        let slot = self.slot(infected, k);
        self.slots[slot] = h;
        if infected {
            self.inf += 1;
        } else {
            self.sus += 1;
        }
        k as u32
    }
    /// Remove the member at `pos`; returns the host moved into `pos`, if any.
    #[inline]
    fn swap_remove(&mut self, infected: bool, pos: u32) -> Option<u32> {
        let len = self.len(infected);
        assert!(len > 0, "remove from a non-empty set");
        let last = self.get(infected, len - 1);
        if infected {
            self.inf -= 1;
        } else {
            self.sus -= 1;
        }
        let pos = pos as usize;
        if pos < len - 1 {
            let slot = self.slot(infected, pos);
            self.slots[slot] = last;
            Some(last)
        } else {
            None
        }
    }
    #[inline]
    fn choose(&self, infected: bool, rng: &mut Rng) -> u32 {
        self.get(
            infected,
            crate::rng::below(rng, self.len(infected) as u32) as usize,
        )
    }
}

/// Which [`Members`] set, and so which position field.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SetId {
    Susceptible,
    Infected,
    Crashed,
    Reinfectable,
}

enum Model {
    Uniform,
    Local(Box<local::Local>),
    Sequence(Box<runner::Runners>),
    Subset(Box<subset::Subset>),
    Permutation(Box<permutation::Permutation>),
}

/// Configuration copied out of the scenario.
struct Cfg {
    bits: u8,
    /// Ceiling on a host's weight, as a multiple of its one-instance weight.
    max_scan_multiple: Option<f64>,
    omega: f64,
    calendar: bool,
    wake: Wake,
    max_instances: u8,
    lifetime: Option<f64>,
    drop_dead: Option<SimTime>,
    nt4_crash: bool,
    crash_recovery: f64,
    backdoor: bool,
    deface: Option<f64>,
    flood: bool,
    congestion: Congestion,
}

pub struct General {
    setup: Setup,
    cfg: Cfg,
    n: usize,
    /// Hot per-host state, one record per host (fewer cache misses than
    /// one array per attribute).
    h: Hosts,
    /// Infection times and infectors, written at infection (one record, one
    /// cache miss).
    records: Vec<Record>,
    /// Start of each host's current (or last) infection [s], NaN if never;
    /// kept only for a checkpoint ([`Keep::Checkpoint`]), else empty. It is
    /// what a checkpoint restores lifetimes and defacements from, and nothing
    /// in a run reads it (8 bytes per host).
    starts: Vec<f64>,
    order: Vec<u32>,
    /// The scanning hosts by weight, for drawing infectors.
    scan: scanset::ScanSet,
    /// Susceptible hosts (uniform scanning only; the other models keep their
    /// own) and infected hosts.
    states: StateSets,
    /// Infected hosts that another probe would give one more instance.
    reinfectable: Members,
    /// Sum of the weights of reinfectable hosts (to leave self-probes out).
    reinfectable_weight: u64,
    crashed: Members,
    /// Whether re-infections of hosts an extra instance cannot speed up are
    /// pooled ([`pool`]): uniform scanning with a weight ceiling, no extras.
    pooling: bool,
    pool: pool::Pool,
    /// Key of the pooled hosts' keyed draws.
    pool_key: u64,
    /// While a sweep counts the pooled hits it settles by grid bin instead of
    /// sending each ([`General::begin_instance_batch`]): per bin, the time
    /// observers are told and the count.
    instance_batch: Option<Vec<(f64, u32)>>,
    /// The right-clock hosts' wake sessions of the last 1st of the month, as
    /// one aggregate channel ([`wake`]).
    cohort: Option<wake::Cohort>,
    /// Sessions (host, epoch, threads) gathered while the right-clock hosts
    /// enter the spread phase together.
    cohort_building: Option<Vec<(u32, u32, u64)>>,
    /// Key of the checkpoint draws for detached wake sessions.
    detached_key: u64,
    model: Model,
    /// Patch installs, sorted by time (then host).
    patch_queue: Vec<Install>,
    next_patch: usize,
    /// For a checkpoint: the download times of the queued installs.
    patch_replay: Box<PatchReplay>,
    /// The hosts' scan rates and thread counts by class ([`Host::class`]).
    classes: Classes,
    /// One bit per host, set if its clock is wrong ([`trait_bit::WRONG_CLOCK`]),
    /// and set if it runs Windows NT 4 ([`trait_bit::NT4`]): asked at nearly
    /// every infection, in 1/8 of the trait bytes' cache lines (bench/RESULTS.md,
    /// "Wrong clocks and NT 4 in bit sets").
    wrong: Vec<u64>,
    nt4: Vec<u64>,
    heap: queue::Queue<Sched>,
    seq: u64,
    breaks: Vec<(SimTime, Break)>,
    next_break: usize,
    group_phase: Phase,
    group_dead: bool,
    reboot_rate: f64,
    inf: Channel,
    re: Channel,
    reb: Channel,
    rec: Channel,
    /// The hosts of crash recoveries, drawn ahead ([`General::prefetch_recovery`]).
    rec_host: Ahead,
    /// The uniform model's infection victims, drawn ahead.
    victim: Ahead,
    /// The uniform model's infectors' draws ([`General::prefetch_victims`]).
    infector_rng: Rng,
    /// The draws of the infectors of probes that crash their target, for
    /// observers that read them ([`Observer::CRASH_INFECTORS`]).
    crash_rng: Rng,
    wake_rng: Rng,
    t: SimTime,
    started: bool,
    n_patched: u32,
    ever: u32,
    backdoored: u32,
    defaced: u32,
    flooding: u32,
    counters: Counters,
    ext: Box<strategy::Ext>,
}

/// The phase of a host whose clock reads `local` (UTC + offset).
fn phase_at(calendar: bool, local: f64) -> Phase {
    if calendar {
        Phase::at(SimTime(local))
    } else {
        Phase::Spread
    }
}

/// The next local midnight after `local` at which the phase changes [local s].
fn next_phase_change(local: f64) -> f64 {
    let now = Phase::at(SimTime(local));
    let mut day = (local / DAY).floor() + 1.0;
    loop {
        let t = day * DAY;
        if Phase::at(SimTime(t)) != now {
            return t;
        }
        day += 1.0;
    }
}

/// Local midnight starting the current month [local s].
fn month_start(local: f64) -> f64 {
    let c = SimTime(local).civil();
    SimTime::from_ymd(c.year, c.month, 1).secs()
}

impl General {
    /// # Errors
    /// More than 256 distinct numbers of threads per instance (only a
    /// checkpoint can carry them).
    pub fn new(
        s: &Scenario,
        mut setup: Setup,
        streams: &Streams,
        keep: Keep,
    ) -> Result<Self, SetupError> {
        let n = setup.population.len();
        let cfg = Cfg {
            bits: s.space_bits,
            max_scan_multiple: s.worm.max_scan_multiple,
            omega: setup.population.space_size(),
            calendar: s.calendar.enabled,
            wake: s.calendar.wake,
            max_instances: s.worm.reinfection.max_instances(),
            lifetime: s.worm.lifetime,
            drop_dead: s.worm.drop_dead,
            nt4_crash: s.worm.nt4_crash,
            crash_recovery: s.worm.crash_recovery,
            backdoor: s.worm.backdoor,
            deface: s.worm.deface,
            flood: s.floods(),
            congestion: s.network.congestion,
        };
        let extras = super::extras::Extras::new(s, &setup, streams);
        let model = match s.worm.scan {
            ScanStrategy::Uniform if s.worm.prng_subsets > 1 => {
                Model::Subset(Box::new(subset::Subset::new(&extras)))
            }
            ScanStrategy::Permutation(ps) => {
                Model::Permutation(Box::new(permutation::Permutation::new(
                    &setup.population,
                    ps,
                    setup.seeds.len(),
                    streams.stream(stream::PERMUTATION),
                )))
            }
            ScanStrategy::Uniform => Model::Uniform,
            ScanStrategy::LocalPreference(lp) => {
                Model::Local(Box::new(local::Local::new(&setup.population, lp)))
            }
            ScanStrategy::Sequence(sq) => {
                Model::Sequence(Box::new(runner::Runners::new(&setup.population, sq)))
            }
        };
        // Patch installs: download time from the hazard, plus the testing lag.
        let mut patch_queue: Vec<Install> = Vec::new();
        let mut patch_replay = Box::new(PatchReplay {
            stream: None,
            start: s.start,
        });
        let pending: Vec<(u32, f64)> = setup
            .checkpoint
            .as_ref()
            .map(|ck| ck.pending_patches(&setup.population))
            .unwrap_or_default();
        if !s.defense.patch.is_zero() {
            let mut rng = streams.stream(stream::PATCH);
            patch_replay.stream = Some((rng.clone(), s.defense.patch.clone()));
            // Capacity for every host: the pages never written stay unmapped.
            patch_queue.reserve_exact(n);
            let mut lag_rng = streams.stream(stream::PATCH_LAG);
            // A host whose hazard draw is past the hazard accumulated by a
            // second after the end downloads after the end: its time is not
            // computed (most hosts' under a patch rate of a few percent a
            // day). Its lag is still drawn, to keep the lag stream in step.
            let beyond = s.defense.patch.integral(s.start, s.end.plus(1.0));
            let lag_nonneg = match s.defense.patch_lag {
                PatchLag::None => true,
                PatchLag::Fixed { days } => days >= 0.0,
                PatchLag::Exponential { mean_days } => mean_days >= 0.0,
                PatchLag::LogNormal { median_days, .. } => median_days >= 0.0,
            };
            for h in 0..n as u32 {
                let e = exp1(&mut rng);
                // The lag's draw: a unit exponential or a standard normal.
                let z = match s.defense.patch_lag {
                    PatchLag::None | PatchLag::Fixed { .. } => 0.0,
                    PatchLag::Exponential { .. } => exp1(&mut lag_rng),
                    PatchLag::LogNormal { .. } => {
                        rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut lag_rng)
                    }
                };
                if e > beyond && lag_nonneg {
                    continue;
                }
                let lag = match s.defense.patch_lag {
                    PatchLag::None => 0.0,
                    PatchLag::Fixed { days } => days * DAY,
                    PatchLag::Exponential { mean_days } => z * mean_days * DAY,
                    PatchLag::LogNormal { median_days, sigma } => {
                        median_days * DAY * (sigma * z).exp()
                    }
                };
                let t = s.defense.patch.inverse_cumulative(s.start, e).plus(lag);
                if t <= s.end {
                    patch_queue.push(Install { t: t.secs(), h });
                }
            }
        }
        if !pending.is_empty() {
            // A host already downloading keeps its install time.
            let mut has = vec![false; n];
            for &(h, _) in &pending {
                has[h as usize] = true;
            }
            patch_queue.retain(|x| !has[x.h as usize]);
            patch_queue.extend(
                pending
                    .iter()
                    .filter(|p| p.1 <= s.end.secs())
                    .map(|&(h, t)| Install { t, h }),
            );
        }
        patch_queue.sort_unstable_by(|a, b| {
            let (ta, tb, ha, hb) = (a.t, b.t, a.h, b.h);
            ta.total_cmp(&tb).then(ha.cmp(&hb))
        });
        let mut breaks: Vec<(SimTime, Break)> = super::phase_breakpoints(s)
            .into_iter()
            .map(|(t, p)| (t, Break::Phase(p)))
            .collect();
        breaks.extend(
            s.defense
                .reboot
                .breakpoints()
                .filter(|&t| t > s.start && t <= s.end)
                .map(|t| (t, Break::RebootRate(s.defense.reboot.rate_at(t)))),
        );
        if let Some(dd) = s.worm.drop_dead {
            if dd > s.start && dd <= s.end {
                breaks.push((dd, Break::DropDead));
            }
        }
        breaks.extend(strategy::Ext::breaks(s));
        breaks.sort_by(|a, b| a.0.0.total_cmp(&b.0.0));
        let group_dead = s.worm.drop_dead.is_some_and(|d| s.start >= d);
        // The per-host scan rates and thread counts move into the host
        // records; the setup keeps its trait bits (one byte per host, read
        // where the host record may not be in cache).
        let (classes, class) =
            Classes::new(std::mem::take(&mut setup.thread_units), &setup.threads)?;
        let classes = classes.with_ceilings(cfg.max_scan_multiple);
        setup.threads = Vec::new();
        let h = Hosts::new(class, cfg.max_instances > 1);
        let bits = |bit: u8| -> Vec<u64> {
            setup
                .flags
                .chunks(64)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0, |w, (k, &f)| w | u64::from(f & bit != 0) << k)
                })
                .collect()
        };
        let (wrong, nt4) = (bits(trait_bit::WRONG_CLOCK), bits(trait_bit::NT4));
        let mut g = General {
            n,
            h,
            records: vec![
                Record {
                    first_at: f64::NAN,
                    first_by: NO_HOST,
                };
                n
            ],
            starts: match keep {
                Keep::Checkpoint => vec![f64::NAN; n],
                Keep::Outputs => Vec::new(),
            },
            order: Vec::with_capacity(n),
            scan: scanset::ScanSet::new(n),
            states: StateSets::new(n),
            reinfectable: Members::with_limit(n),
            reinfectable_weight: 0,
            crashed: Members::with_limit(n),
            pooling: false,
            pool: pool::Pool::new(),
            pool_key: streams.key(stream::REINFECTION_POOL),
            instance_batch: None,
            cohort: None,
            cohort_building: None,
            detached_key: streams.key(stream::WAKE_DETACHED),
            model,
            patch_queue,
            next_patch: 0,
            patch_replay,
            classes,
            wrong,
            nt4,
            heap: queue::Queue::new(),
            seq: 0,
            breaks,
            next_break: 0,
            group_phase: phase_at(s.calendar.enabled, s.start.secs()),
            group_dead,
            reboot_rate: s.defense.reboot.rate_at(s.start),
            inf: Channel::new(streams.stream(stream::INFECTION)),
            re: Channel::new(streams.stream(stream::REINFECTION)),
            reb: Channel::new(streams.stream(stream::REBOOT)),
            rec: Channel::new(streams.stream(stream::CRASH)),
            rec_host: Ahead::new(streams.stream(stream::CRASH_RECOVERY_HOST)),
            victim: Ahead::new(streams.stream(stream::INFECTION_VICTIM)),
            infector_rng: streams.stream(stream::INFECTION_INFECTOR),
            crash_rng: streams.stream(stream::CRASH_INFECTOR),
            wake_rng: streams.stream(stream::WAKE),
            t: s.start,
            started: false,
            n_patched: 0,
            ever: 0,
            backdoored: 0,
            defaced: 0,
            flooding: 0,
            counters: Counters::default(),
            ext: Box::new(strategy::Ext::new(
                s,
                extras,
                n,
                setup.population.space_size(),
                streams,
            )),
            cfg,
            setup,
        };
        g.pooling = matches!(g.model, Model::Uniform)
            && g.cfg.max_instances > 1
            && g.cfg.max_scan_multiple.is_some()
            && !g.ext.active;
        Ok(g)
    }

    /// The setup this engine started from. Its per-host `thread_units` and
    /// `threads` have moved into the engine's host records and are empty
    /// here; the population, trait bits, clocks and seeds remain.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    pub fn time(&self) -> SimTime {
        self.t
    }

    // ----- host clock -------------------------------------------------------

    /// Scanning threads per instance of host `i`.
    #[inline]
    fn threads(&self, i: usize) -> u32 {
        self.classes.pairs[self.h[i].class as usize].1 as u32
    }

    /// Per-thread scan rate of host `i` [rate units].
    #[inline]
    fn tu(&self, i: usize) -> u64 {
        if self.classes.host_tu.is_empty() {
            self.classes.pairs[self.h[i].class as usize].0
        } else {
            self.classes.host_tu[i]
        }
    }

    /// Rate of one instance on host `i` with every thread awake [rate units].
    #[inline]
    fn instance_units(&self, i: usize) -> u64 {
        self.tu(i) * self.threads(i) as u64
    }

    /// Trait bits of `h` ([`trait_bit`]).
    #[inline]
    fn traits(&self, h: u32) -> u8 {
        self.setup.flags[h as usize]
    }

    #[inline]
    fn wrong_clock(&self, h: u32) -> bool {
        has_bit(&self.wrong, h)
    }

    fn local(&self, h: u32, t: f64) -> f64 {
        t + self.setup.clock_offset(h)
    }

    /// The phase host `h` is in at time `t`. (Inline: most hosts' clocks are
    /// right, and theirs is one bit test; the wrong clocks' date arithmetic
    /// stays out of line.)
    #[inline]
    fn phase_of(&self, h: u32, t: f64) -> Phase {
        if self.wrong_clock(h) {
            self.phase_of_wrong_clock(h, t)
        } else {
            self.group_phase
        }
    }

    #[inline(never)]
    fn phase_of_wrong_clock(&self, h: u32, t: f64) -> Phase {
        phase_at(self.cfg.calendar, self.local(h, t))
    }

    fn dead_at(&self, h: u32, t: f64) -> bool {
        match self.cfg.drop_dead {
            Some(d) if self.wrong_clock(h) => self.local(h, t) >= d.secs(),
            Some(_) => self.group_dead,
            None => false,
        }
    }

    // ----- scheduling -------------------------------------------------------

    fn schedule(&mut self, t: f64, host: u32, kind: Kind) {
        self.seq += 1;
        let epoch = self.h[host as usize].epoch;
        self.heap.push(Sched {
            t,
            seq: self.seq,
            host,
            epoch,
            kind,
        });
    }

    /// Schedule the next phase change and drop-dead date of a wrong-clock host.
    fn schedule_clock(&mut self, h: u32, t: f64) {
        if !self.wrong_clock(h) {
            return;
        }
        let off = self.setup.clock_offset(h);
        if self.cfg.calendar {
            let next = next_phase_change(t + off) - off;
            self.schedule(next, h, Kind::HostPhase);
        }
        if let Some(d) = self.cfg.drop_dead {
            let when = d.secs() - off;
            if when > t {
                self.schedule(when, h, Kind::DropDead);
            }
        }
    }

    // ----- rates ------------------------------------------------------------

    /// The scanning weight host `h` should have now [rate units].
    #[inline]
    fn target_weight(&self, h: u32) -> u64 {
        let i = h as usize;
        if self.h[i].state != HostState::Infected
            || self.h[i].flags & (flag::ASLEEP | flag::DEAD | flag::HELD) != 0
            || self.phase_of(h, self.t.secs()) != Phase::Spread
        {
            return 0;
        }
        let w = self.awake_units(i);
        let w = match self.ceiling(h) {
            Some(cap) => w.min(cap),
            None => w,
        };
        if self.ext.active {
            self.ext_weight(h, w)
        } else {
            w
        }
    }

    /// Bring `h`'s scanning weight up to date, telling the scan model and
    /// observers; a pooled host is settled first and may be pooled again after.
    fn refresh_weight<O: Observer>(&mut self, h: u32, obs: &mut O) {
        if self.pooling {
            self.unpool(h, obs);
            self.update_weight(h, obs);
            self.maybe_pool(h);
        } else {
            self.update_weight(h, obs);
        }
    }

    /// The rate of host `i`'s awake threads, before any ceiling [rate units].
    #[inline(always)]
    fn awake_units(&self, i: usize) -> u64 {
        self.tu(i) * self.h[i].awake as u64
    }

    fn update_weight<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let new = self.target_weight(h);
        let old = self.h[h as usize].w;
        // CRv1's runners share the host's (possibly capped) rate by awake
        // threads: their speeds change with the host's instances and threads
        // even when its total weight does not.
        let tu = self.tu(h as usize) as f64;
        if let Model::Sequence(r) = &mut self.model {
            let t = self.t.secs();
            let raw = tu * self.h[h as usize].awake as f64;
            let scale = if raw > 0.0 { new as f64 / raw } else { 0.0 };
            let per_thread = tu * scale;
            for (when, id, version) in r.host_speed_changed(h, t, per_thread) {
                self.seq += 1;
                let epoch = self.h[h as usize].epoch;
                let kind = Kind::Runner(id, version);
                self.heap.push(Sched {
                    t: when,
                    seq: self.seq,
                    host: h,
                    epoch,
                    kind,
                });
            }
            self.emit_runner_moves(obs);
            self.drop_stale_runner_hits();
        }
        if new != old {
            self.apply_weight(h, old, new, obs);
        }
    }

    /// Change `h`'s scanning weight from `old` (its record's) to `new`: the
    /// scanning set, the re-infection weight, the scan model, and observers
    /// that follow rates.
    #[inline(always)]
    fn apply_weight<O: Observer>(&mut self, h: u32, old: u64, new: u64, obs: &mut O) {
        self.scan.set(&mut self.h, h, new);
        if self.in_reinfectable(h) {
            self.reinfectable_weight = self.reinfectable_weight - old + new;
        }
        match &mut self.model {
            Model::Local(l) => l.weight_changed(h, old, new),
            Model::Sequence(_) => {}
            Model::Subset(m) => m.weight_changed(h, new),
            Model::Permutation(p) => {
                if let Some((when, v)) = p.speed_changed(h, self.t.secs(), new) {
                    self.schedule(when, h, Kind::Ext(strategy::Due::Perm(v)));
                }
            }
            Model::Uniform => {}
        }
        if O::RATE_EVENTS {
            let rate = new as f64 / RATE_UNITS_PER_PROBE;
            self.emit(
                obs,
                Event::Rate {
                    t: self.t,
                    host: h,
                    rate,
                },
            );
        }
    }

    /// Pass CRv1 runners' trajectory changes on to observers that follow rates.
    fn emit_runner_moves<O: Observer>(&mut self, obs: &mut O) {
        let Model::Sequence(r) = &mut self.model else {
            return;
        };
        if !O::RATE_EVENTS {
            r.clear_moves();
            return;
        }
        for mv in r.take_moves() {
            self.emit(
                obs,
                Event::Runner {
                    t: SimTime(mv.t0),
                    mv,
                },
            );
        }
    }

    /// The congestion factor on scanning now.
    fn congestion(&self) -> f64 {
        match self.cfg.congestion {
            Congestion::None => 1.0,
            Congestion::Zou { eta } => (1.0 - self.states.len(true) as f64 / self.n.max(1) as f64)
                .max(0.0)
                .powf(eta),
            Congestion::Capacity { probes_per_s } => {
                1.0 / (1.0 + self.scan.total() as f64 / RATE_UNITS_PER_PROBE / probes_per_s)
            }
        }
    }

    fn susceptible_count(&self) -> usize {
        match &self.model {
            Model::Uniform => self.states.len(false),
            Model::Local(l) => l.susceptible_count() as usize,
            Model::Sequence(r) => r.susceptible_count(),
            Model::Subset(m) => m.susceptible_count(),
            Model::Permutation(p) => p.susceptible_count(),
        }
    }

    /// Propensities of the infection and re-infection channels [1/s].
    fn probe_channels(&self, f: f64) -> (f64, f64) {
        let w = self.scan.total() as f64;
        let a_inf = match &self.model {
            Model::Uniform => f * w * self.states.len(false) as f64 / self.cfg.omega,
            Model::Local(l) => f * l.infection_rate_units(w),
            Model::Subset(m) => f * m.infection_rate_units(),
            Model::Sequence(_) | Model::Permutation(_) => 0.0,
        } / RATE_UNITS_PER_PROBE;
        let a_re = match &self.model {
            Model::Uniform if !self.reinfectable.is_empty() => {
                let pairs = w * self.reinfectable.len() as f64 - self.reinfectable_weight as f64;
                f * pairs.max(0.0) / self.cfg.omega / RATE_UNITS_PER_PROBE
            }
            _ => 0.0,
        };
        (a_inf, a_re)
    }

    pub fn view(&self) -> View {
        let f = self.congestion();
        let (a_inf, a_re) = self.probe_channels(f);
        self.view_with(f, a_inf, a_re)
    }

    /// The view, given the congestion factor and the probe channels' rates.
    #[inline]
    fn view_with(&self, f: f64, a_inf: f64, a_re: f64) -> View {
        View {
            susceptible: self.susceptible_count() as u32,
            infected: self.states.len(true) as u32,
            patched: self.n_patched,
            crashed: self.crashed.len() as u32,
            ever_infected: self.ever,
            backdoored: self.backdoored,
            defaced: self.defaced,
            flooding: self.flooding,
            probe_rate: f * self.scan.total() as f64 / RATE_UNITS_PER_PROBE,
            hit_rate: a_inf + a_re + self.pool_rate(f),
        }
    }

    /// Push an event, with the view after it if the observer reads it.
    #[inline]
    fn emit<O: Observer>(&self, obs: &mut O, e: Event) {
        if O::EVENT_VIEW {
            obs.event(&e, &self.view());
        } else {
            obs.event(&e, &View::default());
        }
    }

    // ----- host sets ----------------------------------------------------

    /// Add `h` to `set`; returns its position.
    fn set_push(&mut self, set: SetId, h: u32) -> u32 {
        match set {
            SetId::Susceptible => self.states.push(false, h),
            SetId::Infected => self.states.push(true, h),
            SetId::Crashed => self.crashed.push(h),
            SetId::Reinfectable => self.reinfectable.push(h),
        }
    }

    /// Remove the member of `set` at `pos`; returns the host moved into `pos`.
    fn set_swap_remove(&mut self, set: SetId, pos: u32) -> Option<u32> {
        match set {
            SetId::Susceptible => self.states.swap_remove(false, pos),
            SetId::Infected => self.states.swap_remove(true, pos),
            SetId::Crashed => self.crashed.swap_remove(pos),
            SetId::Reinfectable => self.reinfectable.swap_remove(pos),
        }
    }

    #[inline]
    fn pos_mut(&mut self, set: SetId, h: u32) -> &mut u32 {
        if set == SetId::Reinfectable {
            self.h.rpos_mut(h as usize)
        } else {
            &mut self.h[h as usize].ipos
        }
    }

    /// Ask the processor to load what the next crash recoveries will read if
    /// the crashed set keeps its size (a crash adds a member, a recovery
    /// removes one): the records of the hosts the next two recoveries pick,
    /// and the slot of the one [`AHEAD`] − 1 recoveries on. A hint, which
    /// changes nothing the run computes.
    #[inline]
    fn prefetch_recovery(&self) {
        let len = self.crashed.len();
        if len == 0 {
            return;
        }
        for k in 0..2 {
            let h = self.crashed.items[self.rec_host.peek(k, len as u32)];
            prefetch(&self.h[h as usize]);
            if let Model::Local(l) = &self.model {
                l.prefetch(h);
            }
        }
        prefetch(&self.crashed.items[self.rec_host.peek(AHEAD - 1, len as u32)]);
    }

    /// Add `h` to `set` (a host is in at most one of the state sets).
    fn join(&mut self, set: SetId, h: u32) {
        debug_assert_eq!(*self.pos_mut(set, h), NO_HOST);
        let p = self.set_push(set, h);
        *self.pos_mut(set, h) = p;
    }

    /// Remove `h` from `set`.
    fn leave(&mut self, set: SetId, h: u32) {
        let p = std::mem::replace(self.pos_mut(set, h), NO_HOST);
        debug_assert_ne!(p, NO_HOST);
        if let Some(moved) = self.set_swap_remove(set, p) {
            *self.pos_mut(set, moved) = p;
        }
    }

    // ----- susceptibility bookkeeping ------------------------------------

    fn add_susceptible(&mut self, h: u32) {
        let became_target = match &mut self.model {
            Model::Uniform => {
                self.join(SetId::Susceptible, h);
                false
            }
            Model::Local(l) => {
                l.add_susceptible(h);
                false
            }
            Model::Sequence(r) => r.set_susceptible(h, true),
            Model::Subset(m) => {
                m.add_susceptible(h);
                false
            }
            Model::Permutation(p) => p.update(h, true, true),
        };
        if became_target && self.started_runs() {
            self.retarget(h);
        }
    }

    /// Whether runners may exist yet (none before the first infection).
    fn started_runs(&self) -> bool {
        self.states.len(true) > 0
    }

    fn remove_susceptible(&mut self, h: u32) {
        match &mut self.model {
            Model::Uniform => self.leave(SetId::Susceptible, h),
            Model::Local(l) => l.remove_susceptible(h),
            Model::Sequence(r) => {
                r.set_susceptible(h, false);
            }
            Model::Subset(m) => m.remove_susceptible(h),
            Model::Permutation(p) => {
                let live = self.h[h as usize].state == HostState::Infected;
                p.update(h, false, live);
            }
        }
    }

    /// Whether `h` is in [`General::reinfectable`] (its `rpos` is a pool
    /// position instead while it is pooled).
    #[inline]
    fn in_reinfectable(&self, h: u32) -> bool {
        self.h.rpos(h as usize) != NO_HOST && self.h[h as usize].flags & flag::POOLED == 0
    }

    /// Put `h` in or take it out of [`General::reinfectable`], if it is not
    /// there already. (The check inline: most calls, such as a host pooled
    /// at its infection, change nothing.)
    #[inline]
    fn set_reinfectable(&mut self, h: u32, on: bool) {
        if on != self.in_reinfectable(h) {
            self.change_reinfectable(h, on);
        }
    }

    fn change_reinfectable(&mut self, h: u32, on: bool) {
        debug_assert!(
            self.h[h as usize].flags & flag::POOLED == 0,
            "a pooled host is never reinfectable"
        );
        let w = self.h[h as usize].w;
        if on {
            self.join(SetId::Reinfectable, h);
            self.reinfectable_weight += w;
        } else {
            self.leave(SetId::Reinfectable, h);
            self.reinfectable_weight -= w;
        }
        let became_target = match &mut self.model {
            Model::Sequence(r) => r.set_reinfectable(h, on),
            _ => false,
        };
        if became_target {
            self.retarget(h);
        }
    }

    // ----- pooled re-infections ([`pool`]) ---------------------------------

    /// Whether `h` may be pooled now: a re-infection target whose weight is at
    /// its ceiling with the threads it already has, all awake in the spread
    /// phase, so that another instance would change only its instance count.
    fn poolable(&self, h: u32) -> bool {
        let x = &self.h[h as usize];
        if !self.pooling
            || x.state != HostState::Infected
            || x.instances >= self.cfg.max_instances
            || x.w == 0
            || x.flags & (flag::ASLEEP | flag::DEAD | flag::HELD | flag::FLOODING | flag::POOLED)
                != 0
        {
            return false;
        }
        // `at_ceiling`, with the ceiling read once.
        let Some(cap) = self.ceiling(h) else {
            return false;
        };
        cap == x.w && self.awake_units(h as usize) >= cap
    }

    /// `h`'s weight ceiling (`max_scan_multiple` times its one-instance
    /// weight) [rate units], if there is one.
    #[inline]
    fn ceiling(&self, h: u32) -> Option<u64> {
        let m = self.cfg.max_scan_multiple?;
        let i = h as usize;
        Some(if self.classes.ceilings.is_empty() {
            ceiling_of(self.instance_units(i), m)
        } else {
            self.classes.ceilings[self.h[i].class as usize]
        })
    }

    /// Whether `h`'s awake threads already reach its weight ceiling.
    fn at_ceiling(&self, h: u32) -> bool {
        let i = h as usize;
        self.ceiling(h)
            .is_some_and(|cap| self.awake_units(i) >= cap)
    }

    /// Pool `h` if it may be: it leaves the re-infection channel (if in it) and
    /// draws the threshold of its next hit on its own clock. Returns whether
    /// it is pooled.
    fn maybe_pool(&mut self, h: u32) -> bool {
        if !self.poolable(h) {
            return false;
        }
        self.set_reinfectable(h, false);
        let i = h as usize;
        let w = self.h[i].w;
        let e = keyed_exp1(
            self.pool_key,
            pool_id(h, self.h[i].epoch),
            self.t.secs().to_bits(),
        );
        self.h[i].flags |= flag::POOLED;
        *self.h.rpos_mut(i) = self.pool.entries.len() as u32;
        reserve_for_push(&mut self.pool.entries, self.n);
        self.pool.entries.push(pool::Entry {
            theta: self.pool.clock(w) + e,
            w,
            h,
            k_lo: self.pool.next_grid_index(),
        });
        self.pool.weight += w;
        true
    }

    /// Apply the hits pooled entry `p` has had by now. Returns true if its host
    /// has reached `max_instances` (it must then leave the pool for good).
    fn pool_settle_entry<O: Observer>(&mut self, p: usize, obs: &mut O) -> bool {
        let mut e = self.pool.entries[p];
        let full = self.settle(&mut e, obs);
        self.pool.entries[p] = e;
        full
    }

    /// Apply the hits of pooled entry `e` by now, updating it; true if its
    /// host has reached `max_instances`.
    fn settle<O: Observer>(&mut self, e: &mut pool::Entry, obs: &mut O) -> bool {
        let clock = self.pool.clock(e.w);
        if e.theta > clock {
            return false;
        }
        let (h, i) = (e.h, e.h as usize);
        let now = self.t.secs();
        let (mut theta, mut k_lo) = (e.theta, e.k_lo);
        while theta <= clock {
            let t = self.pool.hit_time(theta, e.w, &mut k_lo, now);
            self.h[i].instances += 1;
            self.h[i].awake += self.threads(i);
            self.counters.instances_added += 1;
            self.counters.pooled_instances += 1;
            if let Some(batch) = &mut self.instance_batch {
                let b = &mut batch[k_lo as usize];
                *b = (t, b.1 + 1);
            } else {
                self.emit(
                    obs,
                    Event::Instance {
                        t: SimTime(t),
                        host: h,
                        instances: self.h[i].instances,
                    },
                );
            }
            if self.h[i].instances >= self.cfg.max_instances {
                return true;
            }
            theta += keyed_exp1(
                self.pool_key,
                pool_id(h, self.h[i].epoch),
                HIT | self.h[i].instances as u64,
            );
        }
        e.theta = theta;
        e.k_lo = k_lo;
        false
    }

    /// Take entry `p` out of the pool's entries (its host is still marked
    /// pooled: see [`General::pool_release`]).
    fn pool_take(&mut self, p: usize) -> pool::Entry {
        let e = self.pool.entries.swap_remove(p);
        if let Some(m) = self.pool.entries.get(p) {
            *self.h.rpos_mut(m.h as usize) = p as u32;
        }
        self.pool.weight -= e.w;
        if e.theta == f64::INFINITY {
            self.pool.full -= 1;
        }
        e
    }

    /// Settle entry `e`, taken out of the pool, and return its host to the
    /// re-infection channel if it is below `max_instances`.
    fn pool_release<O: Observer>(&mut self, mut e: pool::Entry, obs: &mut O) {
        self.settle(&mut e, obs);
        let (h, i) = (e.h, e.h as usize);
        self.h[i].flags &= !flag::POOLED;
        *self.h.rpos_mut(i) = NO_HOST;
        if self.h[i].instances < self.cfg.max_instances {
            self.set_reinfectable(h, true);
        }
    }

    /// Empty the pool; returns its entries (their hosts still marked pooled).
    fn pool_take_all(&mut self) -> Vec<pool::Entry> {
        self.pool.weight = 0;
        self.pool.full = 0;
        std::mem::take(&mut self.pool.entries)
    }

    /// If `h` is pooled, settle it and return it to the re-infection channel:
    /// called before anything reads or changes the host.
    fn unpool<O: Observer>(&mut self, h: u32, obs: &mut O) {
        if self.h[h as usize].flags & flag::POOLED == 0 {
            return;
        }
        let e = self.pool_take(self.h.rpos(h as usize) as usize);
        self.pool_release(e, obs);
    }

    /// Settle every pooled host up to now (the end of a run segment). They stay
    /// where they are in the pool, so that a run stopped and resumed keeps
    /// the order of a run not stopped; a host that has reached
    /// `max_instances` stays as a spent entry (weight 0, no next hit) until it
    /// is next looked at.
    fn pool_flush<O: Observer>(&mut self, obs: &mut O) {
        self.begin_instance_batch::<O>();
        for p in 0..self.pool.entries.len() {
            if self.pool_settle_entry(p, obs) {
                let e = &mut self.pool.entries[p];
                self.pool.weight -= e.w;
                self.pool.full += 1;
                e.w = 0;
                e.theta = f64::INFINITY;
            }
        }
        self.end_instance_batch(obs);
    }

    /// From now on, if no observer needs the hosts of re-infections
    /// ([`Observer::INSTANCE_HOSTS`]), count the pooled hits settled by grid
    /// bin instead of sending an [`Event::Instance`] for each: for the sweeps
    /// that settle many pooled hosts at once. Each bin's hits share one time
    /// (the bin's, or for the partial bin after the last grid point, one that
    /// depends only on now), so its count carries all observers need.
    fn begin_instance_batch<O: Observer>(&mut self) {
        if !O::INSTANCE_HOSTS {
            self.instance_batch = Some(vec![(0.0, 0); self.pool.next_grid_index() as usize + 1]);
        }
    }

    /// Send the counts gathered since [`General::begin_instance_batch`], one
    /// [`Event::Instances`] per bin with hits, and go back to sending each.
    fn end_instance_batch<O: Observer>(&mut self, obs: &mut O) {
        let Some(batch) = self.instance_batch.take() else {
            return;
        };
        for (t, count) in batch {
            if count > 0 {
                self.emit(
                    obs,
                    Event::Instances {
                        t: SimTime(t),
                        count,
                    },
                );
            }
        }
    }

    /// Settle every pooled host and empty the pool, before a change that
    /// touches every infected host (one pass in pool order, no position
    /// fix-ups).
    fn pool_dissolve<O: Observer>(&mut self, obs: &mut O) {
        self.begin_instance_batch::<O>();
        for e in self.pool_take_all() {
            self.pool_release(e, obs);
        }
        self.end_instance_batch(obs);
    }

    /// At a right-clock phase change: settle every pooled host and take it
    /// out of the pool; the right-clock ones enter `phase` at once (the
    /// wrong-clock ones may rejoin the pool). Returns a bitmap of the hosts
    /// that entered the phase (empty if none).
    fn pool_enter_phase<O: Observer>(&mut self, phase: Phase, obs: &mut O) -> Vec<u64> {
        if self.pool.entries.is_empty() {
            return Vec::new();
        }
        let mut done = vec![0u64; self.n.div_ceil(64)];
        // In host order, so that the host records (and the flood meter's
        // slots) are read in one sweep, not at random: 110 -> 80 ms for the
        // 354,000 pooled hosts at 00:00 on 20 July in the CRv2 preset. The
        // hosts enter the phase at the same instant; their order changes only
        // which positions they leave in the sets, not the law of the run.
        //
        // Two sweeps: first every pooled host is settled (the wrong-clock
        // ones may rejoin the pool), and the entries are freed; then the
        // right-clock ones enter the phase. So the entries are gone before the
        // phase's own records (the flood meter's open floods) are written: at
        // 10^7 hosts the two would take 24 bytes per host each at once. The
        // run is the one sweep's: the first sweep changes only the pool, the
        // re-infection set and each host's own record, and a host entering a
        // phase reads neither set, since only a phase without spreading can
        // find right-clock hosts pooled (pooling needs a weight), and in it
        // no host joins the pool or leaves the re-infection set.
        //
        // Host order without sorting the entries: a bit per pooled host, and
        // each host's entry found through its position, which its record
        // keeps (the entries taken out keep their positions). The record is
        // read in order; the entry, at random, is asked for SWEEP_AHEAD hosts
        // before it is needed. For the CRv2 preset's 354,000, taking and
        // settling them took 38 ms with the sort and 30 ms without.
        self.begin_instance_batch::<O>();
        let all = self.pool_take_all();
        let mut pooled = vec![0u64; self.n.div_ceil(64)];
        for e in &all {
            set_bit(&mut pooled, e.h);
        }
        let mut ahead = set_bits(&pooled).skip(SWEEP_AHEAD);
        for h in set_bits(&pooled) {
            if let Some(a) = ahead.next() {
                prefetch(&all[self.h.rpos(a as usize) as usize]);
            }
            let e = all[self.h.rpos(h as usize) as usize];
            debug_assert_eq!(e.h, h);
            self.pool_release(e, obs);
            if self.wrong_clock(h) {
                self.maybe_pool(h);
            } else {
                set_bit(&mut done, h);
            }
        }
        drop(ahead);
        drop(all);
        drop(pooled);
        self.end_instance_batch(obs);
        // A host leaving the scanning set writes its slot there, at random
        // in the set: ask for the slot of the host SWEEP_AHEAD places on.
        let mut ahead = set_bits(&done).skip(SWEEP_AHEAD);
        for h in set_bits(&done) {
            if let Some(a) = ahead.next() {
                let r = &self.h[a as usize];
                if r.w > 0 {
                    if let Some(slot) = self.scan.slot(r.w, r.spos) {
                        prefetch(slot);
                    }
                }
            }
            self.enter_phase_released(h, phase, obs);
        }
        drop(ahead);
        done
    }

    /// Right-clock host `h`, just settled and taken out of the pool, enters
    /// `phase` with the other right-clock hosts: [`General::enter_phase`]
    /// with what pooling guarantees already known. A pooled host was
    /// infected, awake, alive, not held and not flooding, with a weight, in
    /// the spread phase of a worm under uniform scanning without strategy
    /// extensions (see [`General::poolable`] and where `pooling` is set), and
    /// its settling changed only its instance and thread counts. Leaving the
    /// spread phase then takes its weight to 0 (it cannot be pooled again
    /// without one) and starts its flood if the worm floods in `phase`. The
    /// CRv2 preset's 353,000 right-clock hosts at 00:00 UTC on 20 July: 471
    /// instructions a host through `enter_phase` (bench/RESULTS.md, "The
    /// midnight phase change without the general path").
    fn enter_phase_released<O: Observer>(&mut self, h: u32, phase: Phase, obs: &mut O) {
        let i = h as usize;
        if phase == Phase::Spread || self.h[i].state != HostState::Infected {
            // Not reached (no host is pooled outside the spread phase, and a
            // pooled host is infected); the general path keeps it right if it were.
            self.enter_phase(h, phase, obs);
            return;
        }
        debug_assert!(self.pooling && !self.wrong_clock(h) && self.group_phase == phase);
        debug_assert_eq!(
            self.h[i].flags
                & (flag::POOLED | flag::ASLEEP | flag::DEAD | flag::HELD | flag::FLOODING),
            0
        );
        debug_assert_eq!(self.target_weight(h), 0);
        // `update_weight` to 0 (uniform scanning: no runner speeds).
        let old = self.h[i].w;
        if old != 0 {
            self.apply_weight(h, old, 0, obs);
        }
        // `should_flood`: infected, awake, alive, and in `phase`.
        let flood = self.cfg.flood && phase == Phase::Flood;
        debug_assert_eq!(flood, self.should_flood(h));
        self.set_flooding(h, flood, obs);
    }

    /// Rate of hits on pooled hosts [1/s], given the congestion factor.
    fn pool_rate(&self, f: f64) -> f64 {
        if self.pool.entries.is_empty() {
            return 0.0;
        }
        let live = self.pool.entries.len() - self.pool.full;
        let pairs = self.scan.total() as f64 * live as f64 - self.pool.weight as f64;
        f * pairs.max(0.0) / self.cfg.omega / RATE_UNITS_PER_PROBE
    }

    /// Host `h` became a target again: runners recompute where they go next.
    fn retarget(&mut self, h: u32) {
        self.ext_retarget();
        if let Model::Sequence(r) = &mut self.model {
            let t = self.t.secs();
            for (time, id, version, host) in r.retarget_to(t, h) {
                self.seq += 1;
                let epoch = self.h[host as usize].epoch;
                let kind = Kind::Runner(id, version);
                self.heap.push(Sched {
                    t: time,
                    seq: self.seq,
                    host,
                    epoch,
                    kind,
                });
            }
            self.drop_stale_runner_hits();
        }
    }

    /// Every re-aim of a CRv1 runner leaves its earlier hit in the heap, stale
    /// until popped (its version no longer matches). A reboot re-aims every
    /// moving runner, so with many runners and many reboots the stale entries
    /// grew without bound (6 GiB and an abort, in a generated scenario with
    /// 5,000 hosts, per-thread offsets and 3.6 reboots a day). When the heap
    /// holds more than twice what can be current, rebuild it without them. The
    /// heap's order is total (time, then sequence number), so the remaining
    /// entries pop in the same order: the run is unchanged.
    fn drop_stale_runner_hits(&mut self) {
        let Model::Sequence(r) = &self.model else {
            return;
        };
        if self.heap.len() <= Self::runner_heap_bound(r, self.n) {
            return;
        }
        self.heap.retain(|s| match s.kind {
            Kind::Runner(id, version) => r.is_current(id, version),
            _ => true,
        });
    }

    /// Twice what the heap can hold that is current, with runners `r` and
    /// `n` hosts: at most one hit per runner slot, and a few entries per host.
    fn runner_heap_bound(r: &runner::Runners, n: usize) -> usize {
        2 * (r.slots() + 8 * n) + 4096
    }

    // ----- transitions ------------------------------------------------------

    fn set_flooding<O: Observer>(&mut self, h: u32, on: bool, obs: &mut O) {
        let i = h as usize;
        let is = self.h[i].flags & flag::FLOODING != 0;
        if on == is {
            if on {
                // Instance count changed while flooding.
                self.emit(
                    obs,
                    Event::Flood {
                        t: self.t,
                        host: h,
                        instances: self.h[i].instances,
                    },
                );
            }
            return;
        }
        if on {
            self.h[i].flags |= flag::FLOODING;
            self.flooding += 1;
        } else {
            self.h[i].flags &= !flag::FLOODING;
            self.flooding -= 1;
        }
        let instances = if on { self.h[i].instances } else { 0 };
        self.emit(
            obs,
            Event::Flood {
                t: self.t,
                host: h,
                instances,
            },
        );
    }

    fn should_flood(&self, h: u32) -> bool {
        let i = h as usize;
        self.cfg.flood
            && self.h[i].state == HostState::Infected
            && self.h[i].flags & (flag::ASLEEP | flag::DEAD) == 0
            && self.phase_of(h, self.t.secs()) == Phase::Flood
    }

    /// Start a wake session for `h`: all its threads asleep, waking one by one.
    fn begin_wake(&mut self, h: u32) {
        let i = h as usize;
        match self.cfg.wake {
            Wake::Never => {
                self.h[i].flags |= flag::ASLEEP;
                self.h[i].awake = 0;
            }
            Wake::Lagged { max_lag } => {
                let total = self.threads(i) * self.h[i].instances as u32;
                self.h[i].awake = 0;
                if let Some(b) = &mut self.cohort_building {
                    b.push((h, self.h[i].epoch, total as u64));
                    return;
                }
                let start = self.t.secs();
                self.schedule_wake(h, start, 0.0, total, max_lag);
            }
        }
    }

    /// Schedule the next of `left` sleeping threads to wake, given the previous
    /// lag `prev` [s]: the minimum of `left` uniforms on `[prev, max_lag]`.
    fn schedule_wake(&mut self, h: u32, start: f64, prev: f64, left: u32, max_lag: f64) {
        if left == 0 {
            return;
        }
        let v: f64 = self.wake_rng.random::<f64>();
        let lag = prev + (max_lag - prev) * (1.0 - (1.0 - v).powf(1.0 / left as f64));
        self.schedule(
            start + lag,
            h,
            Kind::Wake {
                start,
                lag,
                left: left - 1,
            },
        );
    }

    /// Host `h` enters `phase` (its own clock, or the group's).
    fn enter_phase<O: Observer>(&mut self, h: u32, phase: Phase, obs: &mut O) {
        if self.h[h as usize].state != HostState::Infected {
            return;
        }
        self.unpool(h, obs);
        match phase {
            Phase::Spread => {
                if self.h[h as usize].flags & flag::ASLEEP == 0 {
                    self.begin_wake(h);
                }
            }
            Phase::Flood | Phase::Dormant => {}
        }
        self.refresh_weight(h, obs);
        let fl = self.should_flood(h);
        self.set_flooding(h, fl, obs);
    }

    /// Infect susceptible host `h` (or start its worm, for a seed).
    fn infect<O: Observer>(&mut self, h: u32, by: u32, obs: &mut O) {
        let i = h as usize;
        let t = self.t.secs();
        self.h[i].state = HostState::Infected;
        self.h[i].epoch = self.h[i].epoch.wrapping_add(1);
        // Mark it reinfectable before it stops being susceptible, so it stays a
        // target for CRv1's runners throughout (no needless re-aiming).
        // (With pooling, which excludes CRv1, it joins the pool or the
        // re-infection channel once its weight is known, below.)
        if self.cfg.max_instances > 1 && !self.pooling {
            self.set_reinfectable(h, true);
        }
        self.remove_susceptible(h);
        self.join(SetId::Infected, h);
        if let Some(start) = self.starts.get_mut(i) {
            *start = t;
        }
        self.h[i].instances = 1;
        let first = self.h[i].flags & flag::EVER == 0;
        if first {
            self.h[i].flags |= flag::EVER;
            self.records[i].first_at = t;
            self.records[i].first_by = by;
            self.order.push(h);
            self.ever += 1;
        } else {
            self.counters.reinfections += 1;
        }
        if self.cfg.backdoor && self.h[i].flags & flag::BACKDOOR == 0 {
            self.h[i].flags |= flag::BACKDOOR;
            self.backdoored += 1;
        }
        let infector = if by == NO_HOST { None } else { Some(by) };
        self.emit(
            obs,
            Event::Infection {
                t: self.t,
                host: h,
                infector,
                first,
            },
        );
        if self.dead_at(h, t) {
            // Past the drop-dead date the worm exits at once.
            self.h[i].flags |= flag::DEAD;
            self.clear(h, Clear::DropDead, HostState::Susceptible, obs);
            return;
        }
        self.h[i].flags &= !(flag::ASLEEP | flag::DEAD);
        let phase = self.phase_of(h, t);
        let threads = self.threads(i);
        self.h[i].awake = if phase == Phase::Dormant { 0 } else { threads };
        if let Model::Sequence(r) = &mut self.model {
            r.add_instance(h, threads, self.h[i].awake, t);
        }
        self.ext_on_infect(h, by, first);
        if self.pooling {
            self.update_weight(h, obs);
            if !self.maybe_pool(h) && self.cfg.max_instances > 1 {
                self.set_reinfectable(h, true);
            }
        } else {
            self.refresh_weight(h, obs);
        }
        let fl = self.should_flood(h);
        self.set_flooding(h, fl, obs);
        self.schedule_clock(h, t);
        if let Some(life) = self.cfg.lifetime {
            self.schedule(t + life, h, Kind::Lifetime);
        }
        if let Some(d) = self.cfg.deface {
            if self.traits(h) & trait_bit::ENGLISH != 0 && self.h[i].flags & flag::DEFACED == 0 {
                self.h[i].flags |= flag::DEFACED;
                self.defaced += 1;
                self.emit(
                    obs,
                    Event::Deface {
                        t: self.t,
                        host: h,
                        on: true,
                    },
                );
                self.schedule(t + d, h, Kind::DefaceEnd);
            }
        }
    }

    /// Another probe reached infected host `h`: one more worm instance.
    fn add_instance<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        self.h[i].instances += 1;
        self.counters.instances_added += 1;
        let t = self.t.secs();
        let phase = self.phase_of(h, t);
        let threads = self.threads(i);
        // The new instance's threads start at once (they were never asleep),
        // unless the host's calendar says sleep.
        let new_awake = if phase == Phase::Dormant { 0 } else { threads };
        if new_awake > 0 {
            self.h[i].flags &= !flag::ASLEEP;
        }
        self.h[i].awake += new_awake;
        if let Model::Sequence(r) = &mut self.model {
            r.add_instance(h, threads, new_awake, t);
        }
        if self.h[i].instances >= self.cfg.max_instances {
            self.set_reinfectable(h, false);
        }
        self.emit(
            obs,
            Event::Instance {
                t: self.t,
                host: h,
                instances: self.h[i].instances,
            },
        );
        self.refresh_weight(h, obs);
        if self.h[i].flags & flag::FLOODING != 0 {
            self.set_flooding(h, true, obs);
        }
    }

    /// `h` stops showing the defaced page, if it does.
    fn end_deface<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        if self.h[i].flags & flag::DEFACED != 0 {
            self.h[i].flags &= !flag::DEFACED;
            self.defaced -= 1;
            self.emit(
                obs,
                Event::Deface {
                    t: self.t,
                    host: h,
                    on: false,
                },
            );
        }
    }

    /// `h` is down, crashed by a probe from `by` (or by its own payload).
    fn record_crash<O: Observer>(&mut self, h: u32, by: u32, obs: &mut O) {
        self.join(SetId::Crashed, h);
        self.prefetch_recovery();
        self.counters.crashes += 1;
        self.emit(
            obs,
            Event::Crash {
                t: self.t,
                host: h,
                infector: by,
            },
        );
    }

    /// End `h`'s infection: it becomes `to` (susceptible or patched).
    fn clear<O: Observer>(&mut self, h: u32, why: Clear, to: HostState, obs: &mut O) {
        let i = h as usize;
        debug_assert_eq!(self.h[i].state, HostState::Infected);
        self.unpool(h, obs);
        self.set_flooding(h, false, obs);
        self.end_deface(h, obs);
        self.set_reinfectable(h, false);
        self.h[i].state = to;
        self.h[i].instances = 0;
        self.h[i].awake = 0;
        self.h[i].epoch = self.h[i].epoch.wrapping_add(1);
        self.leave(SetId::Infected, h);
        if let Model::Sequence(r) = &mut self.model {
            r.remove_host(h, self.t.secs());
        }
        self.emit_runner_moves(obs);
        self.ext_on_clear(h, to);
        self.refresh_weight(h, obs);
        if to == HostState::Susceptible {
            self.add_susceptible(h);
            self.emit(
                obs,
                Event::Cleared {
                    t: self.t,
                    host: h,
                    why,
                },
            );
        }
    }

    /// Whether a probe that reaches susceptible `h` crashes it instead of
    /// infecting it (Windows NT 4 under Code Red II).
    #[inline]
    fn crashes(&self, h: u32) -> bool {
        self.cfg.nt4_crash && has_bit(&self.nt4, h)
    }

    /// A probe from `by` reached susceptible `h`.
    fn hit_susceptible<O: Observer>(&mut self, h: u32, by: u32, obs: &mut O) {
        if self.crashes(h) {
            self.remove_susceptible(h);
            self.h[h as usize].state = HostState::Crashed;
            self.record_crash(h, by, obs);
        } else {
            self.counters.infections += 1;
            self.infect(h, by, obs);
        }
    }

    fn patch<O: Observer>(&mut self, h: u32, obs: &mut O) {
        let i = h as usize;
        let was_infected = match self.h[i].state {
            HostState::Susceptible => {
                self.remove_susceptible(h);
                self.h[i].state = HostState::Patched;
                false
            }
            HostState::Infected => {
                self.counters.patched_while_infected += 1;
                self.clear(h, Clear::Reboot, HostState::Patched, obs);
                true
            }
            HostState::Crashed => {
                self.leave(SetId::Crashed, h);
                self.h[i].state = HostState::Patched;
                false
            }
            HostState::Patched => return,
        };
        self.n_patched += 1;
        self.counters.patches += 1;
        self.emit(
            obs,
            Event::Patch {
                t: self.t,
                host: h,
                was_infected,
            },
        );
    }

    // ----- start ------------------------------------------------------------

    pub fn start<O: Observer>(&mut self, obs: &mut O) {
        if self.started {
            return;
        }
        self.started = true;
        if self.pooling {
            if let Some((start, bin)) = obs.instance_grid() {
                self.pool.set_grid(start.secs(), bin);
            }
        }
        for h in 0..self.n as u32 {
            self.add_susceptible(h);
        }
        if let Some(ck) = self.setup.checkpoint.clone() {
            self.restore(&ck, obs);
            return;
        }
        for k in 0..self.setup.patched.len() {
            let h = self.setup.patched[k];
            self.patch(h, obs);
        }
        for k in 0..self.setup.seeds.len() {
            let h = self.setup.seeds[k];
            if self.h[h as usize].state == HostState::Susceptible {
                self.infect(h, NO_HOST, obs);
            }
        }
    }

    fn restore<O: Observer>(&mut self, ck: &Checkpoint, obs: &mut O) {
        let t = self.t.secs();
        for (i, hs) in ck.hosts.iter().enumerate() {
            if hs.backdoor {
                self.h[i].flags |= flag::BACKDOOR;
                self.backdoored += 1;
            }
            if !hs.first_infected_at.is_nan() {
                self.h[i].flags |= flag::EVER;
                self.records[i].first_at = hs.first_infected_at;
                self.records[i].first_by = hs.first_infector;
                self.ever += 1;
            }
            if hs.asleep {
                self.h[i].flags |= flag::ASLEEP;
            }
            if hs.dead {
                self.h[i].flags |= flag::DEAD;
            }
        }
        let first_at: Vec<f64> = self.records.iter().map(|r| r.first_at).collect();
        self.order = ck.infection_order(&first_at);
        for (i, hs) in ck.hosts.iter().enumerate() {
            let h = i as u32;
            match hs.state {
                HostState::Susceptible => {}
                HostState::Patched => {
                    self.remove_susceptible(h);
                    self.h[i].state = HostState::Patched;
                    self.n_patched += 1;
                }
                HostState::Crashed => {
                    self.remove_susceptible(h);
                    self.h[i].state = HostState::Crashed;
                    self.join(SetId::Crashed, h);
                    self.prefetch_recovery();
                }
                HostState::Infected => {
                    self.remove_susceptible(h);
                    self.h[i].state = HostState::Infected;
                    self.h[i].epoch = self.h[i].epoch.wrapping_add(1);
                    self.join(SetId::Infected, h);
                    if let Some(start) = self.starts.get_mut(i) {
                        *start = hs.infected_at;
                    }
                    self.h[i].instances = hs.instances.max(1);
                    let threads = self.threads(i);
                    let total = threads * self.h[i].instances as u32;
                    self.h[i].awake = hs.awake.min(total);
                    if let Model::Sequence(r) = &mut self.model {
                        r.add_instance(h, threads, self.h[i].awake, t);
                    }
                    if self.h[i].instances < self.cfg.max_instances {
                        self.set_reinfectable(h, true);
                    }
                    self.refresh_weight(h, obs);
                    let fl = self.should_flood(h);
                    self.set_flooding(h, fl, obs);
                    self.schedule_clock(h, t);
                    if let Some(life) = self.cfg.lifetime {
                        self.schedule((hs.infected_at + life).max(t), h, Kind::Lifetime);
                    }
                    if hs.defaced {
                        self.h[i].flags |= flag::DEFACED;
                        self.defaced += 1;
                        if let Some(d) = self.cfg.deface {
                            self.schedule((hs.infected_at + d).max(t), h, Kind::DefaceEnd);
                        }
                    }
                    // A wake session in progress: the threads still asleep wake at
                    // lags uniform on what is left of the window (conditioning on
                    // those already awake keeps the lags uniform).
                    if let Wake::Lagged { max_lag } = self.cfg.wake {
                        let local = self.local(h, t);
                        let since = local - month_start(local);
                        if self.phase_of(h, t) == Phase::Spread
                            && self.h[i].flags & flag::ASLEEP == 0
                            && self.h[i].awake < total
                            && since < max_lag
                        {
                            let start = t - since;
                            self.schedule_wake(h, start, since, total - self.h[i].awake, max_lag);
                        }
                    }
                }
            }
        }
    }

    // ----- the event loop ---------------------------------------------------

    pub fn step<O: Observer>(&mut self, stop: SimTime, obs: &mut O) -> bool {
        let tb = match self.breaks.get(self.next_break) {
            Some(&(tb, _)) if tb <= stop => Some(tb),
            _ => None,
        };
        let tp = match self.patch_queue.get(self.next_patch) {
            Some(x) if SimTime(x.t) <= stop => Some(SimTime(x.t)),
            _ => None,
        };
        let th = match self.heap.peek() {
            Some(s) if SimTime(s.t) <= stop => Some(SimTime(s.t)),
            _ => None,
        };
        let tw = match self
            .cohort
            .as_ref()
            .and_then(|c| c.next_time(self.t.secs()))
        {
            Some(t) if SimTime(t) <= stop => Some(SimTime(t)),
            _ => None,
        };
        let mut t_sched = stop;
        for x in [tb, tp, th, tw].into_iter().flatten() {
            if x < t_sched {
                t_sched = x;
            }
        }
        let f = self.congestion();
        let (a_inf, a_re) = self.probe_channels(f);
        let view = self.view_with(f, a_inf, a_re);
        let a_reb = self.reboot_rate * self.states.len(true) as f64;
        let a_rec = self.cfg.crash_recovery * self.crashed.len() as f64;
        // The pooled hosts' clocks: A at rate f·W/(Ω·u), B at f/(Ω·u).
        let (ra, rb) = if self.pooling {
            let u = f / self.cfg.omega / RATE_UNITS_PER_PROBE;
            (u * self.scan.total() as f64, u)
        } else {
            (0.0, 0.0)
        };
        let dues = [
            self.inf.due(a_inf),
            self.re.due(a_re),
            self.reb.due(a_reb),
            self.rec.due(a_rec),
        ];
        let (k, dt) = dues
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |b, (k, d)| if d < b.1 { (k, d) } else { b },
            );
        let t_next = self.t.plus(dt);
        let burn = |me: &mut Self, dt: f64| {
            me.inf.burn(a_inf, dt);
            me.re.burn(a_re, dt);
            me.reb.burn(a_reb, dt);
            me.rec.burn(a_rec, dt);
            if me.pooling {
                let t0 = me.t.secs();
                me.pool.advance(t0, t0 + dt, ra, rb);
            }
            if let Some(c) = &mut me.cohort {
                let t0 = me.t.secs();
                c.burn(t0, t0 + dt);
            }
        };
        if t_next < t_sched {
            obs.interval(self.t, t_next, &view);
            burn(self, dt);
            self.t = t_next;
            self.counters.events += 1;
            match k {
                0 => {
                    self.inf.fired();
                    self.fire_infection(obs);
                }
                1 => {
                    self.re.fired();
                    self.fire_reinfection(obs);
                }
                2 => {
                    self.reb.fired();
                    let h = self.states.choose(true, &mut self.reb.rng);
                    self.counters.reboots += 1;
                    self.clear(h, Clear::Reboot, HostState::Susceptible, obs);
                }
                _ => {
                    self.rec.fired();
                    let k = self.rec_host.below(self.crashed.len() as u32);
                    let h = self.crashed.items[k as usize];
                    self.leave(SetId::Crashed, h);
                    self.h[h as usize].state = HostState::Susceptible;
                    self.add_susceptible(h);
                    self.emit(obs, Event::Recover { t: self.t, host: h });
                    self.prefetch_recovery();
                }
            }
            return true;
        }
        // Nothing fires before the next scheduled time.
        if t_sched > self.t {
            let dt = t_sched.since(self.t);
            obs.interval(self.t, t_sched, &view);
            burn(self, dt);
            self.t = t_sched;
        }
        if tb == Some(t_sched) {
            let (t, b) = self.breaks[self.next_break];
            self.next_break += 1;
            self.counters.events += 1;
            match b {
                Break::Phase(phase) => {
                    self.group_phase = phase;
                    self.emit(obs, Event::Phase { t, phase });
                    // Sessions that start now share one wake channel, if the
                    // window ends before any phase change (days 1–19 spread)
                    // and the last cohort is spent.
                    let cohort_lag = match self.cfg.wake {
                        Wake::Lagged { max_lag }
                            if phase == Phase::Spread
                                && max_lag < 19.0 * DAY
                                && self.cohort.as_ref().is_none_or(|c| c.asleep() == 0) =>
                        {
                            self.cohort_building = Some(Vec::new());
                            Some(max_lag)
                        }
                        _ => None,
                    };
                    // Every right-clock host changes weight at once; no host is
                    // drawn until all have (scanset::ScanSet::begin_removals).
                    self.scan.begin_removals();
                    // Pooled hosts first, in host order: each is settled and
                    // enters the phase while its record is in cache.
                    // (`done` is empty when nothing was pooled.)
                    let done = self.pool_enter_phase(phase, obs);
                    let mut hosts: Vec<u32> = self
                        .states
                        .iter(true)
                        .filter(|&h| {
                            !self.wrong_clock(h) && (done.is_empty() || !has_bit(&done, h))
                        })
                        .collect();
                    // In host order, as in `pool_enter_phase`.
                    hosts.sort_unstable();
                    for h in hosts {
                        self.enter_phase(h, phase, obs);
                    }
                    self.scan.end_removals(&mut self.h);
                    if let (Some(max_lag), Some(b)) = (cohort_lag, self.cohort_building.take()) {
                        self.cohort = (!b.is_empty()).then(|| {
                            let e = exp1(&mut self.wake_rng);
                            wake::Cohort::new(t.secs(), max_lag, &b, e)
                        });
                    }
                }
                Break::RebootRate(r) => self.reboot_rate = r,
                Break::Ext(sw) => self.ext_switch(sw, obs),
                Break::DropDead => {
                    if self.pooling {
                        self.pool_dissolve(obs);
                    }
                    self.group_dead = true;
                    let hosts: Vec<u32> = self
                        .states
                        .iter(true)
                        .filter(|&h| !self.wrong_clock(h))
                        .collect();
                    for h in hosts {
                        self.h[h as usize].flags |= flag::DEAD;
                        self.counters.expired += 1;
                        self.clear(h, Clear::DropDead, HostState::Susceptible, obs);
                    }
                }
            }
            return true;
        }
        if tp == Some(t_sched) {
            let h = self.patch_queue[self.next_patch].h;
            self.next_patch += 1;
            self.counters.events += 1;
            self.patch(h, obs);
            return true;
        }
        if th == Some(t_sched) {
            let ev = self.heap.pop().expect("peeked");
            self.counters.events += 1;
            self.scheduled(ev, obs);
            return true;
        }
        if tw == Some(t_sched) {
            self.counters.events += 1;
            self.fire_cohort(obs);
            return true;
        }
        // At `stop`: pooled hosts' instance counts are brought up to date.
        if self.pooling {
            self.pool_flush(obs);
        }
        false
    }

    fn fire_infection<O: Observer>(&mut self, obs: &mut O) {
        let (target, by) = match &self.model {
            Model::Uniform => {
                let k = self.victim.below(self.states.len(false) as u32);
                let target = self.states.get(false, k as usize);
                let by = infector_stream::<O>(
                    self.crashes(target),
                    &mut self.infector_rng,
                    &mut self.crash_rng,
                )
                .map_or(NO_HOST, |rng| self.scan.choose(&self.h, rng));
                (target, by)
            }
            Model::Local(l) => {
                let (hosts, scan) = (&self.h, &self.scan);
                let (target, source) = l.target(scan.total(), &mut self.inf.rng);
                let by = infector_stream::<O>(
                    self.crashes(target),
                    &mut self.inf.rng,
                    &mut self.crash_rng,
                )
                .map_or(NO_HOST, |rng| {
                    l.infector(source, scan.bound(), |rng| scan.choose(hosts, rng), rng)
                });
                (target, by)
            }
            Model::Subset(m) => {
                let (target, by) = m.choose(&mut self.inf.rng);
                // Some targets are drawn alone: their infector now.
                let by = if by != NO_HOST {
                    by
                } else {
                    infector_stream::<O>(
                        self.crashes(target),
                        &mut self.inf.rng,
                        &mut self.crash_rng,
                    )
                    .map_or(NO_HOST, |rng| self.scan.choose(&self.h, rng))
                };
                (target, by)
            }
            Model::Sequence(_) | Model::Permutation(_) => {
                unreachable!("runner scanning has no infection channel")
            }
        };
        self.hit_susceptible(target, by, obs);
        if matches!(self.model, Model::Uniform) {
            self.prefetch_victims();
        }
    }

    /// Ask the processor to load what the next infections of the uniform
    /// model will read, assuming each event until then is an infection (each
    /// removes one member from the susceptible set, the last member moving
    /// into its slot): the host and infection records of the next victim and
    /// of the one after, the slot of the victim [`AHEAD`] − 1 infections on,
    /// the record of the member the removal after next moves, and the
    /// scanning set's slot the next infector is drawn from. A hint, which
    /// changes nothing the run computes. A load takes longer than one event,
    /// so each is asked for an event or more before it is needed.
    #[inline]
    fn prefetch_victims(&self) {
        let n = self.states.len(false);
        for k in 0..2 {
            if n > k {
                let m = (n - k) as u32;
                let h = self.states.get(false, self.victim.peek(k, m)) as usize;
                prefetch(&self.h[h]);
                prefetch(&self.records[h]);
            }
        }
        if n >= AHEAD {
            let k = self.victim.peek(AHEAD - 1, (n + 1 - AHEAD) as u32);
            prefetch(&self.states.slots[self.states.slot(false, k)]);
        }
        if n >= 2 {
            prefetch(&self.h[self.states.get(false, n - 2) as usize]);
        }
        if let Some(slot) = self.scan.peek(&self.infector_rng) {
            prefetch(slot);
        }
    }

    fn fire_reinfection<O: Observer>(&mut self, obs: &mut O) {
        // The rate counts pairs (infector h, target v) with h != v, so target v
        // has probability ∝ W − w_v: draw v uniformly among reinfectable hosts
        // and keep it with probability (W − w_v)/W (rejection).
        let w = self.scan.total();
        loop {
            let v = self.reinfectable.choose(&mut self.re.rng);
            let wv = self.h[v as usize].w;
            if wv == 0 || below_u64(&mut self.re.rng, w) >= wv {
                self.add_instance(v, obs);
                return;
            }
        }
    }

    /// A thread of the wake cohort wakes ([`wake`]): one of the sleeping
    /// threads, uniformly, so its session in proportion to its sleeping count.
    fn fire_cohort<O: Observer>(&mut self, obs: &mut O) {
        let c = self.cohort.as_mut().expect("a cohort with threads asleep");
        let u = below_u64(&mut self.wake_rng, c.asleep());
        let k = c.pick(u);
        c.e = exp1(&mut self.wake_rng);
        let (h, epoch) = c.hosts[k];
        let i = h as usize;
        // As a scheduled wake-up: stale if the infection is over, void if the
        // host no longer spreads; either way its session ends.
        let over = epoch != self.h[i].epoch
            || self.h[i].state != HostState::Infected
            || self.h[i].flags & flag::ASLEEP != 0
            || self.phase_of(h, self.t.secs()) != Phase::Spread;
        let c = self.cohort.as_mut().expect("drawn above");
        if over {
            c.drop_session(k);
            return;
        }
        c.woke(k);
        self.wake_thread(h, obs);
        // At its ceiling, the host's other threads change nothing but the
        // count: count them awake now ([`wake`], "detached").
        if !matches!(self.model, Model::Sequence(_)) && self.at_ceiling(h) {
            let t = self.t.secs();
            let c = self.cohort.as_mut().expect("drawn above");
            self.h[i].awake += c.detach(k, t);
        }
    }

    /// One sleeping thread of spreading host `h` wakes.
    fn wake_thread<O: Observer>(&mut self, h: u32, obs: &mut O) {
        self.h[h as usize].awake += 1;
        if self.h[h as usize].flags & flag::POOLED != 0 {
            // A pooled host is at its weight ceiling: one more awake thread
            // changes nothing but the count (which its pooled hits add to as
            // well, in any order), so it stays pooled.
            return;
        }
        if let Model::Sequence(r) = &mut self.model {
            r.wake_one(h, &mut self.wake_rng);
        }
        self.refresh_weight(h, obs);
    }

    fn scheduled<O: Observer>(&mut self, ev: Sched, obs: &mut O) {
        if let Kind::Ext(due) = ev.kind {
            return self.ext_scheduled(ev, due, obs);
        }
        let h = ev.host;
        let i = h as usize;
        if ev.epoch != self.h[i].epoch || self.h[i].state != HostState::Infected {
            return; // stale: the infection it belonged to is over
        }
        // A wake-up leaves a pooled host pooled ([`General::wake_thread`]).
        if !matches!(ev.kind, Kind::Wake { .. }) {
            self.unpool(h, obs);
        }
        match ev.kind {
            Kind::HostPhase => {
                let phase = self.phase_of(h, self.t.secs());
                self.enter_phase(h, phase, obs);
                let off = self.setup.clock_offset(h);
                let next = next_phase_change(self.t.secs() + off) - off;
                self.schedule(next, h, Kind::HostPhase);
            }
            Kind::Wake { start, lag, left } => {
                if self.phase_of(h, self.t.secs()) != Phase::Spread
                    || self.h[i].flags & flag::ASLEEP != 0
                {
                    return;
                }
                self.wake_thread(h, obs);
                if let Wake::Lagged { max_lag } = self.cfg.wake {
                    self.schedule_wake(h, start, lag, left, max_lag);
                }
            }
            Kind::Lifetime => {
                self.counters.expired += 1;
                self.clear(h, Clear::Lifetime, HostState::Susceptible, obs);
            }
            Kind::DefaceEnd => {
                self.end_deface(h, obs);
                self.maybe_pool(h);
            }
            Kind::DropDead => {
                self.h[i].flags |= flag::DEAD;
                self.counters.expired += 1;
                self.clear(h, Clear::DropDead, HostState::Susceptible, obs);
            }
            Kind::Ext(_) => unreachable!("dispatched above"),
            Kind::Runner(id, version) => {
                let Model::Sequence(r) = &mut self.model else {
                    unreachable!()
                };
                let Some((target, next)) = r.fire(id, version, self.t.secs()) else {
                    return;
                };
                if let Some((next_t, v)) = next {
                    self.schedule(next_t, h, Kind::Runner(id, v));
                }
                match self.h[target as usize].state {
                    HostState::Susceptible => self.hit_susceptible(target, h, obs),
                    HostState::Infected
                        if self.h[target as usize].instances < self.cfg.max_instances
                            && target != h =>
                    {
                        self.add_instance(target, obs)
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn run_until<O: Observer>(&mut self, stop: SimTime, obs: &mut O) {
        while self.step(stop, obs) {}
    }

    pub fn hosts(&self) -> HostRecords {
        HostRecords {
            first_infected_at: self.records.iter().map(|r| r.first_at).collect(),
            first_infector: self.records.iter().map(|r| r.first_by).collect(),
            state: self.h.map(|x| x.state),
            infection_order: self.order.clone(),
        }
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// [`General::hosts`], consuming the engine: everything else is freed
    /// first, and each host array as soon as its output is built.
    pub fn into_hosts(self) -> HostRecords {
        // The engine's other fields are dropped where `g` ends, at this block's
        // end, not at the function's (as a `let General { h, .. } = self`
        // would leave them).
        let (h, records, infection_order) = {
            let g = self;
            (g.h, g.records, g.order)
        };
        let state = h.map(|x| x.state);
        drop(h);
        let first_infected_at = records.iter().map(|r| r.first_at).collect();
        let first_infector = records.iter().map(|r| r.first_by).collect();
        drop(records);
        HostRecords {
            first_infected_at,
            first_infector,
            state,
            infection_order,
        }
    }

    /// Each host's patch download time [s], as drawn at the start (the
    /// scenario's start for an install pending in the checkpoint it started
    /// from); NaN for the others without patching.
    fn patch_downloads(&self) -> Vec<f64> {
        let r = &self.patch_replay;
        let mut d = vec![f64::NAN; self.n];
        if let Some((rng, schedule)) = &r.stream {
            let mut rng = rng.clone();
            for x in &mut d {
                *x = schedule.inverse_cumulative(r.start, exp1(&mut rng)).secs();
            }
        }
        if let Some(ck) = &self.setup.checkpoint {
            for (h, _) in ck.pending_patches(&self.setup.population) {
                d[h as usize] = r.start.secs();
            }
        }
        d
    }

    /// The state now, for a later scenario to start from.
    ///
    /// # Errors
    /// Sequence scanning (runner positions are not saved), extensions, and a
    /// run set up with [`Keep::Outputs`].
    pub fn checkpoint(&mut self) -> Result<Checkpoint, SetupError> {
        if self.starts.len() != self.n {
            return Err(SetupError::Unsupported(
                "this run was set up without the infection start times a checkpoint needs (Keep::Outputs); set it up with Keep::Checkpoint".into(),
            ));
        }
        if self.ext.active {
            return Err(SetupError::Unsupported(
                "checkpoints of runs with hit lists, permutation scanning, PRNG subsets, payloads or containment are not supported".into(),
            ));
        }
        if matches!(self.model, Model::Sequence(_)) {
            return Err(SetupError::Unsupported(
                "checkpoints of sequence-scanning (CRv1) runs are not supported: runner positions are not saved".into(),
            ));
        }
        if self.pooling {
            self.pool_flush(&mut ());
        }
        let t = self.t.secs();
        // Installs whose download has happened but whose testing lag has not
        // run out are pending: the next scenario keeps them and draws fresh
        // downloads for everyone else.
        let downloads = self.patch_downloads();
        let mut pending_at = vec![f64::NAN; self.n];
        for &Install { t: pt, h } in &self.patch_queue[self.next_patch..] {
            if downloads[h as usize] <= t {
                pending_at[h as usize] = pt;
            }
        }
        // Threads of detached wake sessions that are still asleep now
        // ([`wake`]): drawn from a generator keyed by host and epoch.
        let mut asleep: Vec<(usize, u32)> = Vec::new();
        if let Some(c) = &self.cohort {
            for &(k, n, t_d) in &c.detached {
                let (h, epoch) = c.hosts[k as usize];
                let i = h as usize;
                if epoch != self.h[i].epoch || self.h[i].state != HostState::Infected {
                    continue;
                }
                let p = c.still_asleep(t_d, t);
                if p > 0.0 {
                    let mut rng = <Rng as rand::SeedableRng>::seed_from_u64(
                        self.detached_key ^ pool_id(h, epoch) ^ t.to_bits().rotate_left(32),
                    );
                    let x = rand_distr::Binomial::new(n as u64, p).expect("p in [0, 1]");
                    asleep.push((i, rng.sample(x) as u32));
                }
            }
        }
        let mut hosts: Vec<HostSnapshot> = (0..self.n)
            .map(|i| {
                let h = i as u32;
                HostSnapshot {
                    addr: self.setup.population.addrs()[i],
                    state: self.h[i].state,
                    instances: self.h[i].instances,
                    awake: self.h[i].awake,
                    thread_units: self.tu(i),
                    threads: self.threads(i) as u16,
                    traits: self.traits(h),
                    clock_offset: self.setup.clock_offset(h),
                    backdoor: self.h[i].flags & flag::BACKDOOR != 0,
                    defaced: self.h[i].flags & flag::DEFACED != 0,
                    asleep: self.h[i].flags & flag::ASLEEP != 0,
                    dead: self.h[i].flags & flag::DEAD != 0,
                    first_infected_at: self.records[i].first_at,
                    first_infector: self.records[i].first_by,
                    infected_at: self.starts[i],
                    patch_at: if self.h[i].state == HostState::Patched {
                        f64::NAN
                    } else {
                        pending_at[i]
                    },
                }
            })
            .collect();
        for (i, a) in asleep {
            hosts[i].awake -= a;
        }
        Ok(Checkpoint {
            time: SimTime(t),
            space_bits: self.cfg.bits,
            hosts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    /// `f64_of` is `as f64`: at powers of two and either side of them, at
    /// halfway cases with and without bits below, and at random values of
    /// every width.
    #[test]
    fn f64_of_rounds_as_the_cast_does() {
        let mut xs = vec![0u128, 1, u128::MAX, u128::MAX - 1];
        for k in 0..128 {
            let p = 1u128 << k;
            xs.extend([p, p - 1, p.wrapping_add(1), p | (p >> 1), p | (p >> 53)]);
            if k > 54 {
                // Exactly halfway between two f64s, and just above halfway.
                let half = p | (1u128 << (k - 53));
                xs.extend([half, half | 1, half - 1, half | (1u128 << (k - 54))]);
            }
        }
        let mut rng = Streams::new(5, 0).stream("f64-of");
        for _ in 0..200_000 {
            let x = rng.random::<u128>() >> (rng.random::<u32>() % 128);
            xs.push(x);
        }
        for x in xs {
            assert_eq!(f64_of(x).to_bits(), (x as f64).to_bits(), "{x}");
        }
    }

    /// `Ahead` hands out the stream's values in order: its uniform draws are
    /// `rng::below`'s on the same stream (rejections included, with bounds
    /// near 2^32 where they are frequent), and `peek` names the next one.
    #[test]
    fn drawing_ahead_draws_the_same_values() {
        let streams = Streams::new(3, 0);
        let mut ahead = Ahead::new(streams.stream("ahead-test"));
        let mut plain = streams.stream("ahead-test");
        let mut bound = 1u32;
        for i in 0..20_000u32 {
            bound = match i % 4 {
                0 => 1 + i,
                1 => u32::MAX - i,
                2 => (1 << 31) + 1 + i,
                _ => bound.wrapping_mul(2_654_435_761).max(1),
            };
            let peeked = ahead.peek(0, bound);
            let x = ahead.below(bound);
            assert_eq!(
                x,
                crate::rng::below(&mut plain, bound),
                "draw {i}, bound {bound}"
            );
            assert!(x < bound);
            // Without a rejection the draw is the one peeked at.
            if x as usize != peeked {
                assert!(bound > 1 << 20, "a rejection at a small bound {bound}");
            }
        }
    }

    /// CRv1 with a runner per thread and frequent reboots: every reboot re-aims
    /// every moving runner and leaves its earlier hit stale in the heap. The
    /// stale hits are dropped, so the heap stays within its bound (before, it
    /// grew by the number of runners at every reboot).
    #[test]
    fn stale_runner_hits_do_not_pile_up() {
        let s = Scenario::from_str(
            "stale.toml",
            r#"
[scenario]
name = "stale"
start = 2001-07-12T00:00:00Z
end = 2001-07-13T00:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 400
[worm]
variant = "crv1"
scan_rate = 2.0
threads = 50
per_thread_offset = true
deface = false
initial_infected = 5
[defense.reboot]
rate = 48
"#,
        )
        .expect("valid scenario");
        let streams = Streams::new(1, 0);
        let setup = Setup::new(&s, &streams).expect("setup");
        let mut g = General::new(&s, setup, &streams, Keep::Checkpoint).expect("engine");
        g.start(&mut ());
        let (mut peak, mut reboots) = (0, 0);
        while g.step(s.end, &mut ()) {
            peak = peak.max(g.heap.len());
            reboots = g.counters.reboots;
        }
        let Model::Sequence(r) = &g.model else {
            panic!("CRv1 runs on runners")
        };
        let bound = General::runner_heap_bound(r, g.n);
        // Far more hits were scheduled than the bound allows at once.
        assert!(
            g.seq as usize > 10 * bound,
            "{} hits scheduled ({reboots} reboots, {} runner slots): too few to test",
            g.seq,
            r.slots()
        );
        // Without the drop the peak was 1,881,088 entries here.
        assert!(peak <= bound + r.slots(), "peak heap {peak}, bound {bound}");
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;
    use crate::alloc::GROW_TO_LIMIT;
    use crate::rng::Streams;

    /// A fixed scan rate gives one class per thread count, and the host
    /// records name the class holding their rate and threads.
    #[test]
    fn classes_by_pair_hold_each_hosts_rate_and_threads() {
        let tu = vec![7, 7, 7, 9, 7];
        let threads = [100, 300, 100, 100, 300];
        let (c, class) = Classes::new(tu.clone(), &threads).expect("few classes");
        assert!(c.host_tu.is_empty());
        assert_eq!(c.pairs.len(), 3);
        for i in 0..tu.len() {
            assert_eq!(c.pairs[class[i] as usize], (tu[i], threads[i]));
        }
    }

    /// Each class's ceiling is the one computed from its host's rate and
    /// threads; none without a ceiling or with rates per host.
    #[test]
    fn class_ceilings_are_the_hosts_ceilings() {
        let tu = vec![7, 7, 7, 9, 7, 1 << 40];
        let threads = [100, 300, 100, 100, 300, 99];
        let (c, class) = Classes::new(tu.clone(), &threads).expect("few classes");
        let c = c.with_ceilings(Some(1.7));
        for i in 0..tu.len() {
            let want = (((tu[i] * threads[i] as u64) as f64) * 1.7) as u64;
            assert_eq!(c.ceilings[class[i] as usize], want, "host {i}");
        }
        let (c, _) = Classes::new(tu, &threads).expect("few classes");
        assert!(c.with_ceilings(None).ceilings.is_empty());
        let many: Vec<u64> = (1..=300).collect();
        let (c, _) = Classes::new(many, &[5; 300]).expect("by threads");
        assert!(c.with_ceilings(Some(2.0)).ceilings.is_empty());
    }

    /// More than 256 distinct rates (a scan-rate distribution): the rates stay
    /// per host, and the classes hold the thread counts alone.
    #[test]
    fn classes_keep_rates_per_host_beyond_256_pairs() {
        let n = 1000;
        let tu: Vec<u64> = (0..n).map(|i| 1000 + i as u64).collect();
        let threads: Vec<u16> = (0..n).map(|i| if i % 3 == 0 { 300 } else { 100 }).collect();
        let (c, class) = Classes::new(tu.clone(), &threads).expect("two thread counts");
        assert_eq!(c.host_tu, tu);
        assert_eq!(c.pairs.len(), 2);
        for i in 0..n {
            assert_eq!(c.pairs[class[i] as usize].1, threads[i]);
        }
        // Exactly 256 pairs still fit in the byte.
        let tu: Vec<u64> = (0..256).collect();
        let (c, class) = Classes::new(tu.clone(), &[100; 256]).expect("256 pairs");
        assert!(c.host_tu.is_empty());
        assert_eq!(class[255], 255);
        // Too many thread counts, as from a checkpoint, is an error, not a panic.
        let many: Vec<u16> = (0..300).collect();
        assert!(matches!(
            Classes::new(vec![1; 300], &many),
            Err(SetupError::Unsupported(_))
        ));
    }

    /// A set with a limit grows as an unbounded one would up to 64 Ki members,
    /// then reserves its whole limit once, with the same members and positions.
    #[test]
    fn a_set_past_64_ki_members_reserves_its_limit_once() {
        let limit = 3 * GROW_TO_LIMIT;
        let (mut bounded, mut free) = (Members::with_limit(limit), Members::default());
        let mut capacities = Vec::new();
        for h in 0..limit as u32 {
            assert_eq!(bounded.push(h), free.push(h));
            if capacities.last() != Some(&bounded.items.capacity()) {
                capacities.push(bounded.items.capacity());
            }
        }
        assert_eq!(bounded.items, free.items);
        // Doubling up to 64 Ki, then one reservation of the whole limit.
        assert_eq!(capacities.last(), Some(&limit));
        assert_eq!(
            capacities[capacities.len() - 2],
            GROW_TO_LIMIT,
            "{capacities:?}"
        );
        assert!(free.items.capacity() > limit, "the unbounded set doubles");
        // Removing and adding again never reallocates the bounded set.
        let p = bounded.items.as_ptr();
        for k in 0..1000 {
            bounded.swap_remove(k);
            bounded.push(k);
        }
        assert_eq!((bounded.items.as_ptr(), bounded.len()), (p, limit));
    }

    /// The shared array against two independent [`Members`] sets (the layout
    /// it replaced), under random joins, leaves and draws that keep a host in
    /// at most one set, until the array is full: the same positions, the same
    /// moved hosts, the same members in the same order, the same draws.
    #[test]
    fn state_sets_behave_as_two_separate_sets() {
        let n = 500usize;
        let streams = Streams::new(11, 0);
        let mut rng = streams.stream("ops");
        let (mut rng_a, mut rng_b) = (streams.stream("draw"), streams.stream("draw"));
        let mut shared = StateSets::new(n);
        let mut sets = [Members::default(), Members::default()];
        // Which set each host is in (0 susceptible, 1 infected, 2 neither),
        // and its position there.
        let mut in_set = vec![2usize; n];
        let mut pos = vec![NO_HOST; n];
        let mut full = 0;
        // First every host joins (in a scrambled order), so the array fills;
        // then random joins and leaves.
        for step in 0..n + 20_000 {
            let h = if step < n {
                (step * 7919 % n) as u32
            } else {
                crate::rng::below(&mut rng, n as u32)
            };
            let hi = h as usize;
            if in_set[hi] == 2 {
                let side = crate::rng::below(&mut rng, 2) as usize;
                let p = shared.push(side == 1, h);
                assert_eq!(p, sets[side].push(h));
                in_set[hi] = side;
                pos[hi] = p;
            } else {
                let side = in_set[hi];
                let moved = shared.swap_remove(side == 1, pos[hi]);
                assert_eq!(moved, sets[side].swap_remove(pos[hi]));
                if let Some(m) = moved {
                    pos[m as usize] = pos[hi];
                }
                in_set[hi] = 2;
                pos[hi] = NO_HOST;
            }
            for (side, set) in sets.iter().enumerate() {
                assert_eq!(shared.len(side == 1), set.len());
                if !set.is_empty() {
                    assert_eq!(shared.choose(side == 1, &mut rng_a), set.choose(&mut rng_b));
                }
            }
            if shared.len(false) + shared.len(true) == n {
                full += 1;
            }
        }
        for (side, set) in sets.iter().enumerate() {
            assert_eq!(shared.iter(side == 1).collect::<Vec<_>>(), set.items());
        }
        assert_eq!(
            pos.iter().filter(|&&p| p != NO_HOST).count(),
            shared.len(false) + shared.len(true)
        );
        // The walk reached a full array (every slot used) and went on.
        assert!(full > 0, "the walk never filled the array");
    }
}
