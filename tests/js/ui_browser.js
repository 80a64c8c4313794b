// Browser test of the live cluster view (driven by tests/ui.rs): headless Debian chromium
// through playwright-core loads the view filtered to one topic, kills -9 the leader of its
// partition 0, and waits for the page to show the new leader, the ISR without the dead
// broker and the controller's narrated election; then switches to Korean and waits for
// Korean text. Prints one JSON line: {"old_leader":..,"new_leader":..,"isr":..}.
//
// Environment: UI_URL (http://host:port/), TOPIC, BROKER_PIDS ("1=pid,2=pid,3=pid"),
// SCREENSHOT_DIR (optional: writes ui-en.png, ui-ko.png there).
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

// Generous: on a loaded machine ZooKeeper may take long to expire the killed broker's session.
const TIMEOUT = 90000;
const url = process.env.UI_URL;
const topic = process.env.TOPIC || "demo";
const pids = Object.fromEntries((process.env.BROKER_PIDS || "").split(",").filter(Boolean)
  .map((kv) => kv.split("=").map(Number)));
const shots = process.env.SCREENSHOT_DIR;

function step(msg) { process.stderr.write(`[ui_browser] ${msg}\n`); }

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "zkafka-ui-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    locale: "en-US",
    viewport: { width: 1500, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    return await run(await context.newPage());
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function run(page) {
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => { if (m.type() === "error") step(`page error: ${m.text()}`); });
  page.on("pageerror", (e) => step(`page exception: ${e}`));
  await page.goto(`${url}?topic=${encodeURIComponent(topic)}`);
  const leaderSel = `#leader-${topic}-0`, isrSel = `#isr-${topic}-0`;
  step("waiting for the partition to show a leader and a full ISR");
  await page.waitForFunction(([l, i]) => {
    const leader = document.querySelector(l), isr = document.querySelector(i);
    return leader && /^\d+$/.test(leader.textContent) && isr && isr.textContent.split(",").length === 3;
  }, [leaderSel, isrSel]);
  await page.waitForSelector(".timeline-entry[data-kind=leader_election]");
  const oldLeader = Number(await page.textContent(leaderSel));
  if (!pids[oldLeader]) throw new Error(`no pid for broker ${oldLeader} in BROKER_PIDS`);
  step(`killing the leader, broker ${oldLeader} (pid ${pids[oldLeader]}), with SIGKILL`);
  const electionsBefore = await page.locator(".timeline-entry[data-kind=leader_election]").count();
  process.kill(pids[oldLeader], "SIGKILL");

  // Before ZooKeeper expires its session, the timeline already says the broker went silent.
  step(`waiting for the timeline to say broker ${oldLeader} stopped answering`);
  await page.waitForFunction((b) => [...document.querySelectorAll(".timeline-entry[data-kind=broker_unreachable]")]
    .some((e) => e.querySelector(".headline").textContent.startsWith(`Broker ${b} stopped answering`)), oldLeader);

  step("waiting for the new leader and the shrunk ISR");
  await page.waitForFunction(([l, i, old]) => {
    const leader = document.querySelector(l).textContent, isr = document.querySelector(i).textContent;
    return /^\d+$/.test(leader) && Number(leader) !== old && !isr.replace(/[[\]]/g, "").split(",").includes(String(old));
  }, [leaderSel, isrSel, oldLeader]);
  const newLeader = Number(await page.textContent(leaderSel));
  const isr = await page.textContent(isrSel);
  step(`waiting for the narrated election of ${newLeader} for ${topic}-0`);
  await page.waitForFunction(([n, tp, leader]) => {
    const entries = [...document.querySelectorAll(".timeline-entry[data-kind=leader_election]")];
    return entries.length > n && entries.some((e) => e.querySelector(".headline").textContent
      .startsWith(`The controller elected ${leader} as the leader of ${tp} from ISR [`));
  }, [electionsBefore, `${topic}-0`, newLeader]);
  step(`waiting for broker ${oldLeader}'s card to say it is gone`);
  // The model may have read /brokers/ids just before the znode vanished: the next one shows it.
  await page.waitForFunction((sel) => document.querySelector(sel).textContent.includes("gone"),
    `#broker-${oldLeader}`);
  if (shots) await page.screenshot({ path: path.join(shots, "ui-en.png") });

  step("switching to Korean");
  await page.click("#lang-ko");
  await page.waitForFunction(() => document.querySelector("#timeline-section h2").textContent === "타임라인");
  const korean = await page.locator(".timeline-entry[data-kind=leader_election] .headline").first().textContent();
  if (!korean.includes("리더로 선출했습니다")) throw new Error(`the election headline is not in Korean: ${korean}`);
  if (shots) await page.screenshot({ path: path.join(shots, "ui-ko.png") });
  return { old_leader: oldLeader, new_leader: newLeader, isr, korean };
}

main().then((r) => { console.log(JSON.stringify(r)); process.exit(0); },
  (e) => { console.error(`[ui_browser] FAILED: ${e.stack || e}`); process.exit(1); });
