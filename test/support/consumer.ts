/** Helpers the KinesisStreamConsumer unit tests share. */

/** Wait for `cond` to hold, polling every 5 ms; throws 'timeout' past the deadline. */
export async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Consumer options that poll and back off in milliseconds, with the jitter fixed. */
export const fast = { pollIntervalMs: 5, backoff: { baseMs: 1, capMs: 5 }, random: (): number => 0.5 };
