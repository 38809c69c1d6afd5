// Sends a form to one of the server's rule endpoints as it is edited (debounced) and hands the
// JSON answer to `draw`: the safety findings and the report's interpretive flags both come from
// the same server rules that decide on saving, never from a copy of them in the browser.
"use strict";

export function live(form, url, draw, delay = 250) {
  let timer = null;
  async function refresh() {
    try {
      const response = await fetch(url, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      if (response.ok) draw(await response.json());
    } catch (_) {
      // Offline: the server applies the same rules again on saving.
    }
  }
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  });
  form.addEventListener("change", refresh);
  return refresh;
}
