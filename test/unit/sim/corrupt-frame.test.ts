import { describe, expect, it } from 'vitest';
import { corruptFrame } from '../../../src/sim/faults.js';

describe('corruptFrame', () => {
  // Frames are views into a shared slab and are sent to every subscriber: corrupting one connection's copy
  // must never touch the bytes the others get.
  const slab = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const frame = slab.subarray(16, 48);
  const before = Buffer.from(slab);

  it('unknown_template: a copy with template 9999 at offset 2 of the frame; the frame and its slab unchanged', () => {
    const bad = corruptFrame(frame, 'unknown_template');
    expect(bad.length).toBe(frame.length);
    expect(bad[2] | (bad[3] << 8)).toBe(9999);
    expect(Buffer.from(bad.subarray(4)).equals(frame.subarray(4))).toBe(true);
    expect(slab.equals(before)).toBe(true);
  });

  it('truncated: a copy of the first half that does not share the frame bytes', () => {
    const bad = corruptFrame(frame, 'truncated');
    expect(Buffer.from(bad).equals(frame.subarray(0, 16))).toBe(true);
    bad[0] = 0xff;
    expect(slab.equals(before)).toBe(true);
  });
});
