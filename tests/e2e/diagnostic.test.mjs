// End to end in the real app window: a complete joint diagnostic conducted with the keyboard
// alone — Tab to reach each control, typing, arrow keys in radio groups and selects, Enter to
// act — signed off by the three people, finalised, and found finalised after a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { Keys } from './webdriver.mjs';
import { addPerson, createProfile, setupApp, unlock } from './app.mjs';

const { launch } = await setupApp();

/** Waits until every autosave has been written (the status line says « Enregistré »). */
async function saved(s) {
  await s.waitFor(
    'the autosave to finish',
    `const st = document.querySelector('[data-testid=save-status]');
     return st && st.textContent.includes('Enregistré') && !st.textContent.includes('Non enregistré');`,
  );
}

async function typeInto(s, label, text) {
  await s.tabToLabel(label);
  await s.keys(text);
}

async function goToStep(s, key) {
  await s.tabToTestId(`step-${key}`, { back: true });
  await s.keys(Keys.ENTER);
  await s.waitFor(`step ${key}`, `return location.hash.endsWith('/${key}')`);
}

function checked(s, name) {
  return s.script(
    `const el = document.querySelector('input[type=radio][name="${name}"]:checked'); return el ? el.value : null;`,
  );
}

test('a joint diagnostic with the keyboard only, signed, finalised, still finalised after a restart', async () => {
  let s = await launch();
  let diagnosticUrl;
  try {
    await createProfile(s);
    await addPerson(s, 'Hélène', 'Lefèvre');

    // From the person's file: start the diagnostic.
    await s.tabToTestId('start-diagnostic');
    await s.keys(Keys.ENTER);
    await s.waitFor('the interview screen', `return location.hash.startsWith('#/diagnostic/')`);
    await s.waitForText('Diagnostic de Hélène Lefèvre');

    // Entretien: the co-interviewer.
    await typeInto(s, 'Lieu', 'Mairie annexe de Villeurbanne');
    await typeInto(s, 'Nom et prénom', 'Karim Benali');
    await typeInto(s, 'Structure', 'France Travail Lyon Est');
    await typeInto(s, 'Coordonnées', 'karim.benali@francetravail.fr');
    await s.tabTo('the « Domaine » radio group', `el.type === 'radio' && (el.value === 'social' || el.value === 'employment')`);
    await s.keys(Keys.DOWN); // travail social → emploi
    await s.waitFor('co-interviewer role', `return !!document.querySelector('input[type=radio][value=employment]:checked')`);
    await saved(s);
    await s.screenshot('diagnostic-interview');

    // Logement: a strong obstacle, and a note.
    await s.tabToTestId('next-step');
    await s.keys(Keys.ENTER);
    await s.waitFor('the housing step', `return location.hash.endsWith('/logement')`);
    await s.tabTo('the housing grade', `el.type === 'radio' && el.closest('[data-testid=grade-logement]')`);
    await s.keys(Keys.DOWN + Keys.DOWN + Keys.DOWN); // non abordé → pas de frein → moyen → fort
    await s.waitFor('a strong obstacle', `const g = document.querySelector('[data-testid=grade-logement] input:checked'); return g && g.value === 'obstacle_strong'`);
    await s.tabToTestId('add-note');
    await s.keys(Keys.ENTER);
    await typeInto(s, 'Texte de la note', 'Hébergée chez sa sœur depuis août ; demande de logement social à déposer.');
    await saved(s);
    await s.screenshot('diagnostic-theme');

    // Her own words.
    await goToStep(s, 'mots');
    await typeInto(s, 'Ce que la personne souhaite', 'Travailler dans la vente, près de chez moi.');
    await saved(s);

    // Orientation: the professionals choose, with their reasons.
    await goToStep(s, 'orientation');
    await s.tabTo('the orientation choice', `el.type === 'radio' && el.name.includes('orientation')`);
    await s.keys(Keys.DOWN); // professionnelle → socioprofessionnelle
    await s.waitFor('an orientation', `return !!document.querySelector('input[type=radio][value=socio_professional]:checked')`);
    await typeInto(s, 'Raisons de ce choix', 'Le logement d’abord, puis la recherche d’emploi.');
    await saved(s);

    // Plan: an objective of the housing theme, with an action.
    await goToStep(s, 'plan');
    await s.tabToTestId('objective-select');
    await s.keys(Keys.DOWN); // the first objective (themes with an obstacle come first)
    await s.waitFor('an objective chosen', `return document.querySelector('[data-testid=objective-select]').value !== ''`);
    await s.tabToTestId('add-objective');
    await s.keys(Keys.ENTER);
    await s.waitFor('the objective', `return document.querySelectorAll('[data-testid=objective]').length === 1`);
    await s.tabToTestId('add-action');
    await s.keys(Keys.ENTER);
    await typeInto(s, 'Action', 'Déposer la demande de logement social');
    await saved(s);

    // Consent: the file stays on this laptop.
    await goToStep(s, 'consentement');
    await s.tabTo('the consent choice', `el.type === 'radio' && el.name.includes('consent')`);
    await s.keys(Keys.DOWN); // oui → non
    await s.waitFor('a consent decision', `return !!document.querySelector('input[type=radio][value=false]:checked')`);
    await saved(s);

    // Summary: three typed sign-offs, then finalise.
    await goToStep(s, 'synthese');
    for (const [label, name] of [
      ['Nom du ou de la conseiller·e', 'Camille Roux'],
      ['Nom du ou de la co-intervenant·e', 'Karim Benali'],
      ['Nom de la personne', 'Hélène Lefèvre'],
    ]) {
      await s.tabToLabel(label, { back: true });
      await s.keys(name + Keys.ENTER);
      await s.waitForText(`Signé par ${name}`);
    }
    await s.screenshot('diagnostic-summary');
    await s.tabToTestId('finalise', { back: true });
    await s.keys(Keys.ENTER);
    await s.waitFor(
      'the diagnostic to be finalised',
      `const st = document.querySelector('[data-testid=diagnostic-status]'); return st && st.textContent.includes('Finalisé')`,
      [],
      15000,
    );
    diagnosticUrl = await s.script('return location.hash');
  } finally {
    await s.close();
  }
  await sleep(500);

  // Restart: the diagnostic is finalised, read-only, with everything that was typed.
  s = await launch();
  try {
    await unlock(s);
    await s.click(await s.waitFor('Hélène in the caseload', `return Array.from(document.querySelectorAll('[data-testid=person-row] a, a[data-testid=person-row]')).find(a => a.textContent.includes('Lefèvre')) || null`));
    await s.waitFor('the finalised diagnostic in her file', `const r = document.querySelector('[data-testid=diagnostic-row]'); return r && r.textContent.includes('Finalisé le')`);
    await s.click(await s.byTestId('diagnostic-row'));
    await s.waitFor('the diagnostic', `return location.hash.startsWith(${JSON.stringify(diagnosticUrl.split('/').slice(0, 3).join('/'))})`);
    await s.waitFor('finalised status', `const st = document.querySelector('[data-testid=diagnostic-status]'); return st && st.textContent.includes('Finalisé')`);
    await goToStep(s, 'synthese');
    const text = await s.pageText();
    for (const expected of ['Signé par Camille Roux', 'Signé par Karim Benali', 'Signé par Hélène Lefèvre', 'Déposer la demande de logement social']) {
      assert.ok(text.includes(expected), `after restart, « ${expected} » is shown`);
    }
    assert.ok(await s.script(`return !!document.querySelector('[data-testid=amend]')`), 'a finalised diagnostic offers a new version');
    assert.equal(await s.script(`return !!document.querySelector('[data-testid=finalise]')`), false);
    await goToStep(s, 'logement');
    assert.equal(await checked(s, await s.script(`return document.querySelector('[data-testid=grade-logement] input').name`)), 'obstacle_strong');
    const note = await s.script(`return document.body.innerText + Array.from(document.querySelectorAll('textarea, input')).map(e => e.value).join(' ')`);
    assert.ok(note.includes('Hébergée chez sa sœur'), 'the note survived the restart');
  } finally {
    await s.close();
  }
});
