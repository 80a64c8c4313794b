// kafkajs admin alterConfigs (AlterConfigs), driven by tests/configs.rs:
//   node config_clients.js BOOTSTRAP TYPE NAME CONFIGS_JSON
// TYPE topic | broker; CONFIGS_JSON {"key": "value"}. Prints {"code": <Kafka error code>,
// "message": <text or null>} (kafkajs error types mapped back to their codes).
const { Kafka, ConfigResourceTypes, logLevel } = require('kafkajs')

const CODES = { INVALID_CONFIG: 40, INVALID_REQUEST: 42, UNKNOWN_TOPIC_OR_PARTITION: 3 }

async function main () {
  const [bootstrap, type, name, configsJson] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'config-clients', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const configEntries = Object.entries(JSON.parse(configsJson)).map(([name, value]) => ({ name, value }))
  const resourceType = type === 'topic' ? ConfigResourceTypes.TOPIC : ConfigResourceTypes.BROKER
  let out = { code: 0, message: null }
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: resourceType, name, configEntries }] })
  } catch (e) {
    out = { code: CODES[e.type] ?? -1, message: e.message }
  }
  await admin.disconnect()
  console.log(JSON.stringify(out))
}

main().catch(e => { console.error(e); process.exit(1) })
