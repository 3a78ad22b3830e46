//! Bounded HTTP response bodies for the sources' REST lookups (the Jetstream AppView's
//! `getProfiles`, the Mastodon timeline backfill): the body is read chunk by chunk and the read
//! stops as soon as it passes a byte cap, so an endless or huge answer costs at most the cap in
//! memory, never the whole body. A `Content-Length` over the cap is refused before any read.
//!
//! Errors never carry the request URL (a URL may hold credentials); the caller maps them to
//! its own bad-input reasons.

use serde::de::DeserializeOwned;

/// Why a response body was not turned into a value.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is longer than the cap: a broken or hostile server. Nothing to retry soon.
    #[error("response body over {cap} bytes")]
    TooLarge { cap: usize },
    /// Reading the body failed (connection cut, timeout): retry later.
    #[error("cannot read the response body: {0}")]
    Read(reqwest::Error),
    /// The body is not the JSON expected: a broken server.
    #[error("response body is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads `resp`'s body, at most `cap` bytes of it: [`BodyError::TooLarge`] as soon as more
/// arrive (or `Content-Length` says they would).
pub async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if resp
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > cap))
    {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| BodyError::Read(e.without_url()))?
    {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`read_capped`], then decodes the body as JSON.
pub async fn json_capped<T: DeserializeOwned>(
    resp: reqwest::Response,
    cap: usize,
) -> Result<T, BodyError> {
    let body = read_capped(resp, cap).await?;
    Ok(serde_json::from_slice(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering one request with a 200 whose chunked body never ends; returns its
    /// address and how many bytes it managed to write before the client hung up.
    async fn endless_server() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (done, written) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 4096];
            let _n = tcp.read(&mut req).await.unwrap();
            tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
                .await
                .unwrap();
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "[".repeat(64 * 1024));
            let mut n = 0usize;
            // At most 256 MiB, so a client that never stops cannot hang the test.
            while n < 256 << 20 && tcp.write_all(chunk.as_bytes()).await.is_ok() {
                n += 64 * 1024;
            }
            let _sent = done.send(n);
        });
        (addr, written)
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_cap() {
        let (addr, written) = endless_server().await;
        let resp = reqwest::get(format!("http://{addr}/")).await.unwrap();
        let err = json_capped::<serde_json::Value>(resp, 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err}");
        // The client hung up: the server wrote little past the cap (socket buffers only).
        let n = written.await.unwrap();
        assert!(n < 64 << 20, "{n} bytes written before the client stopped");
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_unread() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 4096];
            let _n = tcp.read(&mut req).await.unwrap();
            let _w = tcp
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5000000000\r\n\r\n[]")
                .await;
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        });
        let resp = reqwest::get(format!("http://{addr}/")).await.unwrap();
        let err = read_capped(resp, 1024).await.unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { .. }), "{err}");
        let ok = json_capped::<Vec<u8>>(
            reqwest::Response::from(axum::http::Response::new("[1,2]")),
            1024,
        )
        .await
        .unwrap();
        assert_eq!(ok, [1, 2]);
    }
}
