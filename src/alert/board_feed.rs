//! The incident board's feed: a notifier that applies every alert line to the
//! [`IncidentBoard`] behind `/api/*`, which is how a replay or a live run feeds the board
//! without the board knowing about notifiers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::dispatch::{Notifier, NotifyError};
use crate::domain::alert::AlertRecord;
use crate::telemetry::IncidentBoard;

/// A notifier that applies every alert to an [`IncidentBoard`]: how a replay or a live run
/// feeds the board without knowing about it.
pub struct BoardFeed {
    board: Arc<IncidentBoard>,
    teams: Vec<String>,
}

impl BoardFeed {
    pub fn new(board: Arc<IncidentBoard>) -> BoardFeed {
        BoardFeed {
            board,
            teams: Vec::new(),
        }
    }
}

impl Notifier for BoardFeed {
    fn id(&self) -> &str {
        "incident-board"
    }
    fn teams(&self) -> &[String] {
        &self.teams
    }
    fn wants(&self, _alert: &AlertRecord) -> bool {
        true
    }
    fn notify<'a>(
        &'a self,
        alert: &'a AlertRecord,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        self.board.apply(alert);
        Box::pin(async { Ok(()) })
    }
}
