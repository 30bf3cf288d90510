/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, 2015): the delay is uniform in
 * [0, min(cap, base * 2^attempt)). Full jitter spreads retries of many clients that failed together,
 * which is what matters for Kinesis throttling and for venue reconnect storms.
 */
export function fullJitterBackoff(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  if (!Number.isFinite(attempt) || attempt < 0) throw new RangeError(`backoff attempt must be >= 0, got ${attempt}`);
  if (!(baseMs >= 0) || !(capMs >= 0)) throw new RangeError(`backoff base/cap must be >= 0, got ${baseMs}/${capMs}`);
  // 2^attempt overflows to Infinity for large attempts; min() with the cap keeps the result finite.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 1023));
  const r = random();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.floor(unit * ceiling);
}

/** The same ceiling without jitter: the longest delay `fullJitterBackoff` can return for `attempt`. */
export function backoffCeiling(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 1023));
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** A promise that resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
