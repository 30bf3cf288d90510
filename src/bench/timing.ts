/** Micro-benchmark helper: median ns per operation over several timed rounds, after a warm-up. */

/** Values a benchmarked function returns are folded in here so the JIT cannot drop the work. */
let sink = 0;
export function consume(v: unknown): void {
  if (Array.isArray(v)) sink += v.length;
  else if (typeof v === 'string') sink += v.length;
  else if (v !== undefined) sink += 1;
}
export function sinkValue(): number {
  return sink;
}

export function medianNsPerOp(fn: () => unknown, opts: { rounds: number; opsPerRound: number; warmupOps: number }): number {
  for (let i = 0; i < opts.warmupOps; i++) consume(fn());
  const perOp: number[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < opts.opsPerRound; i++) consume(fn());
    perOp.push(Number(process.hrtime.bigint() - t0) / opts.opsPerRound);
  }
  perOp.sort((a, b) => a - b);
  const mid = perOp.length >> 1;
  return perOp.length % 2 ? perOp[mid] : (perOp[mid - 1] + perOp[mid]) / 2;
}
