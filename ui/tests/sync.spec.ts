// Sync as the caseworker sees it, against the fake backend's simulated server (src/testing/fakeSync.ts):
// the sync bar in each state, enrolment in the settings, progress then « À jour », conflicts resolved
// side by side with the keyboard only, and a laptop revoked by the territory.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import type { FakeSeed } from "../src/testing/fakeBackend.ts";
import { POLL_IDLE_MS } from "../src/lib/syncStore.ts";
import {
  assertNoSeriousA11yViolations,
  createProfile,
  eventually,
  expectHidden,
  expectText,
  expectVisible,
  fakeState,
  openApp,
  screenshot,
  startHarness,
  UNLOCKED_WITH_TWO,
  type Harness,
} from "./harness.ts";

const NBSP = "\u00a0";

/** Calls a test hook of the fake server: window.__tandemFake.sync[name](...args). */
async function hook(page: Page, name: string, ...args: unknown[]): Promise<void> {
  await page.evaluate(
    ({ name, args }) => {
      const sync = (window as unknown as { __tandemFake: { sync: Record<string, (...a: unknown[]) => void> } }).__tandemFake.sync;
      const fn = sync[name];
      if (!fn) throw new Error(`no hook ${name}`);
      fn(...args);
    },
    { name, args },
  );
}

async function fakeConflictIds(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    (window as unknown as { __tandemFake: { sync: { conflicts: { id: string }[] } } }).__tandemFake.sync.conflicts.map((c) => c.id),
  );
}

async function lastCall(page: Page, cmd: string): Promise<unknown> {
  return page.evaluate(
    (cmd) => (window as unknown as { __tandemFake: { calls: { cmd: string; args: unknown }[] } }).__tandemFake.calls.filter((c) => c.cmd === cmd).pop()?.args,
    cmd,
  );
}

async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    const described = (el.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .map((id) => (id ? document.getElementById(id)?.textContent : ""))
      .join(" ");
    return `${el.tagName.toLowerCase()}|${el.getAttribute("data-testid") ?? ""}|${(el.textContent ?? "").trim()}|${described}`;
  });
}

async function tabUntil(page: Page, match: (f: string) => boolean, max = 40): Promise<string> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f);
    if (match(f)) return f;
  }
  throw new Error(`Never reached the target by Tab; went through:\n${seen.join("\n")}`);
}

function seed(sync: FakeSeed["sync"], extra: Partial<FakeSeed> = {}): FakeSeed {
  return { ...UNLOCKED_WITH_TWO, ...extra, sync };
}

describe("synchronisation", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  async function open(s: FakeSeed): Promise<Page> {
    const { context, page } = await openApp(h, { seed: s });
    contexts.push(context);
    await expectVisible(page.getByTestId("sync-indicator"));
    return page;
  }

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await h?.close();
  });

  it("la barre de synchronisation : non connecté, à jour, modifications à envoyer, conflits, hors ligne", async () => {
    const alone = await open(UNLOCKED_WITH_TWO);
    const bar = alone.getByTestId("sync-indicator");
    await expectText(bar, "Non connecté au serveur");
    await expectText(bar, "le dossier reste sur cet ordinateur");
    assert.equal(await bar.getByRole("button", { name: "Synchroniser" }).count(), 0);

    const page = await open(seed({ enrolled: true, pendingChanges: 3, lastSyncedAt: new Date().toISOString(), conflicts: "demo" }));
    const sync = page.getByTestId("sync-indicator");
    await expectText(sync.getByTestId("sync-state"), "À jour");
    await expectText(sync, /dernière synchronisation à \d{1,2}\u00a0h\u00a0\d{2}/);
    await expectText(sync, "3 modifications à envoyer");
    await expectText(sync.getByRole("link", { name: "3 conflits à résoudre" }), "3 conflits à résoudre");
    assert.equal(await sync.getByRole("button", { name: "Synchroniser" }).getAttribute("aria-disabled"), null);
    await screenshot(page, "20-barre-synchronisation-a-jour");

    // The network goes away; « Synchroniser » tries, and the bar says so with the reason.
    await hook(page, "setOnline", false);
    await sync.getByRole("button", { name: "Synchroniser" }).click();
    await expectText(sync.getByTestId("sync-state"), "Hors ligne");
    await expectText(sync.getByTestId("sync-details"), "Le serveur du territoire ne répond pas.");
    await expectText(sync, "3 modifications à envoyer");
    await expectText(page.getByTestId("sync-announcement"), "Hors ligne.");
    await assertNoSeriousA11yViolations(page, "barre de synchronisation hors ligne");

    // An error other than the network.
    await hook(page, "fail", "Le serveur a refusé la synchronisation.");
    await sync.getByRole("button", { name: "Synchroniser" }).click();
    await expectText(sync.getByTestId("sync-state"), "Synchronisation impossible");
    await expectText(sync.getByTestId("sync-details"), "Le serveur a refusé la synchronisation.");
  });

  it("la barre reste visible quand la page défile, sans masquer l’en-tête collant de la fiche", async () => {
    const page = await open(seed({ enrolled: true, conflicts: "demo" }));
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await page.mouse.wheel(0, 2_000);
    await eventually(async () => assert.ok((await page.evaluate(() => window.scrollY)) > 200));
    const bar = await page.getByTestId("sync-indicator").boundingBox();
    const head = await page.locator(".page-head--sticky").boundingBox();
    assert.ok(bar && head, "both are laid out");
    assert.ok(Math.abs(bar.y) < 1, `the bar is at the top: ${JSON.stringify(bar)}`);
    assert.ok(head.y >= bar.y + bar.height - 1, `the screen's header sits below the bar: ${JSON.stringify({ bar, head })}`);
    await expectVisible(page.getByRole("link", { name: "3 conflits à résoudre" }));
  });

  it("synchroniser : la barre de progression avance, puis « À jour » et les nouveaux conflits", async () => {
    const page = await open(seed({ enrolled: true, manual: true, pendingChanges: 2, lastSyncedAt: "2026-11-20T08:30:00Z", incomingConflicts: "demo" }));
    const sync = page.getByTestId("sync-indicator");
    await expectText(sync.getByTestId("sync-state"), "À jour");
    await expectText(sync, /dernière synchronisation le \d{1,2}(er)? \p{L}+( \d{4})? à 9\u00a0h\u00a030/u);
    const button = sync.getByRole("button", { name: "Synchroniser" });
    await button.click();

    // Connecting: the amount of work is not known yet.
    const bar = page.getByRole("progressbar", { name: "Synchronisation…" });
    await expectVisible(bar);
    assert.equal(await bar.getAttribute("aria-valuenow"), null);
    assert.equal(await button.getAttribute("aria-disabled"), "true");
    await expectText(page.getByTestId("sync-announcement"), "Synchronisation en cours.");
    await assertNoSeriousA11yViolations(page, "synchronisation en cours (indéterminée)");

    await hook(page, "advance", 0.4);
    await eventually(async () => assert.equal(await bar.getAttribute("aria-valuenow"), "40"));
    await screenshot(page, "21-synchronisation-en-cours");
    // A progress tick is not a state change: nothing new for screen readers.
    await expectText(page.getByTestId("sync-announcement"), "Synchronisation en cours.");
    await hook(page, "advance", 0.8);
    await eventually(async () => assert.equal(await bar.getAttribute("aria-valuenow"), "80"));
    await assertNoSeriousA11yViolations(page, "synchronisation en cours (80 %)");

    await hook(page, "finish");
    await expectText(sync.getByTestId("sync-state"), "À jour");
    await expectHidden(bar);
    await expectText(sync, /dernière synchronisation à \d{1,2}\u00a0h\u00a0\d{2}/);
    assert.equal(await sync.getByText("modifications à envoyer").count(), 0);
    await expectText(sync.getByRole("link"), "3 conflits à résoudre");
    await expectText(page.getByTestId("sync-announcement"), "Synchronisation terminée, le dossier est à jour. 3 conflits à résoudre.");
    assert.equal(await button.getAttribute("aria-disabled"), null);
  });

  it("relier l’ordinateur au serveur : chaque erreur à sa place, puis la structure et le serveur", async () => {
    const page = await open(seed({ manual: true, structureName: "Mission locale de Villeurbanne" }));
    await page.getByRole("button", { name: "Paramètres" }).click();
    const dialog = page.getByRole("dialog", { name: "Paramètres" });
    await expectVisible(dialog);
    const section = dialog.getByRole("region", { name: "Serveur du territoire" });
    await expectText(section, "ABCD-EFGH-JKLM-NPQR");
    const url = section.getByLabel("Adresse du serveur");
    const code = section.getByLabel("Code à usage unique");
    const submit = section.getByRole("button", { name: "Relier cet ordinateur" });

    const errorOf = async (field: typeof url) => {
      const ids = ((await field.getAttribute("aria-describedby")) ?? "").split(" ");
      return page.locator(`[id="${ids[ids.length - 1] ?? ""}"]`);
    };

    // Nothing typed: both fields say so, focus on the first.
    await submit.click();
    await eventually(async () => assert.equal(await url.getAttribute("aria-invalid"), "true"));
    assert.equal(await code.getAttribute("aria-invalid"), "true");
    await expectText(await errorOf(url), "Ce champ est obligatoire.");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "server_url"));
    await assertNoSeriousA11yViolations(page, "paramètres, serveur avec erreurs");
    await screenshot(page, "22-relier-au-serveur-erreurs");

    // A code too short is refused before asking the server.
    await url.fill("tandem.grand-lyon");
    await code.fill("abcd-efgh");
    await submit.click();
    await expectText(await errorOf(code), "16 lettres ou chiffres");
    assert.equal(await url.getAttribute("aria-invalid"), null);

    // The backend refuses the address (field server_url).
    await code.fill("abcd efgh jklm npqr");
    await submit.click();
    await eventually(async () => assert.equal(await url.getAttribute("aria-invalid"), "true"));
    await expectText(await errorOf(url), "Cette adresse n’est pas valide.");
    assert.deepEqual(await lastCall(page, "enrol_device"), { serverUrl: "tandem.grand-lyon", code: "ABCD-EFGH-JKLM-NPQR" });

    // A code the server does not know.
    await url.fill("https://tandem.grand-lyon.example/");
    await code.fill("ABCD-EFGH-JKLM-NPQX");
    await submit.click();
    await eventually(async () => assert.equal(await code.getAttribute("aria-invalid"), "true"));
    await expectText(await errorOf(code), "Ce code n’est pas reconnu");
    assert.equal(await url.getAttribute("aria-invalid"), null);

    // The server cannot be reached.
    await hook(page, "setOnline", false);
    await code.fill("ABCDEFGHJKLMNPQR");
    await submit.click();
    await expectText(section.getByTestId("enrol-error"), "Le serveur du territoire ne répond pas.");
    assert.equal(await code.getAttribute("aria-invalid"), null);

    // The server speaks a newer protocol.
    await hook(page, "setOnline", true);
    await hook(page, "requireUpgrade", true);
    await submit.click();
    await expectText(section.getByTestId("enrol-error"), "version plus récente de Tandem");
    await assertNoSeriousA11yViolations(page, "paramètres, serveur injoignable");

    // Lower case, no dashes: accepted.
    await hook(page, "requireUpgrade", false);
    await code.fill("abcdefghjklmnpqr");
    await submit.click();
    await expectText(section.getByTestId("enrol-success"), "Mission locale de Villeurbanne");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "enrol-success"));
    const facts = section.getByTestId("server-facts");
    await expectText(facts, "https://tandem.grand-lyon.example");
    await expectText(facts, "Mission locale de Villeurbanne");
    assert.equal(await section.getByTestId("enrol-form").count(), 0);
    assert.deepEqual(await lastCall(page, "enrol_device"), { serverUrl: "https://tandem.grand-lyon.example/", code: "ABCD-EFGH-JKLM-NPQR" });
    await screenshot(page, "23-relie-au-serveur");
    await assertNoSeriousA11yViolations(page, "paramètres, relié au serveur");

    // The first sync starts at once and shows under the banner.
    await dialog.getByRole("button", { name: "Fermer" }).click();
    await expectHidden(page.getByRole("dialog"));
    await expectVisible(page.getByRole("progressbar", { name: "Synchronisation…" }));
    await hook(page, "finish");
    await expectText(page.getByTestId("sync-state"), "À jour");

    // Opened again, the settings show the server, not the form.
    await page.getByRole("button", { name: "Paramètres" }).click();
    await expectText(page.getByRole("dialog").getByTestId("server-facts"), "https://tandem.grand-lyon.example");
    assert.equal(await page.getByTestId("enrol-form").count(), 0);
    assert.equal(await page.getByTestId("enrol-success").count(), 0);
  });

  it("résoudre un conflit au clavier seul, les valeurs côte à côte", async () => {
    const page = await open(seed({ enrolled: true, conflicts: "demo", lastSyncedAt: new Date().toISOString() }));
    await expectText(page.getByTestId("result-count"), "2 personnes");
    // From the screen's heading, backwards to the sync bar's link; Enter opens the conflicts.
    await eventually(async () => assert.match(await focused(page), /^h1\|/));
    await page.keyboard.press("Shift+Tab");
    assert.match(await focused(page), /Synchroniser/);
    await page.keyboard.press("Shift+Tab");
    assert.match(await focused(page), /^a\|sync-conflicts\|.*3 conflits à résoudre/);
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { level: 1, name: "Conflits à résoudre" }));
    assert.equal(await page.title(), "Conflits à résoudre — Tandem");
    await eventually(async () => assert.match(await focused(page), /^h1\|\|Conflits à résoudre/));

    // Grouped by person, record and field named, the values side by side with author and time.
    const persons = page.getByTestId("conflict-person");
    await eventually(async () => assert.equal(await persons.count(), 2));
    await expectText(persons.nth(0).getByRole("heading", { level: 2 }), "Hélène Lefèvre");
    await expectText(persons.nth(1).getByRole("heading", { level: 2 }), "Jérôme Martin");
    const phone = persons.nth(0).getByTestId("conflict").nth(0);
    await expectText(phone.getByRole("heading", { level: 3 }), "Téléphone");
    await expectText(phone.getByRole("heading", { level: 3 }), "Fiche de la personne");
    const options = phone.getByTestId("conflict-option");
    assert.equal(await options.count(), 2);
    await expectText(options.nth(0), "06 12 34 56 78");
    await expectText(options.nth(0), "Mission locale de Villeurbanne · Camille Durand");
    await expectText(options.nth(0), `le 26 novembre 2026 à 14${NBSP}h${NBSP}05`);
    await expectText(options.nth(0).getByTestId("conflict-shown"), "Affichée actuellement");
    await expectText(options.nth(1), "07 98 76 54 32");
    await expectText(options.nth(1), "Département du Rhône · Sophie Bernard");
    assert.equal(await options.nth(1).getByTestId("conflict-shown").count(), 0);
    const [a, b] = [await options.nth(0).boundingBox(), await options.nth(1).boundingBox()];
    assert.ok(a && b, "both options are laid out");
    assert.ok(Math.abs(a.y - b.y) < 2 && b.x >= a.x + a.width, `side by side: ${JSON.stringify({ a, b })}`);
    await expectText(persons.nth(0).getByTestId("conflict").nth(1), "Diagnostic du 12 mars 2026");
    await screenshot(page, "24-conflits");

    // Keyboard only: Tab to « Garder cette valeur » under the other number, Enter.
    const target = await tabUntil(page, (f) => f.startsWith("button|keep-value|") && f.includes("07 98 76 54 32"));
    assert.match(target, /Garder cette valeur/);
    await page.keyboard.press("Enter");
    await expectText(page.getByTestId("conflict-done"), "la valeur «\u202f07 98 76 54 32\u202f» est gardée");
    await eventually(async () => assert.deepEqual(await fakeConflictIds(page), ["conflict-helene-orientation", "conflict-jerome-commune"]));
    assert.deepEqual(await lastCall(page, "resolve_conflict"), {
      conflictId: "conflict-helene-phone",
      mutationId: "0193a1b2-0000-7000-8000-000000000002",
    });
    await eventually(async () => assert.equal(await page.getByTestId("conflict").count(), 2));
    await expectText(page.getByTestId("sync-conflicts"), "2 conflits à résoudre");
    await expectText(page.getByTestId("conflicts-count"), "2 conflits à résoudre");
    // Focus went on to the conflict that took its place.
    await eventually(async () => assert.match(await focused(page), /^h3\|\|Orientation proposée/));

    // The next two, still with the keyboard: from the heading, Tab reaches the first value's button.
    await tabUntil(page, (f) => f.startsWith("button|keep-value|") && f.includes("Socioprofessionnelle"));
    await page.keyboard.press("Enter");
    await eventually(async () => assert.match(await focused(page), /^h3\|\|Commune/));
    await tabUntil(page, (f) => f.startsWith("button|keep-value|") && f.includes("Vaulx-en-Velin"));
    await page.keyboard.press("Space");
    await expectText(page.getByTestId("conflicts-empty"), "Aucun conflit à résoudre");
    await eventually(async () => assert.match(await focused(page), /conflicts-empty/));
    await expectHidden(page.getByTestId("sync-conflicts"));
    assert.deepEqual(await fakeConflictIds(page), []);
    await assertNoSeriousA11yViolations(page, "conflits (aucun)");
  });

  it("écran des conflits : accessible, sans défilement horizontal à 1366×768", async () => {
    const page = await open(seed({ enrolled: true, conflicts: "demo" }));
    await hook(page, "addConflicts", [
      {
        id: "conflict-long",
        person_id: "person-awa",
        person_name: "Awa Diallo",
        record: "Diagnostic du 3 novembre 2026",
        field_label: "Ce que la personne dit de sa situation",
        options: [
          {
            mutation_id: "m-long-1",
            value: `${"Je voudrais travailler dans la logistique, près de chez moi, à temps partiel le matin. ".repeat(4)}https://exemple.fr/${"x".repeat(120)}`,
            author: "Association Passerelle · Nadia Haddad",
            at: "2026-11-03T09:00:00Z",
            shown: true,
          },
          { mutation_id: "m-long-2", value: "", author: "Mission locale Est · Hélène Martin", at: "2026-11-03T09:01:00Z", shown: false },
          { mutation_id: "m-long-3", value: "Logistique", author: "CCAS de Villeurbanne · Karim Benali", at: "2026-11-03T09:02:00Z", shown: false },
        ],
      },
    ]);
    await page.evaluate(() => {
      window.location.hash = "#/conflits";
    });
    await expectVisible(page.getByRole("heading", { level: 1, name: "Conflits à résoudre" }));
    await eventually(async () => assert.equal(await page.getByTestId("conflict").count(), 4));
    await expectText(page.getByTestId("conflict").nth(3), "Aucune valeur (champ vidé)");
    await assertNoSeriousA11yViolations(page, "conflits");
    await screenshot(page, "24b-conflits-page-entiere", true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  });

  it("les modifications refusées par le serveur : la raison de chacune, depuis la barre", async () => {
    const page = await open(seed({ enrolled: true, refusedChanges: 2, lastSyncedAt: new Date().toISOString() }));
    const sync = page.getByTestId("sync-indicator");
    await expectText(sync, "2 modifications refusées par le serveur");
    await sync.getByRole("link", { name: "Voir les modifications refusées" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Modifications refusées" }));
    assert.equal(await sync.getByRole("link", { name: "Voir les modifications refusées" }).getAttribute("aria-current"), "page");
    const items = page.getByTestId("refused-change");
    await eventually(async () => assert.equal(await items.count(), 2));
    await expectText(items.nth(0), "Téléphone");
    await expectText(items.nth(0), "Hélène Lefèvre");
    await expectText(items.nth(0).getByTestId("refused-reason"), "la personne n’a pas donné son accord");
    await expectText(items.nth(1).getByTestId("refused-reason"), "créez-en une nouvelle version");
    await assertNoSeriousA11yViolations(page, "modifications refusées");
    await screenshot(page, "24c-modifications-refusees");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
    // Each item links to the person's file.
    assert.equal(await items.nth(0).getByRole("link", { name: "Hélène Lefèvre" }).getAttribute("href"), "#/personne/person-helene");
  });

  it("un ordinateur retiré par le territoire : le message, puis le premier démarrage", async () => {
    const page = await open(seed({ enrolled: true, conflicts: "demo" }));
    await expectText(page.getByTestId("result-count"), "2 personnes");
    // The worker meets the revocation in the background; the next poll of the sync bar learns it.
    await hook(page, "revoke");
    const alert = page.getByRole("alertdialog", { name: "Cet ordinateur a été retiré du territoire" });
    await expectVisible(alert, POLL_IDLE_MS + 3_000);
    await expectText(alert, "L’administrateur du territoire a retiré cet ordinateur.");
    await expectText(alert, "a été effacé");
    await expectText(alert, "service informatique de votre territoire");
    await eventually(async () => assert.match(await focused(page), /revoked-ok/));
    await screenshot(page, "25-ordinateur-retire");
    await assertNoSeriousA11yViolations(page, "ordinateur retiré");
    // Behind it already: the first-run screen, and nothing of the erased file.
    await expectHidden(page.getByTestId("sync-indicator"));
    await page.keyboard.press("Enter");
    await expectHidden(alert);
    await expectVisible(page.getByRole("heading", { level: 1, name: "Bienvenue dans Tandem" }));
    const state = await fakeState(page);
    assert.equal(state.state, "first_run");
    assert.equal(state.persons.length, 0);

    // A new profile starts afresh, alone until enrolled again.
    await createProfile(page);
    await expectText(page.getByTestId("sync-indicator"), "Non connecté au serveur");
    await expectText(page.getByTestId("result-count"), "Aucune personne");
  });

  it("une commande refusée pour cause de retrait mène au même message", async () => {
    const page = await open(seed({ enrolled: true }));
    await expectText(page.getByTestId("result-count"), "2 personnes");
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await hook(page, "revoke");
    await page.getByRole("button", { name: "Synchroniser" }).click();
    await expectVisible(page.getByRole("alertdialog", { name: "Cet ordinateur a été retiré du territoire" }));
    await page.getByRole("button", { name: "J’ai compris" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Bienvenue dans Tandem" }));
    assert.equal(await page.evaluate(() => window.location.hash), "#/");
  });

  it("retiré pendant que la fenêtre était fermée : le message dès l’ouverture", async () => {
    const { context, page } = await openApp(h, { seed: { state: "first_run", sync: { revoked: true } } });
    contexts.push(context);
    const alert = page.getByRole("alertdialog", { name: "Cet ordinateur a été retiré du territoire" });
    await expectVisible(alert);
    await page.keyboard.press("Escape");
    await expectHidden(alert);
    await expectVisible(page.getByRole("heading", { level: 1, name: "Bienvenue dans Tandem" }));
  });
});
