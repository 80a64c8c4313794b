# shellcheck shell=bash
# Sourced by scripts/bench.sh (not run on its own): the security rows (issue 17). The same
# saturating produce and consume runs as the PLAINTEXT rows, on clusters whose only listener
# is SSL (and SASL_SSL with PLAIN), brokers replicating over it too, so each row sits next to
# its PLAINTEXT twin: throughput and broker CPU per GB. The CA and broker certificate are
# made at run time with `openssl req` in $BENCH_DIR (thrown away with it).

SECURITY=PLAINTEXT     # the listener of the clusters start_cluster starts
declare -a CLIENT_PROPS=() # client properties every perf tool run gets
CLIENT_CONFIG=""           # the same as a properties file (perf consumer --consumer.config)
BENCH_PKI=""

# make_bench_pki: a throwaway CA and a broker certificate for 127.0.0.1/localhost (brokers and
# librdkafka verify host names), key and chain in one PEM file as the brokers' keystore.
make_bench_pki() {
  [[ -n "$BENCH_PKI" ]] && return 0
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  BENCH_PKI="$BENCH_DIR/pki"
  mkdir -p "$BENCH_PKI"
  (
    cd "$BENCH_PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=zkafka bench CA" \
      -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
      -extfile san.ext -out broker.crt
    cat broker.key broker.crt >broker.pem
  ) >"$BENCH_DIR/pki.out" 2>&1 || die "openssl could not make the bench certificates ($BENCH_DIR/pki.out)"
}

# listener_props PORT: the server.properties lines of the $SECURITY listener on PORT.
listener_props() {
  local l="$SECURITY://127.0.0.1:$1"
  printf 'listeners=%s\nadvertised.listeners=%s\n' "$l" "$l"
  [[ "$SECURITY" == PLAINTEXT ]] && return 0
  printf '%s\n' "security.inter.broker.protocol=$SECURITY" ssl.keystore.type=PEM \
    "ssl.keystore.location=$BENCH_PKI/broker.pem" ssl.truststore.type=PEM \
    "ssl.truststore.location=$BENCH_PKI/ca.pem"
  [[ "$SECURITY" == SASL_SSL ]] || return 0
  printf '%s\n' sasl.enabled.mechanisms=PLAIN sasl.mechanism.inter.broker.protocol=PLAIN \
    'listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_bench="bench-secret";'
}

# use_security PROTOCOL: the next clusters listen with PROTOCOL, the perf tools speak it.
use_security() {
  SECURITY="$1"
  CLIENT_PROPS=()
  CLIENT_CONFIG=""
  [[ "$SECURITY" == PLAINTEXT ]] && return 0
  make_bench_pki
  # Java client property names, as the stock tools take them (zkafka's perf tools translate).
  CLIENT_PROPS=("security.protocol=$SECURITY" ssl.truststore.type=PEM "ssl.truststore.location=$BENCH_PKI/ca.pem")
  [[ "$SECURITY" == SASL_SSL ]] &&
    CLIENT_PROPS+=(sasl.mechanism=PLAIN 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bench" password="bench-secret";')
  CLIENT_CONFIG="$BENCH_DIR/client-$SECURITY.properties"
  printf '%s\n' "${CLIENT_PROPS[@]}" >"$CLIENT_CONFIG"
}

# security_matrix BIG: the rows, named as their PLAINTEXT twins plus ", <protocol>".
security_matrix() {
  local big="$1"
  cat <<EOF
SSL|1|produce|1 broker RF=1 acks=1 saturating 100 B, SSL|p1 $RECORDS 100 -1 1
SSL|1|consume|1 broker consumer 100 B, SSL|p1 $CONSUME_N
SSL|1|produce|1 broker RF=1 acks=1 saturating 1 KiB, SSL|p1k $big 1024 -1 1
SSL|3|produce|3 brokers RF=3 acks=all saturating 100 B, SSL|p3 $((RECORDS / 2)) 100 -1 all
SSL|3|consume|3 brokers consumer 100 B, SSL|p3 $CONSUME_N
SSL|3|produce|3 brokers RF=3 acks=all saturating 1 KiB, SSL|p3k $((big / 2)) 1024 -1 all
SASL_SSL|1|produce|1 broker RF=1 acks=1 saturating 100 B, SASL_SSL (PLAIN)|p1 $RECORDS 100 -1 1
SASL_SSL|1|consume|1 broker consumer 100 B, SASL_SSL (PLAIN)|p1 $CONSUME_N
EOF
}

# run_security_matrix BIG: per protocol and cluster size with a wanted row, a fresh cluster
# (zkafka only: Kafka 2.8 would need JKS or encrypted PEM keystores).
run_security_matrix() {
  local big="$1" proto n rows
  [[ "$TARGET" == zkafka ]] || return 0
  for proto in SSL SASL_SSL; do
    for n in 1 3; do
      rows="$(security_matrix "$big" | awk -F'|' -v p="$proto" -v n="$n" '$1 == p && $2 == n { print $3 "|" $4 "|" $5 }')"
      if [[ -z "$rows" ]] || ! any_wanted <<<"$rows"; then continue; fi
      use_security "$proto"
      start_cluster "$n" "$(tr '[:upper:]' '[:lower:]' <<<"$proto")$n"
      settle_and_sample_idle
      if ((n == 1)); then
        create_topic p1 6 1
        create_topic p1k 6 1
      else
        create_topic p3 6 3 min.insync.replicas=2
        create_topic p3k 6 3 min.insync.replicas=2
      fi
      run_scenarios 3<<<"$rows"
      stop_cluster
    done
  done
  use_security PLAINTEXT
}

# print_security_table: each security row next to its PLAINTEXT twin (rec/s, CPU-s/GB).
print_security_table() {
  grep -qE $'^zkafka\t[^\t]*, (SSL|SASL_SSL)' "$RESULTS" || return 0
  echo
  echo "== zkafka: security next to PLAINTEXT (rec/s; all brokers' CPU-s per GB of payload) =="
  printf '| %-52s | %9s | %9s | %5s | %8s | %8s |\n' scenario PLAINTEXT secured ratio "CPU PT" "CPU sec"
  printf '|%s|\n' "------------------------------------------------------|-----------|-----------|-------|----------|---------"
  awk -F'\t' '$1 == "zkafka" { rec[$2] = $3; cpu[$2] = $8; order[++n] = $2 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        if (s !~ /, (SSL|SASL_SSL)/) continue
        t = s; sub(/, (SSL|SASL_SSL).*$/, "", t)
        r = (rec[t] + 0 > 0) ? sprintf("%.2f", rec[s] / rec[t]) : "-"
        printf "| %-52s | %9s | %9s | %5s | %8s | %8s |\n", s, (t in rec) ? rec[t] : "-", rec[s], r, (t in cpu) ? cpu[t] : "-", cpu[s]
      }
    }' "$RESULTS"
}
