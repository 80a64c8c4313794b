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
  txn_clients.py hang BOOTSTRAP TOPIC TXN_ID TIMEOUT_MS COUNT [KEY_PREFIX]
      Opens a transaction with transaction.timeout.ms=TIMEOUT_MS, produces COUNT
      "hung-<i>" records (keyed "<KEY_PREFIX><i>" if given), flushes and exits without
      committing.
  txn_clients.py pending-offsets BOOTSTRAP TOPIC TXN_ID GROUP
      Opens a transaction, produces one record, sends GROUP's offset 42 for TOPIC partition 0
      with send_offsets_to_transaction, prints {"sent": true}, waits for a line on stdin,
      commits and prints {"committed": true}.
  txn_clients.py fill BOOTSTRAP TOPIC PARTITIONS COUNT
      An idempotent producer (acks=all) writes "in-<i>" to partition i % PARTITIONS.
  txn_clients.py ctp BOOTSTRAP SRC DST TXN_ID GROUP SECONDS BATCH ABORT_EVERY
      Consume-transform-produce in transactions while brokers are killed: a read_committed
      consumer of GROUP reads SRC; each transaction writes "out-<i>" for every "in-<i>" to
      the same partition of DST, sends the consumer's positions with
      send_offsets_to_transaction and commits. Transactions of BATCH records, paced to take
      about SECONDS for all of SRC. An abortable error aborts and rewinds to the group's
      committed offsets, a fatal one (fenced) starts a new producer with the same
      transactional.id. With ABORT_EVERY > 0 every ABORT_EVERY-th transaction is aborted on
      purpose after its records and offsets were sent (and its inputs processed again).
      Stops when the committed offsets reach SRC's end; prints
      {"commits", "aborts", "chosen_aborts", "restarts", "errors": [first errors]}.
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


def hang(bootstrap, topic, txn_id, timeout_ms, count, key_prefix=None):
    p = producer(bootstrap, txn_id, **{"transaction.timeout.ms": int(timeout_ms)})
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    for i in range(int(count)):
        key = f"{key_prefix}{i}".encode() if key_prefix is not None else None
        p.produce(topic, key=key, value=f"hung-{i}".encode())
    p.flush(TIMEOUT)
    print(json.dumps({"done": True}))


def pending_offsets(bootstrap, topic, txn_id, group):
    p = producer(bootstrap, txn_id)
    p.init_transactions(TIMEOUT)
    p.begin_transaction()
    p.produce(topic, value=b"pending")
    p.flush(TIMEOUT)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    p.send_offsets_to_transaction(
        [TopicPartition(topic, 0, 42)], c.consumer_group_metadata(), TIMEOUT
    )
    c.close()
    print(json.dumps({"sent": True}), flush=True)
    sys.stdin.readline()
    p.commit_transaction(TIMEOUT)
    print(json.dumps({"committed": True}), flush=True)


def fill(bootstrap, topic, partitions, count):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors = []
    for i in range(int(count)):
        p.produce(topic, value=f"in-{i}".encode(), partition=i % int(partitions),
                  on_delivery=lambda err, _m: err and errors.append(str(err)))
        p.poll(0)
    if p.flush(TIMEOUT) != 0 or errors:
        sys.exit(f"fill: {p.flush(0)} undelivered, errors {errors[:3]}")
    print(json.dumps({"done": True}))


class Loop:
    """The consume-transform-produce loop's clients and counters."""

    def __init__(self, bootstrap, src, dst, txn_id, group):
        self.bootstrap, self.src, self.dst, self.txn_id = bootstrap, src, dst, txn_id
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        md = self.consumer.list_topics(src, timeout=TIMEOUT)
        self.parts = sorted(md.topics[src].partitions)
        self.ends = {
            p: self.consumer.get_watermark_offsets(TopicPartition(src, p), timeout=TIMEOUT)[1]
            for p in self.parts
        }
        self.stats = {"commits": 0, "aborts": 0, "chosen_aborts": 0, "restarts": 0,
                      "errors": []}
        self.abort_every = 0
        self.started = 0
        self.producer = None
        self.new_producer()
        self.rewind()

    def note(self, where, err):
        # Also on stderr at once: the test shows it if the loop has to be killed.
        print(f"ctp {time.strftime('%H:%M:%S')} {where}: {err}", file=sys.stderr, flush=True)
        if len(self.stats["errors"]) < 20:
            self.stats["errors"].append(f"{where}: {err}")

    def new_producer(self):
        """init_transactions fences the previous producer and completes its transaction."""
        while True:
            self.producer = producer(self.bootstrap, self.txn_id, **{"linger.ms": 1})
            try:
                self.producer.init_transactions(TIMEOUT)
                return
            except KafkaException as e:
                self.note("init_transactions", e.args[0])
                time.sleep(1)

    def rewind(self):
        """Positions back to the group's committed offsets (the last committed transaction)."""
        while True:
            try:
                tps = self.consumer.committed(
                    [TopicPartition(self.src, p) for p in self.parts], timeout=TIMEOUT)
                break
            except KafkaException as e:
                self.note("committed", e.args[0])
                time.sleep(1)
        self.pos = {tp.partition: max(tp.offset, 0) for tp in tps}
        self.consumer.assign([TopicPartition(self.src, p, o) for p, o in self.pos.items()])

    def done(self):
        return all(self.pos[p] >= self.ends[p] for p in self.parts)

    def transaction(self, msgs):
        """One transaction: committed, or aborted on purpose (then rewound)."""
        p = self.producer
        p.begin_transaction()
        self.started += 1
        nxt = dict(self.pos)
        for m in msgs:
            i = m.value().decode().split("-", 1)[1]
            p.produce(self.dst, value=f"out-{i}".encode(), partition=m.partition())
            nxt[m.partition()] = m.offset() + 1
        offsets = [TopicPartition(self.src, q, o) for q, o in nxt.items()]
        p.send_offsets_to_transaction(offsets, self.consumer.consumer_group_metadata(), TIMEOUT)
        if self.abort_every and self.started % self.abort_every == 0:
            p.abort_transaction(TIMEOUT)
            self.stats["chosen_aborts"] += 1
            self.rewind()
            return
        while True:
            try:
                p.commit_transaction(TIMEOUT)
                break
            except KafkaException as e:
                if not e.args[0].retriable():
                    raise
                self.note("commit (retrying)", e.args[0])
        self.pos = nxt
        self.stats["commits"] += 1

    def recover(self, err):
        """librdkafka's rules: abort an abortable transaction, replace a fenced producer."""
        if err.fatal():
            self.stats["restarts"] += 1
            self.new_producer()
        elif err.txn_requires_abort():
            self.stats["aborts"] += 1
            try:
                self.producer.abort_transaction(TIMEOUT)
            except KafkaException as e:
                self.note("abort", e.args[0])
                self.stats["restarts"] += 1
                self.new_producer()
        else:
            # E.g. begin/send_offsets timed out: the transaction state is unknown; a new
            # producer settles it.
            self.stats["restarts"] += 1
            self.new_producer()
        self.rewind()


def ctp(bootstrap, src, dst, txn_id, group, seconds, batch, abort_every):
    loop = Loop(bootstrap, src, dst, txn_id, group)
    loop.abort_every = int(abort_every)
    total = sum(loop.ends[p] - loop.pos[p] for p in loop.parts)
    pause = float(seconds) / max(1, total / int(batch))
    deadline = time.time() + float(seconds) + 240
    while not loop.done():
        if time.time() > deadline:
            sys.exit(f"ctp: not done: {loop.pos} of {loop.ends}, {loop.stats}")
        msgs = [m for m in loop.consumer.consume(int(batch), timeout=1.0) if not m.error()]
        if not msgs:
            continue
        try:
            loop.transaction(msgs)
        except KafkaException as e:
            loop.note("transaction", e.args[0])
            loop.recover(e.args[0])
        time.sleep(pause)
    loop.consumer.close()
    print(json.dumps(loop.stats))


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
    elif cmd == "pending-offsets":
        pending_offsets(*args)
    elif cmd == "fill":
        fill(*args)
    elif cmd == "ctp":
        ctp(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
