// Live safety findings: as the facts are typed, the form is sent to the server's rules (the
// same ones that decide on saving) and the findings panel is redrawn. Override reasons typed
// into the panel are kept across redraws.
"use strict";

import { live } from "/static/live.js";

const form = document.querySelector("form[action$='/safety-check']");
const panel = document.getElementById("findings");
const blocked = document.getElementById("blocked");
const reasons = new Map();

function text(tag, content, cls) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (cls) node.className = cls;
  return node;
}

let drawn = null; // what the panel shows now, less the override reasons

function draw(body) {
  // Redraw only when the findings change. A redraw replaces the panel's inputs; while a reason
  // is typed the findings stay the same, so the focus (and a screen reader's place) stays in
  // that input, and the live region is not re-announced at every key.
  const shown = JSON.stringify({ ...body, findings: (body.findings ?? []).map(({ reason, ...f }) => f) });
  if (shown === drawn) return;
  drawn = shown;
  for (const input of panel.querySelectorAll("input[name^='override.']")) {
    reasons.set(input.name, input.value);
  }
  // If the focus is in the panel, put it back in the same field after the redraw.
  const active = panel.contains(document.activeElement) ? document.activeElement : null;
  const caret = active ? [active.id, active.selectionStart, active.selectionEnd] : null;
  panel.replaceChildren();
  if (body.error) {
    panel.append(text("p", `Check ${body.error.field}: ${body.error.message}`, "field-error"));
    return;
  }
  if (body.findings.length === 0) panel.append(text("p", "No findings for the facts entered so far."));
  for (const f of body.findings) {
    const box = document.createElement("div");
    box.className = `finding sev-${f.severity}`;
    box.dataset.rule = f.rule;
    const head = document.createElement("p");
    head.append(text("strong", f.severity_label), document.createTextNode(`: ${f.message}`));
    box.append(head, text("p", `Source: ${f.source}`, "note"));
    if (f.blocking) {
      const name = `override.${f.rule}`;
      const label = text("label", `Override "${f.rule_label}": reason`);
      label.htmlFor = `f-${name}`;
      const input = document.createElement("input");
      input.id = `f-${name}`;
      input.name = name;
      input.value = reasons.get(name) ?? f.reason ?? "";
      box.append(label, input);
    }
    panel.append(box);
  }
  blocked.hidden = !body.blocked;
  const again = caret && document.getElementById(caret[0]);
  if (again) {
    again.focus();
    again.setSelectionRange(caret[1], caret[2]);
  }
}

live(form, panel.dataset.url, draw);
