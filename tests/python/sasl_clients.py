#!/usr/bin/env python3
"""SASL logins of confluent-kafka and kafka-python, driven by tests/sasl.rs.

  sasl_clients.py roundtrip CLIENT BOOTSTRAP MECHANISM USER PASSWORD TOPIC N [CAFILE]
      CLIENT: confluent | kafka-python. Produces N records (acks=all) over SASL_PLAINTEXT,
      or SASL_SSL trusting CAFILE when given, then consumes the topic from the start. Prints one JSON line:
      {"produced": N, "consumed": [values]} or, when the login is refused,
      {"error": "<client's error text>", "code": <Kafka error code or null>}.

  sasl_clients.py long-run BOOTSTRAP MECHANISM USER PASSWORD TOPIC SECONDS
      confluent-kafka producer (acks=all) and consumer on one topic for SECONDS, one record
      every 0.2 s, each keeping its connections (KIP-368 re-authentication when the broker
      sets a session lifetime). Prints {"produced": n, "consumed": n, "errors": [...]}.

  sasl_clients.py describe-scram BOOTSTRAP MECHANISM USER PASSWORD NAME
      kafka-python's KafkaAdminClient.describe_user_scram_credentials([NAME]) as USER. Prints
      {"credentials": {mechanism: iterations}} or {"error": "...", "code": <code>}.
"""
import json
import logging
import sys
import uuid


def confluent(bootstrap, mech, user, password, topic, n, cafile):
    from confluent_kafka import Consumer, KafkaException, Producer
    errors = []
    common = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": mech, "sasl.username": user, "sasl.password": password,
              "error_cb": lambda e: errors.append(e)}
    if cafile:
        common.update({"security.protocol": "SASL_SSL", "ssl.ca.location": cafile})
    p = Producer(dict(common, acks="all", **{"message.timeout.ms": 15000}))
    delivered = []
    for i in range(n):
        p.produce(topic, f"v{i}".encode(), on_delivery=lambda e, m: delivered.append(e))
    p.flush(20)
    auth = [e for e in errors if e.code() == -169]  # _AUTHENTICATION
    if auth or not delivered or any(delivered):
        e = auth[0] if auth else (errors[0] if errors else None)
        return {"error": str(e) if e else str(delivered[:1]), "code": 58 if auth else None}
    c = Consumer(dict(common, **{"group.id": "g-" + uuid.uuid4().hex,
                                 "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    values = []
    for _ in range(60):
        for m in c.consume(100, 0.5):
            if m.error():
                raise KafkaException(m.error())
            values.append(m.value().decode())
        if len(values) >= n:
            break
    c.close()
    return {"produced": len(delivered), "consumed": values}


def kafka_python(bootstrap, mech, user, password, topic, n, cafile):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.errors import KafkaError
    logged = []

    class Collect(logging.Handler):
        def emit(self, record):
            logged.append(record.getMessage())
    logging.getLogger("kafka").addHandler(Collect(level=logging.WARNING))
    common = {"bootstrap_servers": bootstrap, "security_protocol": "SASL_PLAINTEXT",
              "sasl_mechanism": mech, "sasl_plain_username": user,
              "sasl_plain_password": password}
    if cafile:
        common.update(security_protocol="SASL_SSL", ssl_cafile=cafile)
    try:
        p = KafkaProducer(acks="all", max_block_ms=15000, **common)
        futures = [p.send(topic, f"v{i}".encode()) for i in range(n)]
        for f in futures:
            f.get(timeout=20)
        p.close()
    except KafkaError as e:
        # kafka-python 3 logs the broker's SaslAuthenticationFailedError and then times out
        # bootstrapping: report the logged refusal, which is what the user sees.
        refused = [m for m in logged
                   if "SaslAuthenticationFailed" in m or "Authentication failed" in m]
        if refused:
            return {"error": refused[0], "code": 58}
        return {"error": f"{type(e).__name__}: {e}", "code": getattr(e, "errno", None),
                "logged": logged[:5]}
    c = KafkaConsumer(topic, group_id="g-" + uuid.uuid4().hex, auto_offset_reset="earliest",
                      consumer_timeout_ms=10000, **common)
    values = []
    for m in c:
        values.append(m.value.decode())
        if len(values) >= n:
            break
    c.close()
    return {"produced": n, "consumed": values}


def long_run(bootstrap, mech, user, password, topic, seconds):
    import time
    from confluent_kafka import Consumer, Producer
    errors = []
    common = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanism": mech, "sasl.username": user, "sasl.password": password,
              "error_cb": lambda e: errors.append(str(e))}
    p = Producer(dict(common, acks="all"))
    c = Consumer(dict(common, **{"group.id": "g-" + uuid.uuid4().hex,
                                 "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    produced, consumed, failed = 0, set(), []
    end = time.time() + float(seconds)
    while time.time() < end:
        p.produce(topic, f"r{produced}".encode(),
                  on_delivery=lambda e, m: e and failed.append(str(e)))
        produced += 1
        p.poll(0)
        for m in c.consume(100, 0.2):
            if m.error():
                errors.append(str(m.error()))
            else:
                consumed.add(m.value().decode())
    p.flush(20)
    for _ in range(40):
        if len(consumed) >= produced:
            break
        for m in c.consume(100, 0.5):
            if not m.error():
                consumed.add(m.value().decode())
    c.close()
    return {"produced": produced, "consumed": len(consumed), "errors": errors + failed}


def describe_scram(bootstrap, mech, user, password, name):
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism=mech, sasl_plain_username=user,
                             sasl_plain_password=password)
    try:
        users = admin.describe_user_scram_credentials([name])
    except KafkaError as e:
        return {"error": f"{type(e).__name__}: {e}", "code": getattr(e, "errno", None)}
    finally:
        admin.close()
    return {"credentials": {str(i["mechanism"]): i["iterations"]
                            for i in users[name]["credential_infos"]},
            "error": users[name]["error"]}


def main():
    if sys.argv[1] == "long-run":
        print(json.dumps(long_run(*sys.argv[2:8])))
        return
    if sys.argv[1] == "describe-scram":
        print(json.dumps(describe_scram(*sys.argv[2:7])))
        return
    cmd, client, bootstrap, mech, user, password, topic, n = sys.argv[1:9]
    cafile = sys.argv[9] if len(sys.argv) > 9 else None
    assert cmd == "roundtrip", cmd
    run = {"confluent": confluent, "kafka-python": kafka_python}[client]
    print(json.dumps(run(bootstrap, mech, user, password, topic, int(n), cafile)))


if __name__ == "__main__":
    main()
