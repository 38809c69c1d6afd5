// The patient timeline in a real browser: the demo's monitored patient (five marrows, nine
// blood counts, three milestones) renders, the charts' points carry the same numbers as the
// serial table and the demo's own inputs, a milestone added on the page appears on every
// chart, and the charts stay visible when printed.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/timeline.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { demo } from "./support.mjs";

let app;
before(async () => {
  app = await demo("timeline");
});
after(async () => {
  await app?.stop();
});

/// The points of one chart: [{key, value, lower, upper, x}] in document order.
async function points(page, chart) {
  return page.locator(`#${chart} path.point`).evaluateAll((nodes) =>
    nodes.map((n) => ({
      key: n.getAttribute("data-key"),
      at: n.getAttribute("data-at"),
      value: Number(n.getAttribute("data-value")),
      lower: n.hasAttribute("data-lower") ? Number(n.getAttribute("data-lower")) : null,
      upper: n.hasAttribute("data-upper") ? Number(n.getAttribute("data-upper")) : null,
      x: n.getBoundingClientRect().x + n.getBoundingClientRect().width / 2,
    })),
  );
}

test("five marrows side by side, with charts that match the data", async () => {
  const page = await app.staffPage("clinician");
  await page.goto(`${app.base}/patients`);
  await page.getByRole("link", { name: /TIMELINE, Morgan/ }).click();
  await page.getByRole("link", { name: /Timeline: marrows and blood counts/ }).click();
  await page.locator("#serial-marrows").waitFor();

  // Five signed marrows, oldest first.
  const columns = await page.locator("#serial-marrows thead th[scope=col]").allInnerTexts();
  assert.equal(columns.length, 5);
  const table = await page.locator("#serial-marrows td.blasts").allInnerTexts();
  const blasts = await points(page, "chart-blasts");
  assert.equal(blasts.length, 5);
  for (let i = 0; i < 5; i++) {
    // "62.0 % (57.6–66.2)" in the table, the exact figures on the chart's point.
    const [, percent, lower, upper] = table[i].match(/([\d.]+) % \(([\d.]+)–([\d.]+)\)/);
    assert.equal(blasts[i].value.toFixed(1), percent, `marrow ${i + 1}`);
    assert.equal(blasts[i].lower.toFixed(1), lower);
    assert.equal(blasts[i].upper.toFixed(1), upper);
    assert.ok(blasts[i].lower <= blasts[i].value && blasts[i].value <= blasts[i].upper);
    if (i > 0) {
      assert.ok(blasts[i].x > blasts[i - 1].x, "later marrows lie further right");
      assert.ok(blasts[i].at > blasts[i - 1].at);
    }
  }
  // The demo entered these haemoglobins in g/dL; the chart shows them converted to g/L.
  const hb = await points(page, "chart-haemoglobin");
  assert.deepEqual(
    hb.map((p) => p.value),
    [82, 74, 81, 109, 121, 102, 128, 120, 106],
  );
  const platelets = await points(page, "chart-platelets");
  assert.deepEqual(platelets.map((p) => p.value), [34, 18, 28, 165, 201, 112, 188, 140, 88]);
  assert.equal((await points(page, "chart-plasma-cells")).length, 5);
  assert.equal((await points(page, "chart-me-ratio")).length, 5);

  // Observations, never verdicts, each with its source.
  const observations = await page.locator("ul.observations").innerText();
  assert.match(observations, /criteria of ELN 2022 complete remission are met/);
  assert.match(observations, /back at or above 5 %/);
  assert.match(observations, /Source: ELN 2022/);
  assert.match(await page.locator("#serial-marrows").innerText(), /Blasts rose beyond counting noise/);

  // The milestones are marked on the charts; one added on the page joins them.
  const before = await page.locator("#chart-blasts").textContent();
  assert.match(before, /Stem-cell transplant/);
  await page.fill("#f-on", "2026-06-01");
  await page.selectOption("#f-kind", "treatment-cycle");
  await page.fill("#f-description", "Maintenance azacitidine");
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/milestones'] button")]);
  assert.match(await page.locator("ol.events").innerText(), /Maintenance azacitidine/);
  const marked = await page.locator("#chart-platelets g.milestone").allTextContents();
  assert.equal(marked.length, 4, marked.join(" | "));
  assert.equal(marked.filter((m) => /Treatment cycle/.test(m)).length, 2, marked.join(" | "));

  // Printed, the charts are still there at a readable size.
  await page.emulateMedia({ media: "print" });
  const box = await page.locator("#chart-blasts").boundingBox();
  assert.ok(box && box.width > 300 && box.height > 100, JSON.stringify(box));
});
