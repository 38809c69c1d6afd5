// The keyboard counter in a real browser (Debian's chromium, headless).
//
// Runs the real `marrow` binary on a fresh SQLite file with demo data, logs in as the demo
// technologist, and counts 500 cells with key presses only.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { freePort } from "./support.mjs";

const BIN = process.env.MARROW_BIN || "target/debug/marrow";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "marrow-e2e-"));
const database = `sqlite://${join(dir, "marrow.db")}`;
let port;
let server;
let passwords = {};
let browser;

async function startServer(demo) {
  const args = ["serve", "--database", database, "--listen", `127.0.0.1:${port}`];
  if (demo) args.push("--demo");
  server = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MARROW_LOG: "warn" } });
  let out = "";
  server.stdout.on("data", (d) => (out += d));
  server.stderr.on("data", (d) => process.stderr.write(d));
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch (_) {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const line of out.split("\n")) {
    const m = line.match(/^\s+(\S+)\s+.*\s([0-9a-f]{20})$/);
    if (m) passwords[m[1]] = m[2];
  }
}

function killServer() {
  server.kill("SIGKILL");
  return new Promise((resolve) => server.on("exit", resolve));
}

before(async () => {
  port = await freePort();
  await startServer(true);
  assert.ok(passwords.technologist, "the demo printed the technologist's password");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGKILL");
});

async function login(page, user) {
  await page.goto(`http://127.0.0.1:${port}/login`);
  await page.fill("#f-username", user);
  await page.fill("#f-password", passwords[user]);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
}

async function openInLabCase(page) {
  await page.goto(`http://127.0.0.1:${port}/cases?status=in_lab`);
  const link = page.locator("table.list tbody tr a").first();
  const href = await link.getAttribute("href");
  await page.goto(`http://127.0.0.1:${port}${href}`);
  return href;
}

async function settled(page) {
  await page.waitForFunction(() => window.marrowCounter && window.marrowCounter.pending() === 0, null, { timeout: 20000 });
}

// A plausible 500-cell marrow: (class, cells).
const PLAN = [
  ["blasts", 25], ["promyelocytes", 15], ["myelocytes", 50], ["metamyelocytes", 40],
  ["band-neutrophils", 60], ["segmented-neutrophils", 100], ["eosinophils", 15], ["basophils", 5],
  ["monocytes", 20], ["lymphocytes", 70], ["plasma-cells", 5], ["polychromatic-erythroblasts", 60],
  ["orthochromatic-erythroblasts", 35],
];

test("a technologist counts 500 cells with the keyboard alone, undoes some, and sees the statistics", async () => {
  // The harness's waitForFunction evaluates code in the page; our CSP forbids eval, so the
  // test context (only) bypasses it. The pages themselves never need eval.
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await login(page, "technologist");
  const casePath = await openInLabCase(page);
  await Promise.all([page.waitForNavigation(), page.click("text=Start or resume my keyboard count")]);
  assert.match(page.url(), /\/counts\/\d+$/);
  const config = await page.evaluate(() => JSON.parse(document.getElementById("counter-config").textContent));
  const keyOf = new Map(config.bindings.map((b) => [b.class, b.key]));
  for (const [cls] of PLAN) assert.ok(keyOf.has(cls), `the default key map has a key for ${cls}`);

  for (const [cls, n] of PLAN) {
    for (let i = 0; i < n; i++) await page.keyboard.press(keyOf.get(cls));
  }
  // Two dysplastic myelocytes more, with the abnormal modifier, then undo them.
  await page.keyboard.press(config.abnormalKey);
  await page.keyboard.press(keyOf.get("myelocytes"));
  await page.keyboard.press(config.abnormalKey);
  await page.keyboard.press(keyOf.get("myelocytes"));
  // Five lymphocytes too many, undone one by one.
  for (let i = 0; i < 5; i++) await page.keyboard.press(keyOf.get("lymphocytes"));
  for (let i = 0; i < 7; i++) await page.keyboard.press(config.undoKey);
  // Smudge cells are seen but not counted.
  for (let i = 0; i < 3; i++) await page.keyboard.press(keyOf.get("smudge"));
  await settled(page);

  assert.equal(await page.textContent("#total"), "500");
  assert.equal(await page.isVisible("#target-reached"), true, "the page says the target is reached");
  assert.equal(await page.textContent('[data-count="blasts"]'), "25");
  assert.equal(await page.textContent('[data-count="smudge"]'), "3");
  assert.equal(await page.textContent('[data-local-percent="blasts"]'), "5.0");
  // Statistics come from the server, computed from the stored events.
  await page.waitForFunction(() => document.getElementById("stored-total").textContent === "500", null, { timeout: 10000 });
  // Clinical reference §4.2: k = 25, n = 500 → 3.2615 % – 7.2928 %.
  assert.equal(await page.textContent('[data-limits="blasts"]'), "3.3–7.3");
  // ICSH M:E: (25+15+50+40+60+100+15+5+20) / (60+35) = 330 / 95.
  assert.equal(await page.textContent("#me-ratio"), "3.47:1");
  // Blasts 5 % is above the adult 0–2 % range.
  assert.equal(await page.locator('tr[data-row="blasts"]').getAttribute("class"), "outside");

  // In the database, through the API.
  const countId = config.countId;
  const token = execFileSync(BIN, ["token", "create", "technologist", "--database", database], { env: { ...process.env, MARROW_LOG: "warn" } }).toString().trim();
  const stats = await (await fetch(`http://127.0.0.1:${port}/api/v1/counts/${countId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(stats.total, 500);
  assert.equal(stats.excluded, 3);
  const blasts = stats.classes.find((c) => c.class === "blasts");
  assert.equal(blasts.count, 25);
  assert.ok(Math.abs(blasts.lower - 3.2615) < 0.0001 && Math.abs(blasts.upper - 7.2928) < 0.0001);
  assert.equal(stats.classes.find((c) => c.class === "myelocytes").abnormal, 0, "the abnormal myelocytes were undone");
  assert.equal(stats.events_stored, PLAN.reduce((a, [, n]) => a + n, 0) + 2 + 5 + 7 + 3);

  // Finishing records the differential on the case.
  await Promise.all([page.waitForNavigation(), page.click("text=Finish count and record the differential")]);
  assert.ok(page.url().endsWith(casePath));
  assert.match(await page.textContent("#h-differential + table caption, section[aria-labelledby=h-differential] caption"), /500 nucleated cells counted/);
  await page.close();
});

test("key presses made while the server is down are kept and stored when it is back", async () => {
  // The harness's waitForFunction evaluates code in the page; our CSP forbids eval, so the
  // test context (only) bypasses it. The pages themselves never need eval.
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  await login(page, "pathologist");
  await openInLabCase(page);
  await Promise.all([page.waitForNavigation(), page.click("text=Start or resume my keyboard count")]);
  const config = await page.evaluate(() => JSON.parse(document.getElementById("counter-config").textContent));
  const key = config.bindings.find((b) => b.class === "lymphocytes").key;
  for (let i = 0; i < 10; i++) await page.keyboard.press(key);
  await settled(page);

  await killServer();
  for (let i = 0; i < 15; i++) await page.keyboard.press(key);
  assert.equal(await page.textContent('[data-count="lymphocytes"]'), "25", "the page counts at once");
  await page.waitForFunction(() => window.marrowCounter.pending() === 15);
  assert.match(await page.textContent("#pending"), /15 keystroke\(s\) waiting/);

  await startServer(false);
  await settled(page);
  await page.waitForFunction(() => document.getElementById("stored-total").textContent === "25", null, { timeout: 10000 });
  await page.close();
});
