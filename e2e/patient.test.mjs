// The patient's own pages on a phone: the discharge sheet and the check-in fit a 360 px wide
// screen without sideways scrolling, every answer and button is at least 44 x 44 CSS px, the
// language switch keeps the patient's link, and a fever answered in Spanish raises the same
// alert for the team as the same answers in English.
//
//   MARROW_BIN=target/debug/marrow node --test e2e/patient.test.mjs
//
// With MARROW_SCREENSHOT_DIR=docs it also saves docs/checkin-360.png and docs/discharge-360.png
// for the README.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { demo } from "./support.mjs";

const PHONE = { width: 360, height: 740 };
const TAP = 44;
const SHOTS = process.env.MARROW_SCREENSHOT_DIR;

let app;
before(async () => {
  app = await demo("patient");
});
after(async () => {
  await app?.stop();
});

/// A nurse prints the discharge sheet of the first performed demo case; its check-in token.
async function printSheet(nurse) {
  await nurse.goto(`${app.base}/cases?status=performed`);
  const href = await nurse.locator("table.list tbody tr a").first().getAttribute("href");
  await nurse.goto(`${app.base}${href}`);
  await Promise.all([nurse.waitForNavigation(), nurse.click("text=Discharge sheet and check-in link")]);
  const link = await nurse.getAttribute("#checkin-link", "href");
  const token = link.match(/\/checkin\/([0-9a-f]{64})/)[1];
  return token;
}

async function phonePage() {
  return (await app.browser.newContext({ viewport: PHONE })).newPage();
}

/// Nothing wider than the screen: no sideways scrolling.
async function assertFitsThePhone(page, what) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${what}: scrollWidth ${width} > ${PHONE.width}`);
}

/// Every answer label, button and stand-alone link is at least 44 x 44 CSS px.
async function assertTapTargets(page, what) {
  const small = await page.evaluate((min) => {
    const targets = document.querySelectorAll("label.choice, button, .button, .language-switch a");
    return [...targets]
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { text: el.textContent.trim(), width: r.width, height: r.height };
      })
      .filter((t) => t.width < min || t.height < min);
  }, TAP);
  assert.deepEqual(small, [], `${what}: tap targets under ${TAP} px`);
  const count = await page.locator("label.choice, button, .button, .language-switch a").count();
  assert.ok(count > 0, `${what}: no tap targets found`);
}

test("the discharge sheet and the check-in fit a 360 px phone, in English and in Spanish", async () => {
  const nurse = await app.staffPage("nurse");
  const token = await printSheet(nurse);
  const phone = await phonePage();

  await phone.goto(`${app.base}/checkin/${token}/sheet`);
  assert.equal(await phone.getAttribute("html", "lang"), "en");
  assert.match(await phone.textContent("h1"), /After your bone marrow test/);
  await assertFitsThePhone(phone, "discharge sheet");
  await assertTapTargets(phone, "discharge sheet");
  if (SHOTS) await phone.screenshot({ path: join(SHOTS, "discharge-360.png"), fullPage: true });

  // The switch keeps the token and turns the whole page, <html lang> included.
  await Promise.all([phone.waitForNavigation(), phone.click("text=Leer en español")]);
  assert.equal(new URL(phone.url()).pathname, `/checkin/${token}/sheet`);
  assert.equal(await phone.getAttribute("html", "lang"), "es");
  assert.match(await phone.textContent("h1"), /Después de su prueba de médula ósea/);
  await assertFitsThePhone(phone, "discharge sheet in Spanish");
  await assertTapTargets(phone, "discharge sheet in Spanish");

  await phone.goto(`${app.base}/checkin/${token}`);
  assert.equal(await phone.getAttribute("html", "lang"), "en");
  await assertFitsThePhone(phone, "check-in form");
  await assertTapTargets(phone, "check-in form");
  if (SHOTS) await phone.screenshot({ path: join(SHOTS, "checkin-360.png"), fullPage: true });

  await Promise.all([phone.waitForNavigation(), phone.click("text=Leer en español")]);
  assert.equal(new URL(phone.url()).pathname, `/checkin/${token}`);
  assert.equal(await phone.getAttribute("html", "lang"), "es");
  assert.match(await phone.textContent("h1"), /¿Cómo se encuentra después de su prueba de médula ósea\?/);
  await assertFitsThePhone(phone, "check-in form in Spanish");
  await assertTapTargets(phone, "check-in form in Spanish");

  // An answer left out: the error, in Spanish, still fits.
  await phone.check("input[name=pain][value=mild]");
  await Promise.all([phone.waitForNavigation(), phone.click("text=Enviar mis respuestas")]);
  assert.match(await phone.textContent(".error-summary"), /elija una respuesta sobre el sangrado/);
  await assertFitsThePhone(phone, "check-in form with an error");
  await assertTapTargets(phone, "check-in form with an error");
});

test("a fever answered in Spanish raises the same alert for the team as in English", async () => {
  const nurse = await app.staffPage("nurse");
  const answer = async (token, lang, button) => {
    const phone = await phonePage();
    await phone.goto(`${app.base}/checkin/${token}?lang=${lang}`);
    await phone.fill("#f-temperature", "38.7");
    await phone.check("input[name=bleeding][value=none]");
    await phone.check("input[name=pain][value=mild]");
    await Promise.all([phone.waitForNavigation(), phone.click(`text=${button}`)]);
    await assertFitsThePhone(phone, `result in ${lang}`);
    return phone;
  };

  const english = await answer(await printSheet(nurse), "en", "Send my answers");
  assert.match(await english.textContent("h1"), /^Call now$/);
  const spanish = await answer(await printSheet(nurse), "es", "Enviar mis respuestas");
  assert.equal(await spanish.getAttribute("html", "lang"), "es");
  assert.match(await spanish.textContent("h1"), /^Llame ahora$/);
  assert.match(await spanish.textContent("main"), /Tiene 38\.7 °C de fiebre/);

  await nurse.goto(`${app.base}/alerts`);
  // The fourth column is what the patient reported, as the team reads it.
  const rows = nurse.locator("table.list tbody tr", { hasText: "38.7" });
  assert.equal(await rows.count(), 2, "two alerts at 38.7 °C");
  const said = [await rows.nth(0).locator("td").nth(3).textContent(), await rows.nth(1).locator("td").nth(3).textContent()];
  assert.equal(said[0].trim(), "You have a fever of 38.7 °C. Call the number on your sheet now.");
  assert.equal(said[1], said[0], "the same alert, whatever the patient's language");
});
