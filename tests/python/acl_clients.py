#!/usr/bin/env python3
"""Clients against a broker with the AclAuthorizer on, driven by tests/acls.rs.

  acl_clients.py produce CLIENT BOOTSTRAP TOPIC N
      CLIENT: confluent | kafka-python. Sends N records; prints one JSON line
      {"code": <Kafka error code of the first failure, 0 if all acknowledged>}.
  acl_clients.py consume CLIENT BOOTSTRAP TOPIC GROUP N
      Subscribes with GROUP and reads up to N records (30 s at most); prints
      {"code": <error code, 0 if none>, "count": <records read>}.
  acl_clients.py create CLIENT BOOTSTRAP TOPIC
      Creates TOPIC (1 partition, RF 1) with the admin client; prints {"code": ...}.
  acl_clients.py describe-broker CLIENT BOOTSTRAP BROKER_ID
      A cluster-level admin request; prints {"code": ...}. confluent describes the broker's
      configs; kafka-python lists ACLs (its describe_configs hides per-resource errors).

With ACL_SASL_USER and ACL_SASL_PASSWORD set, every client logs in with SCRAM-SHA-512 over
SASL_PLAINTEXT (default settings otherwise).
"""
import json
import os
import sys
import time


def confluent_conf(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap}
    if os.environ.get("ACL_SASL_USER"):
        conf.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-512",
                     "sasl.username": os.environ["ACL_SASL_USER"],
                     "sasl.password": os.environ["ACL_SASL_PASSWORD"]})
    conf.update(extra)
    return conf


def kafka_python_conf(bootstrap, **extra):
    conf = {"bootstrap_servers": bootstrap}
    if os.environ.get("ACL_SASL_USER"):
        conf.update({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                     "sasl_plain_username": os.environ["ACL_SASL_USER"],
                     "sasl_plain_password": os.environ["ACL_SASL_PASSWORD"]})
    conf.update(extra)
    return conf


def confluent_produce(bootstrap, topic, n):
    from confluent_kafka import Producer
    codes = []
    p = Producer(confluent_conf(bootstrap, **{"message.timeout.ms": 20000}))
    for i in range(n):
        p.produce(topic, value=b"v%d" % i,
                  on_delivery=lambda err, msg: codes.append(err.code() if err else 0))
    p.flush(30)
    return next((c for c in codes if c != 0), 0 if len(codes) == n else -1)


def kafka_python_produce(bootstrap, topic, n):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    p = KafkaProducer(**kafka_python_conf(bootstrap, max_block_ms=20000, retries=0))
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
    c = Consumer(confluent_conf(bootstrap, **{"group.id": group, "auto.offset.reset": "earliest"}))
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
    c = KafkaConsumer(topic, **kafka_python_conf(bootstrap, group_id=group,
                                                 auto_offset_reset="earliest"))
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


def confluent_admin_code(futures):
    from confluent_kafka import KafkaException
    try:
        for f in futures.values():
            f.result(30)
        return 0
    except KafkaException as e:
        return e.args[0].code()


def confluent_create(bootstrap, topic):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient(confluent_conf(bootstrap))
    return confluent_admin_code(a.create_topics([NewTopic(topic, 1, 1)]))


def kafka_python_create(bootstrap, topic):
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError
    a = KafkaAdminClient(**kafka_python_conf(bootstrap))
    try:
        r = a.create_topics([NewTopic(topic, 1, 1)])
        return next((t["error_code"] for t in r["topics"] if t["error_code"]), 0)
    except KafkaError as e:
        return getattr(e, "errno", -1)
    finally:
        a.close()


def confluent_describe_broker(bootstrap, broker):
    from confluent_kafka.admin import AdminClient, ConfigResource
    a = AdminClient(confluent_conf(bootstrap))
    return confluent_admin_code(a.describe_configs([ConfigResource("broker", broker)]))


def kafka_python_describe_acls(bootstrap, _broker):
    # kafka-python's describe_configs drops per-resource errors; DescribeAcls (DESCRIBE on
    # the cluster) raises the refusal instead.
    from kafka.admin import (KafkaAdminClient, ACLFilter, ACLOperation, ACLPermissionType,
                             ACLResourcePatternType, ResourcePatternFilter, ResourceType)
    from kafka.errors import KafkaError
    a = KafkaAdminClient(**kafka_python_conf(bootstrap))
    try:
        a.describe_acls(ACLFilter(
            principal=None, host="*", operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                   ACLResourcePatternType.ANY)))
        return 0
    except KafkaError as e:
        return getattr(e, "errno", -1)
    finally:
        a.close()


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
    elif cmd in ("create", "describe-broker"):
        f = {("create", "confluent"): confluent_create,
             ("create", "kafka-python"): kafka_python_create,
             ("describe-broker", "confluent"): confluent_describe_broker,
             ("describe-broker", "kafka-python"): kafka_python_describe_acls}[(cmd, client)]
        print(json.dumps({"code": f(sys.argv[3], sys.argv[4])}))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
