//! Replication on the broker side: hosted partitions and their leader/follower state, the high
//! watermark, and the purgatory where acks=all produce and long-poll fetch requests wait.

pub mod alter_log_dirs;
mod coordinator_append;
mod delete_records;
mod dir_failure;
mod fetch_session_handler;
pub mod fetcher;
pub mod follower;
pub mod isr;
mod leader_and_isr;
pub mod manager;
mod out_of_range;
pub mod partition;
pub mod purgatory;
pub mod read;
pub mod truncation;

pub use delete_records::HIGH_WATERMARK;
pub use manager::ReplicaManager;
pub use partition::Partition;

#[cfg(test)]
mod tests;
