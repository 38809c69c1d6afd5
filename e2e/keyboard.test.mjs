// Keyboard only (WCAG 2.1.1, 2.4.3, 2.4.7, 3.3.1): the clinician orders a marrow, the nurse
// records the safety check and the patient answers the check-in, each with Tab, typing, Space,
// arrow keys and Enter, never the mouse. Every element the focus lands on must show a visible
// focus indicator. A form sent with an error must move the focus to its error summary (an
// alert), whose link leads to the invalid field, itself described by the visible error text.
// The counter's and the gallery's live regions must change when a key is pressed.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/keyboard.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { demo } from "./support.mjs";

let app;
before(async () => {
  app = await demo("keyboard");
});
after(async () => {
  await app?.stop();
});

// Date and time fields are typed segment by segment, in the order the browser shows them:
// the context pins the locale that decides it (month/day/year, 12-hour clock).
const CONTEXT = { locale: "en-US", timezoneId: "UTC" };

/// What has the focus, enough to recognise it, and whether a focus indicator shows: an
/// outline at least 2px wide, or a box shadow.
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    const shadow = s.boxShadow !== "" && s.boxShadow !== "none";
    return {
      tag: el.tagName.toLowerCase(),
      type: el.type ?? "",
      name: el.getAttribute("name") ?? "",
      id: el.id,
      cls: typeof el.className === "string" ? el.className : "",
      value: el.value ?? "",
      checked: el.checked ?? false,
      text: (el.innerText || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ").slice(0, 80),
      ring: outline || shadow,
      style: `outline ${s.outlineStyle} ${s.outlineWidth}; box-shadow ${s.boxShadow}`,
    };
  });
}

const show = (f) => `${f.tag}${f.type ? `[${f.type}]` : ""}${f.id ? `#${f.id}` : ""}${f.name ? ` name=${f.name}` : ""} "${f.text}"`;

/// Presses Tab and returns what has the focus, which must show a focus indicator.
async function tab(page) {
  await page.keyboard.press("Tab");
  const f = await focused(page);
  assert.ok(f, "Tab moved the focus to an element");
  assert.ok(f.ring, `the focus on ${show(f)} is visible (${f.style})`);
  return f;
}

/// Tabs until `matches` says the focus is where wanted.
async function tabTo(page, matches, what) {
  const seen = [];
  for (let i = 0; i < 250; i++) {
    const f = await tab(page);
    if (matches(f)) return f;
    seen.push(show(f));
  }
  assert.fail(`Tab never reached ${what}; reached: ${seen.slice(-20).join(", ")}`);
}

/// Tabs to the link or button whose text is `text` and activates it with Enter.
async function activate(page, text) {
  await tabTo(page, (f) => (f.tag === "a" || f.tag === "button") && f.text === text, `"${text}"`);
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  return response;
}

/// Selects the radio button `value` of the group that has the focus, with the arrow keys.
async function chooseRadio(page, value) {
  for (let i = 0; i < 20; i++) {
    const f = await focused(page);
    assert.equal(f.type, "radio", "the focus stays in the radio group");
    assert.ok(f.ring, `the focus on ${show(f)} is visible`);
    if (f.value === value) {
      if (!f.checked) await page.keyboard.press("Space");
      return;
    }
    await page.keyboard.press("ArrowDown");
  }
  assert.fail(`no radio button ${value}`);
}

/// Types `iso` ("2026-11-24T08:30") into the focused datetime-local field, segment by segment
/// (month, day, year, hour, minute, AM/PM), and checks the field took it.
async function typeDateTime(page, iso) {
  const [, y, mo, d, h, mi] = iso.match(/^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)$/);
  const hour = Number(h) % 12 === 0 ? 12 : Number(h) % 12;
  await page.keyboard.type(`${mo}${d}${y}`);
  await page.keyboard.press("Tab"); // a year may have more digits: Tab moves to the hour
  await page.keyboard.type(`${String(hour).padStart(2, "0")}${mi}${Number(h) < 12 ? "A" : "P"}`);
  assert.equal((await focused(page)).value, iso, "the date and time field took the typed value");
}

/// The names of the controls a person fills in `form` (hidden fields left out).
function controlNames(page, form) {
  return page.$eval(form, (f) =>
    [...new Set([...f.elements].filter((e) => e.name && e.type !== "hidden" && !e.disabled).map((e) => e.name))].sort(),
  );
}

/// Tabs through the form from wherever the focus is, letting `fill` act on each field as the
/// focus arrives in it, until the focus reaches the submit button labelled `submit`; returns the
/// control names reached. (Tab also steps through the parts of a date field: one arrival.)
async function walkForm(page, submit, fill) {
  const reached = new Set();
  let previous = null;
  for (let i = 0; i < 300; i++) {
    const f = await tab(page);
    if (f.tag === "button" && f.text === submit) return [...reached].sort();
    if (f.name) reached.add(f.name);
    const here = f.id || `${f.name}=${f.value}`;
    if (here !== previous) await fill(f);
    previous = here;
  }
  assert.fail(`Tab never reached the "${submit}" button`);
}

/// A new page logged in as `user` by keyboard: the username field has the focus on load.
async function loginByKeyboard(user) {
  const page = await (await app.browser.newContext(CONTEXT)).newPage();
  await page.goto(`${app.base}/login`);
  // The browser applies `autofocus` at its next rendering update, which on a busy machine can
  // come after the load event: wait for it (bounded), then check.
  await page
    .waitForFunction(() => document.activeElement?.id === "f-username", null, { timeout: 5000 })
    .catch(() => {});
  assert.equal((await focused(page))?.id, "f-username", "the login page starts in the username field");
  await page.keyboard.type(user);
  const password = await tab(page);
  assert.equal(password.id, "f-password");
  await page.keyboard.type(app.passwords[user]);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(new URL(page.url()).pathname, user === "admin" ? "/admin/users" : "/cases");
  return page;
}

/// A date-time `hours` ago, as a datetime-local field holds it (UTC, to the minute).
function hoursAgo(hours) {
  return new Date(Date.now() - hours * 3600000).toISOString().slice(0, 16);
}

test("the clinician orders a marrow with the keyboard alone, and mends an error from the summary", async () => {
  const page = await loginByKeyboard("clinician");
  await activate(page, "Patients");
  await activate(page, "EXAMPLE, Sam");
  await activate(page, "Order a bone marrow aspiration");
  assert.match(page.url(), /\/patients\/\d+\/orders\/new$/);

  const form = "form[action$='/orders']";
  const reached = await walkForm(page, "Place order", async (f) => {
    if (f.name === "indication") await chooseRadio(page, "abnormal-blood-counts");
    else if (f.name === "lineages" && f.value === "platelets-low" && !f.checked) await page.keyboard.press("Space");
    else if (f.name === "sampling") await chooseRadio(page, "aspirate");
    else if (f.name === "urgency") await chooseRadio(page, "urgent");
    else if (f.name === "clinical_details") await page.keyboard.type("Keyboard-only order: platelets 31 on the ward count.");
  });
  assert.deepEqual(reached, await controlNames(page, form), "Tab reached every field of the order form");
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(response.status(), 200, await page.locator("main").innerText());
  assert.match(page.url(), /\/cases\/\d+$/, "the order was placed and its case opened");
  const order = await page.locator("section[aria-labelledby=h-order]").innerText();
  assert.match(order, /Abnormal blood counts/);
  assert.match(order, /Keyboard-only order: platelets 31/);
  assert.match(order, /Urgent/);
  const casePath = new URL(page.url()).pathname;

  // "Other" without the indication in words: refused. The focus moves to the error summary,
  // an alert, whose link leads to the field; the field names the visible error text.
  await activate(page, "Patients");
  await activate(page, "EXAMPLE, Sam");
  await activate(page, "Order a bone marrow aspiration");
  await walkForm(page, "Place order", async (f) => {
    if (f.name === "indication") await chooseRadio(page, "other");
    else if (f.name === "sampling") await chooseRadio(page, "aspirate");
    else if (f.name === "urgency") await chooseRadio(page, "routine");
  });
  const [refused] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(refused.status(), 422);
  const summary = await focused(page);
  assert.equal(summary.id, "error-summary", "the focus is on the error summary after the refused submit");
  assert.equal(await page.getAttribute("#error-summary", "role"), "alert", "the summary is announced as an alert");
  assert.ok(summary.ring, "the focused summary shows the focus");
  const link = await tab(page);
  assert.equal(link.tag, "a", "Tab from the summary reaches its link");
  const target = await page.getAttribute("#error-summary a", "href");
  assert.equal(target, "#f-indication_text");
  const field = page.locator(target);
  assert.equal(await field.getAttribute("aria-invalid"), "true");
  const describedBy = await field.getAttribute("aria-describedby");
  assert.ok(describedBy, "the invalid field has aria-describedby");
  const error = page.locator(`#${describedBy}`);
  assert.ok(await error.isVisible(), "the text the field points at is visible");
  assert.match(await error.innerText(), /\S/);
  await page.keyboard.press("Enter");
  await page.locator(`${target}:focus`).waitFor();
  assert.equal((await focused(page)).id, "f-indication_text", "the summary's link moved the focus to the field");
  await page.keyboard.type("Unexplained bone pain");
  const [placed] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(placed.status(), 200);
  assert.match(page.url(), /\/cases\/\d+$/);
  assert.notEqual(new URL(page.url()).pathname, casePath, "a second order was placed");
  assert.match(await page.locator("section[aria-labelledby=h-order]").innerText(), /Unexplained bone pain/);
  await page.context().close();
});

test("the nurse records the safety check with the keyboard alone", async () => {
  const page = await loginByKeyboard("nurse");
  await activate(page, "Cases");
  // The status filter is a select: the arrow keys choose, Enter on the button applies it.
  await tabTo(page, (f) => f.id === "f-status", "the status filter");
  await page.keyboard.press("ArrowDown"); // "Ordered", the first status after "All"
  await activate(page, "Show");
  assert.match(page.url(), /status=ordered/);
  const caseLink = await tabTo(page, (f) => f.tag === "a" && /^#\d+$/.test(f.text), "the first case");
  const [opened] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(opened.status(), 200);
  await activate(page, "Record safety check");

  const taken = hoursAgo(2);
  const form = "form[action$='/safety-check']";
  const reached = await walkForm(page, "Save safety check", async (f) => {
    if (f.name === "allergies") await page.keyboard.type("Penicillin (rash)");
    else if (f.name === "platelets") await page.keyboard.type("182");
    else if (f.name === "inr") await page.keyboard.type("1.1");
    else if (f.name === "bloods_taken_at") await typeDateTime(page, taken);
    else if (f.name === "escort_arranged" && !f.checked) await page.keyboard.press("Space");
  });
  assert.deepEqual(reached, await controlNames(page, form), "Tab reached every field of the safety check");
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.equal(response.status(), 200);
  assert.equal(new URL(page.url()).pathname, `/cases/${caseLink.text.slice(1)}`, "back on the case");
  assert.match(await page.textContent("#case-status"), /checked/i);
  const safety = await page.locator("section[aria-labelledby=h-safety]").innerText();
  assert.match(safety, /182/);
  assert.match(safety, /Penicillin \(rash\)/);
  await page.context().close();
});

test("the patient answers the check-in with the keyboard alone, and the team sees it", async () => {
  const nurse = await loginByKeyboard("nurse");
  await nurse.goto(`${app.base}/cases?status=performed`);
  await tabTo(nurse, (f) => f.tag === "a" && /^#\d+$/.test(f.text), "the first performed case");
  await Promise.all([nurse.waitForNavigation(), nurse.keyboard.press("Enter")]);
  await activate(nurse, "Give the patient a check-in link");
  const link = (await nurse.textContent("#checkin-link")).trim();

  const phone = await (await app.browser.newContext({ ...CONTEXT, viewport: { width: 360, height: 740 } })).newPage();
  await phone.goto(`${app.base}${link}`);
  const form = "form[action^='/checkin/']";
  const reached = await walkForm(phone, "Send my answers", async (f) => {
    if (f.name === "temperature") await phone.keyboard.type("38.7");
    else if (f.name === "bleeding") await chooseRadio(phone, "none");
    else if (f.name === "swelling" && !f.checked) await phone.keyboard.press("Space");
    else if (f.name === "pain") await chooseRadio(phone, "mild");
    else if (f.name === "notes") await phone.keyboard.type("Typed without a mouse.");
  });
  assert.deepEqual(reached, await controlNames(phone, form), "Tab reached every question of the check-in");
  const [response] = await Promise.all([phone.waitForNavigation(), phone.keyboard.press("Enter")]);
  assert.equal(response.status(), 200);
  assert.match(await phone.textContent("h1"), /Call now/);

  // Saved: the fever raised an alert with the answers on the team's alerts page.
  await nurse.goto(`${app.base}/alerts`);
  const alerts = await nurse.locator("table.list").innerText();
  assert.match(alerts, /38\.7/);
  assert.match(alerts, /Open/);
  await phone.context().close();
  await nurse.context().close();
});

test("the counter and the gallery announce each key press in their live regions", async () => {
  const page = await loginByKeyboard("technologist");
  await page.goto(`${app.base}/cases?status=in_lab`);
  await tabTo(page, (f) => f.tag === "a" && /^#\d+$/.test(f.text), "the first case in the lab");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  await activate(page, "Start or resume my keyboard count");

  const region = page.locator(".counter-status[aria-live=polite]");
  assert.equal(await region.count(), 1, "the counter's status is a polite live region");
  assert.equal(await region.locator("#total").textContent(), "0");
  const config = await page.evaluate(() => JSON.parse(document.getElementById("counter-config").textContent));
  await page.keyboard.press(config.bindings.find((b) => b.class === "lymphocytes").key);
  await region.locator("#total", { hasText: /^1$/ }).waitFor();
  await region.locator("#stored-total", { hasText: /^1$/ }).waitFor({ timeout: 10000 });

  await activate(page, "Count from images");
  const status = page.locator("#review-status[aria-live=polite]");
  assert.equal(await status.getAttribute("role"), "status", "the review status is a status live region");
  const cells = fileURLToPath(new URL("../crates/vision/tests/data/marrow-cells/NGS/", import.meta.url));
  const image = cells + readdirSync(cells).filter((f) => f.endsWith(".jpg")).sort()[0];
  // Choosing a file opens the system's dialog, which a test cannot drive; the rest is keys.
  await tabTo(page, (f) => f.type === "radio" && f.name === "kind", "the image kind");
  await chooseRadio(page, "cell");
  await page.setInputFiles("#images", [image]);
  await tabTo(page, (f) => f.id === "upload-button", "the upload button");
  await page.keyboard.press("Enter");
  await page.locator("#upload-status[role=status]").getByText(/1 of 1 image\(s\) analysed/).waitFor({ timeout: 60000 });
  await status.getByText(/1 cell\(s\) to review/).waitFor();

  // After the upload the focus is on the gallery's current cell, ready for the class keys.
  const cell = await focused(page);
  assert.match(cell.cls, /\bgallery-cell\b.*\bcurrent\b/, `the focus is on the current cell (${show(cell)})`);
  assert.ok(cell.ring, `the focus on the gallery cell is visible (${cell.style})`);
  // The gallery is one Tab stop (a roving tabindex): Shift+Tab leaves it, Tab comes back.
  await page.keyboard.press("Shift+Tab");
  assert.equal((await tab(page)).cls, cell.cls);
  await page.keyboard.press(config.bindings.find((b) => b.class === "lymphocytes").key);
  await status.getByText(/relabelled Lymphocyte/i).waitFor();
  await page.keyboard.press("Enter");
  await status.getByText(/0 cell\(s\) to review; 1 decided, 1 counted/).waitFor();
  await page.context().close();
});
