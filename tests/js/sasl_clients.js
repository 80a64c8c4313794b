// SASL logins of kafkajs, driven by tests/sasl.rs:
//   node sasl_clients.js BOOTSTRAP MECHANISM USER PASSWORD TOPIC N [CAFILE]
// With CAFILE the connection is SASL_SSL (TLS trusting that CA), else SASL_PLAINTEXT.
// MECHANISM: plain | scram-sha-256 | scram-sha-512. Produces N records (acks=all) and consumes
// them back; prints {"produced": N, "consumed": [values]} or {"error": text, "type": kafkajs type}.
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, mechanism, username, password, topic, nText, cafile] = process.argv.slice(2);
  const n = Number(nText);
  const kafka = new Kafka({
    clientId: 'sasl-test', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING,
    sasl: { mechanism, username, password }, retry: { retries: 2 },
    ssl: cafile ? { ca: [fs.readFileSync(cafile, 'utf-8')] } : false,
  });
  const producer = kafka.producer();
  try {
    await producer.connect();
  } catch (e) {
    console.log(JSON.stringify({ error: `${e.name}: ${e.message}`, type: e.type || null }));
    return;
  }
  const messages = Array.from({ length: n }, (_, i) => ({ value: `v${i}` }));
  await producer.send({ topic, acks: -1, messages });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `g-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const consumed = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        consumed.push(message.value.toString());
        if (consumed.length >= n) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ produced: n, consumed }));
}

main().catch((e) => { console.error(e); process.exit(1); });
