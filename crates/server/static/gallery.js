// Marrow image-assisted counting: upload images to a count, then confirm each proposed cell
// from the keyboard.
//
// Cells still to review are grouped by the model's proposal ("needs a human" first), lowest
// confidence first within a group, so the doubtful calls get the freshest attention. One cell
// has the focus (a roving tabindex); a class key of the user's key map relabels it, Enter
// accepts its label, Delete marks it "not a cell", Escape restores the proposal, and the undo
// key takes back the last cell counted. Every decision is stored (and counted) by the server
// before the gallery shows it as decided.
"use strict";

const config = JSON.parse(document.getElementById("gallery-config").textContent);
const labelOf = new Map(config.classes.map(([code, label]) => [code, label]));
const classByKey = new Map(config.bindings.map(([key, code]) => [key, code]));
const el = (id) => document.getElementById(id);
const gallery = el("gallery");

let cells = config.cells;
const relabels = new Map(); // cell id -> class code chosen before Enter
let focusId = null;
let busy = false;

const decisionLabel = (code) => (code === "not-a-cell" ? "Not a cell" : labelOf.get(code) || code);
const percent = (p) => `${Math.round(p * 100)} %`;

function reviewOrder() {
  const open = cells.filter((c) => !c.decided);
  const groupRank = (c) => (c.proposed === null ? -1 : config.classes.findIndex(([code]) => code === c.proposed));
  open.sort((a, b) => groupRank(a) - groupRank(b) || a.confidence - b.confidence || a.id - b.id);
  return open;
}

// A cell taken back with Backspace keeps the technologist's earlier label, so Enter puts it
// back as it was; a class key changes it.
function labelFor(cell) {
  if (relabels.has(cell.id)) return relabels.get(cell.id);
  if (cell.decision !== null && cell.decision !== "not-a-cell") return cell.decision;
  return cell.proposed;
}

function describe(cell) {
  const proposal = cell.proposed === null
    ? `no proposal (model's best guess ${cell.model_class}, ${percent(cell.confidence)})`
    : `proposed ${decisionLabel(cell.proposed)}, ${percent(cell.confidence)}`;
  const label = labelFor(cell);
  const now = relabels.has(cell.id) ? `; relabelled ${decisionLabel(label)}` : "";
  return `Cell ${cell.id} from ${cell.file}: ${proposal}${now}`;
}

function cellNode(cell, reviewing) {
  const node = document.createElement(reviewing ? "button" : "figure");
  node.className = "gallery-cell";
  node.dataset.cell = String(cell.id);
  const img = document.createElement("img");
  img.src = cell.crop_url;
  img.width = 96;
  img.height = 96;
  img.alt = "";
  node.append(img);
  const caption = document.createElement(reviewing ? "span" : "figcaption");
  caption.className = "gallery-caption";
  if (reviewing) {
    node.type = "button";
    node.tabIndex = -1;
    const label = labelFor(cell);
    caption.textContent = label === null ? `No label ${percent(cell.confidence)}` : `${decisionLabel(label)} ${percent(cell.confidence)}`;
    if (relabels.has(cell.id)) node.classList.add("relabelled");
    if (label === null) node.classList.add("needs-human");
    // The name starts with the caption a sighted user sees, so speech input can say it
    // (WCAG 2.5.3 label in name); the rest tells a screen reader what the image shows.
    node.setAttribute("aria-label", `${caption.textContent}. ${describe(cell)}`);
    node.addEventListener("click", () => focusCell(cell.id));
  } else {
    caption.textContent = `${decisionLabel(cell.decision)} (model ${cell.model_class} ${percent(cell.confidence)})`;
  }
  node.append(caption);
  return node;
}

function render() {
  const open = reviewOrder();
  gallery.replaceChildren();
  const groups = new Map();
  for (const c of open) {
    const key = c.proposed === null ? "" : c.proposed;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(c);
  }
  for (const [key, members] of groups) {
    const section = document.createElement("section");
    section.className = "gallery-group";
    const h = document.createElement("h3");
    h.textContent = `${key === "" ? "Needs a human" : `Proposed: ${decisionLabel(key)}`} (${members.length})`;
    section.append(h);
    const list = document.createElement("div");
    list.className = "gallery-grid";
    list.setAttribute("role", "group");
    list.setAttribute("aria-label", h.textContent);
    for (const c of members) list.append(cellNode(c, config.editable));
    section.append(list);
    gallery.append(section);
  }
  const decided = cells.filter((c) => c.decided);
  if (decided.length > 0) {
    const section = document.createElement("section");
    section.className = "gallery-group decided";
    const h = document.createElement("h3");
    h.textContent = `Decided (${decided.length})`;
    section.append(h);
    const list = document.createElement("div");
    list.className = "gallery-grid";
    for (const c of decided) list.append(cellNode(c, false));
    section.append(list);
    gallery.append(section);
  }
  const counted = cells.filter((c) => c.counted).length;
  el("review-status").textContent =
    `${open.length} cell(s) to review; ${decided.length} decided, ${counted} counted in the differential.`;
  if (!open.some((c) => c.id === focusId)) focusId = open.length ? open[0].id : null;
  markFocus(false);
}

function markFocus(moveFocus) {
  for (const node of gallery.querySelectorAll("button.gallery-cell")) {
    const mine = node.dataset.cell === String(focusId);
    node.tabIndex = mine ? 0 : -1;
    node.classList.toggle("current", mine);
    if (mine && moveFocus) node.focus();
  }
}

function focusCell(id) {
  focusId = id;
  markFocus(true);
}

function step(delta) {
  const open = reviewOrder();
  if (open.length === 0) return;
  const at = Math.max(0, open.findIndex((c) => c.id === focusId));
  const next = open[Math.min(open.length - 1, Math.max(0, at + delta))];
  focusCell(next.id);
}

function showError(message) {
  const box = el("review-error");
  box.textContent = message;
  box.hidden = message === "";
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.field ? `${body.field}: ${body.error}` : body.error;
  } catch (_) {
    return `the server answered ${response.status}`;
  }
}

async function refresh() {
  const response = await fetch(config.cellsUrl, { credentials: "same-origin" });
  if (!response.ok) {
    showError(await errorText(response));
    return;
  }
  cells = await response.json();
  render();
  markFocus(true);
}

async function decide(cell, decision) {
  if (busy) return;
  busy = true;
  try {
    const open = reviewOrder();
    const after = open[open.findIndex((c) => c.id === cell.id) + 1];
    const response = await fetch(`${config.cellsUrl}/${cell.id}/decision`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": config.csrf },
      body: JSON.stringify({ decision }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      showError(await errorText(response));
      return;
    }
    showError("");
    const stored = await response.json();
    cells = cells.map((c) => (c.id === stored.id ? stored : c));
    relabels.delete(cell.id);
    focusId = after ? after.id : null;
    render();
    markFocus(true);
    el("review-status").textContent = `Cell ${cell.id}: ${decisionLabel(decision)}${stored.counted ? ", counted" : ""}. ` + el("review-status").textContent;
  } finally {
    busy = false;
  }
}

async function undoLast() {
  if (busy) return;
  busy = true;
  try {
    const id = `gallery-undo-${Date.now()}-${Math.random().toString(16).slice(2, 10)}`;
    const response = await fetch(config.eventsUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": config.csrf },
      body: JSON.stringify({ events: [{ id, event: "undo" }] }),
      credentials: "same-origin",
    });
    if (!response.ok) {
      showError(await errorText(response));
      return;
    }
    showError("");
    await refresh();
    markFocus(true);
    el("review-status").textContent = "Took back the last cell counted. " + el("review-status").textContent;
  } finally {
    busy = false;
  }
}

// Keys act on the gallery wherever the focus is, except in the upload form's fields.
document.addEventListener("keydown", (event) => {
  if (!config.editable || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest && event.target.closest("form, input, select, textarea")) return;
  const cell = cells.find((c) => c.id === focusId && !c.decided);
  const key = event.key;
  let handled = true;
  if (key === "ArrowRight" || key === "ArrowDown") step(1);
  else if (key === "ArrowLeft" || key === "ArrowUp") step(-1);
  else if (key === "Home") step(-Infinity);
  else if (key === "End") step(Infinity);
  else if (key === config.undoKey) undoLast();
  else if (!cell) handled = false;
  else if (key === "Enter") {
    const label = labelFor(cell);
    if (label === null) showError(`Cell ${cell.id} has no proposal: press a class key to label it first.`);
    else decide(cell, label);
  } else if (key === "Delete") decide(cell, "not-a-cell");
  else if (key === "Escape") {
    relabels.delete(cell.id);
    render();
    markFocus(true);
  } else if (classByKey.has(key)) {
    relabels.set(cell.id, classByKey.get(key));
    render();
    markFocus(true);
    el("review-status").textContent = `Cell ${cell.id} relabelled ${decisionLabel(classByKey.get(key))}; Enter accepts.`;
  } else handled = false;
  if (handled) event.preventDefault();
});

const form = el("upload-form");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(el("images").files);
    const status = el("upload-status");
    if (files.length === 0) {
      status.textContent = "Choose one or more images first.";
      return;
    }
    const kind = form.querySelector("input[name=kind]:checked").value;
    const scale = el("um-per-px").value.trim();
    el("upload-button").disabled = true;
    let found = 0;
    const failures = [];
    for (const [i, file] of files.entries()) {
      status.textContent = `Analysing ${i + 1} of ${files.length}: ${file.name}…`;
      const query = new URLSearchParams({ kind, name: file.name });
      if (kind === "field" && scale !== "") query.set("um_per_px", scale);
      const response = await fetch(`${config.uploadUrl}?${query}`, {
        method: "POST",
        headers: { "content-type": file.type || "application/octet-stream", "x-csrf-token": config.csrf },
        body: file,
        credentials: "same-origin",
      });
      if (response.ok) found += (await response.json()).cells;
      else failures.push(`${file.name}: ${await errorText(response)}`);
    }
    // The gallery is redrawn before the result is announced, so what is said is on screen.
    await refresh();
    markFocus(true);
    el("upload-button").disabled = false;
    // The button had the focus, and lost it when disabled: with no cell to review, give it back.
    if (!gallery.contains(document.activeElement)) el("upload-button").focus();
    status.textContent = `${files.length - failures.length} of ${files.length} image(s) analysed; ${found} cell(s) found.` +
      (failures.length ? ` Not analysed: ${failures.join("; ")}` : "");
  });
}

render();
markFocus(true);
