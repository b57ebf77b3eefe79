// Shared set-up for the UI tests: a Vite dev server on a free port serving test.html (the app over the
// in-memory fake backend), Debian's Chromium driven by playwright-core, and small waiting helpers.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { createServer, type ViteDevServer } from "vite";
import type { FakeSeed } from "../src/testing/fakeBackend.ts";

const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface Harness {
  server: ViteDevServer;
  browser: Browser;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const server = await createServer({
    root: uiDir,
    configFile: path.join(uiDir, "vite.config.ts"),
    logLevel: "error",
    server: { port: 0, strictPort: false, host: "127.0.0.1", hmr: false },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === "string") throw new Error("Vite did not report a port");
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--lang=fr-FR",
    ],
  });
  return {
    server,
    browser,
    baseUrl,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

export interface OpenOptions {
  seed?: FakeSeed;
  /** Install Playwright's fake clock before the app loads. */
  clock?: boolean;
}

export async function openApp(h: Harness, options: OpenOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await h.browser.newContext({
    viewport: { width: 1366, height: 768 },
    locale: "fr-FR",
    timezoneId: "Europe/Paris",
  });
  // The WebView never asks for a favicon; Chromium does. Answer it so real 404s stay visible.
  await context.route("**/favicon.ico", (route) => route.fulfill({ status: 204, body: "" }));
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  page.on("console", (m) => {
    if (m.type() === "error") console.error("console error:", m.text());
  });
  if (options.clock) await page.clock.install();
  await page.addInitScript((seed) => {
    (window as unknown as { __TANDEM_FAKE_SEED__?: unknown }).__TANDEM_FAKE_SEED__ = seed;
  }, options.seed ?? {});
  await page.goto(`${h.baseUrl}/test.html`);
  await page.locator("h1").first().waitFor();
  return { context, page };
}

const TIMEOUT = 5_000;

/** Retries `check` until it stops throwing, or rethrows its last error after `timeout` ms. */
export async function eventually(check: () => Promise<void> | void, timeout = TIMEOUT): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() - start > timeout) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function expectText(locator: Locator, expected: string | RegExp, timeout = TIMEOUT): Promise<void> {
  let last = "";
  try {
    await eventually(async () => {
      last = (await locator.first().textContent({ timeout: 500 })) ?? "";
      const ok = typeof expected === "string" ? last.includes(expected) : expected.test(last);
      if (!ok) throw new Error("not yet");
    }, timeout);
  } catch {
    throw new Error(`Expected ${String(locator)} to contain ${String(expected)}, got ${JSON.stringify(last)}`);
  }
}

export async function expectVisible(locator: Locator, timeout = TIMEOUT): Promise<void> {
  await locator.first().waitFor({ state: "visible", timeout });
}

export async function expectHidden(locator: Locator, timeout = TIMEOUT): Promise<void> {
  await locator.first().waitFor({ state: "hidden", timeout });
}

/** What the in-memory fake backend holds, read from the page. */
export async function fakeState(page: Page) {
  return page.evaluate(() => {
    const fake = (window as unknown as { __tandemFake: { persons: Map<string, unknown>; state: string; profile: unknown } }).__tandemFake;
    return { state: fake.state, profile: fake.profile, persons: [...fake.persons.values()] as Record<string, unknown>[] };
  });
}

let axeSource: string | null = null;

/** Runs axe-core on the page; fails on any violation of impact serious or critical, printing them. */
export async function assertNoSeriousA11yViolations(page: Page, label: string): Promise<void> {
  axeSource ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  const loaded = await page.evaluate(() => "axe" in window);
  if (!loaded) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[]; failureSummary: string }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary}`),
    }));
  });
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = violations.filter((v) => !(v.impact === "serious" || v.impact === "critical"));
  if (minor.length > 0) {
    console.log(`[axe] ${label}: ${minor.length} minor/moderate finding(s): ${minor.map((v) => v.id).join(", ")}`);
  }
  if (serious.length > 0) {
    throw new Error(`axe found serious/critical violations on « ${label} »:\n${JSON.stringify(serious, null, 2)}`);
  }
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  if (process.env.TANDEM_SCREENSHOTS === "0") return;
  await page.screenshot({ path: path.join(uiDir, "screenshots-dev", `${name}.png`), fullPage });
}

/** Creates the profile through the first-run screen. */
export async function createProfile(page: Page, passphrase = "une phrase de passe solide"): Promise<void> {
  await page.getByLabel("Nom et prénom").fill("Camille Durand");
  await page.getByLabel("Structure").fill("Mission locale de Villeurbanne");
  await page.getByLabel("Emploi", { exact: true }).check();
  await page.getByLabel("Phrase de passe", { exact: true }).fill(passphrase);
  await page.getByLabel("Confirmation de la phrase de passe").fill(passphrase);
  await page.getByRole("button", { name: "Créer mon profil" }).click();
  await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
}

export const UNLOCKED_WITH_TWO: FakeSeed = {
  state: "unlocked",
  persons: [
    { first_name: "Hélène", last_name: "Lefèvre", birth_date: "1985-07-14", commune: "Villeurbanne", rsa_status: "open" },
    { first_name: "Jérôme", last_name: "Martin", birth_date: "2004-03-02", commune: "Vaulx-en-Velin", rsa_status: "none" },
  ],
};
