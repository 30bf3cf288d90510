import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { binaryFrames, frameHeaderBytes } from '../../../src/sim/ws-frames.js';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
/** The ws library's own framing (untyped in @types/ws). */
const { Sender } = createRequire(import.meta.url)('ws') as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

/** What the ws library writes for send(data, { binary: true }) on a server connection without compression. */
function wsFrames(messages: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    parts.push(...Sender.frame(Buffer.from(m), { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }));
  }
  return Buffer.concat(parts);
}

const sizes = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 65_530, max: 65_541 }), fc.constantFrom(125, 126, 127, 65_535, 65_536, 70_000));
// Content varies with a seed byte (generating 64 KiB arrays byte by byte would make the test slow).
const message = fc.tuple(sizes, fc.integer({ min: 0, max: 255 })).map(([n, b]) => Uint8Array.from({ length: n }, (_, i) => (b + i * 31) & 0xff));

describe('binaryFrames (the simulator writes a tick of binary messages as one buffer)', () => {
  it('is byte for byte what the ws library sends for the same messages, at every length boundary', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), (messages) => {
        const framed = binaryFrames(messages);
        expect(framed.equals(wsFrames(messages))).toBe(true);
        expect(framed.length).toBe(messages.reduce((a, m) => a + frameHeaderBytes(m.length) + m.length, 0));
      }),
      { numRuns: 100 },
    );
  });
});
