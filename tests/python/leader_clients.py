#!/usr/bin/env python3
"""Leader elections and reassignments through client admin APIs, for the Rust tests.

  leader_clients.py elect LIB BOOTSTRAP TYPE [TOPIC:PARTITION ...]
      ElectLeaders with LIB = kafka-python | confluent; TYPE = preferred | unclean. No
      partitions = all. Prints one JSON object {"<topic>-<p>": "<error name>" or null}.
  leader_clients.py reassign BOOTSTRAP TOPIC:PARTITION=1,2,3|cancel ...
      AlterPartitionReassignments (kafka-python); prints {"<topic>-<p>": "<error>" or null}.
  leader_clients.py produce BOOTSTRAP TOPIC COUNT
      kafka-python, acks=all with retries, ~400 records/s; prints the list of acknowledged
      values.
  leader_clients.py consume BOOTSTRAP TOPIC
      Reads every partition from the beginning until 5 s pass without a record; prints the
      sorted list of values.
  leader_clients.py list BOOTSTRAP
      ListPartitionReassignments (kafka-python); prints {"<topic>-<p>": {replicas, adding,
      removing}}.
"""
import json
import sys


def parse_tps(args):
    out = []
    for a in args:
        topic, p = a.rsplit(":", 1)
        out.append((topic, int(p)))
    return out


def elect_kafka_python(bootstrap, election_type, tps):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    wanted = None
    if tps:
        wanted = {}
        for t, p in tps:
            wanted.setdefault(t, []).append(p)
    resp = admin.elect_leaders(0 if election_type == "preferred" else 1, wanted, raise_errors=False)
    out = {}
    for result in resp.replica_election_results:
        for pr in result.partition_result:
            err = None if pr.error_code == 0 else str(pr.error_code)
            out[f"{result.topic}-{pr.partition_id}"] = err
    admin.close()
    return out


def elect_confluent(bootstrap, election_type, tps):
    from confluent_kafka import ElectionType, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    kind = ElectionType.PREFERRED if election_type == "preferred" else ElectionType.UNCLEAN
    parts = [TopicPartition(t, p) for t, p in tps] if tps else None
    res = admin.elect_leaders(kind, parts).result(timeout=60)
    return {
        f"{tp.topic}-{tp.partition}": None if err is None else str(err.args[0].code())
        for tp, err in res.items()
    }


def reassign(bootstrap, specs):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    wanted = {}
    for spec in specs:
        tp, target = spec.split("=")
        topic, p = tp.rsplit(":", 1)
        replicas = None if target == "cancel" else [int(r) for r in target.split(",")]
        wanted[TopicPartition(topic, int(p))] = replicas
    res = admin.alter_partition_reassignments(wanted)
    admin.close()
    return {
        f"{tp.topic}-{tp.partition}": None if err is None else err.__name__ for tp, err in res.items()
    }


def list_reassignments(bootstrap):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    res = admin.list_partition_reassignments()
    admin.close()
    return {
        f"{tp.topic}-{tp.partition}": {
            "replicas": v["replicas"],
            "adding": v["adding_replicas"],
            "removing": v["removing_replicas"],
        }
        for tp, v in res.items()
    }


def produce(bootstrap, topic, count):
    import time

    from kafka import KafkaProducer

    p = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        retries=20,
        retry_backoff_ms=200,
        enable_idempotence=False,
    )
    futures = []
    for i in range(count):
        futures.append((i, p.send(topic, value=f"v{i}".encode())))
        time.sleep(0.0025)
    p.flush(60)
    acked = []
    for i, f in futures:
        try:
            f.get(timeout=60)
            acked.append(f"v{i}")
        except Exception as e:  # noqa: BLE001 - unacknowledged records may be lost
            if len(acked) == i:
                print(f"v{i} not acknowledged: {e!r}", file=sys.stderr)
    return acked


def consume(bootstrap, topic):
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    values = sorted({m.value.decode() for m in c})
    c.close()
    return values


def main():
    cmd = sys.argv[1]
    if cmd == "elect":
        lib, bootstrap, kind = sys.argv[2:5]
        tps = parse_tps(sys.argv[5:])
        fn = elect_kafka_python if lib == "kafka-python" else elect_confluent
        out = fn(bootstrap, kind, tps)
    elif cmd == "reassign":
        out = reassign(sys.argv[2], sys.argv[3:])
    elif cmd == "produce":
        out = produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "consume":
        out = consume(sys.argv[2], sys.argv[3])
    elif cmd == "list":
        out = list_reassignments(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
