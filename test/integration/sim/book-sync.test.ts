import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import {
  connect,
  getJson,
  mergeRanges,
  normalizeBook,
  PlainBookClient,
  waitFor,
  type BookState,
  type Gap,
} from './plain-client.js';

interface LogEntry {
  connectionId: number;
  stream: string;
  kind: string;
  firstUpdateId?: number;
  lastUpdateId?: number;
}

describe('simulator: diff-depth sync against ground truth over real sockets', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ rate: 20_000, depthIntervalMs: 10, seed: 11, weightLimitPerMinute: 1_000_000 });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('syncs from @depth + REST snapshot and matches /sim/truth/book at every diff over ≥ 10,000 updates', async () => {
    const client = new PlainBookClient(sim.restUrl, 'BTCUSDT', true);
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@depth`);
    ws.on('message', (d: Buffer) => client.onFrame(new Uint8Array(d)));
    await waitFor(() => client.booksAt.size > 0, 10_000, 'the first synced book');
    const firstId = Math.min(...client.booksAt.keys());
    await waitFor(() => client.lastU - firstId >= 15_000, 30_000, '15,000 book updates');
    ws.close();
    console.log(`book-sync: ${client.lastU - firstId} updates in ${client.booksAt.size} diffs`);

    expect(client.gaps).toEqual([]);
    expect(client.malformed).toBe(0);
    const ids = [...client.booksAt.keys()].sort((a, b) => a - b);
    expect(ids[ids.length - 1] - ids[0]).toBeGreaterThanOrEqual(10_000);
    let mismatches = 0;
    for (const id of ids) {
      const truth = await getJson<BookState>(`${sim.restUrl}/sim/truth/book?symbol=BTCUSDT&updateId=${id}`);
      expect(truth.lastUpdateId).toBe(id);
      if (JSON.stringify(normalizeBook(truth)) !== client.booksAt.get(id)) mismatches += 1;
    }
    expect(mismatches).toBe(0);
    expect(ids.length).toBeGreaterThan(30);

    // The REST snapshot is the true book at its lastUpdateId.
    const snap = await getJson<BookState>(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=5000`);
    const truth = await getJson<BookState>(`${sim.restUrl}/sim/truth/book?symbol=BTCUSDT&updateId=${snap.lastUpdateId}`);
    expect(normalizeBook(snap)).toEqual(normalizeBook(truth));
  });

  it('detects exactly the gaps that injected drops made (count equals /sim/stats dropped)', async () => {
    const before = sim.stats().streams['btcusdt@depth'];
    const logBefore = (await getJson<LogEntry[]>(`${sim.restUrl}/sim/faults/log`)).length;
    const r = await fetch(`${sim.restUrl}/sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ drop: { streams: ['depth'], probability: 0.03 }, seed: 5 }),
    });
    expect(r.status).toBe(200);
    const client = new PlainBookClient(sim.restUrl, 'BTCUSDT', false);
    const ws = await connect(`${sim.wsUrl}/stream?streams=btcusdt@depth`);
    ws.on('message', (d: Buffer) => client.onFrame(new Uint8Array(d)));
    await waitFor(() => client.gaps.length >= 15, 30_000, '15 gaps');
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
    await fetch(`${sim.restUrl}/sim/faults`, { method: 'DELETE' });

    const log = (await getJson<LogEntry[]>(`${sim.restUrl}/sim/faults/log`)).slice(logBefore);
    const drops = log.filter((e) => e.stream === 'btcusdt@depth' && e.kind === 'drop');
    const after = sim.stats().streams['btcusdt@depth'];
    // Every drop is counted in the stats, exactly.
    expect(after.dropped - before.dropped).toBe(drops.length);
    expect(after.overflowed).toBe(before.overflowed);
    // Drops after the last frame the client saw cannot show up as gaps yet.
    const seen = drops.filter((d) => (d.lastUpdateId as number) < client.lastU);
    const injected: Gap[] = mergeRanges(seen.map((d) => ({ from: d.firstUpdateId as number, to: d.lastUpdateId as number })));
    expect(client.gaps).toEqual(injected);
    // Each dropped frame lies inside a detected gap, and each gap is made of dropped frames only.
    expect(seen.length).toBeGreaterThanOrEqual(client.gaps.length);
    expect(client.malformed).toBe(0);
  });
});
