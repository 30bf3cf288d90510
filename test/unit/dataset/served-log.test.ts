import { describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { decodeEntry, encodeEntry, newCut, noteEvent, servedLogKey, ServedLogDecodeError, type ServedEntry } from '../../../src/dataset/served-log.js';
import { decodeServed, encodeServed, newestArchivedId } from '../../../src/dataset/served-archive.js';
import { encodeDataset } from '../../../src/dataset/build.js';
import { datasetColumns, DATASET_FEATURES, type DatasetRow } from '../../../src/dataset/schema.js';
import { partitionHour } from '../../../src/dataset/lake-source.js';
import { parseHorizon, parseIsoTime } from '../../../src/cli/commands/dataset.js';

function entry(): ServedEntry {
  const cut = newCut();
  noteEvent(cut, { type: 'trade', symbol: 'BTCUSDT', source: 'sbe', event_ts: 1_764_000_000_000_001, recv_ts_us: 1_764_000_000_000_900, trade_id: 7, sequence_id: 7, price: '1.5', quantity: '2', is_buyer_maker: false });
  noteEvent(cut, { type: 'depth', symbol: 'BTCUSDT', source: 'sbe', event_ts: 1_764_000_000_000_002, first_update_id: 10, final_update_id: 12, bids: [], asks: [] });
  return {
    kind: 'feat', symbol: 'BTCUSDT', run: 'r1', wall_ms: 1_764_000_000_123, event_ts_us: 1_764_000_000_000_002, cut, book_status: 'live', book_id: 12,
    feat: { mid_price: '97000.005', feature_ts: '1764000000', ret_1s: '-1.2e-7' },
  };
}

describe('served-feature log', () => {
  it('notes the first event and the last of each type', () => {
    const e = entry();
    expect(e.cut).toMatchObject({ n: 2, firstType: 'trade', firstId: 7, tradeId: 7, tradeRecv: 1_764_000_000_000_900, depthU: 12, bbaSeq: -1 });
  });

  it('round-trips through Redis fields and through the lake file', async () => {
    const e = entry();
    const flat = encodeEntry({ ...e });
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
    expect(decodeEntry('BTCUSDT', fields)).toEqual(e);
    const back = await decodeServed(encodeServed([{ ...e, entry_id: '1764000000123-0' }]));
    expect(back).toEqual([{ ...e, entry_id: '1764000000123-0' }]);
  });

  it('refuses a malformed entry with a specific error', () => {
    expect(() => decodeEntry('BTCUSDT', { kind: 'feat', wall_ms: 'x' })).toThrow(ServedLogDecodeError);
    expect(() => decodeEntry('BTCUSDT', { kind: 'nope' })).toThrow(/unknown kind/);
  });

  it('keys, cursor and partitions', () => {
    expect(servedLogKey('BTCUSDT')).toBe('feat:log:BTCUSDT');
    expect(servedLogKey('BTCUSDT', true)).toBe('feat:log:{BTCUSDT}');
    expect(newestArchivedId(['a/features_served_1-0_5-1.parquet', 'b/features_served_6-0_10-0.parquet', 'c/features_served_2-0_9-3.parquet'])).toBe('10-0');
    expect(newestArchivedId([])).toBeUndefined();
    expect(partitionHour('bronze/trades/symbol=X/date=2026-11-30/hour=10/trades_1_2.parquet')).toBe(Date.parse('2026-11-30T10:00:00Z') / 3_600_000);
  });
});

describe('dataset file', () => {
  it('has the schema columns in order, labels nullable', async () => {
    const features = Object.fromEntries(DATASET_FEATURES.map((n, i) => [n, i + 0.5])) as DatasetRow['features'];
    const rows: DatasetRow[] = [
      { symbol: 'BTCUSDT', run_id: 'r', feature_ts: 1, feature_wall_ms: 1000, event_ts_us: 999_000, data_age_ms: 1, completeness: 1, features, label_mid: 2, label_ret: 0.1, label_ts_us: 5 },
      { symbol: 'BTCUSDT', run_id: 'r', feature_ts: 3, feature_wall_ms: 3000, event_ts_us: 2_999_000, data_age_ms: 1, completeness: 1, features, label_mid: null, label_ret: null, label_ts_us: null },
    ];
    const bytes = encodeDataset(rows, { symbol: 'BTCUSDT', fromMs: 0, toMs: 4000, horizonSeconds: 10 });
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const meta = parquetMetadata(file);
    expect(meta.schema.slice(1).map((s) => s.name)).toEqual(datasetColumns(10));
    const back = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
    expect(back[0].label_mid_price_10s).toBe(2);
    expect(back[1].label_ret_10s).toBeNull();
    expect(back[1].vwap_dev_5s).toBe(features.vwap_dev_5s);
  });
});

describe('dataset CLI arguments', () => {
  it('parses horizons and ISO times, refusing anything else', () => {
    expect(parseHorizon('10s')).toBe(10);
    expect(parseHorizon('1m')).toBe(60);
    expect(parseHorizon('30')).toBe(30);
    expect(() => parseHorizon('0s')).toThrow(/positive/);
    expect(() => parseHorizon('ten')).toThrow(/whole seconds/);
    expect(parseIsoTime('--from', '2026-11-30T10:00:00Z')).toBe(Date.parse('2026-11-30T10:00:00Z'));
    expect(parseIsoTime('--from', '2026-11-30')).toBe(Date.parse('2026-11-30T00:00:00Z'));
    expect(() => parseIsoTime('--from', 'yesterday')).toThrow(/--from "yesterday": expected an ISO time/);
    expect(() => parseIsoTime('--to', '2026-11-30T10:00')).toThrow(/with a zone/);
  });
});
