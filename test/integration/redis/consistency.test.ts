import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RedisClient } from '../../../src/redis/connect.js';
import { symbolKeys } from '../../../src/redis/keys.js';
import { ProjectionWriter } from '../../../src/redis/projection.js';
import { AtomicReanchor } from '../../../src/redis/reanchor.js';
import { uniqueSymbol } from '../../support/servers.js';
import { assertOneGeneration, connect, generationState } from './helpers.js';

let writer: RedisClient;
let reader: RedisClient;
beforeAll(async () => {
  [writer, reader] = await Promise.all([connect(inject('redisUrl')), connect(inject('redisUrl'))]);
});
afterAll(async () => {
  await Promise.all([writer.quit(), reader.quit()]);
});

describe('readers during swaps and projection writes', () => {
  it('never see a missing key, an empty hash or a mix of generations', async () => {
    const s = uniqueSymbol();
    const k = symbolKeys(s);
    const ra = new AtomicReanchor(writer, { minIntervalMs: 0 });
    const pw = new ProjectionWriter(writer);
    let gen = 0;
    // Odd generations have 8 levels, even ones 10: a stale bid9/bid10 field would show up as mixing.
    const levelsOf = (g: number): number => (g % 2 ? 8 : 10);
    const projectGen = async (): Promise<boolean> => {
      const g = ++gen;
      const st = generationState(g, levelsOf(g));
      const del = levelsOf(g) === 8 ? ['bid9_p', 'bid9_q', 'ask9_p', 'ask9_q', 'bid10_p', 'bid10_q', 'ask10_p', 'ask10_q'] : [];
      const r = await pw.write([{ symbol: s, ob: { set: st.ob, del }, tr1s: st.tr1s, tr5s: st.tr5s, feat: st.feat }]);
      return r.obWritten[s];
    };
    expect(await projectGen()).toBe(true);

    let stop = false;
    let reads = 0;
    const seen = { ob: new Set<number>(), tr1s: new Set<number>(), tr5s: new Set<number>(), feat: new Set<number>() };
    let readError: unknown;
    const readLoop = (async () => {
      while (!stop) {
        const [ob, tr1s, tr5s, feat] = await Promise.all([
          reader.hgetall(k.ob),
          reader.hgetall(k.tr1s),
          reader.hgetall(k.tr5s),
          reader.hgetall(k.feat),
        ]);
        seen.ob.add(assertOneGeneration(k.ob, ob));
        seen.tr1s.add(assertOneGeneration(k.tr1s, tr1s));
        seen.tr5s.add(assertOneGeneration(k.tr5s, tr5s));
        seen.feat.add(assertOneGeneration(k.feat, feat));
        reads++;
      }
    })().catch((err: unknown) => {
      readError = err;
      stop = true;
    });

    let swaps = 0;
    let blockedObWrites = 0;
    try {
      for (let i = 0; i < 60 && !stop; i++) {
        // A re-anchor whose fetch overlaps projection writes (ob blocked by the flag, tr/feat written).
        const r = ra.run(s, async () => {
          if (!(await projectGen())) blockedObWrites++;
          const g = ++gen;
          return generationState(g, levelsOf(g));
        });
        const side = projectGen();
        const [res, obWritten] = await Promise.all([r, side]);
        expect(res.status).toBe('ok');
        if (!obWritten) blockedObWrites++;
        swaps++;
        await projectGen();
      }
    } finally {
      stop = true;
      await readLoop;
    }
    if (readError) throw readError;
    expect(swaps).toBe(60);
    expect(blockedObWrites).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(0);
    // The reader really observed many distinct generations, i.e. it ran across swaps.
    expect(seen.ob.size).toBeGreaterThan(5);
    expect(await writer.exists(k.flag, k.obNew, k.tr1sNew, k.tr5sNew, k.featNew)).toBe(0);
  });
});
