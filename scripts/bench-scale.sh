# shellcheck shell=bash
# Sourced by scripts/bench.sh (not run on its own): the scale scenario (BENCH_ONLY=scale).
# BENCH_SCALE_PARTITIONS partitions RF=2 on 3 brokers: create -> all led, RSS and open files,
# idle CPU, kill -9 of a broker, restart -> back in every ISR, SIGTERM, kill -9 of the
# controller; every time read from the state znodes' own mtimes. It uses bench.sh's cluster
# helpers (start_cluster, launch_broker, stop_cluster, wait_until, ...) and its $RESULTS file.

# states TOPIC: `zkafka perf partition-states` (topic ctime, controller, one line per partition:
# partition leader epoch isr version mtime), read straight from ZooKeeper.
# Retried: a loaded machine's ZooKeeper may time a session out; only a complete dump is printed.
states() {
  local out try
  for try in 1 2 3 4 5; do
    if out="$("$PERF_BIN" perf partition-states --zookeeper "127.0.0.1:$ZK_PORT$CHROOT" --topic "$1" 2>/dev/null)"; then
      printf '%s\n' "$out"
      return 0
    fi
    sleep "$try"
  done
  return 1
}
# Partition lines of a states dump on stdin.
state_lines() { awk -F'\t' '$1 ~ /^[0-9]+$/'; }

# The scale scenario's topics: "scale", or scale-0 .. scale-<T-1> with BENCH_SCALE_TOPICS=T
# (one topic's assignment znode outgrows jute.maxbuffer near 100,000 partitions).
scale_topics() {
  local i
  if ((SCALE_TOPICS == 1)); then echo scale; else for ((i = 0; i < SCALE_TOPICS; i++)); do echo "scale-$i"; done; fi
}
# scale_states: `states` of every scale topic as one dump: the first topic's ctime and
# controller lines, partition k of topic i numbered i * (N / T) + k.
scale_states() {
  local t i=0 per=$((SCALE_N / SCALE_TOPICS)) out all=""
  for t in $(scale_topics); do
    out="$(states "$t")" || return 1
    ((i == 0)) && all="$(awk -F'\t' '$1 == "topic" || $1 == "controller"' <<<"$out")"$'\n'
    all+="$(state_lines <<<"$out" | awk -F'\t' -v OFS='\t' -v o=$((i * per)) '{ $1 += o; print }')"$'\n'
    i=$((i + 1))
  done
  printf '%s' "$all"
}
# scale_hosted BROKER: the (renumbered) partitions whose replicas include BROKER.
scale_hosted() {
  local t i=0 per=$((SCALE_N / SCALE_TOPICS))
  for t in $(scale_topics); do
    topics --describe --topic "$t" 2>/dev/null | awk -v b="$1" -v o=$((i * per)) '/Partition: / {
      for (i = 1; i <= NF; i++) if ($i == "Replicas:") { split($(i + 1), r, ","); for (j in r) if (r[j] == b) print $4 + o } }'
    i=$((i + 1))
  done
}
scale_all_led() { # N: N partitions, each with a leader
  local out
  out="$(scale_states)" || return 1
  [[ "$(state_lines <<<"$out" | awk -F'\t' '$2 >= 0 && $2 != "none"' | wc -l)" -eq "$1" ]]
}
scale_not_led_by() { # BROKER: nobody lacks a leader and BROKER leads nothing
  local out
  out="$(scale_states)" || return 1
  [[ "$(state_lines <<<"$out" | awk -F'\t' -v b="$1" '$2 == b || $2 == -1 || $2 == "none"' | wc -l)" -eq 0 ]]
}
# scale_isr_complete DUMP BROKER: every partition whose replicas include BROKER (from the
# topic's assignment, saved in $SCALE_HOSTED) lists it in the ISR.
scale_isr_complete() {
  local missing
  missing="$(state_lines <<<"$1" | awk -F'\t' -v b="$2" 'NR == FNR { hosted[$1] = 1; next }
    ($1 in hosted) { split($4, isr, ","); ok = 0; for (i in isr) if (isr[i] == b) ok = 1; if (!ok) n++ }
    END { print n + 0 }' "$SCALE_HOSTED" -)"
  [[ "$missing" -eq 0 ]]
}
leaders_of() { state_lines | awk -F'\t' -v b="$1" '$2 == b' | wc -l; }
# max_mtime_of PARTITIONS_FILE: the latest state mtime among the listed partitions (stdin: dump).
max_mtime_of() { state_lines | awk -F'\t' 'NR == FNR { want[$1] = 1; next } ($1 in want) && $6 > m { m = $6 } END { printf "%.0f\n", m }' "$1" -; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# wait_gone PATH: polls (every 20 ms) until the ephemeral PATH is gone; prints when the last
# poll that still saw it began. It vanished after that, so the "after its znode vanished"
# figures are upper bounds by at most one poll, never below the truth (the time of the poll
# that saw it gone made one election look 23 ms early).
wait_gone() {
  local deadline=$((SECONDS + 120)) t seen=""
  while :; do
    t="$(now_ms)"
    zk_ephemeral_exists "$1" || break
    seen="$t"
    ((SECONDS < deadline)) || die "$1 still exists after 120 s"
    sleep 0.02
  done
  echo "${seen:-$t}"
}
scale_record() { printf '%s\tSCALE\t%s\t%s\n' "$TARGET" "$SCALE_N" "$1" >>"$RESULTS"; info "$TARGET: scale $SCALE_N: $1"; }

# scale: SCALE_N partitions RF=2 on 3 brokers (each under a $SCALE_NOFILE-file limit). Times
# are ZooKeeper's own: the state znodes' mtimes against the topic's ctime, the instant its
# /brokers/ids znode vanished (polled every 20 ms) or the signal.
SCALE_N="${BENCH_SCALE_PARTITIONS:-2000}"
SCALE_NOFILE="${BENCH_SCALE_NOFILE:-20000}"
SCALE_TOPICS="${BENCH_SCALE_TOPICS:-1}"
SCALE_HOSTED=""
SCALE_OUT="" SCALE_GONE_MS="" SCALE_RE_LED_MS=""

# scale_kill9_until_re_led ID STATES WHAT: kill -9 of broker ID, then waits until none of the
# partitions STATES shows it leading is led by it. Sets SCALE_GONE_MS (when its
# /brokers/ids znode vanished), SCALE_OUT (the states then) and SCALE_RE_LED_MS (the newest
# state znode mtime among those partitions).
scale_kill9_until_re_led() {
  local id="$1" pid="${BROKER_PIDS[$(($1 - 1))]}"
  state_lines <<<"$2" | awk -F'\t' -v b="$id" '$2 == b { print $1 }' >"$SCALE_HOSTED.led"
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  SCALE_GONE_MS="$(wait_gone "$CHROOT/brokers/ids/$id")"
  wait_until 1200 "$3 re-led" scale_not_led_by "$id"
  SCALE_OUT="$(scale_states)"
  SCALE_RE_LED_MS="$(max_mtime_of "$SCALE_HOSTED.led" <<<"$SCALE_OUT")"
}
scale() {
  local n="$SCALE_N" t=scale out controller victim id led pid t0 t1 still b most m
  wanted "scale" || return 0
  BROKER_NOFILE="$SCALE_NOFILE" start_cluster 3 "scale$n"
  BROKER_NOFILE="$SCALE_NOFILE"
  SCALE_HOSTED="$BENCH_DIR/$TARGET-scale$n.hosted"
  for t in $(scale_topics); do
    topics --create --topic "$t" --partitions $((n / SCALE_TOPICS)) --replication-factor 2 >/dev/null
  done
  wait_until 1200 "leaders for all $n partitions" scale_all_led "$n"
  out="$(scale_states)"
  m="$(state_lines <<<"$out" | awk -F'\t' '$6 > m { m = $6 } END { printf "%.0f\n", m }')"
  scale_record "create -> all led: $((m - $(awk -F'\t' '$1 == "topic" { print $2 }' <<<"$out"))) ms"
  # Followers may still be creating their logs when every partition has a leader.
  sleep "${BENCH_SCALE_SETTLE_SECS:-5}"
  for id in 1 2 3; do
    pid="${BROKER_PIDS[$((id - 1))]}"
    scale_record "broker $id: RSS $(rss_mb "$pid") MB, open files $(fds_of "$pid"), leads $(leaders_of "$id" <<<"$out")"
  done
  scale_idle_cpu
  if [[ "${BENCH_SCALE_IDLE_ONLY:-0}" == 1 ]]; then
    stop_cluster
    return 0
  fi

  # kill -9 of a broker that is not the controller.
  controller="$(awk -F'\t' '$1 == "controller" { print $2 }' <<<"$out")"
  for id in 1 2 3; do [[ "$id" != "$controller" ]] && { victim="$id"; break; }; done
  led="$(leaders_of "$victim" <<<"$out")"
  local before="$out"
  scale_kill9_until_re_led "$victim" "$out" "partitions of broker $victim"
  out="$SCALE_OUT" t0="$SCALE_GONE_MS" m="$SCALE_RE_LED_MS"
  # Writes per re-led partition state znode (1 = a single election write, as Kafka).
  local writes
  writes="$(paste <(state_lines <<<"$before") <(state_lines <<<"$out") | awk -F'\t' -v b="$victim" \
    '$2 == b { w += $11 - $5; k++ } END { printf "%.2f", k ? w / k : 0 }')"
  scale_record "kill -9 of broker $victim leading $led: all re-led $((m - t0)) ms after its znode vanished ($writes state writes per re-led partition)"

  # Restart: back in the ISR of every partition it hosts.
  scale_hosted "$victim" >"$SCALE_HOSTED"
  t0="$(now_ms)"
  launch_broker "$victim"
  wait_until 1800 "broker $victim back in every ISR" scale_isr_complete_now "$victim"
  m="$(max_mtime_of "$SCALE_HOSTED" <<<"$(scale_states)")"
  scale_record "restart of broker $victim: back in all $(wc -l <"$SCALE_HOSTED") ISRs after $((m - t0)) ms"

  # Controlled shutdown (SIGTERM) of the non-controller broker leading the most.
  out="$(scale_states)"
  most=-1
  for id in 1 2 3; do
    [[ "$id" == "$controller" ]] && continue
    b="$(leaders_of "$id" <<<"$out")"
    ((b > most)) && { most="$b"; victim="$id"; }
  done
  pid="${BROKER_PIDS[$((victim - 1))]}"
  t0="$(now_ms)"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  t1="$(now_ms)"
  still="$(scale_states | leaders_of "$victim")"
  scale_record "SIGTERM of broker $victim leading $most: exited after $((t1 - t0)) ms, $still still led at exit"
  # Back in every ISR first: a partition whose only in-sync replica is the controller would
  # rightly stay leaderless (no unclean election) when the controller dies.
  scale_hosted "$victim" >"$SCALE_HOSTED"
  launch_broker "$victim"
  wait_until 1800 "broker $victim back in every ISR" scale_isr_complete_now "$victim"

  # Controller failover: kill -9 of the controller.
  out="$(scale_states)"
  led="$(leaders_of "$controller" <<<"$out")"
  scale_kill9_until_re_led "$controller" "$out" "partitions of the old controller"
  out="$SCALE_OUT" t0="$SCALE_GONE_MS" m="$SCALE_RE_LED_MS"
  local elected
  elected="$(awk -F'\t' '$1 == "controller" { print $3 }' <<<"$out")"
  scale_record "kill -9 of controller $controller leading $led: new controller after $((elected - t0)) ms, all re-led after $((m - t0)) ms (after its znode vanished)"
  # shellcheck disable=SC2034 # launch_broker (bench.sh) reads it
  BROKER_NOFILE=""
  stop_cluster
}
# scale_idle_cpu: each broker's CPU (utime+stime) over BENCH_SCALE_IDLE_SECS (default 60)
# of an idle cluster, in clock ticks per minute (100 ticks = one core for a second).
scale_idle_cpu() {
  local secs="${BENCH_SCALE_IDLE_SECS:-60}" id pid line=""
  local -a c0=()
  for pid in "${BROKER_PIDS[@]}"; do c0+=("$(cpu_ticks "$pid")"); done
  sleep "$secs"
  for id in 1 2 3; do
    pid="${BROKER_PIDS[$((id - 1))]}"
    line="$line${line:+, }broker $id $((($(cpu_ticks "$pid") - c0[id - 1]) * 60 / secs))"
  done
  scale_record "idle CPU over ${secs} s, clock ticks per minute ($CLK_TCK per CPU-second): $line; load average $(cut -d' ' -f1 /proc/loadavg)"
}
scale_isr_complete_now() { scale_isr_complete "$(scale_states)" "$1"; }
