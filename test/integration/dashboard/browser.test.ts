import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { startDashboardStack, type DashboardStack } from './stack.js';

/**
 * The dashboard in Debian's chromium (driven by playwright-core) against the whole local pipeline: it loads
 * without console errors, draws its charts, updates by itself, and shows the gap and the re-anchor that follow
 * dropped depth frames. With BTCPIPE_DASHBOARD_SCREENSHOT=path it also saves a screenshot of the service cards
 * and the first symbol there (README's docs/dashboard.png is made this way).
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

let stack: DashboardStack | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  [stack, browser] = await Promise.all([
    startDashboardStack({ kinesisEndpoint: inject('kinesisEndpoint'), symbols: SYMBOLS, pollMs: 250 }),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] }),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function until<T>(what: string, fn: () => Promise<T | false | null | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false && v !== null && v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Per chart kind of one symbol: how many canvas pixels are painted, and how many in the bid line's green. */
async function canvasInk(page: Page, symbol: string): Promise<Record<string, { painted: number; green: number }>> {
  return page.evaluate((sym) => {
    // The page's DOM, typed here as far as used (this project compiles without the DOM library).
    interface Canvas {
      width: number;
      height: number;
      getContext(
        kind: '2d',
        opts?: { willReadFrequently: boolean },
      ): { drawImage(c: Canvas, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
    }
    const doc = (
      globalThis as unknown as {
        document: { getElementById(id: string): { querySelectorAll(sel: string): Iterable<Canvas> } | null; createElement(tag: 'canvas'): Canvas };
      }
    ).document;
    const out: Record<string, { painted: number; green: number }> = {};
    const sec = doc.getElementById(`sym-${sym}`);
    for (const kind of ['price-chart', 'spread-chart', 'fresh-chart', 'sl']) {
      let painted = 0;
      let green = 0;
      for (const c of sec?.querySelectorAll(`.${kind} canvas`) ?? []) {
        if (c.width === 0 || c.height === 0) continue;
        // Read a copy made for reading: repeated reads of the page's own canvases make Chromium warn on the console.
        const copy = doc.createElement('canvas');
        copy.width = c.width;
        copy.height = c.height;
        const ctx = copy.getContext('2d', { willReadFrequently: true });
        if (!ctx) continue;
        ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] === 0) continue;
          painted++;
          // The bid series (#a3be8c): green clearly above red and blue; grid and text are grey.
          if (d[i + 1] > d[i] + 15 && d[i + 1] > d[i + 2] + 30) green++;
        }
      }
      out[kind] = { painted, green };
    }
    return out;
  }, symbol);
}

describe('dashboard in a real browser', () => {
  it('loads cleanly, draws, updates by itself, and shows a gap and its re-anchor after depth frames are dropped', async () => {
    const s = stack as DashboardStack;
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    const res = await page.goto(s.url);
    expect(res?.status()).toBe(200);

    // Every symbol gets its section, live, with a service card per service.
    for (const sym of SYMBOLS) {
      await until(`${sym} live on the page`, () => page.locator(`#sym-${sym} .badge.status`).textContent().then((t) => t === 'LIVE'), 90_000);
    }
    const cards = await page.locator('.card[data-service]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-service'), e.getAttribute('data-status')]));
    expect(cards.map(([n]) => n).sort()).toEqual(['aggregator', 'ingest-rest', 'ingest-sbe']);
    expect(cards.every(([, st]) => st !== 'unreachable')).toBe(true);
    expect(await page.locator('.card[data-service="ingest-sbe"]').textContent()).toMatch(/SBE WebSocket\s*connected · [\d.,]+ msg\/s/);

    // Charts are drawn: the price line (bid in green) and the sparklines carry ink once there is history.
    for (const sym of SYMBOLS) {
      const ink = await until(
        `${sym}'s charts drawn`,
        async () => {
          const k = await canvasInk(page, sym);
          return k['price-chart'].green > 100 && k['fresh-chart'].painted > 0 && k['spread-chart'].painted > 0 && k.sl.painted > 0 ? k : false;
        },
        60_000,
      );
      expect(ink['price-chart'].green).toBeGreaterThan(100);
      expect(await page.locator(`#sym-${sym} .ladder tbody tr`).count()).toBe(20);
      expect(await page.locator(`#sym-${sym} .spark`).count()).toBeGreaterThan(5);
      expect(await page.locator(`#sym-${sym} .f-p95`).textContent()).toMatch(/\d+(\.\d+)? (ms|s)/);
    }

    // It updates by itself: more polls and more points, with no reload.
    const seq0 = Number(await page.locator('#updated').getAttribute('data-seq'));
    const pts0 = Number(await page.locator('#sym-BTCUSDT').getAttribute('data-points'));
    await until('the page to poll again', async () => Number(await page.locator('#updated').getAttribute('data-seq')) > seq0 + 3, 30_000);
    await until('more price points', async () => Number(await page.locator('#sym-BTCUSDT').getAttribute('data-points')) > pts0, 30_000);

    // A served prediction (as the aggregator writes it with processing.model_file) gets its panel; none before.
    expect(await page.locator('#sym-BTCUSDT .prediction').isHidden()).toBe(true);
    const writer = new Redis({ host: '127.0.0.1', port: s.redisServer.port, maxRetriesPerRequest: 1 });
    try {
      await writer.hset('pred:BTCUSDT', { p_down: '0.2', p_flat: '0.5', p_up: '0.3', direction: 'flat', expected_ret_10s: '0.0002', band_bp: '0.5', model_id: 'feedfacefeedface', feature_ts: String(Math.floor(Date.now() / 1000)), event_ts_us: '1' });
      await until('the prediction panel', async () => (await page.locator('#sym-BTCUSDT .prediction').isVisible()) && (await page.locator('#sym-BTCUSDT .prediction .v-up').textContent()) === '30.0%', 30_000);
      expect(await page.locator('#sym-BTCUSDT .prediction .v-ret').textContent()).toBe('+2.000 bp');
      expect(await page.locator('#sym-BTCUSDT .prediction .model').textContent()).toBe('model feedfacefeedface · 10 s ahead');
      await writer.del('pred:BTCUSDT');
    } finally {
      writer.disconnect();
    }

    // Fault: drop depth frames until the page shows a sequence gap that started after the fault, then let
    // the pipeline re-anchor and come back.
    await until('no resync in progress before the fault', async () => (await page.locator('#sym-BTCUSDT .events li.open').count()) === 0, 60_000);
    const t0 = Date.now();
    const post = await fetch(`${s.sim.restUrl}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ drop: { streams: ['depth'], probability: 0.3 } }),
    });
    expect(post.status).toBe(200);
    const gapStart = await until(
      'a sequence gap on the page',
      async () => {
        const starts = await page
          .locator('#sym-BTCUSDT .events li[data-criteria*="sequence"]')
          .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-start'))));
        return starts.find((t) => t >= t0 - 1000);
      },
      60_000,
    );
    await fetch(`${s.sim.restUrl}/sim/faults`, { method: 'DELETE' });
    const episode = page.locator(`#sym-BTCUSDT .events li[data-start="${gapStart}"]`);
    await until('its re-anchor and the book live again', async () => (await episode.getAttribute('data-open')) === 'false' && Number(await episode.getAttribute('data-reanchors')) >= 1, 90_000);
    expect(await episode.textContent()).toMatch(/sequence gap.*resynced in [\d.]+ (ms|s)\d+ re-anchors? \(to update \d+\)/);
    // The same episode is drawn: a resyncing span and a re-anchor mark on the strip.
    expect(await page.locator('#sym-BTCUSDT .strip .span').count()).toBeGreaterThan(0);
    expect(await page.locator('#sym-BTCUSDT .strip .mark').count()).toBeGreaterThan(0);
    await until('BTCUSDT live again on the page', () => page.locator('#sym-BTCUSDT .badge.status').textContent().then((t) => t === 'LIVE'), 60_000);

    const shot = process.env.BTCPIPE_DASHBOARD_SCREENSHOT;
    if (shot) {
      // A minute of calm after the episode, so the picture shows a live book as well as the gap.
      await new Promise((r) => setTimeout(r, 60_000));
      mkdirSync(dirname(shot), { recursive: true });
      // The service cards and the first symbol: what fits a README at a readable size.
      const box = await page.locator('#sym-BTCUSDT').boundingBox();
      await page.screenshot({ path: shot, fullPage: true, clip: box ? { x: 0, y: 0, width: 1400, height: Math.ceil(box.y + box.height + 12) } : undefined });
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 300_000);
});
