#!/usr/bin/env python3
"""kafka-python (and confluent-kafka) driven by the Rust integration tests.

  clients.py produce BOOTSTRAP TOPIC COUNT CODEC [API_VERSION]
      Produces COUNT keyed records with headers and explicit timestamps, prints one JSON
      line per record: the partition and offset the broker acknowledged plus the record.
  clients.py consume BOOTSTRAP TOPIC COUNT
      Reads every partition from the beginning until COUNT records arrived (60 s limit),
      prints one JSON line per record.
  clients.py confluent-regex BOOTSTRAP REGEX GROUP COUNT
      confluent-kafka (a current librdkafka): list_topics() printed as one JSON line
      {"topics": {name: partition count}}, then a regex subscription to REGEX in GROUP
      reading COUNT records (60 s limit), one JSON line per record.

Records are deterministic so the Rust side can check them independently:
key "key-<i>", value "value-<i>-" + 'x' * (i % 50), header ("idx", "<i>"), timestamp
BASE_TS + i.
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

BASE_TS = 1_600_000_000_000


def record(i):
    return (
        f"key-{i}".encode(),
        (f"value-{i}-" + "x" * (i % 50)).encode(),
        [("idx", str(i).encode())],
        BASE_TS + i,
    )


def produce(bootstrap, topic, count, codec, api_version=None):
    kwargs = dict(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        batch_size=64 * 1024,
        compression_type=None if codec == "none" else codec,
        max_in_flight_requests_per_connection=1,
        retries=0,
    )
    if api_version:
        kwargs["api_version"] = tuple(int(x) for x in api_version.split("."))
    p = KafkaProducer(**kwargs)
    futures = []
    for i in range(count):
        k, v, h, ts = record(i)
        if api_version and kwargs["api_version"] < (0, 11):
            h = None  # legacy message formats have no headers
        futures.append((i, p.send(topic, key=k, value=v, headers=h, timestamp_ms=ts)))
    p.flush(60)
    out = sys.stdout
    for i, f in futures:
        md = f.get(timeout=60)
        out.write(json.dumps({"i": i, "p": md.partition, "o": md.offset}) + "\n")
    p.close()


def text(b):
    """Bytes as text for the JSON line; any bytes (the live fuzz test appends binary)."""
    return b.decode(errors="replace") if b is not None else None


def consume(bootstrap, topic, count):
    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    parts = c.partitions_for_topic(topic)
    deadline = time.time() + 30
    while not parts and time.time() < deadline:
        time.sleep(0.2)
        parts = c.partitions_for_topic(topic)
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    got = 0
    deadline = time.time() + 60
    out = sys.stdout
    while got < count and time.time() < deadline:
        for tp, msgs in c.poll(timeout_ms=500, max_records=10000).items():
            for m in msgs:
                out.write(json.dumps({
                    "p": m.partition, "o": m.offset, "ts": m.timestamp,
                    "k": text(m.key),
                    "v": text(m.value),
                    "h": [[hk, text(hv)] for hk, hv in m.headers],
                }) + "\n")
                got += 1
    c.close()
    if got < count:
        sys.exit(f"consumed only {got} of {count} records")


def group_consume(bootstrap, topic, group, count, idle_s):
    """Consume as a member of `group` (subscribe: the broker's group coordinator assigns
    partitions) until `count` records or `idle_s` seconds without records; commit; close.
    Prints one JSON line per record and a final {"done": n}."""
    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
    )
    got = 0
    last = time.time()
    out = sys.stdout
    while got < count and time.time() - last < idle_s:
        batch = c.poll(timeout_ms=500)
        for tp, msgs in batch.items():
            for m in msgs:
                out.write(json.dumps({"p": m.partition, "o": m.offset,
                                      "v": m.value.decode() if m.value is not None else None}) + "\n")
                got += 1
                last = time.time()
        if batch:
            c.commit()
    c.commit()
    c.close()
    out.write(json.dumps({"done": got}) + "\n")


def confluent_regex(bootstrap, regex, group, count):
    """Both send an all-topics Metadata request, which librdkafka >= 2.1 follows with 3
    stray bytes at v9+."""
    from confluent_kafka import Consumer  # only this command needs confluent-kafka

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    md = c.list_topics(timeout=30)
    out = sys.stdout
    out.write(json.dumps({"topics": {t: len(m.partitions) for t, m in md.topics.items()
                                     if m.error is None}}) + "\n")
    c.subscribe([regex])
    got = 0
    deadline = time.time() + 60
    while got < count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            sys.exit(f"consumer error: {m.error()}")
        out.write(json.dumps({"t": m.topic(), "p": m.partition(), "o": m.offset(),
                              "v": m.value().decode()}) + "\n")
        got += 1
    c.close()
    if got < count:
        sys.exit(f"consumed only {got} of {count} records")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5],
                sys.argv[6] if len(sys.argv) > 6 else None)
    elif cmd == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "group-consume":
        group_consume(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    elif cmd == "confluent-regex":
        confluent_regex(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(f"unknown command {cmd}")
