// End to end: two real app windows — two profiles of two structures — sync one person's file
// through a real tandem-server process on loopback. Laptop A enrols with a one-time code from
// the admin CLI, creates Hélène Dubois and syncs; with her consent, A shares her file with
// structure B from her form; laptop B syncs, finds her, changes her phone and syncs; A syncs and
// sees B's phone. Then both change it offline: A sees one conflict, each value with its author,
// and keeps B's. Needs TANDEM_SERVER_BINARY (set by ./dev.sh test) besides TANDEM_APP_BINARY.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { addPerson, createProfile, fill, setupApp } from './app.mjs';
import { freePort } from './webdriver.mjs';

const serverBinary = process.env.TANDEM_SERVER_BINARY;
assert.ok(serverBinary, 'TANDEM_SERVER_BINARY must point at the built tandem-server');
const serverDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-server-'));

function admin(...args) {
  const run = spawnSync(serverBinary, ['--data-dir', serverDir, 'admin', ...args], { encoding: 'utf8' });
  assert.equal(run.status, 0, `admin ${args.join(' ')}: ${run.stderr}`);
  return run.stdout.trim();
}

function account(structure, kind, caseworker, role) {
  const structureId = admin('structure', 'add', structure, '--kind', kind);
  const caseworkerId = admin('caseworker', 'add', '--structure', structureId, '--name', caseworker, '--role', role);
  const code = /code (\S+)/.exec(admin('enrolment', 'add', '--caseworker', caseworkerId))[1];
  return { structureId, code };
}

const ccas = account('CCAS de Villeurbanne', 'ccas', 'Camille Roux', 'social');
const mission = account('Mission locale Est', 'mission_locale', 'Yanis Benali', 'employment');

const port = await freePort();
const serverUrl = `http://127.0.0.1:${port}`;
const server = spawn(serverBinary, ['--data-dir', serverDir, 'serve', '--listen', `127.0.0.1:${port}`], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
after(() => {
  server.kill('SIGKILL');
  rmSync(serverDir, { recursive: true, force: true });
});
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${serverUrl}/openapi.json`)).ok) break;
  } catch {
    /* not up yet */
  }
  assert.ok(i < 100, 'tandem-server did not start');
  await sleep(100);
}

const laptopA = await setupApp();
const laptopB = await setupApp();

async function enrol(s, code) {
  await s.click(await s.byTestId('open-settings'));
  await fill(s, 'Adresse du serveur', serverUrl);
  await fill(s, 'Code à usage unique', code);
  await s.click(await s.byTestId('enrol-submit'));
  await s.waitFor('enrolment to succeed', 'return document.querySelector("[data-testid=enrol-success]") !== null', [], 30000);
  await s.click(await s.buttonByText('Fermer'));
}

/**
 * « Synchroniser », then waits until the bar says « À jour » with nothing left to send, after a
 * sync that ended later than the last one before the click (the bar may still say « À jour »
 * from that one for a moment).
 */
async function syncNow(s) {
  await s.waitFor('the sync button', 'return document.querySelector("[data-testid=sync-now]") !== null', [], 30000);
  const before = await s.script(
    'const state = document.querySelector("[data-testid=sync-state]"); return state ? state.dataset.lastSynced : "";',
  );
  await s.click(await s.byTestId('sync-now'));
  await s.waitFor(
    'the bar to say « À jour » after a new sync',
    `const state = document.querySelector("[data-testid=sync-state]");
     const details = document.querySelector("[data-testid=sync-details]");
     return state !== null && state.textContent.includes("À jour")
       && state.dataset.lastSynced !== arguments[0]
       && !(details && details.textContent.includes("envoyer"));`,
    [before ?? ''],
    30000,
  );
}

async function openPerson(s, id) {
  // Through the list, so the form loads afresh what sync wrote.
  await s.script('location.hash = "#/"');
  await s.waitForText('Mes personnes accompagnées');
  await s.script('location.hash = arguments[0]', `#/personne/${id}`);
  await s.waitFor('the person form', 'return document.querySelector("h1") && document.querySelector("h1").textContent.includes("Dubois")');
}

async function phoneOf(s) {
  const phone = await s.controlByLabel('Téléphone');
  return s.script('return arguments[0].value', phone);
}

test('two structures share one file through the territory server', async () => {
  const a = await laptopA.launch();
  const b = await laptopB.launch();
  try {
    await createProfile(a);
    await createProfile(b, { caseworker: 'Yanis Benali', structure: 'Mission locale Est', role: 'Emploi', shot: null });
    await enrol(a, ccas.code.replaceAll('-', '').toLowerCase());
    await enrol(b, mission.code);

    await addPerson(a, 'Hélène', 'Dubois');
    const personId = await a.script('return decodeURIComponent(location.hash.split("/")[2])');
    await fill(a, 'Téléphone', '06 12 34 56 78');
    await a.keys('\uE004'); // Tab: leave the field, the autosave runs.
    await a.waitFor('the phone to be saved', 'return !document.body.textContent.includes("Enregistrement…")');
    await sleep(1500);
    await syncNow(a);
    await a.screenshot('sync-up-to-date');

    // B sees nothing of Hélène until she consents to share her file with B's structure.
    await syncNow(b);
    assert.equal(await b.script('return document.body.textContent.includes("Dubois")'), false);
    // Hélène agrees: A shares her file with the Mission locale from her form.
    await a.click(await a.byTestId('share-open'));
    await a.waitFor('the structures', 'return document.querySelector("[data-testid=share-structure] option[value=\'" + arguments[0] + "\']") !== null', [mission.structureId], 30000);
    // WebKitGTK's driver cannot click a native <option>: pick it as a keyboard would (value +
    // change event).
    await a.script(
      `const select = document.querySelector("[data-testid=share-structure]");
       select.focus();
       select.value = arguments[0];
       select.dispatchEvent(new Event("change", { bubbles: true }));`,
      mission.structureId,
    );
    // The checkbox's input is visually hidden behind its styled box: press Space on it.
    const consent = await a.controlByLabel('La personne accepte que cette structure voie son dossier');
    await a.script('arguments[0].focus()', consent);
    await a.keys(' ');
    const submit = await a.byTestId('share-submit');
    await a.script('arguments[0].scrollIntoView({ block: "center" })', submit);
    await a.click(submit);
    await a.waitForText('Le dossier sera visible par Mission locale Est', 30000);
    await a.screenshot('share-file');
    await syncNow(b);
    await openPerson(b, personId);
    assert.equal(await phoneOf(b), '06 12 34 56 78');

    // B changes the phone; A gets it at its next sync.
    await fill(b, 'Téléphone', '07 98 76 54 32');
    await b.keys('\uE004');
    await sleep(1500);
    await syncNow(b);
    await syncNow(a);
    await openPerson(a, personId);
    await a.waitFor(
      'B’s phone on A',
      'return document.querySelector("input[type=tel]") && document.querySelector("input[type=tel]").value === arguments[0]',
      ['07 98 76 54 32'],
      15000,
    );

    // Both change the phone before syncing: one conflict, shown on A side by side, each value
    // with who entered it (B's caseworker and structure, named by the server); A keeps B's.
    await fill(a, 'Téléphone', '06 11 11 11 11');
    await a.keys('\uE004');
    await openPerson(b, personId);
    await fill(b, 'Téléphone', '07 22 22 22 22');
    await b.keys('\uE004');
    await sleep(1500);
    await syncNow(a);
    await syncNow(b);
    await syncNow(a);
    await a.script('location.hash = "#/conflits"');
    await a.waitFor(
      'the conflict with its authors',
      `const options = [...document.querySelectorAll("[data-testid=conflict-option]")].map((o) => o.textContent);
       return options.length === 2
         && options.some((t) => t.includes("07 22 22 22 22") && t.includes("Mission locale Est · Yanis Benali"))
         && options.some((t) => t.includes("06 11 11 11 11") && t.includes("Saisie par cet ordinateur"));`,
      [],
      30000,
    );
    await a.screenshot('conflicts');
    await a.script(
      `const option = [...document.querySelectorAll("[data-testid=conflict-option]")]
         .find((o) => o.textContent.includes("07 22 22 22 22"));
       option.querySelector("[data-testid=keep-value]").click();`,
    );
    await syncNow(a);
    await a.waitForText('Aucun conflit', 30000);
    await syncNow(b);
    await openPerson(a, personId);
    assert.equal(await phoneOf(a), '07 22 22 22 22');
  } finally {
    await a.close();
    await b.close();
  }
});
