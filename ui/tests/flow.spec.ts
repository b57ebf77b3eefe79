// The caseworker's critical path against the fake backend: first run → caseload → persons → search →
// autosave with errors → lock and unlock → lock after inactivity.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import {
  assertNoSeriousA11yViolations,
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

const PASSPHRASE = "une phrase de passe solide";

function heleneIn(state: { persons: Record<string, unknown>[] }): Record<string, unknown> {
  const found = state.persons.find((p) => p.first_name === "Hélène");
  assert.ok(found, "Hélène is in the fake backend");
  return found;
}

describe("parcours d’un·e conseiller·e", () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    h = await startHarness();
    ({ context, page } = await openApp(h));
  });
  after(async () => {
    await context?.close();
    await h?.close();
  });

  it("premier démarrage : refuse un nom vide, une phrase de passe trop courte ou différente", async () => {
    await expectVisible(page.getByRole("heading", { level: 1, name: "Bienvenue dans Tandem" }));
    assert.equal(await page.title(), "Premier démarrage — Tandem");
    assert.equal(await page.locator("html").getAttribute("lang"), "fr");

    // Empty name (and everything else empty).
    await page.getByRole("button", { name: "Créer mon profil" }).click();
    const name = page.getByLabel("Nom et prénom");
    assert.equal(await name.getAttribute("aria-invalid"), "true");
    const describedBy = (await name.getAttribute("aria-describedby")) ?? "";
    await expectText(page.locator(`[id="${describedBy.split(" ").pop()}"]`), "Ce champ est obligatoire.");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "caseworker_name");

    // Mismatch, checked in the UI.
    await name.fill("Camille Durand");
    await page.getByLabel("Structure").fill("Mission locale de Villeurbanne");
    await page.getByLabel("Emploi", { exact: true }).check();
    await page.getByLabel("Phrase de passe", { exact: true }).fill("court");
    await page.getByLabel("Confirmation de la phrase de passe").fill("autre");
    await page.getByRole("button", { name: "Créer mon profil" }).click();
    const confirm = page.getByLabel("Confirmation de la phrase de passe");
    assert.equal(await confirm.getAttribute("aria-invalid"), "true");
    await expectText(page.locator(".field--invalid .error"), "ne sont pas identiques");
    assert.equal(await name.getAttribute("aria-invalid"), null);

    // Too short, refused by the backend and shown next to the passphrase.
    await confirm.fill("court");
    await page.getByRole("button", { name: "Créer mon profil" }).click();
    const passphrase = page.getByLabel("Phrase de passe", { exact: true });
    await eventually(async () => assert.equal(await passphrase.getAttribute("aria-invalid"), "true"));
    await expectText(page.locator(".field--invalid .error"), "au moins 10 caractères");
    await screenshot(page, "01-premier-demarrage-erreurs");

    await passphrase.fill(PASSPHRASE);
    await confirm.fill(PASSPHRASE);
    await page.getByRole("button", { name: "Créer mon profil" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
    await expectText(page.getByTestId("caseworker"), "Camille Durand");
    await expectText(page.getByTestId("caseworker"), "Mission locale de Villeurbanne");
    await expectText(page.getByRole("status").filter({ hasText: "Aucune personne" }), "Aucune personne pour l’instant");
    assert.equal(await page.title(), "Mes personnes accompagnées — Tandem");
  });

  it("ajoute deux personnes", async () => {
    for (const [first, last, birth] of [
      ["Hélène", "Lefèvre", "1985-07-14"],
      ["Jérôme", "Martin", "2004-03-02"],
    ] as const) {
      await page.getByRole("button", { name: "Ajouter une personne" }).click();
      const dialog = page.getByRole("dialog", { name: "Ajouter une personne" });
      await expectVisible(dialog);
      await dialog.getByLabel("Prénom").fill(first);
      await dialog.getByLabel("Nom", { exact: true }).fill(last);
      await dialog.getByLabel("Date de naissance").fill(birth);
      await dialog.getByRole("button", { name: "Créer la fiche" }).click();
      await expectVisible(page.getByRole("heading", { level: 1, name: `${first} ${last}` }));
      await page.getByRole("link", { name: "Retour à la liste" }).click();
      await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
    }
    await expectText(page.getByTestId("result-count"), "2 personnes");
    const rows = page.getByTestId("person-row");
    assert.equal(await rows.count(), 2);
    await expectText(rows.nth(0), "Hélène Lefèvre");
    await expectText(rows.nth(0), "14 juillet 1985");
    await expectText(rows.nth(1), "Jérôme Martin");
    await expectText(rows.nth(1), "Pas de RSA");
    await screenshot(page, "03-mes-personnes");
  });

  it("la recherche ignore les accents et la casse", async () => {
    const search = page.getByLabel("Rechercher une personne");
    await search.fill("helene");
    await expectText(page.getByTestId("result-count"), /^1 personne$/);
    assert.deepEqual(await page.getByTestId("person-row").allTextContents().then((t) => t.map((s) => s.includes("Hélène Lefèvre"))), [true]);

    await search.fill("LEFEVRE");
    await expectText(page.getByTestId("result-count"), /^1 personne$/);
    await expectText(page.getByTestId("person-row"), "Hélène Lefèvre");

    await search.fill("zzz");
    await expectText(page.getByTestId("result-count"), "Aucune personne ne correspond à «\u202fzzz\u202f»");
    await expectHidden(page.getByTestId("person-row"));
    await screenshot(page, "03b-recherche-vide");

    await search.fill("helene");
    await expectText(page.getByTestId("result-count"), /^1 personne$/);
  });

  it("fiche : enregistre automatiquement, garde une saisie refusée et n’écrase rien", async () => {
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    assert.equal(await page.title(), "Hélène Lefèvre — Tandem");
    await expectText(page.getByTestId("person-age"), /\d+ ans/);

    const email = page.getByLabel("Adresse e-mail");
    const status = page.getByTestId("save-status");
    assert.equal(await status.getAttribute("role"), "status");
    await email.pressSequentially("helene.lefevre@exemple.fr", { delay: 10 });
    await expectText(status, /^Enregistré$/, 3_000);
    const helene = async () => heleneIn(await fakeState(page));
    assert.equal((await helene()).email, "helene.lefevre@exemple.fr");

    // An invalid address: French message, the typed text stays, the saved value is untouched.
    await email.fill("helene.lefevre-at-exemple");
    await expectText(status, "Non enregistré\u202f: corrigez le champ signalé", 3_000);
    assert.equal(await email.getAttribute("aria-invalid"), "true");
    const errorId = (await email.getAttribute("aria-describedby")) ?? "";
    await expectText(page.locator(`[id="${errorId}"]`), "Cette adresse e-mail n’est pas valide");
    assert.equal(await email.inputValue(), "helene.lefevre-at-exemple");
    assert.equal((await helene()).email, "helene.lefevre@exemple.fr");

    // A birth date in the future.
    const birth = page.getByLabel("Date de naissance");
    await birth.fill(`${new Date().getFullYear() + 1}-01-15`);
    await birth.blur();
    await eventually(async () => assert.equal(await birth.getAttribute("aria-invalid"), "true"));
    await expectText(page.locator(".field--invalid .error").filter({ hasText: "futur" }), "Cette date est dans le futur.");
    assert.equal((await helene()).birth_date, "1985-07-14");
    assert.equal(await birth.inputValue(), `${new Date().getFullYear() + 1}-01-15`);
    await screenshot(page, "04-fiche-personne-erreurs");

    // Fixing the email clears its error; the checkbox saves at once.
    await email.fill("helene@exemple.fr");
    await eventually(async () => assert.equal(await email.getAttribute("aria-invalid"), null), 3_000);
    await page.getByLabel("Habite un quartier prioritaire de la ville (QPV)").check();
    await eventually(async () => assert.equal((await helene()).qpv, true));
    await page.getByLabel("Statut RSA", { exact: true }).selectOption("suspended");
    await eventually(async () => assert.equal((await helene()).rsa_status, "suspended"));
    assert.equal((await helene()).email, "helene@exemple.fr");
  });

  it("verrouille, refuse une mauvaise phrase de passe puis déverrouille", async () => {
    // Typed just before locking: saved before the lock, not lost.
    const phone = page.getByLabel("Téléphone");
    await phone.fill("06 12 34 56 78");
    await page.getByRole("button", { name: "Verrouiller" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Votre dossier est verrouillé" }));
    assert.equal(heleneIn(await fakeState(page)).phone, "06 12 34 56 78");
    assert.equal((await fakeState(page)).state, "locked");
    assert.equal(await page.title(), "Déverrouiller — Tandem");
    const input = page.getByLabel("Phrase de passe");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "passphrase"));
    await expectHidden(page.getByTestId("caseworker"));

    await input.fill("pas la bonne phrase");
    await page.getByRole("button", { name: "Déverrouiller" }).click();
    await eventually(async () => assert.equal(await input.getAttribute("aria-invalid"), "true"));
    await expectText(page.locator(".field--invalid .error"), "La phrase de passe ne correspond pas.");
    await screenshot(page, "02-deverrouiller-erreur");

    await input.fill(PASSPHRASE);
    await page.getByRole("button", { name: "Déverrouiller" }).click();
    // Back where the caseworker was.
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    assert.equal(await page.getByLabel("Téléphone").inputValue(), "06 12 34 56 78");
  });

  it("paramètres : change le délai de verrouillage", async () => {
    await page.getByRole("button", { name: "Paramètres" }).click();
    const dialog = page.getByRole("dialog", { name: "Paramètres" });
    await expectVisible(dialog);
    const minutes = dialog.getByLabel("Verrouiller après (minutes sans activité)");
    assert.equal(await minutes.inputValue(), "10");
    await minutes.fill("500");
    await dialog.getByRole("button", { name: "Enregistrer" }).click();
    await expectText(dialog.locator(".error"), "entre 1 et 120 minutes");
    await minutes.fill("3");
    await dialog.getByRole("button", { name: "Enregistrer" }).click();
    await expectHidden(page.getByRole("dialog"));
    assert.equal(((await fakeState(page)).profile as { lock_after_minutes: number }).lock_after_minutes, 3);
  });
});

describe("verrouillage par le backend", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("une commande refusée avec le code « locked » ramène à l’écran de déverrouillage", async () => {
    const { context, page } = await openApp(h, { seed: { state: "unlocked" } });
    try {
      await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
      await page.evaluate(() => {
        (window as unknown as { __tandemFake: { state: string } }).__tandemFake.state = "locked";
      });
      // One key: the search it triggers is refused and the screen changes under the field.
      await page.getByLabel("Rechercher une personne").press("m");
      await expectVisible(page.getByRole("heading", { level: 1, name: "Votre dossier est verrouillé" }));
    } finally {
      await context.close();
    }
  });
});

describe("verrouillage après inactivité", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("se verrouille après le délai du profil sans activité, pas avant", async () => {
    const { context, page } = await openApp(h, {
      clock: true,
      seed: { state: "unlocked", profile: { lock_after_minutes: 2 }, persons: [{ first_name: "Hélène", last_name: "Lefèvre" }] },
    });
    try {
      await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
      await page.clock.fastForward(90_000);
      // Activity at 1 min 30 s restarts the count.
      await page.mouse.move(200, 300);
      await page.keyboard.press("Shift");
      await page.clock.fastForward(60_000);
      await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
      await page.clock.fastForward(65_000);
      await expectVisible(page.getByRole("heading", { level: 1, name: "Votre dossier est verrouillé" }));
      await expectVisible(page.getByTestId("locked-after-inactivity"));
      await eventually(async () => assert.equal(await page.evaluate(() => (window as unknown as { __tandemFake: { state: string } }).__tandemFake.state), "locked"));
    } finally {
      await context.close();
    }
  });
});

describe("supprimer une fiche créée par erreur", () => {
  let h: Harness;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    h = await startHarness();
    ({ context, page } = await openApp(h, { seed: UNLOCKED_WITH_TWO }));
  });
  after(async () => {
    await context?.close();
    await h?.close();
  });

  it("demande confirmation, puis la fiche quitte la liste", async () => {
    await page.getByRole("link", { name: /Jérôme Martin/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Jérôme Martin" }));
    const section = page.getByRole("region", { name: "Supprimer la fiche" });
    await section.getByRole("button", { name: "Supprimer la fiche…" }).click();
    const dialog = page.getByRole("alertdialog", { name: "Supprimer la fiche de Jérôme Martin" });
    await expectVisible(dialog);
    await assertNoSeriousA11yViolations(page, "confirmation de suppression");
    // « Annuler » has the focus: Enter by mistake deletes nothing.
    await page.keyboard.press("Enter");
    await expectHidden(dialog);
    assert.equal((await fakeState(page)).persons.length, 2);

    await section.getByRole("button", { name: "Supprimer la fiche…" }).click();
    await dialog.getByRole("button", { name: "Supprimer la fiche" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
    const persons = (await fakeState(page)).persons;
    assert.deepEqual(
      persons.map((p) => p.first_name),
      ["Hélène"],
    );
    assert.equal(await page.getByRole("link", { name: /Jérôme Martin/ }).count(), 0);
  });
});
