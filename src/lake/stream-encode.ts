import type { ColumnSource } from 'hyparquet-writer';
import { EmptyDatasetError, STREAM_DATASETS, writeParquet, type LakeColumn, type StreamDatasetName, type StreamRow } from './datasets.js';
import { columnsOf, StreamRowError, type ColumnData, type StreamColumns } from './stream-columns.js';

/** Whole-stream datasets into Parquet (pure): columns in, file bytes out. */

function source(c: LakeColumn, d: ColumnData | undefined, length: number): ColumnSource {
  const { name, nullable } = c;
  const wrong = (): never => {
    throw new StreamRowError(`column ${name}: ${d?.kind ?? 'missing'} data cannot be written as ${c.type}`);
  };
  if (d === undefined || (d.kind === 'bytes' ? d.lens.length : d.values.length) !== length) return wrong();
  switch (c.type) {
    case 'INT64': {
      if (d.kind !== 'num') return wrong();
      if (!nullable) {
        const data = new BigInt64Array(length);
        for (let i = 0; i < length; i++) data[i] = BigInt(d.values[i]);
        return { name, type: 'INT64', nullable, data };
      }
      return { name, type: 'INT64', nullable, data: Array.from(d.values, (v) => (Number.isNaN(v) ? null : BigInt(v))) };
    }
    case 'INT32':
      if (d.kind !== 'num') return wrong();
      return { name, type: 'INT32', nullable, data: nullable ? Array.from(d.values, (v) => (Number.isNaN(v) ? null : v)) : Int32Array.from(d.values) };
    case 'STRING':
      if (d.kind !== 'text') return wrong();
      return { name, type: 'STRING', nullable, data: d.values };
    case 'JSON':
      // Held as their text while buffered (one string instead of a tree of small arrays).
      if (d.kind !== 'text') return wrong();
      return { name, type: 'JSON', nullable, data: d.values.map((t) => (t === null ? null : (JSON.parse(t) as unknown))) };
    case 'BOOLEAN':
      if (d.kind !== 'bool') return wrong();
      return { name, type: 'BOOLEAN', nullable, data: Array.from(d.values, (v) => (v === 2 ? null : v === 1)) };
    case 'BYTE_ARRAY':
      if (d.kind !== 'bytes') return wrong();
      return { name, type: 'BYTE_ARRAY', nullable, data: Array.from(d.lens, (n, i) => (n < 0 ? null : d.data.subarray(d.starts[i], d.starts[i] + n))) };
  }
}

/** One Parquet file of a run of rows (in their order). Throws EmptyDatasetError for no rows. */
export function encodeStreamColumns(cols: StreamColumns): Uint8Array {
  if (cols.length === 0) throw new EmptyDatasetError(cols.dataset);
  const def = STREAM_DATASETS[cols.dataset];
  return writeParquet(cols.dataset, def.columns.map((c) => source(c, cols.columns[c.name], cols.length)));
}

/** One Parquet file of `rows`. Throws EmptyDatasetError for no rows, StreamRowError naming the first bad cell. */
export function encodeStreamRows(dataset: StreamDatasetName, rows: readonly StreamRow[]): Uint8Array {
  if (rows.length === 0) throw new EmptyDatasetError(dataset);
  return encodeStreamColumns(columnsOf(dataset, rows));
}
