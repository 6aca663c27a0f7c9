//! Memory preflight: compare the library's estimate with the memory available
//! (MemAvailable, and the cgroup limit when there is one) and `--max-memory`.

use crate::error::input;
use wormsim::ensemble::memory::{BASE, MemoryEstimate, human};

/// Parse a size: bytes, or a number with K, M, G or T (powers of 1024; `KiB`,
/// `MB`, … also accepted and also read as powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let x: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write it like 512M or 4G"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("`{s}`: unknown unit; use K, M, G or T")),
    };
    Ok((x * mult as f64) as u64)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Memory available to this process [bytes] and where the figure comes from.
pub fn available() -> Option<(u64, &'static str)> {
    let mut best: Option<(u64, &'static str)> = None;
    let mut consider = |v: u64, src: &'static str| {
        if best.is_none_or(|(b, _)| v < b) {
            best = Some((v, src));
        }
    };
    if let Some(kb) = kib_field("/proc/meminfo", "MemAvailable:") {
        consider(kb * 1024, "MemAvailable in /proc/meminfo");
    }
    // The address-space limit (`ulimit -v`), less what the process has mapped.
    if let (Some(limit), Some(mapped)) = (
        address_space_limit(),
        kib_field("/proc/self/status", "VmSize:"),
    ) {
        consider(
            limit.saturating_sub(mapped * 1024),
            "the address-space limit (ulimit -v)",
        );
    }
    // cgroup v2, then v1 (a limit near 2^63 means none).
    if let (Some(max), Some(cur)) = (
        read_u64("/sys/fs/cgroup/memory.max"),
        read_u64("/sys/fs/cgroup/memory.current"),
    ) {
        consider(max.saturating_sub(cur), "the cgroup memory limit");
    }
    if let (Some(max), Some(cur)) = (
        read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ) {
        if max < 1 << 60 {
            consider(max.saturating_sub(cur), "the cgroup memory limit");
        }
    }
    best
}

/// The soft limit on this process's address space [bytes], if there is one
/// (`Max address space` in `/proc/self/limits`).
fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line["Max address space".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The number in KiB after `key` in a `/proc` file of `Key: value kB` lines
/// (`MemAvailable` in `/proc/meminfo`, `VmSize` in `/proc/self/status`).
fn kib_field(path: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One line describing an estimate.
pub fn describe(e: &MemoryEstimate) -> String {
    format!(
        "{} ({} base + {} run{} in flight × {} + {} of results kept for the outputs)",
        human(e.total()),
        human(BASE),
        e.threads,
        if e.threads == 1 { "" } else { "s" },
        human(e.per_run),
        human(e.outputs)
    )
}

/// The fix named by an ensemble's or a sweep's refusal.
pub const FIX_MANY: &str = "use fewer runs or replicates, fewer --threads, or a wider output.bin";
/// The fix named by a single run's refusal.
pub const FIX_RUN: &str = "use fewer hosts (population.hosts) or a wider output.bin";

/// Refuse (as an input error, exit 2) when the estimate exceeds `--max-memory` or
/// the memory available; the message names `fix`.
pub fn check(e: &MemoryEstimate, max_memory: Option<&str>, fix: &str) -> anyhow::Result<()> {
    let need = e.total();
    if let Some(m) = max_memory {
        let limit = parse_size(m).map_err(|why| input(format!("--max-memory: {why}")))?;
        if need > limit {
            return Err(input(format!(
                "memory preflight: the estimate is {} but --max-memory is {}; {fix}, or raise --max-memory",
                describe(e),
                human(limit)
            )));
        }
    }
    if let Some((avail, src)) = available() {
        if need > avail {
            return Err(input(format!(
                "memory preflight: the estimate is {} but only {} is available ({src}); {fix}",
                describe(e),
                human(avail)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2 MiB"), Ok(2 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3X").is_err());
    }

    #[test]
    fn available_is_known_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(available().is_some_and(|(b, _)| b > 0));
        }
    }
}
