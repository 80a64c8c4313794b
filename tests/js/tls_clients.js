// kafkajs over an SSL listener, driven by tests/tls.rs:
//   node tls_clients.js BOOTSTRAP CAFILE TOPIC COUNT
// Produces COUNT records ("kafkajs-<i>", acks=all), reads the topic from the beginning until
// COUNT arrived (60 s limit) and prints {"acked": n, "values": [...]}. Only the CA differs
// from kafkajs' defaults.
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [bootstrap, cafile, topic, countText] = process.argv.slice(2)
  const count = Number(countText)
  const kafka = new Kafka({
    clientId: 'tls-clients',
    brokers: bootstrap.split(','),
    ssl: { ca: [fs.readFileSync(cafile, 'utf-8')] },
    logLevel: logLevel.NOTHING
  })
  const producer = kafka.producer()
  await producer.connect()
  const messages = Array.from({ length: count }, (_, i) => ({ value: `kafkajs-${i}` }))
  const acks = await producer.send({ topic, acks: -1, messages })
  await producer.disconnect()
  const acked = acks.filter(a => a.errorCode === 0).length ? count : 0
  const consumer = kafka.consumer({ groupId: 'tls-kafkajs' })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const values = []
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 60000)
    consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value.toString())
        if (values.length >= count) { clearTimeout(timer); resolve() }
      }
    })
  })
  await consumer.disconnect()
  console.log(JSON.stringify({ acked, values }))
}

main().catch(e => { console.error(e); process.exit(1) })
