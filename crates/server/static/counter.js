// Marrow keyboard differential counter.
//
// Every key press becomes an event with a client-made id. Events are shown at once, kept in
// localStorage until the server says they are stored (so a reload or a dropped network loses
// nothing), and sent in batches; a resend carries the same ids, so the server counts it once.
// The statistics table (percentages, 95% limits, reference ranges, M:E) comes from the server,
// computed from what is stored, and refreshes after each acknowledgement.
"use strict";

const config = JSON.parse(document.getElementById("counter-config").textContent);
const storageKey = `marrow-counter-${config.countId}`;
// The space bar reports " "; key maps may call it "Space".
const norm = (k) => (k === " " ? "Space" : k);
const classByKey = new Map(config.bindings.map((b) => [norm(b.key), b.class]));
const labels = new Map(config.classes.map((c) => [c.code, c.label]));

// The local log: every event this page knows of, acknowledged or not.
const state = {
  events: config.events.slice(), // [{id, event}] stored on the server, in order
  pending: [],                    // [{id, event, pressed_at}] not yet acknowledged
  paused: false,
  abnormalNext: false,
  sending: false,
  failures: 0,
  lastHundred: 0,
  targetAnnounced: false,
};

const saved = JSON.parse(localStorage.getItem(storageKey) || "[]");
const known = new Set(state.events.map((e) => e.id));
for (const e of saved) if (!known.has(e.id)) state.pending.push(e);

const el = (id) => document.getElementById(id);
let seq = 0;
const sessionTag = Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("");

function persist() {
  localStorage.setItem(storageKey, JSON.stringify(state.pending));
}

// Replays the log the way the server does: a tally pushes a cell, undo pops the last one.
function replay() {
  const stack = [];
  for (const e of state.events.concat(state.pending)) {
    if (e.event === "undo") stack.pop();
    else stack.push(e.event);
  }
  const counts = new Map();
  const abnormal = new Map();
  for (const code of stack) {
    const [, cls, flag] = code.split(":");
    counts.set(cls, (counts.get(cls) || 0) + 1);
    if (flag === "abnormal") abnormal.set(cls, (abnormal.get(cls) || 0) + 1);
  }
  return { counts, abnormal, cells: stack.length };
}

function beep(frequency, ms) {
  try {
    const audio = beep.ctx || (beep.ctx = new (window.AudioContext || window.webkitAudioContext)());
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.value = 0.1;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + ms / 1000);
  } catch (_) {
    // No audio device: the visual notice is enough.
  }
}

function render() {
  const { counts, abnormal } = replay();
  let inCount = 0;
  for (const c of config.classes) {
    const n = counts.get(c.code) || 0;
    if (c.counted) inCount += n;
    const cell = document.querySelector(`[data-count="${c.code}"]`);
    if (cell) cell.textContent = n;
    const ab = document.querySelector(`[data-abnormal="${c.code}"]`);
    if (ab) ab.textContent = abnormal.get(c.code) ? `(${abnormal.get(c.code)} abnormal)` : "";
  }
  for (const c of config.classes) {
    const pct = document.querySelector(`[data-local-percent="${c.code}"]`);
    if (pct) pct.textContent = c.counted && inCount ? ((100 * (counts.get(c.code) || 0)) / inCount).toFixed(1) : "—";
  }
  el("total").textContent = inCount;
  el("target-progress").value = inCount;
  const reached = inCount >= config.target;
  el("target-reached").hidden = !reached;
  if (reached && !state.targetAnnounced) {
    state.targetAnnounced = true;
    beep(1320, 400);
  }
  const hundred = Math.floor(inCount / 100);
  if (hundred > state.lastHundred && !reached) beep(880, 120);
  state.lastHundred = hundred;
  el("pending").textContent = state.pending.length
    ? `${state.pending.length} keystroke(s) waiting to be saved${state.failures ? " (server unreachable; retrying)" : ""}`
    : "All keystrokes saved.";
  el("paused").hidden = !state.paused;
  el("abnormal-next").hidden = !state.abnormalNext;
}

function record(event) {
  seq += 1;
  const e = { id: `${config.countId}-${sessionTag}-${seq}`, event, pressed_at: new Date().toISOString() };
  state.pending.push(e);
  persist();
  render();
  flush();
}

async function flush() {
  if (state.sending || state.pending.length === 0) return;
  state.sending = true;
  const batch = state.pending.slice(0, 500);
  try {
    const response = await fetch(config.eventsUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": config.csrf },
      body: JSON.stringify({ events: batch }),
      credentials: "same-origin",
    });
    if (response.ok) {
      const acked = new Set(batch.map((e) => e.id));
      state.pending = state.pending.filter((e) => !acked.has(e.id));
      state.events.push(...batch.map(({ id, event }) => ({ id, event })));
      state.failures = 0;
      persist();
      scheduleStats();
    } else if (response.status >= 400 && response.status < 500) {
      // Refused for good (count finished, case signed): say so and stop resending.
      const body = await response.json().catch(() => ({}));
      el("refused").textContent = body.error || "The server refused these keystrokes.";
      el("refused").hidden = false;
      state.pending = [];
      persist();
    } else {
      state.failures += 1;
    }
  } catch (_) {
    state.failures += 1;
  }
  state.sending = false;
  render();
  if (state.pending.length) setTimeout(flush, state.failures ? Math.min(5000, 250 * 2 ** state.failures) : 0);
}

let statsTimer = null;
function scheduleStats() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(loadStats, 150);
}

async function loadStats() {
  try {
    const response = await fetch(config.statsUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const stats = await response.json();
    for (const row of stats.classes) {
      const set = (attr, text) => {
        const node = document.querySelector(`[${attr}="${row.class}"]`);
        if (node) node.textContent = text;
      };
      set("data-percent", row.percent === null ? "—" : row.percent.toFixed(1));
      set("data-limits", row.lower === null ? "—" : `${row.lower.toFixed(1)}–${row.upper.toFixed(1)}`);
      set("data-range", row.range);
      const tr = document.querySelector(`tr[data-row="${row.class}"]`);
      if (tr) tr.classList.toggle("outside", row.outside);
    }
    el("me-ratio").textContent = stats.me_ratio_text;
    el("stored-total").textContent = stats.total;
  } catch (_) {
    // Offline: the local counts stay; statistics refresh when the server answers.
  }
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = norm(event.key);
  if (key === norm(config.pauseKey)) {
    state.paused = !state.paused;
    event.preventDefault();
    render();
    return;
  }
  if (state.paused || config.finished) return;
  if (key === norm(config.undoKey)) {
    event.preventDefault();
    record("undo");
    return;
  }
  if (key === norm(config.abnormalKey)) {
    event.preventDefault();
    state.abnormalNext = !state.abnormalNext;
    render();
    return;
  }
  const cls = classByKey.get(key) || classByKey.get(key.toLowerCase());
  if (!cls) return;
  event.preventDefault();
  const abnormal = state.abnormalNext || event.shiftKey;
  state.abnormalNext = false;
  record(abnormal ? `tally:${cls}:abnormal` : `tally:${cls}`);
});

window.addEventListener("online", flush);
setInterval(flush, 3000);
render();
flush();
loadStats();
// Exposed for the browser tests: how many events wait for the server.
window.marrowCounter = { pending: () => state.pending.length, cells: () => replay().cells };
