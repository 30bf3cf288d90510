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

export const faultSpecSchema = z
  .object({
    drop: probabilityFault.optional(),
    duplicate: probabilityFault.optional(),
    delayMs: z
      .object({ ms: z.number().int().min(1).max(600_000), streams, probability: probability.default(1) })
      .strict()
      .optional(),
    disconnect: z.object({ everySeconds: z.number().positive().max(86_400) }).strict().optional(),
    stall: z.object({ ms: z.number().int().min(1).max(600_000) }).strict().optional(),
    malformed: probabilityFault.optional(),
    rest: z
      .object({
        status: z.union([z.literal(429), z.literal(418), z.literal(500)], {
          errorMap: () => ({ message: 'status must be 429, 418 or 500' }),
        }),
        forSeconds: z.number().positive().max(86_400),
      })
      .strict()
      .optional(),
    /** Re-seed the fault RNG (default: the simulator seed). */
    seed: z.number().int().optional(),
  })
  .strict()
  .refine((s) => Object.keys(s).some((k) => k !== 'seed'), { message: 'the spec names no fault' });

export type FaultSpec = z.infer<typeof faultSpecSchema>;

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
  kind: 'drop' | 'duplicate' | 'delay' | 'malformed' | 'overflow';
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
    this.spec = { ...this.spec, ...spec };
    if (spec.rest) this.restUntilMs = nowMs + spec.rest.forSeconds * 1000;
    if (spec.stall) this.stallUntilMs = nowMs + spec.stall.ms;
  }

  clear(): void {
    this.spec = {};
    this.restUntilMs = 0;
    this.stallUntilMs = 0;
  }

  active(nowMs: number): FaultSpec {
    const out: FaultSpec = { ...this.spec };
    if (out.rest && nowMs >= this.restUntilMs) delete out.rest;
    if (out.stall && nowMs >= this.stallUntilMs) delete out.stall;
    return out;
  }

  /** The fate of one frame on one connection. Draws are made only for faults that apply. */
  fate(type: StreamType): FrameFate {
    const s = this.spec;
    if (applies(s.malformed, type) && this.rng.chance(s.malformed!.probability)) {
      return { kind: 'malformed', corruption: this.rng.chance(0.5) ? 'truncated' : 'unknown_template' };
    }
    if (applies(s.drop, type) && this.rng.chance(s.drop!.probability)) return { kind: 'drop' };
    if (applies(s.duplicate, type) && this.rng.chance(s.duplicate!.probability)) return { kind: 'duplicate' };
    if (applies(s.delayMs, type) && this.rng.chance(s.delayMs!.probability)) return { kind: 'delay', ms: s.delayMs!.ms };
    return SEND;
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
  restFault(nowMs: number): { status: 429 | 418 | 500; retryAfterSec: number } | undefined {
    const r = this.spec.rest;
    if (!r || nowMs >= this.restUntilMs) return undefined;
    return { status: r.status, retryAfterSec: Math.max(1, Math.ceil((this.restUntilMs - nowMs) / 1000)) };
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
  if (how === 'truncated') return frame.slice(0, Math.max(1, Math.floor(frame.length / 2)));
  const copy = frame.slice();
  if (copy.length >= 4) new DataView(copy.buffer).setUint16(2, 9999, true);
  return copy;
}
