import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cholesky, LinalgError, solveSpd } from '../../../src/model/linalg.js';
import { fitRidge, fitSoftmax, fitStandardization, predictRidge, softmaxProbabilities, standardize } from '../../../src/model/linear.js';

/** Deterministic pseudo-random numbers (the tests need well-spread designs, not cryptographic ones). */
function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('cholesky / solveSpd', () => {
  it('solves a known 3×3 system', () => {
    // A = [[4,2,0],[2,5,3],[0,3,6]], x = [1,-1,2] → b = A·x
    const a = [
      [4, 2, 0],
      [2, 5, 3],
      [0, 3, 6],
    ];
    const x = solveSpd(a, [2, 3, 9]);
    expect(x[0]).toBeCloseTo(1, 12);
    expect(x[1]).toBeCloseTo(-1, 12);
    expect(x[2]).toBeCloseTo(2, 12);
    const l = cholesky(a);
    expect(l[0][0]).toBeCloseTo(2, 12);
    expect(l[1][0]).toBeCloseTo(1, 12);
    expect(l[0][1]).toBe(0);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => solveSpd([[1, 2], [2, 1]], [1, 1])).toThrow(LinalgError);
    expect(() => solveSpd([[1, 0], [0, 1]], [1])).toThrow(/right-hand side/);
  });
});

describe('standardization', () => {
  it('centres and scales by the population std; a constant column maps to 0', () => {
    const s = fitStandardization([
      [1, 5],
      [3, 5],
    ]);
    expect(s.mean).toEqual([2, 5]);
    expect(s.std).toEqual([1, 1]);
    expect(standardize(s, [3, 5])).toEqual([1, 0]);
    expect(standardize(s, [0, 7])).toEqual([-2, 2]);
  });
});

describe('ridge', () => {
  it('known solution: one centred feature, lambda shrinks the slope by var/(var+lambda)', () => {
    // x = [-1, 1], y = [0, 4]: var(x) = 1, cov = 2 → slope 2/(1+λ), intercept = ȳ = 2.
    const m = fitRidge([[-1], [1]], [0, 4], 1);
    expect(m.weights[0]).toBeCloseTo(1, 9);
    expect(m.intercept).toBeCloseTo(2, 9);
    expect(predictRidge(m, [1])).toBeCloseTo(3, 9);
  });

  it('property: lambda → 0 on exact linear data recovers the weights and intercept', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.double({ min: -10, max: 10, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (d, wAll, b, seed) => {
          const w = wAll.slice(0, d);
          const rnd = lcg(seed);
          const n = 10 * d + 10;
          const x = Array.from({ length: n }, () => Array.from({ length: d }, () => rnd() * 4));
          const y = x.map((r) => b + r.reduce((s, v, j) => s + v * w[j], 0));
          const m = fitRidge(x, y, 1e-12);
          for (let j = 0; j < d; j++) expect(m.weights[j]).toBeCloseTo(w[j], 6);
          expect(m.intercept).toBeCloseTo(b, 6);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('property: through standardization, the fit maps back to the original weights', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const rnd = lcg(seed);
        const w = [3, -0.002, 150];
        const x = Array.from({ length: 80 }, () => [rnd() * 10, rnd() * 5000 + 60000, rnd() * 0.01]);
        const y = x.map((r) => 0.5 + r[0] * w[0] + r[1] * w[1] + r[2] * w[2]);
        const s = fitStandardization(x);
        const m = fitRidge(x.map((r) => standardize(s, r)), y, 1e-12);
        for (let j = 0; j < 3; j++) expect(m.weights[j] / s.std[j]).toBeCloseTo(w[j], 5);
      }),
      { numRuns: 30 },
    );
  });
});

describe('softmax regression', () => {
  it('probabilities sum to 1 and survive huge scores', () => {
    const p = softmaxProbabilities({ intercepts: [1000, 0, -1000], weights: [[0], [0], [0]] }, [0]);
    expect(p[0]).toBeCloseTo(1, 12);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('known solution without features: the intercepts reproduce the class frequencies', () => {
    // 2 down, 3 flat, 5 up and a feature that is always 0: the fitted probabilities are the frequencies.
    const y = [0, 0, 1, 1, 1, 2, 2, 2, 2, 2];
    const fit = fitSoftmax(y.map(() => [0]), y, 3, 1e-3);
    expect(fit.converged).toBe(true);
    const p = softmaxProbabilities(fit, [0]);
    expect(p[0]).toBeCloseTo(0.2, 4);
    expect(p[1]).toBeCloseTo(0.3, 4);
    expect(p[2]).toBeCloseTo(0.5, 4);
  });

  it('the gradient is zero at the fit (checked by finite differences of the loss)', () => {
    const rnd = lcg(7);
    const x = Array.from({ length: 200 }, () => [rnd() * 2, rnd() * 2]);
    const y = x.map((r) => (r[0] + 0.5 * rnd() > 0.3 ? 2 : r[0] + 0.5 * rnd() < -0.3 ? 0 : 1));
    const lambda = 0.05;
    const fit = fitSoftmax(x, y, 3, lambda);
    expect(fit.converged).toBe(true);
    const loss = (w0: number): number => {
      const m = { intercepts: fit.intercepts, weights: fit.weights.map((w, c) => (c === 2 ? [w0, w[1]] : w)) };
      let l = 0;
      for (let i = 0; i < x.length; i++) l -= Math.log(softmaxProbabilities(m, x[i])[y[i]]);
      return l / x.length + lambda * m.weights.reduce((s, w) => s + w[0] ** 2 + w[1] ** 2, 0);
    };
    const h = 1e-5;
    const w0 = fit.weights[2][0];
    expect(Math.abs((loss(w0 + h) - loss(w0 - h)) / (2 * h))).toBeLessThan(1e-6);
    // And the model learned the sign: a large first feature means up.
    expect(softmaxProbabilities(fit, [1, 0])[2]).toBeGreaterThan(0.5);
  });

  it('a class that never occurs gets a finite, small probability', () => {
    const y = [0, 2, 0, 2, 0, 2];
    const x = [[-1], [1], [-2], [2], [-1.5], [1.5]];
    const fit = fitSoftmax(x, y, 3, 0.01);
    const p = softmaxProbabilities(fit, [0]);
    expect(p.every((v) => Number.isFinite(v))).toBe(true);
    expect(p[1]).toBeLessThan(0.05);
  });
});
