//! The incident JSON API over an [`IncidentBoard`]: what Grafana's JSON datasource (e.g. the
//! Infinity plugin) reads for the panels Prometheus cannot hold.
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/incidents` | `{"active": [incident…], "recent": [incident…]}` |
//! | `GET /api/incidents/{id}` | one incident (active or recent), 404 when unknown |
//! | `GET /api/brands` | configured brands with current gauges and open incident ids |
//!
//! An incident carries its latest evidence (`metrics`, `top_posts`, `terms`) and a bounded
//! `timeline` of its alert lines. Merge the router with [`super::http::router`] to serve both
//! on one listener.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::board::IncidentBoard;

/// The `/api/*` routes over `board`.
pub fn api_router(board: Arc<IncidentBoard>) -> Router {
    Router::new()
        .route("/api/incidents", get(incidents))
        .route("/api/incidents/{id}", get(incident))
        .route("/api/brands", get(brands))
        .with_state(board)
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn incidents(State(board): State<Arc<IncidentBoard>>) -> Response {
    json(StatusCode::OK, &board.incidents())
}

async fn incident(State(board): State<Arc<IncidentBoard>>, Path(id): Path<String>) -> Response {
    match board.incident(&id) {
        Some(v) => json(StatusCode::OK, &v),
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({"error": "unknown incident", "id": id}),
        ),
    }
}

async fn brands(State(board): State<Arc<IncidentBoard>>) -> Response {
    json(StatusCode::OK, &board.brands())
}
