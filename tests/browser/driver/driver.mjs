// Drives headless Chromium for the Rust browser tests (tests/browser/driver.rs is in charge).
//
// Protocol: one JSON command per line on stdin, one JSON result per line on stdout, in order:
//   {"id":1,"cmd":"goto","page":"p1","url":"http://127.0.0.1:4000/"}
//   {"id":1,"ok":true,"value":{...}}   or   {"id":1,"ok":false,"error":"…"}
// The first line written, before any command, reports the launch: {"id":0,"ok":true,"value":
// {"version":"156…"}} or {"id":0,"ok":false,"error":"…"} (then the driver exits).
// Every command may carry "timeout" (ms; default HEYSUMMON_BROWSER_TIMEOUT_MS or 15000).
// The driver closes the browser and exits when stdin closes, on "shutdown", or on SIGTERM.
//
// Commands (all page commands take "page": the id newPage returned):
//   ping                                       -> "pong"
//   newPage   {page?, context?, viewport?: {width, height}}  -> page id
//             pages of one named context (default "default") share storage; another context is
//             another browser profile (its own IndexedDB, cookies)
//   closePage {page}        closeContext {context}
//   goto      {page, url, waitUntil?}          -> {status, url}
//   reload    {page}        url {page} -> current URL
//   click     {page, selector}                 fill {page, selector, value}
//   press     {page, key, selector?}           (keyboard; on the element when selector is given)
//   check / uncheck {page, selector}           selectOption {page, selector, values}
//   waitFor   {page, selector, state?: visible|hidden|attached|detached, text?}
//   text      {page, selector} -> innerText of the first match; texts -> all matches
//   attribute {page, selector, name} -> string or null
//   count     {page, selector} -> number
//   evaluate  {page, body, arg?} -> JSON value of `async (arg) => { body }` run in the page
//   screenshot {page, path, fullPage?} -> path
//   setInputFiles {page, selector, files: [path | {name, mimeType, text | base64}]}
//   download  {page, selector, path} -> {path, suggestedFilename}  (clicks, saves the download)
//   setDialogPolicy {page, action: accept|dismiss, promptText?}   (default: accept)
//   dialogs / console / errors {page, clear?} -> what the page showed / logged / threw
//   shutdown                                   closes the browser; the driver exits

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const EXECUTABLE = process.env.HEYSUMMON_CHROMIUM || '/usr/bin/chromium';
const DEFAULT_TIMEOUT = Number(process.env.HEYSUMMON_BROWSER_TIMEOUT_MS) || 15000;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

const contexts = new Map();
const pages = new Map();
let browser = null;
let nextPage = 1;

function reply(id, result) {
  process.stdout.write(`${JSON.stringify({ id, ...result })}\n`);
}

function need(value, name) {
  if (value === undefined || value === null) throw new Error(`missing "${name}"`);
  return value;
}

function entry(command) {
  const found = pages.get(need(command.page, 'page'));
  if (!found) throw new Error(`no page "${command.page}"`);
  return found;
}

async function context(name) {
  if (!contexts.has(name)) {
    contexts.set(name, await browser.newContext({ acceptDownloads: true, viewport: null }));
  }
  return contexts.get(name);
}

function watch(id, page) {
  const state = { page, console: [], errors: [], dialogs: [], dialogPolicy: { action: 'accept' } };
  page.on('console', (msg) => {
    const where = msg.location();
    state.console.push({ type: msg.type(), text: msg.text(), url: where.url, line: where.lineNumber });
  });
  page.on('pageerror', (error) => state.errors.push(String(error && error.stack ? error.stack : error)));
  page.on('dialog', async (dialog) => {
    state.dialogs.push({ type: dialog.type(), message: dialog.message(), defaultValue: dialog.defaultValue() });
    const policy = state.dialogPolicy;
    try {
      if (policy.action === 'dismiss') await dialog.dismiss();
      else await dialog.accept(policy.promptText ?? dialog.defaultValue());
    } catch {
      // the page went away meanwhile
    }
  });
  pages.set(id, state);
}

function drain(list, clear) {
  const copy = list.slice();
  if (clear) list.length = 0;
  return copy;
}

async function inputFiles(files) {
  return Promise.all(need(files, 'files').map(async (file) => {
    if (typeof file === 'string') return file;
    const buffer = file.base64 !== undefined ? Buffer.from(file.base64, 'base64') : Buffer.from(file.text ?? '', 'utf8');
    return { name: need(file.name, 'name'), mimeType: file.mimeType || 'application/octet-stream', buffer };
  }));
}

const handlers = {
  ping: async () => 'pong',
  newPage: async (c) => {
    const id = c.page || `p${nextPage++}`;
    if (pages.has(id)) throw new Error(`page "${id}" exists`);
    const page = await (await context(c.context || 'default')).newPage();
    const viewport = c.viewport || { width: 1280, height: 800 };
    await page.setViewportSize({ width: need(viewport.width, 'width'), height: need(viewport.height, 'height') });
    watch(id, page);
    return id;
  },
  closePage: async (c) => {
    await entry(c).page.close();
    pages.delete(c.page);
    return null;
  },
  closeContext: async (c) => {
    const ctx = contexts.get(need(c.context, 'context'));
    if (ctx) {
      for (const [id, state] of pages) if (state.page.context() === ctx) pages.delete(id);
      await ctx.close();
      contexts.delete(c.context);
    }
    return null;
  },
  goto: async (c, t) => {
    const response = await entry(c).page.goto(need(c.url, 'url'), { timeout: t, waitUntil: c.waitUntil || 'load' });
    return { status: response ? response.status() : null, url: entry(c).page.url() };
  },
  reload: async (c, t) => {
    await entry(c).page.reload({ timeout: t });
    return null;
  },
  url: async (c) => entry(c).page.url(),
  click: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).click({ timeout: t }).then(() => null),
  fill: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).fill(String(need(c.value, 'value')), { timeout: t }).then(() => null),
  press: async (c, t) => {
    const { page } = entry(c);
    if (c.selector) await page.locator(c.selector).press(need(c.key, 'key'), { timeout: t });
    else await page.keyboard.press(need(c.key, 'key'));
    return null;
  },
  check: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).check({ timeout: t }).then(() => null),
  uncheck: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).uncheck({ timeout: t }).then(() => null),
  selectOption: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).selectOption(need(c.values, 'values'), { timeout: t }),
  waitFor: async (c, t) => {
    let locator = entry(c).page.locator(need(c.selector, 'selector'));
    if (c.text !== undefined && c.text !== null) locator = locator.filter({ hasText: String(c.text) });
    await locator.first().waitFor({ state: c.state || 'visible', timeout: t });
    return null;
  },
  text: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).first().innerText({ timeout: t }),
  texts: async (c) => entry(c).page.locator(need(c.selector, 'selector')).allInnerTexts(),
  attribute: async (c, t) => entry(c).page.locator(need(c.selector, 'selector')).first().getAttribute(need(c.name, 'name'), { timeout: t }),
  count: async (c) => entry(c).page.locator(need(c.selector, 'selector')).count(),
  evaluate: async (c) => {
    // Compiled here, in Node, and handed to Playwright as a function: nothing is eval'd in the
    // page, so the dashboard's CSP (no 'unsafe-eval') stays in force for the page's own code.
    const fn = new AsyncFunction('arg', need(c.body, 'body'));
    const value = await entry(c).page.evaluate(fn, c.arg ?? null);
    return value === undefined ? null : value;
  },
  screenshot: async (c, t) => {
    await entry(c).page.screenshot({ path: need(c.path, 'path'), fullPage: Boolean(c.fullPage), timeout: t });
    return c.path;
  },
  setInputFiles: async (c, t) => {
    await entry(c).page.locator(need(c.selector, 'selector')).setInputFiles(await inputFiles(c.files), { timeout: t });
    return null;
  },
  download: async (c, t) => {
    const { page } = entry(c);
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: t }),
      page.locator(need(c.selector, 'selector')).click({ timeout: t }),
    ]);
    await download.saveAs(need(c.path, 'path'));
    const failure = await download.failure();
    if (failure) throw new Error(`download failed: ${failure}`);
    return { path: c.path, suggestedFilename: download.suggestedFilename() };
  },
  setDialogPolicy: async (c) => {
    const action = need(c.action, 'action');
    if (action !== 'accept' && action !== 'dismiss') throw new Error('action is accept or dismiss');
    entry(c).dialogPolicy = { action, promptText: c.promptText };
    return null;
  },
  dialogs: async (c) => drain(entry(c).dialogs, c.clear),
  console: async (c) => drain(entry(c).console, c.clear),
  errors: async (c) => drain(entry(c).errors, c.clear),
};

async function run(command) {
  const timeout = Number(command.timeout) || DEFAULT_TIMEOUT;
  const handler = handlers[command.cmd];
  if (!handler) throw new Error(`unknown command "${command.cmd}"`);
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`"${command.cmd}" timed out after ${timeout} ms`)), timeout + 1000);
  });
  try {
    return await Promise.race([handler(command, timeout), limit]);
  } finally {
    clearTimeout(timer);
  }
}

let exiting = false;
async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  try {
    if (browser) await browser.close();
  } catch {
    // already gone
  }
  process.exit(code);
}

async function main() {
  try {
    browser = await chromium.launch({ executablePath: EXECUTABLE, args: ARGS, timeout: 60000 });
  } catch (error) {
    reply(0, { ok: false, error: `cannot launch ${EXECUTABLE}: ${error.message}` });
    process.exit(1);
  }
  reply(0, { ok: true, value: { version: browser.version() } });

  let queue = Promise.resolve();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => {
      let command;
      try {
        command = JSON.parse(line);
      } catch {
        reply(null, { ok: false, error: 'not a JSON command' });
        return;
      }
      if (command.cmd === 'shutdown') {
        reply(command.id ?? null, { ok: true, value: null });
        await shutdown(0);
        return;
      }
      try {
        reply(command.id ?? null, { ok: true, value: await run(command) });
      } catch (error) {
        reply(command.id ?? null, { ok: false, error: String(error && error.message ? error.message : error).slice(0, 4000) });
      }
    });
  });
  lines.on('close', () => {
    queue.then(() => shutdown(0));
  });
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
main();
