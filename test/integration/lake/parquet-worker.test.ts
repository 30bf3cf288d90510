import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepthResponse, RestAggTrade, RestKline } from '../../../src/binance/rest-types.js';
import { EmptyDatasetError, encodeAggTrades, encodeDepthSnapshot, encodeKlines } from '../../../src/lake/datasets.js';
import { parquetMetadata } from 'hyparquet';
import { ParquetWorkerEncoder } from '../../../src/lake/parquet-encoder.js';
import { StreamColumnBuffer } from '../../../src/lake/stream-columns.js';

// The worker runs compiled JavaScript (dist/), as in the service; `npm test` builds first, a lone run builds here.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const workerFile = `${root}dist/lake/parquet-worker.js`;

const trades: RestAggTrade[] = Array.from({ length: 500 }, (_, i) => ({
  a: 1_000 + i,
  p: (98_000 + (i % 37) * 0.01).toFixed(2),
  q: `0.${String(100 + i).padStart(8, '0')}`,
  f: 5_000 + 2 * i,
  l: 5_001 + 2 * i,
  T: 1_763_700_000_000 + i,
  m: i % 2 === 0,
  M: true,
}));
const klines: RestKline[] = Array.from({ length: 30 }, (_, i) => [
  1_763_700_000_000 + i * 60_000, '98000.01', '98010.00', '97990.00', '98005.50', '12.34500000',
  1_763_700_059_999 + i * 60_000, '1209876.12', 321 + i, '6.1', '600000.5', '0',
]);
const depth: DepthResponse = {
  lastUpdateId: 77_000_000_123,
  bids: Array.from({ length: 5_000 }, (_, i) => [(98_000 - i * 0.01).toFixed(2), '0.50000000']),
  asks: Array.from({ length: 5_000 }, (_, i) => [(98_000.01 + i * 0.01).toFixed(2), '0.25000000']),
};

describe('ParquetWorkerEncoder (worker thread)', () => {
  let enc: ParquetWorkerEncoder;
  beforeAll(() => {
    if (!existsSync(workerFile)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
    enc = new ParquetWorkerEncoder(workerFile);
  }, 120_000);
  afterAll(async () => {
    await enc.close();
  });

  it('produces the same bytes as encoding inline, for every dataset, with jobs in flight together', async () => {
    const [a, k, d] = await Promise.all([enc.aggTrades('BTCUSDT', trades), enc.klines('BTCUSDT', klines), enc.depthSnapshot('BTCUSDT', depth, 1_763_700_000_000)]);
    expect(Buffer.from(a).equals(Buffer.from(encodeAggTrades('BTCUSDT', trades)))).toBe(true);
    expect(Buffer.from(k).equals(Buffer.from(encodeKlines('BTCUSDT', klines)))).toBe(true);
    expect(Buffer.from(d).equals(Buffer.from(encodeDepthSnapshot('BTCUSDT', depth, 1_763_700_000_000)))).toBe(true);
  });

  it('reports an empty dataset as EmptyDatasetError and keeps working', async () => {
    await expect(enc.aggTrades('BTCUSDT', [])).rejects.toBeInstanceOf(EmptyDatasetError);
    const k = await enc.klines('BTCUSDT', klines.slice(0, 1));
    expect(k.byteLength).toBeGreaterThan(0);
  });

  it('encodes 100,000 twenty-level depth diffs within a 160 MiB worker heap (levels parsed one row group at a time)', async () => {
    const buf = new StreamColumnBuffer('depth_diffs', 100_000);
    const lv = (k: number, i: number): [string, string] => [(98_000 + ((k + i) % 3000) / 100).toFixed(2), `0.${String((k * 31 + i) % 99_999).padStart(5, '0')}`];
    for (let k = 0; k < 100_000; k++) {
      buf.push(
        { symbol: 'BTCUSDT', event_ts_us: 1_763_700_000_000_000 + k * 20_000, first_update_id: 5 * k, final_update_id: 5 * k + 4, bids: Array.from({ length: 10 }, (_, i) => lv(k, -i)), asks: Array.from({ length: 10 }, (_, i) => lv(k, i + 1)), recv_ts_us: null, source: 'sbe', arrival_ms: null, kinesis_shard: null, kinesis_seq: null, kinesis_sub_seq: null, sbe: null },
        5 * k + 4,
        0,
      );
    }
    const small = new ParquetWorkerEncoder(workerFile, 160);
    try {
      const file = await small.streamColumns(buf.slice());
      const meta = parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
      expect(Number(meta.num_rows)).toBe(100_000);
      expect(meta.row_groups.length).toBe(10);
    } finally {
      await small.close();
    }
  }, 120_000);

  it('refuses work once closed', async () => {
    const other = new ParquetWorkerEncoder(workerFile);
    await other.klines('BTCUSDT', klines);
    await other.close();
    await expect(other.klines('BTCUSDT', klines)).rejects.toThrow(/closed/);
  });
});
