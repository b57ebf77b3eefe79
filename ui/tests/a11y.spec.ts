// axe-core on every screen: no violation of impact serious or critical. Also leaves a 1366×768
// screenshot of each screen in screenshots-dev/ for a human look.
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { FOLLOWED } from "./followupSeed.ts";
import {
  assertNoSeriousA11yViolations,
  expectText,
  expectVisible,
  openApp,
  screenshot,
  startHarness,
  UNLOCKED_WITH_TWO,
  type Harness,
  type OpenOptions,
} from "./harness.ts";

describe("accessibilité (axe-core) de chaque écran", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  async function open(options: OpenOptions): Promise<Page> {
    const { context, page } = await openApp(h, options);
    contexts.push(context);
    return page;
  }

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await h?.close();
  });

  it("premier démarrage, vide puis avec erreurs", async () => {
    const page = await open({});
    await expectVisible(page.getByRole("heading", { level: 1, name: "Bienvenue dans Tandem" }));
    await screenshot(page, "01-premier-demarrage");
    await assertNoSeriousA11yViolations(page, "premier démarrage");
    await page.getByLabel("Phrase de passe", { exact: true }).fill("abc");
    await page.getByLabel("Confirmation de la phrase de passe").fill("abd");
    await page.getByRole("button", { name: "Créer mon profil" }).click();
    await expectVisible(page.locator(".error"));
    await assertNoSeriousA11yViolations(page, "premier démarrage avec erreurs");
  });

  it("déverrouiller, avec et sans erreur", async () => {
    const page = await open({ seed: { state: "locked" } });
    await expectVisible(page.getByRole("heading", { level: 1, name: "Votre dossier est verrouillé" }));
    await screenshot(page, "02-deverrouiller");
    await assertNoSeriousA11yViolations(page, "déverrouiller");
    await page.getByLabel("Phrase de passe").fill("mauvaise phrase");
    await page.getByRole("button", { name: "Déverrouiller" }).click();
    await expectVisible(page.locator(".error"));
    await assertNoSeriousA11yViolations(page, "déverrouiller avec erreur");
  });

  it("mes personnes : liste vide, avec résultats, sans résultat", async () => {
    const empty = await open({ seed: { state: "unlocked" } });
    await expectText(empty.getByTestId("result-count"), "Aucune personne");
    await assertNoSeriousA11yViolations(empty, "mes personnes (vide)");

    const page = await open({ seed: UNLOCKED_WITH_TWO });
    await expectText(page.getByTestId("result-count"), "2 personnes");
    await screenshot(page, "03-mes-personnes");
    await assertNoSeriousA11yViolations(page, "mes personnes (résultats)");
    await page.getByLabel("Rechercher une personne").fill("zzz");
    await expectText(page.getByTestId("result-count"), "Aucune personne ne correspond");
    await assertNoSeriousA11yViolations(page, "mes personnes (aucun résultat)");
  });

  it("formulaire d’ajout, avec erreurs", async () => {
    const page = await open({ seed: UNLOCKED_WITH_TWO });
    await page.getByRole("button", { name: "Ajouter une personne" }).click();
    const dialog = page.getByRole("dialog", { name: "Ajouter une personne" });
    await expectVisible(dialog);
    await assertNoSeriousA11yViolations(page, "ajout d’une personne");
    await dialog.getByRole("button", { name: "Créer la fiche" }).click();
    await expectVisible(dialog.locator(".error"));
    await screenshot(page, "05-ajouter-une-personne");
    await assertNoSeriousA11yViolations(page, "ajout d’une personne avec erreurs");
  });

  it("fiche personne, avec une erreur affichée", async () => {
    const page = await open({ seed: UNLOCKED_WITH_TWO });
    await page.getByRole("link", { name: /Jérôme Martin/ }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Jérôme Martin" }));
    await expectVisible(page.getByTestId("under-26"));
    await assertNoSeriousA11yViolations(page, "fiche personne");
    await page.getByLabel("Code postal").fill("6910");
    await page.getByLabel("Code postal").blur();
    await expectText(page.getByTestId("save-status"), "Non enregistré");
    await screenshot(page, "04-fiche-personne");
    await screenshot(page, "04b-fiche-personne-page-entiere", true);
    await assertNoSeriousA11yViolations(page, "fiche personne avec erreur");
  });

  it("paramètres", async () => {
    const page = await open({ seed: UNLOCKED_WITH_TWO });
    await page.getByRole("button", { name: "Paramètres" }).click();
    await expectVisible(page.getByRole("dialog", { name: "Paramètres" }));
    await screenshot(page, "06-parametres");
    await assertNoSeriousA11yViolations(page, "paramètres");
  });

  it("dossier impossible à ouvrir (trousseau indisponible)", async () => {
    const page = await open({ seed: { state: "locked", unlockFailure: "keychain_unavailable" } });
    await page.getByLabel("Phrase de passe").fill("une phrase de passe solide");
    await page.getByRole("button", { name: "Déverrouiller" }).click();
    await expectText(page.getByTestId("unlock-alert"), "Le trousseau du système n’est pas disponible");
    await assertNoSeriousA11yViolations(page, "déverrouiller, trousseau indisponible");
  });

  it("suivi d’une personne, avec ses formulaires et une erreur affichée", async () => {
    const page = await open({ seed: FOLLOWED });
    await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
    await page.getByRole("link", { name: "Ouvrir le suivi" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Suivi de Hélène Lefèvre" }));
    await expectVisible(page.getByTestId("timeline"));
    await screenshot(page, "07-suivi");
    await assertNoSeriousA11yViolations(page, "suivi");
    for (const [button, form] of [
      ["Enregistrer un entretien", "interview-form"],
      ["Ajouter une étape", "add-step-form"],
      ["Ajouter un contrat", "contract-form"],
      ["Enregistrer un changement de situation", "status-form"],
    ] as const) {
      await page.getByRole("button", { name: button }).click();
      await expectVisible(page.getByTestId(form));
      await assertNoSeriousA11yViolations(page, `suivi : ${button}`);
    }
    await page.getByRole("button", { name: "Ajouter une étape" }).click();
    await page.getByTestId("add-step-form").getByRole("button", { name: "Ajouter l’étape" }).click();
    await expectVisible(page.getByTestId("add-step-form").locator(".error"));
    await assertNoSeriousA11yViolations(page, "suivi : étape avec erreur");
    await page.getByRole("button", { name: /Modifier l’étape/ }).click();
    await expectVisible(page.getByTestId("edit-step-form"));
    await screenshot(page, "07b-suivi-page-entiere", true);
    await assertNoSeriousA11yViolations(page, "suivi : modifier une étape");
  });

  it("point de situation, avec une erreur de réglage et l’ajout à un groupe de suivi", async () => {
    const page = await open({ seed: FOLLOWED });
    await page.getByRole("link", { name: "Point de situation", exact: true }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Point de situation" }));
    await page.getByLabel("Toute la structure").check();
    await expectText(page.getByTestId("review-count"), "2 personnes");
    await screenshot(page, "08-point-de-situation");
    await assertNoSeriousA11yViolations(page, "point de situation");
    await page.getByLabel("Signaler l’absence d’entretien depuis (semaines)").fill("0");
    await expectVisible(page.locator(".field--invalid"));
    await assertNoSeriousA11yViolations(page, "point de situation avec erreur");
    await page.getByRole("button", { name: "Ajouter à un groupe de suivi : Lefèvre Hélène" }).click();
    await expectVisible(page.getByRole("dialog"));
    await assertNoSeriousA11yViolations(page, "ajout à un groupe de suivi (aucun groupe)");
  });

  it("groupes de suivi : liste, réunion, ordre du jour et décision", async () => {
    const page = await open({ seed: FOLLOWED });
    await page.getByRole("link", { name: "Groupes de suivi", exact: true }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Groupes de suivi" }));
    await assertNoSeriousA11yViolations(page, "groupes de suivi (vide)");
    await page.getByRole("button", { name: "Créer le groupe de suivi" }).click();
    await expectVisible(page.getByTestId("meeting-heading"));
    await assertNoSeriousA11yViolations(page, "groupe de suivi (ordre du jour vide)");
    await page.getByRole("link", { name: "Point de situation", exact: true }).click();
    await page.getByRole("button", { name: "Ajouter à un groupe de suivi : Lefèvre Hélène" }).click();
    await expectVisible(page.getByRole("dialog"));
    await assertNoSeriousA11yViolations(page, "ajout à un groupe de suivi");
    await page.getByRole("dialog").getByRole("button", { name: "Ajouter à l’ordre du jour" }).click();
    await page.getByRole("link", { name: "Ouvrir le groupe de suivi" }).click();
    await page.getByRole("button", { name: /Enregistrer la décision pour/ }).click();
    await page.getByLabel("Réorientation").check();
    await page.getByTestId("decision-form").getByRole("button", { name: "Enregistrer la décision" }).click();
    await expectVisible(page.getByTestId("decision-form").locator(".error"));
    await screenshot(page, "09-groupe-de-suivi");
    await assertNoSeriousA11yViolations(page, "groupe de suivi : décision avec erreur");
    await page.getByRole("link", { name: "Groupes de suivi", exact: true }).click();
    await expectVisible(page.getByTestId("meeting-row"));
    await assertNoSeriousA11yViolations(page, "groupes de suivi (liste)");
  });
});
