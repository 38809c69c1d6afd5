// Printing in black and white: the signed report, the discharge sheet and the patient timeline
// are printed by chromium (print media, no background colours, as office printers do) and the
// specimen labels and report PDF are rasterised in grey. Each printout is checked for what a
// reader needs: every piece of text dark enough against its background in grey (WCAG 1.4.3's
// 4.5:1, which a monochrome printer keeps), no text below 8 pt, no navigation or buttons, the
// content present in the PDF's text, and pages that are neither blank nor flooded with ink.
// The grey page images are written to $MARROW_PRINT_OUT (default e2e/print-out/) to look at.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/print.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demo } from "./support.mjs";

const OUT = process.env.MARROW_PRINT_OUT || new URL("./print-out/", import.meta.url).pathname;
let app;
before(async () => {
  app = await demo("print");
  mkdirSync(OUT, { recursive: true });
});
after(async () => {
  await app?.stop();
});

/// Under print media, at the printable width of A4: text whose grey contrast with its
/// background is under 4.5:1, smaller than 8 pt or running off the page, and interactive
/// controls still shown.
async function printProblems(page) {
  await page.emulateMedia({ media: "print" });
  // About the printable width of A4 with chromium's default margins, at 96 px per inch.
  await page.setViewportSize({ width: 720, height: 1000 });
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
    const channel = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    // Browsers print without background colours unless asked: the paper is white.
    const problems = [];
    for (const el of document.querySelectorAll("body *")) {
      const style = getComputedStyle(el);
      if (style.display === "none" || style.visibility === "hidden" || el.getClientRects().length === 0) continue;
      if (el.closest("svg") && el.tagName.toLowerCase() !== "text") continue;
      if (["BUTTON", "SELECT", "TEXTAREA"].includes(el.tagName) || (el.tagName === "INPUT" && el.type !== "hidden")) {
        problems.push({ what: "control shown in print", tag: el.tagName, text: el.textContent.trim().slice(0, 40) });
        continue;
      }
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
      if (!text) continue;
      const colour = rgb(el.tagName.toLowerCase() === "text" ? style.fill : style.color);
      const alpha = colour.length > 3 ? colour[3] : 1;
      const ink = colour.slice(0, 3).map((c) => c * alpha + 255 * (1 - alpha));
      const ratio = 1.05 / (luminance(ink) + 0.05);
      if (el.getBoundingClientRect().right > width + 1) problems.push({ what: "runs off the page", tag: el.tagName, text: text.slice(0, 40) });
      if (ratio < 4.5) problems.push({ what: "pale text", tag: el.tagName, text: text.slice(0, 40), ratio: ratio.toFixed(2) });
      const px = parseFloat(style.fontSize);
      // An SVG's text scales with the chart; measure what is printed.
      const printed = el.tagName.toLowerCase() === "text" ? el.getBoundingClientRect().height : px;
      if (printed < 8 * (96 / 72) * 0.9) problems.push({ what: "tiny text", tag: el.tagName, text: text.slice(0, 40), px: printed.toFixed(1) });
    }
    return problems;
  });
}

/// Writes `pdf`, checks its text holds every `expected` pattern, and rasterises each page in
/// grey: returns, per page, the share of dark pixels.
function inspectPdf(name, pdf, expected) {
  const dir = mkdtempSync(join(tmpdir(), "marrow-print-"));
  const file = join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  writeFileSync(join(OUT, `${name}.pdf`), pdf);
  const text = execFileSync("pdftotext", ["-layout", file, "-"]).toString();
  for (const pattern of expected) assert.match(text, pattern, `${name}: ${pattern}`);
  execFileSync("pdftoppm", ["-gray", "-r", "50", file, join(dir, "page")]);
  const shares = [];
  for (const pgm of readdirSync(dir).filter((f) => f.endsWith(".pgm")).sort()) {
    const bytes = readFileSync(join(dir, pgm));
    // Binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel.
    const header = bytes.toString("latin1", 0, 64).match(/^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/);
    const [, w, h] = header.map(Number);
    const pixels = bytes.subarray(header[0].length);
    let dark = 0;
    for (let i = 0; i < w * h; i++) if (pixels[i] < 128) dark++;
    shares.push(dark / (w * h));
    execFileSync("pdftoppm", ["-gray", "-r", "80", "-png", "-f", String(shares.length), "-l", String(shares.length), file, join(OUT, name)]);
  }
  return { text, shares };
}

function assertInked(name, shares) {
  assert.ok(shares.length >= 1, `${name}: at least one page`);
  for (const [i, share] of shares.entries()) {
    assert.ok(share > 0.002, `${name} page ${i + 1} is not blank (${share})`);
    assert.ok(share < 0.3, `${name} page ${i + 1} is not flooded with ink (${share})`);
  }
}

async function loggedIn(user) {
  const page = await (await app.browser.newContext({ bypassCSP: true })).newPage();
  await page.goto(`${app.base}/login`);
  await page.fill("#f-username", user);
  await page.fill("#f-password", app.passwords[user]);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  return page;
}

test("the signed report prints legibly in black and white, and so does its PDF", async () => {
  const page = await loggedIn("pathologist");
  await page.goto(`${app.base}/cases?status=reported`);
  const href = await page.getAttribute("table.list tbody a[href^='/cases/']", "href");
  await page.goto(`${app.base}${href}/report/versions/1`);
  const problems = await printProblems(page);
  assert.deepEqual(problems, [], JSON.stringify(problems, null, 1));
  const { shares } = inspectPdf("report-page", await page.pdf({ format: "A4" }), [/MRN/, /Blasts/, /Signed/i]);
  assertInked("report-page", shares);
  const pdf = await page.request.get(`${app.base}${href}/report/versions/1/pdf`);
  const report = inspectPdf("report", await pdf.body(), [/MRN/, /Blasts/]);
  assertInked("report", report.shares);
});

test("the discharge sheet prints legibly, and the labels read back in grey", async () => {
  const nurse = await loggedIn("nurse");
  await nurse.goto(`${app.base}/cases?status=performed`);
  const href = await nurse.locator("table.list tbody tr a").first().getAttribute("href");
  await nurse.goto(`${app.base}${href}`);
  await Promise.all([nurse.waitForNavigation(), nurse.click("text=Discharge sheet and check-in link")]);
  const problems = await printProblems(nurse);
  assert.deepEqual(problems, [], JSON.stringify(problems, null, 1));
  const sheet = inspectPdf("discharge-page", await nurse.pdf({ format: "A4" }), [/bone marrow test/i]);
  assertInked("discharge-page", sheet.shares);

  const labels = await nurse.request.get(`${app.base}${href}/labels.pdf`);
  assert.equal(labels.status(), 200);
  const dir = mkdtempSync(join(tmpdir(), "marrow-labels-"));
  writeFileSync(join(dir, "labels.pdf"), await labels.body());
  writeFileSync(join(OUT, "labels.pdf"), await labels.body());
  execFileSync("pdftoppm", ["-gray", "-r", "300", "-png", "-f", "1", "-l", "1", join(dir, "labels.pdf"), join(dir, "labels")]);
  const png = readdirSync(dir).find((f) => f.endsWith(".png"));
  const read = execFileSync("zbarimg", ["--quiet", join(dir, png)]).toString();
  assert.match(read, /^CODE-128:/m, "a barcode printed in grey still scans");
});

test("the patient timeline prints its charts and tables legibly", async () => {
  const page = await loggedIn("clinician");
  await page.goto(`${app.base}/patients`);
  await page.getByRole("link", { name: /TIMELINE, Morgan/ }).click();
  await page.getByRole("link", { name: /Timeline: marrows and blood counts/ }).click();
  const problems = await printProblems(page);
  assert.deepEqual(problems, [], JSON.stringify(problems, null, 1));
  const { shares } = inspectPdf("timeline-page", await page.pdf({ format: "A4" }), [/Serial marrows/, /Marrow blasts/, /Haemoglobin/]);
  assertInked("timeline-page", shares);
});
