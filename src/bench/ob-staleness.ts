/**
 * The order book's age as a reader sees it: wall clock − `ob:{SYM}` ts_us, read from Redis every few ms by
 * a client of its own. `bench e2e` runs it in a separate process (ob-staleness-process.ts) so that the
 * sampler neither steals the aggregator's event loop nor waits behind it; `bench scale` runs it in-process
 * at a coarser interval.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { RedisClient } from '../redis/connect.js';

export interface StalenessSummary {
  /** Reads of one book (a tick reads every key). */
  samples: number;
  /** Of those, books not `live` (resyncing, stale, missing): share 0..1. Their ages are still counted. */
  notLiveShare: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The sampling interval achieved (mean time between ticks), ms. */
  intervalMs: number;
  /** P95 of each key's own ages, ms, keyed like `keys` (a slow symbol shows here, not in the pooled P95). */
  p95ByKeyMs: Record<string, number>;
}

export interface StalenessOptions {
  keys: readonly string[];
  intervalMs: number;
  /** Sampling stops when this resolves. */
  until: Promise<unknown>;
}

const round = (x: number): number => Math.round(x * 100) / 100;

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Wall clock in µs with sub-ms resolution (Date.now() alone would add up to 1 ms of noise). */
const wallUs = (): number => (performance.timeOrigin + performance.now()) * 1000;

/** Read every key's status and ts_us each interval until `until` settles; summarize the ages. */
export async function sampleObStaleness(redis: RedisClient, opts: StalenessOptions): Promise<StalenessSummary> {
  let stop = false;
  void opts.until.then(
    () => (stop = true),
    () => (stop = true),
  );
  const ages: number[] = [];
  const byKey: number[][] = opts.keys.map(() => []);
  const statuses: Record<string, number> = {};
  let samples = 0;
  let notLive = 0;
  let ticks = 0;
  const t0 = performance.now();
  let next = t0;
  while (!stop) {
    const pipe = redis.pipeline();
    for (const k of opts.keys) pipe.hmget(k, 'status', 'ts_us');
    const res = (await pipe.exec().catch(() => null)) ?? [];
    const now = wallUs();
    ticks++;
    for (const [i, [err, v]] of res.entries()) {
      samples++;
      const [status, ts] = (err ? [null, null] : v) as [string | null, string | null];
      const s = status ?? 'missing';
      statuses[s] = (statuses[s] ?? 0) + 1;
      if (s !== 'live') notLive++;
      if (ts !== null && ts !== '') {
        const age = Math.max(0, now - Number(ts)) / 1000;
        ages.push(age);
        byKey[i]?.push(age);
      }
    }
    // Fixed cadence from the start, not "interval after the read", so a slow read does not thin the samples.
    next += opts.intervalMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else next = performance.now();
  }
  const sorted = Float64Array.from(ages).sort();
  return {
    samples,
    notLiveShare: samples ? round(notLive / samples) : 0,
    statuses,
    p50Ms: round(pct(sorted, 50)),
    p95Ms: round(pct(sorted, 95)),
    p99Ms: round(pct(sorted, 99)),
    maxMs: round(sorted.length ? sorted[sorted.length - 1] : 0),
    intervalMs: ticks > 1 ? round((performance.now() - t0) / ticks) : 0,
    p95ByKeyMs: Object.fromEntries(opts.keys.map((k, i) => [k, round(pct(Float64Array.from(byKey[i] ?? []).sort(), 95))])),
  };
}

/** What the parent sends the sampler process. */
export interface SamplerRequest {
  host: string;
  port: number;
  keys: string[];
  intervalMs: number;
}

export type SamplerMessage = { type: 'ready' } | { type: 'result'; summary: StalenessSummary } | { type: 'error'; error: string };

export interface OutsideSampler {
  /** 'process' when it reads from a process of its own, 'in-process' without the compiled build. */
  mode: 'process' | 'in-process';
  /** Stop sampling and return the summary. */
  stop(): Promise<StalenessSummary>;
}

/** The compiled reader, found from dist/bench or src/bench alike. */
const CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bench', 'ob-staleness-process.js');

/**
 * Start sampling from a process of its own (the compiled ob-staleness-process.js). Without a build it
 * samples in this process with `inProcess`'s client instead.
 */
export async function startOutsideSampler(req: SamplerRequest, inProcess: () => RedisClient): Promise<OutsideSampler> {
  if (!existsSync(CHILD)) {
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const run = sampleObStaleness(inProcess(), { keys: req.keys, intervalMs: req.intervalMs, until });
    return {
      mode: 'in-process',
      stop: () => {
        release();
        return run;
      },
    };
  }
  const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const next = (): Promise<SamplerMessage> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`ob sampler exited (${code}) before answering`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as SamplerMessage);
      });
    });
  const ready = next();
  child.send(req);
  const first = await ready;
  if (first.type === 'error') throw new Error(`ob sampler: ${first.error}`);
  return {
    mode: 'process',
    async stop() {
      const answer = next();
      child.send({ type: 'stop' });
      const m = await answer;
      child.disconnect();
      if (m.type !== 'result') throw new Error(`ob sampler: ${m.type === 'error' ? m.error : 'no result'}`);
      return m.summary;
    },
  };
}
