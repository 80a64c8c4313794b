//! Quotas as Kafka measures them: a windowed `Rate` per quota entity and the throttle time a
//! violation earns. Client quotas (produce/fetch bytes, request time) and replication throttles
//! both build on these; they sit below `replica` and `server`, which enforce them.

pub mod client;
pub mod rate;
pub mod replication;

pub use client::{
    ClientQuotaManager, ClientQuotaManagers, ClientQuotaType, EntityName, QuotaEntity,
};
pub use rate::{throttle_time_ms, QuotaWindow, Rate};
pub use replication::{ReplicationQuotaManager, ReplicationQuotas};
