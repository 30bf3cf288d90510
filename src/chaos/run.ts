/**
 * `btcpipe chaos`: the whole local stack (the `up` launcher, on free loopback ports) under a fault schedule,
 * sampled from outside as a reader would: `ob:` every 100 ms against the venue's true book, the Kinesis stream
 * read by an independent consumer, the lake folder read back at the end, all compared with the venue's trades.
 * The bookkeeping and the verdict are in report.ts (pure).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { Redis } from 'ioredis';
import { localKinesisClient } from '../kinesis/embedded.js';
import { symbolKeys } from '../redis/keys.js';
import { KinesisTradeReader } from './kinesis-reader.js';
import { lakeAggIds } from './lake-reader.js';
import {
  buildReport,
  classifySample,
  countIds,
  emptyLogFacts,
  foldLogLine,
  idCompleteness,
  type ChaosReport,
  type Crash,
  type FaultRecord,
  type LakeFacts,
  type Sample,
  type SkippedFault,
  type Span,
  type TruthBookView,
} from './report.js';
import { buildSchedule, poisonRecords, venueFaultSpec, type ScheduledFault } from './schedule.js';
import { freeStackPorts, LocalStack, readConfigDoc, type ProcessName, type ServiceName } from './stack.js';

export interface ChaosOptions {
  durationS: number;
  seed: number;
  configFile: string;
  /** Where logs, the derived config and the lake go; a temporary folder (removed unless keep) by default. */
  workDir?: string;
  keep?: boolean;
  staleMs?: number;
  stallLimitMs?: number;
  sampleMs?: number;
  rate?: number;
  progress?: (msg: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function getJson<T>(url: string, timeoutMs = 2000): Promise<{ status: number; body: T | undefined; headers: Headers }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: T | undefined;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, headers: res.headers };
}

interface TruthTrade {
  id: number;
  aggId: number;
}

/** The venue's oldest retained and newest trade of a symbol (ids and aggregate ids). */
async function truthTradeBounds(simUrl: string, symbol: string): Promise<{ oldest: TruthTrade; newest: TruthTrade } | undefined> {
  const first = await getJson<TruthTrade[]>(`${simUrl}/sim/truth/trades?symbol=${symbol}&limit=1`);
  const newestId = Number(first.headers.get('x-sim-newest-trade-id'));
  const oldest = first.body?.[0];
  if (!oldest || !Number.isSafeInteger(newestId)) return undefined;
  const last = await getJson<TruthTrade[]>(`${simUrl}/sim/truth/trades?symbol=${symbol}&fromId=${newestId}&limit=1`);
  const newest = last.body?.[0];
  return newest ? { oldest, newest } : undefined;
}

/** Venue time (ms) of each trade id in [from, to]. */
async function truthTradeTimes(simUrl: string, symbol: string, from: number, to: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = from;
  while (next <= to) {
    const page = await getJson<Array<{ id: number; timeUs: number }>>(`${simUrl}/sim/truth/trades?symbol=${symbol}&fromId=${next}&limit=100000`, 10_000).catch(() => undefined);
    const rows = page?.body ?? [];
    if (rows.length === 0) break;
    for (const t of rows) if (t.id <= to) out.set(t.id, t.timeUs / 1000);
    next = rows[rows.length - 1].id + 1;
  }
  return out;
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const say = o.progress ?? (() => undefined);
  const durationMs = o.durationS * 1000;
  const staleMs = o.staleMs ?? 3000;
  const stallLimitMs = o.stallLimitMs ?? 30_000;
  const sampleMs = o.sampleMs ?? 100;
  const work = o.workDir ? resolve(o.workDir) : mkdtempSync(join(tmpdir(), 'btcpipe-chaos-'));
  mkdirSync(work, { recursive: true });
  const lakeRoot = join(work, 'lake');
  const log = emptyLogFacts();
  const crashes: Crash[] = [];
  const faults: FaultRecord[] = [];
  const skipped: SkippedFault[] = [];
  const outages: Span[] = [];
  const kinesisRestarts: Span[] = [];
  let stopping = false;
  const expectedDown = new Set<string>();

  const ports = await freeStackPorts();
  const stack: LocalStack = new LocalStack({
    configFile: o.configFile,
    runDir: work,
    logsDir: join(work, 'logs'),
    ports,
    lakeRoot,
    seed: o.seed,
    rate: o.rate,
    // The lake is checked at the end: poll the venue often enough to catch up within the run's tail.
    settings: [
      ['scheduler.poll_interval_seconds', 5],
      ['logging.level', 'info'],
    ],
    say: (m) => say(m),
    onLine: (name, line) => {
      if (name === 'ingest-rest') foldLogLine(log, line);
    },
    onUnexpectedExit: (name, code, signal) => {
      if (stopping) return;
      crashes.push({ name, atMs: Date.now(), code, signal });
      say(`CRASH: ${name} exited (code ${code}, signal ${signal}); restarting it`);
      void restart(name);
    },
  });
  const restart = async (name: ProcessName): Promise<void> => {
    await sleep(1000);
    if (stopping) return;
    try {
      if (name === 'sim') await stack.startSim();
      else await stack.startService(name);
    } catch (err) {
      say(`restart of ${name} failed: ${errText(err)}`);
    }
  };

  const doc = readConfigDoc(stack.configPath);
  const processing = (doc.processing ?? {}) as { order_book_levels?: unknown };
  const depth = typeof processing.order_book_levels === 'number' ? processing.order_book_levels : 10;
  const symbols = stack.symbols;
  const samples: Record<string, Sample[]> = Object.fromEntries(symbols.map((s) => [s, []]));
  let reader: KinesisTradeReader | undefined;
  let redis: Redis | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let infraWatch: NodeJS.Timeout | undefined;
  const pendingTruth: Array<Promise<void>> = [];
  let startedAtMs = Date.now();

  try {
    say(`starting the stack in ${work}`);
    await stack.start();
    redis = new Redis({
      host: '127.0.0.1',
      port: ports.redis,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      commandTimeout: 1000,
      retryStrategy: () => 200,
    });
    redis.on('error', () => undefined);
    const r = redis;
    // Live for every symbol before the clock starts: start-up is not what is measured.
    const liveDeadline = Date.now() + 180_000;
    for (;;) {
      const states = await Promise.all(symbols.map((s) => r.hget(symbolKeys(s).ob, 'status').catch(() => null)));
      if (states.every((s) => s === 'live')) break;
      if (Date.now() > liveDeadline) throw new Error(`ob: never became live for every symbol within 180 s (${states.join(', ')})`);
      await sleep(500);
    }
    say(`stack live; ${o.durationS} s of chaos begins`);
    startedAtMs = Date.now();

    reader = new KinesisTradeReader(stack.kinesisEndpoint, stack.streamNames);
    reader.start();

    const truthCache = new Map<string, TruthBookView | null>();
    const truthOf = async (symbol: string, id: number): Promise<TruthBookView | null> => {
      const key = `${symbol}:${id}`;
      const hit = truthCache.get(key);
      if (hit !== undefined) return hit;
      const res = await getJson<TruthBookView>(`${stack.simUrl}/sim/truth/book?symbol=${symbol}&updateId=${id}&limit=${depth}`).catch(() => undefined);
      const v = res && res.status === 200 && res.body ? res.body : null;
      if (truthCache.size > 2000) truthCache.clear();
      truthCache.set(key, v);
      return v;
    };
    const takeSample = (): void => {
      const atMs = Date.now();
      for (const symbol of symbols) {
        const p = r
          .hgetall(symbolKeys(symbol).ob)
          .then(
            (ob) => ob,
            () => undefined,
          )
          .then(async (ob) => {
            const id = ob && ob.status === 'live' ? Number(ob.last_update_id) : NaN;
            const truth = Number.isSafeInteger(id) ? await truthOf(symbol, id) : undefined;
            samples[symbol].push(classifySample(atMs, symbol, ob, truth, depth));
          });
        pendingTruth.push(p);
        if (pendingTruth.length > 200) pendingTruth.splice(0, 100);
      }
    };
    sampler = setInterval(takeSample, sampleMs);
    infraWatch = setInterval(() => {
      for (const [name, pid] of [
        ['redis-server', stack.redis?.pid],
        ['kinesis-local', stack.kinesis?.pid],
      ] as const) {
        if (!pid || expectedDown.has(name) || stopping) continue;
        try {
          process.kill(pid, 0);
        } catch {
          crashes.push({ name, atMs: Date.now(), code: null, signal: null });
          expectedDown.add(name);
          say(`CRASH: ${name} is gone; restarting it`);
          void (name === 'redis-server' ? stack.startRedis() : stack.startKinesis().then(() => reader?.reset()))
            .catch((err: unknown) => say(`restart of ${name} failed: ${errText(err)}`))
            .finally(() => expectedDown.delete(name));
        }
      }
    }, 1000);

    const schedule = buildSchedule(durationMs);
    for (const step of schedule) {
      const wait = startedAtMs + step.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      try {
        await inject(step);
      } catch (err) {
        skipped.push({ kind: step.kind, reason: `failed: ${errText(err)}` });
        say(`fault ${step.kind} failed: ${errText(err)}`);
      }
    }
    const left = startedAtMs + durationMs - Date.now();
    if (left > 0) await sleep(left);
    clearInterval(sampler);
    sampler = undefined;
    await Promise.allSettled(pendingTruth);
    const endedAtMs = Date.now();
    say('chaos over; checking Kinesis and the lake against the venue');

    // The venue's trades at the end: everything up to them must reach Kinesis and the lake.
    const bounds: Record<string, { oldest: TruthTrade; newest: TruthTrade }> = {};
    for (const s of symbols) {
      const b = await truthTradeBounds(stack.simUrl, s).catch(() => undefined);
      if (b) bounds[s] = b;
    }
    const kinesisDeadline = Date.now() + 60_000;
    const rd = reader;
    const kinesisReached = (): boolean =>
      Object.entries(bounds).every(([s, b]) => Math.max(-1, ...(rd.tally.trades.get(s)?.keys() ?? [])) >= b.newest.id);
    while (!kinesisReached() && Date.now() < kinesisDeadline) await sleep(1000);
    const kinesisTrades: Record<string, ReturnType<typeof idCompleteness>> = {};
    for (const s of symbols) {
      const counts = rd.tally.trades.get(s) ?? new Map<number, number>();
      const b = bounds[s];
      const inRange = b ? [...counts.keys()].filter((id) => id >= b.oldest.id && id <= b.newest.id) : [];
      const from = inRange.length ? Math.min(...inRange) : undefined;
      // kinesis-local keeps nothing across its restart: trades made around it may have been put and lost
      // with the old stream (a real Kinesis keeps acknowledged records), so they are excused, not missing.
      const times = from !== undefined && b && kinesisRestarts.length ? await truthTradeTimes(stack.simUrl, s, from, b.newest.id) : new Map<number, number>();
      const excuse = (id: number): boolean => {
        const t = times.get(id);
        return t !== undefined && kinesisRestarts.some((w) => t >= w.fromMs - 2000 && t <= w.toMs);
      };
      kinesisTrades[s] = idCompleteness(counts, from, b?.newest.id, excuse);
    }

    const lake: Record<string, LakeFacts> = {};
    const lakeDeadline = Date.now() + 90_000;
    for (;;) {
      let all = true;
      for (const s of symbols) {
        const b = bounds[s];
        const { files, ids } = await lakeAggIds(lakeRoot, s).catch(() => ({ files: 0, ids: [] as number[] }));
        const counts = countIds(ids);
        const caughtUp = b !== undefined && ids.length > 0 && Math.max(...ids) >= b.newest.aggId;
        lake[s] = { files, rows: ids.length, completeness: idCompleteness(counts, b?.oldest.aggId, b?.newest.aggId), caughtUp };
        if (!caughtUp) all = false;
      }
      if (all || Date.now() > lakeDeadline) break;
      await sleep(3000);
    }

    let deadLettered: number | null = null;
    try {
      if ((await r.exists('deadletter:records')) === 1) deadLettered = await r.xlen('deadletter:records');
    } catch {
      deadLettered = null;
    }
    const venue: Record<string, number> = {};
    const stats = await getJson<{ streams?: Record<string, Record<string, number>>; rest?: { faulted?: Record<string, number> } }>(`${stack.simUrl}/sim/stats`).catch(() => undefined);
    for (const c of Object.values(stats?.body?.streams ?? {})) {
      for (const k of ['dropped', 'duplicated', 'delayed', 'malformed', 'stalled']) venue[`frames ${k}`] = (venue[`frames ${k}`] ?? 0) + (c[k] ?? 0);
    }
    for (const [status, n] of Object.entries(stats?.body?.rest?.faulted ?? {})) venue[`REST ${status}`] = n;

    return buildReport({
      durationS: o.durationS,
      seed: o.seed,
      staleMs,
      stallLimitMs,
      startedAtMs,
      endedAtMs,
      samples,
      plannedOutages: outages,
      faults,
      skipped,
      venue,
      log,
      kinesisTrades,
      kinesisUndecodable: rd.tally.undecodable,
      lake,
      deadLettered,
      crashes,
    });
  } finally {
    stopping = true;
    if (sampler) clearInterval(sampler);
    if (infraWatch) clearInterval(infraWatch);
    await reader?.stop().catch(() => undefined);
    redis?.disconnect();
    await stack.stop();
    if (!o.keep && !o.workDir) rmSync(work, { recursive: true, force: true });
    else say(`logs, derived config and lake kept in ${work}`);
  }

  async function postFaults(spec: Record<string, unknown>): Promise<string | undefined> {
    const res = await fetch(`${stack.simUrl}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
      signal: AbortSignal.timeout(5000),
    });
    if (res.ok) {
      await res.arrayBuffer();
      return undefined;
    }
    return `the simulator refused it (HTTP ${res.status}: ${(await res.text()).slice(0, 200)})`;
  }

  async function clearFaultsLater(ms: number): Promise<void> {
    await sleep(ms);
    await fetch(`${stack.simUrl}/sim/faults`, { method: 'DELETE', signal: AbortSignal.timeout(5000) })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined);
  }

  async function killAndRestart(name: ServiceName, downMs: number): Promise<void> {
    const t0 = Date.now();
    await stack.kill(name, 'SIGKILL');
    await sleep(downMs);
    await stack.startService(name);
    outages.push({ fromMs: t0, toMs: Date.now() + 15_000 });
  }

  async function inject(step: ScheduledFault): Promise<void> {
    const at = Date.now();
    const record = (detail?: string): void => {
      faults.push({ kind: step.kind, atMs: at, detail });
      say(`fault ${step.kind}${detail ? `: ${detail}` : ''}`);
    };
    const venueSpec = venueFaultSpec(step.kind, step.windowMs);
    if (venueSpec) {
      const refused = await postFaults(venueSpec);
      if (refused) {
        skipped.push({ kind: step.kind, reason: refused });
        say(`fault ${step.kind} skipped: ${refused}`);
        return;
      }
      if (step.kind === 'rotation_with_delay') {
        const rot = await postFaults({ rotate: { connection: 'oldest' } });
        if (rot) {
          skipped.push({ kind: step.kind, reason: `delay set but rotate ${rot}` });
          return;
        }
      }
      if (step.kind === 'snapshot_behind') await requestReanchors('chaos_snapshot_behind');
      if (step.kind === 'stall') outages.push({ fromMs: at, toMs: at + Math.min(5000, step.windowMs) + 3000 });
      record(JSON.stringify(venueSpec));
      void clearFaultsLater(step.windowMs);
      return;
    }
    switch (step.kind) {
      case 'aggregator_kill':
        record('SIGKILL, restarted after 1 s');
        await killAndRestart('aggregator', 1000);
        return;
      case 'redis_restart': {
        record('redis-server stopped and started again (no persistence: every key is lost)');
        expectedDown.add('redis-server');
        const t0 = Date.now();
        try {
          await stack.stopRedis();
          await sleep(1000);
          await stack.startRedis();
        } finally {
          expectedDown.delete('redis-server');
        }
        outages.push({ fromMs: t0, toMs: Date.now() + 15_000 });
        return;
      }
      case 'kinesis_restart': {
        record('kinesis-local stopped and started again (every stream recreated empty)');
        expectedDown.add('kinesis-local');
        const t0 = Date.now();
        try {
          await reader?.drain(15_000);
          await stack.stopKinesis();
          await sleep(1000);
          await stack.startKinesis();
          reader?.reset();
        } finally {
          expectedDown.delete('kinesis-local');
          kinesisRestarts.push({ fromMs: t0, toMs: Date.now() });
        }
        outages.push({ fromMs: t0, toMs: Date.now() + 20_000 });
        return;
      }
      case 'rest_kill_mid_reanchor': {
        // The REST mode rate-limits re-anchors per symbol: ask again every second until one starts.
        const flagKey = symbolKeys(symbols[0]).flag;
        const deadline = Date.now() + Math.max(15_000, step.windowMs);
        let held = false;
        let askedAt = 0;
        while (Date.now() < deadline) {
          if (Date.now() - askedAt >= 1000) {
            await requestReanchors('chaos_kill_mid_reanchor');
            askedAt = Date.now();
          }
          if ((await redis?.exists(flagKey).catch(() => 0)) === 1) {
            held = true;
            break;
          }
          await sleep(5);
        }
        record(held ? 'SIGKILL while the re-anchor flag was held, restarted after 2 s' : 'SIGKILL (no re-anchor flag seen in time), restarted after 2 s');
        await stack.kill('ingest-rest', 'SIGKILL');
        await sleep(2000);
        await stack.startService('ingest-rest');
        return;
      }
      case 'poison_records': {
        const client = localKinesisClient(stack.kinesisEndpoint);
        let n = 0;
        try {
          for (const stream of stack.streamNames) {
            for (const s of symbols) {
              for (const p of poisonRecords(s, Date.now())) {
                await client.send(new PutRecordCommand({ StreamName: stream, PartitionKey: s, Data: Buffer.from(p.data) }));
                n += 1;
              }
            }
          }
        } finally {
          client.destroy();
        }
        record(`${n} records into ${stack.streamNames.join(', ')}: not JSON, transact_ts -1, event_ts in 2100 (trade, bestBidAsk), lowercase symbol`);
        return;
      }
      default:
        skipped.push({ kind: step.kind, reason: 'no action for this kind' });
    }
  }

  async function requestReanchors(reason: string): Promise<void> {
    for (const s of symbols) {
      await redis
        ?.xadd('reanchor:requests', 'MAXLEN', '~', 1000, '*', 'symbol', s, 'reason', reason, 'ts', String(Date.now()))
        .catch(() => undefined);
    }
  }
}
