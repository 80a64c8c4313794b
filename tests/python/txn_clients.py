#!/usr/bin/env python3
"""Transactional clients (confluent-kafka / librdkafka) driven by tests/transactions.rs.

  txn_clients.py confluent-txn BOOTSTRAP TOPIC TXN_ID GROUP COUNT
      One transactional producer runs three transactions of COUNT records each on TOPIC:
      "commit-1-<i>" committed, "abort-<i>" aborted, "commit-2-<i>" committed together with
      send_offsets_to_transaction(GROUP: TOPIC partition 0 -> offset 42); then a fourth
      transaction sends offset 7 and aborts. Prints one JSON line {"done": true}.
  txn_clients.py aiokafka-txn BOOTSTRAP TOPIC TXN_ID GROUP COUNT
      The same three transactions with aiokafka's AIOKafkaProducer.
  txn_clients.py consume BOOTSTRAP TOPIC ISOLATION
      Reads every partition of TOPIC from the beginning to its end (read_committed or
      read_uncommitted), prints one JSON line per record {"p", "o", "v"}.
  txn_clients.py committed BOOTSTRAP GROUP TOPIC PARTITION
      Prints {"offset": <committed offset of GROUP, or -1>}.
  txn_clients.py fence BOOTSTRAP TOPIC TXN_ID
      Producer A opens a transaction; producer B with the same transactional.id
      initialises (fencing A); A's commit must fail fatally (fenced). Prints
      {"a_error": <error name>, "b_committed": true}.
  txn_clients.py hang BOOTSTRAP TOPIC TXN_ID TIMEOUT_MS COUNT
      Opens a transaction with transaction.timeout.ms=TIMEOUT_MS, produces COUNT
      "hung-<i>" records, flushes and exits without committing.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

TIMEOUT = 60


def producer(bootstrap, txn_id, **extra):
    conf = {
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "transaction.timeout.ms": 60000,
        "linger.ms": 5,
    }
    conf.update(extra)
    return Producer(conf)


def confluent_txn(bootstrap, topic, txn_id, group, count):
    p = producer(bootstrap, txn_id)
    p.init_transactions(TIMEOUT)
    for name, commit, offsets in (
        ("commit-1", True, False),
        ("abort", False, False),
        ("commit-2", True, True),
    ):
        p.begin_transaction()
        for i in range(count):
            p.produce(topic, key=f"k-{i}".encode(), value=f"{name}-{i}".encode())
        p.flush(TIMEOUT)
        if offsets:
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
            p.send_offsets_to_transaction(
                [TopicPartition(topic, 0, 42)], c.consumer_group_metadata(), TIMEOUT
            )
            c.close()
        if commit:
            p.commit_transaction(TIMEOUT)
        else:
            p.abort_transaction(TIMEOUT)
    # Offsets sent in an aborted transaction never become the group's offsets.
    p.begin_transaction()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    p.send_offsets_to_transaction(
        [TopicPartition(topic, 0, 7)], c.consumer_group_metadata(), TIMEOUT
    )
    c.close()
    p.abort_transaction(TIMEOUT)
    print(json.dumps({"done": True}))


def aiokafka_txn(bootstrap, topic, txn_id, group, count):
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=txn_id)
        await p.start()
        try:
            for name, commit, offsets in (
                ("commit-1", True, False),
                ("abort", False, False),
                ("commit-2", True, True),
            ):
                await p.begin_transaction()
                for i in range(count):
                    await p.send(topic, key=f"k-{i}".encode(), value=f"{name}-{i}".encode())
                if offsets:
                    await p.send_offsets_to_transaction(
                        {AioTopicPartition(topic, 0): 42}, group
                    )
                if commit:
                    await p.commit_transaction()
                else:
                    await p.abort_transaction()
        finally:
            await p.stop()

    asyncio.run(asyncio.wait_for(run(), TIMEOUT))
    print(json.dumps({"done": True}))


def consume(bootstrap, topic, isolation):
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{time.time()}",
            "isolation.level": isolation,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    md = c.list_topics(topic, timeout=TIMEOUT)
    parts = sorted(md.topics[topic].partitions)
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    at_end = set()
    deadline = time.time() + TIMEOUT
    while len(at_end) < len(parts) and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                at_end.add(m.partition())
                continue
            raise KafkaException(m.error())
        at_end.discard(m.partition())
        print(json.dumps({"p": m.partition(), "o": m.offset(), "v": m.value().decode()}))
    c.close()
    if len(at_end) < len(parts):
        sys.exit(f"did not reach the end of {topic} within {TIMEOUT} s")


def committed(bootstrap, group, topic, partition):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    [tp] = c.committed([TopicPartition(topic, int(partition))], timeout=TIMEOUT)
    c.close()
    print(json.dumps({"offset": tp.offset}))


def fence(bootstrap, topic, txn_id):
    a = producer(bootstrap, txn_id)
    a.init_transactions(TIMEOUT)
    a.begin_transaction()
    a.produce(topic, value=b"zombie")
    a.flush(TIMEOUT)
    b = producer(bootstrap, txn_id)
    b.init_transactions(TIMEOUT)
    b.begin_transaction()
    b.produce(topic, value=b"successor")
    b.commit_transaction(TIMEOUT)
    a_error = None
    try:
        a.commit_transaction(TIMEOUT)
    except KafkaException as e:
        a_error = e.args[0].name()
    print(json.dumps({"a_error": a_error, "b_committed": True}))


def hang(bootstrap, topic, txn_id, timeout_ms, count):
    p = producer(bootstrap, txn_id, **{"transaction.timeout.ms": int(timeout_ms)})
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    for i in range(int(count)):
        p.produce(topic, value=f"hung-{i}".encode())
    p.flush(TIMEOUT)
    print(json.dumps({"done": True}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "confluent-txn":
        confluent_txn(args[0], args[1], args[2], args[3], int(args[4]))
    elif cmd == "aiokafka-txn":
        aiokafka_txn(args[0], args[1], args[2], args[3], int(args[4]))
    elif cmd == "consume":
        consume(*args)
    elif cmd == "committed":
        committed(*args)
    elif cmd == "fence":
        fence(*args)
    elif cmd == "hang":
        hang(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
