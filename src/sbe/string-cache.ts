/**
 * Interns short UTF-8 strings read from frames (symbols): a stream repeats a handful of symbols, so
 * comparing ≤ 255 bytes against a few cached entries is cheaper than decoding a new string every message.
 */
import { SbeDecodeError } from './errors.js';
import { decodeUtf8 } from './runtime.js';

interface Entry {
  bytes: Uint8Array;
  text: string;
}

export class Utf8Cache {
  private readonly entries: Entry[] = [];
  private next = 0;

  constructor(private readonly capacity = 16) {}

  /** The string for `length` bytes at `offset`; BAD_SYMBOL when they are empty or not UTF-8. */
  read(b: Uint8Array, offset: number, length: number, field: string): string {
    if (length === 0) throw new SbeDecodeError('BAD_SYMBOL', `${field} is empty`);
    const entries = this.entries;
    for (let e = 0; e < entries.length; e++) {
      const bytes = entries[e].bytes;
      if (bytes.length !== length) continue;
      let i = 0;
      while (i < length && bytes[i] === b[offset + i]) i++;
      if (i === length) return entries[e].text;
    }
    const text = decodeUtf8(b, offset, length, 'BAD_SYMBOL', field);
    const entry = { bytes: b.slice(offset, offset + length), text };
    if (entries.length < this.capacity) entries.push(entry);
    else {
      entries[this.next] = entry;
      this.next = (this.next + 1) % this.capacity;
    }
    return text;
  }
}
