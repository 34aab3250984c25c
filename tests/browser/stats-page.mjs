// The lb's stats page in real headless Chromium, as an operator sees it
// during a deploy: one row per server with its status, on screen, coloured.
//
//   node stats-page.mjs http://127.0.0.1:PORT/stats SCREENSHOT.png
//
// Prints one JSON line: the page's server rows (proxy, server, status, the
// row's box, the mean colour of the status badge in the screenshot), the
// screenshot's size and its share of pixels that are not the background.
// The caller judges; exits 1 only when the page cannot be shown.
import { writeFileSync } from 'node:fs';
import { launch } from './common.mjs';

const [url, shotPath] = process.argv.slice(2);

const browser = await launch();

// Mean colour of the screenshot's pixels inside each box, and the share of
// pixels that differ from the top-left one (the page background). The
// browser decodes the PNG itself: drawn on a canvas of a page of the site.
async function measure(page, png, boxes) {
  return page.evaluate(async ({ data, boxes }) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const all = ctx.getImageData(0, 0, img.width, img.height).data;
    let differ = 0;
    for (let i = 0; i < all.length; i += 4) {
      if (Math.abs(all[i] - all[0]) + Math.abs(all[i + 1] - all[1]) + Math.abs(all[i + 2] - all[2]) > 30)
        differ++;
    }
    const means = boxes.map((b) => {
      const px = ctx.getImageData(Math.round(b.x), Math.round(b.y),
                                  Math.max(1, Math.round(b.width)), Math.max(1, Math.round(b.height))).data;
      const sum = [0, 0, 0];
      for (let i = 0; i < px.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += px[i + k];
      return sum.map((s) => Math.round(s / (px.length / 4)));
    });
    return { width: img.width, height: img.height, nonBackground: differ / (all.length / 4), means };
  }, { data: png.toString('base64'), boxes });
}

let ok = false;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const response = await page.goto(url);
  if (response.status() !== 200) throw new Error(`status ${response.status()}`);
  const rows = await page.$$eval('tr.server', (trs) => trs.map((tr) => {
    const box = (el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    return { proxy: tr.dataset.proxy, server: tr.dataset.server, status: tr.dataset.status,
             box: box(tr), badge: box(tr.querySelector('td.status .badge')) };
  }));
  const png = await page.screenshot({ fullPage: true });
  writeFileSync(shotPath, png);
  const shot = await measure(page, png, rows.map((r) => r.badge));
  rows.forEach((r, k) => { r.badgeColor = shot.means[k]; });
  console.log(JSON.stringify({ title: await page.title(), rows, width: shot.width,
                               height: shot.height, nonBackground: shot.nonBackground }));
  ok = true;
} catch (err) {
  console.error('stats page failed:', err.message);
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
