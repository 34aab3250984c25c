// The demo's chat page (protocol wscale.chat.v1) in real headless Chromium:
// two pages through the lb, on different backends, chat in lobby; then the
// backend of page A is killed with SIGKILL while the pages watch, page A
// reconnects by itself and they chat again.
//
//   node demo-chat.mjs URL PIDS_JSON SCREENSHOT_DIR
//
// PIDS_JSON maps backend ids to pids ({"ws1": 123, ...}). Prints one JSON line
// with what was observed; exits 1 with the reason if a step fails (every wait
// is bounded). An https URL is the demo's self-signed certificate, which the
// pages accept. Pages A and B have a browser context each (their own
// localStorage); their nicknames are typed into the page.
//
// The page's selectors used here (backend/chat-page.html keeps them stable):
//   #state[data-state]     connecting | open | reconnecting; its text "Reconnecting in N s…"
//   #backend               the backend the page is on (hello.node)
//   #nick, #message        nickname and message inputs (Enter commits / sends)
//   #rooms li[data-room]   one per joined room, .joining until joined
//   #messages li.msg       the shown room's messages: data-id, data-node (the
//                          backend that accepted it), .author, .text, time[datetime];
//                          .mine for the page's own
//   #messages li.out       own messages not acknowledged yet (.pending) or .failed
import { STEP, backendOf, launch, recordStates } from './common.mjs';

const [url, pidsJson, shots] = process.argv.slice(2);
const pids = JSON.parse(pidsJson);
const observed = {};

const browser = await launch();

const problems = [];
async function openPage(name, nick) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 },
                                             ignoreHTTPSErrors: url.startsWith('https:') });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(url);
  await recordStates(page);
  await backendOf(page);
  await page.fill('#nick', nick);
  await page.press('#nick', 'Enter');
  await joinedAs(page, nick);
  return page;
}

// Lobby joined under nick: the page's own name is in its member list.
async function joinedAs(page, nick) {
  await page.waitForSelector('#rooms li[data-room="lobby"]:not(.joining)', { timeout: STEP });
  await page.waitForFunction((n) => [...document.querySelectorAll('#members li')]
    .some((li) => li.textContent === n), nick, { timeout: STEP });
}

async function say(from, to, text) {
  const started = Date.now();
  await from.fill('#message', text);
  await from.press('#message', 'Enter');
  await to.waitForFunction((t) => [...document.querySelectorAll('#messages li.msg .text')]
    .some((e) => e.textContent === t), text, { timeout: STEP });
  const elapsed = Date.now() - started;
  await from.waitForFunction(() => !document.querySelector('#messages li.out'), null, { timeout: STEP });
  return elapsed;
}

const duplicateIds = (page) => page.$$eval('#messages li.msg', (lis) =>
  lis.map((li) => li.dataset.id).filter((id, i, all) => all.indexOf(id) !== i));

let ok = false;
try {
  const a = await openPage('A', 'ann');
  const b = await openPage('B', 'bob');
  observed.backendA = await backendOf(a);
  observed.backendB = await backendOf(b);
  if (observed.backendA === observed.backendB)
    throw new Error(`both pages on ${observed.backendA}`);

  observed.crossMs = await say(a, b, 'hello from ann');
  const line = await b.$$eval('#messages li.msg', (lis) => lis.map((li) => ({
    author: li.querySelector('.author').textContent,
    text: li.querySelector('.text').textContent,
    id: li.dataset.id,
    node: li.dataset.node,
    time: li.querySelector('time').getAttribute('datetime'),
  })).pop());
  observed.line = line;
  if (line.author !== 'ann' || line.text !== 'hello from ann' || line.node !== observed.backendA ||
      !/^\d+-\d+$/.test(line.id || '') || !line.time)
    throw new Error(`message rendered as ${JSON.stringify(line)}`);
  if (!(await a.$(`#messages li.msg.mine[data-id="${line.id}"]`)))
    throw new Error("page A does not show its own message, with the same id, as .mine");
  await a.screenshot({ path: `${shots}/a-connected.png` });
  await b.screenshot({ path: `${shots}/b-connected.png` });

  // Kill the backend serving page A.
  const victim = observed.backendA;
  process.kill(pids[victim], 'SIGKILL');
  await a.waitForFunction(() => window.stateLog.some(([s]) => s === 'reconnecting'), null, { timeout: STEP });
  observed.reconnectingText = await a.evaluate(() => window.stateLog.find(([s]) => s === 'reconnecting')[1]);
  await a.screenshot({ path: `${shots}/a-reconnecting.png` });
  observed.backendAfter = await backendOf(a);
  await joinedAs(a, 'ann');
  observed.backendBAfter = await backendOf(b);

  observed.afterMs = await say(a, b, 'ann is back');
  await say(b, a, 'welcome back, ann');
  observed.duplicateIds = [...await duplicateIds(a), ...await duplicateIds(b)];
  observed.textsA = await a.$$eval('#messages li.msg .text', (es) => es.map((e) => e.textContent));
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
