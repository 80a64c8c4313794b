// kafkajs with `idempotent: true`, driven by tests/idempotence.rs:
//   node idempotent_producer.js BOOTSTRAP TOPIC COUNT
// produces COUNT records with values "v-<i>" to partition 0 and prints {"acked": n}.
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [bootstrap, topic, count] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'zkafka-idempotence-test', brokers: bootstrap.split(','), logLevel: logLevel.WARN })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const n = Number(count)
  for (let i = 0; i < n; i += 100) {
    const messages = []
    for (let j = i; j < Math.min(n, i + 100); j++) messages.push({ value: `v-${j}`, partition: 0 })
    await producer.send({ topic, acks: -1, messages })
  }
  await producer.disconnect()
  console.log(JSON.stringify({ acked: n }))
}

main().catch((e) => { console.error(e); process.exit(1) })
