import type { Level } from '../../src/core/events.js';
import { normalizeDecimal } from '../../src/core/decimal.js';

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

/** Differences between an ob:{SYM} hash and the true book (exact values; representation normalized). */
export function obMismatches(ob: Record<string, string>, truth: TruthBook, depth = 10): string[] {
  const out: string[] = [];
  for (const [side, levels] of [['bid', truth.bids], ['ask', truth.asks]] as const) {
    for (let i = 0; i < depth; i++) {
      const want = levels[i];
      const p = ob[`${side}${i + 1}_p`];
      const q = ob[`${side}${i + 1}_q`];
      if (!want) {
        if (p !== undefined) out.push(`${side}${i + 1}: ${p} but the venue has no level`);
        continue;
      }
      if (p === undefined || q === undefined || normalizeDecimal(p) !== normalizeDecimal(want[0]) || normalizeDecimal(q) !== normalizeDecimal(want[1])) {
        out.push(`${side}${i + 1}: ${p}@${q} != ${want[0]}@${want[1]}`);
      }
    }
  }
  return out;
}
