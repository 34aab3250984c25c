// The demo's chat page (protocol wscale.chat.v1) in real headless Chromium:
// rooms stay apart, a room's history shows on join, member lists follow who
// is there, and after page A's backend is SIGKILLed page A recovers what was
// said meanwhile: every missed message once, in order, nothing duplicated.
//
//   node rooms-chat.mjs URL PIDS_JSON SCREENSHOT_DIR
//
// PIDS_JSON maps backend ids to pids ({"ws1": 123, ...}). Prints one JSON line
// with what was observed; exits 1 with the reason if a step fails (every wait
// is bounded). The caller judges the observations: with backends keeping
// fewer than 20 messages per room (--history), page A recovers only the
// newest and marks the gap. Pages A (ann) and B (bob) have a browser context each, so
// their localStorage (nickname, rooms) is their own.
//
// The page's selectors used here (backend/chat-page.html keeps them stable):
//   #state[data-state]     connecting | open | reconnecting; its text "Reconnecting in N s…"
//   #backend               the backend the page is on (hello.node)
//   #nick, #message        nickname and message inputs (Enter commits / sends)
//   #room-name             the "join a room" input (Enter joins and shows the room)
//   #rooms li[data-room]   one per joined room, .joining until joined; its button
//                          shows the room; .unread is its unread count
//   #room-title            "#<room>" of the room shown
//   #messages li.msg       the shown room's messages: data-id, data-node, .author, .text
//   #messages li.out       own messages not acknowledged yet (.pending) or .failed
//   #messages li.system    notices: connection, "N missed messages recovered", errors
//   #members li            the shown room's members (text: the nick)
import { STEP, backendOf, launch, recordStates } from './common.mjs';

const [url, pidsJson, shots] = process.argv.slice(2);
const pids = JSON.parse(pidsJson);
const MISSED = 20;
const observed = {};
const problems = [];

const browser = await launch();

async function newContext(nick) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 },
                                             ignoreHTTPSErrors: url.startsWith('https:') });
  await context.addInitScript((n) => {
    if (!localStorage.getItem('wscale.nick')) localStorage.setItem('wscale.nick', n);
  }, nick);
  return context;
}

// Opens the page in context; resolves once it is open on a backend, with
// every change of #state recorded in window.stateLog.
async function openPage(context, name) {
  const page = await context.newPage();
  page.on('console', (m) => {
    // Failed connection attempts while the context is offline are expected.
    if (m.type() === 'error' && !/ERR_INTERNET_DISCONNECTED/.test(m.text()))
      problems.push(`${name}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  await page.goto(url);
  await recordStates(page);
  await backendOf(page);
  await page.waitForSelector('#rooms li[data-room="lobby"]:not(.joining)', { timeout: STEP });
  return page;
}

async function joinRoom(page, room) {
  await page.fill('#room-name', room);
  await page.press('#room-name', 'Enter');
  await page.waitForSelector(`#rooms li[data-room="${room}"]:not(.joining)`, { timeout: STEP });
  await page.waitForFunction((r) => document.querySelector('#room-title').textContent === '#' + r,
                             room, { timeout: STEP });
}

async function show(page, room) {
  await page.click(`#rooms li[data-room="${room}"] button`);
  await page.waitForFunction((r) => document.querySelector('#room-title').textContent === '#' + r,
                             room, { timeout: STEP });
}

const messages = (page) => page.$$eval('#messages li.msg', (lis) => lis.map((li) => ({
  id: li.dataset.id, node: li.dataset.node,
  author: li.querySelector('.author').textContent, text: li.querySelector('.text').textContent })));

const waitText = (page, text) => page.waitForFunction((t) =>
  [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === t),
  text, { timeout: STEP });

// Sends text in the shown room and waits for its ack: the pending line is
// gone and the message is shown with its id.
async function say(page, text) {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
  await waitText(page, text);
  await page.waitForFunction(() => !document.querySelector('#messages li.out'), null, { timeout: STEP });
}

const members = (page) => page.$$eval('#members li', (lis) => lis.map((li) => li.textContent));
const waitMembers = (page, want) => page.waitForFunction((w) =>
  JSON.stringify([...document.querySelectorAll('#members li')].map((li) => li.textContent)) === w,
  JSON.stringify(want), { timeout: STEP });

// Every room of the page: its shown messages, room by room.
async function everyRoom(page) {
  const rooms = await page.$$eval('#rooms li[data-room]', (lis) => lis.map((li) => li.dataset.room));
  const seen = {};
  for (const room of rooms) {
    await show(page, room);
    seen[room] = await messages(page);
  }
  return seen;
}

const duplicates = (list) => list.map((m) => m.id).filter((id, i, all) => all.indexOf(id) !== i);

let ok = false;
const pages = {};
try {
  const ctxA = await newContext('ann');
  const ctxB = await newContext('bob');
  const a = pages.a = await openPage(ctxA, 'A');
  let b = pages.b = await openPage(ctxB, 'B');
  // Round-robin puts them on different backends; should it not, B tries again.
  for (let i = 0; i < 3 && await backendOf(b) === await backendOf(a); i++) {
    await b.close();
    b = pages.b = await openPage(ctxB, 'B');
  }
  observed.backendA = await backendOf(a);
  observed.backendB = await backendOf(b);
  if (observed.backendA === observed.backendB)
    throw new Error(`both pages on ${observed.backendA}`);

  // 1. Rooms stay apart. A is in lobby and dev, B only in lobby.
  await joinRoom(a, 'dev');
  await say(a, 'ann in dev');
  await show(a, 'lobby');
  await say(a, 'ann in lobby');
  await waitText(b, 'ann in lobby');
  await show(a, 'dev');
  await say(b, 'bob in lobby');
  await a.waitForFunction(() =>
    document.querySelector('#rooms li[data-room="lobby"] .unread').textContent === '1', null, { timeout: STEP });
  observed.unreadLobbyA = await a.$eval('#rooms li[data-room="lobby"] .unread', (e) => e.textContent);
  const roomsB = await everyRoom(b);
  observed.roomsB = Object.keys(roomsB);
  observed.lobbyB = roomsB.lobby.map((m) => m.text);
  observed.devSeenByB = JSON.stringify(roomsB).includes('ann in dev') ||
                        (await b.content()).includes('ann in dev');
  const roomsA = await everyRoom(a);
  observed.devA = roomsA.dev.map((m) => m.text);
  observed.lobbyA = roomsA.lobby.map((m) => m.text);
  const devLine = roomsA.dev.find((m) => m.text === 'ann in dev');
  observed.devLineNode = devLine.node;
  await a.screenshot({ path: `${shots}/rooms-a.png` });
  await b.screenshot({ path: `${shots}/rooms-b.png` });

  // 2. History on join, members of dev on both pages.
  await joinRoom(b, 'dev');
  await waitText(b, 'ann in dev');
  const devB = await messages(b);
  observed.devHistoryB = devB.map((m) => m.text);
  observed.devHistoryIdSame = devB.find((m) => m.text === 'ann in dev').id === devLine.id;
  await show(a, 'dev');
  await waitMembers(a, ['ann', 'bob']);
  await waitMembers(b, ['ann', 'bob']);
  observed.devMembers = { a: await members(a), b: await members(b) };
  await b.screenshot({ path: `${shots}/history-b.png` });

  // 3. Recovery. A's context goes offline (its socket stays up) so that A
  // cannot reconnect until B has spoken; then A's backend is killed.
  await show(a, 'lobby');
  await show(b, 'lobby');
  const beforeKill = await messages(a);
  observed.beforeKill = beforeKill.map((m) => m.text);
  await ctxA.setOffline(true);
  process.kill(pids[observed.backendA], 'SIGKILL');
  await a.waitForSelector('#state[data-state="reconnecting"]', { timeout: STEP });
  observed.reconnectingText = await a.$eval('#state', (e) => e.textContent.trim());
  await a.screenshot({ path: `${shots}/a-offline.png` });
  const numbered = Array.from({ length: MISSED }, (_, i) => `missed ${String(i + 1).padStart(2, '0')}`);
  for (const text of numbered) await say(b, text);
  await ctxA.setOffline(false);
  observed.backendAfter = await backendOf(a);
  await waitText(a, numbered[MISSED - 1]);
  await a.waitForFunction(() => [...document.querySelectorAll('#messages li.system')]
    .some((e) => /missed messages? recovered/.test(e.textContent)), null, { timeout: STEP });
  observed.recoveredNotice = await a.$$eval('#messages li.system', (lis) =>
    lis.map((li) => li.textContent).filter((t) => /recovered/.test(t)));
  await waitMembers(a, ['ann', 'bob']);
  observed.membersAfter = await members(a);
  const after = await messages(a);
  // The messages with the "some messages were lost" divider, if any, in place.
  observed.lobbyAfterMarked = await a.$$eval('#messages li.msg, #messages li.system.lost', (lis) =>
    lis.map((li) => (li.classList.contains('lost') ? '[lost]' : li.querySelector('.text').textContent)));
  observed.lobbyAfter = after.map((m) => m.text);
  observed.missedSeen = after.map((m) => m.text).filter((t) => t.startsWith('missed '));
  observed.beforeKillStillOnce = beforeKill.every((m) => after.filter((x) => x.id === m.id).length === 1);
  observed.idsInOrder = after.every((m, i) => i === 0 || (() => {
    const [p, q] = [after[i - 1].id, m.id].map((id) => id.split('-').map(Number));
    return p[0] < q[0] || (p[0] === q[0] && p[1] < q[1]);
  })());
  await a.screenshot({ path: `${shots}/a-recovered.png` });

  // A is really back: messages cross both ways again.
  await say(a, 'ann is back');
  await waitText(b, 'ann is back');
  await say(b, 'welcome back, ann');
  await waitText(a, 'welcome back, ann');

  const allA = await everyRoom(a), allB = await everyRoom(b);
  observed.duplicateIds = [...Object.values(allA), ...Object.values(allB)].flatMap(duplicates);
  observed.devAfterA = allA.dev.map((m) => m.text);
  observed.stateLogA = (await a.evaluate(() => window.stateLog)).map(([s]) => s)
    .filter((s, i, all) => i === 0 || all[i - 1] !== s);
  await b.screenshot({ path: `${shots}/b-end.png` });

  // A reload comes back to the rooms joined, the room shown and the nick.
  await b.reload();
  await b.waitForSelector('#rooms li[data-room="dev"]:not(.joining)', { timeout: STEP });
  await waitText(b, 'ann in dev');
  observed.reloadB = {
    rooms: await b.$$eval('#rooms li[data-room]', (lis) => lis.map((li) => li.dataset.room)),
    title: await b.$eval('#room-title', (e) => e.textContent),
    nick: await b.$eval('#nick', (e) => e.value),
    dev: (await messages(b)).map((m) => m.text),
  };
  if (problems.length)
    throw new Error(`console errors: ${problems.join('; ')}`);
  ok = true;
} catch (err) {
  observed.error = String(err && err.stack || err);
  for (const [name, page] of Object.entries(pages))
    await page.screenshot({ path: `${shots}/failure-${name}.png` }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(observed));
process.exit(ok ? 0 : 1);
