import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { startSimulator, type Simulator } from '../../../src/sim/index.js';
import { connect, waitFor } from './plain-client.js';

/** Every depth diff's [U, u] on one connection, in arrival order. */
function collectDiffs(ws: import('ws').WebSocket): Array<[number, number]> {
  const got: Array<[number, number]> = [];
  ws.on('message', (d: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    for (const ev of decodeFrame(new Uint8Array(d))) {
      if (ev.type === 'depth') got.push([ev.first_update_id, ev.final_update_id]);
    }
  });
  return got;
}

/** Places where a diff arrived after a later one (the venue never reorders one connection). */
function outOfOrder(diffs: Array<[number, number]>): number {
  let n = 0;
  for (let i = 1; i < diffs.length; i++) if (diffs[i][0] <= diffs[i - 1][1]) n += 1;
  return n;
}

describe('simulator: delayMs holds frames back in order, per connection', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ rate: 2000, depthIntervalMs: 5, seed: 21 });
  });
  afterAll(async () => sim.stop());

  it('a delayed connection receives every diff, contiguous and in order', async () => {
    const ws = await connect(`${sim.wsUrl}/ws/btcusdt@depth`);
    const diffs = collectDiffs(ws);
    await waitFor(() => diffs.length > 5, 10_000, 'first diffs');
    // Half of the frames delayed by 30 ms: a per-frame timer lets undelayed frames overtake delayed ones.
    sim.setFaults({ delayMs: { ms: 30, probability: 0.5, streams: ['depth'] }, seed: 3 });
    const from = diffs.length;
    await waitFor(() => diffs.length - from > 300, 20_000, '300 diffs under the delay');
    sim.clearFaults();
    ws.close();
    const seen = diffs.slice(from);
    expect(outOfOrder(seen)).toBe(0);
    // Nothing lost either: each diff starts right after the previous one.
    const gaps = seen.filter((d, i) => i > 0 && d[0] !== seen[i - 1][1] + 1).length;
    expect(gaps).toBe(0);
  });

  it('"connection": "newest" delays only the newest subscriber; the oldest stays undelayed', async () => {
    const oldWs = await connect(`${sim.wsUrl}/ws/btcusdt@depth`);
    const oldDiffs = collectDiffs(oldWs);
    await waitFor(() => oldDiffs.length > 3, 10_000, 'first diffs on the old connection');
    const newWs = await connect(`${sim.wsUrl}/stream?streams=btcusdt@depth`);
    const newDiffs = collectDiffs(newWs);
    await waitFor(() => newDiffs.length > 3, 10_000, 'first diffs on the new connection');
    const before = sim.stats().streams['btcusdt@depth'].delayed;
    const logFrom = ((await (await fetch(`${sim.restUrl}/sim/faults/log`)).json()) as unknown[]).length;
    sim.setFaults({ delayMs: { ms: 50, connection: 'newest', streams: ['depth'] } });
    await waitFor(() => sim.stats().streams['btcusdt@depth'].delayed - before > 100, 20_000, '100 delayed frames');
    sim.clearFaults();
    const log = ((await (await fetch(`${sim.restUrl}/sim/faults/log`)).json()) as Array<{ kind: string; connectionId: number }>).slice(
      logFrom,
    );
    const delayedConns = new Set(log.filter((e) => e.kind === 'delay').map((e) => e.connectionId));
    expect(delayedConns.size).toBe(1);
    // The newest connection is the one with the highest id.
    const ids = [...delayedConns];
    expect(log.some((e) => e.kind === 'delay' && e.connectionId < ids[0])).toBe(false);
    await waitFor(() => newDiffs.length > 50, 10_000, 'delayed diffs delivered');
    oldWs.close();
    newWs.close();
    expect(outOfOrder(oldDiffs)).toBe(0);
    expect(outOfOrder(newDiffs)).toBe(0);
  });
});
