// Shared set-up of the end-to-end tests: a private data folder, one WebKitWebDriver, and helpers
// to launch the real app window and fill fields.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Session, startDriver, stopDriver, Keys } from './webdriver.mjs';

export const PASSPHRASE = 'un vélo pour deux';

export async function setupApp() {
  const binary = process.env.TANDEM_APP_BINARY;
  assert.ok(binary, 'TANDEM_APP_BINARY must point at the built app');
  const dataDir = mkdtempSync(join(tmpdir(), 'tandem-e2e-'));
  const env = {
    TAURI_WEBVIEW_AUTOMATION: 'true',
    TANDEM_DATA_DIR: join(dataDir, 'data'),
    TANDEM_LOG_DIR: join(dataDir, 'logs'),
  };
  const driver = await startDriver(env);
  after(() => {
    stopDriver(driver);
    if (!process.env.TANDEM_E2E_KEEP) rmSync(dataDir, { recursive: true, force: true });
  });
  async function launch() {
    const s = await Session.create(driver.url, binary);
    // Closing the session also ends its app process: a restart never finds the previous one alive.
    s.driver = driver;
    await s.waitFor('the app to render', 'return document.querySelector("h1") !== null', [], 30000);
    return s;
  }
  return { env, launch };
}

export async function fill(s, label, value) {
  const el = await s.controlByLabel(label);
  await s.clear(el);
  await s.type(el, value);
}

export async function createProfile(
  s,
  { caseworker = 'Camille Roux', structure = 'CCAS de Villeurbanne', role = 'Travail social', shot = 'first-run' } = {},
) {
  await s.waitForText('Créer mon profil');
  await fill(s, 'Nom et prénom', caseworker);
  await fill(s, 'Structure', structure);
  await s.click(await s.controlByLabel(role));
  await fill(s, 'Phrase de passe', PASSPHRASE);
  await fill(s, 'Confirmation de la phrase de passe', PASSPHRASE);
  if (shot) await s.screenshot(shot);
  await s.click(await s.buttonByText('Créer mon profil'));
  await s.waitForText('Ajouter une personne', 30000);
}

export async function addPerson(s, first, last, shot) {
  await s.click(await s.byTestId('add-person'));
  await fill(s, 'Prénom', first);
  await fill(s, 'Nom', last);
  await s.keys(Keys.ENTER);
  // The new person's form opens; its autosave is the path every later edit takes.
  await s.waitFor(
    `${first} ${last}'s form`,
    'return document.querySelector("h1") && document.querySelector("h1").textContent.includes(arguments[0])',
    [last],
  );
  if (shot) await s.screenshot(shot);
}

export async function unlock(s) {
  await s.waitForText('verrouillé');
  await fill(s, 'Phrase de passe', PASSPHRASE);
  await s.click(await s.buttonByText('Déverrouiller'));
  await s.waitForText('Ajouter une personne', 30000);
}
