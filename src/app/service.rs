//! The live service, `flashpoint run`: loads the configuration, installs the signal handlers,
//! starts alert delivery (the outbox-backed sinks and the sinks that mirror the alert log),
//! then runs the whole pipeline in this process ([`super::run()`]) or one role of the
//! partitioned topology (feature `kafka`), and drains delivery before it returns.
//!
//! Exit codes: 0 after a graceful shutdown, 1 on a runtime failure or a second signal, 2 on a
//! bad configuration or `--role`. The first SIGINT/SIGTERM starts a graceful shutdown, a second
//! one returns at once without waiting for the drain.

use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::alert::Notifier;
use crate::config::{self, Config};
use crate::telemetry::{IncidentBoard, Metrics};

/// `flashpoint run --config ...`: returns the process exit code.
pub fn run(
    config: &Path,
    model: Option<String>,
    role: Option<String>,
    incident_model: Option<String>,
) -> u8 {
    let cfg = match config::load(config) {
        Ok(c) => c,
        Err(errs) => {
            eprint!("{errs}");
            return 2;
        }
    };
    match runtime() {
        Ok(rt) => {
            let model = model.unwrap_or_else(|| cfg.pipeline.sentiment_model.clone());
            let incident = incident_model_choice(incident_model, &cfg);
            let code = rt.block_on(live(Arc::new(cfg), model, incident, role));
            // A forced exit must not wait for blocking readers still running.
            rt.shutdown_background();
            code
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Builds the sinks and the outbox-backed delivery (`replay --deliver`, `run`); `None` when
/// no sink is configured.
pub fn start_delivery(
    cfg: &Config,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<Arc<crate::alert::Delivery>>> {
    let paging = || {
        cfg.sink_settings
            .iter()
            .filter(|s| !matches!(s.kind, crate::config::SinkKind::Kafka(_)))
    };
    if paging().next().is_none() {
        eprintln!("no paging [[sink]] configured: alerts go to the alert log only");
        return Ok(None);
    }
    let dir = cfg
        .delivery
        .outbox_path(&|k| std::env::var(k).ok())
        .map_err(anyhow::Error::msg)?;
    let ctx = crate::alert::sink::SinkContext::for_config(cfg, Some(dir.clone()));
    let mut sinks = Vec::new();
    for s in paging() {
        sinks.push(crate::alert::sink::build_with(s, &ctx)?);
    }
    tracing::info!(dir = %dir.display(), "delivery state (outbox)");
    let d = crate::alert::Delivery::start(
        sinks,
        crate::alert::DeliveryOptions {
            outbox_dir: &dir,
            delivery: &cfg.delivery,
            escalation: &cfg.escalation,
            flood: cfg.flood_control.clone(),
            metrics,
        },
    )?;
    Ok(Some(d))
}

/// Sinks that mirror the alert log (`type = "kafka"`): every alert line, straight from the
/// dispatcher, not through the outbox's routing and flood control.
fn direct_sinks(cfg: &Config) -> anyhow::Result<Vec<Arc<dyn Notifier>>> {
    cfg.sink_settings
        .iter()
        .filter(|s| matches!(s.kind, crate::config::SinkKind::Kafka(_)))
        .map(|s| crate::alert::sink::build(s).map_err(anyhow::Error::from))
        .collect()
}

#[cfg(feature = "kafka")]
async fn run_role(
    role: &str,
    cfg: Arc<Config>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    notifiers: Vec<Arc<dyn Notifier>>,
    model: String,
) -> u8 {
    if cfg.topology.is_none() || !["ingest", "detect", "alert"].contains(&role) {
        eprintln!(
            "error: --role {role:?} needs a [topology] section and one of ingest, detect, alert"
        );
        return 2;
    }
    match super::kafka::roles::run_role(role, cfg, metrics, shutdown, notifiers, model).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

#[cfg(not(feature = "kafka"))]
async fn run_role(
    _: &str,
    _: Arc<Config>,
    _: Arc<Metrics>,
    _: CancellationToken,
    _: Vec<Arc<dyn Notifier>>,
    _: String,
) -> u8 {
    eprintln!("error: --role: {}", crate::config::kafka::NO_FEATURE);
    2
}

/// Waits up to `timeout` for pending deliveries; what is left stays in the outbox. Returns
/// how many are left.
pub async fn finish_delivery(d: &crate::alert::Delivery, timeout: std::time::Duration) -> usize {
    let left = match tokio::time::timeout(timeout, d.drain()).await {
        Ok(()) => 0,
        Err(_) => d.pending(),
    };
    if left > 0 {
        eprintln!(
            "{left} notifications still pending after {timeout:?}; they stay in the outbox and resume on the next start",
        );
    }
    d.stop();
    left
}

/// `flashpoint run`: the first SIGINT/SIGTERM starts a graceful shutdown, a second one returns
/// at once (exit 1) without waiting for the drain.
async fn live(
    cfg: Arc<Config>,
    model: String,
    incident_model: Option<String>,
    role: Option<String>,
) -> u8 {
    let ids: Vec<&str> = cfg.brands.iter().map(|b| b.id.as_str()).collect();
    let metrics = Arc::new(Metrics::new(&ids, 1000));
    let shutdown = CancellationToken::new();
    let forced = CancellationToken::new();
    match signals(shutdown.clone(), forced.clone()) {
        Ok(wait) => drop(tokio::spawn(wait)),
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return 1;
        }
    }
    let delivery = match start_delivery(&cfg, Arc::clone(&metrics)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: cannot start alert delivery: {e:#}");
            return 1;
        }
    };
    let direct = match direct_sinks(&cfg) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return 1;
        }
    };
    if let Some(role) = role {
        if incident_model.is_some() {
            eprintln!("warning: --role {role}: the incident sentiment model is not used by the partitioned topology");
        }
        let mut notifiers = direct;
        if let Some(d) = &delivery {
            notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
        }
        let code = run_role(&role, Arc::clone(&cfg), metrics, shutdown, notifiers, model).await;
        if let Some(d) = delivery {
            // The role returned after the signal: the same budget as a single process.
            let left = config::SHUTDOWN_BUDGET.min(cfg.delivery.drain_timeout.0);
            finish_delivery(&d, left).await;
        }
        return code;
    }
    let board = Arc::new(IncidentBoard::for_config(&cfg, Some(Arc::clone(&metrics))));
    let mut opts = super::RunOptions::new(metrics, shutdown);
    opts.sentiment_model = model;
    opts.incident_model = incident_model;
    opts.board = Some(board);
    opts.notifiers.extend(direct);
    tokio::select! {
        code = serve(cfg, opts, delivery) => code,
        _ = forced.cancelled() => {
            eprintln!("second signal: exiting without draining");
            1
        }
    }
}

/// Runs the pipeline with `delivery` as a notifier until `opts.shutdown` fires, then gives
/// pending deliveries what is left of [`config::SHUTDOWN_BUDGET`] (counted from the
/// shutdown signal; at most `[delivery] drain_timeout`): a sink that is down cannot hold
/// shutdown up, and what it did not take stays in the outbox for the next start. Returns the
/// exit code.
pub async fn serve(
    cfg: Arc<Config>,
    mut opts: super::RunOptions,
    delivery: Option<Arc<crate::alert::Delivery>>,
) -> u8 {
    if let Some(d) = &delivery {
        opts.notifiers.push(Arc::clone(d) as Arc<dyn Notifier>);
    }
    let pages = Arc::new(crate::alert::PageLedger::new());
    opts.notifiers.push(Arc::clone(&pages) as Arc<dyn Notifier>);
    // When the shutdown began, for the budget.
    let signalled = {
        let token = opts.shutdown.clone();
        tokio::spawn(async move {
            token.cancelled().await;
            tokio::time::Instant::now()
        })
    };
    let drain = cfg.delivery.drain_timeout.0;
    let code = match super::run(cfg, opts).await {
        Ok(s) => {
            eprintln!(
                "stopped: {} mentions, {} matched, {} alerts, {} archived; frame→scored p99 {} µs",
                s.engine.received, s.engine.matched, s.alerts, s.archived, s.latency_us.1
            );
            eprint!("{}", pages.summary());
            0
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    if let Some(d) = delivery {
        let since = if signalled.is_finished() {
            signalled.await.ok()
        } else {
            // The run ended by itself (its sources ended): the budget starts now.
            signalled.abort();
            None
        };
        let spent = since.map_or(std::time::Duration::ZERO, |t| t.elapsed());
        let left = config::SHUTDOWN_BUDGET.saturating_sub(spent).min(drain);
        // Pending notifications stay in the outbox and resume on the next start.
        finish_delivery(&d, left).await;
    }
    code
}

/// Waits for SIGINT or SIGTERM twice: the first cancels `shutdown`, the second `forced`. The
/// handlers are registered before this returns, so a signal after startup is never lost to the
/// default action.
#[cfg(unix)]
fn signals(
    shutdown: CancellationToken,
    forced: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        for token in [shutdown, forced] {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            eprintln!("signal received: stopping sources and draining (again to exit at once)");
            token.cancel();
        }
    })
}

#[cfg(not(unix))]
fn signals(
    shutdown: CancellationToken,
    forced: CancellationToken,
) -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async move {
        for token in [shutdown, forced] {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            eprintln!("signal received: stopping sources and draining (again to exit at once)");
            token.cancel();
        }
    })
}

/// `--incident-model` ("none"/"off" turn it off), else `[pipeline] incident_sentiment_model`.
pub fn incident_model_choice(flag: Option<String>, cfg: &Config) -> Option<String> {
    match flag.as_deref() {
        Some("none" | "off") => None,
        Some(_) => flag,
        None => cfg.pipeline.incident_sentiment_model.clone(),
    }
}

/// The runtime every command runs on: two worker threads.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
