//! `[[sink]] type = "kafka"`: every alert log line (docs/contracts.md §3) as one message, keyed by
//! brand id so one brand's lines stay in order on one partition.
//!
//! Inputs: alert records from the dispatcher (the sink carries every team unless `teams`
//! says otherwise). Outputs: messages on `topic`. It is a mirror of the alert log, not a pager:
//! `flashpoint run` hands it alerts directly instead of through the outbox, and `notify`
//! returns once the broker acknowledged the message (idempotent producer, `acks=all`), so a
//! slow cluster slows the dispatcher (Block) rather than losing lines.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::alert::dispatch::{Notifier, NotifyError, NotifyErrorKind, NotifyFuture};
use crate::config::kafka::{producer_config, KafkaSinkConfig};
use crate::domain::alert::AlertRecord;

/// A producer of alert lines.
pub struct KafkaAlertSink {
    id: String,
    teams: Vec<String>,
    topic: String,
    timeout: Duration,
    producer: FutureProducer,
}

impl std::fmt::Debug for KafkaAlertSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaAlertSink")
            .field("id", &self.id)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaAlertSink {
    pub fn new(
        id: &str,
        teams: Vec<String>,
        cfg: &KafkaSinkConfig,
        timeout: Duration,
    ) -> Result<KafkaAlertSink, NotifyError> {
        let producer: FutureProducer =
            producer_config(&cfg.client)
                .create()
                .map_err(|e| NotifyError {
                    notifier: id.to_string(),
                    kind: NotifyErrorKind::Config,
                    reason: "config",
                    message: format!("cannot create the Kafka producer: {e}"),
                    retry_after: None,
                })?;
        Ok(KafkaAlertSink {
            id: id.to_string(),
            teams,
            topic: cfg.topic.clone(),
            timeout: if timeout.is_zero() {
                Duration::from_secs(30)
            } else {
                timeout
            },
            producer,
        })
    }
}

impl Notifier for KafkaAlertSink {
    fn id(&self) -> &str {
        &self.id
    }

    fn teams(&self) -> &[String] {
        &self.teams
    }

    fn notify<'a>(&'a self, alert: &'a AlertRecord) -> NotifyFuture<'a> {
        Box::pin(async move {
            let line = alert.to_json_line();
            let record = FutureRecord::to(&self.topic)
                .key(alert.brand.as_str())
                .payload(line.as_str());
            match self.producer.send(record, self.timeout).await {
                Ok(_) => Ok(()),
                Err((e, _)) => Err(NotifyError {
                    notifier: self.id.clone(),
                    kind: NotifyErrorKind::Unavailable,
                    reason: "kafka",
                    message: e.to_string(),
                    retry_after: None,
                }),
            }
        })
    }
}
