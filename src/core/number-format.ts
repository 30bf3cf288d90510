/** Float values that leave the core for Redis/JSON: always finite, never "NaN", "Infinity" or "-0". */

export function finiteOr0(x: number): number {
  return Number.isFinite(x) && x !== 0 ? x : 0;
}

/** Shortest round-trip text of a finite float ("0.5", "1e-7"); non-finite input becomes "0". */
export function formatFloat(x: number): string {
  return String(finiteOr0(x));
}
