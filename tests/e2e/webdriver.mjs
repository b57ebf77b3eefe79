// A minimal W3C WebDriver client over fetch, enough to drive the real Tandem window through
// Debian's WebKitWebDriver (no tauri-driver, no Selenium: fewer moving parts, steadier here).

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts WebKitWebDriver on a free loopback port; `env` reaches the app it launches. */
export async function startDriver(env) {
  const port = await freePort();
  // Its own process group: the app windows it launches belong to it, so none can outlive a test.
  const proc = spawn('WebKitWebDriver', [`--port=${port}`, '--host=127.0.0.1'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/status`);
      if (res.ok) return { url, proc };
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  proc.kill();
  throw new Error('WebKitWebDriver did not start');
}

/** Pids of the driver's process group other than the driver itself: the apps it launched. */
export function launchedApps(driver) {
  const out = spawnSync('pgrep', ['-g', String(driver.proc.pid)], { encoding: 'utf8' }).stdout || '';
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((pid) => pid && pid !== driver.proc.pid);
}

/** Stops the driver and everything it launched. */
export function stopDriver(driver) {
  try {
    process.kill(-driver.proc.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(driverUrl, binary, args = []) {
    const body = {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': { binary, args },
        },
      },
    };
    const res = await call(driverUrl, 'POST', '/session', body);
    return new Session(driverUrl, res.sessionId);
  }

  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }

  /** Ends the session; with `driver` set, also makes sure the app process is gone. */
  async close() {
    try {
      await call(this.base, 'DELETE', `/session/${this.id}`);
    } catch {
      /* the app may already be gone */
    }
    if (!this.driver) return;
    for (let i = 0; i < 30 && launchedApps(this.driver).length > 0; i++) await sleep(100);
    for (const pid of launchedApps(this.driver)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }

  /** Runs a script in the page; returned DOM elements come back as element references. */
  script(source, ...args) {
    return this.cmd('POST', '/execute/sync', { script: source, args });
  }

  /** Waits until `fn` (a page-side script body returning a truthy value) succeeds. */
  async waitFor(description, source, args = [], timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        last = await this.script(source, ...args);
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await sleep(100);
    }
    const text = await this.script('return document.body ? document.body.innerText : ""').catch(() => '');
    throw new Error(`timed out waiting for ${description} (last: ${String(last)}); page text:\n${text}`);
  }

  /** The form control labelled `label`: exact label text, or label text before a hint line. */
  controlByLabel(label) {
    return this.waitFor(
      `control labelled ${label}`,
      `const wanted = arguments[0];
       const norm = (s) => s.replace(/\\s+/g, ' ').replace(/[\\s*]+$/, '').trim();
       const labels = Array.from(document.querySelectorAll('label'));
       const first = (l) => norm(l.firstChild ? l.firstChild.textContent || '' : '');
       const hit = labels.find(l => norm(l.textContent) === wanted) || labels.find(l => first(l) === wanted);
       if (hit) return hit.control || (hit.htmlFor && document.getElementById(hit.htmlFor)) || null;
       return document.querySelector('[aria-label="' + wanted.replace(/"/g, '') + '"]');`,
      [label],
    );
  }

  byTestId(id) {
    return this.waitFor(`element ${id}`, 'return document.querySelector(`[data-testid="${arguments[0]}"]`)', [id]);
  }

  buttonByText(text) {
    return this.waitFor(
      `button ${text}`,
      `const wanted = arguments[0];
       return Array.from(document.querySelectorAll('button, a, [role=button], [role=link]'))
         .find(b => b.textContent.replace(/\\s+/g, ' ').trim() === wanted && !b.disabled) || null;`,
      [text],
    );
  }

  async click(element) {
    await this.cmd('POST', `/element/${element[ELEMENT]}/click`, {});
  }

  async type(element, text) {
    await this.cmd('POST', `/element/${element[ELEMENT]}/value`, { text });
  }

  async clear(element) {
    await this.cmd('POST', `/element/${element[ELEMENT]}/clear`, {});
  }

  /** Sends keys to whatever has focus (keyboard-only navigation). */
  async keys(text) {
    const actions = [];
    const chars = [...text];
    // A leading SHIFT is held for the next key (Shift+Tab).
    if (chars[0] === Keys.SHIFT && chars.length === 2) {
      actions.push(
        { type: 'keyDown', value: Keys.SHIFT },
        { type: 'keyDown', value: chars[1] },
        { type: 'keyUp', value: chars[1] },
        { type: 'keyUp', value: Keys.SHIFT },
      );
      chars.length = 0;
    }
    for (const ch of chars) actions.push({ type: 'keyDown', value: ch }, { type: 'keyUp', value: ch });
    await this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
    await this.cmd('DELETE', '/actions');
  }

  /** Saves a PNG of the window when TANDEM_SCREENSHOTS names a folder (used for the README). */
  async screenshot(name) {
    const dir = process.env.TANDEM_SCREENSHOTS;
    if (!dir) return;
    await sleep(400); // WebKitGTK under Xvfb can hand back the previous frame right after a change
    const png = await this.cmd('GET', '/screenshot');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${name}.png`, Buffer.from(png, 'base64'));
  }

  /**
   * Keyboard only: presses Tab (or Shift+Tab) until the focused element satisfies `predicate`
   * (a page-side expression over `el`, the active element), as a user would.
   */
  async tabTo(description, predicate, { max = 120, back = false } = {}) {
    for (let i = 0; i < max; i++) {
      const hit = await this.script(`const el = document.activeElement; return !!(el && (${predicate}));`);
      if (hit) return;
      await this.keys(back ? Keys.SHIFT + Keys.TAB : Keys.TAB);
    }
    const active = await this.script('const el = document.activeElement; return el ? el.outerHTML.slice(0, 200) : "none"');
    throw new Error(`Tab never reached ${description}; focus is on ${active}`);
  }

  /** Keyboard only: presses Tab until the element with this data-testid has focus. */
  tabToTestId(id, options) {
    return this.tabTo(`[data-testid=${id}]`, `el.dataset.testid === ${JSON.stringify(id)}`, options);
  }

  /** Keyboard only: presses Tab until the control labelled `label` (exact text) has focus. */
  tabToLabel(label, options) {
    return this.tabTo(
      `the field « ${label} »`,
      `el.labels && Array.from(el.labels).some(l => (l.firstChild ? l.firstChild.textContent : l.textContent).trim() === ${JSON.stringify(label)})`,
      options,
    );
  }

  pageText() {
    return this.script('return document.body.innerText');
  }

  waitForText(text, timeoutMs) {
    return this.waitFor(`text « ${text} »`, 'return document.body.innerText.includes(arguments[0])', [text], timeoutMs);
  }
}

async function call(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const v = json.value || {};
    throw new Error(`${method} ${path}: ${res.status} ${v.error || ''} ${v.message || ''}`);
  }
  return json.value;
}

export const Keys = {
  TAB: '\uE004',
  ENTER: '\uE007',
  SHIFT: '\uE008',
  ESCAPE: '\uE00C',
  SPACE: '\uE00D',
  DOWN: '\uE015',
};
