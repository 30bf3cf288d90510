/**
 * The little dense linear algebra the baseline models need: a symmetric positive-definite solve by Cholesky.
 * Matrices are row-major number[][]; sizes are tens (features), so clarity wins over blocking or SIMD.
 */

export class LinalgError extends Error {
  override readonly name = 'LinalgError';
}

/**
 * Lower-triangular L with A = L·Lᵀ. Throws LinalgError when A is not (numerically) positive definite —
 * the callers always add a ridge term, so that means a bug or non-finite input, never a data accident.
 */
export function cholesky(a: readonly (readonly number[])[]): number[][] {
  const n = a.length;
  const l: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    if (a[i].length !== n) throw new LinalgError(`matrix is not square: row ${i} has ${a[i].length} columns, expected ${n}`);
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) throw new LinalgError(`matrix is not positive definite (pivot ${i} = ${s})`);
        l[i][i] = Math.sqrt(s);
      } else {
        l[i][j] = s / l[j][j];
      }
    }
  }
  return l;
}

/** x with A·x = b for symmetric positive-definite A. */
export function solveSpd(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = a.length;
  if (b.length !== n) throw new LinalgError(`right-hand side has ${b.length} entries, matrix is ${n}×${n}`);
  const l = cholesky(a);
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
