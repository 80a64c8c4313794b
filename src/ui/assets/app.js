// The live cluster view: one EventSource (/api/live) brings the model and the timeline;
// the page redraws from the latest model and filters the timeline itself.
"use strict";

const state = { model: null, events: [], seenBrokers: new Map(), tree: new Map(), openPath: null };
const params = new URLSearchParams(location.search);
let topicFilter = params.get("topic") || "";
let showInternal = params.get("internal") === "true" || params.get("internal") === "1";

const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}
const tpId = (topic, p) => `${topic}-${p}`.replace(/[^A-Za-z0-9_.-]/g, "_");

// ---------------------------------------------------------------- ZooKeeper and brokers

function drawZookeeper(m) {
  const servers = $("zk-servers");
  servers.replaceChildren(...m.zookeeper.servers.map((s) => el("div", { class: "card" },
    el("b", { text: s.address }), " ",
    s.reachable
      ? el("span", { class: "badge", text: s.mode ? `${s.mode}` : t("reachable") })
      : el("span", { class: "badge dead", text: t("unreachable") }),
    s.zxid ? el("div", { class: "segments", text: `zxid ${s.zxid} · ${t("connections")} ${s.connections}` }) : null)));
  const c = m.controller;
  $("controller").replaceChildren(el("p", { id: "controller-line" },
    el("b", { text: "/controller " }),
    c.id >= 0 ? `${t("broker")} ${c.id}` : t("noController"),
    el("b", { text: "  /controller_epoch " }), `${c.epoch ?? "-"}`));
}

// A broker that stopped answering but is still registered: how long it has been silent and
// when ZooKeeper will expire its session (the moment the controller learns it is gone).
function silence(b, now) {
  const silent = Math.max(0, Math.round((now - b.silent_since_ms) / 1000));
  const left = Math.ceil((b.session_expires_ms - now) / 1000);
  return el("div", { class: "segments silence" },
    el("div", { text: t("silentFor", { s: silent }) }),
    el("div", { text: left > 0 ? t("sessionExpiresIn", { s: left }) : t("sessionDue") }));
}

function drawBrokers(m) {
  const now = Date.now();
  for (const b of m.brokers) state.seenBrokers.set(b.id, { ...b, alive: true, seen: now });
  const registered = new Set(m.brokers.map((b) => b.id));
  for (const [id, b] of state.seenBrokers) if (!registered.has(id)) b.alive = false;
  const cards = [...state.seenBrokers.values()].sort((a, b) => a.id - b.id).map((b) => el("div",
    { class: "card" + (b.alive ? "" : " gone"), id: `broker-${b.id}` },
    el("b", { text: `${t("broker")} ${b.id}` }),
    m.controller.id === b.id && b.alive ? el("span", { class: "badge controller", text: t("controller") }) : null,
    b.alive ? null : el("span", { class: "badge dead", text: t("gone") }),
    el("div", { class: "segments", text: b.endpoints.join(" ") + (b.rack ? ` · rack ${b.rack}` : "") }),
    b.alive && b.answering === false ? el("span", { class: "badge dead", text: t("notAnswering") }) : null,
    b.alive && b.answering === false ? silence(b, m.time_ms) : null,
    b.alive && b.http ? el("div", { class: "segments", text: t("partitionsLed", { n: b.leaders, m: b.partitions }) }) : null,
    b.alive && !b.http && b.answering === undefined ? el("div", { class: "segments", text: t("noHttp") }) : null));
  $("brokers").replaceChildren(...cards);
}

// ---------------------------------------------------------------- the znode tree

async function loadZnode(path) {
  const r = await fetch(`/api/znode?path=${encodeURIComponent(path)}`);
  if (!r.ok) return null;
  const z = await r.json();
  state.tree.set(path, z);
  return z;
}

function drawTree() {
  const node = (path, name) => {
    const z = state.tree.get(path);
    const li = el("li", {}, el("span", { class: "node", text: (z && z.children.length ? "▸ " : "· ") + name,
      onclick: async () => {
        if (state.tree.has(path) && state.openPath === path) { state.tree.delete(path); state.openPath = null; }
        else { await loadZnode(path); state.openPath = path; }
        drawTree();
      } }));
    if (z && state.tree.has(path) && z.children.length) {
      li.append(el("ul", {}, ...z.children.map((c) => node(path === "/" ? `/${c}` : `${path}/${c}`, c))));
    }
    return li;
  };
  $("znode-tree").replaceChildren(el("ul", {}, node("/", "/")));
  const z = state.openPath && state.tree.get(state.openPath);
  $("znode-detail").textContent = z ? `${z.path}\n${z.data ?? `(${z.data_bytes} bytes)`}\n\n` +
    Object.entries(z.stat).map(([k, v]) => `${k} = ${v}`).join("\n") : "";
}

// ---------------------------------------------------------------- topics and partitions

function replicaRow(r, scale) {
  const cls = "replica" + (r.is_leader ? " leader" : "") + (!r.online ? " offline" : !r.in_isr ? " out" : "");
  const leo = r.log_end_offset ?? 0, hw = r.high_watermark ?? 0;
  const label = !r.online ? t("offlineReplica") : `LEO ${leo} · HW ${hw}` + (r.in_isr ? "" : ` · ${t("outOfIsr")}`);
  return el("div", { class: cls },
    el("span", {}, `${t("broker")} ${r.id}`, r.is_leader ? el("span", { class: "badge leader", text: "L" }) : null),
    el("div", { class: "bar" },
      el("div", { class: "leo", style: `width:${r.online ? (100 * leo) / scale : 0}%` }),
      r.online ? el("div", { class: "hw", style: `left:calc(${(100 * hw) / scale}% - 1px)` }) : null),
    el("span", { text: label }));
}

function partitionBlock(topic, p) {
  const scale = Math.max(1, ...p.replica_states.map((r) => r.log_end_offset ?? 0));
  const id = tpId(topic, p.partition);
  return el("div", { class: "partition", id: `p-${id}` },
    el("div", {},
      el("b", { text: `${topic}-${p.partition}` }), "  ",
      `${t("leader")} `, el("b", { id: `leader-${id}`, text: p.leader >= 0 ? String(p.leader) : t("noLeader") }),
      `  ${t("leaderEpoch")} `, el("span", { id: `epoch-${id}`, text: String(p.leader_epoch ?? "-") }),
      `  ${t("isr")} `, el("span", { id: `isr-${id}`, text: `[${p.isr.join(",")}]` }),
      `  ${t("replicas")} [${p.replicas.join(",")}]`),
    ...p.replica_states.map((r) => replicaRow(r, scale)),
    p.segments ? el("div", { class: "segments", text: `${t("segments")}: ${p.segments.join(", ")}` }) : null);
}

function drawTopics(m) {
  const select = $("topic-filter");
  const names = m.topics.filter((x) => showInternal || !x.internal).map((x) => x.name);
  const have = [...select.options].map((o) => o.value).slice(1);
  if (have.join() !== names.join()) {
    select.replaceChildren(el("option", { value: "", "data-i18n": "allTopics", text: t("allTopics") }),
      ...names.map((n) => el("option", { value: n, text: n })));
  }
  select.value = topicFilter;
  const topics = m.topics.filter((x) => (showInternal || !x.internal) && (!topicFilter || x.name === topicFilter));
  $("topics").replaceChildren(...(topics.length ? topics.map((x) => el("div", { class: "topic" },
    el("h3", { text: x.name }), ...x.partitions.map((p) => partitionBlock(x.name, p))))
    : [el("p", { class: "hint", text: t("noTopics") })]));
  if (m.error) $("topics").prepend(el("p", { class: "error", text: m.error }));
}

// ---------------------------------------------------------------- groups

function drawGroups(m) {
  if (!m.groups.length) { $("groups").replaceChildren(el("p", { class: "hint", text: t("noGroups") })); return; }
  $("groups").replaceChildren(...m.groups.map((g) => el("div", { class: "group", id: `group-${g.group}` },
    el("h3", { text: g.group }),
    el("div", {}, `${t("state")} ${g.state} · ${t("generation")} `, el("b", { text: String(g.generation) }),
      ` · ${t("coordinator")} ${g.coordinator}`),
    el("table", {}, el("tr", {}, el("th", { text: t("members") }), el("th", { text: t("assignment") })),
      ...g.members.map((mb) => el("tr", {}, el("td", { text: `${mb.client_id} (${mb.client_host})` }),
        el("td", { text: Object.entries(mb.assignment || {}).map(([tt, ps]) => `${tt}: ${ps.join(",")}`).join("; ") })))),
    el("table", {}, el("tr", {}, el("th", { text: t("partition") }), el("th", { text: t("committed") }),
      el("th", { text: t("highWatermark") }), el("th", { text: t("lag") })),
      ...g.offsets.map((o) => el("tr", {}, el("td", { text: `${o.topic}-${o.partition}` }),
        el("td", { text: String(o.offset) }), el("td", { text: String(o.high_watermark ?? "-") }),
        el("td", { class: "lag" + (o.lag === 0 ? " zero" : ""), text: String(o.lag ?? "-") })))))));
}

// ---------------------------------------------------------------- the timeline

function wanted(e) {
  if (e.broker_level) return true; // a silent broker matters to every topic
  if (topicFilter) return e.topic === topicFilter;
  return showInternal || !e.internal;
}

function entry(e, fresh) {
  const d = new Date(e.time_ms), two = (n) => String(n).padStart(2, "0");
  const when = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  return el("li", { class: `timeline-entry ${e.level}` + (fresh ? " fresh" : ""), "data-kind": e.kind, "data-topic": e.topic ?? "" },
    el("div", { class: "when", text: `${when} · ${t("broker")} ${e.broker}` }),
    el("div", { class: "headline", text: headline(e) }),
    el("div", { class: "raw", text: e.text }));
}

function drawTimeline() {
  const shown = state.events.filter(wanted).slice(-300).reverse();
  $("timeline").replaceChildren(...(shown.length ? shown.map((e) => entry(e, false))
    : [el("li", { class: "hint", text: t("noEvents") })]));
}

function addEvent(e) {
  let i = state.events.length;
  while (i > 0 && state.events[i - 1].time_ms > e.time_ms) i--;
  state.events.splice(i, 0, e);
  if (state.events.length > 2000) state.events.shift();
  if (!wanted(e)) return;
  if (i === state.events.length - 1) {
    const list = $("timeline");
    if (list.firstChild && list.firstChild.classList.contains("hint")) list.replaceChildren();
    list.prepend(entry(e, true));
  } else drawTimeline();
}

// ---------------------------------------------------------------- wiring

function drawAll() {
  applyStaticTexts();
  if (state.model) {
    drawZookeeper(state.model); drawBrokers(state.model); drawTopics(state.model); drawGroups(state.model);
  }
  drawTimeline();
  drawTree();
}

function setFilters() {
  const q = new URLSearchParams();
  if (topicFilter) q.set("topic", topicFilter);
  if (showInternal) q.set("internal", "true");
  history.replaceState(null, "", q.toString() ? `?${q}` : location.pathname);
  drawAll();
}

function connect() {
  const source = new EventSource("/api/live");
  source.addEventListener("open", () => { const s = $("status"); s.dataset.i18n = "live"; s.className = "status on"; s.textContent = t("live"); });
  source.addEventListener("error", () => { const s = $("status"); s.dataset.i18n = "offline"; s.className = "status off"; s.textContent = t("offline"); });
  source.addEventListener("history", (msg) => { state.events = JSON.parse(msg.data); drawTimeline(); });
  source.addEventListener("event", (msg) => addEvent(JSON.parse(msg.data)));
  source.addEventListener("model", (msg) => {
    state.model = JSON.parse(msg.data);
    drawZookeeper(state.model); drawBrokers(state.model); drawTopics(state.model); drawGroups(state.model);
  });
  source.addEventListener("reload", () => { source.close(); connect(); });
}

$("show-internal").checked = showInternal;
$("show-internal").addEventListener("change", (ev) => { showInternal = ev.target.checked; setFilters(); });
$("topic-filter").addEventListener("change", (ev) => { topicFilter = ev.target.value; setFilters(); });
for (const b of document.querySelectorAll(".lang button")) b.addEventListener("click", () => { setLang(b.dataset.lang); drawAll(); });
loadZnode("/").then(drawTree);
drawAll();
connect();
