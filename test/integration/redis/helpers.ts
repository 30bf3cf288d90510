import { createRedis, waitForRedisReady, type RedisClient } from '../../../src/redis/connect.js';
import type { ReanchorState } from '../../../src/redis/reanchor.js';

/** A connected client for tests (short timeouts so a stalled server shows up quickly). */
export async function connect(url: string, opts: { blocking?: boolean; socketTimeoutMs?: number } = {}): Promise<RedisClient> {
  const r = createRedis({ url, socketTimeoutMs: opts.socketTimeoutMs ?? 1000, connectTimeoutMs: 1000, blocking: opts.blocking });
  await waitForRedisReady(r, 5000);
  return r;
}

/** A complete state whose every field carries generation `gen`, so a reader can detect mixing. */
export function generationState(gen: number, levels = 10): ReanchorState {
  const ob: Record<string, string> = { gen: String(gen), best_bid: `${100 + gen}.5`, last_update_id: String(gen) };
  for (let i = 1; i <= levels; i++) {
    ob[`bid${i}_p`] = `${gen}:${100 - i}`;
    ob[`bid${i}_q`] = `${gen}:1`;
    ob[`ask${i}_p`] = `${gen}:${100 + i}`;
    ob[`ask${i}_q`] = `${gen}:1`;
  }
  const tr = (w: string): Record<string, string> => ({ gen: String(gen), count: `${gen}:${w}`, volume: `${gen}:v` });
  return {
    ob,
    tr1s: tr('1s'),
    tr5s: { ...tr('5s'), price_momentum: `${gen}:m` },
    feat: { gen: String(gen), f1: `${gen}:f1`, f2: `${gen}:f2` },
    snapshot: {
      lastUpdateId: 1000 + gen,
      bids: [[`${100 + gen}.5`, '1.0']],
      asks: [[`${101 + gen}.5`, '2.0']],
    },
  };
}

/** Throws unless every field value of the hash belongs to one generation (values "gen:…" or the gen field). */
export function assertOneGeneration(key: string, h: Record<string, string>): number {
  const gen = h.gen;
  if (gen === undefined) throw new Error(`${key}: missing or empty (${JSON.stringify(h)})`);
  for (const [f, v] of Object.entries(h)) {
    // status: the ob write guard may set it alone (a blocked or refused write says `resyncing`).
    if (f === 'gen' || f === 'best_bid' || f === 'last_update_id' || f === 'status') continue;
    if (!v.startsWith(`${gen}:`)) throw new Error(`${key}: field ${f}=${v} mixes with generation ${gen}`);
  }
  return Number(gen);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
