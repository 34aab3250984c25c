// What the browser tests share: Debian's Chromium launched headless, and the
// chat page's readouts (backend/chat-page.html keeps these selectors stable).
import { chromium } from 'playwright-core';

export const STEP = 10000; // ms: the bound of every wait for one step

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
}

// The backend the chat page is on (its #backend, from hello), once it is open.
export async function backendOf(page) {
  await page.waitForSelector('#state[data-state="open"]', { timeout: STEP });
  await page.waitForFunction(() => /^ws\d+$/.test(document.querySelector('#backend').textContent.trim()),
                             null, { timeout: STEP });
  return page.$eval('#backend', (e) => e.textContent.trim());
}

// Records every change of the chat page's #state in window.stateLog as
// [data-state, text]: a reconnecting state can be too short to poll for.
export async function recordStates(page) {
  await page.evaluate(() => {
    const s = document.querySelector('#state');
    window.stateLog = [];
    new MutationObserver(() => window.stateLog.push([s.dataset.state, s.textContent.trim()]))
      .observe(s, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}
