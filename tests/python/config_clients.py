#!/usr/bin/env python3
"""Config admin calls of confluent-kafka, kafka-python and aiokafka, driven by tests/configs.rs.

  config_clients.py alter CLIENT MODE BOOTSTRAP TYPE NAME CONFIGS_JSON [validate]
      CLIENT: confluent | kafka-python | aiokafka; MODE: legacy (AlterConfigs) |
      incremental (IncrementalAlterConfigs); TYPE: topic | broker (NAME "" = cluster default).
      CONFIGS_JSON: {"key": "value"} (SET), {"key": null} (DELETE), {"key": ["APPEND", "v"]}.
      Prints one JSON line: {"code": <Kafka error code>, "message": <text or null>}.
  config_clients.py describe BOOTSTRAP TYPE NAME
      confluent-kafka describe_configs (with synonyms): one JSON line
      {name: {"value", "source", "read_only", "sensitive", "synonyms": [[name, value, source]]}}.
"""
import asyncio
import json
import sys

TOPIC, BROKER = 2, 4


def res_type(t):
    return {"topic": TOPIC, "broker": BROKER}[t]


def confluent_alter(mode, bootstrap, rtype, name, configs, validate):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                       ConfigResource)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    kind = ConfigResource.Type.TOPIC if rtype == TOPIC else ConfigResource.Type.BROKER
    if mode == "legacy":
        res = ConfigResource(kind, name, set_config={k: v for k, v in configs.items()})
        futures = admin.alter_configs([res], validate_only=validate, request_timeout=30)
    else:
        entries = []
        for k, v in configs.items():
            if v is None:
                entries.append(ConfigEntry(k, None, incremental_operation=AlterConfigOpType.DELETE))
            elif isinstance(v, list):
                entries.append(ConfigEntry(k, v[1], incremental_operation=AlterConfigOpType[v[0]]))
            else:
                entries.append(ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET))
        res = ConfigResource(kind, name, incremental_configs=entries)
        futures = admin.incremental_alter_configs([res], validate_only=validate, request_timeout=30)
    try:
        for f in futures.values():
            f.result(timeout=60)
        return {"code": 0, "message": None}
    except KafkaException as e:
        err = e.args[0]
        return {"code": err.code(), "message": err.str()}


def kafka_python_alter(mode, bootstrap, rtype, name, configs, validate):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    ops = {}
    for k, v in configs.items():
        if v is None:
            ops[k] = ("DELETE", None)
        elif isinstance(v, list):
            ops[k] = (v[0], v[1])
        else:
            ops[k] = v
    kind = "TOPIC" if rtype == TOPIC else "BROKER"
    res = ConfigResource(kind, name, ops)
    try:
        out = admin.alter_configs([res], validate_only=validate, raise_on_unknown=False,
                                  incremental=(mode == "incremental"))
    except Exception as e:  # kafka-python raises for request-level failures
        return {"code": getattr(e, "errno", -1), "message": str(e)}
    finally:
        admin.close()
    result = list(list(out.values())[0].values())[0]
    code = getattr(result, "errno", 0) or 0
    return {"code": code, "message": None if code == 0 else str(result)}


def aiokafka_alter(mode, bootstrap, rtype, name, configs, validate):
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    if mode != "legacy":
        raise SystemExit("aiokafka has AlterConfigs only")

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            kind = ConfigResourceType.TOPIC if rtype == TOPIC else ConfigResourceType.BROKER
            responses = await admin.alter_configs([ConfigResource(kind, name, configs)])
            for resp in responses:
                for r in resp.resources:
                    code, message = r[0], r[1]
                    if code:
                        return {"code": code, "message": message}
            return {"code": 0, "message": None}
        finally:
            await admin.close()

    return asyncio.run(run())


def describe(bootstrap, rtype, name):
    from confluent_kafka.admin import AdminClient, ConfigResource
    admin = AdminClient({"bootstrap.servers": bootstrap})
    kind = ConfigResource.Type.TOPIC if rtype == TOPIC else ConfigResource.Type.BROKER
    fut = admin.describe_configs([ConfigResource(kind, name)], request_timeout=30)
    out = {}
    for f in fut.values():
        for entry in f.result(timeout=60).values():
            out[entry.name] = {
                "value": entry.value,
                "source": int(entry.source),
                "read_only": entry.is_read_only,
                "sensitive": entry.is_sensitive,
                "synonyms": [[s.name, s.value, int(s.source)] for s in entry.synonyms.values()],
            }
    return out


def main(argv):
    if argv[0] == "describe":
        print(json.dumps(describe(argv[1], res_type(argv[2]), argv[3])))
        return
    client, mode, bootstrap, rtype, name, configs = argv[1:7]
    validate = len(argv) > 7 and argv[7] == "validate"
    alter = {"confluent": confluent_alter, "kafka-python": kafka_python_alter,
             "aiokafka": aiokafka_alter}[client]
    result = alter(mode, bootstrap, res_type(rtype), name, json.loads(configs), validate)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
