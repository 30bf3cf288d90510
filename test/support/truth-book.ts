import type { Level } from '../../src/core/events.js';
import { obMismatches as chaosObMismatches } from '../../src/chaos/report.js';

/** The simulator's /sim/truth/book answer. */
export interface TruthBook {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

/** The venue's true book right after update `id` (top `limit` levels), or null outside its history. */
export async function truthBookOrNull(restUrl: string, symbol: string, id: number, limit = 10): Promise<TruthBook | null> {
  const res = await fetch(`${restUrl}/sim/truth/book?symbol=${symbol}&updateId=${id}&limit=${limit}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`truth book ${id}: HTTP ${res.status}`);
  return (await res.json()) as TruthBook;
}

/** Differences between an ob:{SYM} hash and the true book (exact values; the chaos run's comparison). */
export function obMismatches(ob: Record<string, string>, truth: TruthBook, depth = 10): string[] {
  return chaosObMismatches(ob, truth, depth);
}
