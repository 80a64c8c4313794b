#!/usr/bin/env python3
"""Client quota workloads and quota admin calls, driven by tests/quotas.rs.

  quota_clients.py produce BOOTSTRAP TOPIC CLIENT_ID SECONDS SKIP
      confluent-kafka producer sending 10 KB records as fast as it can for SECONDS.
  quota_clients.py consume BOOTSTRAP TOPIC CLIENT_ID SECONDS SKIP
      confluent-kafka consumer reading TOPIC from the beginning for SECONDS.
      Both print one JSON line: {"bytes": acked/received bytes, "rate": bytes/s between
      SKIP and SECONDS (the first burst a fresh quota window allows is left out),
      "throttle_max_ms": the largest broker throttle time librdkafka's statistics reported}.
  quota_clients.py describe BOOTSTRAP COMPONENTS_JSON STRICT
      kafka-python's DescribeClientQuotas v1 request: COMPONENTS_JSON is
      [[entity_type, match_type, match or null], ...]. Prints {"code", "message",
      "entries": [[{type: name}, {key: value}], ...]} with entries sorted.
  quota_clients.py alter BOOTSTRAP ENTITY_JSON OPS_JSON VALIDATE
      kafka-python's AlterClientQuotas v1 request for one entity ({type: name or null}) with
      OPS_JSON {key: value or null (remove)}. Prints {"code", "message"}.
"""
import json
import sys
import time


def throttle_tracker():
    seen = {"max": 0}

    def on_stats(text):
        stats = json.loads(text)
        for b in stats.get("brokers", {}).values():
            seen["max"] = max(seen["max"], b.get("throttle", {}).get("max", 0))

    return seen, on_stats


def produce(bootstrap, topic, client_id, seconds, skip):
    from confluent_kafka import Producer
    seen, on_stats = throttle_tracker()
    acked = []
    p = Producer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "linger.ms": 5,
        # Requests of at most 64 KB per partition: a quota is measured per request, so
        # smaller requests let the measured rate follow the quota more closely.
        "batch.size": 65536,
        "queue.buffering.max.kbytes": 2048,
        "statistics.interval.ms": 500,
        "stats_cb": on_stats,
    })
    value = b"x" * 10_000

    def on_delivery(err, msg):
        if err is None:
            acked.append((time.monotonic(), len(msg.value())))

    start = time.monotonic()
    while time.monotonic() - start < seconds:
        try:
            p.produce(topic, value, on_delivery=on_delivery)
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    p.purge(in_queue=True, in_flight=False)
    p.flush(30)
    return summary(acked, start, seconds, skip, seen)


def consume(bootstrap, topic, client_id, seconds, skip):
    from confluent_kafka import Consumer, TopicPartition
    seen, on_stats = throttle_tracker()
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "group.id": "quota-" + client_id,
        "enable.auto.commit": False,
        # Responses of at most 128 KB per partition, for the same reason as batch.size.
        "max.partition.fetch.bytes": 131072,
        "statistics.interval.ms": 500,
        "stats_cb": on_stats,
    })
    meta = c.list_topics(topic, timeout=30)
    c.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    got = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for m in c.consume(num_messages=1000, timeout=0.2):
            if m.error() is None:
                got.append((time.monotonic(), len(m.value())))
    c.poll(0.6)  # one more statistics callback
    c.close()
    return summary(got, start, seconds, skip, seen)


def summary(events, start, seconds, skip, seen):
    in_window = sum(n for (t, n) in events if skip <= t - start < seconds)
    return {
        "bytes": sum(n for (_, n) in events),
        "rate": in_window / (seconds - skip),
        "throttle_max_ms": seen["max"],
    }


def kafka_python_send(bootstrap, request):
    """Sends one request through KafkaAdminClient's connection manager (which negotiates
    the version with ApiVersions); kafka-python has the message classes but no admin
    method for client quotas."""
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="quota-admin")
    try:
        async def send():
            return await admin._manager.send(request)
        return admin._manager.run(send)
    finally:
        admin.close()


def describe(bootstrap, components, strict):
    from kafka.protocol.admin import DescribeClientQuotasRequest
    comps = [(t, m, n) for (t, m, n) in components]
    resp = kafka_python_send(bootstrap, DescribeClientQuotasRequest(components=comps, strict=strict))
    entries = []
    for e in resp.entries or []:
        entity = {x.entity_type: x.entity_name for x in e.entity}
        values = {v.key: v.value for v in e.values}
        entries.append([entity, values])
    entries.sort(key=lambda e: json.dumps(e, sort_keys=True))
    return {"code": resp.error_code, "message": resp.error_message, "entries": entries}


def alter(bootstrap, entity, ops, validate):
    from kafka.protocol.admin import AlterClientQuotasRequest
    entry = (
        [(t, n) for t, n in entity.items()],
        [(k, 0.0 if v is None else float(v), v is None) for k, v in ops.items()],
    )
    req = AlterClientQuotasRequest(entries=[entry], validate_only=validate)
    e = kafka_python_send(bootstrap, req).entries[0]
    return {"code": e.error_code, "message": e.error_message}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd in ("produce", "consume"):
        bootstrap, topic, client_id, seconds, skip = args
        run = produce if cmd == "produce" else consume
        out = run(bootstrap, topic, client_id, float(seconds), float(skip))
    elif cmd == "describe":
        out = describe(args[0], json.loads(args[1]), args[2] == "true")
    elif cmd == "alter":
        out = alter(args[0], json.loads(args[1]), json.loads(args[2]), args[3] == "true")
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
