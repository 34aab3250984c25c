// The tutorial's browser client, in real headless Chromium: two pages, each
// running `new WebSocket(url)` against a different backend, chat together.
//
//   node tutorial-chat.mjs ws://127.0.0.1:PORT1 ws://127.0.0.1:PORT2 ID1 ID2
//
// Exits 0 when both pages saw their greeting and the message crossed; prints
// what each page received otherwise.
import { launch } from './common.mjs';

const [url1, url2, id1, id2] = process.argv.slice(2);
const TIMEOUT = 10000;

const browser = await launch();

async function openChat(url) {
  const page = await browser.newPage();
  // A page of the site itself (about:blank may not reach loopback under
  // Chromium's Local Network Access rules); the backend serves /healthz.
  await page.goto(url.replace(/^ws/, 'http').replace(/\/?$/, '/healthz'));
  await page.evaluate((u) => {
    window.received = [];
    window.ws = new WebSocket(u);            // exactly what the tutorial's users typed
    window.ws.onmessage = (m) => window.received.push(m.data);
  }, url);
  return page;
}

const waitFor = (page, text) =>
  page.waitForFunction((t) => window.received.includes(t), text, { timeout: TIMEOUT });

let ok = false;
try {
  const a = await openChat(url1);
  const b = await openChat(url2);
  await waitFor(a, `Connected successfully to server ${id1}`);
  await waitFor(b, `Connected successfully to server ${id2}`);
  await a.evaluate(() => window.ws.send('hello from chromium ✓'));
  await waitFor(a, `${id1}:hello from chromium ✓`);
  await waitFor(b, `${id2}:hello from chromium ✓`);
  await b.evaluate(() => window.ws.send('and back'));
  await waitFor(a, `${id1}:and back`);
  const closed = await a.evaluate(() => new Promise((resolve) => {
    window.ws.onclose = (e) => resolve({ code: e.code, clean: e.wasClean });
    window.ws.close(1000);
  }));
  if (closed.code !== 1000 || !closed.clean) throw new Error(`close: ${JSON.stringify(closed)}`);
  console.log('browser chat ok:', JSON.stringify(await b.evaluate(() => window.received)));
  ok = true;
} catch (err) {
  console.error('browser chat failed:', err.message);
  for (const page of browser.contexts().flatMap((c) => c.pages())) {
    console.error('  page received:', JSON.stringify(await page.evaluate(() => window.received)));
  }
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
