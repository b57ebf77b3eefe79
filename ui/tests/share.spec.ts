// Sharing a person's file with another structure of the territory, with the person's consent, against
// the fake server (src/testing/fakeSync.ts): hidden while the laptop is alone, the consent required,
// the keyboard only, the server unreachable, and the form's accessibility at 1366×768.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import type { FakeSeed } from "../src/testing/fakeBackend.ts";
import {
  assertNoSeriousA11yViolations,
  eventually,
  expectHidden,
  expectText,
  expectVisible,
  openApp,
  screenshot,
  startHarness,
  UNLOCKED_WITH_TWO,
  type Harness,
} from "./harness.ts";

interface Share {
  personId: string;
  structureId: string;
  shareSocialNotes: boolean;
}

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

async function shares(page: Page): Promise<Share[]> {
  return page.evaluate(() => (window as unknown as { __tandemFake: { sync: { shares: Share[] } } }).__tandemFake.sync.shares);
}

async function commandCount(page: Page, cmd: string): Promise<number> {
  return page.evaluate(
    (cmd) => (window as unknown as { __tandemFake: { calls: { cmd: string }[] } }).__tandemFake.calls.filter((c) => c.cmd === cmd).length,
    cmd,
  );
}

async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    const label = el.id ? (document.querySelector(`label[for="${el.id}"]`)?.textContent ?? "") : "";
    return `${el.tagName.toLowerCase()}|${el.getAttribute("data-testid") ?? ""}|${(el.textContent ?? "").trim()}|${label}`;
  });
}

async function tabUntil(page: Page, match: (f: string) => boolean, max = 60): Promise<string> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f);
    if (match(f)) return f;
  }
  throw new Error(`Never reached the target by Tab; went through:\n${seen.join("\n")}`);
}

const ENROLLED: FakeSeed = { ...UNLOCKED_WITH_TWO, sync: { enrolled: true } };

describe("partage du dossier", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  /** Opens the app and Hélène Lefèvre's form. */
  async function openHelene(seed: FakeSeed): Promise<Page> {
    const { context, page } = await openApp(h, { seed });
    contexts.push(context);
    await expectText(page.getByTestId("sync-indicator"), seed.sync?.enrolled ? "À jour" : "Non connecté au serveur");
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await expectVisible(page.getByRole("heading", { level: 2, name: "Diagnostics" }));
    return page;
  }

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await h?.close();
  });

  it("rien du partage tant que l’ordinateur n’est pas relié au serveur", async () => {
    const page = await openHelene(UNLOCKED_WITH_TWO);
    await expectText(page.getByTestId("no-diagnostic"), "Aucun diagnostic");
    assert.equal(await page.getByRole("heading", { name: "Partage du dossier" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Partager avec une autre structure" }).count(), 0);
    assert.equal(await page.getByTestId("sharing").count(), 0);
    assert.equal(await commandCount(page, "list_structures"), 0);
  });

  it("ouvrir une fiche ne demande rien au serveur ; partager au clavier seul", async () => {
    const page = await openHelene(ENROLLED);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await expectVisible(section);
    assert.equal(await commandCount(page, "list_structures"), 0);

    // From the heading, Tab to the button, Enter: the list comes, focus lands on it.
    await eventually(async () => assert.match(await focused(page), /^h1\|/));
    const toggle = await tabUntil(page, (f) => f.startsWith("button|share-open|"));
    assert.match(toggle, /Partager avec une autre structure/);
    await page.keyboard.press("Enter");
    await eventually(async () => assert.match(await focused(page), /^select\|share-structure\|/));
    assert.equal(await section.getByRole("button", { name: "Partager avec une autre structure" }).getAttribute("aria-expanded"), "true");
    assert.equal(await commandCount(page, "list_structures"), 1);

    // The enrolled structure is not offered: the file is already its own.
    const options = await section.getByRole("combobox").locator("option").allTextContents();
    assert.deepEqual(options, ["Choisissez une structure", "Association Passerelle", "CCAS de Villeurbanne", "Département du Rhône", "Mission locale Est"]);

    // Type-ahead picks the CCAS; Tab to the consent, Space; Tab past the notes; Enter on « Partager ».
    await page.keyboard.type("CCAS");
    assert.equal(await section.getByRole("combobox").inputValue(), "structure-ccas-villeurbanne");
    await page.keyboard.press("Tab");
    assert.match(await focused(page), /La personne accepte que cette structure voie son dossier/);
    await page.keyboard.press("Space");
    await page.keyboard.press("Tab");
    assert.match(await focused(page), /Y compris les notes réservées au travail social/);
    await page.keyboard.press("Space");
    await page.keyboard.press("Tab");
    assert.match(await focused(page), /^button\|share-submit\|Partager/);
    await page.keyboard.press("Enter");

    const success = section.getByTestId("share-success");
    await expectText(success, "Le dossier sera visible par CCAS de Villeurbanne après sa prochaine synchronisation.");
    await eventually(async () => assert.match(await focused(page), /share-success/));
    await expectHidden(section.getByTestId("share-form"));
    const helene = await page.evaluate(() =>
      [...(window as unknown as { __tandemFake: { persons: Map<string, { id: string; first_name: string }> } }).__tandemFake.persons.values()].find(
        (p) => p.first_name === "Hélène",
      )?.id,
    );
    assert.deepEqual(await shares(page), [{ personId: helene, structureId: "structure-ccas-villeurbanne", shareSocialNotes: true }]);
    await screenshot(page, "30-partage-reussi");
  });

  it("sans l’accord de la personne, le formulaire refuse et le dit à la case", async () => {
    const page = await openHelene(ENROLLED);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await section.getByRole("button", { name: "Partager avec une autre structure" }).click();
    const form = section.getByRole("form", { name: "Partager le dossier" });
    await expectVisible(form);
    const select = form.getByLabel("Structure qui pourra voir le dossier");
    const consent = form.getByLabel("La personne accepte que cette structure voie son dossier");

    // Nothing chosen: both say so, focus on the structure.
    await form.getByRole("button", { name: "Partager" }).click();
    await eventually(async () => assert.equal(await select.getAttribute("aria-invalid"), "true"));
    assert.equal(await consent.getAttribute("aria-invalid"), "true");
    await expectText(form, "Choisissez la structure qui pourra voir le dossier.");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "structure"));

    // A structure, still no consent: refused, focus on the checkbox, whose message is read with it.
    await select.selectOption({ label: "Département du Rhône" });
    assert.equal(await select.getAttribute("aria-invalid"), null);
    await form.getByRole("button", { name: "Partager" }).click();
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "consent"));
    assert.equal(await consent.getAttribute("aria-invalid"), "true");
    const described = await page.evaluate(() =>
      (document.activeElement?.getAttribute("aria-describedby") ?? "")
        .split(" ")
        .map((id) => document.getElementById(id)?.textContent ?? "")
        .join(" "),
    );
    assert.match(described, /ne peut être partagé qu’avec l’accord de la personne/);
    assert.equal(await commandCount(page, "share_person"), 0);
    assert.deepEqual(await shares(page), []);
    await assertNoSeriousA11yViolations(page, "partage, accord manquant");
    await screenshot(page, "31-partage-accord-manquant");

    // With the consent, the same form goes through, without the social notes.
    await consent.check();
    assert.equal(await consent.getAttribute("aria-invalid"), null);
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(section.getByTestId("share-success"), "visible par Département du Rhône");
    const [share] = await shares(page);
    assert.equal(share?.structureId, "structure-departement-rhone");
    assert.equal(share?.shareSocialNotes, false);
  });

  it("hors ligne : le message du serveur injoignable, les choix gardés, puis le partage", async () => {
    const page = await openHelene(ENROLLED);
    const section = page.getByRole("region", { name: "Partage du dossier" });

    // The list itself needs the network.
    await hook(page, "setOnline", false);
    await section.getByRole("button", { name: "Partager avec une autre structure" }).click();
    await expectText(section.getByRole("alert"), "Le serveur du territoire ne répond pas.");
    await eventually(async () => assert.match(await focused(page), /share-error/));
    await hook(page, "setOnline", true);
    await section.getByRole("button", { name: "Réessayer" }).click();
    const form = section.getByRole("form", { name: "Partager le dossier" });
    await expectVisible(form);

    // The network goes away between the list and « Partager ».
    await form.getByLabel("Structure qui pourra voir le dossier").selectOption({ label: "Mission locale Est" });
    await form.getByLabel("La personne accepte que cette structure voie son dossier").check();
    await hook(page, "setOnline", false);
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(form.getByRole("alert"), "Le serveur du territoire ne répond pas.");
    await eventually(async () => assert.match(await focused(page), /share-error/));
    assert.deepEqual(await shares(page), []);
    assert.equal(await form.getByLabel("Structure qui pourra voir le dossier").inputValue(), "structure-ml-est");
    assert.equal(await form.getByLabel("La personne accepte que cette structure voie son dossier").isChecked(), true);
    await assertNoSeriousA11yViolations(page, "partage hors ligne");

    await hook(page, "setOnline", true);
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(section.getByTestId("share-success"), "visible par Mission locale Est");
    assert.equal((await shares(page)).length, 1);
  });

  it("une personne pas encore envoyée au serveur : synchroniser d’abord", async () => {
    const { context, page } = await openApp(h, { seed: { ...ENROLLED, sync: { enrolled: true, manual: true } } });
    contexts.push(context);
    await page.getByRole("button", { name: "Ajouter une personne" }).click();
    const dialog = page.getByRole("dialog", { name: "Ajouter une personne" });
    await expectVisible(dialog);
    await dialog.getByLabel("Prénom").fill("Awa");
    await dialog.getByLabel("Nom", { exact: true }).fill("Diallo");
    await dialog.getByLabel("Date de naissance").fill("1992-05-03");
    await dialog.getByRole("button", { name: "Créer la fiche" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Awa Diallo" }));
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await section.getByRole("button", { name: "Partager avec une autre structure" }).click();
    const form = section.getByRole("form", { name: "Partager le dossier" });
    await form.getByLabel("Structure qui pourra voir le dossier").selectOption({ label: "Association Passerelle" });
    await form.getByLabel("La personne accepte que cette structure voie son dossier").check();
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(form.getByRole("alert"), "n’est pas encore arrivé sur le serveur du territoire. Synchronisez");
    // Nobody else can see a file the server does not have yet: the list says why.
    await section.getByRole("button", { name: "Voir les structures qui ont accès" }).click();
    await expectText(section.getByTestId("shares-error"), "pas encore arrivé sur le serveur du territoire");

    // The message offers the sync that sends the file.
    await form.getByRole("button", { name: "Synchroniser maintenant" }).click();
    await expectText(form.getByRole("status"), "Synchronisation lancée");
    await hook(page, "finish");
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(section.getByTestId("share-success"), "visible par Association Passerelle");
  });

  it("le formulaire ouvert : accessible, sans défilement horizontal à 1366×768", async () => {
    const page = await openHelene(ENROLLED);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await section.getByRole("button", { name: "Partager avec une autre structure" }).click();
    await expectVisible(section.getByRole("form", { name: "Partager le dossier" }));
    await section.scrollIntoViewIfNeeded();
    await assertNoSeriousA11yViolations(page, "partage du dossier, formulaire ouvert");
    await screenshot(page, "32-partage-formulaire");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
    const box = await section.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 1366, `the section fits the window: ${JSON.stringify(box)}`);
  });
});

describe("structures qui ont accès au dossier", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  async function openHelene(): Promise<Page> {
    const { context, page } = await openApp(h, { seed: ENROLLED });
    contexts.push(context);
    await expectText(page.getByTestId("sync-indicator"), "À jour");
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await expectVisible(page.getByRole("heading", { level: 2, name: "Partage du dossier" }));
    return page;
  }

  /** Consents the fake server already holds for Hélène Lefèvre, as if shared earlier. */
  async function seedShares(page: Page, items: { structureId: string; shareSocialNotes: boolean }[]): Promise<void> {
    await page.evaluate((items) => {
      const fake = (
        window as unknown as {
          __tandemFake: { persons: Map<string, { id: string; first_name: string }>; sync: { shares: Share[] } };
        }
      ).__tandemFake;
      const helene = [...fake.persons.values()].find((p) => p.first_name === "Hélène");
      if (!helene) throw new Error("no Hélène");
      for (const item of items) fake.sync.shares.push({ personId: helene.id, ...item });
    }, items);
  }

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await h?.close();
  });

  it("vide d’abord, puis la structure avec qui on vient de partager ; accessible à 1366×768", async () => {
    const page = await openHelene();
    const section = page.getByRole("region", { name: "Partage du dossier" });
    // Opening the person asks nothing of the server.
    assert.equal(await commandCount(page, "list_shares"), 0);

    const toggle = section.getByRole("button", { name: "Voir les structures qui ont accès" });
    await toggle.click();
    await expectText(section.getByTestId("shares-empty"), "Aucune autre structure n’a accès à ce dossier.");
    assert.equal(await toggle.getAttribute("aria-expanded"), "true");
    assert.equal(await commandCount(page, "list_shares"), 1);

    // A share while the list is open: the list asks again.
    await section.getByRole("button", { name: "Partager avec une autre structure" }).click();
    const form = section.getByRole("form", { name: "Partager le dossier" });
    await form.getByLabel("Structure qui pourra voir le dossier").selectOption({ label: "Mission locale Est" });
    await form.getByLabel("La personne accepte que cette structure voie son dossier").check();
    await form.getByLabel("Y compris les notes réservées au travail social").check();
    await form.getByRole("button", { name: "Partager" }).click();
    await expectText(section.getByTestId("share-success"), "visible par Mission locale Est");
    const list = section.getByRole("list", { name: "Structures qui ont accès au dossier" });
    await expectText(list, "Mission locale Est");
    await expectText(list, "y compris les notes réservées au travail social");
    assert.equal(await commandCount(page, "list_shares"), 2);
    await expectHidden(section.getByTestId("shares-empty"));

    await section.scrollIntoViewIfNeeded();
    await assertNoSeriousA11yViolations(page, "structures qui ont accès");
    await screenshot(page, "33-partage-structures-ayant-acces");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px`);
  });

  it("retirer l’accord au clavier seul, confirmation comprise", async () => {
    const page = await openHelene();
    await seedShares(page, [
      { structureId: "structure-ml-est", shareSocialNotes: false },
      { structureId: "structure-ccas-villeurbanne", shareSocialNotes: true },
    ]);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await eventually(async () => assert.match(await focused(page), /^h1\|/));
    await tabUntil(page, (f) => f.startsWith("button|shares-open|"));
    await page.keyboard.press("Enter");
    const list = section.getByRole("list", { name: "Structures qui ont accès au dossier" });
    await expectText(list, "Mission locale Est");
    // Sorted by name, the notes said only where they are shared.
    assert.deepEqual(
      (await list.getByRole("listitem").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim()),
      ["CCAS de Villeurbanney compris les notes réservées au travail socialRetirer l’accord", "Mission locale EstRetirer l’accord"],
    );

    await tabUntil(page, (f) => f.startsWith("button|withdraw-open|") && f.includes("Retirer"), 10);
    await tabUntil(page, (f) => f.startsWith("button|withdraw-open|"), 2);
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute("aria-label")),
      "Retirer l’accord de Mission locale Est",
    );
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("alertdialog", { name: "Retirer l’accord de partage" });
    await expectText(dialog, "Mission locale Est ne verra plus ce dossier. Ses ordinateurs l’effaceront à leur prochaine synchronisation.");
    // The safe choice has focus.
    await eventually(async () => assert.match(await focused(page), /^button\|withdraw-cancel\|Annuler/));
    await assertNoSeriousA11yViolations(page, "retirer l’accord, confirmation");
    await screenshot(page, "34-partage-retirer-accord");
    await page.keyboard.press("Shift+Tab");
    assert.match(await focused(page), /^button\|withdraw-confirm\|Retirer l’accord/);
    await page.keyboard.press("Enter");

    await expectHidden(dialog);
    const done = section.getByTestId("withdraw-success");
    await expectText(done, "L’accord est retiré. Mission locale Est ne verra plus ce dossier.");
    assert.equal(await section.getByRole("status").filter({ hasText: "L’accord est retiré" }).count(), 1);
    await eventually(async () => assert.match(await focused(page), /withdraw-success/));
    await expectText(list, "CCAS de Villeurbanne");
    assert.equal(await list.getByText("Mission locale Est").count(), 0);
    assert.deepEqual(
      (await shares(page)).map((s) => s.structureId),
      ["structure-ccas-villeurbanne"],
    );

    // The last one: the list says nobody else sees the file.
    await section.getByRole("button", { name: "Retirer l’accord de CCAS de Villeurbanne" }).click();
    await page.getByRole("alertdialog").getByRole("button", { name: "Retirer l’accord" }).click();
    await expectText(section.getByTestId("shares-empty"), "Aucune autre structure n’a accès à ce dossier.");
    assert.deepEqual(await shares(page), []);
  });

  it("annuler garde l’accord", async () => {
    const page = await openHelene();
    await seedShares(page, [{ structureId: "structure-ml-est", shareSocialNotes: false }]);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await section.getByRole("button", { name: "Voir les structures qui ont accès" }).click();
    const withdraw = section.getByRole("button", { name: "Retirer l’accord de Mission locale Est" });
    await withdraw.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("alertdialog", { name: "Retirer l’accord de partage" });
    await expectVisible(dialog);
    await eventually(async () => assert.match(await focused(page), /^button\|withdraw-cancel\|/));
    await page.keyboard.press("Enter");
    await expectHidden(dialog);
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Retirer l’accord de Mission locale Est"));

    // Escape cancels too.
    await page.keyboard.press("Enter");
    await expectVisible(dialog);
    await page.keyboard.press("Escape");
    await expectHidden(dialog);
    await expectVisible(withdraw);
    assert.equal(await commandCount(page, "withdraw_share"), 0);
    assert.equal((await shares(page)).length, 1);
    assert.equal(await section.getByTestId("withdraw-success").count(), 0);
  });

  it("hors ligne : la liste et le retrait le disent, l’accord reste", async () => {
    const page = await openHelene();
    await seedShares(page, [{ structureId: "structure-ml-est", shareSocialNotes: true }]);
    const section = page.getByRole("region", { name: "Partage du dossier" });
    await hook(page, "setOnline", false);
    await section.getByRole("button", { name: "Voir les structures qui ont accès" }).click();
    await expectText(section.getByTestId("shares-error"), "Le serveur du territoire ne répond pas.");
    assert.equal(await section.getByRole("alert").filter({ hasText: "Le serveur du territoire ne répond pas." }).count(), 1);
    await assertNoSeriousA11yViolations(page, "structures qui ont accès, hors ligne");

    await hook(page, "setOnline", true);
    await section.getByRole("button", { name: "Réessayer" }).click();
    await expectText(section.getByRole("list", { name: "Structures qui ont accès au dossier" }), "Mission locale Est");

    await hook(page, "setOnline", false);
    await section.getByRole("button", { name: "Retirer l’accord de Mission locale Est" }).click();
    const dialog = page.getByRole("alertdialog", { name: "Retirer l’accord de partage" });
    await dialog.getByRole("button", { name: "Retirer l’accord" }).click();
    await expectText(dialog.getByRole("alert"), "Le serveur du territoire ne répond pas.");
    assert.equal((await shares(page)).length, 1);
    await assertNoSeriousA11yViolations(page, "retirer l’accord hors ligne");

    // Back online, the same dialog goes through.
    await hook(page, "setOnline", true);
    await dialog.getByRole("button", { name: "Retirer l’accord" }).click();
    await expectHidden(dialog);
    await expectText(section.getByTestId("shares-empty"), "Aucune autre structure n’a accès à ce dossier.");
    assert.deepEqual(await shares(page), []);
  });
});
