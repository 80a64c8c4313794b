// The Java client's side of tests/transactions.rs's consume-transform-produce chaos: a
// read_committed consumer in a group (subscribe, so each transaction's offsets carry the
// group's generation and member id, KIP-447) copies "in-<i>" from SRC to "out-<i>" in the same
// partition of DST, one transaction per poll, with the offsets sent in the transaction, until
// the group's committed offsets reach SRC's end. Errors are handled as the Java client's
// documentation says: a fenced producer is replaced, anything else aborts; either way the
// consumer rewinds to the committed offsets. Every ABORT_EVERY-th transaction (0: none) is
// aborted on purpose. Prints {"commits":..,"aborts":..,"chosen_aborts":..,"restarts":..,
// "errors":[..]} as tests/python/txn_clients.py's `ctp` does.
//
// Built by the test with javac against KAFKA_CLIENTS_CLASSPATH (a kafka-clients jar and its
// dependencies); no Kafka code is kept in this repository.
//
// Usage: TransactionalCopy BOOTSTRAP SRC DST TXN_ID GROUP SECONDS BATCH ABORT_EVERY
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class TransactionalCopy {
    private final String bootstrap;
    private final String dst;
    private final String txnId;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<TopicPartition, Long> ends = new HashMap<>();
    /** The group's committed offsets as last read or committed. */
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private KafkaProducer<byte[], byte[]> producer;
    private int commits, aborts, chosenAborts, restarts, started;
    private int abortEvery;
    private final List<String> errors = new ArrayList<>();

    TransactionalCopy(String bootstrap, String src, String dst, String txnId, String group, int batch) {
        this.bootstrap = bootstrap;
        this.dst = dst;
        this.txnId = txnId;
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("group.id", group);
        c.put("isolation.level", "read_committed");
        c.put("enable.auto.commit", "false");
        c.put("auto.offset.reset", "earliest");
        c.put("max.poll.records", Integer.toString(batch));
        consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        Set<TopicPartition> parts = consumer.partitionsFor(src).stream()
                .map(p -> new TopicPartition(src, p.partition()))
                .collect(Collectors.toSet());
        ends.putAll(consumer.endOffsets(parts));
        parts.forEach(tp -> committed.put(tp, 0L));
        consumer.subscribe(List.of(src));
        producer = newProducer();
    }

    private KafkaProducer<byte[], byte[]> newProducer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("transactional.id", txnId);
        KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        producer.initTransactions(); // fences the previous producer and completes its transaction
        return producer;
    }

    private void note(String where, Exception e) {
        System.err.println("ctp " + where + ": " + e);
        if (errors.size() < 20) {
            errors.add(where + ": " + e);
        }
    }

    private boolean done() {
        return ends.entrySet().stream().allMatch(e -> committed.get(e.getKey()) >= e.getValue());
    }

    /** Positions back to the group's committed offsets (the last committed transaction). */
    private void rewind() {
        Set<TopicPartition> assigned = consumer.assignment();
        Map<TopicPartition, OffsetAndMetadata> offsets = consumer.committed(assigned);
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata o = offsets.get(tp);
            long at = o == null ? 0 : o.offset();
            consumer.seek(tp, at);
            committed.put(tp, at);
        }
    }

    private void transaction(ConsumerRecords<byte[], byte[]> records) {
        producer.beginTransaction();
        started++;
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            String i = new String(r.value(), StandardCharsets.UTF_8).split("-", 2)[1];
            producer.send(new ProducerRecord<>(dst, r.partition(), null, ("out-" + i).getBytes(StandardCharsets.UTF_8)));
            next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
        }
        producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
        if (chosenAbort()) {
            producer.abortTransaction();
            chosenAborts++;
            rewind();
            return;
        }
        producer.commitTransaction();
        commits++;
        next.forEach((tp, o) -> committed.put(tp, o.offset()));
    }

    private boolean chosenAbort() {
        return abortEvery > 0 && started % abortEvery == 0;
    }

    private void recover(KafkaException e) {
        if (e instanceof ProducerFencedException || e instanceof OutOfOrderSequenceException
                || e instanceof AuthorizationException) {
            restarts++;
            producer.close(Duration.ZERO);
            producer = newProducer();
        } else {
            aborts++;
            try {
                producer.abortTransaction();
            } catch (KafkaException again) {
                // E.g. a commit that timed out must be retried, not aborted: a new producer
                // settles the transaction either way, and the rewind reads which.
                note("abort", again);
                restarts++;
                producer.close(Duration.ZERO);
                producer = newProducer();
            }
        }
        rewind();
    }

    public static void main(String[] args) throws Exception {
        double seconds = Double.parseDouble(args[5]);
        int batch = Integer.parseInt(args[6]);
        TransactionalCopy loop = new TransactionalCopy(args[0], args[1], args[2], args[3], args[4], batch);
        loop.abortEvery = Integer.parseInt(args[7]);
        long total = loop.ends.values().stream().mapToLong(Long::longValue).sum();
        long pauseMs = (long) (seconds * 1000 / Math.max(1, total / batch));
        long deadline = System.currentTimeMillis() + (long) (seconds * 1000) + 240_000;
        while (!loop.done()) {
            if (System.currentTimeMillis() > deadline) {
                System.err.println("ctp: not done: " + loop.committed + " of " + loop.ends + ", " + loop.stats());
                System.exit(1);
            }
            ConsumerRecords<byte[], byte[]> records = loop.consumer.poll(Duration.ofSeconds(1));
            if (records.isEmpty()) {
                continue;
            }
            try {
                loop.transaction(records);
            } catch (KafkaException e) {
                loop.note("transaction", e);
                loop.recover(e);
            }
            Thread.sleep(pauseMs);
        }
        loop.producer.close();
        loop.consumer.close();
        System.out.println(loop.stats());
    }

    private String stats() {
        String errs = errors.stream()
                .map(e -> "\"" + e.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"")
                .collect(Collectors.joining(", "));
        return "{\"commits\": " + commits + ", \"aborts\": " + aborts + ", \"chosen_aborts\": " + chosenAborts
                + ", \"restarts\": " + restarts + ", \"errors\": [" + errs + "]}";
    }
}
