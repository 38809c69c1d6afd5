// Automated accessibility checks (WCAG 2.2 AA): axe-core runs inside headless chromium against
// every HTML page of the demo, as each role sees it, in each of its states (empty, filled, with
// errors). A serious or critical violation fails the run. The run prints every page it checked,
// and a last test fails when a GET page route of the server's router (parsed from
// crates/server/src/pages/mod.rs) was not checked, so no page can be skipped silently.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/a11y.test.mjs
//
// axe finds what a machine can find (names, roles, contrast, ids, structure); the keyboard
// test (keyboard.test.mjs) covers focus order and visibility, and neither replaces a person with
// a screen reader.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { demo } from "./support.mjs";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const AXE_VERSION = JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version;
const ROUTER = fileURLToPath(new URL("../crates/server/src/pages/mod.rs", import.meta.url));
const REPORT = fileURLToPath(new URL("./reports/a11y.txt", import.meta.url));

// WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's own tag names).
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const FAILING_IMPACTS = new Set(["serious", "critical"]);

// GET routes that do not answer with an HTML page, so axe has nothing to check. Each is named
// with what it returns; the run fetches those it can reach and checks the content type, so an
// exclusion cannot hide a page.
const NOT_HTML = new Map([
  ["/cases/{id}/report/versions/{version}/text", "the signed report as plain text"],
  ["/cases/{id}/report/versions/{version}/pdf", "the signed report as PDF"],
  ["/cases/{id}/labels.pdf", "specimen labels, PDF"],
  ["/checkin/{token}/sheet.pdf", "the patient's discharge sheet, PDF"],
  ["/counts/{id}/stats", "a count's statistics, JSON for counter.js"],
  ["/counts/{id}/cells", "a count's image cells, JSON for gallery.js"],
  ["/image-cells/{id}/crop.png", "one cell's crop, PNG"],
]);

/// The GET routes of the page router, as written in pages/mod.rs ("/cases/{id}", …).
function pageRoutes() {
  const source = readFileSync(ROUTER, "utf8");
  const routes = [];
  for (const chunk of source.split(".route(").slice(1)) {
    const path = chunk.match(/^\s*"([^"]+)"/);
    if (path && /(^|[^\w])get\(/.test(chunk)) routes.push(path[1]);
  }
  return routes;
}

/// The route that serves `path`: of those that match, the one with the most literal segments,
/// as axum prefers "/patients/new" over "/patients/{id}".
function routeOf(path, routes) {
  const segments = path.split("/");
  let best = null;
  let bestLiterals = -1;
  for (const route of routes) {
    const parts = route.split("/");
    if (parts.length !== segments.length) continue;
    let literals = 0;
    const matches = parts.every((p, i) => {
      if (/^\{[^}]+\}$/.test(p)) return segments[i] !== "";
      // A literal segment, or one with a parameter inside it ("{id}.pdf" is not used here).
      literals += 1;
      return p === segments[i];
    });
    if (matches && literals > bestLiterals) {
      best = route;
      bestLiterals = literals;
    }
  }
  return best;
}

let app;
const checked = []; // { user, state, method, path, status, serious, all, details }
const notHtml = []; // { route, path, type }

before(async () => {
  app = await demo("a11y");
});

after(async () => {
  await app?.stop();
  const routes = pageRoutes();
  const lines = [
    `axe-core ${AXE_VERSION}, tags ${TAGS.join(" ")}; failing impacts: ${[...FAILING_IMPACTS].join(", ")}`,
    `${routes.length} GET routes in crates/server/src/pages/mod.rs, ${NOT_HTML.size} of them not HTML; ` +
      `${new Set(checked.map((c) => routeOf(c.path.split("?")[0], routes)).filter(Boolean)).size} of them checked`,
    `${checked.length} page states checked:`,
    ...checked.map(
      (c) =>
        `${String(c.status).padEnd(4)} ${String(c.serious).padStart(2)} serious/critical ${String(c.all).padStart(2)} all  ` +
        `${c.user.padEnd(13)} ${c.method.padEnd(4)} ${c.path}  [${c.state}]` +
        c.details.map((d) => `\n        ${d}`).join(""),
    ),
    `${notHtml.length} non-HTML responses confirmed:`,
    ...notHtml.map((n) => `     ${n.type.padEnd(28)} ${n.path}`),
  ];
  console.log(lines.join("\n"));
  mkdirSync(fileURLToPath(new URL("./reports/", import.meta.url)), { recursive: true });
  writeFileSync(REPORT, lines.join("\n") + "\n");
  console.log(`(also written to ${REPORT})`);
});

/// Runs axe on the page as it is now and records the result under `state`.
async function audit(page, user, state, response, { method = "GET", path } = {}) {
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    TAGS,
  );
  const url = new URL(page.url());
  const serious = result.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  const details = result.violations.map(
    (v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 4).join(", ")}`,
  );
  checked.push({
    user,
    state,
    method,
    path: path ?? url.pathname + url.search,
    status: response ? response.status() : "-",
    serious: serious.reduce((n, v) => n + v.nodes.length, 0),
    all: result.violations.reduce((n, v) => n + v.nodes.length, 0),
    details,
  });
  return serious;
}

/// A page for `user` (or no one, for the patient) whose CSP lets the test inject axe.
async function pageFor(user) {
  if (user === "patient" || user === "anonymous") {
    return (await app.browser.newContext({ bypassCSP: true })).newPage();
  }
  return app.staffPage(user, { bypassCSP: true });
}

/// Opens `path` and checks it; `expect` is the status the state must answer with.
async function visit(page, user, path, state, expect = 200) {
  const response = await page.goto(`${app.base}${path}`);
  assert.equal(response.status(), expect, `${path} [${state}] answered ${response.status()}`);
  await audit(page, user, state, response, { path });
  return response;
}

/// Submits the form that holds `button` and checks the page it answers with.
async function submit(page, user, button, state, expect) {
  const action = await page.locator(button).evaluate((b) => new URL(b.form.action).pathname);
  const [response] = await Promise.all([page.waitForNavigation(), page.click(button)]);
  // A redirect after a POST is followed: the page shown is the GET it redirected to.
  const method = response.request().method();
  assert.equal(response.status(), expect, `${action} [${state}] answered ${response.status()}`);
  await audit(page, user, state, response, { method, path: method === "POST" ? action : undefined });
  return response;
}

/// The path of the first case listed with `status`.
async function caseWith(page, status) {
  await page.goto(`${app.base}/cases?status=${status}`);
  const href = await page.getAttribute("table.list tbody tr a[href^='/cases/']", "href");
  assert.ok(href, `the demo has a case with status ${status}`);
  return href;
}

/// Confirms that a GET answers with something other than HTML (see NOT_HTML).
async function confirmNotHtml(page, path) {
  const response = await page.request.get(`${app.base}${path}`);
  assert.equal(response.status(), 200, `${path} answered ${response.status()}`);
  const type = response.headers()["content-type"] ?? "";
  assert.doesNotMatch(type, /text\/html/, `${path} is listed as not HTML but answers ${type}`);
  notHtml.push({ route: routeOf(new URL(path, app.base).pathname, pageRoutes()), path, type });
}

/// Fails, naming every serious or critical violation, if any page state checked since `from`
/// (an index into `checked`) has one.
function assertClean(from) {
  const bad = checked.slice(from).filter((c) => c.serious > 0);
  assert.deepEqual(
    bad.map((c) => `${c.method} ${c.path} [${c.state}]: ${c.details.join("; ")}`),
    [],
    "pages with serious or critical accessibility violations",
  );
}

/// A date-time `days` ago, as a datetime-local field takes it (UTC, to the minute).
function daysAgo(days) {
  return new Date(Date.now() - days * 86400000).toISOString().slice(0, 16);
}

test("the checker itself finds a planted violation", async () => {
  // Guards against a run that checks nothing: an image without a text alternative is a
  // critical violation (WCAG 1.1.1), so axe must report it here.
  const page = await pageFor("anonymous");
  await page.goto(`${app.base}/login`);
  await page.evaluate(() => document.querySelector("main").append(document.createElement("img")));
  await page.addScriptTag({ content: AXE_SOURCE });
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
    TAGS,
  );
  assert.ok(result.violations.some((v) => v.id === "image-alt" && v.impact === "critical"));
  await page.context().close();
});

test("login, home for each role and the lists", async () => {
  const from = checked.length;
  const anonymous = await pageFor("anonymous");
  await visit(anonymous, "anonymous", "/login", "empty");
  await anonymous.fill("#f-username", "clinician");
  await anonymous.fill("#f-password", "not-the-password");
  await submit(anonymous, "anonymous", "form[action='/login'] button[type=submit]", "failed login", 401);
  await anonymous.context().close();

  for (const user of ["clinician", "proceduralist", "nurse", "technologist", "pathologist", "admin"]) {
    const page = await pageFor(user);
    const response = await page.goto(`${app.base}/`);
    assert.equal(response.status(), 200);
    await audit(page, user, `home (${new URL(page.url()).pathname})`, response, { path: "/" });
    await page.context().close();
  }

  const clinician = await pageFor("clinician");
  await visit(clinician, "clinician", "/cases", "all cases");
  await visit(clinician, "clinician", "/cases?status=reported", "filtered");
  await visit(clinician, "clinician", "/patients", "list");
  await visit(clinician, "clinician", "/alerts", "no alerts");
  await visit(clinician, "clinician", "/cases/9999999", "not found (error page)", 404);
  await clinician.context().close();
  const technologist = await pageFor("technologist");
  await visit(technologist, "technologist", "/interfaces/hl7", "outbox of signed reports");
  await visit(technologist, "technologist", "/interfaces/held", "no message held");
  await technologist.context().close();
  assertClean(from);
});

test("patients, orders, the timeline and blood counts", async () => {
  const from = checked.length;
  const clinician = await pageFor("clinician");
  await visit(clinician, "clinician", "/patients/new", "empty");
  await clinician.fill("#f-mrn", "A11Y-0001");
  await clinician.fill("#f-family_name", "Accessible");
  await clinician.fill("#f-given_name", "Ada");
  await clinician.fill("#f-date_of_birth", "2999-01-01");
  await clinician.selectOption("#f-sex", { index: 1 });
  await submit(clinician, "clinician", "form[action='/patients'] button[type=submit]", "errors (birth in the future)", 422);
  await clinician.fill("#f-date_of_birth", "1960-02-03");
  await submit(clinician, "clinician", "form[action='/patients'] button[type=submit]", "registered, no marrow yet", 200);
  const fresh = new URL(clinician.url()).pathname;
  await visit(clinician, "clinician", `${fresh}/timeline`, "empty");

  // The demo's monitored patient has blood counts and serial marrows.
  await clinician.goto(`${app.base}/patients`);
  const monitored = await clinician.getAttribute("table.list a:has-text('TIMELINE')", "href");
  await visit(clinician, "clinician", monitored, "with cases and a latest count");
  await visit(clinician, "clinician", `${fresh}/orders/new`, "empty");
  await visit(clinician, "clinician", `${monitored}/orders/new`, "pre-filled from the latest count");
  await clinician.goto(`${app.base}${fresh}/orders/new`);
  await clinician.check("input[name=indication][value=staging]");
  await clinician.check("input[name=lineages] >> nth=0");
  await submit(clinician, "clinician", "form[action$='/orders'] button[type=submit]", "errors (lineages for staging)", 422);

  await visit(clinician, "clinician", `${monitored}/timeline`, "serial marrows, counts and charts");
  await clinician.fill("#f-on", daysAgo(1).slice(0, 10));
  await clinician.selectOption("#f-kind", "other");
  await submit(clinician, "clinician", "form[action$='/milestones'] button[type=submit]", "errors (milestone without details)", 422);

  await visit(clinician, "clinician", `${monitored}/blood-counts/new`, "empty");
  await clinician.fill("#f-taken_at", daysAgo(1));
  await clinician.fill("table.entry tbody input >> nth=0", "lots");
  await submit(clinician, "clinician", "form[action$='/blood-counts'] button[type=submit]", "errors (not a number)", 422);

  await visit(clinician, "clinician", "/blood-counts/import", "empty");
  await clinician.fill("#f-file", "this is not a CSV file");
  await submit(clinician, "clinician", "form[action='/blood-counts/import'] button[type=submit]", "errors (no header)", 422);
  await clinician.fill("#f-file", `mrn,taken_at,analyte,value,unit\nA11Y-0001,${daysAgo(2)},haemoglobin,11.2,g/dL\n`);
  await submit(clinician, "clinician", "form[action='/blood-counts/import'] button[type=submit]", "imported", 200);
  await clinician.context().close();
  assertClean(from);
});

let token; // the check-in link's token, for the patient's pages

test("the ward: safety check, procedure note, check-in link, discharge sheet and the patient's check-in", async () => {
  const from = checked.length;
  const nurse = await pageFor("nurse");
  const ordered = await caseWith(nurse, "ordered");
  await visit(nurse, "nurse", ordered, "ordered");
  await visit(nurse, "nurse", `${ordered}/safety-check`, "empty");
  await nurse.fill("#f-platelets", "many");
  await submit(nurse, "nurse", "form[action$='/safety-check'] button[type=submit]", "errors (not a number)", 422);
  await nurse.fill("#f-platelets", "8");
  await nurse.fill("#f-inr", "1.1");
  await nurse.fill("#f-bloods_taken_at", daysAgo(0.1));
  await nurse.locator(".finding[data-rule]").first().waitFor();
  await audit(nurse, "nurse", "live findings (do not proceed)", null);
  await submit(nurse, "nurse", "form[action$='/safety-check'] button[type=submit]", "blocked by a finding", 409);
  await nurse.fill("#f-platelets", "180");
  await submit(nurse, "nurse", "form[action$='/safety-check'] button[type=submit]", "saved: case checked", 200);
  await visit(nurse, "nurse", `${ordered}/history`, "history");

  const proceduralist = await pageFor("proceduralist");
  const checkedCase = await caseWith(proceduralist, "checked");
  await visit(proceduralist, "proceduralist", checkedCase, "checked");
  await visit(proceduralist, "proceduralist", `${checkedCase}/procedure`, "empty");
  await proceduralist.fill("#f-operator", "Dr Demo");
  await proceduralist.fill("#f-performed_at", daysAgo(0.05));
  await proceduralist.fill("#f-local_anaesthetic", "lidocaine 1% 10 mL");
  await submit(proceduralist, "proceduralist", "form[action$='/procedure'] button[type=submit]", "errors (no time-out)", 422);

  const performed = await caseWith(nurse, "performed");
  await visit(nurse, "nurse", performed, "performed");
  await nurse.goto(`${app.base}${performed}`);
  await submit(nurse, "nurse", "button:has-text('Give the patient a check-in link')", "check-in link shown", 200);
  await nurse.goto(`${app.base}${performed}`);
  await submit(nurse, "nurse", "button:has-text('Discharge sheet and check-in link')", "discharge sheet", 200);
  const link = new URL(await nurse.getAttribute("#checkin-link", "href"), app.base).pathname;
  token = link.split("/").pop();

  const patient = await pageFor("patient");
  await visit(patient, "patient", link, "empty");
  await patient.fill("#f-temperature", "hot");
  await submit(patient, "patient", "form[action^='/checkin/'] button[type=submit]", "errors (not a temperature)", 422);
  await patient.fill("#f-temperature", "38.9");
  await patient.check("input[name=bleeding] >> nth=0");
  await patient.check("input[name=pain] >> nth=0");
  await submit(patient, "patient", "form[action^='/checkin/'] button[type=submit]", "result: call now", 200);
  await confirmNotHtml(patient, `${link}/sheet.pdf`);
  await visit(patient, "patient", `${link}?lang=es`, "empty, in Spanish");
  await visit(patient, "patient", `${link}/sheet`, "discharge sheet, the patient's copy");
  await visit(patient, "patient", `${link}/sheet?lang=es`, "discharge sheet, in Spanish");
  await patient.context().close();

  await visit(nurse, "nurse", "/alerts", "an open alert");
  const clinician = await pageFor("clinician");
  await visit(clinician, "clinician", "/alerts", "an open alert, with acknowledge");
  await clinician.context().close();
  await nurse.context().close();
  await proceduralist.context().close();
  assertClean(from);
});

test("the laboratory: receiving, counting, images, the report, signing and amending", async () => {
  const from = checked.length;
  const tech = await pageFor("technologist");
  await visit(tech, "technologist", "/lab/receive", "specimens awaiting receipt");
  await tech.fill("#f-specimen", "NOT-A-SPECIMEN");
  await submit(tech, "technologist", "form[action='/lab/receive'] button[type=submit]", "errors (not a specimen id)", 422);
  const pending = (await tech.textContent("table.list tbody tr td")).trim();
  await tech.fill("#f-specimen", pending);
  await submit(tech, "technologist", "form[action='/lab/receive'] button[type=submit]", "received", 200);

  const inLab = await caseWith(tech, "in_lab");
  await visit(tech, "technologist", inLab, "in the lab");
  await visit(tech, "technologist", `${inLab}/differential`, "empty");
  await tech.fill("#f-counts\\.blasts", "many");
  await submit(tech, "technologist", "form[action$='/differential'] button[type=submit]", "errors (not a number)", 422);
  await visit(tech, "technologist", `${inLab}/aspirate`, "as recorded");
  await tech.fill("#f-ring_sideroblasts", "some");
  await submit(tech, "technologist", "form[action$='/aspirate'] button[type=submit]", "errors (not a number)", 422);

  // Two people save the same draft: the second is refused and keeps its text.
  await visit(tech, "technologist", `${inLab}/report`, "draft");
  const other = await pageFor("pathologist");
  await other.goto(`${app.base}${inLab}/report`);
  await Promise.all([other.waitForNavigation(), other.click("#report-form button[type=submit]")]);
  await audit(other, "pathologist", "draft saved", null);
  await tech.fill("#f-comment", "Saved second.");
  await submit(tech, "technologist", "#report-form button[type=submit]", "errors (changed by someone else)", 409);

  // The keyboard counter and its gallery, for two observers.
  await tech.goto(`${app.base}${inLab}`);
  await submit(tech, "technologist", "button:has-text('Start or resume my keyboard count')", "counter, nothing counted", 200);
  const countPath = new URL(tech.url()).pathname;
  const config = await tech.evaluate(() => JSON.parse(document.getElementById("counter-config").textContent));
  for (const b of config.bindings.slice(0, 5)) await tech.keyboard.press(b.key);
  await tech.locator("#stored-total", { hasText: /^5$/ }).waitFor({ timeout: 10000 });
  await audit(tech, "technologist", "counter, five cells counted", null);
  await confirmNotHtml(tech, `${countPath}/stats`);
  await visit(tech, "technologist", `${countPath}/gallery`, "gallery, no images");
  const cell = fileURLToPath(new URL("../crates/vision/tests/data/marrow-cells/LYT/", import.meta.url));
  const image = cell + readdirSync(cell).filter((f) => f.endsWith(".jpg")).sort()[0];
  await tech.check("input[name=kind][value=cell]");
  await tech.setInputFiles("#images", [image]);
  await tech.click("#upload-button");
  await tech.locator("#upload-status").getByText(/1 of 1 image\(s\) analysed/).waitFor({ timeout: 60000 });
  await audit(tech, "technologist", "gallery, one cell to review", null);
  await tech.locator("#gallery button.gallery-cell.current").focus();
  if (await tech.locator("#gallery button.gallery-cell.current.needs-human").count()) {
    await tech.keyboard.press(config.bindings.find((b) => b.class === "lymphocytes").key);
  }
  await tech.keyboard.press("Enter");
  await tech.locator("#gallery section.decided").waitFor();
  await audit(tech, "technologist", "gallery, cell decided", null);
  const cells = await (await tech.request.get(`${app.base}${countPath}/cells`)).json();
  await confirmNotHtml(tech, `${countPath}/cells`);
  await confirmNotHtml(tech, `/image-cells/${cells[0].id}/crop.png`);
  await visit(tech, "technologist", `${inLab}/image-cells`, "one image-confirmed cell");
  await visit(tech, "technologist", "/lab/agreement", "one cell decided");
  await visit(tech, "technologist", "/keymaps", "default key map");
  await tech.fill("#f-name", "mine");
  const second = await tech.inputValue("table.form-table tbody input >> nth=1");
  await tech.fill("table.form-table tbody input >> nth=0", second);
  await submit(tech, "technologist", "form[action='/keymaps'] button[type=submit]", "errors (a key used twice)", 422);

  const pathologist = await pageFor("pathologist");
  await pathologist.goto(`${app.base}${inLab}`);
  await submit(pathologist, "pathologist", "button:has-text('Start or resume my keyboard count')", "counter, second observer", 200);
  const key = config.bindings[0].key;
  for (let i = 0; i < 3; i++) await pathologist.keyboard.press(key);
  await pathologist.locator("#stored-total", { hasText: /^3$/ }).waitFor({ timeout: 10000 });
  await visit(pathologist, "pathologist", countPath, "someone else's count, read-only");
  await visit(pathologist, "pathologist", `${inLab}/counts/compare`, "two observers");
  await visit(pathologist, "pathologist", `${countPath}/gallery`, "someone else's gallery, read-only");

  await visit(pathologist, "pathologist", `${inLab}/report/sign`, "review before signing");
  const [signed] = await Promise.all([pathologist.waitForNavigation(), pathologist.click("form[action$='/report/sign'] button")]);
  await audit(pathologist, "pathologist", signed.status() === 409 ? "signing refused" : "signed", signed, {
    method: signed.request().method(),
    path: signed.request().method() === "POST" ? `${inLab}/report/sign` : undefined,
  });

  const reported = await caseWith(pathologist, "reported");
  await visit(pathologist, "pathologist", reported, "reported");
  await visit(pathologist, "pathologist", `${reported}/report/versions/1`, "signed version");
  await confirmNotHtml(pathologist, `${reported}/report/versions/1/text`);
  await confirmNotHtml(pathologist, `${reported}/report/versions/1/pdf`);
  await confirmNotHtml(pathologist, `${reported}/labels.pdf`);
  await visit(pathologist, "pathologist", `${reported}/image-cells`, "no image-confirmed cells");
  await visit(pathologist, "pathologist", `${reported}/report/amend`, "empty reason");
  await pathologist.fill("#f-reason", " ");
  await submit(pathologist, "pathologist", "#report-form button[type=submit]", "errors (no reason)", 422);
  const amended = await caseWith(pathologist, "amended");
  await visit(pathologist, "pathologist", amended, "amended");
  await visit(pathologist, "pathologist", `${amended}/report/versions/1`, "superseded version");
  await visit(pathologist, "pathologist", `${amended}/report/versions/2`, "amendment with its changes");
  await visit(pathologist, "pathologist", `${amended}/history`, "history with an amendment");
  await tech.context().close();
  await other.context().close();
  await pathologist.context().close();
  assertClean(from);
});

test("administration: users and site settings", async () => {
  const from = checked.length;
  const admin = await pageFor("admin");
  await visit(admin, "admin", "/admin/users", "users");
  await admin.fill("#f-username", "newuser");
  await admin.fill("#f-display_name", "New User");
  await admin.fill("#f-password", "short");
  await submit(admin, "admin", "form[action='/admin/users'] button[type=submit]", "errors (short password)", 422);
  await visit(admin, "admin", "/admin/settings", "settings");
  await admin.fill("#f-platelets_min", "lots");
  await submit(admin, "admin", "form[action='/admin/settings/safety'] button[type=submit]", "errors (not a number)", 422);
  await admin.context().close();
  assertClean(from);
});

test("every GET page route of the router was checked, or is listed as not HTML", () => {
  const routes = pageRoutes();
  // A parser that finds nothing would make this test pass vacuously.
  assert.ok(routes.length >= 30, `found only ${routes.length} GET routes in ${ROUTER}`);
  for (const route of NOT_HTML.keys()) {
    assert.ok(routes.includes(route), `NOT_HTML lists ${route}, which the router no longer has`);
  }
  const seen = new Set(checked.map((c) => routeOf(c.path.split("?")[0], routes)));
  const confirmed = new Set(notHtml.map((n) => n.route));
  const unchecked = routes.filter((r) => !seen.has(r) && !NOT_HTML.has(r));
  assert.deepEqual(unchecked, [], "GET page routes with no checked page: add them to a11y.test.mjs");
  const unconfirmed = [...NOT_HTML.keys()].filter((r) => !confirmed.has(r));
  assert.deepEqual(unconfirmed, [], "routes listed as not HTML that the run never fetched");
});
