//! Command-line arguments (clap). Only parsing here; the commands validate.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "wormsim",
    version,
    about = "Exact, fast simulation of Internet worm outbreaks (Code Red and relatives).",
    long_about = "Exact, fast simulation of Internet worm outbreaks (Code Red and relatives).\n\
                  Simulation and analysis only: wormsim never touches a real network.",
    after_help = "Examples:\n  wormsim run codered-v2-2001-07-19\n  wormsim presets\n  wormsim check my-scenario.toml\n  wormsim fit out/codered-v2-2001-07-19/series.csv --model rcs --to 2001-07-20T00:00:00Z\n  wormsim ensemble codered-v2-2001-07-19 --runs 1000\n  wormsim sweep sweep.toml\n  wormsim run codered-v2-2001-07-19 --plot png --report\n  wormsim validate"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a scenario (a preset name or a .toml file) and write its time series.
    #[command(after_help = "Examples:\n  \
        wormsim run codered-v2-2001-07-19\n  \
        wormsim run codered-v2-2001-07-19 --seed 7 --out out/seed7 --format json\n  \
        wormsim run my.toml --until 2001-07-19T18:00:00Z --engine reference\n  \
        wormsim run codered-v2-2001-07-19 --until 2001-07-28T00:00:00Z --save-checkpoint july.ckpt\n  \
        wormsim run codered-v2-2001-08-01 --from-checkpoint july.ckpt")]
    Run(RunArgs),
    /// List the built-in presets, one per line.
    #[command(after_help = "Example:\n  wormsim presets")]
    Presets(PresetsArgs),
    /// Validate a scenario or sweep file without running it.
    #[command(
        after_help = "Examples:\n  wormsim check my.toml\n  wormsim check codered-v2-2001-07-19\n  wormsim check sweep.toml"
    )]
    Check(CheckArgs),
    /// Find Code Red, Code Red II and Nimda requests in web-server logs.
    ///
    /// Reads Apache common/combined access logs, Apache error_log and IIS W3C
    /// extended logs (plain or gzip, detected by content), and writes the binned
    /// series (series.csv, the input of `wormsim fit`) and one row per worm source
    /// (sources.csv).
    #[command(after_help = "Examples:\n  \
        wormsim logs /var/log/apache/access_log*\n  \
        wormsim logs ex010719.log ex010720.log.gz --format w3c --bin 600 --out out/iis\n  \
        wormsim logs error_log --error-utc-offset -07:00")]
    Logs(LogsArgs),
    /// Fit an analytic model (RCS, SI, SIR, two-factor, AAWP) to a series CSV.
    #[command(
        long_about = "Fit an analytic model to an outbreak series and report estimates with 95% \
                      profile-likelihood intervals and goodness of fit.\n\n\
                      Reads wormsim's own series.csv (default column cumulative_infected), a \
                      telescope or web-log series (time,probes_seen,unique_sources,new_sources,\
                      cumulative_sources; default column cumulative_sources) or a plain \
                      time,count CSV. `time` is an RFC 3339 UTC timestamp or a number of hours. \
                      The fitted time axis is hours since the first kept row.",
        after_help = "Examples:\n  \
        wormsim run codered-v2-2001-07-19 --out out/crv2\n  \
        wormsim fit out/crv2/series.csv --model rcs --to 2001-07-20T00:00:00Z\n  \
        wormsim fit telescope.csv --model sir --objective lsq --out out/fit/sir-lsq.json\n  \
        wormsim fit counts.csv --model aawp --column new_hosts --kind incident --no-ci"
    )]
    Fit(FitArgs),
    /// Run many replicates of a scenario in parallel: per-run summaries, per-bin quantiles.
    #[command(after_help = "Examples:\n  \
        wormsim ensemble codered-v2-2001-07-19 --runs 1000\n  \
        wormsim ensemble my.toml --runs 200 --threads 2 --seed 7 --format csv,parquet\n\n\
        Replicate i is seeded from (seed, i): the output is byte-identical for any --threads.\n\
        Columns and units: docs/outputs.md.")]
    Ensemble(EnsembleArgs),
    /// Run a parameter sweep (a sweep .toml file): replicates per grid point, in shards.
    #[command(after_help = "Examples:\n  \
        wormsim sweep sweep.toml\n  \
        wormsim sweep sweep.toml --shard 1/4 --out out/s   # then: wormsim merge out/s\n  \
        wormsim sweep sweep.toml --resume                  # finish an interrupted run\n\n\
        Without --shard, the shard comes from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or from\n\
        JOB_COMPLETION_INDEX with --shards N; otherwise every unit runs and the tables are merged.\n\
        The sweep format: `wormsim::sweep` docs; columns and units: docs/outputs.md.")]
    Sweep(SweepArgs),
    /// Combine the work units of a sweep's shards into its tables, checking every unit is there once.
    #[command(
        after_help = "Examples:\n  wormsim merge out/s\n  wormsim merge node1/out node2/out --out out/all --format parquet"
    )]
    Merge(MergeArgs),
    /// Write a Slurm job-array script that runs a sweep's shards, then a dependent merge job.
    #[command(after_help = "Examples:\n  \
        wormsim slurm-script sweep.toml --tasks 8 --output sweep.sbatch\n  \
        bash sweep.sbatch        # submits the array and the merge that waits for it\n  \
        sbatch sweep.sbatch      # submits the array only; merge by hand later")]
    SlurmScript(SlurmScriptArgs),
    /// Write a self-contained HTML report of a run or ensemble output directory.
    #[command(
        long_about = "Write one self-contained HTML file for a `wormsim run` or `wormsim ensemble` \
                      output directory: the scenario (its TOML and each default's source), the \
                      summary table, the charts (inline SVG) and the versions and seed. No \
                      script and no external request.",
        after_help = "Examples:\n  \
        wormsim run codered-v2-2001-07-19 --out out/crv2\n  \
        wormsim report out/crv2 -o report.html\n  \
        wormsim fit out/crv2/series.csv --model rcs --to 2001-07-20T00:00:00Z --out out/crv2/rcs.json\n  \
        wormsim report out/crv2          # now with the RCS overlay; writes out/crv2/report.html"
    )]
    Report(ReportArgs),
    /// Run the built-in reproduction checks against the published July 19 numbers.
    #[command(
        long_about = "Run an ensemble of the codered-v2-2001-07-19 preset and compare it with the \
                      published July 19, 2001 numbers (CAIDA, Staniford et al., NIPC): final \
                      count, onset, saturation, peak rate, fitted K, the calendar stop and the \
                      flood defeated by the move. Prints quantity, published value and source, \
                      simulated median with its 5-95% band, tolerance and verdict; exits 1 if a \
                      check fails. Each check is defined in docs/validation.md.",
        after_help = "Examples:\n  wormsim validate\n  wormsim validate --runs 40 --report validation.html"
    )]
    Validate(ValidateArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// A preset name (see `wormsim presets`) or a path to a scenario .toml file.
    pub scenario: String,
    /// Base random seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default: out/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Format of the time series file.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Stop at this RFC 3339 UTC time instead of the scenario's end.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Which engine: the fastest exact one, the general exact one, or the per-probe reference.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// Also write per-host records (hosts.csv): address, state, first infection, infector.
    #[arg(long)]
    pub hosts: bool,
    /// Start from a checkpoint written by --save-checkpoint (its time must be the scenario's start).
    #[arg(long, value_name = "FILE")]
    pub from_checkpoint: Option<PathBuf>,
    /// Write the state at the end of the run to FILE, for a later scenario to start from.
    #[arg(long, value_name = "FILE")]
    pub save_checkpoint: Option<PathBuf>,
    /// Watch the run with the scenario's telescopes and sensors ([observe]; default one /8,
    /// 44.0.0.0/8) and write telescope.csv (time,probes_seen,unique_sources,new_sources,
    /// cumulative_sources) and telescope-sources.csv beside the truth.
    #[arg(long)]
    pub observe: bool,
    /// Also draw the charts (hosts.png, new-infections.png, flood.png, ...) beside the data.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub plot: Option<PlotFormat>,
    /// Also write report.html (self-contained HTML: scenario, summary, charts) beside the data.
    #[arg(long)]
    pub report: bool,
    /// Refuse to start if the memory estimate exceeds this (e.g. 512M, 4G).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Print nothing on success, and no progress (shown on a terminal for runs over a second).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct PresetsArgs {}

#[derive(Args)]
pub struct CheckArgs {
    /// A preset name, or a path to a scenario or sweep .toml file (a sweep
    /// file is one whose top-level `scenario` is a string).
    pub scenario: String,
}

#[derive(Args)]
pub struct LogsArgs {
    /// Log files to read (plain or gzip); `-` reads standard input.
    #[arg(required = true, value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Log format of every file; `auto` detects it per file from its first valid line.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Auto)]
    pub format: LogFormatArg,
    /// Width of the series bins [s]; bins start at multiples of it since 1970-01-01T00:00:00Z.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub bin: u64,
    /// Output directory for series.csv and sources.csv.
    #[arg(long, value_name = "DIR", default_value = "out/logs")]
    pub out: PathBuf,
    /// UTC offset of error_log times, which carry none (e.g. -07:00); default UTC.
    #[arg(
        long,
        value_name = "OFFSET",
        default_value = "+00:00",
        allow_hyphen_values = true
    )]
    pub error_utc_offset: String,
    /// Print nothing on success (warnings still go to stderr).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct FitArgs {
    /// The series CSV (wormsim series, telescope/web-log series, or time,count).
    pub series: PathBuf,
    /// The model to fit.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Poisson likelihood of the counts per interval, or least squares on the cumulative counts.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Poisson)]
    pub objective: ObjectiveArg,
    /// The column to fit (default: cumulative_infected, cumulative_sources or count).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Whether the column is cumulative or new hosts per row (default: from its name).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Use rows at or after this time (RFC 3339, or hours if the file's times are hours).
    #[arg(long, value_name = "TIME", allow_negative_numbers = true)]
    pub from: Option<String>,
    /// Use rows at or before this time (RFC 3339, or hours if the file's times are hours).
    #[arg(long, value_name = "TIME", allow_negative_numbers = true)]
    pub to: Option<String>,
    /// Where to write the JSON result (default: out/fit/<model>.json); the fitted
    /// curve goes beside it as <name>.fitted.csv.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Skip the confidence intervals (much faster for the two-factor model).
    #[arg(long)]
    pub no_ci: bool,
    /// Also draw the observed points, fitted curve and band as <name>.png or .svg beside the JSON.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub plot: Option<PlotFormat>,
    /// Do not write the fitted-curve CSV.
    #[arg(long)]
    pub no_curve: bool,
    /// AAWP tick length [s].
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60.0,
        allow_negative_numbers = true
    )]
    pub tick: f64,
    /// Print nothing on success, and no progress (a spinner with the elapsed time, shown on a
    /// terminal for fits over a second).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Image format of `--plot`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum PlotFormat {
    Png,
    Svg,
}

#[derive(Args)]
pub struct ReportArgs {
    /// A `wormsim run` or `wormsim ensemble` output directory.
    pub dir: PathBuf,
    /// Where to write the HTML (default: DIR/report.html).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Replicates of the preset to run.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub runs: u64,
    /// Base random seed; replicate i uses (seed, i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: the available cores). The result does not depend on it.
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Also write the table as an HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormatArg {
    Auto,
    Common,
    Combined,
    Error,
    W3c,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ModelArg {
    Rcs,
    Si,
    Sir,
    TwoFactor,
    Aawp,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ObjectiveArg {
    Poisson,
    Lsq,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum KindArg {
    Cumulative,
    Incident,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum EngineArg {
    Auto,
    General,
    Reference,
}

/// Output table formats (one file per table and format).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Json,
    Parquet,
}

#[derive(Args)]
pub struct EnsembleArgs {
    /// A preset name (see `wormsim presets`) or a path to a scenario .toml file.
    pub scenario: String,
    /// Number of replicates.
    #[arg(long, value_name = "N")]
    pub runs: u64,
    /// Worker threads (default: the available cores). The output does not depend on it.
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Base random seed (default: the scenario's `seed`); replicate i uses (seed, i).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default: out/<scenario name>-ensemble).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Table formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv")]
    pub format: Vec<TableFormat>,
    /// Which engine: the fastest exact one, the general exact one, or the per-probe reference.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    pub engine: EngineArg,
    /// Refuse to start if the memory estimate exceeds this (e.g. 512M, 4G).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// Also draw the charts (median and 5-95%/25-75% bands) beside the tables (needs csv).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub plot: Option<PlotFormat>,
    /// Also write report.html beside the tables (needs csv).
    #[arg(long)]
    pub report: bool,
    /// No progress bar and no summary table.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct SweepArgs {
    /// The sweep file (.toml).
    pub sweep: PathBuf,
    /// Output directory (default: out/<sweep name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only the units whose id mod N = K.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Shard count N when the shard index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "N")]
    pub shards: Option<u64>,
    /// Skip the units already in the output directory.
    #[arg(long)]
    pub resume: bool,
    /// Worker threads (default: the available cores). The output does not depend on it.
    #[arg(long, value_name = "T")]
    pub threads: Option<usize>,
    /// Base random seed (default: the sweep's `seed`, else the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Table formats of the merged output, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv")]
    pub format: Vec<TableFormat>,
    /// Refuse to start if the memory estimate exceeds this (e.g. 512M, 4G).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
    /// No progress bar; print only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Test hook: abort the process (as a kill would) after writing this many units.
    #[arg(long, hide = true, value_name = "K")]
    pub abort_after: Option<u64>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Sweep output directories (each holds sweep.json and units/).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the tables (default: the first directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Table formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv")]
    pub format: Vec<TableFormat>,
    /// Print only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct SlurmScriptArgs {
    /// The sweep file (.toml).
    pub sweep: PathBuf,
    /// Number of array tasks (shards).
    #[arg(long, value_name = "N")]
    pub tasks: u64,
    /// Output directory of the sweep, shared by every node (default: out/<sweep name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the script here (default: stdout).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// CPUs (and wormsim threads) per array task.
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub cpus_per_task: u32,
    /// Slurm partition (default: the cluster's default).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task, in Slurm's format (e.g. 01:00:00).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Memory per task, in Slurm's format (e.g. 4G).
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,
    /// Path of the wormsim binary on the compute nodes (default: this binary).
    #[arg(long, value_name = "PATH")]
    pub wormsim: Option<PathBuf>,
    /// Table formats of the merged output, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "csv")]
    pub format: Vec<TableFormat>,
}

pub fn parse() -> Cli {
    Cli::parse()
}
