/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2) for a batch of binary messages: each message one
 * unmasked, unfragmented, uncompressed binary frame (FIN + opcode 2), all in one buffer, so a market tick
 * goes to a socket as one write of one buffer. The bytes are those the `ws` library's sender writes for
 * `send(data, { binary: true })` on a connection without permessage-deflate (a unit test compares them).
 */

const FIN_BINARY = 0x82;

/** Header bytes of an unmasked frame carrying `n` payload bytes. */
export function frameHeaderBytes(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** The frames of `messages`, in order, in one buffer. */
export function binaryFrames(messages: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const m of messages) total += frameHeaderBytes(m.length) + m.length;
  const out = Buffer.allocUnsafe(total);
  let p = 0;
  for (const m of messages) {
    const n = m.length;
    out[p] = FIN_BINARY;
    if (n < 126) {
      out[p + 1] = n;
      p += 2;
    } else if (n < 65536) {
      out[p + 1] = 126;
      out.writeUInt16BE(n, p + 2);
      p += 4;
    } else {
      out[p + 1] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), p + 2);
      out.writeUInt32BE(n >>> 0, p + 6);
      p += 10;
    }
    out.set(m, p);
    p += n;
  }
  return out;
}
