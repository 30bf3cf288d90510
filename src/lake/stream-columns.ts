import { STREAM_DATASETS, type LakeColumn, type StreamDatasetDef, type StreamDatasetName, type StreamRow } from './datasets.js';

/**
 * Rows of a whole-stream dataset held column by column (pure). The archiver buffers up to a flush interval of
 * the whole stream: as row objects that cost ~1.1 KB of heap per trade and ~3.4 KB per 20-level diff, ten
 * symbols held 400–800 MB. Here numbers sit in typed arrays, SBE bytes in one arena, level lists as their JSON
 * text, and strings the decoder made (or shares, like the symbol and the Kinesis sequence number) are
 * referenced, not copied. The same plain data crosses to the Parquet worker by a cheap clone.
 */

export type ColumnData =
  /** INT64 and INT32 (safe integers, exact in a double); NaN is null. */
  | { kind: 'num'; values: Float64Array }
  /** 0 false, 1 true, 2 null. */
  | { kind: 'bool'; values: Uint8Array }
  /** STRING, and JSON as its text. */
  | { kind: 'text'; values: Array<string | null> }
  /** BYTE_ARRAY: row i is data[starts[i], starts[i] + lens[i]); a length of -1 is null. */
  | { kind: 'bytes'; data: Uint8Array; starts: Int32Array; lens: Int32Array };

/** A run of rows of one dataset, as plain data (it crosses a worker_threads boundary). */
export interface StreamColumns {
  dataset: StreamDatasetName;
  length: number;
  columns: Record<string, ColumnData>;
}

export class StreamRowError extends Error {
  override readonly name = 'StreamRowError';
}

/** V8's heap cost of a one-byte string: a 16-byte header, then its characters, in 8-byte words. */
const stringBytes = (s: string): number => 16 + Math.ceil(s.length / 8) * 8;
const INITIAL_CAPACITY = 64;

type Slot =
  | { c: LakeColumn; kind: 'num'; values: Float64Array }
  | { c: LakeColumn; kind: 'bool'; values: Uint8Array }
  | { c: LakeColumn; kind: 'text'; values: Array<string | null> }
  | { c: LakeColumn; kind: 'bytes'; data: Uint8Array; used: number; starts: Int32Array; lens: Int32Array };

function emptySlot(c: LakeColumn, capacity: number): Slot {
  switch (c.type) {
    case 'INT64':
    case 'INT32':
      return { c, kind: 'num', values: new Float64Array(capacity) };
    case 'BOOLEAN':
      return { c, kind: 'bool', values: new Uint8Array(capacity) };
    case 'STRING':
    case 'JSON':
      return { c, kind: 'text', values: [] };
    case 'BYTE_ARRAY':
      return { c, kind: 'bytes', data: new Uint8Array(capacity * 64), used: 0, starts: new Int32Array(capacity), lens: new Int32Array(capacity) };
  }
}

function grown<T extends Float64Array | Uint8Array | Int32Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/**
 * A growing, column-major buffer of one dataset's rows, with each row's ordering id and partition time. Every
 * cell is checked as it is pushed, so a bad row is refused on its own and never blocks a later flush.
 */
export class StreamColumnBuffer {
  readonly def: StreamDatasetDef;
  private slots: Slot[];
  private ids: Float64Array;
  private times: Float64Array;
  private n = 0;
  private capacity: number;
  /** Heap held by the strings this buffer references first (a string equal to the row above's is shared). */
  private textBytes = 0;

  constructor(
    readonly dataset: StreamDatasetName,
    capacity = INITIAL_CAPACITY,
  ) {
    this.def = STREAM_DATASETS[dataset];
    this.capacity = Math.max(1, capacity);
    this.slots = this.def.columns.map((c) => emptySlot(c, this.capacity));
    this.ids = new Float64Array(this.capacity);
    this.times = new Float64Array(this.capacity);
  }

  get length(): number {
    return this.n;
  }

  /** The ordering id of row i (the dataset's id column, as the pusher gave it). */
  id(i: number): number {
    return this.ids[i];
  }

  /** The partition time of row i, ms. */
  tsMs(i: number): number {
    return this.times[i];
  }

  /** What the buffer holds, bytes: its arrays at their capacity, the SBE arena and the strings it references. */
  get bytes(): number {
    let b = this.capacity * 16;
    for (const s of this.slots) {
      if (s.kind === 'num') b += s.values.byteLength;
      else if (s.kind === 'bool') b += s.values.byteLength;
      else if (s.kind === 'text') b += this.capacity * 8;
      else b += s.data.byteLength + s.starts.byteLength + s.lens.byteLength;
    }
    return b + this.textBytes;
  }

  /** Append one row; throws StreamRowError (and appends nothing) when a cell does not fit its column. */
  push(row: StreamRow, id = 0, tsMs = 0): void {
    const i = this.n;
    const cells = this.slots.map((s) => this.check(s, row, i));
    if (i === this.capacity) this.grow(this.capacity * 2);
    this.slots.forEach((s, k) => this.put(s, i, cells[k]));
    this.ids[i] = id;
    this.times[i] = tsMs;
    this.n = i + 1;
  }

  /** Rows [from, to) as plain data (copies: the buffer may be changed or dropped after). */
  slice(from = 0, to = this.n): StreamColumns {
    const columns: Record<string, ColumnData> = {};
    for (const s of this.slots) {
      if (s.kind === 'num') columns[s.c.name] = { kind: 'num', values: s.values.slice(from, to) };
      else if (s.kind === 'bool') columns[s.c.name] = { kind: 'bool', values: s.values.slice(from, to) };
      else if (s.kind === 'text') columns[s.c.name] = { kind: 'text', values: s.values.slice(from, to) };
      else {
        const a = from < to ? s.starts[from] : 0;
        const b = from < to ? s.starts[to - 1] + Math.max(0, s.lens[to - 1]) : 0;
        const starts = s.starts.subarray(from, to).map((x) => x - a);
        columns[s.c.name] = { kind: 'bytes', data: s.data.slice(a, b), starts, lens: s.lens.slice(from, to) };
      }
    }
    return { dataset: this.dataset, length: Math.max(0, to - from), columns };
  }

  /** Take back the last `count` rows pushed (a duplicate seen after its row was checked). */
  dropBack(count: number): void {
    const k = Math.min(Math.max(0, count), this.n);
    for (let i = this.n - k; i < this.n; i++) {
      for (const s of this.slots) {
        if (s.kind === 'text') this.textBytes -= this.ownText(s.values, i);
        else if (s.kind === 'bytes' && s.lens[i] > 0) s.used = Math.min(s.used, s.starts[i]);
      }
    }
    for (const s of this.slots) if (s.kind === 'text') s.values.length = this.n - k;
    this.n -= k;
  }

  /** Forget the first `count` rows (written to the lake). */
  dropFront(count: number): void {
    const k = Math.min(Math.max(0, count), this.n);
    if (k === 0) return;
    const left = this.n - k;
    for (const s of this.slots) {
      if (s.kind === 'num' || s.kind === 'bool') s.values.copyWithin(0, k, this.n);
      else if (s.kind === 'text') s.values.splice(0, k);
      else {
        const shift = left > 0 ? s.starts[k] : s.used;
        s.data.copyWithin(0, shift, s.used);
        s.used -= shift;
        s.starts.copyWithin(0, k, this.n);
        s.lens.copyWithin(0, k, this.n);
        for (let i = 0; i < left; i++) s.starts[i] -= shift;
      }
    }
    this.ids.copyWithin(0, k, this.n);
    this.times.copyWithin(0, k, this.n);
    this.n = left;
    this.textBytes = 0;
    for (const s of this.slots) if (s.kind === 'text') for (let i = 0; i < left; i++) this.textBytes += this.ownText(s.values, i);
  }

  private ownText(values: ReadonlyArray<string | null>, i: number): number {
    const v = values[i];
    return v !== null && (i === 0 || values[i - 1] !== v) ? stringBytes(v) : 0;
  }

  private check(s: Slot, row: StreamRow, i: number): unknown {
    const c = s.c;
    const v = row[c.name];
    const bad = (): never => {
      throw new StreamRowError(`${this.def.name}.${c.name} row ${i}: ${JSON.stringify(v)?.slice(0, 60)} is not a ${c.nullable ? 'nullable ' : ''}${c.type}`);
    };
    if (v === undefined || v === null) return c.nullable ? null : bad();
    switch (c.type) {
      case 'INT64':
        return typeof v === 'number' && Number.isSafeInteger(v) ? v : bad();
      case 'INT32':
        return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? v : bad();
      case 'STRING':
        return typeof v === 'string' ? v : bad();
      case 'BOOLEAN':
        return typeof v === 'boolean' ? v : bad();
      case 'JSON':
        return Array.isArray(v) ? JSON.stringify(v) : bad();
      case 'BYTE_ARRAY':
        return v instanceof Uint8Array ? v : bad();
    }
  }

  private put(s: Slot, i: number, v: unknown): void {
    if (s.kind === 'num') s.values[i] = v === null ? NaN : (v as number);
    else if (s.kind === 'bool') s.values[i] = v === null ? 2 : v ? 1 : 0;
    else if (s.kind === 'text') {
      s.values[i] = v as string | null;
      this.textBytes += this.ownText(s.values, i);
    } else if (v === null) {
      s.starts[i] = s.used;
      s.lens[i] = -1;
    } else {
      const b = v as Uint8Array;
      if (s.used + b.byteLength > s.data.byteLength) s.data = grown(s.data, Math.max(s.data.byteLength * 2, s.used + b.byteLength));
      s.data.set(b, s.used);
      s.starts[i] = s.used;
      s.lens[i] = b.byteLength;
      s.used += b.byteLength;
    }
  }

  private grow(capacity: number): void {
    for (const s of this.slots) {
      if (s.kind === 'num') s.values = grown(s.values, capacity);
      else if (s.kind === 'bool') s.values = grown(s.values, capacity);
      else if (s.kind === 'bytes') {
        s.starts = grown(s.starts, capacity);
        s.lens = grown(s.lens, capacity);
      }
    }
    this.ids = grown(this.ids, capacity);
    this.times = grown(this.times, capacity);
    this.capacity = capacity;
  }
}

/** Rows of a dataset as columns (each cell checked: StreamRowError names the first bad one). */
export function columnsOf(dataset: StreamDatasetName, rows: readonly StreamRow[]): StreamColumns {
  const b = new StreamColumnBuffer(dataset, rows.length);
  for (const r of rows) b.push(r);
  return b.slice();
}
