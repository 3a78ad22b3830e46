//! The Mastodon source (streaming API over WebSocket, REST backfill).

use super::SourceCtx;
use crate::config::source::MastodonConfig;

pub async fn run(_cfg: MastodonConfig, _ctx: SourceCtx) -> anyhow::Result<()> {
    anyhow::bail!("the mastodon source is not built yet")
}
