// The Java producer's side of tests/idempotence.rs's chaos rounds: the Kafka Java client with
// its default settings (from 3.0 on: enable.idempotence=true, acks=all, 5 requests in flight)
// streams "v-<i>" to partition 0 for SECONDS, then prints which i were acknowledged and which
// failed, as tests/python/idempotence_clients.py's `stream` does:
//   {"acked": [0, 1, ...], "failed": [[i, "error"], ...]}
//
// Built by the test with javac against KAFKA_CLIENTS_CLASSPATH (a kafka-clients jar and its
// dependencies); no Kafka code is kept in this repository.
//
// Usage: IdempotentStream BOOTSTRAP TOPIC SECONDS
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class IdempotentStream {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        // Kafka 2.x clients default to no idempotence: say what 3.x assumes.
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        String topic = args[1];
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos((long) (Double.parseDouble(args[2]) * 1000));
        List<Long> acked = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; System.nanoTime() < end; i++) {
                final long n = i;
                byte[] value = ("v-" + n).getBytes(StandardCharsets.UTF_8);
                producer.send(new ProducerRecord<>(topic, 0, null, value), (meta, err) -> {
                    synchronized (acked) {
                        if (err == null) {
                            acked.add(n);
                        } else {
                            // A delivery timeout is "timed out" as in librdkafka's report.
                            String why = (err instanceof TimeoutException ? "timed out: " : "") + err;
                            failed.add("[" + n + ", \"" + quote(why) + "\"]");
                        }
                    }
                });
                if (n % 50 == 49) {
                    Thread.sleep(10); // a steady stream, not a queue filling up in seconds
                }
            }
            producer.flush();
        }
        synchronized (acked) {
            StringBuilder out = new StringBuilder("{\"acked\": [");
            for (int k = 0; k < acked.size(); k++) {
                out.append(k == 0 ? "" : ", ").append(acked.get(k));
            }
            out.append("], \"failed\": [").append(String.join(", ", failed)).append("]}");
            System.out.println(out);
        }
    }

    private static String quote(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }
}
