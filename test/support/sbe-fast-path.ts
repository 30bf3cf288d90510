import fc from 'fast-check';
import { expect } from 'vitest';
import { toMarketEvent, type CoreEvent } from '../../src/core/fixed-events.js';
import { decodeFrame, decodeFrameCore } from '../../src/binance/sbe-decode.js';

/**
 * What the properties of the SBE fast paths share: int64 words around the seams (±2^53, 2^32, the int64 ends),
 * symbols that differ only at the end or are not ASCII, and the comparison with the flyweight decoder.
 */
const EDGE = fc.constantFrom(
  2n ** 53n - 1n,
  2n ** 53n,
  -(2n ** 53n) + 1n,
  -(2n ** 53n),
  2n ** 53n - 2n ** 32n,
  -(2n ** 53n) + 2n ** 32n - 1n,
  -(2n ** 53n) + 2n ** 32n,
  2n ** 32n - 1n,
  2n ** 32n,
  -1n,
  0n,
  2n ** 63n - 1n,
  -(2n ** 63n),
);
export const INT64 = fc.oneof(EDGE, fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 15n }));
export const SYMBOL = fc.constantFrom('BTCUSDT', 'BTCUSDC', 'ETHUSDT', 'X', 'ÉTHUSD');
/** Where a message's root block starts (after the message header). */
export const ROOT = 8;

function outcome<T>(fn: () => T): T | Error {
  try {
    return fn();
  } catch (err) {
    return err as Error;
  }
}

/**
 * decodeFrameCore(frame) must give what decodeFrame(frame) gives: the same error (message and class), or
 * events that print the same. Returns the core events, or undefined when both refused the frame.
 */
export function sameAsDecodeFrame(frame: Uint8Array, recv: number | undefined): CoreEvent[] | undefined {
  const want = outcome(() => decodeFrame(frame, recv));
  const got = outcome(() => decodeFrameCore(frame, recv));
  if (want instanceof Error) {
    expect(got).toEqual(want);
    expect((got as Error).constructor).toBe(want.constructor);
    return undefined;
  }
  expect(got).not.toBeInstanceOf(Error);
  const events = got as CoreEvent[];
  expect(events.map(toMarketEvent)).toEqual(want);
  return events;
}
