//! wormsim benchmarks that print figures
//! (`cargo run --release -p wormsim-bench -- [speed|preset|presets|memory N]`;
//! no argument runs them all).
//!
//! - `speed`: events/s of the well-mixed SI (N = 360,000, K = 1.8/h, to
//!   saturation) in wormsim and in rebop (a Rust Gillespie crate), in the same
//!   process, alternating, with the ratio.
//! - `preset`: wall time of the `codered-v2-2001-07-19` preset end to end, in
//!   process: load and population, then the run with the series and the flood
//!   meter and the summary (`ensemble::run_simulation`, what `wormsim run`
//!   computes), then the series and summary files written to a temp dir.
//! - `presets`: run time and events/s of every built-in preset, with the
//!   ratio to the well-mixed SI through the general engine.
//! - `memory N`: peak resident memory per vulnerable host for an N-host scenario
//!   with patching and reboots (general engine), measured in a child process
//!   above its peak after a 1,000-host run of the same scenario,
//!   with the peak per host after setup, after the run and after the engine
//!   hands over its per-host records (`Simulation::into_hosts`, as `wormsim
//!   run` does without `--hosts`); once keeping what the outputs need (as
//!   `wormsim run`, `Keep::Outputs`), once what a checkpoint needs too (as
//!   `wormsim run --save-checkpoint`, `Keep::Checkpoint`), and once as
//!   `wormsim run` with a worm that re-infects (`max_instances = 3`). Then the
//!   CRv2 preset itself with N hosts instead of 360,000, with its observers
//!   (`ensemble::run_simulation`), above its peak after a 1,000-host run.

use std::time::Instant;
use wormsim::engine::{EngineChoice, Keep, Simulation};
use wormsim::ensemble::{Run, run_simulation};
use wormsim::observe::Series;
use wormsim::preset;
use wormsim::scenario::Scenario;

rebop::define_system! {
    r_inf;
    Si { s, i }
    infection: s + i => 2 i @ r_inf
}

/// The allocator `wormsim` installs, so the figures are the command's.
#[global_allocator]
static ALLOC: wormsim::alloc::HugePages = wormsim::alloc::HugePages;

const N: u32 = 360_000;
const K_PER_HOUR: f64 = 1.8;

/// Per-host scan rate giving RCS K = r·N/2^32 = 1.8/h [probes/s].
fn si_rate() -> f64 {
    K_PER_HOUR / 3600.0 * 2f64.powi(32) / N as f64
}

fn si_scenario(extra: &str, hosts: u32) -> Scenario {
    let text = format!(
        r#"
[scenario]
name = "bench-si"
start = 2001-07-19T00:00:00Z
end = 2001-07-22T00:00:00Z
[population]
model = "uniform"
hosts = {hosts}
[worm]
variant = "generic"
scan_rate = {rate}
initial_infected = 1
{extra}
"#,
        rate = si_rate()
    );
    Scenario::from_str("bench-si.toml", &text).expect("bench scenario is valid")
}

/// rebop's run in a function of its own, as wormsim's is (`Simulation::run`).
#[inline(never)]
fn run_rebop(p: &mut Si, t_max: f64) {
    p.advance_until(t_max);
}

/// A fresh rebop SI system at the benchmark's parameters.
fn rebop_si(seed: u64) -> Si {
    let mut p = Si::new();
    p.seed(seed);
    p.r_inf = si_rate() / 2f64.powi(32);
    p.s = N as isize - 1;
    p.i = 1;
    p
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn speed(reps: usize) {
    let s = si_scenario("", N);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut theirs_inlined = Vec::new();
    let mut ours_events = 0;
    for rep in 0..reps {
        // wormsim: setup (population) excluded, as rebop has none.
        let mut sim = Simulation::new(&s, rep as u64 + 1, 0, EngineChoice::Auto).expect("setup");
        let t0 = Instant::now();
        sim.run(&mut ());
        let dt = t0.elapsed().as_secs_f64();
        let ev = sim.counters().infections;
        assert_eq!(sim.view().ever_infected, N, "ran to saturation");
        ours_events = ev;
        ours.push(ev as f64 / dt);

        // rebop twice: its loop in a function of its own, and inlined here.
        // Its speed depends on how the compiler places that loop (whether the
        // clock stays in a register, whether the exponential sampler is
        // inlined), which changes with unrelated code, so the ratio is taken
        // against the faster of the two.
        let mut p = rebop_si(rep as u64 + 1);
        let t0 = Instant::now();
        run_rebop(&mut p, 3.0 * 86_400.0);
        let dt = t0.elapsed().as_secs_f64();
        assert_eq!(p.i, N as isize, "rebop ran to saturation");
        theirs.push((N - 1) as f64 / dt);

        let mut p = rebop_si(rep as u64 + 1);
        let t0 = Instant::now();
        p.advance_until(3.0 * 86_400.0);
        let dt = t0.elapsed().as_secs_f64();
        assert_eq!(p.i, N as isize, "rebop ran to saturation");
        theirs_inlined.push((N - 1) as f64 / dt);
    }
    let o = median(&mut ours);
    let (t_own, t_inl) = (median(&mut theirs), median(&mut theirs_inlined));
    let t = t_own.max(t_inl);
    let engine = Simulation::new(&s, 1, 0, EngineChoice::Auto)
        .expect("setup")
        .engine_name();
    println!(
        "speed: well-mixed SI, N = {N}, K = {K_PER_HOUR}/h, to saturation, {reps} runs each, median"
    );
    println!("  wormsim ({engine}): {o:.3e} events/s ({ours_events} events per run)");
    println!(
        "  rebop 0.10 (define_system!): {t_own:.3e} events/s in a function of its own, \
         {t_inl:.3e} inlined into the benchmark loop"
    );
    println!(
        "  ratio wormsim / rebop (the faster of the two): {:.2}",
        o / t
    );

    // The same model through the general engine (what patch/reboot scenarios use).
    let mut gen_rates = Vec::new();
    for rep in 0..reps {
        let mut sim = Simulation::new(&s, rep as u64 + 1, 0, EngineChoice::General).expect("setup");
        let t0 = Instant::now();
        sim.run(&mut ());
        gen_rates.push(sim.counters().infections as f64 / t0.elapsed().as_secs_f64());
    }
    let g = median(&mut gen_rates);
    println!(
        "  wormsim (exact/general, same model): {g:.3e} events/s, ratio to rebop {:.2}",
        g / t
    );
}

fn preset_time(reps: usize) {
    let dir = std::env::temp_dir().join(format!("wormsim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut total = Vec::new();
    let mut phases = Vec::new();
    for _ in 0..reps {
        // What `wormsim run codered-v2-2001-07-19` computes (the series, the
        // flood meter, the summary), through the library's own run path.
        let t0 = Instant::now();
        let s = preset::load("codered-v2-2001-07-19").expect("preset");
        let sim =
            Simulation::with_keep(&s, s.seed, 0, EngineChoice::Auto, Keep::Outputs).expect("setup");
        let t1 = Instant::now();
        let Run {
            summary: sum,
            series,
        } = run_simulation(&s, s.seed, 0, sim);
        let t2 = Instant::now();
        let mut csv = String::new();
        for r in series.rows() {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{:.3},{},{}\n",
                r.time,
                r.susceptible,
                r.infected,
                r.cumulative_infected,
                r.new_infections,
                r.reinfections,
                r.probes,
                r.patched,
                r.rebooted
            ));
        }
        std::fs::write(dir.join("series.csv"), csv).expect("write");
        std::fs::write(dir.join("summary.txt"), format!("{sum:?}")).expect("write");
        let t3 = Instant::now();
        total.push((t3 - t0).as_secs_f64());
        phases.push([
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let i = {
        let mut idx: Vec<usize> = (0..reps).collect();
        idx.sort_by(|&a, &b| total[a].total_cmp(&total[b]));
        idx[reps / 2]
    };
    println!("preset: codered-v2-2001-07-19 end to end (in process, median of {reps})");
    println!(
        "  total {:.1} ms = setup {:.1} ms + run and summary {:.1} ms + output {:.1} ms",
        total[i] * 1e3,
        phases[i][0] * 1e3,
        phases[i][1] * 1e3,
        phases[i][2] * 1e3
    );
}

/// Wall time and events/s of every built-in preset's run (setup included,
/// output excluded), median of `reps`, next to the well-mixed SI through the
/// general engine measured in the same process as the baseline.
fn presets(reps: usize) {
    let si = si_scenario("", N);
    let mut base = Vec::new();
    for rep in 0..reps {
        let mut sim =
            Simulation::new(&si, rep as u64 + 1, 0, EngineChoice::General).expect("setup");
        let t0 = Instant::now();
        sim.run(&mut ());
        base.push(sim.counters().infections as f64 / t0.elapsed().as_secs_f64());
    }
    let b = median(&mut base);
    println!("presets: run only (setup + engine, no output), median of {reps}");
    println!("  baseline: well-mixed SI, general engine: {b:.3e} events/s");
    println!(
        "  {:<24} {:>10} {:>10} {:>12} {:>12} {:>8}",
        "preset", "setup [s]", "run [s]", "events", "events/s", "ratio"
    );
    for p in preset::PRESETS {
        let s = preset::load(p.name).expect("preset");
        let mut setup = Vec::new();
        let mut run = Vec::new();
        let mut events = 0;
        for _ in 0..reps {
            let t0 = Instant::now();
            let mut sim = Simulation::new(&s, s.seed, 0, EngineChoice::Auto).expect("setup");
            let t1 = Instant::now();
            let mut series = Series::new(s.start, s.end, s.output.bin);
            sim.run(&mut series);
            setup.push((t1 - t0).as_secs_f64());
            run.push(t1.elapsed().as_secs_f64());
            events = sim.counters().events;
        }
        let (st, rt) = (median(&mut setup), median(&mut run));
        let rate = events as f64 / rt;
        println!(
            "  {:<24} {st:>10.3} {rt:>10.3} {events:>12} {rate:>12.3e} {:>8.3}",
            p.name,
            rate / b
        );
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The memory benchmark's cases: what the run keeps, and whether the worm
/// re-infects (a host record 4 bytes larger); and the CRv2 preset itself,
/// scaled to the host count.
#[derive(Clone, Copy, PartialEq)]
enum MemCase {
    Outputs,
    Checkpoint,
    Reinfecting,
    Preset,
}

impl MemCase {
    fn arg(self) -> &'static str {
        match self {
            MemCase::Outputs => "outputs",
            MemCase::Checkpoint => "checkpoint",
            MemCase::Reinfecting => "reinfecting",
            MemCase::Preset => "preset",
        }
    }
}

/// The CRv2 preset with `hosts` vulnerable hosts instead of 360,000 (and, for
/// fewer than 20,000, wrong clocks on a tenth of them instead of 2,000).
fn crv2_scaled(hosts: u32) -> Scenario {
    let p = preset::get("codered-v2-2001-07-19").expect("preset");
    assert!(p.text.contains("\nhosts = 360000\n") && p.text.contains("\nwrong_clocks = 2000\n"));
    let mut text = p
        .text
        .replacen("hosts = 360000", &format!("hosts = {hosts}"), 1);
    if hosts < 20_000 {
        text = text.replacen(
            "wrong_clocks = 2000",
            &format!("wrong_clocks = {}", hosts / 10),
            1,
        );
    }
    Scenario::from_str("codered-v2-scaled.toml", &text).expect("scaled preset is valid")
}

/// The CRv2 preset scaled to `hosts`, run as `wormsim run` runs it: its
/// series and flood meter, keeping what the outputs need.
fn memory_child_preset(hosts: u32) {
    let run = |s: &Scenario| {
        let sim =
            Simulation::with_keep(s, s.seed, 0, EngineChoice::Auto, Keep::Outputs).expect("setup");
        let after_setup = vm_hwm_kib();
        let r = run_simulation(s, s.seed, 0, sim);
        (after_setup, r)
    };
    drop(run(&crv2_scaled(1_000)));
    let base = vm_hwm_kib();
    let (after_setup, r) = run(&crv2_scaled(hosts));
    let peak = vm_hwm_kib();
    print_child([
        hosts as u64,
        base,
        peak,
        r.series.rows().len() as u64,
        after_setup,
        peak,
    ]);
}

/// A memory child's figures, one line for its parent: hosts, baseline [KiB],
/// peak [KiB], a count showing the run finished, peak after setup [KiB], peak
/// after the run [KiB].
fn print_child(f: [u64; 6]) {
    println!("{}", f.map(|x| x.to_string()).join(" "));
}

fn memory_child(hosts: u32, case: MemCase) {
    if case == MemCase::Preset {
        return memory_child_preset(hosts);
    }
    let defense = "[defense.patch]\nrate = 0.1\n[defense.reboot]\nrate = 0.1\n";
    let (keep, extra) = match case {
        MemCase::Outputs => (Keep::Outputs, defense.to_string()),
        MemCase::Checkpoint => (Keep::Checkpoint, defense.to_string()),
        MemCase::Reinfecting => (
            Keep::Outputs,
            format!("reinfection = \"add-instance\"\nmax_instances = 3\n{defense}"),
        ),
        MemCase::Preset => unreachable!("run by memory_child_preset"),
    };
    let extra = extra.as_str();
    // The baseline is taken after a 1,000-host run of the same scenario, so
    // it holds the code the run executes (1.2 MiB of the binary's text is
    // read in as it first runs: 3.3 bytes per host at 360,000 hosts) and the
    // engine's fixed structures; what is above it grows with the hosts.
    {
        let s = si_scenario(extra, 1_000);
        let mut sim = Simulation::with_keep(&s, 1, 0, EngineChoice::Auto, keep).expect("setup");
        sim.run(&mut Series::new(s.start, s.end, s.output.bin));
        drop(sim.into_hosts());
    }
    let base = vm_hwm_kib();
    let s = si_scenario(extra, hosts);
    let mut sim = Simulation::with_keep(&s, 1, 0, EngineChoice::Auto, keep).expect("setup");
    let after_setup = vm_hwm_kib();
    let mut series = Series::new(s.start, s.end, s.output.bin);
    sim.run(&mut series);
    let after_run = vm_hwm_kib();
    // As `wormsim run` does (without `--hosts`): the engine ends and hands
    // over its per-host records.
    let hosts_rec = sim.into_hosts();
    let peak = vm_hwm_kib();
    print_child([
        hosts as u64,
        base,
        peak,
        hosts_rec.state.len() as u64,
        after_setup,
        after_run,
    ]);
}

fn memory(hosts: u32) {
    memory_case(hosts, MemCase::Outputs);
    memory_case(hosts, MemCase::Checkpoint);
    memory_case(hosts, MemCase::Reinfecting);
    memory_case(hosts, MemCase::Preset);
}

fn memory_case(hosts: u32, case: MemCase) {
    let exe = std::env::current_exe().expect("current exe");
    let out = std::process::Command::new(exe)
        .args(["memory-child", &hosts.to_string(), case.arg()])
        .output()
        .expect("run child");
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<u64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() < 6 {
        println!(
            "memory: child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let per = |kib: u64| (kib - f[1]) as f64 * 1024.0 / hosts as f64;
    let per_host = per(f[2]);
    let what = match case {
        MemCase::Outputs => "what the outputs need (as `wormsim run`)",
        MemCase::Checkpoint => "what a checkpoint needs too (as `wormsim run --save-checkpoint`)",
        MemCase::Reinfecting => {
            "what the outputs need, the worm re-infecting (`max_instances = 3`, as CRv1 and CRv2)"
        }
        MemCase::Preset => {
            println!(
                "memory: {hosts} hosts, the CRv2 preset scaled to them (its calendar, wrong clocks, \
                 pooled re-infections, patching, reboots, series and flood meter), as `wormsim run`: \
                 peak RSS {:.1} MiB, {per_host:.1} bytes per host above the {:.1} MiB baseline \
                 (peak per host: {:.1} after setup)",
                f[2] as f64 / 1024.0,
                f[1] as f64 / 1024.0,
                per(f[4]),
            );
            return;
        }
    };
    println!(
        "memory: {hosts} hosts, patch + reboot (general engine), full run with per-host records, \
         keeping {what}: \
         peak RSS {:.1} MiB, {per_host:.1} bytes per host above the {:.1} MiB baseline \
         (peak per host: {:.1} after setup, {:.1} after the run, {per_host:.1} after taking the per-host records)",
        f[2] as f64 / 1024.0,
        f[1] as f64 / 1024.0,
        per(f[4]),
        per(f[5]),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("memory-child") => memory_child(
            args[1].parse().expect("host count"),
            match args.get(2).map(String::as_str) {
                Some("checkpoint") => MemCase::Checkpoint,
                Some("reinfecting") => MemCase::Reinfecting,
                Some("preset") => MemCase::Preset,
                _ => MemCase::Outputs,
            },
        ),
        Some("speed") => speed(9),
        Some("preset") => preset_time(9),
        Some("presets") => presets(3),
        Some("memory") => memory(
            args.get(1)
                .map_or(10_000_000, |a| a.parse().expect("host count")),
        ),
        _ => {
            speed(9);
            preset_time(9);
            presets(3);
            memory(360_000);
            memory(10_000_000);
        }
    }
}
