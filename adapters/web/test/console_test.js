#!/usr/bin/env node
// The treaty-web console in a real browser (tests/integration/web_console_test.cc
// runs it): Debian's chromium, headless, driven by the pinned puppeteer-core.
//
//   node console_test.js --url http://127.0.0.1:PORT --instance ID --screenshots DIR
//                        [--buyer-url http://127.0.0.1:PORT] [--chromium /usr/bin/chromium]
//
// --url is the seller's treaty-web, the instance a submitted purchase order
// (version 2: accept and pay are human tasks). Prints "ok - ..." per check
// and "not ok - ..." on the first failure (exit 1). With --buyer-url it also
// works the buyer's pay form: a bad value, a wrong amount, the right one.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

function args(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error('usage: console_test.js --url URL --instance ID --screenshots DIR [--buyer-url URL] [--chromium PATH]');
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['url', 'instance', 'screenshots']) if (!out[k]) throw new Error('--' + k + ' is required');
  return out;
}

const opt = args(process.argv);
const TIMEOUT = 20000;

function ok(what) { console.log('ok - ' + what); }
class Failed extends Error {}
function check(cond, what, detail) {
  if (!cond) throw new Failed(what + (detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
  ok(what);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(opt.screenshots, name), fullPage: true });
}

// The ids the console gives the active states' diagram nodes, and the
// states it shows.
async function diagramState(page) {
  return page.evaluate(() => {
    const d = document.querySelector('#diagram');
    if (!d) return null;
    return {
      states: d.getAttribute('data-states'),
      active: Array.from(d.querySelectorAll('g.node.active title')).map((t) => t.textContent.trim()),
      svg: Boolean(d.querySelector('svg')),
    };
  });
}

async function waitDiagram(page, state) {
  await page.waitForFunction((s) => {
    const d = document.querySelector('#diagram');
    return d && d.getAttribute('data-states') === s &&
      Array.from(d.querySelectorAll('g.node.active title')).some((t) => t.textContent.trim() === s);
  }, { timeout: TIMEOUT, polling: 100 }, state);
}

async function setMe(page, name) {
  await page.$eval('#me', (e, v) => { e.value = v; e.dispatchEvent(new Event('change')); }, name);
}

async function taskState(page) {
  return page.$eval('#task-state', (e) => e.getAttribute('data-state'));
}

// Opens the inbox of a queue and the task of the instance's step in it.
async function openTask(page, base, queue, step) {
  await page.goto(`${base}/#/tasks?queue=${queue}`, { waitUntil: 'load' });
  const row = `#tasks-table tr[data-step="${step}"][data-task-id^="${opt.instance}:"]`;
  await page.waitForSelector(row, { timeout: TIMEOUT });
  const taskId = await page.$eval(row, (e) => e.getAttribute('data-task-id'));
  return { row, taskId };
}

async function main() {
  fs.mkdirSync(opt.screenshots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'treaty-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: opt.chromium || '/usr/bin/chromium',
    headless: false, // --headless is in args: the browser's own headless mode, as puppeteer's would be
    pipe: true, // DevTools over a pipe: no debugging port to find or to clash
    userDataDir: profile,
    defaultViewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
  });
  const consoleErrors = [];
  const watch = (page, who) => {
    page.on('pageerror', (e) => consoleErrors.push(`${who}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) consoleErrors.push(`${who}: ${m.text()}`); });
  };
  try {
    // ---------------------------------------------------------- seller
    const inbox = await browser.newPage();
    watch(inbox, 'inbox');
    await inbox.goto(`${opt.url}/#/tasks`, { waitUntil: 'load' });
    await setMe(inbox, 'sam@seller');
    const { row, taskId } = await openTask(inbox, opt.url, 'sales-approvals', 'accept');
    check(taskId.endsWith(':accept'), "the seller's inbox lists the accept task", taskId);
    await inbox.waitForFunction(() => (document.querySelector('#party') || {}).textContent === 'party seller', { timeout: TIMEOUT, polling: 100 });
    await shot(inbox, 'tasks.png');

    // The instance page in a second tab: it must follow the steps on its own.
    const watcher = await browser.newPage();
    watch(watcher, 'instance page');
    await watcher.goto(`${opt.url}/#/instances/${encodeURIComponent(opt.instance)}`, { waitUntil: 'load' });
    await waitDiagram(watcher, 'submitted');
    await watcher.waitForSelector('#live-status.on', { timeout: TIMEOUT });
    const before = await diagramState(watcher);
    check(before.svg && before.active.length === 1 && before.active[0] === 'submitted',
      'the instance page shows the diagram in submitted', before);
    await watcher.evaluate(() => { window.__treatyMarker = 'same page'; });
    let loads = 0;
    watcher.on('load', () => { loads += 1; });
    watcher.on('framenavigated', (f) => { if (f === watcher.mainFrame()) loads += 1; });
    const submitAttestations = await watcher.$$eval('#history tr[data-step="submit"] .att', (a) => a.length);
    check(submitAttestations >= 1, 'the history shows the submit with its attestations', submitAttestations);
    await shot(watcher, 'instance-submitted.png');

    await inbox.bringToFront();
    await inbox.click(`${row} a[data-test="task-link"]`);
    await inbox.waitForSelector('#task-state', { timeout: TIMEOUT });
    check(await taskState(inbox) === 'TASK_OPEN', 'the accept task is open', await taskState(inbox));
    await inbox.click('#task-claim');
    await inbox.waitForSelector('#task-state[data-state="TASK_CLAIMED"]', { timeout: TIMEOUT });
    const assignee = await inbox.$eval('#task-assignee', (e) => e.textContent);
    check(assignee === 'sam@seller', 'claimed', assignee);
    // The task is claimed at the node too: unclaim and claim again.
    await inbox.click('#task-unclaim');
    await inbox.waitForSelector('#task-state[data-state="TASK_OPEN"]', { timeout: TIMEOUT });
    await inbox.click('#task-claim');
    await inbox.waitForSelector('#task-state[data-state="TASK_CLAIMED"]', { timeout: TIMEOUT });
    const form = await inbox.evaluate(() => ({
      fields: document.querySelectorAll('#task-form .field').length,
      noInput: Boolean(document.querySelector('#form-no-input')),
      title: (document.querySelector('#form-title') || {}).textContent,
    }));
    check(form.fields === 0 && form.noInput && form.title === 'Accept the order', 'the accept form has no input fields', form);
    await shot(inbox, 'task-accept.png');
    await inbox.click('#task-complete');
    await inbox.waitForFunction(() => {
      const r = document.querySelector('#form-result'), e = document.querySelector('#form-error');
      return (r && r.textContent) || (e && e.textContent);
    }, { timeout: TIMEOUT, polling: 100 });
    const outcome = await inbox.evaluate(() => ({
      outcome: document.querySelector('#form-result').getAttribute('data-outcome'),
      error: document.querySelector('#form-error').textContent,
    }));
    check(outcome.outcome === 'CONFIRMED', 'completed: CONFIRMED', outcome);
    await inbox.waitForSelector('#task-state[data-state="TASK_COMPLETED"]', { timeout: TIMEOUT });
    ok('the task shows completed');

    // The second tab, never reloaded, follows the ledger.
    await waitDiagram(watcher, 'accepted');
    const after = await diagramState(watcher);
    const marker = await watcher.evaluate(() => window.__treatyMarker);
    check(marker === 'same page' && loads === 0 && after.active.join() === 'accepted',
      'the diagram moved to accepted without a reload', { marker, loads, after });
    const seen = await watcher.$$eval('#events-log li', (l) => l.map((e) => e.getAttribute('data-type')));
    check(seen.includes('step_confirmed'), 'the page heard the step from the events stream', seen);
    await watcher.waitForSelector('#history tr[data-step="accept"][data-outcome="CONFIRMED"]', { timeout: TIMEOUT });
    const states = await watcher.$eval('#instance-states', (e) => e.getAttribute('data-states'));
    check(states === 'accepted', 'the history and the states show the accept', states);
    await watcher.bringToFront();
    await shot(watcher, 'instance-accepted.png');

    // ---------------------------------------------------------- buyer
    if (opt['buyer-url']) {
      const pay = await browser.newPage();
      watch(pay, 'buyer');
      await pay.goto(`${opt['buyer-url']}/#/tasks`, { waitUntil: 'load' });
      await setMe(pay, 'ann@buyer.example');
      const t = await openTask(pay, opt['buyer-url'], 'payments', 'pay');
      await pay.click(`${t.row} a[data-test="task-link"]`);
      await pay.waitForSelector('#field-amount', { timeout: TIMEOUT });
      const label = await pay.$eval('label[for="field-amount"]', (e) => e.textContent);
      check(label.startsWith('Amount'), "the pay form has the amount field with the form's label", label);
      let completions = 0;
      pay.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/complete')) completions += 1; });

      // A bad value: the field's error, nothing proposed.
      await pay.type('#field-amount', 'twelve');
      await pay.click('#task-complete');
      await pay.waitForFunction(() => document.querySelector('#error-amount').textContent !== '', { timeout: TIMEOUT, polling: 100 });
      const bad = await pay.evaluate(() => ({
        error: document.querySelector('#error-amount').textContent,
        proposed: document.querySelector('#task-form').getAttribute('data-proposed'),
        state: document.querySelector('#task-state').getAttribute('data-state'),
      }));
      await new Promise((r) => setTimeout(r, 300));
      check(bad.error === 'must be a whole number' && bad.proposed === 'false' && completions === 0 && bad.state === 'TASK_OPEN',
        "a bad amount shows the field's error and proposes nothing", Object.assign(bad, { completions }));
      await shot(pay, 'task-pay-invalid.png');

      // A whole number the guard refuses (the order's total is 300).
      await pay.$eval('#field-amount', (e) => { e.value = ''; });
      await pay.type('#field-amount', '250');
      await pay.click('#task-complete');
      await pay.waitForFunction(() => document.querySelector('#form-error').textContent !== '', { timeout: TIMEOUT, polling: 100 });
      const rejected = await pay.evaluate(() => ({
        error: document.querySelector('#form-error').textContent,
        status: document.querySelector('#form-error').getAttribute('data-status'),
        fieldError: document.querySelector('#error-amount').textContent,
      }));
      await pay.waitForSelector('#task-state[data-state="TASK_OPEN"]', { timeout: TIMEOUT });
      check(rejected.error.startsWith('Rejected: ') && /guard|amount|total/.test(rejected.error) && rejected.fieldError === '' && completions === 1,
        "a wrong amount shows the rejection's reason", rejected);
      await shot(pay, 'task-pay-rejected.png');

      await pay.$eval('#field-amount', (e) => { e.value = ''; });
      await pay.type('#field-amount', '300');
      await pay.click('#task-complete');
      await pay.waitForSelector('#task-state[data-state="TASK_COMPLETED"]', { timeout: TIMEOUT });
      ok('the buyer paid through the form');
      await waitDiagram(watcher, 'paid');
      check(await watcher.evaluate(() => window.__treatyMarker) === 'same page' && loads === 0,
        "paid: the seller's page moved to paid without a reload", { loads });
      await pay.close();
    }

    // ---------------------------------------------------------- the other pages
    const other = inbox;
    await other.bringToFront();
    await other.goto(`${opt.url}/#/instances?where=${encodeURIComponent('data.total > 100')}`, { waitUntil: 'load' });
    await other.waitForSelector(`#instances-table tr[data-instance-id="${opt.instance}"]`, { timeout: TIMEOUT });
    ok('the instance list finds the order by a where expression');
    await other.goto(`${opt.url}/#/instances?where=${encodeURIComponent('data.total > 1000')}`, { waitUntil: 'load' });
    await other.waitForSelector('#instances-table td.empty', { timeout: TIMEOUT });
    ok('and not by one it does not meet');
    await other.goto(`${opt.url}/#/instances?where=${encodeURIComponent('data.total >')}`, { waitUntil: 'load' });
    await other.waitForFunction(() => document.querySelector('#instances-error').textContent !== '', { timeout: TIMEOUT, polling: 100 });
    ok('a bad where expression shows the node\'s error');
    await other.goto(`${opt.url}/#/instances`, { waitUntil: 'load' });
    await other.waitForSelector(`#instances-table tr[data-instance-id="${opt.instance}"]`, { timeout: TIMEOUT });
    await shot(other, 'instances.png');

    await other.goto(`${opt.url}/#/definitions/purchase-order?version=2`, { waitUntil: 'load' });
    await other.waitForSelector('#definition-diagram svg', { timeout: TIMEOUT });
    const def = await other.evaluate(() => ({
      steps: Array.from(document.querySelectorAll('#definition-steps tr[data-step]')).map((e) => e.getAttribute('data-step')),
      states: Array.from(document.querySelectorAll('#definition-states tr[data-state]')).map((e) => e.getAttribute('data-state')),
      roles: document.querySelector('#definition-roles').textContent,
    }));
    check(def.steps.join() === 'submit,accept,cancel,pay' && def.states.join() === 'draft,submitted,accepted,cancelled,paid',
      "the definition page shows the diagram, states, steps and roles", def);
    await shot(other, 'definition.png');

    await other.goto(`${opt.url}/#/node`, { waitUntil: 'load' });
    await other.waitForSelector('#node-party', { timeout: TIMEOUT });
    const node = await other.evaluate(() => ({
      party: document.querySelector('#node-party').textContent,
      members: document.querySelectorAll('#node-members li').length,
      height: Number(document.querySelector('#node-ledger-height').textContent),
    }));
    check(node.party === 'seller' && node.members === 3 && node.height > 0, 'the node page shows party, height and members', node);
    await shot(other, 'node.png');

    await other.goto(`${opt.url}/#/incidents`, { waitUntil: 'load' });
    await other.waitForSelector('#incidents-table tbody tr', { timeout: TIMEOUT });
    const incErr = await other.$eval('#incidents-error', (e) => e.textContent);
    check(incErr === '', 'the incidents page loads', incErr);
    await shot(other, 'incidents.png');

    check(consoleErrors.length === 0, 'no script errors in the pages', consoleErrors);
  } catch (e) {
    // What each page showed when it failed: a screenshot and its text.
    const pages = await browser.pages();
    for (let i = 0; i < pages.length; i += 1) {
      try {
        await pages[i].screenshot({ path: path.join(opt.screenshots, `failure-${i}.png`), fullPage: true });
        const text = await pages[i].evaluate(() => location.href + '\n' + document.body.innerText);
        console.log(`# page ${i}: ${text.slice(0, 1500).replace(/\n/g, '\n# ')}`);
      } catch (x) { /* a page that is gone */ }
    }
    if (consoleErrors.length) console.log('# script errors: ' + consoleErrors.join(' | '));
    throw e;
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.log('not ok - ' + (e instanceof Failed ? e.message : (e && e.stack) || e));
  process.exit(1);
});
