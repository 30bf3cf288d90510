import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { getJson, normalizeBook, PlainBookClient, RotatingFeed, waitFor, type BookState } from './plain-client.js';

/** Books the client recorded that differ from /sim/truth/book, compared within the client's snapshot band. */
async function mismatches(sim: Simulator, symbol: string, client: PlainBookClient): Promise<{ checked: number; wrong: number[] }> {
  const wrong: number[] = [];
  for (const [id, book] of client.booksAt) {
    const truth = await getJson<BookState>(`${sim.restUrl}/sim/truth/book?symbol=${symbol}&updateId=${id}`);
    if (JSON.stringify(client.inBand(normalizeBook(truth))) !== book) wrong.push(id);
  }
  return { checked: client.booksAt.size, wrong };
}

describe('simulator, rough profile: the plain sync client stays exact on every symbol', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rough: true, rate: 100, seed: 31, weightLimitPerMinute: 1_000_000, randomShutdownMeanSeconds: 3 });
  });
  afterAll(async () => sim.stop());

  it('serves several instruments of different tick sizes and a book deeper than the snapshot', async () => {
    expect(sim.symbols).toEqual(['BTCUSDT', 'DOGEUSDT', 'ETHBTC']);
    const info = await getJson<{ rateLimits: Array<{ rateLimitType: string; limit: number }>; symbols: Array<{ filters: Array<Record<string, string>> }> }>(
      `${sim.restUrl}/api/v3/exchangeInfo`,
    );
    const ticks = info.symbols.map((s) => s.filters.find((f) => f.filterType === 'PRICE_FILTER')?.tickSize);
    expect(new Set(ticks).size).toBe(3);
    const stats = (await getJson<{ market: Record<string, { bidLevels: number; askLevels: number }> }>(`${sim.restUrl}/sim/stats`)).market;
    for (const s of sim.symbols) {
      expect(stats[s].bidLevels).toBeGreaterThan(5000);
      expect(stats[s].askLevels).toBeGreaterThan(5000);
    }
  });

  it('equals /sim/truth/book within its snapshot band across random serverShutdowns in both forms, empty diffs and diffs beyond the snapshot', async () => {
    const clients = new Map<string, PlainBookClient>();
    const feeds: RotatingFeed[] = [];
    for (const symbol of sim.symbols) {
      const client = new PlainBookClient(sim.restUrl, symbol, true, 10);
      clients.set(symbol, client);
      const feed = new RotatingFeed(`${sim.wsUrl}/stream?streams=${symbol.toLowerCase()}@depth`, (f) => client.onFrame(f));
      await feed.start();
      feeds.push(feed);
    }
    const forms = () => new Set(feeds.flatMap((f) => f.shutdowns.map((s) => s.form)));
    const all = [...clients.values()];
    await waitFor(
      () =>
        forms().size === 2 &&
        feeds.every((f) => f.connections >= 3) &&
        all.every((c) => c.booksAt.size >= 20) &&
        all.reduce((n, c) => n + c.emptyDiffs, 0) >= 1 &&
        all.reduce((n, c) => n + c.levelsOutsideSnapshot, 0) >= 1,
      180_000,
      'rotations in both forms, empty diffs and diffs beyond the snapshot on every symbol',
    );
    await Promise.all(feeds.map((f) => f.stop()));
    console.log(
      `rough: ${feeds.reduce((n, f) => n + f.connections, 0)} connections, forms ${[...forms()].join('+')}, ` +
        [...clients].map(([s, c]) => `${s} diffs ${c.diffs} empty ${c.emptyDiffs} outside ${c.levelsOutsideSnapshot} repeats ${c.repeats}`).join('; '),
    );

    for (const [symbol, client] of clients) {
      expect({ symbol, gaps: client.gaps, malformed: client.malformed }).toEqual({ symbol, gaps: [], malformed: 0 });
      const r = await mismatches(sim, symbol, client);
      expect({ symbol, wrong: r.wrong }).toEqual({ symbol, wrong: [] });
      expect(r.checked).toBeGreaterThanOrEqual(20);
    }
    expect(sim.stats().connections.closed.server_shutdown ?? 0).toBeGreaterThanOrEqual(6);
  }, 300_000);

  it('a snapshot behind the stream makes the client fetch again, and it still syncs exactly', async () => {
    const before = sim.stats().rest.snapshotsBehind;
    sim.setFaults({ snapshotBehind: { updates: 3000 } });
    const client = new PlainBookClient(sim.restUrl, 'BTCUSDT', true, 5);
    const feed = new RotatingFeed(`${sim.wsUrl}/ws/btcusdt@depth`, (f) => client.onFrame(f));
    await feed.start();
    await waitFor(() => client.refetches >= 2, 60_000, 'snapshots refused as older than the buffered diffs');
    expect(client.booksAt.size).toBe(0);
    sim.clearFaults();
    await waitFor(() => client.booksAt.size >= 5, 60_000, 'a synced book once the snapshot caught up');
    await feed.stop();
    expect(sim.stats().rest.snapshotsBehind - before).toBeGreaterThanOrEqual(client.refetches);
    expect((await mismatches(sim, 'BTCUSDT', client)).wrong).toEqual([]);
  }, 180_000);
});
