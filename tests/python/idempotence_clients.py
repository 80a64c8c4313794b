#!/usr/bin/env python3
"""Idempotent producers driven by tests/idempotence.rs.

  idempotence_clients.py produce CLIENT BOOTSTRAP TOPIC COUNT
      CLIENT is kafka-python (its DEFAULT settings: idempotence on in 3.x), confluent
      (enable.idempotence=true) or aiokafka (enable_idempotence=True). Produces COUNT
      records with values "v-<i>" to partition 0 and prints {"acked": n}.
  idempotence_clients.py stream BOOTSTRAP TOPIC SECONDS
      confluent-kafka, enable.idempotence=true, acks=all: produces "v-<i>" with increasing i
      to partition 0 for SECONDS (brokers are being killed meanwhile), flushes, and prints
      {"acked": [i, ...], "failed": [[i, error], ...]}.
  idempotence_clients.py read BOOTSTRAP TOPIC COUNT
      Reads partition 0 from the beginning until COUNT records (60 s limit) and prints
      {"values": [...]} in offset order.
"""
import asyncio
import json
import sys
import time


def value(i):
    return f"v-{i}".encode()


def produce_kafka_python(bootstrap, topic, count):
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap)  # defaults: idempotence, acks=all
    futures = [p.send(topic, value=value(i), partition=0) for i in range(count)]
    p.flush(60)
    for f in futures:
        f.get(timeout=60)
    p.close()
    return count


def produce_confluent(bootstrap, topic, count):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    errors = []
    for i in range(count):
        p.produce(topic, value=value(i), partition=0,
                  on_delivery=lambda err, _m: err and errors.append(str(err)))
        p.poll(0)
    if p.flush(60) != 0 or errors:
        sys.exit(f"confluent-kafka: {p.flush(0)} undelivered, errors {errors[:3]}")
    return count


def produce_aiokafka(bootstrap, topic, count):
    from aiokafka import AIOKafkaProducer

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        await p.start()
        try:
            futures = [await p.send(topic, value=value(i), partition=0) for i in range(count)]
            for f in futures:
                await f
        finally:
            await p.stop()
        return count

    return asyncio.run(run())


def stream(bootstrap, topic, seconds):
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": 120000})
    acked, failed = [], []

    def report(i):
        def cb(err, _msg):
            if err is None:
                acked.append(i)
            else:
                failed.append([i, str(err)])
        return cb

    i = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            p.produce(topic, value=value(i), partition=0, on_delivery=report(i))
            i += 1
        except BufferError:
            p.poll(0.05)
            continue
        p.poll(0)
        if i % 50 == 0:
            time.sleep(0.01)  # a steady stream, not a queue filling up in seconds
    p.flush(150)
    print(json.dumps({"acked": acked, "failed": failed}))


def read(bootstrap, topic, count):
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", fetch_max_wait_ms=200)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    values = []
    deadline = time.time() + 60
    while len(values) < count and time.time() < deadline:
        for _tp, msgs in c.poll(timeout_ms=500, max_records=10000).items():
            values.extend(m.value.decode() for m in msgs)
    c.close()
    print(json.dumps({"values": values}))


PRODUCERS = {"kafka-python": produce_kafka_python, "confluent": produce_confluent,
             "aiokafka": produce_aiokafka}

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "produce":
        n = PRODUCERS[sys.argv[2]](sys.argv[3], sys.argv[4], int(sys.argv[5]))
        print(json.dumps({"acked": n}))
    elif cmd == "stream":
        stream(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif cmd == "read":
        read(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")
