import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Gauge } from 'prom-client';
import { createRegistry } from '../../../src/ops/metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('createRegistry', () => {
  it("lets go of a stopped service's metrics: nothing process-wide keeps its registry alive", async () => {
    // A service's gauges read its state through collect(); while the registry stays reachable, so does the
    // whole service (the bench and the tests start many in one process).
    let state: { book: number[] } | undefined = { book: new Array<number>(1000).fill(1) };
    const gone = new WeakRef(state);
    (() => {
      const registry = createRegistry('leak-check');
      const held = state;
      new Gauge({
        name: 'leak_check_levels',
        help: 'levels',
        registers: [registry],
        collect() {
          this.set(held?.book.length ?? 0);
        },
      });
    })();
    state = undefined;
    for (let i = 0; i < 5 && gone.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(gone.deref()).toBeUndefined();
  });

  it('gives every service the process metrics under its own service label, and its own metrics apart', async () => {
    const a = createRegistry('svc-a');
    const b = createRegistry('svc-b');
    new Gauge({ name: 'only_in_a', help: 'a', registers: [a] }).set(3);
    const [ta, tb] = [await a.metrics(), await b.metrics()];
    expect(ta).toMatch(/process_cpu_user_seconds_total\{service="svc-a"\}/);
    expect(tb).toMatch(/process_cpu_user_seconds_total\{service="svc-b"\}/);
    expect(ta).toMatch(/# TYPE nodejs_gc_duration_seconds histogram/);
    expect(ta).toMatch(/only_in_a\{service="svc-a"\} 3/);
    expect(tb).not.toMatch(/only_in_a/);
  });
});
