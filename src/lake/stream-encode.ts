import type { ColumnSource } from 'hyparquet-writer';
import { EmptyDatasetError, STREAM_DATASETS, writeParquetGroups, type LakeColumn, type StreamDatasetName, type StreamRow } from './datasets.js';
import { columnsOf, StreamRowError, type ColumnData, type StreamColumns } from './stream-columns.js';

/** Whole-stream datasets into Parquet (pure): columns in, file bytes out. */

function source(c: LakeColumn, d: ColumnData | undefined, length: number, from: number, to: number): ColumnSource {
  const { name, nullable } = c;
  const wrong = (): never => {
    throw new StreamRowError(`column ${name}: ${d?.kind ?? 'missing'} data cannot be written as ${c.type}`);
  };
  if (d === undefined || (d.kind === 'bytes' ? d.lens.length : d.values.length) !== length) return wrong();
  switch (c.type) {
    case 'INT64': {
      if (d.kind !== 'num') return wrong();
      const v = d.values.subarray(from, to);
      if (!nullable) {
        const data = new BigInt64Array(v.length);
        for (let i = 0; i < v.length; i++) data[i] = BigInt(v[i]);
        return { name, type: 'INT64', nullable, data };
      }
      return { name, type: 'INT64', nullable, data: Array.from(v, (x) => (Number.isNaN(x) ? null : BigInt(x))) };
    }
    case 'INT32': {
      if (d.kind !== 'num') return wrong();
      const v = d.values.subarray(from, to);
      return { name, type: 'INT32', nullable, data: nullable ? Array.from(v, (x) => (Number.isNaN(x) ? null : x)) : Int32Array.from(v) };
    }
    case 'STRING':
      if (d.kind !== 'text') return wrong();
      return { name, type: 'STRING', nullable, data: d.values.slice(from, to) };
    case 'JSON':
      // Held as their text while buffered (one string instead of a tree of small arrays); parsed a group at a time.
      if (d.kind !== 'text') return wrong();
      return { name, type: 'JSON', nullable, data: d.values.slice(from, to).map((t) => (t === null ? null : (JSON.parse(t) as unknown))) };
    case 'BOOLEAN':
      if (d.kind !== 'bool') return wrong();
      return { name, type: 'BOOLEAN', nullable, data: Array.from(d.values.subarray(from, to), (x) => (x === 2 ? null : x === 1)) };
    case 'BYTE_ARRAY': {
      if (d.kind !== 'bytes') return wrong();
      const out: Array<Uint8Array | null> = [];
      for (let i = from; i < to; i++) out.push(d.lens[i] < 0 ? null : d.data.subarray(d.starts[i], d.starts[i] + d.lens[i]));
      return { name, type: 'BYTE_ARRAY', nullable, data: out };
    }
  }
}

/** Rows per row group: level lists are parsed back into arrays for the writer, ~3 KB per 20-level diff. */
const ROWS_PER_GROUP = 100_000;
const ROWS_PER_GROUP_WITH_LEVELS = 10_000;

/** One Parquet file of a run of rows (in their order). Throws EmptyDatasetError for no rows. */
export function encodeStreamColumns(cols: StreamColumns): Uint8Array {
  if (cols.length === 0) throw new EmptyDatasetError(cols.dataset);
  const def = STREAM_DATASETS[cols.dataset];
  const group = def.columns.some((c) => c.type === 'JSON') ? ROWS_PER_GROUP_WITH_LEVELS : ROWS_PER_GROUP;
  return writeParquetGroups(cols.dataset, cols.length, group, (from, to) => def.columns.map((c) => source(c, cols.columns[c.name], cols.length, from, to)));
}

/** One Parquet file of `rows`. Throws EmptyDatasetError for no rows, StreamRowError naming the first bad cell. */
export function encodeStreamRows(dataset: StreamDatasetName, rows: readonly StreamRow[]): Uint8Array {
  return encodeStreamColumns(columnsOf(dataset, rows));
}
