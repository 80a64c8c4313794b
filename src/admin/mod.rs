//! Admin tools (kafka-dump-log.sh equivalent).

pub mod dump_log;
