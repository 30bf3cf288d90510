import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  beliefDeadline,
  checkpoint,
  claim,
  DEFAULT_LEASE_TIMING,
  failoverBoundMs,
  newLease,
  planLeases,
  renew,
  take,
  validateTiming,
  type Lease,
  type LeaseTiming,
} from '../../../src/kinesis/lease-model.js';

const T = DEFAULT_LEASE_TIMING;

function table(...leases: Lease[]): Map<string, Lease> {
  return new Map(leases.map((l) => [l.shardId, l]));
}

function held(id: string, owner: string, expiresMs: number, extra: Partial<Lease> = {}): Lease {
  return { ...newLease(id, [], 'TRIM_HORIZON'), owner, epoch: 1, counter: 1, expiresMs, ...extra };
}

describe('lease transitions', () => {
  it('takes only a free or lapsed lease whose parents are finished, with a new epoch', () => {
    const t = table(held('s0', 'a', 1000), newLease('s1', ['s0'], 'TRIM_HORIZON'), newLease('s2', [], 'TRIM_HORIZON'));
    expect(take(t, 's0', 'b', 999, 10_000, 2)).toEqual({ ok: false, reason: 'held' });
    const r = take(t, 's0', 'b', 1000, 10_000, 2);
    expect(r.ok && r.lease).toMatchObject({ owner: 'b', epoch: 2, expiresMs: 11_000, counter: 2 });
    expect(take(t, 's1', 'b', 0, 10_000, 3)).toEqual({ ok: false, reason: 'parents' });
    expect(take(t, 'nope', 'b', 0, 10_000, 3)).toEqual({ ok: false, reason: 'missing' });
    t.set('s0', { ...held('s0', '', 0), finished: true });
    expect(take(t, 's1', 'b', 0, 10_000, 3).ok).toBe(true);
    expect(take(t, 's0', 'b', 0, 10_000, 3)).toEqual({ ok: false, reason: 'finished' });
  });

  it('renews and checkpoints only for the owner of that epoch before the lapse', () => {
    const l = held('s0', 'a', 5000, { epoch: 4 });
    expect(renew(l, 'a', 4, 4999, 10_000)).toMatchObject({ ok: true, lease: { expiresMs: 14_999, counter: 2 }, handOver: false });
    expect(renew(l, 'a', 4, 5000, 10_000).ok).toBe(false);
    expect(renew(l, 'a', 3, 0, 10_000).ok).toBe(false);
    expect(renew(l, 'b', 4, 0, 10_000).ok).toBe(false);
    expect(checkpoint(l, 'a', 3, 0, '42').ok).toBe(false);
    const saved = checkpoint(l, 'a', 4, 0, '42');
    expect(saved.ok && saved.lease).toMatchObject({ checkpoint: '42', owner: 'a' });
    const done = checkpoint(l, 'a', 4, 0, '43', { finished: true });
    expect(done.ok && done.lease).toMatchObject({ checkpoint: '43', owner: '', finished: true });
    const released = checkpoint(l, 'a', 4, 0, null, { release: true });
    expect(released.ok && released.lease).toMatchObject({ checkpoint: '', owner: '', expiresMs: 0, finished: false });
  });

  it('hands a claimed lease over at the owner’s next renewal', () => {
    const l = held('s0', 'a', 5000);
    expect(claim(l, 'a', 0)).toBeUndefined();
    const c = claim(l, 'b', 0);
    expect(c?.claim).toBe('b');
    expect(claim(c, 'c', 0)).toBeUndefined();
    expect(renew(c, 'a', 1, 0, 10_000)).toMatchObject({ ok: true, handOver: true });
    const released = checkpoint(c, 'a', 1, 100, null, { release: true, reserveMs: 6000 });
    expect(released.ok && released.lease).toMatchObject({ owner: '', claim: 'b', expiresMs: 6100 });
    const t = table(released.ok ? released.lease : l);
    // Kept for the claimer: the old owner (now below its share) cannot take it straight back.
    expect(take(t, 's0', 'a', 200, 10_000, 2)).toEqual({ ok: false, reason: 'held' });
    expect(take(t, 's0', 'b', 200, 10_000, 2).ok).toBe(true);
    expect(take(t, 's0', 'a', 6100, 10_000, 2).ok).toBe(true);
  });

  it('rejects timings where a worker could outlive its lease or never renew in time', () => {
    expect(() => validateTiming(T)).not.toThrow();
    expect(() => validateTiming({ ...T, renewIntervalMs: 6000 })).toThrow(/half the duration/);
    expect(() => validateTiming({ ...T, safetyMarginMs: 7000 })).toThrow(/safety margin/);
    expect(failoverBoundMs(T)).toBeLessThanOrEqual(30_000);
  });
});

describe('planLeases (KCL taker rule)', () => {
  it('takes a dead worker’s lapsed leases up to this worker’s share', () => {
    const t = table(held('s0', 'a', 100), held('s1', 'a', 100), held('s2', 'b', 5000), held('s3', 'b', 5000));
    expect(planLeases(t, 'b', ['b'], 200)).toEqual({ take: ['s0', 's1'], claim: null, target: 4 });
    // 'a' is still live (heartbeat) but its leases lapsed: b takes up to ceil(4/2) = 2, it has them.
    expect(planLeases(t, 'b', ['a', 'b'], 200).take).toEqual([]);
    expect(planLeases(t, 'c', ['a', 'b', 'c'], 200).take).toEqual(['s0', 's1']);
  });

  it('asks the busiest worker for one lease when nothing is free, and not below the target', () => {
    const t = table(held('s0', 'a', 5000), held('s1', 'a', 5000), held('s2', 'a', 5000), held('s3', 'a', 5000));
    expect(planLeases(t, 'b', ['a', 'b'], 0)).toEqual({ take: [], claim: 's3', target: 2 });
    const balanced = table(held('s0', 'a', 5000), held('s1', 'a', 5000), held('s2', 'b', 5000));
    expect(planLeases(balanced, 'b', ['a', 'b'], 0)).toEqual({ take: [], claim: null, target: 2 });
    // A third worker: target 1, and 'a' holds 2.
    expect(planLeases(balanced, 'c', ['a', 'b', 'c'], 0).claim).toBe('s1');
  });

  it('does not count finished leases and waits for parents', () => {
    const t = table({ ...newLease('p', [], 'TRIM_HORIZON'), finished: true }, newLease('c1', ['p'], 'TRIM_HORIZON'), newLease('c2', ['q'], 'TRIM_HORIZON'), newLease('q', [], 'TRIM_HORIZON'));
    const plan = planLeases(t, 'a', ['a'], 0);
    expect(plan.target).toBe(3);
    expect(plan.take).toEqual(['c1', 'q']);
  });

  it('converges: repeated rounds of several workers give every worker its share and every shard one owner', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (nShards, nWorkers, rounds) => {
        const workers = Array.from({ length: nWorkers }, (_, i) => `w${i}`);
        const t = new Map<string, Lease>();
        for (let i = 0; i < nShards; i++) t.set(`s${i}`, newLease(`s${i}`, [], 'TRIM_HORIZON'));
        let epoch = 0;
        // Every worker acts once per round (timers), in an order that changes from round to round.
        const order = rounds.flatMap((r) => workers.map((_, i) => (r + i) % nWorkers));
        for (const pick of order) {
          const me = workers[pick];
          // The owner of a claimed lease hands it over at its renewal.
          for (const l of t.values()) {
            if (l.claim && l.owner === me) {
              const r = checkpoint(l, me, l.epoch, 0, null, { release: true, reserveMs: 1e9 });
              if (r.ok) t.set(l.shardId, r.lease);
            }
          }
          const plan = planLeases(t, me, workers, 0);
          for (const id of plan.take) {
            const r = take(t, id, me, 0, 1e9, ++epoch);
            if (r.ok) t.set(id, r.lease);
          }
          if (plan.claim) {
            const c = claim(t.get(plan.claim), me, 0);
            if (c) t.set(plan.claim, c);
          }
        }
        const counts = workers.map((w) => [...t.values()].filter((l) => l.owner === w).length);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(nShards);
        const target = Math.ceil(nShards / nWorkers);
        for (const c of counts) expect(c).toBeLessThanOrEqual(target);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * A model of the whole protocol: workers with drifting clocks send take/renew/claim/release requests
 * through a network that delays each request and reply arbitrarily (longer than a lease included); the
 * server applies them on its own clock with the same pure transitions the Lua scripts mirror. A worker
 * believes it owns a shard from a successful reply until beliefDeadline on its own clock.
 */
interface Op {
  worker: number;
  kind: 'take' | 'renew' | 'claim';
  sendAt: number;
  reqDelay: number;
  repDelay: number;
}

interface SimEvent {
  at: number;
  seq: number;
  run: () => void;
}

function simulate(timing: LeaseTiming, drifts: number[], offsets: number[], ops: Op[], nShards: number): string | null {
  const durationMs = timing.durationMs;
  const server = new Map<string, Lease>();
  for (let i = 0; i < nShards; i++) server.set(`s${i}`, newLease(`s${i}`, [], 'TRIM_HORIZON'));
  let epoch = 0;
  const names = drifts.map((_, i) => `w${i}`);
  const local = (w: number, real: number): number => real * (1 + drifts[w]) + offsets[w];
  const beliefs = drifts.map(() => new Map<string, { epoch: number; deadline: number }>());
  const events: SimEvent[] = [];
  let seq = 0;
  const at = (t: number, run: () => void): void => {
    events.push({ at: t, seq: seq++, run });
  };
  let violation: string | null = null;
  const check = (real: number): void => {
    for (let s = 0; s < nShards; s++) {
      const id = `s${s}`;
      const believers = beliefs.filter((b, w) => {
        const x = b.get(id);
        return x !== undefined && local(w, real) < x.deadline;
      });
      if (believers.length > 1 && violation === null) violation = `${id} believed by ${believers.length} workers at ${real}`;
    }
  };
  for (const op of ops) {
    at(op.sendAt, () => {
      const w = op.worker;
      const sentLocal = local(w, op.sendAt);
      const applyAt = op.sendAt + op.reqDelay;
      const replyAt = applyAt + op.repDelay;
      if (op.kind === 'renew') {
        for (const [id, b] of [...beliefs[w]]) {
          if (local(w, op.sendAt) >= b.deadline) continue;
          at(applyAt, () => {
            const r = renew(server.get(id), names[w], b.epoch, applyAt, durationMs);
            if (r.ok) server.set(id, r.lease);
            at(replyAt, () => {
              const cur = beliefs[w].get(id);
              if (!cur || cur.epoch !== b.epoch) return;
              if (!r.ok) beliefs[w].delete(id);
              else if (r.handOver) {
                // Stop believing first, then release (the release request may be slow too).
                beliefs[w].delete(id);
                const relAt = replyAt + op.reqDelay;
                at(relAt, () => {
                  const c = checkpoint(server.get(id), names[w], b.epoch, relAt, null, { release: true, reserveMs: 2 * timing.takeIntervalMs });
                  if (c.ok) server.set(id, c.lease);
                });
              } else cur.deadline = beliefDeadline(sentLocal, timing);
              check(replyAt);
            });
          });
        }
        return;
      }
      at(applyAt, () => {
        const live = names.filter((_, i) => i === w || (i + applyAt) % 3 !== 0);
        const plan = planLeases(server, names[w], live, applyAt);
        if (op.kind === 'claim') {
          if (plan.claim) {
            const c = claim(server.get(plan.claim), names[w], applyAt);
            if (c) server.set(plan.claim, c);
          }
          return;
        }
        for (const id of plan.take) {
          const r = take(server, id, names[w], applyAt, durationMs, epoch + 1);
          if (!r.ok) continue;
          epoch++;
          server.set(id, r.lease);
          const lease = r.lease;
          at(replyAt, () => {
            beliefs[w].set(id, { epoch: lease.epoch, deadline: beliefDeadline(sentLocal, timing) });
            check(replyAt);
          });
        }
      });
    });
  }
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const e = events.shift() as SimEvent;
    e.run();
    check(e.at);
  }
  return violation;
}

const opArb = (nWorkers: number): fc.Arbitrary<Op> =>
  fc.record({
    worker: fc.integer({ min: 0, max: nWorkers - 1 }),
    kind: fc.constantFrom<Op['kind']>('take', 'renew', 'renew', 'claim'),
    sendAt: fc.integer({ min: 0, max: 60_000 }),
    // Up to 1.5 leases in flight each way: a paused process or a congested network.
    reqDelay: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 15_000 })),
    repDelay: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 15_000 })),
  });

const scenarioArb = fc.integer({ min: 2, max: 4 }).chain((nWorkers) =>
  fc.record({
    nShards: fc.integer({ min: 1, max: 3 }),
    // Clock rates within ±0.5 % of the server's, any offset.
    drifts: fc.array(fc.double({ min: -0.005, max: 0.005, noNaN: true }), { minLength: nWorkers, maxLength: nWorkers }),
    offsets: fc.array(fc.integer({ min: -1e9, max: 1e9 }), { minLength: nWorkers, maxLength: nWorkers }),
    ops: fc.array(opArb(nWorkers), { minLength: 5, maxLength: 80 }),
  }),
);

describe('lease safety (model of the protocol)', () => {
  it('never lets two workers believe they own a shard at the same instant (clock drift within the margin)', () => {
    fc.assert(
      fc.property(scenarioArb, ({ nShards, drifts, offsets, ops }) => {
        expect(simulate(T, drifts, offsets, ops, nShards)).toBeNull();
      }),
      { numRuns: 400 },
    );
  });

  it('the property has teeth: believing past the lease (negative margin) is caught', () => {
    const unsafe: LeaseTiming = { ...T, safetyMarginMs: -3000 };
    const r = fc.check(
      fc.property(scenarioArb, ({ nShards, drifts, offsets, ops }) => simulate(unsafe, drifts, offsets, ops, nShards) === null),
      { numRuns: 400 },
    );
    expect(r.failed).toBe(true);
  });
});
