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
    bin: f64,
    rows: Vec<FloodRow>,
    /// Each host's open flood: an index into `slots`, or [`NONE`]. Four bytes
    /// per host keep this array small enough to stay in cache.
    open: Vec<u32>,
    slots: Vec<Open>,
    /// Slots free for reuse.
    free: Vec<u32>,
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
        let rows = series
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
            bin: s.output.bin,
            rows,
            open: vec![NONE; hosts],
            slots: Vec::new(),
            free: Vec::new(),
            bursts: 0,
            bytes_delivered: 0.0,
            bytes_at_target: 0.0,
        }
    }

    fn row_of(&self, t: f64) -> usize {
        let x = (t - self.start.secs()) / self.bin;
        let last = self.rows.len() - 1;
        let i = super::ceil_index(x).min(last);
        super::row_by_edges(i, t, last, |k| self.rows[k].time.secs())
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

    /// One burst of a host with `instances` copies at time `t`.
    fn burst(&mut self, t: f64, instances: u8) {
        self.bursts += 1;
        let k = instances as f64;
        let dest = self.spec.target;
        if self.filtered(dest, t) {
            return;
        }
        let conns = self.spec.connections as f64 * k;
        let (packets, bytes) = if self.site_at(t) == dest {
            let per_conn = self.spec.bytes_per_burst / self.spec.connections as f64;
            let data_packets = (per_conn / self.spec.packet_payload as f64).ceil();
            (conns * (1.0 + data_packets), self.spec.bytes_per_burst * k)
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

    /// Account the bursts of a flooding stretch `[since, until)`.
    fn close(&mut self, o: Open, until: f64) {
        let p = self.spec.period;
        // First burst at or after `since` on the host's cycle.
        let k0 = ((o.since - o.origin) / p).ceil().max(0.0);
        let mut k = k0;
        loop {
            let t = o.origin + k * p;
            if t >= until || t > self.end.secs() {
                break;
            }
            self.burst(t, o.instances);
            k += 1.0;
        }
    }

    /// Close every open flood at the end of the run. Call once, after the run.
    ///
    /// Slots are closed in slot order (sequential memory); the order does not
    /// change the totals, which are sums of whole numbers of connections,
    /// packets and bytes, exact in `f64`.
    pub fn finish(&mut self) {
        let end = self.end.secs();
        for k in 0..self.slots.len() {
            let o = self.slots[k];
            if o.instances > 0 {
                // A burst exactly at the end still counts.
                self.close(o, end + 1e-9);
            }
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
