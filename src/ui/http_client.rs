//! The ui's HTTP/1.1 client for the brokers' endpoints, on hyper: `GET /state` as JSON and
//! `GET /events` followed as a server-sent event stream. One connection per request: the ui
//! asks rarely, and a killed broker then costs nothing but a refused connect.

use std::time::Duration;

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// How long a connect, a response head or a JSON body may take.
const TIMEOUT: Duration = Duration::from_secs(2);

async fn open(addr: &str, path: &str) -> anyhow::Result<hyper::Response<Incoming>> {
    let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
        .await
        .with_context(|| format!("http://{addr}{path}: no connection within 2 s"))?
        .with_context(|| format!("http://{addr}{path}: cannot connect"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("http://{addr}{path}: HTTP handshake failed"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, addr)
        .body(Empty::<Bytes>::new())?;
    let response = tokio::time::timeout(TIMEOUT, sender.send_request(request))
        .await
        .with_context(|| format!("http://{addr}{path}: no answer within 2 s"))?
        .with_context(|| format!("http://{addr}{path}: request failed"))?;
    if !response.status().is_success() {
        bail!("http://{addr}{path}: status {}", response.status());
    }
    Ok(response)
}

/// `GET addr path` parsed as JSON.
pub async fn get_json(addr: &str, path: &str) -> anyhow::Result<Value> {
    let response = open(addr, path).await?;
    let body = tokio::time::timeout(TIMEOUT, response.into_body().collect())
        .await
        .with_context(|| format!("http://{addr}{path}: body not complete within 2 s"))?
        .with_context(|| format!("http://{addr}{path}: body cut short"))?
        .to_bytes();
    serde_json::from_slice(&body).with_context(|| format!("http://{addr}{path}: not JSON"))
}

/// Follows the server-sent events at `addr path`, calling `on_event(event, data)` for each
/// one, until the stream ends (the broker stopped) or fails.
pub async fn follow_events(
    addr: &str,
    path: &str,
    mut on_event: impl FnMut(&str, &str),
) -> anyhow::Result<()> {
    let mut body = open(addr, path).await?.into_body();
    let mut pending: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.with_context(|| format!("http://{addr}{path}: stream broken"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        // Events end with a blank line; a frame may hold several or part of one.
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = pending.drain(..end + 2).collect();
            let (event, data) = parse_event(&String::from_utf8_lossy(&block));
            if !data.is_empty() {
                on_event(&event, &data);
            }
        }
    }
    Ok(())
}

/// `event:` and the joined `data:` lines of one event block (comments are keep-alives).
fn parse_event(block: &str) -> (String, String) {
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim_start().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (event, data.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::parse_event;

    #[test]
    fn parses_an_event_block() {
        let (event, data) = parse_event("event: state_change\ndata: {\"a\":1}\n\n");
        assert_eq!(event, "state_change");
        assert_eq!(data, "{\"a\":1}");
        let (event, data) = parse_event(": keep-alive\n\n");
        assert_eq!(event, "message");
        assert!(data.is_empty());
    }
}
