//! Record formats beyond the log's magic-2 fast path: legacy (magic 0/1) message sets and the
//! compression codecs they and v2 batches use, as Kafka's clients write them.

pub mod codec;
pub mod legacy;
