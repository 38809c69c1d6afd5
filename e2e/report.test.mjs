// The report in a real browser: the pathologist records a finding, the interpretive flags
// update as they type (before saving), and signing records the flags that were on screen.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { demo } from "./support.mjs";

let app;
before(async () => {
  app = await demo("report");
});
after(async () => {
  await app?.stop();
});

test("flags follow the findings as they are typed, and the signed version records them", async () => {
  const page = await app.staffPage("pathologist");

  // A demo case in the lab, with a draft and its aspirate findings recorded.
  await page.goto(`${app.base}/cases?status=in_lab`);
  const href = await page.getAttribute("table a[href^='/cases/']", "href");
  await page.goto(`${app.base}${href}/report`);
  const flags = page.locator("#flags-list");
  assert.doesNotMatch(await flags.innerText(), /Organisms recorded/);

  // Not saved yet: the panel already shows the flag, with its source.
  await page.selectOption("#f-organisms", "present");
  await flags.getByText("Organisms recorded").waitFor();
  assert.match(await flags.innerText(), /Source: Clinical reference §3\.7/);

  await Promise.all([page.waitForNavigation(), page.click("#report-form button[type=submit]")]);
  await page.goto(`${app.base}${href}/report/sign`);
  assert.match(await page.content(), /Organisms recorded/);
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/report/sign'] button")]);
  assert.match(page.url(), /\/report\/versions\/1$/);
  const shown = await page.locator("section[aria-labelledby='h-flags']").innerText();
  assert.match(shown, /Organisms recorded/, "the signed version records the flag that was shown");

  const pdf = await page.request.get(`${app.base}${href}/report/versions/1/pdf`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
});
