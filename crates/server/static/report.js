// Live interpretive flags: as the report is written, the form is sent to the server's flag
// rules (the same ones signing records) and the flags panel is redrawn. On the amendment form
// the hidden `flags_shown` field follows what is displayed, so the signed version records the
// flags the pathologist saw.
"use strict";

import { live } from "/static/live.js";

const panel = document.getElementById("flags-list");
const form = document.getElementById("report-form");
const shown = form.querySelector("input[name='flags_shown']");

function item(flag) {
  const li = document.createElement("li");
  li.append(document.createTextNode(`${flag.text} `));
  const source = document.createElement("small");
  source.textContent = `Source: ${flag.source}`;
  li.append(source);
  return li;
}

function draw(body) {
  if (body.error) return; // the field's own error appears on saving
  panel.replaceChildren();
  if (body.flags.length === 0) {
    const none = document.createElement("li");
    none.textContent = "No flags.";
    panel.append(none);
  }
  for (const flag of body.flags) panel.append(item(flag));
  if (shown) shown.value = body.codes;
}

live(form, panel.dataset.url, draw, 300);
