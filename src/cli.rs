//! The command line (docs/contracts.md §4): argument parsing and dispatch to the command
//! bodies (`app::service` for `run`, `app::demo`, `app::commands`, `eval::entry`).
//!
//! Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration. Only `main` exits;
//! every command returns its code.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::commands::{self, exit_code, incident_model_names, model_names, ReplayArgs};
use crate::app::{demo, service};
use crate::telemetry::logging::LogFormat;

/// The parsed command line: one subcommand and the global flags.
#[derive(Debug, Parser)]
#[command(
    name = "flashpoint",
    version,
    about = "Real-time social listening and crisis detection"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log line format on stderr (the level is set by FLASHPOINT_LOG, e.g. "info").
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A folder the command reads: one that does not exist is bad usage (exit 2), not an empty
/// result.
fn existing_dir(s: &str) -> Result<PathBuf, String> {
    match std::fs::metadata(s) {
        Ok(m) if m.is_dir() => Ok(PathBuf::from(s)),
        Ok(_) => Err(format!("{s} is not a folder")),
        Err(e) => Err(format!("folder {s}: {e}")),
    }
}

/// What the console's first column means (`demo`, and `run` on a terminal).
const CONSOLE_VERBS: &str = "Console lines start with a verb:
  PAGE      an incident's first line at warning or above: its teams are paged now
  ESCALATE  a paged incident got worse (severity raised or teams added)
  NOTIFY    an info line (a watch on a risky post, praise): teams are told, not paged
  NOTED     a line for no team (spam, or a category routed to nobody)
  RESOLVED  the incident has been quiet for [detect] resolve_after
The run ends with a summary: who was paged, how often, for what.";

// Parsed once per process: boxing the large variant would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay the bundled sample stream through the whole pipeline and print pages.
    #[command(after_help = CONSOLE_VERBS)]
    Demo {
        /// "max" or how many times faster than real time to replay.
        #[arg(long, default_value = "20000")]
        speed: String,
        /// Address to serve /metrics on while the demo runs.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: SocketAddr,
        /// Do not serve /metrics.
        #[arg(long)]
        no_metrics: bool,
        /// Also write the alert log here ("-" = stdout).
        #[arg(long)]
        alerts: Option<String>,
        /// Keep serving /metrics and /api/* after the replay until Ctrl-C (for Prometheus
        /// and Grafana to look at the result).
        #[arg(long)]
        linger: bool,
    },
    /// Replay archives in event time.
    Replay(ReplayArgs),
    /// Inspect the durable delivery outbox.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// The live service: sources, pipeline, archive, alert log, /metrics, until SIGINT/SIGTERM.
    #[command(after_help = CONSOLE_VERBS)]
    Run {
        /// The configuration file (TOML; brands, sources, sinks, server).
        #[arg(long)]
        config: PathBuf,
        /// Sentiment model; default: `[pipeline] sentiment_model`.
        #[arg(long, value_parser = model_names())]
        model: Option<String>,
        /// One role of the partitioned topology (`[topology]`, feature `kafka`): `ingest`,
        /// `detect` or `alert`; default: the whole pipeline in this process.
        #[arg(long)]
        role: Option<String>,
        /// Second sentiment model for mentions of brands with a candidate incident ("none" =
        /// off); default: `[pipeline] incident_sentiment_model`.
        #[arg(long, value_parser = incident_model_names())]
        incident_model: Option<String>,
    },
    /// Validate a configuration file and list every error.
    CheckConfig {
        /// The configuration file to check.
        file: PathBuf,
    },
    /// Score one text per stdin line; one JSON line per text on stdout.
    Sentiment {
        /// Sentiment model.
        #[arg(long, default_value = crate::config::DEFAULT_SENTIMENT_MODEL, value_parser = model_names())]
        model: String,
    },
    /// Train a model.
    Train {
        #[command(subcommand)]
        what: TrainCommand,
    },
    /// Evaluate the detector or the sentiment models.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Run the volume detector over NAB's realTweets series and score it the way NAB does.
    Nab {
        /// Folder with Twitter_volume_*.csv and combined_windows_realTweets.json.
        #[arg(long, value_parser = existing_dir)]
        data: PathBuf,
        /// Folder for the result CSVs (NAB's results format).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a deterministic synthetic stream (the demo sample is seed 7, 4 days).
    Synth {
        /// The archive to write (.ndjson, .ndjson.gz or .ndjson.zst, by name).
        #[arg(long)]
        out: PathBuf,
        /// Random seed: the same seed and days give the same bytes.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Days of event time to generate (1 to 60).
        #[arg(long, default_value_t = 4,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::synth::MAX_DAYS)))]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List pending notifications and the dead-letter list, one JSON line each.
    List {
        /// The outbox directory (`[delivery] outbox_dir`).
        #[arg(long, value_parser = existing_dir)]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Train the `linear` sentiment model on SemEval-2017 task 4A (every twitter-201*.tsv,
    /// deduplicated by id; 2016dev + 2016devtest held out to choose hyper-parameters).
    Sentiment {
        /// Folder with the SemEval-2017 twitter-201*.tsv files.
        #[arg(long, default_value = "../shared/data/sentiment/semeval2017", value_parser = existing_dir)]
        data: PathBuf,
        /// Where to write the weights file.
        #[arg(long, default_value = "models/linear/weights.bin")]
        out: PathBuf,
        /// Distil from this teacher model (`onnx`, needs the feature): its class probabilities
        /// become soft targets, whether and how much is chosen on dev.
        #[arg(long)]
        teacher: Option<String>,
        /// Unlabelled tweets for distillation: CSV files (`id, text, ...`; .csv or .csv.gz)
        /// under this folder; used with --teacher.
        #[arg(long, default_value = "../shared/data/crisis/crisislex")]
        transfer: PathBuf,
        /// Cache of the teacher's probabilities (written when absent or stale, read otherwise),
        /// so repeated runs skip the teacher.
        #[arg(long)]
        teacher_cache: Option<PathBuf>,
        /// Folder of hand-labelled posts (`<domain>_negative.txt`, `_neutral.txt`,
        /// `_positive.txt`); the `eval` and `eval_<name>` domains are never trained on.
        #[arg(long, default_value = "models/linear/gold", value_parser = existing_dir)]
        gold: PathBuf,
    },
    /// Train the complaint / service-failure model on weak labels over the same SemEval files
    /// (cue-phrase rules, see `score::sentiment::complaint`) and on the hand-labelled posts of
    /// `--gold`.
    Complaint {
        /// Folder with the SemEval-2017 twitter-201*.tsv files.
        #[arg(long, default_value = "../shared/data/sentiment/semeval2017", value_parser = existing_dir)]
        data: PathBuf,
        /// Folder of hand-labelled posts (`<domain>_complaints.txt`, `<domain>_other.txt`);
        /// the `eval` domain is never trained on.
        #[arg(long, default_value = "models/complaint/gold", value_parser = existing_dir)]
        gold: PathBuf,
        /// Where to write the weights file.
        #[arg(long, default_value = "models/complaint/weights.bin")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Score the sentiment models on SemEval-2017 test, TweetEval test and VADER's rated
    /// tweets; prints a Markdown table.
    Sentiment {
        /// The `sentiment` data folder (semeval2017/, tweeteval/, vader/).
        #[arg(long, default_value = "../shared/data/sentiment", value_parser = existing_dir)]
        data: PathBuf,
        /// Models to evaluate (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "lexicon,linear", value_parser = model_names())]
        models: Vec<String>,
        /// VADER's non-tweet rated sets (dev sets of `linear`'s score blend): Pearson columns
        /// per model, and the blend weight they choose. Skipped with a note when absent.
        #[arg(long, default_value = "data/vader-snippets")]
        snippets: PathBuf,
        /// Also score Figure Eight's "Twitter US Airline Sentiment" CSV (`Tweets.csv`, with
        /// `airline_sentiment` and `text` columns; not bundled, its licence is non-commercial):
        /// real complaints written to brands, a domain no model was trained or tuned on.
        #[arg(long)]
        airline: Option<PathBuf>,
    },
    /// Run the scenario suite (generated streams with expected outcomes); exits 1 on a failure.
    Scenarios {
        /// Folder of scenario files.
        #[arg(long, default_value = "tests/scenarios", value_parser = existing_dir)]
        dir: PathBuf,
        /// Sensitivity profile for every brand.
        #[arg(long, default_value = "balanced", value_parser = ["fewer", "balanced", "more"])]
        profile: String,
    },
    /// Run the randomized scenario families (invented brands, held-out wording and seeds);
    /// prints one row per family and exits 0.
    Families(crate::eval::families::FamiliesArgs),
}

/// Runs a parsed command and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::CheckConfig { file } => commands::check_config(&file),
        Command::Outbox {
            command: OutboxCommand::List { dir },
        } => exit_code(commands::outbox_list(&dir)),
        Command::Run {
            config,
            model,
            role,
            incident_model,
        } => service::run(&config, model, role, incident_model),
        Command::Sentiment { model } => exit_code(commands::sentiment(&model)),
        Command::Synth { out, seed, days } => exit_code(commands::synth(&out, seed, days)),
        Command::Eval {
            what: EvalCommand::Scenarios { dir, profile },
        } => crate::eval::entry::scenarios(&dir, &profile),
        Command::Eval {
            what: EvalCommand::Families(args),
        } => crate::eval::families::run_cli(&args),
        Command::Eval {
            what:
                EvalCommand::Sentiment {
                    data,
                    models,
                    snippets,
                    airline,
                },
        } => exit_code(crate::eval::entry::sentiment(
            &data,
            &models,
            &snippets,
            airline.as_deref(),
        )),
        Command::Train {
            what:
                TrainCommand::Sentiment {
                    data,
                    out,
                    teacher,
                    transfer,
                    teacher_cache,
                    gold,
                },
        } => exit_code(commands::train_sentiment(
            &data,
            &out,
            teacher.as_deref(),
            &transfer,
            teacher_cache.as_deref(),
            &gold,
        )),
        Command::Train {
            what: TrainCommand::Complaint { data, gold, out },
        } => exit_code(commands::train_complaint(&data, &gold, &out)),
        Command::Nab { data, out } => exit_code(crate::eval::entry::nab(&data, &out)),
        Command::Demo {
            speed,
            listen,
            no_metrics,
            alerts,
            linger,
        } => demo::run(&speed, (!no_metrics).then_some(listen), alerts, linger),
        Command::Replay(args) => commands::replay(args),
    }
}
