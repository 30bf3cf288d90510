/**
 * Fault injection: the spec accepted by POST /sim/faults (validated with zod) and the per-frame decisions.
 * Faults draw from their own seeded RNG, so injecting them never changes the market; every decision is
 * counted by the caller and recorded in a bounded log so a test knows exactly what it injected.
 */
import { z } from 'zod';
import { Rng } from './rng.js';

export const STREAM_TYPES = ['trade', 'bestBidAsk', 'depth', 'depth20'] as const;
export type StreamType = (typeof STREAM_TYPES)[number];

const streams = z
  .array(z.enum(STREAM_TYPES, { errorMap: () => ({ message: `stream must be one of ${STREAM_TYPES.join(', ')}` }) }))
  .min(1, 'streams must list at least one stream type')
  .optional();
const probability = z.number().min(0, 'probability must be ≥ 0').max(1, 'probability must be ≤ 1');
const probabilityFault = z.object({ streams, probability }).strict();
const CONNECTION_SELECTORS = ['oldest', 'newest', 'all'] as const;
export type ConnectionSelector = (typeof CONNECTION_SELECTORS)[number];
const connection = z.enum(CONNECTION_SELECTORS, {
  errorMap: () => ({ message: `connection must be one of ${CONNECTION_SELECTORS.join(', ')}` }),
});
export const SHUTDOWN_FORMS = ['plain', 'combined'] as const;
export type ShutdownForm = (typeof SHUTDOWN_FORMS)[number];

export const faultSpecSchema = z
  .object({
    drop: probabilityFault.optional(),
    duplicate: probabilityFault.optional(),
    delayMs: z
      .object({
        ms: z.number().int().min(1).max(600_000),
        streams,
        probability: probability.default(1),
        connection: connection.default('all'),
      })
      .strict()
      .optional(),
    /** One-shot: serverShutdown now on the matching connections, which close closeAfterMs later. */
    rotate: z
      .object({
        connection: connection.default('oldest'),
        form: z
          .enum(SHUTDOWN_FORMS, { errorMap: () => ({ message: `form must be one of ${SHUTDOWN_FORMS.join(', ')}` }) })
          .optional(),
        closeAfterMs: z.number().int().min(0).max(60_000).default(1000),
      })
      .strict()
      .optional(),
    snapshotBehind: z
      .object({ updates: z.number().int().min(1).max(1_000_000), forSeconds: z.number().positive().max(86_400).optional() })
      .strict()
      .optional(),
    disconnect: z.object({ everySeconds: z.number().positive().max(86_400) }).strict().optional(),
    stall: z.object({ ms: z.number().int().min(1).max(600_000) }).strict().optional(),
    malformed: probabilityFault.optional(),
    rest: z
      .object({
        status: z.union([z.literal(429), z.literal(418), z.literal(500), z.literal(503)], {
          errorMap: () => ({ message: 'status must be 429, 418, 500 or 503' }),
        }),
        forSeconds: z.number().positive().max(86_400),
        /** 5xx only: "html" answers a non-JSON gateway page, as a proxy in front of the venue does. */
        body: z.enum(['json', 'html'], { errorMap: () => ({ message: 'body must be json or html' }) }).default('json'),
      })
      .strict()
      .optional(),
    /** Re-seed the fault RNG (default: the simulator seed). */
    seed: z.number().int().optional(),
  })
  .strict()
  .refine((s) => Object.keys(s).some((k) => k !== 'seed'), { message: 'the spec names no fault' });

export type FaultSpec = z.infer<typeof faultSpecSchema>;
export type RotateFault = NonNullable<FaultSpec['rotate']>;
export type RestFaultStatus = NonNullable<FaultSpec['rest']>['status'];

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** Parse a fault spec, or throw FaultSpecError naming each bad field and why. */
export function parseFaultSpec(body: unknown): FaultSpec {
  const r = faultSpecSchema.safeParse(body);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'spec'}: ${i.message}`).join('; ');
  throw new FaultSpecError(`invalid fault spec: ${why}`);
}

export type FrameFate =
  | { kind: 'send' }
  | { kind: 'drop' }
  | { kind: 'duplicate' }
  | { kind: 'delay'; ms: number }
  | { kind: 'malformed'; corruption: 'truncated' | 'unknown_template' };

export interface FaultLogEntry {
  atMs: number;
  connectionId: number;
  stream: string;
  kind: 'drop' | 'duplicate' | 'delay' | 'malformed' | 'overflow' | 'rotate' | 'shutdown';
  /** rotate / shutdown: the serverShutdown form sent. */
  form?: ShutdownForm;
  /** Depth diffs: the [U..u] range the affected frame covered. */
  firstUpdateId?: number;
  lastUpdateId?: number;
  /** Trades: the first and last trade id in the affected frame. */
  firstTradeId?: number;
  lastTradeId?: number;
}

const SEND: FrameFate = { kind: 'send' };

function applies(f: { streams?: readonly StreamType[] } | undefined, type: StreamType): boolean {
  return f !== undefined && (f.streams === undefined || f.streams.includes(type));
}

export class FaultInjector {
  private spec: FaultSpec = {};
  private rng: Rng;
  private restUntilMs = 0;
  private stallUntilMs = 0;
  private behindUntilMs = Infinity;
  private pendingRotate: RotateFault | undefined;
  private readonly log: FaultLogEntry[] = [];

  constructor(
    private readonly seed: number,
    private readonly maxLog = 100_000,
  ) {
    this.rng = new Rng(seed ^ 0x5eed);
  }

  /** Merge a validated spec into the active faults (each named fault replaces its previous setting). */
  set(spec: FaultSpec, nowMs: number): void {
    if (spec.seed !== undefined) this.rng = new Rng(spec.seed);
    const { rotate, ...lasting } = spec;
    this.spec = { ...this.spec, ...lasting };
    if (rotate) this.pendingRotate = rotate;
    if (spec.rest) this.restUntilMs = nowMs + spec.rest.forSeconds * 1000;
    if (spec.stall) this.stallUntilMs = nowMs + spec.stall.ms;
    if (spec.snapshotBehind) {
      const f = spec.snapshotBehind.forSeconds;
      this.behindUntilMs = f === undefined ? Infinity : nowMs + f * 1000;
    }
  }

  clear(): void {
    this.spec = {};
    this.restUntilMs = 0;
    this.stallUntilMs = 0;
    this.behindUntilMs = Infinity;
    this.pendingRotate = undefined;
  }

  /** The rotation asked for by the last set(), once (rotate is an action, not a lasting fault). */
  takeRotate(): RotateFault | undefined {
    const r = this.pendingRotate;
    this.pendingRotate = undefined;
    return r;
  }

  active(nowMs: number): FaultSpec {
    const out: FaultSpec = { ...this.spec };
    if (out.rest && nowMs >= this.restUntilMs) delete out.rest;
    if (out.stall && nowMs >= this.stallUntilMs) delete out.stall;
    if (out.snapshotBehind && nowMs >= this.behindUntilMs) delete out.snapshotBehind;
    return out;
  }

  /** Which connections a delayMs fault holds back (all when none is set). */
  get delaySelector(): ConnectionSelector {
    return this.spec.delayMs?.connection ?? 'all';
  }

  /**
   * The fate of one frame on one connection. Draws are made only for faults that apply; `delayable` is
   * false for a connection the delayMs selector does not pick.
   */
  fate(type: StreamType, delayable = true): FrameFate {
    const s = this.spec;
    if (applies(s.malformed, type) && this.rng.chance(s.malformed!.probability)) {
      return { kind: 'malformed', corruption: this.rng.chance(0.5) ? 'truncated' : 'unknown_template' };
    }
    if (applies(s.drop, type) && this.rng.chance(s.drop!.probability)) return { kind: 'drop' };
    if (applies(s.duplicate, type) && this.rng.chance(s.duplicate!.probability)) return { kind: 'duplicate' };
    if (delayable && applies(s.delayMs, type) && this.rng.chance(s.delayMs!.probability)) {
      return { kind: 'delay', ms: s.delayMs!.ms };
    }
    return SEND;
  }

  /** How many updates /api/v3/depth answers behind the stream now (0 = current). */
  snapshotBehind(nowMs: number): number {
    const b = this.spec.snapshotBehind;
    return b && nowMs < this.behindUntilMs ? b.updates : 0;
  }

  /** Whether any per-frame fault is active (lets the hot path skip fate()). */
  get framesFaulted(): boolean {
    const s = this.spec;
    return !!(s.malformed || s.drop || s.duplicate || s.delayMs);
  }

  stalledUntil(nowMs: number): number {
    return nowMs < this.stallUntilMs ? this.stallUntilMs : 0;
  }

  /** The injected REST answer status in force, if any. */
  restFault(nowMs: number): { status: RestFaultStatus; body: 'json' | 'html'; retryAfterSec: number } | undefined {
    const r = this.spec.rest;
    if (!r || nowMs >= this.restUntilMs) return undefined;
    return { status: r.status, body: r.body, retryAfterSec: Math.max(1, Math.ceil((this.restUntilMs - nowMs) / 1000)) };
  }

  get disconnectEverySeconds(): number | undefined {
    return this.spec.disconnect?.everySeconds;
  }

  record(entry: FaultLogEntry): void {
    this.log.push(entry);
    if (this.log.length > this.maxLog) this.log.splice(0, this.log.length - this.maxLog);
  }

  entries(): readonly FaultLogEntry[] {
    return this.log;
  }
}

/** A corrupt copy of an SBE frame: cut in half, or with an unknown template id in the header. */
export function corruptFrame(frame: Uint8Array, how: 'truncated' | 'unknown_template'): Uint8Array {
  // Copies, never views: the frame is shared by every connection (and a Buffer's slice() is a view).
  if (how === 'truncated') return new Uint8Array(frame.subarray(0, Math.max(1, Math.floor(frame.length / 2))));
  const copy = new Uint8Array(frame);
  if (copy.length >= 4) new DataView(copy.buffer).setUint16(2, 9999, true);
  return copy;
}
