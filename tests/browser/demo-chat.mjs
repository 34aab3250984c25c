// The demo's chat page in real headless Chromium: two pages through the lb,
// a message crossing, then the backend of page A killed with SIGKILL while
// the pages watch.
//
//   node demo-chat.mjs URL PIDS_JSON SCREENSHOT_DIR
//
// PIDS_JSON maps backend ids to pids ({"ws1": 123, ...}). Prints one JSON line
// with what was observed; exits 1 with the reason if a step fails. An https
// URL is the demo's self-signed certificate, which the pages accept.
import { chromium } from 'playwright-core';

const [url, pidsJson, shots] = process.argv.slice(2);
const pids = JSON.parse(pidsJson);
const STEP = 10000;
const observed = {};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
});

const context = await browser.newContext({ viewport: { width: 900, height: 700 },
                                           ignoreHTTPSErrors: url.startsWith('https:') });
const problems = [];
async function openPage(name, nick) {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('#state[data-state="open"]', { timeout: STEP });
  await page.waitForFunction(() => /^ws\d+$/.test(document.querySelector('#backend').textContent.trim()),
                             null, { timeout: STEP });
  await page.fill('#nick', nick);
  return page;
}

const backendOf = (page) => page.$eval('#backend', (e) => e.textContent.trim());

async function say(from, to, text) {
  const started = Date.now();
  await from.fill('#message', text);
  await from.press('#message', 'Enter');
  await to.waitForFunction((t) => [...document.querySelectorAll('#messages li.msg .text')]
    .some((e) => e.textContent === t), text, { timeout: STEP });
  return Date.now() - started;
}

let ok = false;
try {
  const a = await openPage('A', 'ann');
  const b = await openPage('B', 'bob');
  observed.backendA = await backendOf(a);
  observed.backendB = await backendOf(b);
  if (observed.backendA === observed.backendB)
    throw new Error(`both pages on ${observed.backendA}`);

  observed.crossMs = await say(a, b, 'hello from ann');
  const line = await b.$eval('#messages li.msg:last-child', (li) => ({
    author: li.querySelector('.author').textContent,
    text: li.querySelector('.text').textContent,
    backend: li.dataset.backend,
    time: li.querySelector('time').getAttribute('datetime'),
  }));
  if (line.author !== 'ann' || line.backend !== observed.backendB || !line.time)
    throw new Error(`message rendered as ${JSON.stringify(line)}`);
  if (!(await a.$('#messages li.msg.mine')))
    throw new Error("page A does not mark its own message as .mine");
  await a.screenshot({ path: `${shots}/a-connected.png` });
  await b.screenshot({ path: `${shots}/b-connected.png` });

  // Kill the backend serving page A.
  const victim = observed.backendA;
  process.kill(pids[victim], 'SIGKILL');
  await a.waitForSelector('#state[data-state="reconnecting"]', { timeout: STEP });
  observed.reconnectingText = await a.$eval('#state', (e) => e.textContent.trim());
  await a.screenshot({ path: `${shots}/a-reconnecting.png` });
  await a.waitForSelector('#state[data-state="open"]', { timeout: 20000 });
  await a.waitForFunction(() => /^ws\d+$/.test(document.querySelector('#backend').textContent.trim()),
                          null, { timeout: STEP });
  observed.backendAfter = await backendOf(a);
  observed.backendBAfter = await backendOf(b);

  observed.afterMs = await say(a, b, 'ann is back');
  await say(b, a, 'welcome back, ann');
  await a.screenshot({ path: `${shots}/a-back.png` });
  await b.screenshot({ path: `${shots}/b-back.png` });
  if (problems.length)
    throw new Error(`console errors: ${problems.join('; ')}`);
  ok = true;
} catch (err) {
  observed.error = err.message;
} finally {
  await browser.close();
}
console.log(JSON.stringify(observed));
process.exit(ok ? 0 : 1);
