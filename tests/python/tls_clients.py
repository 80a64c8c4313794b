#!/usr/bin/env python3
"""kafka-python and confluent-kafka over an SSL listener, driven by tests/tls.rs.

  tls_clients.py CLIENT BOOTSTRAP CAFILE TOPIC COUNT
      CLIENT is kafka-python or confluent. Produces COUNT records ("<client>-<i>") with
      acks=all, then reads the topic from the beginning until COUNT records arrived (60 s
      limit) and prints {"acked": <records acknowledged>, "values": [...]} as one JSON line.
      Only the CA location differs from the clients' defaults.
"""
import json
import sys
import time


def kafka_python(bootstrap, cafile, topic, count):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    ssl = dict(security_protocol="SSL", ssl_cafile=cafile)
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **ssl)
    futures = [p.send(topic, f"kafka-python-{i}".encode()) for i in range(count)]
    p.flush(60)
    acked = sum(1 for f in futures if f.get(timeout=60) is not None)
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", **ssl)
    c.assign([TopicPartition(topic, 0)])
    values, deadline = [], time.time() + 60
    while len(values) < count and time.time() < deadline:
        for records in c.poll(timeout_ms=1000).values():
            values.extend(r.value.decode() for r in records)
    c.close()
    return acked, values


def confluent(bootstrap, cafile, topic, count):
    from confluent_kafka import Consumer, Producer, TopicPartition

    ssl = {"security.protocol": "SSL", "ssl.ca.location": cafile}
    p = Producer({"bootstrap.servers": bootstrap, **ssl})
    acked = []
    for i in range(count):
        p.produce(topic, f"confluent-{i}".encode(),
                  on_delivery=lambda err, msg: acked.append(err is None))
    p.flush(60)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tls-confluent",
                  "enable.auto.commit": False, **ssl})
    c.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.time() + 60
    while len(values) < count and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            values.append(m.value().decode())
    c.close()
    return sum(acked), values


def main():
    client, bootstrap, cafile, topic, count = sys.argv[1:6]
    run = {"kafka-python": kafka_python, "confluent": confluent}[client]
    acked, values = run(bootstrap, cafile, topic, int(count))
    print(json.dumps({"acked": acked, "values": values}))


if __name__ == "__main__":
    main()
