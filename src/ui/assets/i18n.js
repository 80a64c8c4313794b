// Texts of the live cluster view in English and Korean. Static labels are looked up by the
// data-i18n attribute; timeline headlines are built from each event's kind and the numbers
// in its (English, Kafka-style) log line, which is shown below the headline as it is.
"use strict";

const TEXTS = {
  en: {
    title: "live cluster view", connecting: "connecting…", live: "live", offline: "disconnected",
    showInternal: "show internal topics", topicFilter: "topic", allTopics: "all topics",
    zookeeper: "ZooKeeper", znodeTree: "znode tree", brokers: "Brokers", groups: "Consumer groups",
    topics: "Topics and partitions", timeline: "Timeline",
    zkHint: "The ensemble stores who is alive (/brokers/ids), who is the controller (/controller) and in which term (/controller_epoch).",
    barsHint: "Each bar is one replica's log: its length is the log end offset (LEO); the line marks the high watermark (HW) that replica knows. Consumers read only up to the leader's HW.",
    timelineHint: "What every broker did and why, merged in time order, newest first.",
    controller: "controller", epoch: "epoch", noController: "no controller", unreachable: "unreachable",
    reachable: "reachable (4lw srvr not allowed)", mode: "mode", connections: "connections",
    broker: "broker", gone: "gone (its /brokers/ids znode vanished)", noHttp: "no HTTP endpoint",
    notAnswering: "not answering", silentFor: "silent for {s} s; ZooKeeper still holds its registration",
    sessionExpiresIn: "its session expires within {s} s, then the controller moves its leaders",
    sessionDue: "its session is due to expire now",
    k_broker_unreachable: "Broker {b} stopped answering. ZooKeeper keeps its registration until the session times out ({s} s); only then does the controller move its leaders",
    k_broker_answering: "Broker {b} answers again",
    partitionsLed: "leads {n} of {m} partitions", partition: "partition", leader: "leader",
    leaderEpoch: "leader epoch", isr: "ISR", replicas: "replicas", segments: "segments",
    none: "none", noLeader: "no leader", outOfIsr: "out of ISR", offlineReplica: "offline",
    state: "state", generation: "generation", members: "members", assignment: "assignment",
    committed: "committed", lag: "lag", highWatermark: "HW", noGroups: "no consumer groups",
    noTopics: "no topics", coordinator: "coordinator: broker", noEvents: "nothing happened yet",
    k_controller_elected: "Broker {b} won the controller election{epoch}",
    k_controller_resigned: "Broker {b} resigned as controller",
    k_broker_change: "The controller saw the set of live brokers change",
    k_topic_change: "The controller created or changed topic {t}",
    k_topic_deleted: "Topic {t} was deleted",
    k_leader_election: "The controller elected {leader} as the leader of {tp} from ISR [{isr}]",
    k_leader_election_plain: "The controller elected a leader for {tp}",
    k_partition_offline: "{tp} is offline: no replica that may lead is alive",
    k_became_leader: "Broker {b} became the leader of {tp}",
    k_became_follower: "Broker {b} became a follower of {tp}",
    k_isr_shrink: "{who} removed replica {gone} from the ISR of {tp}: ISR now [{isr}]",
    k_isr_expand: "Leader {b} added replica {added} back to the ISR of {tp}: ISR now [{isr}]",
    k_truncation: "Broker {b} truncated its log of {tp} to match the leader",
    k_group_state_change: "Group {g} moved to {state} at generation {gen}",
    k_log_roll: "Broker {b} rolled a new segment of {tp}",
    k_log_deletion: "Broker {b} deleted old segments of {tp}",
    k_broker_lifecycle: "Broker {b}: {what}",
    theController: "The controller", leaderB: "Leader {b}",
    whyOffline: " (its broker is gone)", whyBehind: " ({s} s behind)",
  },
  ko: {
    title: "실시간 클러스터 보기", connecting: "연결 중…", live: "실시간", offline: "연결 끊김",
    showInternal: "내부 토픽 보기", topicFilter: "토픽", allTopics: "모든 토픽",
    zookeeper: "주키퍼", znodeTree: "znode 트리", brokers: "브로커", groups: "컨슈머 그룹",
    topics: "토픽과 파티션", timeline: "타임라인",
    zkHint: "앙상블은 누가 살아 있는지(/brokers/ids), 누가 컨트롤러인지(/controller), 몇 번째 임기인지(/controller_epoch)를 저장합니다.",
    barsHint: "막대 하나가 복제본 하나의 로그입니다. 길이는 로그 끝 오프셋(LEO), 세로선은 그 복제본이 아는 하이 워터마크(HW)입니다. 컨슈머는 리더의 HW까지만 읽습니다.",
    timelineHint: "모든 브로커가 무엇을 왜 했는지 시간 순으로 합친 기록입니다. 최신 항목이 맨 위에 있습니다.",
    controller: "컨트롤러", epoch: "에포크", noController: "컨트롤러 없음", unreachable: "연결 불가",
    reachable: "연결됨 (4lw srvr 허용 안 됨)", mode: "모드", connections: "연결 수",
    broker: "브로커", gone: "사라짐 (/brokers/ids znode가 없어짐)", noHttp: "HTTP 엔드포인트 없음",
    notAnswering: "응답 없음", silentFor: "{s}초째 응답 없음. ZooKeeper에는 아직 등록되어 있습니다",
    sessionExpiresIn: "{s}초 안에 세션이 만료되고, 그때 컨트롤러가 리더를 옮깁니다",
    sessionDue: "세션이 곧 만료됩니다",
    k_broker_unreachable: "브로커 {b}가 응답하지 않습니다. ZooKeeper는 세션이 만료될 때까지({s}초) 등록을 유지하며, 그때서야 컨트롤러가 리더를 옮깁니다",
    k_broker_answering: "브로커 {b}가 다시 응답합니다",
    partitionsLed: "파티션 {m}개 중 {n}개의 리더", partition: "파티션", leader: "리더",
    leaderEpoch: "리더 에포크", isr: "ISR", replicas: "복제본", segments: "세그먼트",
    none: "없음", noLeader: "리더 없음", outOfIsr: "ISR 밖", offlineReplica: "오프라인",
    state: "상태", generation: "세대", members: "멤버", assignment: "할당",
    committed: "커밋됨", lag: "랙", highWatermark: "HW", noGroups: "컨슈머 그룹 없음",
    noTopics: "토픽 없음", coordinator: "코디네이터: 브로커", noEvents: "아직 아무 일도 없었습니다",
    k_controller_elected: "브로커 {b~이/가} 컨트롤러 선출에서 이겼습니다{epoch}",
    k_controller_resigned: "브로커 {b~이/가} 컨트롤러에서 물러났습니다",
    k_broker_change: "컨트롤러가 살아 있는 브로커 목록의 변화를 감지했습니다",
    k_topic_change: "컨트롤러가 토픽 {t~을/를} 만들거나 바꿨습니다",
    k_topic_deleted: "토픽 {t~이/가} 삭제되었습니다",
    k_leader_election: "컨트롤러가 ISR [{isr}] 중에서 {leader~을/를} {tp}의 리더로 선출했습니다",
    k_leader_election_plain: "컨트롤러가 {tp}의 리더를 선출했습니다",
    k_partition_offline: "{tp} 오프라인: 리더가 될 수 있는 복제본이 살아 있지 않습니다",
    k_became_leader: "브로커 {b~이/가} {tp}의 리더가 되었습니다",
    k_became_follower: "브로커 {b~이/가} {tp}의 팔로워가 되었습니다",
    k_isr_shrink: "{who~이/가} {tp}의 ISR에서 복제본 {gone~을/를} 뺐습니다: 이제 ISR [{isr}]",
    k_isr_expand: "리더 {b~이/가} {tp}의 ISR에 복제본 {added~을/를} 다시 넣었습니다: 이제 ISR [{isr}]",
    k_truncation: "브로커 {b~이/가} 리더에 맞추어 {tp}의 로그를 잘라냈습니다",
    k_group_state_change: "그룹 {g~이/가} 세대 {gen}에서 {state} 상태가 되었습니다",
    k_log_roll: "브로커 {b~이/가} {tp}의 새 세그먼트를 만들었습니다",
    k_log_deletion: "브로커 {b~이/가} {tp}의 오래된 세그먼트를 지웠습니다",
    k_broker_lifecycle: "브로커 {b}: {what}",
    theController: "컨트롤러", leaderB: "리더 {b}",
    whyOffline: " (그 브로커가 사라짐)", whyBehind: " ({s}초 뒤처짐)",
  },
};

let lang = (localStorage.getItem("zkafka-lang") ||
  ((navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en"));

// Whether a word's last sound ends in a consonant (Korean particles depend on it): Hangul
// by its final consonant, digits as read in Sino-Korean; null when unknown (Latin names).
function hasBatchim(word) {
  const c = String(word).slice(-1);
  if (/[0-9]/.test(c)) return "013678".includes(c);
  const code = c.charCodeAt(0) - 0xac00;
  return code >= 0 && code < 11172 ? code % 28 !== 0 : null;
}

// {name~이/가}: the value with the particle that fits it ("1이", "2가", "demo이(가)").
function withParticle(value, a, b) {
  const batchim = hasBatchim(value);
  return String(value) + (batchim === null ? `${a}(${b})` : batchim ? a : b);
}

function t(key, params) {
  let s = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.en[key] || key;
  s = s.replace(/\{(\w+)~([^/}]+)\/([^}]+)\}/g, (_, k, a, b) => withParticle((params || {})[k] ?? "", a, b));
  for (const [k, v] of Object.entries(params || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

function applyStaticTexts() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const b of document.querySelectorAll(".lang button")) b.classList.toggle("active", b.dataset.lang === lang);
}

function setLang(l) {
  lang = l;
  localStorage.setItem("zkafka-lang", l);
  applyStaticTexts();
}

// Numbers a headline needs, read from the broker's log line.
function ids(s) { return (s || "").split(",").map((x) => x.trim()).filter((x) => x !== ""); }
function minus(a, b) { return a.filter((x) => !b.includes(x)); }

function headline(e) {
  const tp = e.topic != null && e.partition != null ? `${e.topic}-${e.partition}` : (e.topic || "");
  const p = { b: e.broker, tp, t: e.topic || "", g: e.group || "" };
  const text = e.text || "";
  let m;
  switch (e.kind) {
    case "controller_elected":
      m = text.match(/Epoch incremented to (\d+)/);
      return t("k_controller_elected", { ...p, epoch: m ? `, ${t("epoch")} ${m[1]}` : "" });
    case "leader_election":
      m = text.match(/leader (-?\d+) -> (-?\d+), ISR \[([^\]]*)\] -> \[([^\]]*)\]/);
      return m ? t("k_leader_election", { ...p, leader: m[2], isr: m[4] }) : t("k_leader_election_plain", p);
    case "isr_shrink": {
      m = text.match(/ISR (?:from )?\[?([\d, ]*)\]? (?:to|->) \[?([\d, ]*)\]?/);
      const old = m ? ids(m[1]) : [], now = m ? ids(m[2]) : [];
      const who = /controller/.test(text) ? t("theController") : t("leaderB", p);
      const behind = text.match(/last caught up (\d+) ms ago/);
      const why = /went offline/.test(text) ? t("whyOffline")
        : behind ? t("whyBehind", { s: (Number(behind[1]) / 1000).toFixed(1) }) : "";
      return t("k_isr_shrink", { ...p, who, gone: minus(old, now).join(","), isr: now.join(",") }) + why;
    }
    case "isr_expand": {
      m = text.match(/ISR from ([\d,]*) to ([\d,]*)/);
      const old = m ? ids(m[1]) : [], now = m ? ids(m[2]) : [];
      return t("k_isr_expand", { ...p, added: minus(now, old).join(","), isr: now.join(",") });
    }
    case "group_state_change":
      m = text.match(/-> (\w+) at generation (-?\d+)/);
      return t("k_group_state_change", { ...p, state: m ? m[1] : "?", gen: m ? m[2] : "?" });
    case "broker_unreachable":
      return t("k_broker_unreachable", { ...p, s: Math.round((e.session_timeout_ms || 18000) / 1000) });
    case "broker_lifecycle":
      return t("k_broker_lifecycle", { ...p, what: text.replace(/^\[[^\]]*\]\s*/, "") });
    default:
      return t("k_" + e.kind, p);
  }
}
