#!/usr/bin/env python3
"""Log operations through the admin APIs of real clients, driven by tests/log_ops.rs.

  logops_clients.py delete-records CLIENT BOOTSTRAP TOPIC PARTITION OFFSET
      CLIENT is confluent, kafka-python or aiokafka. Deletes the records of TOPIC-PARTITION
      before OFFSET and prints one JSON line: {"low_watermark": N} or {"error": "<name>"}.
  logops_clients.py describe-log-dirs BOOTSTRAP
      kafka-python's describe_log_dirs on every broker; prints one JSON line per log dir:
      {"broker", "dir", "error", "partitions": [{"topic", "partition", "size", "lag", "future"}]}.
  logops_clients.py describe-cluster BOOTSTRAP
      confluent-kafka's describe_cluster: {"cluster_id", "controller", "brokers": [ids]}.
  logops_clients.py alter-log-dir BOOTSTRAP TOPIC PARTITION BROKER DIR
      kafka-python's alter_replica_log_dirs for one replica: {"error": "<error class name>"}
      ("NoError" when the move started).
"""
import asyncio
import json
import sys


def print_json(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def delete_confluent(bootstrap, topic, partition, offset):
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_records([TopicPartition(topic, partition, offset)],
                                   operation_timeout=30, request_timeout=60)
    try:
        for _, f in futures.items():
            return {"low_watermark": f.result().low_watermark}
    except KafkaException as e:
        return {"error": e.args[0].name()}


def delete_kafka_python(bootstrap, topic, partition, offset):
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        result = admin.delete_records({TopicPartition(topic, partition): offset},
                                      timeout_ms=30000)
        (meta,) = result.values()
        return {"low_watermark": meta["low_watermark"]}
    except Exception as e:  # kafka.errors.* carry Kafka's name in the class
        return {"error": type(e).__name__}
    finally:
        admin.close()


def delete_aiokafka(bootstrap, topic, partition, offset):
    from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
    from aiokafka.structs import TopicPartition

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            result = await admin.delete_records(
                {TopicPartition(topic, partition): RecordsToDelete(before_offset=offset)},
                timeout_ms=30000)
            (low,) = result.values()
            return {"low_watermark": low}
        except Exception as e:
            return {"error": type(e).__name__}
        finally:
            await admin.close()

    return asyncio.run(run())


def describe_log_dirs(bootstrap):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        for resp in sorted(admin.describe_log_dirs(), key=lambda r: r["broker"]):
            for r in resp["log_dirs"]:
                parts = [{"topic": t["name"], "partition": p["partition_index"],
                          "size": p["partition_size"], "lag": p["offset_lag"],
                          "future": p["is_future_key"]}
                         for t in r["topics"] for p in t["partitions"]]
                print_json({"broker": resp["broker"], "dir": r["log_dir"],
                            "error": r["error_code"], "partitions": parts})
    finally:
        admin.close()


def describe_cluster(bootstrap):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    desc = admin.describe_cluster(request_timeout=30).result()
    print_json({"cluster_id": desc.cluster_id,
                "controller": desc.controller.id if desc.controller else -1,
                "brokers": sorted(n.id for n in desc.nodes)})


def alter_log_dir(bootstrap, topic, partition, broker, log_dir):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        res = admin.alter_replica_log_dirs({(topic, partition, broker): log_dir})
        for _, err in res.items():
            return {"error": err.__name__}
        return {"error": "no result"}
    finally:
        admin.close()


DELETE = {"confluent": delete_confluent, "kafka-python": delete_kafka_python,
          "aiokafka": delete_aiokafka}

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "delete-records":
        client, bootstrap, topic = sys.argv[2], sys.argv[3], sys.argv[4]
        print_json(DELETE[client](bootstrap, topic, int(sys.argv[5]), int(sys.argv[6])))
    elif cmd == "describe-log-dirs":
        describe_log_dirs(sys.argv[2])
    elif cmd == "describe-cluster":
        describe_cluster(sys.argv[2])
    elif cmd == "alter-log-dir":
        print_json(alter_log_dir(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                                 sys.argv[6]))
    else:
        sys.exit(f"unknown command {cmd}")
