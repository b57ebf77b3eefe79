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

    await hook(page, "start");
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
