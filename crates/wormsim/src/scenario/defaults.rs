//! The scenario keys that have defaults: each default and its source, for
//! reports ("which values did this run not set, and where do they come from?").
//!
//! The values are those of [`super::resolve`]; variant-dependent defaults name
//! each variant's. Sources are cited as in `docs/model.md` (codered.md §N).
//! `tests` checks every listed key is a key the scenario format accepts.

/// A key with a default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Default {
    /// Dotted key path (`worm.threads`).
    pub key: &'static str,
    /// The default, in words.
    pub default: &'static str,
    /// Where it comes from.
    pub source: &'static str,
}

const fn d(key: &'static str, default: &'static str, source: &'static str) -> Default {
    Default {
        key,
        default,
        source,
    }
}

/// Every key with a default, in file order.
pub const DEFAULTS: &[Default] = &[
    d("scenario.description", "\"\"", "wormsim"),
    d("scenario.space_bits", "32", "IPv4"),
    d("scenario.seed", "1", "wormsim"),
    d("population.slash8_blocks", "100", "[A] (clustered)"),
    d("population.slash16_blocks", "16000", "[A] (clustered)"),
    d(
        "population.slash8_zipf",
        "1.0",
        "[A]; Cooke et al. 2004, codered.md §2.5",
    ),
    d(
        "population.slash16_zipf",
        "1.0",
        "[A]; Cooke et al. 2004, codered.md §2.5",
    ),
    d(
        "population.english_fraction",
        "0.5",
        "[A]; CAIDA: US 43% of CRv2 victims, codered.md §5.1",
    ),
    d(
        "population.chinese_fraction",
        "0.09",
        "[D] CAIDA: China 5% + Taiwan 4%, codered.md §5.1",
    ),
    d("population.nt4_fraction", "0.5", "[A]"),
    d(
        "worm.scan",
        "uniform (crv2, generic); sequence (crv1); local-preference (crii)",
        "Maiffret; CAIDA; codered.md §2.4, §2.5",
    ),
    d("worm.scan_rate_distribution", "fixed", "wormsim"),
    d(
        "worm.threads",
        "99 (crv1, crv2); 300 (crii); 1 (generic)",
        "eEye, codered.md §2.3",
    ),
    d(
        "worm.chinese_threads",
        "600 (crii); else worm.threads",
        "codered.md §2.3",
    ),
    d(
        "worm.max_scan_multiple",
        "1.0 (crv1, crv2); none (crii, generic)",
        "[D] the rate is effective, codered.md §4.1",
    ),
    d("worm.initial_infected", "1", "[A]"),
    d(
        "worm.reinfection",
        "add-instance (crv1, crv2); ignore (crii, generic)",
        "eEye/Maiffret, codered.md §3.1",
    ),
    d(
        "worm.max_instances",
        "3",
        "[A]; eEye: multiple infections possible, codered.md §3.1",
    ),
    d(
        "worm.lifetime_hours",
        "24 (crii); none",
        "[U] codered.md §2.6",
    ),
    d(
        "worm.drop_dead",
        "2001-10-01 (crii); none",
        "[U] codered.md §2.6",
    ),
    d("worm.nt4_crash", "true (crii); false", "codered.md §2.3"),
    d("worm.crash_recovery_per_day", "24 (1/h)", "[A]"),
    d("worm.backdoor", "true (crii); false", "codered.md §2.6"),
    d("worm.deface", "true (crv1); false", "codered.md §2.9"),
    d(
        "worm.deface_hours",
        "10",
        "ZDNet UK 2001-07-27, codered.md §2.9 [S2]",
    ),
    d("worm.sequence_key", "0xC0DE7ED001", "[A] (crv1)"),
    d("worm.per_thread_offset", "false", "[A] (crv1)"),
    d(
        "worm.same_slash8",
        "0.5",
        "CRII local preference, codered.md §2.5",
    ),
    d(
        "worm.same_slash16",
        "0.375",
        "CRII local preference, codered.md §2.5",
    ),
    d(
        "calendar.enabled",
        "true (crv1, crv2); false",
        "NIPC 01-015, codered.md §3",
    ),
    d("calendar.wake", "lagged", "Houle, codered.md §3"),
    d(
        "calendar.wake_lag_hours",
        "6",
        "[A]; Houle: \"hours after midnight\", codered.md §3",
    ),
    d("calendar.wrong_clocks", "0", "wormsim"),
    d("calendar.wrong_clock_max_days", "30", "[A]"),
    d(
        "flood.enabled",
        "true (crv1, crv2); false",
        "NIPC 01-015, codered.md §3.1",
    ),
    d(
        "flood.target",
        "198.137.240.91",
        "NIPC; Nextgov, codered.md §3.1",
    ),
    d(
        "flood.connections",
        "100",
        "course slides, codered.md §3.1 [S2]",
    ),
    d(
        "flood.bytes_per_burst",
        "400e6",
        "eEye via ZDNet, codered.md §3.1 [S2]",
    ),
    d(
        "flood.period_hours",
        "4",
        "eEye via ZDNet, codered.md §3.1 [S2]",
    ),
    d("flood.packet_payload", "1460", "[A] full-size segments"),
    d(
        "flood.site_moves_to",
        "198.137.240.92",
        "FCW/Nextgov, codered.md §1",
    ),
    d("flood.move_at", "never", "wormsim"),
    d("flood.filter_at", "never", "wormsim"),
    d(
        "network.syn_retries",
        "2",
        "Windows 2000 TcpMaxConnectRetransmissions default, retransmissions 3 s and 9 s after the SYN (Microsoft, Windows 2000 Server TCP/IP registry reference, cc938209) [S]",
    ),
    d("network.answer_fraction", "0.05", "[A]"),
    d(
        "network.syn_bytes",
        "48",
        "[D] IP + TCP headers and options",
    ),
    d("network.congestion", "none", "wormsim"),
    d(
        "network.zou_eta",
        "3",
        "Zou, Gong, Towsley 2002 [U], codered.md §4.3",
    ),
    d("defense.patch.rate", "0 (no patching)", "wormsim"),
    d("defense.patch.lag", "none", "wormsim"),
    d("defense.patch.initial_fraction", "0", "wormsim"),
    d("defense.reboot.rate", "0 (no reboots)", "wormsim"),
    d(
        "observe.bin",
        "3600 s",
        "[A] hourly, as CAIDA's counts, codered.md §5.1",
    ),
    d(
        "observe.telescope",
        "one /8 at 44.0.0.0/8 (the first top-level block in a smaller space)",
        "UCSD network telescope, CAIDA, codered.md §4.6",
    ),
    d("observe.dhcp_fraction", "0", "wormsim (no churn)"),
    d("observe.dhcp_changes_per_day", "0", "wormsim (no churn)"),
    d("output.bin", "60 s", "wormsim"),
    d("output.report_at", "[]", "wormsim"),
    d("output.probes", "expected", "wormsim"),
];

/// Whether the TOML `text` sets `key` (a dotted path).
fn sets(table: &toml::Table, key: &str) -> bool {
    let mut t = table;
    let mut parts = key.split('.').peekable();
    while let Some(p) = parts.next() {
        match t.get(p) {
            None => return false,
            Some(_) if parts.peek().is_none() => return true,
            Some(toml::Value::Table(inner)) => t = inner,
            Some(_) => return false,
        }
    }
    false
}

/// The keys with defaults that the scenario `text` does not set, in
/// [`DEFAULTS`] order. Text that does not parse as TOML sets nothing.
pub fn omitted(text: &str) -> Vec<&'static Default> {
    let table: toml::Table = text.parse().unwrap_or_default();
    DEFAULTS.iter().filter(|d| !sets(&table, d.key)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_key_is_not_omitted() {
        let text = "[scenario]\nseed = 4\n[worm]\nthreads = 9\n";
        let keys: Vec<&str> = omitted(text).iter().map(|d| d.key).collect();
        assert!(!keys.contains(&"scenario.seed"));
        assert!(!keys.contains(&"worm.threads"));
        assert!(keys.contains(&"worm.max_instances"));
        assert_eq!(keys.len(), DEFAULTS.len() - 2);
    }

    #[test]
    fn every_listed_key_is_accepted_by_the_format() {
        // Stage 1 rejects unknown keys: a key it does not know gives an
        // "unknown field" error naming it.
        let base = "[scenario]\nname = \"t\"\nstart = 2001-07-19T10:00:00Z\nend = 2001-07-19T11:00:00Z\n\
                    [population]\nmodel = \"uniform\"\nhosts = 10\n[worm]\nvariant = \"generic\"\nscan_rate = 1.0\n";
        for d in DEFAULTS {
            let (section, rest) = d.key.rsplit_once('.').unwrap();
            let text = format!("{base}[{section}]\n{rest} = 0\n");
            // Sections already in `base` would be duplicated: merge them instead.
            let text = if ["scenario", "population", "worm"].contains(&section) {
                base.replacen(
                    &format!("[{section}]\n"),
                    &format!("[{section}]\n{rest} = 0\n"),
                    1,
                )
            } else {
                text
            };
            if let Err(e) = crate::scenario::Scenario::from_str("t.toml", &text) {
                let msg = e.to_string();
                assert!(!msg.contains("unknown field"), "{}: {msg}", d.key);
            }
        }
    }
}
