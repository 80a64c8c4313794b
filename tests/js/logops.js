// kafkajs admin log operations, driven by tests/log_ops.rs.
//
//   node logops.js delete-records BOOTSTRAP TOPIC PARTITION OFFSET
//       admin.deleteTopicRecords; prints {"ok": true} or {"error": "<kafkajs error type>"}.
const { Kafka, logLevel } = require('kafkajs');

async function deleteRecords(bootstrap, topic, partition, offset) {
  const kafka = new Kafka({ clientId: 'logops-test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // deleteTopicRecords routes by the leaders in the admin's metadata: load it first.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition, offset: String(offset) }] });
    return { ok: true };
  } catch (e) {
    return { error: e.type || e.name };
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd !== 'delete-records') throw new Error(`unknown command ${cmd}`);
  const out = await deleteRecords(args[0], args[1], Number(args[2]), Number(args[3]));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
