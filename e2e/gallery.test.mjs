// Image-assisted counting in a real browser: the technologist uploads a field image and two
// single-cell images to a count, then confirms every cell from the keyboard alone (a class key
// relabels, Enter accepts, Delete marks "not a cell"), and the confirmed cells are in the
// count's differential.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { demo } from "./support.mjs";

const DATA = fileURLToPath(new URL("../crates/vision/tests/data", import.meta.url));
let app;
before(async () => {
  app = await demo("gallery");
});
after(async () => {
  await app?.stop();
});

test("a gallery of uploaded cells is confirmed without the mouse and joins the count", async () => {
  const page = await app.staffPage("technologist");
  await page.goto(`${app.base}/cases?status=in_lab`);
  const href = await page.getAttribute("table a[href^='/cases/']", "href");
  await page.goto(`${app.base}${href}`);
  await Promise.all([page.waitForNavigation(), page.click("text=Start or resume my keyboard count")]);
  const countUrl = page.url();
  await Promise.all([page.waitForNavigation(), page.click("text=Count from images")]);
  assert.match(page.url(), /\/counts\/\d+\/gallery/);
  const config = await page.evaluate(() => JSON.parse(document.getElementById("gallery-config").textContent));
  const keyOf = new Map(config.bindings.map(([key, cls]) => [cls, key]));

  // One field (its cells found by the detector) and two single cells.
  const firstOf = (cls) => join(DATA, "marrow-cells", cls, readdirSync(join(DATA, "marrow-cells", cls)).filter((f) => f.endsWith(".jpg")).sort()[0]);
  await page.setInputFiles("#images", [join(DATA, "blood-fields/images/BloodImage_00008.jpg")]);
  await page.click("#upload-button");
  await page.locator("#upload-status").getByText(/1 of 1 image\(s\) analysed/).waitFor();
  await page.check("input[name=kind][value=cell]");
  await page.setInputFiles("#images", [firstOf("LYT"), firstOf("NGS")]);
  await page.click("#upload-button");
  await page.locator("#upload-status").getByText(/2 of 2 image\(s\) analysed; 2 cell\(s\) found/).waitFor();

  const open = page.locator("#gallery button.gallery-cell");
  const total = await open.count();
  assert.ok(total >= 3, `the field's cell(s) and the two single cells are shown (${total})`);
  // Within each group, lowest confidence first.
  const groups = await page.$$eval("#gallery section.gallery-group:not(.decided)", (sections) =>
    sections.map((s) => Array.from(s.querySelectorAll("button.gallery-cell")).map((b) => Number(b.dataset.cell))));
  const confidence = new Map();
  const cells = await (await page.request.get(`${app.base}${new URL(countUrl).pathname}/cells`)).json();
  for (const c of cells) confidence.set(c.id, c.confidence);
  for (const ids of groups) {
    const values = ids.map((id) => confidence.get(id));
    assert.deepEqual(values, [...values].sort((a, b) => a - b), "lowest confidence first");
  }

  // Keyboard only: focus the gallery's current cell, relabel the first as a lymphocyte, accept;
  // mark the second "not a cell"; accept the rest as labelled (a cell without a proposal is
  // labelled "other" first).
  await page.locator("#gallery button.gallery-cell.current").focus();
  await page.keyboard.press(keyOf.get("lymphocytes"));
  await page.locator("#gallery button.gallery-cell.current.relabelled").waitFor();
  await page.keyboard.press("Enter");
  await page.locator("#gallery section.decided").getByText(/Decided \(1\)/).waitFor();
  await page.keyboard.press("Delete");
  await page.locator("#gallery section.decided").getByText(/Decided \(2\)/).waitFor();
  for (let decided = 2; decided < total; decided++) {
    const current = page.locator("#gallery button.gallery-cell.current");
    if (await current.evaluate((b) => b.classList.contains("needs-human"))) await page.keyboard.press(keyOf.get("other"));
    await page.keyboard.press("Enter");
    await page.locator("#gallery section.decided").getByText(`Decided (${decided + 1})`).waitFor();
  }
  assert.equal(await open.count(), 0, "every cell is decided");
  assert.match(await page.textContent("#review-status"), new RegExp(`0 cell\\(s\\) to review; ${total} decided, ${total - 1} counted`));

  // Backspace takes back the last cell counted: it is open for review again.
  await page.keyboard.press(config.undoKey);
  await page.locator("#review-status").getByText(new RegExp(`1 cell\\(s\\) to review; ${total - 1} decided, ${total - 2} counted`)).waitFor();
  await page.locator("#gallery button.gallery-cell.current").focus();
  await page.keyboard.press("Enter");
  await page.locator("#review-status").getByText(new RegExp(`${total} decided, ${total - 1} counted`)).waitFor();

  // The counter shows the image-confirmed cells in the same differential.
  await page.goto(countUrl);
  // A locator wait, not waitForFunction: the page's CSP forbids the eval that polling needs.
  await page.locator("#stored-total", { hasText: new RegExp(`^${total - 1}$`) }).waitFor({ timeout: 10000 });
  assert.ok(Number(await page.textContent('[data-count="lymphocytes"]')) >= 1);
});
