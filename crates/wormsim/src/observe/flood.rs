//! The flood meter: traffic arriving at the flood target and at the site's new
//! address, per bin.
//!
//! Each infected host in its flood phase (days 20–27 of its clock) bursts every
//! `period` from the moment it starts flooding: `connections` TCP connections
//! to the hard-coded target (198.137.240.91:80), carrying `bytes_per_burst` of
//! payload in `packet_payload`-byte packets, times its number of worm instances
//! (eEye: the volume depends "on how many times it's been infected", codered.md
//! §3.1). Whether a burst gets through is the **reachability gate** at that
//! instant:
//!
//! | at the burst | arrives at the target address |
//! |---|---|
//! | site still at the target, no filter | connections, SYN + data packets, payload bytes |
//! | site moved, no filter | connection attempts: SYN + retransmissions, no bytes (nobody listens) |
//! | upstream filter on the old address | nothing (dropped before it) |
//!
//! The worm never sends to the site's new address (it floods a literal IP), so
//! the `moved_*` columns are always zero: they are there so the table splits
//! the traffic by address, and show that the move alone defeated the flood.
//! Bursts are deterministic, so this observer draws no random numbers.

use crate::engine::{Event, Observer, View};
use crate::scenario::{FloodSpec, Scenario};
use crate::time::SimTime;

/// Traffic totals of one bin (per-second rates are these divided by `bin_len`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloodRow {
    pub time: SimTime,
    pub bin_len: f64,
    pub target_connections: f64,
    pub target_packets: f64,
    pub target_bytes: f64,
    pub moved_connections: f64,
    pub moved_packets: f64,
    pub moved_bytes: f64,
}

/// Column names of `flood.csv`.
pub const FLOOD_COLUMNS: [&str; 7] = [
    "time",
    "target_connections_per_s",
    "target_packets_per_s",
    "target_bytes_per_s",
    "moved_connections_per_s",
    "moved_packets_per_s",
    "moved_bytes_per_s",
];

/// No open flood.
const NONE: u32 = u32::MAX;

/// Hosts bursting at the same times, and their worm instances in all.
#[derive(Clone, Copy, Debug)]
struct Weight {
    hosts: u64,
    instances: u64,
}

impl Weight {
    /// One host running `instances` copies.
    fn of(instances: u8) -> Weight {
        Weight {
            hosts: 1,
            instances: instances as u64,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Open {
    origin: f64,
    since: f64,
    instances: u8,
}

/// Observer of flood traffic.
#[derive(Clone, Debug)]
pub struct FloodMeter {
    spec: FloodSpec,
    syn_retries: u32,
    start: SimTime,
    end: SimTime,
    /// `1/bin` [1/s], for [`super::row_at`].
    inv_bin: f64,
    rows: Vec<FloodRow>,
    /// Each row's time [s], beside the rows (binning reads only these).
    ends: Vec<f64>,
    /// Each host's open flood: an index into `slots`, or [`NONE`]. Four bytes
    /// per host keep this array small enough to stay in cache.
    open: Vec<u32>,
    slots: Vec<Open>,
    /// Slots free for reuse.
    free: Vec<u32>,
    /// Data packets of one connection when the site listens:
    /// `⌈(bytes_per_burst / connections) / packet_payload⌉`, a constant of the spec.
    data_packets: f64,
    /// Bursts sent (whatever reached the target).
    pub bursts: u64,
    /// Payload bytes that reached a listening site [bytes].
    pub bytes_delivered: f64,
    /// Payload bytes that arrived at the target address [bytes].
    pub bytes_at_target: f64,
}

impl FloodMeter {
    /// A meter for `hosts` hosts with the scenario's flood and bins.
    pub fn for_scenario(s: &Scenario, hosts: usize) -> FloodMeter {
        let series = super::Series::new(s.start, s.end, s.output.bin);
        let rows: Vec<FloodRow> = series
            .rows()
            .iter()
            .map(|r| FloodRow {
                time: r.time,
                bin_len: r.bin_len,
                ..FloodRow::default()
            })
            .collect();
        FloodMeter {
            spec: s.flood.clone(),
            syn_retries: s.network.syn_retries,
            start: s.start,
            end: s.end,
            inv_bin: 1.0 / s.output.bin,
            ends: rows.iter().map(|r| r.time.secs()).collect(),
            rows,
            open: vec![NONE; hosts],
            slots: Vec::new(),
            free: Vec::new(),
            data_packets: {
                let per_conn = s.flood.bytes_per_burst / s.flood.connections as f64;
                (per_conn / s.flood.packet_payload as f64).ceil()
            },
            bursts: 0,
            bytes_delivered: 0.0,
            bytes_at_target: 0.0,
        }
    }

    fn row_of(&self, t: f64) -> usize {
        super::row_at(&self.ends, self.start.secs(), self.inv_bin, t)
    }

    /// Where the site listens at `t`.
    fn site_at(&self, t: f64) -> u32 {
        match self.spec.move_at {
            Some(m) if t >= m.secs() => self.spec.site_moves_to,
            _ => self.spec.target,
        }
    }

    fn filtered(&self, addr: u32, t: f64) -> bool {
        addr == self.spec.target && self.spec.filter_at.is_some_and(|f| t >= f.secs())
    }

    /// `n` bursts of each of `w.hosts` hosts running `w.instances` copies of
    /// the worm between them, the first at time `t`, all in `t`'s row and
    /// under the same gate (target listening, moved or filtered) as `t`.
    /// Their totals are whole numbers for whole-number parameters, so `n` of
    /// them at once, for many hosts at once, add up exactly as one by one.
    fn bursts(&mut self, t: f64, w: Weight, n: f64) {
        self.bursts += n as u64 * w.hosts;
        let k = w.instances as f64 * n;
        let dest = self.spec.target;
        if self.filtered(dest, t) {
            return;
        }
        let conns = self.spec.connections as f64 * k;
        let (packets, bytes) = if self.site_at(t) == dest {
            (
                conns * (1.0 + self.data_packets),
                self.spec.bytes_per_burst * k,
            )
        } else {
            (conns * (1.0 + self.syn_retries as f64), 0.0)
        };
        self.bytes_at_target += bytes;
        if self.site_at(t) == dest {
            self.bytes_delivered += bytes;
        }
        let i = self.row_of(t);
        let row = &mut self.rows[i];
        // Every burst goes to the literal target; the `moved_*` columns stay 0.
        row.target_connections += conns;
        row.target_packets += packets;
        row.target_bytes += bytes;
    }

    /// Account the bursts of a flooding stretch `[since, until)`: at
    /// `origin + k·period`, counted per run of bursts that share a row and a
    /// gate, so the cost is per row crossed, not per burst.
    fn close(&mut self, o: Open, until: f64) {
        self.close_all(o.origin, o.since, Weight::of(o.instances), until);
    }

    /// [`FloodMeter::close`] for every host of `w` at once: hosts whose
    /// stretches share `origin`, `since` and `until` burst at the same times.
    fn close_all(&mut self, origin: f64, since: f64, w: Weight, until: f64) {
        let p = self.spec.period;
        let at = |k: f64| origin + k * p;
        let end = self.end.secs();
        let last = self.rows.len() - 1;
        // The first `k' > k` whose burst time satisfies `holds` (monotone in
        // k'), from an estimate near `b`, checked on the burst times as
        // computed, so that a run ends exactly where one-by-one would.
        let first = |k: f64, b: f64, holds: &dyn Fn(f64) -> bool| -> f64 {
            let mut e = ((b - origin) / p).ceil().max(k + 1.0);
            while e > k + 1.0 && holds(at(e - 1.0)) {
                e -= 1.0;
            }
            while !holds(at(e)) {
                e += 1.0;
            }
            e
        };
        // First burst at or after `since` on the host's cycle.
        let mut k = ((since - origin) / p).ceil().max(0.0);
        loop {
            let t = at(k);
            if t >= until || t > end {
                break;
            }
            // The run ends at the first burst past this row, at or past a gate
            // change, or outside the stretch.
            let i = self.row_of(t);
            let row_end = if i < last {
                self.ends[i]
            } else {
                f64::INFINITY
            };
            // Most often (a period of hours, bins of minutes) the run is this
            // one burst: check the next one before searching.
            let t1 = at(k + 1.0);
            let changes = |c: Option<SimTime>| c.is_some_and(|c| t < c.secs() && t1 >= c.secs());
            if t1 >= until
                || t1 > end
                || t1 > row_end
                || changes(self.spec.filter_at)
                || changes(self.spec.move_at)
            {
                self.bursts(t, w, 1.0);
                k += 1.0;
                continue;
            }
            let mut next = first(k, until, &|x| x >= until);
            next = next.min(first(k, end, &|x| x > end));
            if i < last {
                next = next.min(first(k, row_end, &|x| x > row_end));
            }
            for change in [self.spec.filter_at, self.spec.move_at]
                .into_iter()
                .flatten()
            {
                let c = change.secs();
                if t < c {
                    next = next.min(first(k, c, &|x| x >= c));
                }
            }
            self.bursts(t, w, next - k);
            k = next;
        }
    }

    /// Close every open flood at the end of the run. Call once, after the run.
    ///
    /// Slots are closed in slot order (sequential memory), each run of slots
    /// with the same origin and start at once (the hosts that started
    /// flooding at one phase change: all of them, in the CRv2 preset). The
    /// order and the grouping do not change the totals, which are sums of
    /// whole numbers of connections, packets and bytes, exact in `f64`.
    pub fn finish(&mut self) {
        // A burst exactly at the end still counts.
        let until = self.end.secs() + 1e-9;
        let mut group: Option<(f64, f64, Weight)> = None;
        for k in 0..self.slots.len() {
            let o = self.slots[k];
            if o.instances == 0 {
                continue;
            }
            match &mut group {
                Some((origin, since, w))
                    if origin.to_bits() == o.origin.to_bits()
                        && since.to_bits() == o.since.to_bits() =>
                {
                    w.instances += o.instances as u64;
                    w.hosts += 1;
                }
                _ => {
                    if let Some((origin, since, w)) = group {
                        self.close_all(origin, since, w, until);
                    }
                    group = Some((o.origin, o.since, Weight::of(o.instances)));
                }
            }
        }
        if let Some((origin, since, w)) = group {
            self.close_all(origin, since, w, until);
        }
        self.open.fill(NONE);
        self.slots.clear();
        self.free.clear();
    }

    /// Host `h`'s open flood, closing its slot.
    fn take(&mut self, h: usize) -> Option<Open> {
        let k = std::mem::replace(&mut self.open[h], NONE);
        (k != NONE).then(|| {
            self.free.push(k);
            let o = self.slots[k as usize];
            // A free slot has no instances (`finish` skips it).
            self.slots[k as usize].instances = 0;
            o
        })
    }

    /// Open a flood for host `h`.
    fn put(&mut self, h: usize, o: Open) {
        let k = match self.free.pop() {
            Some(k) => {
                self.slots[k as usize] = o;
                k
            }
            None => {
                // At most one open flood per host.
                crate::alloc::reserve_for_push(&mut self.slots, self.open.len());
                self.slots.push(o);
                (self.slots.len() - 1) as u32
            }
        };
        self.open[h] = k;
    }

    pub fn rows(&self) -> &[FloodRow] {
        &self.rows
    }
}

impl Observer for FloodMeter {
    const NEEDS_HOSTS: bool = true;
    const EVENT_VIEW: bool = false;
    const RATE_EVENTS: bool = false;
    const CRASH_INFECTORS: bool = false;
    const INSTANCE_HOSTS: bool = false;
    #[inline]
    fn event(&mut self, e: &Event, _v: &View) {
        if let Event::Flood { t, host, instances } = *e {
            let t = t.secs();
            let h = host as usize;
            let prev = self.take(h);
            if let Some(o) = prev {
                self.close(o, t);
            }
            if instances > 0 {
                let origin = prev.map_or(t, |o| o.origin);
                self.put(
                    h,
                    Open {
                        origin,
                        since: t,
                        instances,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"
[scenario]
name = "flood"
start = 2001-07-19T20:00:00Z
end = 2001-07-20T10:00:00Z
space_bits = 16
[population]
model = "uniform"
hosts = 10
[worm]
variant = "crv2"
scan_rate = 1.0
[output]
bin = 3600
[flood]
{extra}
"#
        );
        Scenario::from_str("f.toml", &text).unwrap()
    }

    /// The test scenario with a flood of period `period_h` [h] and bins of
    /// `bin` [s], its volume, connections, move and filter times drawn from `rng`.
    fn random_flood(period_h: f64, bin: f64, rng: &mut crate::rng::Rng) -> Scenario {
        use rand::RngExt;
        let extra = format!(
            "period_hours = {period_h}\nbytes_per_burst = {}\nconnections = {}\n\
             move_at = 2001-07-20T0{}:13:00Z\nfilter_at = 2001-07-20T0{}:00:07Z\n",
            rng.random_range(1..5_000_000u32),
            rng.random_range(1..200u32),
            rng.random_range(0..10u32),
            rng.random_range(0..10u32),
        );
        let mut s = scenario(&extra);
        s.output.bin = bin;
        s
    }

    fn flood(m: &mut FloodMeter, t: SimTime, host: u32, instances: u8) {
        m.event(&Event::Flood { t, host, instances }, &View::default());
    }

    #[test]
    fn bursts_every_period_with_the_volume_of_the_parameters() {
        let s = scenario("");
        let mut m = FloodMeter::for_scenario(&s, 10);
        let t0 = SimTime::from_ymd(2001, 7, 20);
        flood(&mut m, t0, 3, 1);
        flood(&mut m, t0, 4, 2);
        m.finish();
        // 00:00, 04:00, 08:00 up to 10:00: 3 bursts each; host 4 runs 2 instances.
        assert_eq!(m.bursts, 6);
        assert_eq!(m.bytes_delivered, 400e6 * 3.0 * 3.0);
        let conns: f64 = m.rows().iter().map(|r| r.target_connections).sum();
        assert_eq!(conns, 100.0 * 3.0 * 3.0);
        // Packets: per connection one SYN + ceil(4 MB / 1460) data packets.
        let per_conn = 1.0 + (4e6f64 / 1460.0).ceil();
        let packets: f64 = m.rows().iter().map(|r| r.target_packets).sum();
        assert_eq!(packets, 100.0 * 9.0 * per_conn);
    }

    #[test]
    fn move_and_filter_defeat_the_flood() {
        let s = scenario("move_at = 2001-07-19T21:00:00Z\nfilter_at = 2001-07-20T04:00:00Z\n");
        let mut m = FloodMeter::for_scenario(&s, 10);
        flood(&mut m, SimTime::from_ymd(2001, 7, 20), 0, 1);
        m.finish();
        // 00:00: moved, not yet filtered: 100 attempts x 3 SYNs, no bytes.
        // 04:00 and 08:00: filtered: nothing arrives.
        assert_eq!(m.bytes_delivered, 0.0);
        assert_eq!(m.bytes_at_target, 0.0);
        let after_filter: f64 = m
            .rows()
            .iter()
            .filter(|r| {
                r.time.secs()
                    > SimTime::parse_rfc3339("2001-07-20T04:00:00Z")
                        .unwrap()
                        .secs()
            })
            .map(|r| r.target_packets)
            .sum();
        assert_eq!(after_filter, 0.0);
        let packets: f64 = m.rows().iter().map(|r| r.target_packets).sum();
        assert_eq!(packets, 300.0);
        assert_eq!(m.rows().iter().map(|r| r.moved_packets).sum::<f64>(), 0.0);
    }

    /// The bursts of a stretch counted one by one, as the meter once did:
    /// the reference for counting them by runs.
    fn close_one_by_one(m: &mut FloodMeter, o: Open, until: f64) {
        let p = m.spec.period;
        let mut k = ((o.since - o.origin) / p).ceil().max(0.0);
        loop {
            let t = o.origin + k * p;
            if t >= until || t > m.end.secs() {
                break;
            }
            m.bursts(t, Weight::of(o.instances), 1.0);
            k += 1.0;
        }
    }

    /// Counting bursts by runs (per row and gate) against one by one: the
    /// same rows, totals and burst count, bit for bit, for periods from a
    /// second (thousands of bursts a row) to hours, bins that are and are not
    /// binary fractions, the move and the filter inside the stretch, and
    /// stretches that start, stop and change instances off the cycle.
    #[test]
    fn bursts_by_runs_match_bursts_one_by_one() {
        use crate::rng::Streams;
        use rand::RngExt;
        let mut rng = Streams::new(11, 0).stream("flood-test");
        for case in 0..300 {
            let period_h = [1.0 / 3600.0, 7.3 / 3600.0, 0.1, 0.77, 4.0][case % 5];
            let bin = [60.0, 416.6, 3600.0, 1.0][case / 5 % 4];
            let s = random_flood(period_h, bin, &mut rng);
            let (start, end) = (s.start.secs(), s.end.secs());
            let mut fast = FloodMeter::for_scenario(&s, 1);
            let mut slow = fast.clone();
            let origin = start + rng.random::<f64>() * (end - start);
            let mut since = origin;
            let mut instances = 1u8;
            while since < end {
                let until = (since + rng.random::<f64>() * 4.0 * 3600.0).min(end + 1e-9);
                let o = Open {
                    origin,
                    since,
                    instances,
                };
                fast.close(o, until);
                close_one_by_one(&mut slow, o, until);
                since = until;
                instances = rng.random_range(1..4u8);
            }
            assert_eq!(fast.bursts, slow.bursts, "case {case}");
            assert_eq!(fast.bytes_delivered, slow.bytes_delivered, "case {case}");
            assert_eq!(fast.bytes_at_target, slow.bytes_at_target, "case {case}");
            if let Some(i) = (0..fast.rows().len()).find(|&i| fast.rows()[i] != slow.rows()[i]) {
                panic!(
                    "case {case}, row {i}: {:?} by runs, {:?} one by one",
                    fast.rows()[i],
                    slow.rows()[i]
                );
            }
        }
    }

    /// `finish` closes runs of hosts that share an origin and a start at
    /// once: the same rows, totals and burst count, bit for bit, as closing
    /// every host one burst at a time, for hosts that started together (at a
    /// phase change) or apart, with one to five instances.
    #[test]
    fn finish_by_groups_matches_hosts_one_by_one() {
        use crate::rng::Streams;
        use rand::RngExt;
        let mut rng = Streams::new(12, 0).stream("flood-groups-test");
        for case in 0..40 {
            let period_h = [0.1, 0.77, 4.0, 1.0 / 60.0][case % 4];
            let s = random_flood(period_h, [60.0, 416.6, 3600.0][case % 3], &mut rng);
            let hosts = 500;
            let mut fast = FloodMeter::for_scenario(&s, hosts);
            let mut slow = fast.clone();
            let midnight = SimTime::from_ymd(2001, 7, 20);
            let mut opened = Vec::new();
            for h in 0..hosts as u32 {
                // Runs of hosts starting at midnight, broken by hosts that
                // start at other times.
                let t = if rng.random::<f64>() < 0.8 {
                    midnight
                } else {
                    midnight.plus(rng.random::<f64>() * 6.0 * 3600.0)
                };
                let instances = rng.random_range(1..6u8);
                flood(&mut fast, t, h, instances);
                opened.push((t.secs(), instances));
            }
            fast.finish();
            let until = s.end.secs() + 1e-9;
            for &(t, instances) in &opened {
                let o = Open {
                    origin: t,
                    since: t,
                    instances,
                };
                close_one_by_one(&mut slow, o, until);
            }
            assert_eq!(fast.bursts, slow.bursts, "case {case}");
            assert!(fast.bursts > 0, "case {case}");
            assert_eq!(fast.bytes_delivered, slow.bytes_delivered, "case {case}");
            assert_eq!(fast.bytes_at_target, slow.bytes_at_target, "case {case}");
            assert_eq!(fast.rows(), slow.rows(), "case {case}");
        }
    }

    #[test]
    fn a_stop_ends_the_cycle_and_instances_scale_it() {
        let s = scenario("");
        let mut m = FloodMeter::for_scenario(&s, 10);
        let t0 = SimTime::from_ymd(2001, 7, 20);
        flood(&mut m, t0, 1, 1);
        flood(&mut m, t0.plus(3600.0), 1, 2); // re-infected: 2 instances, same cycle
        flood(&mut m, t0.plus(5.0 * 3600.0), 1, 0); // rebooted
        m.finish();
        // Bursts at 00:00 (x1) and 04:00 (x2).
        assert_eq!(m.bursts, 2);
        assert_eq!(m.bytes_delivered, 400e6 * 3.0);
    }
}
