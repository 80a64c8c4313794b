//! zkafka: a broker that mirrors classic, ZooKeeper-coordinated Apache Kafka 2.x.
