/**
 * A service's /health document in plain words for the dashboard's cards: one line per component with what a
 * person checks (is it up, how fast, any errors, how far behind). Components this file does not know still
 * get a line, from their status and numeric fields. Pure.
 */

export type Tone = 'ok' | 'warn' | 'bad' | 'info';

export interface CardLine {
  label: string;
  text: string;
  tone: Tone;
}

export interface ServiceCard {
  name: string;
  /** healthy | degraded | unhealthy | unreachable | … as the service said it. */
  status: string;
  tone: Tone;
  lines: CardLine[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function toneOf(status: string | undefined): Tone {
  switch (status) {
    case 'healthy':
    case 'connected':
    case 'consuming':
    case 'active':
    case 'ready':
    case 'monitoring':
    case 'loaded':
    case 'live':
    case 'serving':
      return 'ok';
    case 'degraded':
    case 'resyncing':
    case 'reconnecting':
    case 'idle':
    case 'starting':
      return 'warn';
    case undefined:
      return 'info';
    default:
      return 'bad';
  }
}

/** 1234.5 → "1,235"; 12.34 → "12.3"; 0.1234 → "0.123". */
export function fmtNum(n: number): string {
  const a = Math.abs(n);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** Milliseconds in the unit a person would say: 15 ms, 2.6 s, 4 min. */
export function fmtMs(ms: number): string {
  if (ms < 1000) return `${fmtNum(ms)} ms`;
  if (ms < 120_000) return `${fmtNum(ms / 1000)} s`;
  if (ms < 7_200_000) return `${fmtNum(ms / 60_000)} min`;
  return `${fmtNum(ms / 3_600_000)} h`;
}

const pct = (r: number): string => `${fmtNum(r * 100)} %`;

/** "last 06:46:24" for an ISO time, as the age it has at `now`. */
function ago(iso: unknown, now: number): string | undefined {
  const s = str(iso);
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? `${fmtMs(Math.max(0, now - t))} ago` : undefined;
}

function join(parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p.length > 0).join(' · ');
}

/** Worst tone first: bad > warn > ok > info. */
function worst(...tones: Tone[]): Tone {
  for (const t of ['bad', 'warn', 'ok'] as const) if (tones.includes(t)) return t;
  return 'info';
}

const errTone = (n: number | undefined, base: Tone): Tone => (n !== undefined && n > 0 ? worst(base, 'warn') : base);

type Describe = (c: Obj, now: number) => CardLine | CardLine[];

const KNOWN: Record<string, Describe> = {
  sbe_websocket: (c) => {
    const st = str(c.status);
    const rate = num(c.messages_per_second);
    const age = num(c.last_message_age_ms);
    const rc = num(c.reconnect_count);
    return {
      label: 'SBE WebSocket',
      text: join([st, rate !== undefined && `${fmtNum(rate)} msg/s`, age !== undefined && `last message ${fmtMs(age)} ago`, rc !== undefined && `${rc} reconnect${rc === 1 ? '' : 's'}`]),
      tone: worst(toneOf(st), age !== undefined && age > 5000 ? 'warn' : 'ok'),
    };
  },
  kinesis_producer: (c) => {
    const sr = num(c.success_rate);
    const lat = num(c.avg_latency_ms);
    const buf = num(c.buffer_size);
    return {
      label: 'Kinesis producer',
      text: join([str(c.status), sr !== undefined && `${pct(sr)} of puts succeed`, lat !== undefined && `${fmtMs(lat)} average put`, buf !== undefined && `${fmtNum(buf)} records buffered`]),
      tone: worst(toneOf(str(c.status)), sr !== undefined && sr < 0.99 ? 'warn' : 'ok'),
    };
  },
  sbe_decoder: (c) => {
    const errors = num(c.decode_errors);
    const n = num(c.messages_decoded);
    const us = num(c.avg_decode_time_us);
    return {
      label: 'SBE decoder',
      text: join([n !== undefined && `${fmtNum(n)} frames decoded`, errors !== undefined && `${fmtNum(errors)} errors`, us !== undefined && `${fmtNum(us)} µs each`]),
      tone: errTone(errors, toneOf(str(c.status))),
    };
  },
  kinesis_consumers: (c, now) =>
    Object.entries(c)
      .filter((e): e is [string, Obj] => isObj(e[1]))
      .map(([name, s]) => {
        const lag = num(s.lag_seconds);
        const rate = num(s.records_per_second);
        return {
          label: `${name.replace(/_stream$/, '')} stream`,
          text: join([str(s.status), rate !== undefined && `${fmtNum(rate)} records/s`, lag !== undefined && `${fmtMs(lag * 1000)} behind`, s.last_processed !== undefined && `last record ${ago(s.last_processed, now) ?? '-'}`]),
          tone: worst(toneOf(str(s.status)), lag !== undefined && lag > 5 ? 'warn' : 'ok'),
        };
      }),
  redis_cluster: (c) => {
    const errors = num(c.errors);
    const ops = num(c.operations_per_second);
    const lat = num(c.last_latency_ms) ?? num(c.avg_latency_ms);
    return {
      label: 'Redis writes',
      text: join([str(c.status), ops !== undefined && `${fmtNum(ops)} ops/s`, lat !== undefined && `${fmtMs(lat)} per write`, errors !== undefined && `${fmtNum(errors)} errors`]),
      tone: errTone(errors, toneOf(str(c.status))),
    };
  },
  feature_pipeline: (c, now) => {
    const perMin = num(c.features_per_minute);
    const comp = num(c.feature_completeness);
    return {
      label: 'Features',
      text: join([str(c.status), perMin !== undefined && `${fmtNum(perMin)} vectors/min`, comp !== undefined && `${pct(comp)} complete`, ago(c.last_feature_update, now) && `last ${ago(c.last_feature_update, now)}`]),
      tone: worst(toneOf(str(c.status)), comp !== undefined && comp < 1 ? 'warn' : 'ok'),
    };
  },
  reanchor_system: (c, now) => {
    const active = num(c.active_reanchors);
    const sr = num(c.reanchor_success_rate);
    return {
      label: 'Re-anchors',
      text: join([str(c.status), active !== undefined && `${active} running`, sr !== undefined && `${pct(sr)} succeed`, `last ${ago(c.last_reanchor, now) ?? 'never'}`]),
      tone: worst(toneOf(str(c.status)), sr !== undefined && sr < 1 ? 'warn' : 'ok'),
    };
  },
  books: (c) => {
    const entries = Object.entries(c).filter((e): e is [string, Obj] => isObj(e[1]));
    return {
      label: 'Books',
      text: entries.map(([sym, b]) => `${sym} ${str(b.status) ?? '?'}${num(b.buffered) ? ` (${num(b.buffered)} buffered)` : ''}`).join(' · ') || 'none yet',
      tone: worst(...entries.map(([, b]) => toneOf(str(b.status)))),
    };
  },
  binance_rest: (c) => {
    const er = num(c.error_rate);
    const lat = num(c.last_call_latency_ms);
    const left = num(c.rate_limit_remaining);
    return {
      label: 'Venue REST',
      text: join([str(c.status), lat !== undefined && `${fmtMs(lat)} last call`, left !== undefined && `${fmtNum(left)} weight left this minute`, er !== undefined && `${pct(er)} errors`]),
      tone: worst(toneOf(str(c.status)), er !== undefined && er > 0 ? 'warn' : 'ok'),
    };
  },
  gap_detector: (c, now) => {
    const n = num(c.gaps_detected_today);
    const by = isObj(c.gaps_by_criterion) ? Object.entries(c.gaps_by_criterion).map(([k, v]) => `${k} ${num(v) ?? '?'}`).join(', ') : undefined;
    const stalled = Array.isArray(c.stalled_symbols) ? c.stalled_symbols.filter((s): s is string => typeof s === 'string') : [];
    return {
      label: 'Gap checks',
      text: join([str(c.status), n !== undefined && `${fmtNum(n)} gaps today${by ? ` (${by})` : ''}`, stalled.length > 0 ? `stalled: ${stalled.join(', ')}` : 'nothing stalled', ago(c.last_check_time, now) && `checked ${ago(c.last_check_time, now)}`]),
      tone: worst(toneOf(str(c.status)), stalled.length > 0 ? 'warn' : 'ok'),
    };
  },
  predictor: (c) => {
    const model = str(c.model_id);
    const syms = isObj(c.symbols) ? Object.entries(c.symbols).filter((e): e is [string, Obj] => isObj(e[1])) : [];
    const scores = syms.map(([sym, s]) => {
      const f1 = num(s.macro_f1);
      const base = num(s.baseline_macro_f1);
      const n = num(s.scored) ?? 0;
      return `${sym} ${n} scored${f1 !== undefined ? `, macro-F1 ${f1.toFixed(2)}${base !== undefined ? ` vs ${base.toFixed(2)} persistence` : ''}` : ''}`;
    });
    return {
      label: 'Predictions',
      text: join([str(c.status), model && `model ${model}`, ...scores]) || '-',
      tone: str(c.status) === 'serving' ? 'ok' : 'info',
    };
  },
  s3_writer: (c) => {
    const errors = num(c.write_errors);
    const files = num(c.files_written_today);
    const lat = num(c.avg_write_latency_ms);
    return {
      label: 'Data lake',
      text: join([str(c.status), files !== undefined && `${fmtNum(files)} files today`, lat !== undefined && `${fmtMs(lat)} per file`, errors !== undefined && `${fmtNum(errors)} write errors`]),
      tone: errTone(errors, toneOf(str(c.status))),
    };
  },
};

/** Any other component: its status and its numeric fields. */
function generic(name: string, c: Obj): CardLine {
  const fields = Object.entries(c)
    .filter(([k, v]) => k !== 'status' && num(v) !== undefined)
    .slice(0, 4)
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmtNum(v as number)}`);
  return { label: name.replace(/_/g, ' '), text: join([str(c.status), ...fields]) || '-', tone: toneOf(str(c.status)) };
}

export function describeService(name: string, health: unknown, now: number): ServiceCard {
  if (!isObj(health)) return { name, status: 'unreachable', tone: 'bad', lines: [{ label: 'health', text: 'no answer', tone: 'bad' }] };
  const status = str(health.status) ?? 'unknown';
  if (status === 'unreachable') {
    return { name, status, tone: 'bad', lines: [{ label: 'health', text: `not answering (${str(health.error) ?? 'no reason given'})`, tone: 'bad' }] };
  }
  const lines: CardLine[] = [];
  const comps = isObj(health.components) ? health.components : {};
  for (const [k, v] of Object.entries(comps)) {
    if (!isObj(v)) continue;
    const d = KNOWN[k];
    const out = d ? d(v, now) : generic(k, v);
    lines.push(...(Array.isArray(out) ? out : [out]));
  }
  return { name, status, tone: toneOf(status), lines };
}
