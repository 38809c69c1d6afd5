// The post-procedure check-in in a real browser: the patient reports a fever from their phone,
// and the alert appears on the care team's dashboard until a clinician acknowledges it.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const BIN = process.env.MARROW_BIN || "target/debug/marrow";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const dir = mkdtempSync(join(tmpdir(), "marrow-e2e-checkin-"));
let port;
let server;
const passwords = {};
let browser;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  port = await freePort();
  server = spawn(BIN, ["serve", "--demo", "--database", `sqlite://${join(dir, "m.db")}`, "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MARROW_LOG: "warn" },
  });
  let out = "";
  server.stdout.on("data", (d) => (out += d));
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch (_) {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const line of out.split("\n")) {
    const m = line.match(/^\s+(\S+)\s+.*\s([0-9a-f]{20})$/);
    if (m) passwords[m[1]] = m[2];
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGKILL");
});

async function staffPage(user) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://127.0.0.1:${port}/login`);
  await page.fill("#f-username", user);
  await page.fill("#f-password", passwords[user]);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  return page;
}

test("a patient reports a fever at home and the team sees the alert until a clinician acknowledges it", async () => {
  const nurse = await staffPage("nurse");
  await nurse.goto(`http://127.0.0.1:${port}/cases?status=performed`);
  const href = await nurse.locator("table.list tbody tr a").first().getAttribute("href");
  await nurse.goto(`http://127.0.0.1:${port}${href}`);
  await Promise.all([nurse.waitForNavigation(), nurse.click("text=Give the patient a check-in link")]);
  const link = (await nurse.textContent("#checkin-link")).trim();
  assert.match(link, /^\/checkin\/[0-9a-f]{64}$/);

  // The patient, on a phone-sized screen, with no login.
  const phone = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
  await phone.goto(`http://127.0.0.1:${port}${link}`);
  assert.match(await phone.textContent("h1"), /How are you after your bone marrow test/);
  await phone.fill("#f-temperature", "38.6");
  await phone.check("input[name=bleeding][value=none]");
  await phone.check("input[name=pain][value=mild]");
  await Promise.all([phone.waitForNavigation(), phone.click("text=Send my answers")]);
  assert.match(await phone.textContent("h1"), /Call now/);

  await nurse.goto(`http://127.0.0.1:${port}/alerts`);
  assert.match(await nurse.textContent("table.list"), /38\.6/);
  assert.match(await nurse.textContent("table.list"), /Open/);

  const clinician = await staffPage("clinician");
  await clinician.goto(`http://127.0.0.1:${port}/alerts`);
  await Promise.all([clinician.waitForNavigation(), clinician.click("button:has-text('Acknowledge')")]);
  assert.match(await clinician.textContent("table.list"), /Acknowledged by Demo Clinician/);
  await nurse.reload();
  assert.doesNotMatch(await nurse.textContent("table.list"), /\bOpen\b/);

  // A wrong link shows nothing about anyone.
  const stranger = await (await browser.newContext()).newPage();
  const response = await stranger.goto(`http://127.0.0.1:${port}/checkin/${"0".repeat(64)}`);
  assert.equal(response.status(), 404);
});
