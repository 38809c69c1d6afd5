// The report in a real browser: the pathologist records a finding, the interpretive flags
// update as they type (before saving), and signing records the flags that were on screen.
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
const dir = mkdtempSync(join(tmpdir(), "marrow-e2e-report-"));
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

test("flags follow the findings as they are typed, and the signed version records them", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://127.0.0.1:${port}/login`);
  await page.fill("#f-username", "pathologist");
  await page.fill("#f-password", passwords.pathologist);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);

  // A demo case in the lab, with a draft and its aspirate findings recorded.
  await page.goto(`http://127.0.0.1:${port}/cases?status=in_lab`);
  const href = await page.getAttribute("table a[href^='/cases/']", "href");
  await page.goto(`http://127.0.0.1:${port}${href}/report`);
  const flags = page.locator("#flags-list");
  assert.doesNotMatch(await flags.innerText(), /Organisms recorded/);

  // Not saved yet: the panel already shows the flag, with its source.
  await page.selectOption("#f-organisms", "present");
  await flags.getByText("Organisms recorded").waitFor();
  assert.match(await flags.innerText(), /Source: Clinical reference §3\.7/);

  await Promise.all([page.waitForNavigation(), page.click("#report-form button[type=submit]")]);
  await page.goto(`http://127.0.0.1:${port}${href}/report/sign`);
  assert.match(await page.content(), /Organisms recorded/);
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/report/sign'] button")]);
  assert.match(page.url(), /\/report\/versions\/1$/);
  const shown = await page.locator("section[aria-labelledby='h-flags']").innerText();
  assert.match(shown, /Organisms recorded/, "the signed version records the flag that was shown");

  const pdf = await page.request.get(`http://127.0.0.1:${port}${href}/report/versions/1/pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
});
