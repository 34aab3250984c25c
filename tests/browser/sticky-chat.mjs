// Cookie persistence seen from real headless Chromium: the backends' chat page
// through an lb with "cookie SRV insert indirect nocache". The page and its
// WebSocket land on the server the cookie names, the page's automatic
// reconnects return there, and when that server is in maintenance the
// reconnect goes elsewhere and the 101's Set-Cookie moves the browser along.
//
//   node sticky-chat.mjs URL STATS_SOCKET SCREENSHOT_DIR
//
// The lb's backend is "be"; its servers are named after the backends' ids.
// Prints one JSON line with what was observed; exits 1 with the reason if a
// step fails.
import net from 'node:net';
import { STEP, backendOf, launch } from './common.mjs';

const [url, statsSocket, shots] = process.argv.slice(2);
const observed = { reloads: [], reconnects: [] };

// One command on the lb's runtime API; resolves with its answer.
function runtime(command) {
  return new Promise((resolve, reject) => {
    let answer = '';
    const sock = net.createConnection(statsSocket, () => sock.write(command + '\n'));
    sock.setEncoding('utf8');
    sock.on('data', (d) => { answer += d; });
    sock.on('end', () => resolve(answer));
    sock.on('error', reject);
  });
}

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(e.message));

const backendShown = () => backendOf(page);
const cookieNow = () => page.evaluate(() => document.cookie);

// Closes the page's tunnel from the lb and waits for the page to come back.
async function reconnectAfter(...commands) {
  for (const c of commands) {
    const answer = await runtime(c);
    if (answer.trim() !== '') throw new Error(`"${c}" answered ${JSON.stringify(answer)}`);
  }
  await page.waitForSelector('#state:not([data-state="open"])', { timeout: STEP });
  return backendShown();
}

let ok = false;
try {
  await page.goto(url);
  observed.first = await backendShown();
  observed.firstCookie = await cookieNow();
  for (let i = 0; i < 5; i++) {
    await page.reload();
    observed.reloads.push(await backendShown());
  }
  for (let i = 0; i < 3; i++)
    observed.reconnects.push(await reconnectAfter(`shutdown sessions server be/${observed.first}`));
  await page.screenshot({ path: `${shots}/sticky.png` });

  observed.moved = await reconnectAfter(`set server be/${observed.first} state maint`,
                                        `shutdown sessions server be/${observed.first}`);
  observed.movedCookie = await cookieNow();
  await runtime(`set server be/${observed.first} state ready`);
  await page.reload();
  observed.afterReady = await backendShown();
  await page.screenshot({ path: `${shots}/moved.png` });
  if (problems.length) throw new Error(problems.join('; '));
  ok = true;
} catch (e) {
  observed.error = String(e && e.stack || e);
  try { await page.screenshot({ path: `${shots}/failure.png` }); } catch {}
} finally {
  await browser.close();
}
console.log(JSON.stringify(observed));
process.exit(ok ? 0 : 1);
