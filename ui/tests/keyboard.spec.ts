// Keyboard only: the tab order reaches the search box, the add button and the list rows; Enter opens
// a person; Escape closes a dialog and gives focus back. Also: unlock errors that allow no retry.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { eventually, expectHidden, expectText, expectVisible, openApp, startHarness, UNLOCKED_WITH_TWO, type Harness } from "./harness.ts";

async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return "";
    const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null;
    return `${el.tagName.toLowerCase()}|${el.getAttribute("data-testid") ?? ""}|${(label ?? el.textContent ?? "").trim()}`;
  });
}

async function tabUntil(page: Page, match: (f: string) => boolean, max = 25): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f);
    if (match(f)) return seen;
  }
  throw new Error(`Never reached the target by Tab; went through:\n${seen.join("\n")}`);
}

describe("clavier seul", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("Tab atteint la recherche, le bouton d’ajout et les lignes ; Entrée ouvre la fiche", async () => {
    const { context, page } = await openApp(h, { seed: UNLOCKED_WITH_TWO });
    try {
      await expectText(page.getByTestId("result-count"), "2 personnes");
      // The screen opens with focus on its heading; backwards, the main navigation (last in the
      // banner), the banner's actions and then the skip link.
      await eventually(async () => assert.match(await focused(page), /^h1\|\|Mes personnes accompagnées$/));
      for (const expected of [/Groupes de suivi/, /Point de situation/, /Personnes/, /Verrouiller/, /Paramètres/, /Aller au contenu/]) {
        await page.keyboard.press("Shift+Tab");
        assert.match(await focused(page), expected);
      }
      await page.keyboard.press("Enter");
      assert.match(await focused(page), /^main\|/);
      const path = await tabUntil(page, (f) => f.includes("|person-row|"));
      const order = path.map((f) => f.split("|")[1]);
      const add = order.indexOf("add-person");
      const search = order.indexOf("search");
      const row = order.indexOf("person-row");
      assert.ok(add >= 0 && search > add && row > search, `tab order: ${path.join(" → ")}`);
      assert.match(await focused(page), /Hélène Lefèvre/);

      await page.keyboard.press("Enter");
      await expectVisible(page.getByRole("heading", { level: 1, name: "Hélène Lefèvre" }));
      await eventually(async () => assert.match(await focused(page), /^h1\|person-heading\|Hélène Lefèvre$/));
      // From the heading, Tab goes into the form.
      await page.keyboard.press("Tab");
      assert.match(await focused(page), /^input\|person-first-name\|Prénom$/);
      // Back to the list with the keyboard.
      await page.keyboard.press("Shift+Tab");
      assert.match(await focused(page), /Retour à la liste/);
      await page.keyboard.press("Enter");
      await expectVisible(page.getByRole("heading", { level: 1, name: "Mes personnes accompagnées" }));
    } finally {
      await context.close();
    }
  });

  it("le formulaire d’ajout se remplit au clavier ; Échap le ferme et rend le focus", async () => {
    const { context, page } = await openApp(h, { seed: UNLOCKED_WITH_TWO });
    try {
      await expectText(page.getByTestId("result-count"), "2 personnes");
      await page.getByRole("button", { name: "Ajouter une personne" }).focus();
      await page.keyboard.press("Enter");
      await expectVisible(page.getByRole("dialog", { name: "Ajouter une personne" }));
      await eventually(async () => assert.match(await focused(page), /Prénom/));
      await page.keyboard.press("Escape");
      await expectHidden(page.getByRole("dialog"));
      await eventually(async () => assert.match(await focused(page), /add-person/));

      await page.keyboard.press("Enter");
      await eventually(async () => assert.match(await focused(page), /Prénom/));
      await page.keyboard.type("Awa");
      await page.keyboard.press("Tab");
      await page.keyboard.type("Diallo");
      await page.keyboard.press("Enter");
      await expectVisible(page.getByRole("heading", { level: 1, name: "Awa Diallo" }));
    } finally {
      await context.close();
    }
  });

  it("un dossier endommagé : le message, et pas de nouvel essai proposé", async () => {
    const { context, page } = await openApp(h, { seed: { state: "locked", unlockFailure: "damaged" } });
    try {
      await page.getByLabel("Phrase de passe").fill("une phrase de passe solide");
      await page.keyboard.press("Enter");
      await expectText(page.getByRole("alert"), "Le dossier est endommagé.");
      await expectHidden(page.getByRole("button", { name: "Déverrouiller" }));
    } finally {
      await context.close();
    }
  });
});
