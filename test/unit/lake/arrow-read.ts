import { readParquet, wasmMemory } from 'parquet-wasm/node';

/**
 * Reads a Parquet file with arrow-rs (parquet-wasm) — an independent reader, not the writer's own —
 * and copies the columns out of wasm memory through the Arrow C Data Interface (wasm32 struct layout).
 */

export type ArrowValue = bigint | number | string | boolean | null;

export interface ArrowColumn {
  /** Arrow C format string: 'l' int64, 'i' int32, 'u' utf8, 'b' boolean, … */
  format: string;
  values: ArrowValue[];
}

export interface ArrowTable {
  numRows: number;
  columns: Record<string, ArrowColumn>;
  names: string[];
}

function cString(mem: DataView, ptr: number): string {
  if (ptr === 0) return '';
  let end = ptr;
  while (mem.getUint8(end) !== 0) end++;
  return new TextDecoder().decode(new Uint8Array(mem.buffer, ptr, end - ptr));
}

interface SchemaNode {
  format: string;
  name: string;
  children: SchemaNode[];
}

function readSchema(mem: DataView, ptr: number): SchemaNode {
  const format = cString(mem, mem.getUint32(ptr, true));
  const name = cString(mem, mem.getUint32(ptr + 4, true));
  const n = Number(mem.getBigInt64(ptr + 24, true));
  const childrenPtr = mem.getUint32(ptr + 32, true);
  const children: SchemaNode[] = [];
  for (let i = 0; i < n; i++) children.push(readSchema(mem, mem.getUint32(childrenPtr + 4 * i, true)));
  return { format, name, children };
}

interface ArrayNode {
  length: number;
  nullCount: number;
  offset: number;
  buffers: number[];
  children: number[];
}

function readArray(mem: DataView, ptr: number): ArrayNode {
  const length = Number(mem.getBigInt64(ptr, true));
  const nullCount = Number(mem.getBigInt64(ptr + 8, true));
  const offset = Number(mem.getBigInt64(ptr + 16, true));
  const nBuffers = Number(mem.getBigInt64(ptr + 24, true));
  const nChildren = Number(mem.getBigInt64(ptr + 32, true));
  const bufPtr = mem.getUint32(ptr + 40, true);
  const childPtr = mem.getUint32(ptr + 44, true);
  const buffers: number[] = [];
  for (let i = 0; i < nBuffers; i++) buffers.push(mem.getUint32(bufPtr + 4 * i, true));
  const children: number[] = [];
  for (let i = 0; i < nChildren; i++) children.push(mem.getUint32(childPtr + 4 * i, true));
  return { length, nullCount, offset, buffers, children };
}

function bit(mem: DataView, base: number, i: number): boolean {
  return ((mem.getUint8(base + (i >> 3)) >> (i & 7)) & 1) === 1;
}

function decodeColumn(mem: DataView, format: string, a: ArrayNode): ArrowValue[] {
  const out: ArrowValue[] = [];
  const validity = a.buffers[0];
  for (let r = 0; r < a.length; r++) {
    const i = a.offset + r;
    if (a.nullCount > 0 && validity !== 0 && !bit(mem, validity, i)) {
      out.push(null);
      continue;
    }
    if (format === 'l' || format.startsWith('ts')) out.push(mem.getBigInt64(a.buffers[1] + 8 * i, true));
    else if (format === 'i') out.push(mem.getInt32(a.buffers[1] + 4 * i, true));
    else if (format === 'b') out.push(bit(mem, a.buffers[1], i));
    else if (format === 'u' || format === 'U') {
      const wide = format === 'U';
      const start = wide ? Number(mem.getBigInt64(a.buffers[1] + 8 * i, true)) : mem.getInt32(a.buffers[1] + 4 * i, true);
      const end = wide ? Number(mem.getBigInt64(a.buffers[1] + 8 * (i + 1), true)) : mem.getInt32(a.buffers[1] + 4 * (i + 1), true);
      out.push(new TextDecoder().decode(new Uint8Array(mem.buffer, a.buffers[2] + start, end - start)));
    } else throw new Error(`arrow format ${format} not handled by the test reader`);
  }
  return out;
}

export function readParquetWithArrow(bytes: Uint8Array): ArrowTable {
  const table = readParquet(bytes);
  const stream = table.intoFFI();
  try {
    const mem = new DataView(wasmMemory().buffer);
    const schema = readSchema(mem, stream.schemaAddr());
    const names = schema.children.map((c) => c.name);
    const columns: Record<string, ArrowColumn> = {};
    for (const c of schema.children) columns[c.name] = { format: c.format, values: [] };
    let numRows = 0;
    for (let b = 0; b < stream.numArrays(); b++) {
      const batch = readArray(mem, stream.arrayAddr(b));
      numRows += batch.length;
      schema.children.forEach((field, i) => {
        columns[field.name].values.push(...decodeColumn(mem, field.format, readArray(mem, batch.children[i])));
      });
    }
    return { numRows, columns, names };
  } finally {
    stream.free();
  }
}
