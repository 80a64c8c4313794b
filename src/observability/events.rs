//! `/events`: state changes as server-sent events (`event: state_change`, JSON data with
//! time, broker, kind, topic, partition, text). A new subscriber first gets the recent
//! history, then the live stream; one that falls behind the bounded channel is told how
//! many events it missed and carries on.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::metrics::events::{enable, Event};

pub(super) async fn handler(
    axum::extract::State(s): axum::extract::State<super::Sources>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let (history, rx) = enable(s.state.broker_id).subscribe();
    let history = stream::iter(history.into_iter().map(|e| Ok(sse(&e))));
    let live = stream::unfold(rx, |mut rx| async move {
        let item = match rx.recv().await {
            Ok(e) => sse(&e),
            Err(RecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(format!("{{\"missed\":{n}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(item), rx))
    });
    Sse::new(history.chain(live)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn sse(e: &Arc<Event>) -> SseEvent {
    SseEvent::default()
        .event("state_change")
        .data(e.to_json().to_string())
}
