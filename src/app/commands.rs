//! The bodies of the one-shot commands: `check-config`, `outbox list`, `replay`, `sentiment`,
//! `train sentiment|complaint` and `synth`. The live service is [`super::service`], the demo
//! [`super::demo`]; `eval` and `nab` live in `eval::commands` (they sit above `app`).
//!
//! Each command prints its own output and errors and returns the process exit code (0 success,
//! 1 runtime failure, 2 bad usage or configuration), or an error that [`exit_code`] turns into
//! exit 1.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use super::replay::Input;
use super::service::{finish_delivery, incident_model_choice, runtime, start_delivery};
use super::{ReplayOptions, ReplaySummary, Speed};
use crate::alert::Notifier;
use crate::config;
use crate::telemetry::Metrics;

/// A command's result as its exit code: 0, or 1 with the error on stderr.
pub fn exit_code(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// What `flashpoint replay` was asked to do (its flags, unparsed).
#[derive(Debug, Clone)]
pub struct ReplayArgs {
    pub config: PathBuf,
    pub speed: String,
    pub alerts: Option<String>,
    pub report: Option<String>,
    pub report_json: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub brand: Option<String>,
    pub checkpoint_in: Option<String>,
    pub checkpoint_out: Option<String>,
    pub model: Option<String>,
    pub incident_model: Option<String>,
    pub archives: Vec<String>,
    pub deliver: bool,
}

/// `flashpoint replay`: returns the process exit code.
pub fn replay(args: ReplayArgs) -> u8 {
    let ReplayArgs {
        config,
        speed,
        alerts,
        report,
        report_json,
        from,
        to,
        brand,
        checkpoint_in,
        checkpoint_out,
        model,
        incident_model,
        archives,
        deliver,
    } = args;
    let cfg = match config::load(&config) {
        Ok(c) => c,
        Err(errs) => {
            eprint!("{errs}");
            return 2;
        }
    };
    let Ok(speed) = Speed::parse(&speed).map_err(|e| eprintln!("error: {e}")) else {
        return 2;
    };
    let time = |t: Option<String>, flag: &str| match t {
        None => Ok(None),
        Some(t) => crate::domain::EventTime::parse_rfc3339(&t)
            .map(Some)
            .ok_or_else(|| eprintln!("error: --{flag} {t:?} is not an RFC 3339 time")),
    };
    let (Ok(from), Ok(to)) = (time(from, "from"), time(to, "to")) else {
        return 2;
    };
    let cfg = match &brand {
        None => cfg,
        Some(id) => match cfg.restrict_to(id) {
            Some(c) => c,
            None => {
                eprintln!("error: --brand {id:?} is not a configured brand");
                return 2;
            }
        },
    };
    let opts = ReplayOptions {
        alerts,
        report,
        report_json,
        progress: true,
        sentiment_model: model.unwrap_or_else(|| cfg.pipeline.sentiment_model.clone()),
        incident_model: incident_model_choice(incident_model, &cfg),
        from,
        to,
        checkpoint_in,
        checkpoint_out,
        ..ReplayOptions::new(speed)
    };
    exit_code(runtime().and_then(|rt| {
        rt.block_on(async {
            let cfg = Arc::new(cfg);
            let mut opts = opts;
            let delivery = if deliver {
                let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
                let d = start_delivery(&cfg, Arc::new(Metrics::new(&ids, 1000)))?;
                if let Some(d) = &d {
                    opts.notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
                }
                d
            } else {
                None
            };
            let s = super::replay(Arc::clone(&cfg), Input::Paths(archives), opts, None).await?;
            print_summary(&s);
            if let Some(d) = delivery {
                let left = finish_delivery(&d, cfg.delivery.drain_timeout.0).await;
                if left > 0 {
                    // Not a success: pages the analyst asked for have not arrived.
                    anyhow::bail!(
                        "replay --deliver: {left} notifications still pending (see `flashpoint outbox list`)"
                    );
                }
            }
            Ok(())
        })
    }))
}

/// `flashpoint check-config`: validates `file` and lists every error (exit 2).
pub fn check_config(file: &std::path::Path) -> u8 {
    match config::load(file) {
        Ok(cfg) => {
            println!("{}: ok ({} brands)", file.display(), cfg.brands.len());
            0
        }
        Err(errs) => {
            eprint!("{errs}");
            2
        }
    }
}

/// `flashpoint outbox list`: pending notifications and the dead-letter list, one JSON line
/// each.
pub fn outbox_list(dir: &std::path::Path) -> anyhow::Result<()> {
    let snap = crate::alert::outbox::Outbox::read(dir)?;
    if snap.rejected > 0 {
        eprintln!(
            "{} unreadable outbox lines skipped (they are set aside in {} when the outbox next opens)",
            snap.rejected,
            crate::alert::outbox::REJECTED_FILE
        );
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in &snap.pending {
        writeln!(
            out,
            "{}",
            serde_json::json!({"state": "pending", "seq": e.seq, "sink": e.sink,
                "incident": e.alert.incident, "action": e.alert.action, "at": e.alert.at,
                "enqueued_at_ms": e.enqueued_at_ms})
        )?;
    }
    for d in &snap.dead {
        writeln!(
            out,
            "{}",
            serde_json::json!({"state": "dead", "seq": d.entry.seq, "sink": d.entry.sink,
                "incident": d.entry.alert.incident, "action": d.entry.alert.action,
                "at": d.entry.alert.at, "reason": d.reason, "error": d.error})
        )?;
    }
    out.flush()?;
    eprintln!(
        "{}: {} pending, {} dead",
        dir.display(),
        snap.pending.len(),
        snap.dead.len()
    );
    Ok(())
}

/// `flashpoint sentiment`: scores each stdin line with `model`, one JSON line each.
///
/// Every core scores: the input is cut into chunks of [`SENTIMENT_CHUNK`] lines, chunk `i` goes
/// to worker `i mod N` (one per core) and the output is written from the workers' queues in the
/// same rotation, so it is in input order, one line per input line, as on one thread. Queues
/// are bounded (two chunks per worker) and block, so memory stays flat on any input size.
pub fn sentiment(model: &str) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let stdin = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
    let out = std::io::BufWriter::new(std::io::stdout());
    sentiment_stream(model, workers, stdin, out)
}

/// Lines per chunk of `flashpoint sentiment` (batched models such as onnx are several times
/// faster on chunks; output is flushed after each).
pub const SENTIMENT_CHUNK: usize = 512;

/// One `flashpoint sentiment` output line.
#[derive(serde::Serialize)]
struct SentimentLine<'a> {
    // Field order = the order of the keys the command has always written (sorted).
    complaint: f64,
    label: &'a str,
    score: f64,
}

/// [`sentiment`] over any input and output with `workers` scoring threads (at least one).
pub fn sentiment_stream(
    model: &str,
    workers: usize,
    input: impl BufRead,
    mut out: impl Write + Send,
) -> anyhow::Result<()> {
    let model: Arc<dyn crate::score::sentiment::SentimentModel> =
        Arc::from(crate::score::sentiment::model_by_name(model)?);
    let complaint = crate::score::sentiment::complaint::ComplaintModel::embedded()?;
    let workers = workers.max(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (in_tx, in_rx) = std::sync::mpsc::sync_channel::<Vec<String>>(2);
            let (out_tx, out_rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<u8>>>(2);
            let model = Arc::clone(&model);
            scope.spawn(move || {
                let mut scored = Vec::with_capacity(SENTIMENT_CHUNK);
                while let Ok(lines) = in_rx.recv() {
                    let texts: Vec<&str> = lines.iter().map(String::as_str).collect();
                    model.score_batch(&texts, &mut scored);
                    let mut buf = Vec::with_capacity(64 * texts.len());
                    let mut result = Ok(());
                    for (s, text) in scored.iter().zip(&texts) {
                        let line = SentimentLine {
                            complaint: (f64::from(complaint.probability(text)) * 10_000.0).round()
                                / 10_000.0,
                            label: s.label.as_str(),
                            score: (f64::from(s.score) * 10_000.0).round() / 10_000.0,
                        };
                        result = serde_json::to_writer(&mut buf, &line);
                        if result.is_err() {
                            break;
                        }
                        buf.push(b'\n');
                    }
                    if out_tx
                        .send(result.map(|()| buf).map_err(Into::into))
                        .is_err()
                    {
                        return;
                    }
                }
            });
            inputs.push(in_tx);
            outputs.push(out_rx);
        }
        // The writer: chunks in input order, from the workers in rotation.
        let writer = scope.spawn(move || -> anyhow::Result<()> {
            for i in 0.. {
                let Some(rx) = outputs.get(i % workers) else {
                    break;
                };
                let Ok(chunk) = rx.recv() else {
                    break;
                };
                out.write_all(&chunk?)?;
                out.flush()?;
            }
            Ok(())
        });
        let mut lines: Vec<String> = Vec::with_capacity(SENTIMENT_CHUNK);
        let mut next = 0usize;
        let mut read = Ok(());
        for line in input.lines() {
            match line {
                Ok(l) => lines.push(l),
                Err(e) => {
                    read = Err(e);
                    break;
                }
            }
            if lines.len() == SENTIMENT_CHUNK {
                let chunk = std::mem::replace(&mut lines, Vec::with_capacity(SENTIMENT_CHUNK));
                if inputs
                    .get(next % workers)
                    .is_none_or(|tx| tx.send(chunk).is_err())
                {
                    break;
                }
                next += 1;
            }
        }
        if !lines.is_empty() {
            if let Some(tx) = inputs.get(next % workers) {
                // A closed queue means the writer failed; its error is reported below.
                let _sent = tx.send(lines).is_ok();
            }
        }
        drop(inputs);
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the sentiment writer panicked"))??;
        read?;
        Ok(())
    })
}

/// `flashpoint synth`: writes the deterministic synthetic stream.
pub fn synth(out: &std::path::Path, seed: u64, days: u32) -> anyhow::Result<()> {
    let spec = crate::synth::SynthSpec {
        seed,
        days,
        ..crate::synth::SynthSpec::demo()
    };
    crate::synth::write_archive(&spec, out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// `flashpoint train sentiment`: trains and writes the `linear` model's weights.
pub fn train_sentiment(
    data: &std::path::Path,
    out: &std::path::Path,
    teacher: Option<&str>,
    transfer: &std::path::Path,
    teacher_cache: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::score::sentiment::train;
    let corpus = train::load_corpus(data)?;
    eprintln!(
        "{} files, {} training + {} dev tweets after dedup ({} duplicates dropped)",
        corpus.files.len(),
        corpus.train.len(),
        corpus.dev.len(),
        corpus.duplicates
    );
    let teacher = match teacher {
        None => None,
        Some(name) => {
            let set = train::read_transfer_dir(transfer, &corpus.held_out_texts)?;
            eprintln!(
                "transfer set: {} texts from {} files under {} ({} rows skipped)",
                set.texts.len(),
                set.files.len(),
                transfer.display(),
                set.skipped
            );
            Some(crate::score::sentiment::distill::teach(
                name,
                &corpus,
                set.texts,
                teacher_cache,
            )?)
        }
    };
    let (weights, hyper, dev) =
        train::select_and_train(&corpus, teacher.as_ref(), |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} epochs {} gold mix {} transfer {} (dev macro-recall {dev:.4}); \
         retrained on all {} tweets",
        hyper.lr,
        hyper.l2,
        hyper.epochs,
        hyper.gold_mix,
        hyper.transfer,
        corpus.train.len() + corpus.dev.len()
    );
    let bytes = weights.to_bytes();
    crate::score::sentiment::LinearModel::from_bytes(&bytes)?;
    write_weights(out, &bytes)
}

/// Writes a trained weights file and logs its size and sha256 (for the model card).
fn write_weights(out: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use sha2::Digest;
    std::fs::write(out, bytes)?;
    eprintln!(
        "wrote {} ({} bytes, sha256 {})",
        out.display(),
        bytes.len(),
        hex::encode(sha2::Sha256::digest(bytes))
    );
    Ok(())
}

/// `flashpoint train complaint`: trains and writes the complaint model's weights.
pub fn train_complaint(data: &std::path::Path, out: &std::path::Path) -> anyhow::Result<()> {
    use crate::score::sentiment::{complaint, train};
    let corpus = train::load_corpus(data)?;
    let (weights, hyper, f1) = complaint::select_and_train(&corpus, |l| eprintln!("{l}"));
    eprintln!(
        "chosen: lr {} l2 {:e} epochs {} (dev F1 against the rules {f1:.4}); retrained on all {} \
         tweets",
        hyper.lr,
        hyper.l2,
        hyper.epochs,
        corpus.train.len() + corpus.dev.len()
    );
    let bytes = weights.to_bytes();
    complaint::ComplaintModel::from_bytes(&bytes)?;
    write_weights(out, &bytes)
}

/// The summary line(s) of a replay, on stderr.
pub fn print_summary(s: &ReplaySummary) {
    let e = &s.engine;
    let errors: u64 = s.decode.errors.values().sum();
    eprintln!(
        "\nreplayed {} lines in {:.2}s: {} decoded, {} skipped as malformed, {} matched, {} late, {} too late, {} alerts",
        s.decode.lines,
        s.wall.as_secs_f64(),
        s.decode.decoded,
        errors,
        e.matched,
        e.late,
        e.too_late,
        s.alerts.len()
    );
    if let Some(r) = &s.refine {
        eprintln!(
            "incident sentiment model: {} mentions re-scored in {} batches, {} kept the fast score",
            r.refined, r.batches, r.skipped
        );
    }
}
