import { describe, expect, it } from 'vitest';
import { parquetMetadata } from 'hyparquet';
import { BRONZE_PARTITION_KEYS, BRONZE_TABLES, type GlueType } from '../../../deploy/lib/lake-tables.js';
import { encodeAggTrades, encodeDepthSnapshot, encodeKlines, STREAM_DATASETS, type Cell, type StreamDatasetName } from '../../../src/lake/datasets.js';
import { encodeStreamRows } from '../../../src/lake/stream-encode.js';

/** A row with a value of its type in every column (what the values are does not matter here: the schema does). */
function sampleRow(dataset: StreamDatasetName): Record<string, Cell> {
  const row: Record<string, Cell> = {};
  for (const c of STREAM_DATASETS[dataset].columns) {
    const v: Record<typeof c.type, Cell> = { STRING: 'BTCUSDT', JSON: [['1.0', '2.0']], INT64: 1_763_700_000_000_000, INT32: 1, BOOLEAN: true, BYTE_ARRAY: new Uint8Array([1, 2]) };
    row[c.name] = v[c.type];
  }
  return row;
}

/** One file per dataset, written by the lake's own encoders. */
const FILES: Record<string, Uint8Array> = {
  ...Object.fromEntries((Object.keys(STREAM_DATASETS) as StreamDatasetName[]).map((d) => [d, encodeStreamRows(d, [sampleRow(d)])])),
  agg_trades: encodeAggTrades('BTCUSDT', [{ a: 1, p: '97000.10', q: '0.5', f: 10, l: 12, T: 1_763_700_000_000, m: true, M: true }]),
  klines_1m: encodeKlines('BTCUSDT', [
    [1_763_700_000_000, '1.0', '2.0', '0.5', '1.5', '10.0', 1_763_700_059_999, '15.0', 7, '4.0', '6.0', '0'],
  ]),
  depth_snapshots: encodeDepthSnapshot('BTCUSDT', { lastUpdateId: 42, bids: [['1.0', '2.0']], asks: [['1.1', '3.0']] }, 1_763_700_000_000),
};

interface SchemaElement {
  name: string;
  type?: string;
  converted_type?: string;
}

/** The Glue type Athena needs to read a Parquet column of this physical / converted type. */
function glueTypeOf(e: SchemaElement): GlueType {
  if (e.type === 'BYTE_ARRAY' && (e.converted_type === 'UTF8' || e.converted_type === 'JSON')) return 'string';
  if (e.type === 'BYTE_ARRAY' && e.converted_type === undefined) return 'binary';
  if (e.type === 'INT64') return 'bigint';
  if (e.type === 'INT32' && e.converted_type === undefined) return 'int';
  if (e.type === 'BOOLEAN') return 'boolean';
  throw new Error(`no Glue type for ${JSON.stringify(e)}`);
}

function fileColumns(bytes: Uint8Array): Array<{ name: string; type: GlueType }> {
  const md = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return (md.schema as SchemaElement[]).slice(1).map((e) => ({ name: e.name, type: glueTypeOf(e) }));
}

describe('deploy: Glue tables match the bronze Parquet files', () => {
  it('covers every dataset the lake writes', () => {
    expect(BRONZE_TABLES.map((t) => t.dataset).sort()).toEqual(Object.keys(FILES).sort());
  });

  for (const table of BRONZE_TABLES) {
    it(`${table.dataset}: same columns, same order, types Athena can read`, () => {
      const partitions = new Set(BRONZE_PARTITION_KEYS.map((k) => k.name));
      const inFile = fileColumns(FILES[table.dataset]);
      // `symbol` is in every file and is also the first partition key: the table takes it from the path.
      expect(inFile.find((c) => c.name === 'symbol')).toEqual({ name: 'symbol', type: 'string' });
      const expected = inFile.filter((c) => !partitions.has(c.name));
      expect(table.columns.map((c) => ({ name: c.name, type: c.type }))).toEqual(expected);
    });
  }

  it('no table column repeats a partition key (Glue refuses the table)', () => {
    const keys = new Set(BRONZE_PARTITION_KEYS.map((k) => k.name));
    for (const t of BRONZE_TABLES) for (const c of t.columns) expect(keys.has(c.name)).toBe(false);
  });
});
