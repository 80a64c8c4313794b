#!/usr/bin/env python3
"""Clients against a broker with the AclAuthorizer on, driven by tests/acls.rs.

  acl_clients.py produce CLIENT BOOTSTRAP TOPIC N
      CLIENT: confluent | kafka-python. Sends N records; prints one JSON line
      {"code": <Kafka error code of the first failure, 0 if all acknowledged>}.
  acl_clients.py consume CLIENT BOOTSTRAP TOPIC GROUP N
      Subscribes with GROUP and reads up to N records (30 s at most); prints
      {"code": <error code, 0 if none>, "count": <records read>}.
"""
import json
import sys
import time


def confluent_produce(bootstrap, topic, n):
    from confluent_kafka import Producer
    codes = []
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 20000})
    for i in range(n):
        p.produce(topic, value=b"v%d" % i,
                  on_delivery=lambda err, msg: codes.append(err.code() if err else 0))
    p.flush(30)
    return next((c for c in codes if c != 0), 0 if len(codes) == n else -1)


def kafka_python_produce(bootstrap, topic, n):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    p = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=20000, retries=0)
    try:
        for i in range(n):
            p.send(topic, b"v%d" % i).get(timeout=30)
        return 0
    except KafkaError as e:
        return getattr(e, "errno", -1)
    finally:
        p.close(timeout=5)


def confluent_consume(bootstrap, topic, group, n):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    count, code, deadline = 0, 0, time.time() + 30
    while count < n and code == 0 and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            code = m.error().code()
        else:
            count += 1
    c.close()
    return code, count


def kafka_python_consume(bootstrap, topic, group, n):
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                      auto_offset_reset="earliest")
    count, code, deadline = 0, 0, time.time() + 30
    try:
        while count < n and time.time() < deadline:
            for records in c.poll(timeout_ms=1000).values():
                count += len(records)
    except KafkaError as e:
        code = getattr(e, "errno", -1)
    finally:
        c.close()
    return code, count


def main():
    cmd, client = sys.argv[1], sys.argv[2]
    if cmd == "produce":
        bootstrap, topic, n = sys.argv[3], sys.argv[4], int(sys.argv[5])
        f = confluent_produce if client == "confluent" else kafka_python_produce
        print(json.dumps({"code": f(bootstrap, topic, n)}))
    elif cmd == "consume":
        bootstrap, topic, group, n = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
        f = confluent_consume if client == "confluent" else kafka_python_consume
        code, count = f(bootstrap, topic, group, n)
        print(json.dumps({"code": code, "count": count}))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
