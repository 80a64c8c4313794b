//! Request quotas (Kafka's ClientRequestQuotaManager): the time spent handling a client's
//! requests is recorded per (user, client-id) as a percentage of one thread and checked
//! against `request_percentage`; a client over its quota gets `throttle_time_ms` in the
//! response and its connection is muted for that long (KIP-219). Requests from brokers
//! (cluster actions, follower fetches) and acks=0 produces are exempt, as in Kafka. Produce
//! and consumer Fetch carry the larger of this throttle and their byte-rate one.

use std::time::Duration;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use super::apis::{Handled, KafkaApis};
use super::client_quotas;
use crate::network::request::{RequestBody, RequestContext};

/// ClientRequestQuotaManager.nanosToPercentage: 100 % is one thread busy for one second.
fn percentage(elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 * 100.0 / 1e9
}

/// Requests that never count against request quotas: what Kafka answers with
/// sendResponseExemptThrottle (cluster actions, a follower's Fetch) or not at all (an acks=0
/// Produce).
pub fn is_exempt(body: &RequestBody) -> bool {
    let RequestBody::Decoded(kind) = body else {
        return false;
    };
    match &**kind {
        RequestKind::LeaderAndIsr(_)
        | RequestKind::StopReplica(_)
        | RequestKind::UpdateMetadata(_)
        | RequestKind::ControlledShutdown(_)
        | RequestKind::WriteTxnMarkers(_) => true,
        RequestKind::Fetch(f) => f.replica_id.0 >= 0,
        RequestKind::Produce(p) => p.acks == 0,
        _ => false,
    }
}

/// A consumer's Fetch records its request time itself (`record`), before its response is
/// made: a throttled fetch is answered empty, and its time waiting for data does not count
/// (KafkaApis.handleFetchRequest records the handler's time only, not the purgatory's).
pub fn recorded_by_handler(body: &RequestBody) -> bool {
    matches!(body, RequestBody::Decoded(kind) if matches!(&**kind, RequestKind::Fetch(f) if f.replica_id.0 < 0))
}

/// Records `elapsed` of handling against the client's request quota: the throttle time
/// (0 within quota, or without request quotas).
pub fn record(apis: &KafkaApis, ctx: &RequestContext, elapsed: Duration) -> u64 {
    client_quotas::record(&apis.quotas.request, ctx, percentage(elapsed))
}

/// Sets `throttle_time_ms` in the responses whose version carries it (those of the common
/// client APIs); false when the field is not there (the muted connection alone then slows
/// the client down).
fn set_throttle_time(body: &mut ResponseKind, version: i16, ms: i32) -> bool {
    macro_rules! set {
        ($r:expr, $min:expr) => {{
            if version < $min {
                return false;
            }
            $r.throttle_time_ms = ms;
            true
        }};
    }
    match body {
        ResponseKind::Produce(r) => set!(r, 1),
        ResponseKind::Metadata(r) => set!(r, 3),
        ResponseKind::ApiVersions(r) => set!(r, 1),
        ResponseKind::ListOffsets(r) => set!(r, 2),
        ResponseKind::FindCoordinator(r) => set!(r, 1),
        ResponseKind::JoinGroup(r) => set!(r, 2),
        ResponseKind::SyncGroup(r) => set!(r, 1),
        ResponseKind::Heartbeat(r) => set!(r, 1),
        ResponseKind::LeaveGroup(r) => set!(r, 1),
        ResponseKind::OffsetCommit(r) => set!(r, 3),
        ResponseKind::OffsetFetch(r) => set!(r, 3),
        ResponseKind::DescribeGroups(r) => set!(r, 1),
        ResponseKind::ListGroups(r) => set!(r, 1),
        ResponseKind::CreateTopics(r) => set!(r, 2),
        ResponseKind::DeleteTopics(r) => set!(r, 1),
        ResponseKind::DescribeConfigs(r) => set!(r, 0),
        ResponseKind::InitProducerId(r) => set!(r, 0),
        ResponseKind::DescribeCluster(r) => set!(r, 0),
        _ => false,
    }
}

impl KafkaApis {
    /// Records the handling time of a non-exempt request and, over quota, throttles its
    /// response: the larger of this and a byte-rate throttle already given wins (Produce's
    /// `throttle_time_ms` is the larger one too, acks=all's once replication answered).
    pub(super) fn apply_request_quota(
        &self,
        ctx: &RequestContext,
        elapsed: Duration,
        handled: Handled,
    ) -> Handled {
        let throttle_ms = record(self, ctx, elapsed);
        if throttle_ms == 0 {
            return handled;
        }
        let (handled, byte_throttle_ms) = handled.split_throttle();
        let (version, ms) = (
            ctx.api_version(),
            client_quotas::as_response_ms(throttle_ms),
        );
        let handled = match handled {
            Handled::Close(why) => return Handled::Close(why),
            Handled::NoResponse => return Handled::NoResponse,
            h if throttle_ms <= byte_throttle_ms => h,
            Handled::Deferred(rest) => Handled::Deferred(Box::pin(async move {
                with_throttle_time(rest.await, version, ms)
            })),
            h => with_throttle_time(h, version, ms),
        };
        Handled::Throttled {
            throttle_ms: throttle_ms.max(byte_throttle_ms),
            response: Box::new(handled),
        }
    }
}

/// A response with its `throttle_time_ms` set to `ms` (where its version has the field).
fn with_throttle_time(handled: Handled, version: i16, ms: i32) -> Handled {
    match handled {
        Handled::Respond(mut response) => {
            set_throttle_time(&mut response.body, version, ms);
            Handled::Respond(response)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::MetadataResponse;

    #[test]
    fn throttle_time_goes_only_where_the_version_has_it() {
        let mut m = ResponseKind::Metadata(MetadataResponse::default());
        assert!(!set_throttle_time(&mut m, 2, 50));
        assert!(set_throttle_time(&mut m, 3, 50));
        let ResponseKind::Metadata(r) = m else {
            panic!()
        };
        assert_eq!(r.throttle_time_ms, 50);
        assert_eq!(percentage(Duration::from_millis(10)), 1.0);
    }
}
