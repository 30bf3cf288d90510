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

/**
 * Reads every key's status and ts_us each interval and keeps the ages of the current phase. cut() closes a
 * phase and starts the next without a pause: `bench e2e` reads its warm-up and its measured interval with
 * one reader, since a reader forked at the start of the measured interval spent its own start-up (process
 * launch, JIT) inside it, and with it the first second or two of the ages it reported.
 */
export class StalenessSampling {
  private ages: number[] = [];
  private byKey: number[][];
  private statuses: Record<string, number> = {};
  private samples = 0;
  private notLive = 0;
  private ticks = 0;
  private phaseStart = performance.now();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: readonly string[],
    private readonly intervalMs: number,
  ) {
    this.byKey = keys.map(() => []);
  }

  /** Sample until `until` settles; resolves with the summary of the phase then open. */
  async run(until: Promise<unknown>): Promise<StalenessSummary> {
    let stop = false;
    void until.then(
      () => (stop = true),
      () => (stop = true),
    );
    this.phaseStart = performance.now();
    let next = this.phaseStart;
    while (!stop) {
      const pipe = this.redis.pipeline();
      for (const k of this.keys) pipe.hmget(k, 'status', 'ts_us');
      const res = (await pipe.exec().catch(() => null)) ?? [];
      this.record(res, wallUs());
      // Fixed cadence from the start, not "interval after the read", so a slow read does not thin the samples.
      next += this.intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else next = performance.now();
    }
    return this.cut();
  }

  /** The summary of the samples since the start or the last cut; sampling goes on into a new phase. */
  cut(): StalenessSummary {
    const now = performance.now();
    const sorted = Float64Array.from(this.ages).sort();
    const summary: StalenessSummary = {
      samples: this.samples,
      notLiveShare: this.samples ? round(this.notLive / this.samples) : 0,
      statuses: this.statuses,
      p50Ms: round(pct(sorted, 50)),
      p95Ms: round(pct(sorted, 95)),
      p99Ms: round(pct(sorted, 99)),
      maxMs: round(sorted.length ? sorted[sorted.length - 1] : 0),
      intervalMs: this.ticks > 1 ? round((now - this.phaseStart) / this.ticks) : 0,
      p95ByKeyMs: Object.fromEntries(this.keys.map((k, i) => [k, round(pct(Float64Array.from(this.byKey[i] ?? []).sort(), 95))])),
    };
    this.ages = [];
    this.byKey = this.keys.map(() => []);
    this.statuses = {};
    this.samples = 0;
    this.notLive = 0;
    this.ticks = 0;
    this.phaseStart = now;
    return summary;
  }

  private record(res: [Error | null, unknown][], nowUs: number): void {
    this.ticks++;
    for (const [i, [err, v]] of res.entries()) {
      this.samples++;
      const [status, ts] = (err ? [null, null] : v) as [string | null, string | null];
      const s = status ?? 'missing';
      this.statuses[s] = (this.statuses[s] ?? 0) + 1;
      if (s !== 'live') this.notLive++;
      if (ts !== null && ts !== '') {
        const age = Math.max(0, nowUs - Number(ts)) / 1000;
        this.ages.push(age);
        this.byKey[i]?.push(age);
      }
    }
  }
}

/** Read every key's status and ts_us each interval until `until` settles; summarize the ages. */
export function sampleObStaleness(redis: RedisClient, opts: StalenessOptions): Promise<StalenessSummary> {
  return new StalenessSampling(redis, opts.keys, opts.intervalMs).run(opts.until);
}

/** What the parent sends the sampler process. */
export interface SamplerRequest {
  host: string;
  port: number;
  keys: string[];
  intervalMs: number;
}

export type SamplerMessage = { type: 'ready' } | { type: 'result'; summary: StalenessSummary } | { type: 'error'; error: string };

/** What the parent sends once the sampler is ready: close the phase and answer its summary, or stop. */
export type SamplerCommand = { type: 'cut' } | { type: 'stop' };

export interface OutsideSampler {
  /** 'process' when it reads from a process of its own, 'in-process' without the compiled build. */
  mode: 'process' | 'in-process';
  /** The summary of the samples so far (since the start or the last cut); sampling goes on. */
  cut(): Promise<StalenessSummary>;
  /** Stop sampling and return the summary of the samples since the last cut. */
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
    const sampling = new StalenessSampling(inProcess(), req.keys, req.intervalMs);
    const run = sampling.run(until);
    return {
      mode: 'in-process',
      cut: () => Promise.resolve(sampling.cut()),
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
  const ask = async (command: SamplerCommand): Promise<StalenessSummary> => {
    const answer = next();
    child.send(command);
    const m = await answer;
    if (m.type !== 'result') throw new Error(`ob sampler: ${m.type === 'error' ? m.error : 'no result'}`);
    return m.summary;
  };
  return {
    mode: 'process',
    cut: () => ask({ type: 'cut' }),
    async stop() {
      const summary = await ask({ type: 'stop' });
      child.disconnect();
      return summary;
    },
  };
}
