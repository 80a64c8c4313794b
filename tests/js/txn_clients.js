#!/usr/bin/env node
// kafkajs transactions driven by tests/transactions.rs.
//
//   node txn_clients.js txn BOOTSTRAP TOPIC TXN_ID GROUP COUNT
//     A transactional producer (idempotent, maxInFlightRequests 1) runs three transactions
//     of COUNT records each on TOPIC: "commit-1-<i>" committed, "abort-<i>" aborted and
//     "commit-2-<i>" committed with sendOffsets(GROUP: TOPIC partition 0 -> offset 42).
//     Prints {"done": true}.
const { Kafka, logLevel } = require('kafkajs');

async function txn(bootstrap, topic, txnId, group, count) {
  const kafka = new Kafka({ clientId: 'zkafka-txn-test', brokers: [bootstrap], logLevel: logLevel.WARN });
  const producer = kafka.producer({ transactionalId: txnId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (const [name, commit, offsets] of [['commit-1', true, false], ['abort', false, false], ['commit-2', true, true]]) {
    const t = await producer.transaction();
    const messages = [];
    for (let i = 0; i < count; i++) messages.push({ key: `k-${i}`, value: `${name}-${i}` });
    await t.send({ topic, messages });
    if (offsets) {
      await t.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: '42' }] }] });
    }
    if (commit) await t.commit(); else await t.abort();
  }
  await producer.disconnect();
  console.log(JSON.stringify({ done: true }));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'txn') {
  txn(args[0], args[1], args[2], args[3], Number(args[4])).catch((e) => { console.error(e); process.exit(1); });
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
