/**
 * The chaos fault schedule (pure): every fault class once, spread evenly over the first 80% of the run so the
 * last fifth shows whether the stack recovered. Fault windows never overlap, so each effect is attributable.
 */

export const FAULT_KINDS = [
  'drop',
  'aggregator_kill',
  'duplicate',
  'disconnect',
  'redis_restart',
  // After the Redis restart, so the dead-letter stream it fills is still there at the end.
  'poison_records',
  'stall',
  'rest_kill_mid_reanchor',
  'malformed',
  'kinesis_restart',
  'rest_429_storm',
  'rotation_with_delay',
  'snapshot_behind',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ScheduledFault {
  kind: FaultKind;
  /** Offset from the start of the run. */
  atMs: number;
  /** How long a windowed fault stays on (venue faults); a bound for the others. */
  windowMs: number;
}

/** The schedule of a run of `durationMs` (pure). */
export function buildSchedule(durationMs: number): ScheduledFault[] {
  const first = durationMs * 0.1;
  const last = durationMs * 0.8;
  const slot = (last - first) / FAULT_KINDS.length;
  const windowMs = Math.max(1000, Math.min(30_000, Math.floor(slot * 0.7)));
  return FAULT_KINDS.map((kind, i) => ({ kind, atMs: Math.round(first + i * slot), windowMs }));
}

/** The venue fault spec (POST /sim/faults) of a windowed venue fault (pure). */
export function venueFaultSpec(kind: FaultKind, windowMs: number): Record<string, unknown> | undefined {
  const seconds = Math.max(1, Math.round(windowMs / 1000));
  switch (kind) {
    case 'drop':
      return { drop: { streams: ['depth', 'trade'], probability: 0.02 } };
    case 'duplicate':
      return { duplicate: { probability: 0.05 } };
    case 'disconnect':
      return { disconnect: { everySeconds: Math.max(2, Math.floor(seconds / 2)) } };
    case 'stall':
      return { stall: { ms: Math.min(5000, windowMs) } };
    case 'malformed':
      return { malformed: { probability: 0.01 } };
    case 'rest_429_storm':
      return { rest: { status: 429, forSeconds: seconds } };
    case 'rotation_with_delay':
      return { delayMs: { ms: 300, connection: 'oldest' } };
    case 'snapshot_behind':
      return { snapshotBehind: { updates: 20, forSeconds: seconds } };
    default:
      return undefined;
  }
}

/**
 * Records put straight into the stream(s), as a buggy or hostile producer would: not JSON, a trade with
 * transact_ts −1, a trade and a bestBidAsk dated 2100, a lowercase symbol (pure given the clock).
 */
export function poisonRecords(symbol: string, nowMs: number): Array<{ what: string; data: string }> {
  const nowUs = nowMs * 1000;
  const future = Date.UTC(2100, 0, 1) * 1000;
  const trade = (o: Record<string, unknown>): string =>
    JSON.stringify({ type: 'trade', symbol, event_ts: nowUs, source: 'sbe', trade_id: 0, sequence_id: 0, price: '1.00', quantity: '0.001', is_buyer_maker: false, ...o });
  return [
    { what: 'not JSON', data: '{"type":"trade","symbol":' },
    { what: 'transact_ts -1', data: trade({ transact_ts: -1 }) },
    { what: 'trade event_ts in 2100', data: trade({ event_ts: future }) },
    {
      what: 'bestBidAsk event_ts in 2100',
      data: JSON.stringify({ type: 'bestBidAsk', symbol, event_ts: future, source: 'sbe', sequence_id: 0, bid_price: '1.00', bid_quantity: '1', ask_price: '2.00', ask_quantity: '1' }),
    },
    { what: 'lowercase symbol', data: trade({ symbol: symbol.toLowerCase() }) },
  ];
}
