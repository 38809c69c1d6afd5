// What every browser test needs: the real `marrow` binary on a fresh SQLite file with demo
// data, the demo users' passwords it prints, headless chromium, and a staff login.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { chromium } from "playwright-core";

const BIN = process.env.MARROW_BIN || "target/debug/marrow";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/// A loopback port nobody listens on.
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/// Starts `marrow serve --demo` on a fresh database and chromium; `stop()` ends both.
export async function demo(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `marrow-e2e-${prefix}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(BIN, ["serve", "--demo", "--database", `sqlite://${join(dir, "m.db")}`, "--listen", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MARROW_LOG: "warn" },
  });
  let out = "";
  server.stdout.on("data", (d) => (out += d));
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch (_) {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const passwords = {};
  for (const line of out.split("\n")) {
    const m = line.match(/^\s+(\S+)\s+.*\s([0-9a-f]{20})$/);
    if (m) passwords[m[1]] = m[2];
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  return {
    base,
    browser,
    passwords,
    /// A new browser context logged in as the demo `user`; `options` are playwright's context
    /// options (e.g. `{ bypassCSP: true }` to inject a test script such as axe-core).
    async staffPage(user, options = {}) {
      const page = await (await browser.newContext(options)).newPage();
      await page.goto(`${base}/login`);
      await page.fill("#f-username", user);
      await page.fill("#f-password", passwords[user]);
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      return page;
    },
    async stop() {
      await browser.close();
      server.kill("SIGKILL");
    },
  };
}
