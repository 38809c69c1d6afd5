// The post-procedure check-in in a real browser: the patient reports a fever from their phone,
// and the alert appears on the care team's dashboard until a clinician acknowledges it.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { demo } from "./support.mjs";

let app;
let port;
let browser;
before(async () => {
  app = await demo("checkin");
  port = new URL(app.base).port;
  browser = app.browser;
});
after(async () => {
  await app?.stop();
});

const staffPage = (user) => app.staffPage(user);

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
