// Issue 6, the shared follow-up, against the fake backend (src/testing/fakeFollowUp.ts): a person's
// timeline and its forms, the status review and its settings, exports and review groups whose
// decisions land on the person's timeline.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import type { FakeSeed } from "../src/testing/fakeBackend.ts";
import { daysAgo, FOLLOWED, fr, frenchDate } from "./followupSeed.ts";
import { eventually, expectHidden, expectText, expectVisible, openApp, startHarness, type Harness } from "./harness.ts";

interface FollowUpHooks {
  saves: { format: string; scope: string; settings: { no_interview_weeks: number }; answer: string | null }[];
  cancelNextSave(): void;
}

async function saves(page: Page): Promise<FollowUpHooks["saves"]> {
  return page.evaluate(() => (window as unknown as { __tandemFake: { followUp: FollowUpHooks } }).__tandemFake.followUp.saves);
}

async function cancelNextSave(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as { __tandemFake: { followUp: FollowUpHooks } }).__tandemFake.followUp.cancelNextSave());
}

async function noHorizontalScroll(page: Page, label: string): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `${label}: horizontal scroll (${scroll} > ${client})`);
}

describe("suivi partagé", () => {
  let h: Harness;
  const contexts: BrowserContext[] = [];

  async function open(seed: FakeSeed = FOLLOWED): Promise<Page> {
    const { context, page } = await openApp(h, { seed });
    contexts.push(context);
    await expectText(page.getByTestId("result-count"), "2 personnes");
    return page;
  }

  async function openFollowUp(page: Page, name: string): Promise<void> {
    await page.getByRole("link", { name: new RegExp(name) }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name }));
    await page.getByRole("link", { name: "Ouvrir le suivi" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: `Suivi de ${name}` }));
  }

  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await h?.close();
  });

  it("depuis la fiche : repères, entretien enregistré visible dans la chronologie, filtre par thème", async () => {
    const page = await open();
    await openFollowUp(page, "Hélène Lefèvre");
    await expectText(page.getByTestId("referents"), `Référent·e du ${frenchDate(daysAgo(200))} au ${frenchDate(daysAgo(100))}`);
    await expectText(page.getByTestId("referents"), "Camille Durand (Mission locale de Villeurbanne)");
    await expectText(page.getByTestId("open-objectives"), "Accéder à un logement autonome");
    await noHorizontalScroll(page, "suivi");

    const entries = page.getByTestId("timeline-entry");
    const before = await entries.count();
    await page.getByRole("button", { name: "Enregistrer un entretien" }).click();
    const form = page.getByTestId("interview-form");
    await expectVisible(form);
    // A date in the future is refused by the backend, and said on the field.
    const tomorrow = daysAgo(-1);
    await form.getByLabel("Date de l’entretien").fill(tomorrow);
    await form.getByLabel("Type d’entretien").selectOption("phone");
    await form.getByLabel("Santé").check();
    await form.getByRole("button", { name: "Enregistrer l’entretien" }).click();
    await expectText(form.locator(".error"), "Cette date est dans le futur.");
    assert.equal(await form.getByLabel("Date de l’entretien").getAttribute("aria-invalid"), "true");

    await form.getByLabel("Date de l’entretien").fill(daysAgo(0));
    await form.getByRole("button", { name: "Enregistrer l’entretien" }).click();
    await expectHidden(form);
    await expectText(page.getByTestId("followup-notice"), "Entretien enregistré.");
    // The focus goes back to the button that opened the form.
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Enregistrer un entretien"));
    await eventually(async () => assert.equal(await entries.count(), before + 1));
    // Date order: the new interview is the last entry.
    await expectText(entries.last(), "Entretien téléphonique");
    await expectText(entries.last(), frenchDate(daysAgo(0)));

    // Filtering by theme: only the entries about health, i.e. the new interview.
    await page.getByLabel("Thème", { exact: true }).selectOption("sante");
    await eventually(async () => assert.equal(await entries.count(), 1));
    await expectText(page.getByTestId("timeline-count"), fr("1 événement pour le thème « Santé »"));
    await page.getByLabel("Thème", { exact: true }).selectOption("logement");
    await eventually(async () => {
      const texts = await entries.allTextContents();
      assert.ok(texts.length >= 3, texts.join(" / "));
      assert.ok(texts.every((t) => t.includes("Logement")), texts.join(" / "));
      assert.ok(!texts.some((t) => t.includes("Référent")), "a change of referent has no theme");
    });
    await page.getByLabel("Thème", { exact: true }).selectOption("");
    await eventually(async () => assert.equal(await entries.count(), before + 1));
  });

  it("étapes, contrat, changement de situation avec motif CAF, reprise du plan du diagnostic", async () => {
    const page = await open();
    // A diagnostic with one objective and one action, made through the fake's own commands.
    await page.evaluate(async () => {
      const f = (window as unknown as { __tandemFake: { handle: (c: string, a: unknown) => Promise<unknown>; persons: Map<string, { id: string; last_name: string }> } }).__tandemFake;
      const person = [...f.persons.values()].find((p) => p.last_name === "Martin");
      const d = (await f.handle("start_diagnostic", { personId: person?.id })) as { id: string };
      await f.handle("edit_diagnostic", { id: d.id, edit: { kind: "add_objective", id: "0d000000-0000-4000-8000-000000000001", theme: "mobilite", label: "Obtenir le permis de conduire (code / conduite)" } });
      await f.handle("edit_diagnostic", { id: d.id, edit: { kind: "add_action", id: "0d000000-0000-4000-8000-000000000002", objective_id: "0d000000-0000-4000-8000-000000000001", label: "Inscription à l’auto-école sociale" } });
    });
    await openFollowUp(page, "Jérôme Martin");
    await expectText(page.getByTestId("turning-26"), "26 ans le 2 mars 2030");
    // Back at work 40 days ago; the phone interview 20 days ago counts for the 1-month follow-up.
    await expectText(page.getByTestId("work-follow-ups"), fr(`1 mois : fait le ${frenchDate(daysAgo(20))}`));
    await expectText(page.getByTestId("work-follow-ups"), "3 mois");

    await page.getByRole("button", { name: "Reprendre le plan du diagnostic" }).click();
    await expectText(page.getByTestId("followup-notice"), "1 objectif et 1 étape ajoutés");
    await expectText(page.getByTestId("open-objectives"), "Obtenir le permis de conduire (code / conduite)");
    await expectText(page.getByTestId("steps"), "Inscription à l’auto-école sociale");
    await page.getByRole("button", { name: "Reprendre le plan du diagnostic" }).click();
    await expectText(page.getByTestId("followup-notice"), "déjà repris");

    // Edit the step: what really happened.
    await page.getByRole("button", { name: "Modifier l’étape « Inscription à l’auto-école sociale »" }).click();
    const edit = page.getByTestId("edit-step-form");
    await edit.getByLabel("Début réel").fill(daysAgo(5));
    await edit.getByLabel("Fin réelle").fill(daysAgo(7));
    await edit.getByRole("button", { name: "Enregistrer l’étape" }).click();
    await expectText(edit.locator(".error"), "précède");
    await edit.getByLabel("Fin réelle").fill(daysAgo(1));
    await edit.getByLabel("Prestataire ou structure").fill("Auto-école Roule Ma Poule");
    await edit.getByLabel("Résultat").fill("Code obtenu");
    await edit.getByRole("button", { name: "Enregistrer l’étape" }).click();
    await expectHidden(edit);
    await expectText(page.getByTestId("steps"), "Réalisée");
    await expectText(page.getByTestId("steps"), "Code obtenu");

    // A new step, with a required label.
    await page.getByRole("button", { name: "Ajouter une étape" }).click();
    const add = page.getByTestId("add-step-form");
    await add.getByRole("button", { name: "Ajouter l’étape" }).click();
    await expectText(add.locator(".error"), "Ce champ est obligatoire.");
    await add.getByLabel("Intitulé de l’étape").fill("Examen du permis");
    await add.getByLabel("Objectif servi").selectOption({ label: "Obtenir le permis de conduire (code / conduite)" });
    await add.getByLabel("Début prévu").fill(daysAgo(-30));
    await add.getByRole("button", { name: "Ajouter l’étape" }).click();
    await expectHidden(add);
    await expectText(page.getByTestId("steps"), "Examen du permis");

    // A contract carrying the objective.
    await page.getByRole("button", { name: "Ajouter un contrat" }).click();
    const contract = page.getByTestId("contract-form");
    await contract.getByLabel("Type de contrat").selectOption("cej");
    await contract.getByLabel("Début").fill(daysAgo(3));
    await contract.getByLabel("Obtenir le permis de conduire (code / conduite)").check();
    await contract.getByRole("button", { name: "Ajouter le contrat" }).click();
    await expectHidden(contract);
    await expectText(page.getByTestId("contracts"), "Contrat d’engagement jeune (CEJ)");
    await expectText(page.getByTestId("timeline"), fr("Début : Contrat d’engagement jeune (CEJ)"));

    // RSA closed, with a CAF closure reason from the vendored list.
    await page.getByRole("button", { name: "Enregistrer un changement de situation" }).click();
    const status = page.getByTestId("status-form");
    await status.getByLabel("Statut du RSA").selectOption("closed");
    await status.getByLabel("Motif CAF ou MSA").selectOption("caf_radie_fin_droit");
    await status.getByRole("button", { name: "Enregistrer le changement" }).click();
    await expectHidden(status);
    await expectText(page.getByTestId("timeline"), fr("RSA clos : Radié fin de droit"));

    // A change of referent needs a name and a structure.
    await page.getByRole("button", { name: "Enregistrer un changement de situation" }).click();
    await status.getByLabel("Changement de référent·e").check();
    await status.getByRole("button", { name: "Enregistrer le changement" }).click();
    await expectText(status.locator(".error").first(), "Ce champ est obligatoire.");
    await status.getByLabel("Nouveau ou nouvelle référent·e").fill("Camille Durand");
    await status.getByLabel("Sa structure").fill("Mission locale de Villeurbanne");
    await status.getByRole("button", { name: "Enregistrer le changement" }).click();
    await expectHidden(status);
    await expectText(page.getByTestId("referents"), `Référent·e du ${frenchDate(daysAgo(300))} au ${frenchDate(daysAgo(0))}`);
    await noHorizontalScroll(page, "suivi avec formulaires");
  });

  it("point de situation : points d’attention, réglage des semaines, périmètre, exports", async () => {
    const page = await open();
    await page.getByRole("link", { name: "Point de situation", exact: true }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Point de situation" }));
    const rows = page.getByTestId("review-row");
    // « Mes personnes »: Hélène (followed by this caseworker), not Jérôme (followed by Paul Girard).
    await eventually(async () => assert.equal(await rows.count(), 1));
    const helene = rows.filter({ hasText: "Lefèvre Hélène" });
    await expectText(helene, "Pas d’entretien depuis 8 semaines ou plus");
    await expectText(helene, "1 étape en retard");
    await expectText(helene, "il y a 70 jours");
    await expectText(helene, "Dossier de demande de logement social");
    await noHorizontalScroll(page, "point de situation");

    // 12 weeks: 70 days is no longer too long.
    await page.getByLabel("Signaler l’absence d’entretien depuis (semaines)").fill("12");
    await eventually(async () => assert.doesNotMatch((await helene.textContent()) ?? "", /Pas d’entretien depuis/));
    await expectText(helene, "1 étape en retard");
    // Refused by the backend: said on the field.
    await page.getByLabel("Signaler l’absence d’entretien depuis (semaines)").fill("0");
    await expectText(page.locator(".field--invalid .error"), "Saisissez un nombre entier");
    await page.getByLabel("Signaler l’absence d’entretien depuis (semaines)").fill("2");
    await expectText(helene, "Pas d’entretien depuis 2 semaines ou plus");

    await page.getByLabel("Toute la structure").check();
    await eventually(async () => assert.equal(await rows.count(), 2));
    const jerome = rows.filter({ hasText: "Martin Jérôme" });
    await expectText(jerome, "Changement de situation sans entretien depuis");
    await expectText(jerome, fr("RSA suspendu : Ressources trop élévées"));
    await expectText(jerome, "Retour à l’emploi le");
    await expectText(jerome, "Paul Girard (France Travail)");

    await page.getByRole("button", { name: "Exporter en CSV" }).click();
    await expectText(page.getByTestId("export-notice"), fr("Point de situation enregistré : point-de-situation-"));
    await cancelNextSave(page);
    await page.getByRole("button", { name: "Exporter en PDF" }).click();
    await eventually(async () => assert.equal((await saves(page)).length, 2));
    await expectHidden(page.getByTestId("export-notice"));
    assert.deepEqual(
      (await saves(page)).map((s) => [s.format, s.scope, s.settings.no_interview_weeks, s.answer === null]),
      [
        ["csv", "structure", 2, false],
        ["pdf", "structure", 2, true],
      ],
    );
  });

  it("groupe de suivi : créer, inscrire depuis le point de situation, décider, voir la décision dans le suivi", async () => {
    const page = await open();
    await page.getByRole("link", { name: "Groupes de suivi", exact: true }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Groupes de suivi" }));
    await expectVisible(page.getByTestId("no-meeting"));
    await page.getByRole("button", { name: "Créer le groupe de suivi" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: `Groupe de suivi du ${frenchDate(daysAgo(0))}` }));
    await expectText(page.getByTestId("decision-note"), "écrite dans le dossier de la personne");
    await page.getByLabel("Structures présentes, une par ligne").fill("CCAS de Villeurbanne\nFrance Travail\n");
    await page.getByRole("button", { name: "Enregistrer les structures" }).click();
    await expectText(page.getByRole("status").filter({ hasText: "Structures" }), "Structures présentes enregistrées.");
    await expectVisible(page.getByTestId("empty-agenda"));
    await noHorizontalScroll(page, "groupe de suivi");

    // From the status review, Hélène goes on the agenda with her flags as the reason.
    await page.getByRole("link", { name: "Point de situation", exact: true }).click();
    await page.getByRole("button", { name: "Ajouter à un groupe de suivi : Lefèvre Hélène" }).click();
    const dialog = page.getByRole("dialog");
    await expectVisible(dialog);
    assert.match(await dialog.getByLabel("Motif d’inscription à l’ordre du jour").inputValue(), /1 étape en retard/);
    await dialog.getByRole("button", { name: "Ajouter à l’ordre du jour" }).click();
    await expectHidden(dialog);
    await expectText(page.getByTestId("agenda-notice"), "Lefèvre Hélène est à l’ordre du jour");
    await page.getByRole("link", { name: "Ouvrir le groupe de suivi" }).click();

    const kase = page.getByTestId("agenda-case");
    await expectText(kase, "Hélène Lefèvre");
    await expectText(kase, "1 étape en retard");
    // Her follow-up says she is on the agenda, until the group decides.
    await kase.getByRole("link", { name: "Voir son suivi" }).click();
    await expectText(page.getByTestId("review-agenda"), fr(`À l’ordre du jour du ${frenchDate(daysAgo(0))} : Pas d’entretien depuis 8 semaines ou plus ; 1 étape en retard`));
    await page.goBack();
    await expectText(kase, "1 étape en retard");
    await kase.getByRole("button", { name: "Enregistrer la décision pour Hélène Lefèvre" }).click();
    const form = kase.getByTestId("decision-form");
    await expectText(form, "écrite dans le dossier de Hélène Lefèvre");
    await form.getByLabel("Réorientation").check();
    await form.getByLabel("Sociale", { exact: true }).check();
    await form.getByRole("button", { name: "Enregistrer la décision" }).click();
    await expectText(form.locator(".error"), "Ce champ est obligatoire.");
    await form.getByLabel("Motifs de la réorientation").fill("Logement à stabiliser d’abord");
    await form.getByLabel("Actions décidées, une par ligne").fill("Demande FSL\nRendez-vous assistante sociale");
    await form.getByLabel("Prochain examen").fill(daysAgo(-60));
    await form.getByRole("button", { name: "Enregistrer la décision" }).click();
    await expectHidden(form);
    await expectText(kase.getByTestId("case-notice"), "Décision enregistrée dans le dossier de Hélène Lefèvre.");
    await expectText(kase.getByTestId("case-decision"), fr("Action : Demande FSL"));

    await kase.getByRole("link", { name: "Voir son suivi" }).click();
    await expectVisible(page.getByRole("heading", { level: 1, name: "Suivi de Hélène Lefèvre" }));
    const timeline = page.getByTestId("timeline");
    await expectText(timeline, "Décision du groupe de suivi (CCAS de Villeurbanne, France Travail)");
    await expectText(timeline, fr("actions : Demande FSL, Rendez-vous assistante sociale"));
    await expectText(timeline, "Orientation sociale");
    await expectText(timeline, fr("Décidée en groupe de suivi : Logement à stabiliser d’abord"));
    await expectHidden(page.getByTestId("review-agenda"));
  });
});
