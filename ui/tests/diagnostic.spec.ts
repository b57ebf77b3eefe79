// The joint diagnostic interview against the fake backend: a full diagnostic from the person form to
// « Finalisé », a refused finalisation, keyboard only, axe-core on every step, the 1366×768 window,
// and a finalised diagnostic that is read-only until « Modifier (nouvelle version) ».
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import {
  assertNoSeriousA11yViolations,
  eventually,
  expectText,
  expectVisible,
  openApp,
  screenshot,
  startHarness,
  UNLOCKED_WITH_TWO,
  type Harness,
} from "./harness.ts";

const STEP_KEYS = [
  "entretien",
  "logement",
  "emploi",
  "formation",
  "difficulte_administrative",
  "difficulte_financiere",
  "mobilite",
  "sante",
  "contraintes_familiales",
  "maitrise_langue",
  "numerique",
  "choisir_un_metier",
  "se_former",
  "preparer_sa_candidature",
  "trouver_un_emploi",
  "creer_une_entreprise",
  "s_ouvrir_a_l_international",
  "mots",
  "projet",
  "orientation",
  "plan",
  "consentement",
  "synthese",
];

interface FakeDiag {
  id: string;
  status: string;
  version: number;
  place: string;
  co_interviewer: { name: string; structure: string; role: string | null };
  themes: { theme: string; grade: string; situations: string[] }[];
  notes: { author: string; visibility: string; text: string; theme: string | null }[];
  person_words: { wishes: string; priorities: string };
  project: { target_jobs: { code: string; title: string }[]; contract_types: string[]; mobility_radius_km: number | null; experience: string };
  orientation: { proposal: string | null; reasons: string };
  plan: { theme: string; label: string; actions: { label: string; who: string; due_date: string | null }[] }[];
  consent: { sharing: boolean | null; structures: string[] };
  signoffs: { signer: string; name: string }[];
  changes: { what: string; by: string }[];
}

async function diagnostics(page: Page): Promise<FakeDiag[]> {
  return page.evaluate(() => {
    const fake = (window as unknown as { __tandemFake: { diagnostics: Map<string, unknown> } }).__tandemFake;
    return [...fake.diagnostics.values()] as FakeDiag[];
  });
}

async function latest(page: Page): Promise<FakeDiag> {
  const all = await diagnostics(page);
  const d = all.sort((a, b) => b.version - a.version)[0];
  assert.ok(d, "a diagnostic exists in the fake backend");
  return d;
}

async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    return `${el.tagName.toLowerCase()}|${el.getAttribute("data-testid") ?? ""}|${(el.textContent ?? "").trim()}`;
  });
}

/** Presses Tab until the focused element matches; fails with the path taken. */
async function tabTo(page: Page, match: (f: string) => boolean, max = 30): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f.slice(0, 60));
    if (match(f)) return;
  }
  throw new Error(`Never reached the target by Tab; went through:\n${seen.join("\n")}`);
}

async function saved(page: Page): Promise<void> {
  await expectText(page.getByTestId("save-status"), /^Enregistré$/, 4_000);
}

/** From the caseload, opens Hélène's form and starts a diagnostic there. */
async function startDiagnostic(page: Page): Promise<void> {
  await page.getByRole("link", { name: /Hélène Lefèvre/ }).click();
  await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
  await page.getByTestId("start-diagnostic").click();
  await expectVisible(page.getByRole("heading", { level: 1, name: "Diagnostic de Hélène Lefèvre" }));
}

async function step(page: Page, key: string, label: string | RegExp): Promise<void> {
  await page.getByTestId(`step-${key}`).click();
  await expectText(page.getByTestId("step-heading"), label);
}

async function noHorizontalScroll(page: Page, label: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `horizontal scroll on « ${label} »: ${scroll} > ${client}`);
}

describe("diagnostic partagé", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  async function open(): Promise<Page> {
    const { context, page } = await openApp(h, { seed: UNLOCKED_WITH_TWO });
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

  it("conduit un diagnostic complet, le finalise et le retrouve sur la fiche ; puis le modifie en version 2", async () => {
    const page = await open();
    await startDiagnostic(page);
    await expectText(page.getByTestId("diagnostic-status"), "Version 1 · Brouillon");
    await expectText(page.getByTestId("step-heading"), "Entretien");

    // Entretien
    await page.getByLabel("Lieu").fill("Permanence de Vaulx-en-Velin");
    await page.getByLabel("Nom et prénom").fill("Sophie Martin");
    await page.getByLabel("Structure").fill("Département du Rhône");
    await page.getByLabel("Travail social").check();
    await saved(page);
    await screenshot(page, "10-diagnostic-entretien");

    // Logement: strong obstacle, a situation, a note by the co-interviewer reserved to social work.
    await step(page, "logement", "Logement");
    await page.getByTestId("grade-logement").getByLabel("Frein fort").check();
    await page.getByLabel("Hébergé chez un tiers").check();
    const newNote = page.getByRole("group", { name: "Nouvelle note" });
    await newNote.getByLabel("Sophie Martin (co-intervenant·e)").check();
    await newNote.getByLabel("Réservée au travail social").check();
    await page.getByTestId("add-note").click();
    await page.getByLabel("Texte de la note").fill("Hébergée chez sa sœur depuis mars, doit partir en juin.");
    await saved(page);
    await expectText(page.getByTestId("note-0").getByTestId("note-author"), "Écrit par Sophie Martin (co-intervenant·e)");
    await expectText(page.getByTestId("step-logement"), "Frein fort");
    await screenshot(page, "11-diagnostic-theme");

    // Mobilité: medium obstacle.
    await step(page, "mobilite", "Mobilité");
    await page.getByTestId("grade-mobilite").getByLabel("Frein moyen").check();
    await saved(page);

    // The person's own words.
    await step(page, "mots", "Ses mots");
    await page.getByLabel("Ce que la personne souhaite").fill("Travailler en cuisine, près de chez moi.");
    await page.getByLabel("Ses priorités").fill("Trouver un logement d’abord.");
    await saved(page);

    // Professional project: a ROME job from the search.
    await step(page, "projet", "Projet professionnel");
    await page.getByTestId("rome-search").fill("cuisine");
    await expectVisible(page.getByTestId("rome-result").first());
    await page.getByTestId("rome-result").filter({ hasText: "Commis / Commise de cuisine" }).click();
    await expectText(page.getByTestId("target-job"), "Commis / Commise de cuisine");
    await page.getByLabel("Contrat à durée indéterminée (CDI)").check();
    await page.getByLabel("Temps partiel").check();
    await page.getByLabel("Distance maximale de déplacement (km)").fill("15");
    await saved(page);
    await screenshot(page, "12-diagnostic-projet");

    // Orientation: the suggestion beside, the professionals' choice.
    await step(page, "orientation", "Orientation");
    await expectText(page.getByTestId("suggestion"), "Socio-professionnelle");
    await expectText(page.getByTestId("suggestion"), "Frein fort\u202f: Logement");
    await page.getByLabel(/^Socio-professionnelle/).check();
    await page.getByLabel("Raisons de ce choix").fill("Logement à régler en parallèle de la recherche d’emploi.");
    await saved(page);
    await screenshot(page, "13-diagnostic-orientation");

    // Action plan: one objective per obstacle, an action with who and when.
    await step(page, "plan", "Plan d’action");
    await page.getByTestId("objective-select").selectOption({ label: "Accéder à un logement" });
    await page.getByTestId("add-objective").click();
    await expectVisible(page.getByTestId("objective"));
    await page.getByTestId("objective-select").selectOption({ label: "Accéder à un véhicule" });
    await page.getByTestId("add-objective").click();
    await eventually(async () => assert.equal(await page.getByTestId("objective").count(), 2));
    const first = page.getByTestId("objective").first();
    await first.getByTestId("add-action").click();
    const action = first.getByTestId("action").first();
    await action.getByLabel("Action", { exact: true }).fill("Demande de logement social");
    await eventually(async () => assert.equal(await action.getByLabel("Qui").isEnabled(), true), 3_000);
    await action.getByLabel("Qui").fill("Hélène, avec Sophie Martin");
    await action.getByLabel("Pour le").fill("2027-01-15");
    await saved(page);
    await screenshot(page, "14-diagnostic-plan");

    // Consent.
    await step(page, "consentement", "Consentement");
    await page.getByLabel("Oui, elle accepte le partage").check();
    await page.getByLabel("Nom de la structure").fill("France Travail Villeurbanne");
    await page.getByTestId("add-structure").click();
    await expectText(page.getByTestId("consent-structure"), "France Travail Villeurbanne");
    await saved(page);

    // Summary: only the signatures are missing; sign three times and finalise.
    await step(page, "synthese", "Synthèse et signatures");
    await expectText(page.getByTestId("missing"), "Il manque encore\u202f:");
    await expectText(page.getByTestId("missing"), "la signature de la personne");
    const missing = await page.getByTestId("missing").locator("li").allTextContents();
    assert.deepEqual(
      missing.filter((m) => !m.startsWith("la signature")),
      [],
      `only signatures missing, got ${missing.join(" | ")}`,
    );
    await page.getByLabel("Nom de la personne").fill("Hélène Lefèvre");
    await page.getByTestId("sign-person").click();
    await expectText(page.getByTestId("signoff-person"), "Signé par Hélène Lefèvre");
    await page.getByLabel("Nom du ou de la conseiller·e").fill("Camille Durand");
    await page.getByTestId("sign-caseworker").click();
    await page.getByLabel("Nom du ou de la co-intervenant·e").fill("Sophie Martin");
    await page.getByTestId("sign-co_interviewer").click();
    await expectText(page.getByTestId("signoff-co_interviewer"), "Signé par Sophie Martin");
    await expectText(page.getByTestId("missing"), "Tout est prêt");
    await screenshot(page, "15-diagnostic-synthese");
    await page.getByTestId("finalise").click();
    await expectText(page.getByTestId("diagnostic-status"), /Version 1 · Finalisé le \d+/);
    await expectVisible(page.getByTestId("amend"));

    const d = await latest(page);
    assert.equal(d.status, "finalised");
    assert.equal(d.co_interviewer.name, "Sophie Martin");
    assert.equal(d.co_interviewer.role, "social");
    assert.equal(d.themes.find((t) => t.theme === "logement")?.grade, "obstacle_strong");
    assert.deepEqual(d.themes.find((t) => t.theme === "logement")?.situations, ["Hébergé chez un tiers"]);
    assert.equal(d.notes.length, 1);
    assert.equal(d.notes[0]?.author, "co_interviewer");
    assert.equal(d.notes[0]?.visibility, "social_only");
    assert.equal(d.person_words.wishes, "Travailler en cuisine, près de chez moi.");
    assert.deepEqual(d.project.target_jobs, [{ code: "G1602", title: "Commis / Commise de cuisine" }]);
    assert.deepEqual(d.project.contract_types, ["cdi"]);
    assert.equal(d.orientation.proposal, "socio_professional");
    assert.equal(d.plan[0]?.actions[0]?.label, "Demande de logement social");
    assert.equal(d.plan[0]?.actions[0]?.due_date, "2027-01-15");
    assert.equal(d.consent.sharing, true);
    assert.deepEqual(d.consent.structures, ["France Travail Villeurbanne"]);
    assert.equal(d.signoffs.length, 3);

    // Read-only: inputs are disabled, nothing can be edited.
    await step(page, "entretien", "Entretien");
    assert.equal(await page.getByLabel("Lieu").isDisabled(), true);
    assert.equal(await page.getByLabel("Lieu").inputValue(), "Permanence de Vaulx-en-Velin");
    await step(page, "logement", "Logement");
    assert.equal(await page.getByTestId("grade-logement").getByLabel("Frein fort").isDisabled(), true);
    assert.equal(await page.getByTestId("add-note").isDisabled(), true);
    assert.equal(await page.getByTestId("add-note").isVisible(), false, "no add controls on a finalised diagnostic");
    assert.equal(await page.getByLabel("Texte de la note").isDisabled(), true);
    await screenshot(page, "16-diagnostic-finalise");
    await assertNoSeriousA11yViolations(page, "diagnostic finalisé (lecture seule)");
    await noHorizontalScroll(page, "diagnostic finalisé");

    // Found finalised on the person's form.
    await page.getByTestId("back-to-person").click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    const row = page.getByTestId("diagnostic-row");
    await expectText(row, "version 1");
    await expectText(row, /Finalisé le \d+ \p{L}+ \d{4}/u);
    await expectText(row, "Sophie Martin");
    await expectText(row, "socio-professionnelle");

    // « Modifier (nouvelle version) » makes version 2, a draft, with its changes listed.
    await row.click();
    await expectVisible(page.getByTestId("amend"));
    await page.getByTestId("amend").click();
    await expectText(page.getByTestId("diagnostic-status"), "Version 2 · Brouillon");
    await step(page, "orientation", "Orientation");
    await page.getByLabel(/^Sociale/).check();
    await saved(page);
    await page.getByTestId("changes-summary").click();
    await expectText(page.getByTestId("changes"), /Orientation par Camille Durand le \d+/);
    const v2 = await latest(page);
    assert.equal(v2.version, 2);
    assert.equal(v2.status, "draft");
    assert.equal(v2.orientation.proposal, "social");
    assert.equal(v2.signoffs.length, 0);
    const all = await diagnostics(page);
    assert.equal(all.find((x) => x.version === 1)?.orientation.proposal, "socio_professional", "version 1 is unchanged");
    await screenshot(page, "17-diagnostic-version-2");
    await assertNoSeriousA11yViolations(page, "version 2 avec ses modifications");

    await page.getByTestId("back-to-person").click();
    await eventually(async () => assert.equal(await page.getByTestId("diagnostic-row").count(), 2));
    await expectText(page.getByTestId("diagnostic-row").filter({ hasText: "version 2" }), "Brouillon");
    await page.getByRole("heading", { level: 2, name: "Diagnostics" }).scrollIntoViewIfNeeded();
    await screenshot(page, "19-fiche-diagnostics");
  });

  it("refuse de finaliser et dit ce qui manque", async () => {
    const page = await open();
    await startDiagnostic(page);
    await page.getByTestId("step-synthese").click();
    await expectText(page.getByTestId("missing"), "le nom du ou de la co-intervenant·e");
    await page.getByTestId("finalise").click();
    const refusal = page.getByTestId("finalise-error");
    await expectText(refusal, "Il manque encore\u202f:");
    await expectText(refusal, "le nom du ou de la co-intervenant·e");
    await expectText(refusal, "l’orientation proposée");
    await expectText(refusal, "la décision de la personne sur le partage de son dossier");
    await expectText(refusal, "la signature de la personne");
    assert.equal(await refusal.getAttribute("role"), "alert");
    await expectText(page.getByTestId("diagnostic-status"), "Brouillon");
    assert.equal((await latest(page)).status, "draft");
    await screenshot(page, "18-diagnostic-refus");

    // A grade with an obstacle asks for an objective; signing, then editing, clears the signatures.
    await page.getByTestId("step-logement").click();
    await page.getByTestId("grade-logement").getByLabel("Frein moyen").check();
    await saved(page);
    await page.getByTestId("step-synthese").click();
    await expectText(page.getByTestId("missing"), "un objectif pour le frein «\u202fLogement\u202f»");
    await page.getByLabel("Nom de la personne").fill("Hélène Lefèvre");
    await page.getByTestId("sign-person").click();
    await expectText(page.getByTestId("signoff-person"), "Signé par");
    await page.getByTestId("step-entretien").click();
    await page.getByLabel("Lieu").fill("Mairie");
    await saved(page);
    assert.equal((await latest(page)).signoffs.length, 0);
  });

  it("garde une saisie refusée à l’écran et ne perd rien en changeant d’écran ou en verrouillant", async () => {
    const page = await open();
    await startDiagnostic(page);
    await step(page, "projet", "Projet professionnel");
    const km = page.getByLabel("Distance maximale de déplacement (km)");
    await km.fill("douze");
    await expectText(page.getByTestId("save-status"), "Non enregistré\u202f: corrigez le champ signalé", 3_000);
    assert.equal(await km.getAttribute("aria-invalid"), "true");
    await expectText(page.locator(".field--invalid .error"), "nombre entier de kilomètres");
    assert.equal(await km.inputValue(), "douze");
    assert.equal((await latest(page)).project.mobility_radius_km, null);
    await km.fill("12");
    await saved(page);
    assert.equal(await km.getAttribute("aria-invalid"), null);

    // Typed, then straight to another step: sent at once, not after the delay.
    await page.getByLabel("Expérience").fill("Plonge en restaurant, 2 ans");
    await page.getByTestId("next-step").click();
    await eventually(async () => assert.equal((await latest(page)).project.experience, "Plonge en restaurant, 2 ans"), 400);

    // Typed, then back to the person's form.
    await step(page, "mots", "Ses mots");
    await page.getByLabel("Ses priorités").fill("Un logement");
    await page.getByTestId("back-to-person").click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await eventually(async () => assert.equal((await latest(page)).person_words.priorities, "Un logement"), 400);

    // Typed, then « Verrouiller »: saved before the lock.
    await page.getByTestId("diagnostic-row").first().click();
    await step(page, "mots", "Ses mots");
    await page.getByLabel("Ce que la personne souhaite").fill("Travailler le matin");
    await page.getByRole("button", { name: "Verrouiller" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Votre dossier est verrouillé" }));
    assert.equal((await latest(page)).person_words.wishes, "Travailler le matin");
  });

  it("au clavier seul : chaque étape s’atteint avec Tab et Entrée", async () => {
    const page = await open();
    // No mouse from the caseload on: the person's row, then « Commencer un diagnostic ».
    await expectVisible(page.getByTestId("person-row").first());
    await tabTo(page, (f) => f.includes("|person-row|") && f.includes("Hélène"));
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
    await tabTo(page, (f) => f.startsWith("button|start-diagnostic|"), 60);
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { level: 1, name: "Diagnostic de Hélène Lefèvre" }));
    await eventually(async () => assert.match(await focused(page), /^h1\|diagnostic-heading\|/));
    // From the heading, the first Tab reaches the step list.
    await page.keyboard.press("Tab");
    assert.match(await focused(page), /^a\|step-entretien\|Entretien$/);
    await page.keyboard.press("Tab");
    assert.match(await focused(page), /^a\|step-logement\|/);
    await page.keyboard.press("Enter");
    await expectText(page.getByTestId("step-heading"), "Logement");
    await eventually(async () => assert.match(await focused(page), /^h2\|step-heading\|Logement$/));

    // A grade with the arrow keys: Tab lands on the checked radio, → checks the next one.
    await page.keyboard.press("Tab");
    await page.keyboard.press("ArrowRight");
    await saved(page);
    assert.equal((await latest(page)).themes.find((t) => t.theme === "logement")?.grade, "no_obstacle");

    // Every following step with « Étape suivante »: Tab until the button, then Enter.
    for (const key of STEP_KEYS.slice(2)) {
      await tabTo(page, (f) => f.startsWith("button|next-step|"), 80);
      await page.keyboard.press("Enter");
      await eventually(async () => assert.equal(await page.getByTestId(`step-${key}`).getAttribute("aria-current"), "step"));
      await eventually(async () => assert.match(await focused(page), /^h2\|step-heading\|/));
    }
    await expectText(page.getByTestId("step-heading"), "Synthèse et signatures");
    assert.equal(await page.getByTestId("next-step").count(), 0);

    // Back with « Étape précédente », by keyboard.
    await tabTo(page, (f) => f.startsWith("button|previous-step|"), 60);
    await page.keyboard.press("Enter");
    await expectText(page.getByTestId("step-heading"), "Consentement");
  });

  it("axe-core sur chaque étape et la synthèse ; pas de défilement horizontal en 1366×768", async () => {
    const page = await open();
    assert.deepEqual(page.viewportSize(), { width: 1366, height: 768 });
    await startDiagnostic(page);
    // Some content on the steps that have lists: a note, a job, an objective with an action.
    await step(page, "logement", "Logement");
    await page.getByTestId("grade-logement").getByLabel("Frein fort").check();
    await page.getByTestId("add-note").click();
    await page.getByLabel("Texte de la note").fill("Une note.");
    await step(page, "projet", "Projet professionnel");
    await page.getByTestId("rome-search").fill("agent");
    await expectVisible(page.getByTestId("rome-result").first());
    await page.getByTestId("rome-result").first().click();
    await step(page, "plan", "Plan d’action");
    await page.getByTestId("objective-select").selectOption({ label: "Accéder à un logement" });
    await page.getByTestId("add-objective").click();
    await page.getByTestId("add-action").click();
    await page.getByLabel("Action", { exact: true }).fill("Demande DALO");
    await step(page, "consentement", "Consentement");
    await page.getByLabel("Oui, elle accepte le partage").check();
    await saved(page);

    for (const key of STEP_KEYS) {
      await page.getByTestId(`step-${key}`).click();
      await eventually(async () => assert.equal(await page.getByTestId(`step-${key}`).getAttribute("aria-current"), "step"));
      await assertNoSeriousA11yViolations(page, `étape ${key}`);
      await noHorizontalScroll(page, `étape ${key}`);
    }
    await page.getByTestId("finalise").click();
    await expectVisible(page.getByTestId("finalise-error"));
    await assertNoSeriousA11yViolations(page, "synthèse avec refus");
    await noHorizontalScroll(page, "synthèse avec refus");

    await page.getByTestId("back-to-person").click();
    await expectVisible(page.getByTestId("diagnostic-row"));
    await assertNoSeriousA11yViolations(page, "fiche avec diagnostics");
    await noHorizontalScroll(page, "fiche avec diagnostics");
  });

  it("imprime ou enregistre les documents ; sans imprimante, le dit en français et propose d’enregistrer", async () => {
    const { context, page } = await openApp(h, { seed: { ...UNLOCKED_WITH_TWO, printerAvailable: false } });
    contexts.push(context);
    await startDiagnostic(page);
    await page.getByLabel("Vos coordonnées pour la personne").fill("04 78 00 00 00");
    await saved(page);
    await step(page, "synthese", "Synthèse et signatures");
    await page.getByLabel("Prochain rendez-vous").fill("mardi 8 décembre à 10 h, au CCAS");
    await saved(page);
    const d = await latest(page);
    assert.equal((d as unknown as { next_appointment: string }).next_appointment, "mardi 8 décembre à 10 h, au CCAS");

    await page.getByTestId("print-person").click();
    await expectText(page.getByTestId("print-message"), /imprimante/);
    await page.getByTestId("save-instead").click();
    await expectText(page.getByTestId("print-message"), /Enregistré\s:\sdiagnostic-Helene-Lefevre\.pdf/);
    await page.getByTestId("save-professional").click();
    await expectText(page.getByTestId("print-message"), /Enregistré\s:\sdiagnostic-complet-Helene-Lefevre\.pdf/);
    await assertNoSeriousA11yViolations(page, "documents");
  });
});
