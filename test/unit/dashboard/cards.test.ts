import { describe, expect, it } from 'vitest';
import { describeService, fmtMs, fmtNum } from '../../../src/dashboard/cards.js';

const NOW = Date.parse('2026-11-30T06:46:30.000Z');

describe('service cards in plain words', () => {
  it('the SBE ingestor: connection, producer and decoder as sentences', () => {
    const card = describeService(
      'ingest-sbe',
      {
        status: 'healthy',
        components: {
          sbe_websocket: { status: 'connected', last_message_age_ms: 15, messages_per_second: 30.7, reconnect_count: 1 },
          kinesis_producer: { status: 'healthy', success_rate: 1, avg_latency_ms: 2570.92, buffer_size: 154 },
          sbe_decoder: { status: 'loaded', decode_errors: 2, messages_decoded: 2196, avg_decode_time_us: 32.51 },
        },
      },
      NOW,
    );
    expect(card).toEqual({
      name: 'ingest-sbe',
      status: 'healthy',
      tone: 'ok',
      lines: [
        { label: 'SBE WebSocket', text: 'connected · 30.7 msg/s · last message 15 ms ago · 1 reconnect', tone: 'ok' },
        { label: 'Kinesis producer', text: 'healthy · 100 % of puts succeed · 2.57 s average put · 154 records buffered', tone: 'ok' },
        { label: 'SBE decoder', text: '2,196 frames decoded · 2 errors · 32.5 µs each', tone: 'warn' },
      ],
    });
  });

  it('the aggregator: one line per consumer stream with its lag, books by symbol', () => {
    const card = describeService(
      'aggregator',
      {
        status: 'degraded',
        components: {
          kinesis_consumers: {
            trade_stream: { status: 'consuming', records_per_second: 15.7, lag_seconds: 0, last_processed: '2026-11-30T06:46:29.500Z' },
            depth_stream: { status: 'consuming', records_per_second: 5.9, lag_seconds: 12, last_processed: '2026-11-30T06:46:18.000Z' },
          },
          books: { BTCUSDT: { status: 'live', last_update_id: 1, buffered: 0 }, ETHUSDT: { status: 'resyncing', last_update_id: 2, buffered: 3 } },
        },
      },
      NOW,
    );
    expect(card.tone).toBe('warn');
    expect(card.lines).toEqual([
      { label: 'trade stream', text: 'consuming · 15.7 records/s · 0 ms behind · last record 500 ms ago', tone: 'ok' },
      { label: 'depth stream', text: 'consuming · 5.9 records/s · 12 s behind · last record 12 s ago', tone: 'warn' },
      { label: 'Books', text: 'BTCUSDT live · ETHUSDT resyncing (3 buffered)', tone: 'warn' },
    ]);
  });

  it('a service that does not answer, and a component this file does not know', () => {
    expect(describeService('ingest-rest', { status: 'unreachable', error: 'fetch failed' }, NOW)).toEqual({
      name: 'ingest-rest',
      status: 'unreachable',
      tone: 'bad',
      lines: [{ label: 'health', text: 'not answering (fetch failed)', tone: 'bad' }],
    });
    expect(describeService('x', 'not json', NOW).tone).toBe('bad');
    expect(describeService('x', { status: 'healthy', components: { lake_compactor: { status: 'stalled', files_pending: 12, label: 'a' } } }, NOW).lines).toEqual([
      { label: 'lake compactor', text: 'stalled · files pending 12', tone: 'bad' },
    ]);
  });

  it('the served model: its id and each symbol\'s online macro-F1 against persistence', () => {
    const card = describeService('aggregator', { status: 'healthy', components: { predictor: { status: 'waiting', model_id: 'abc', symbols: {} } } }, 0);
    expect(card.lines).toEqual([{ label: 'Predictions', text: 'waiting · model abc', tone: 'info' }]);
    const serving = describeService(
      'aggregator',
      { status: 'healthy', components: { predictor: { status: 'serving', model_id: 'abc', symbols: { BTCUSDT: { scored: 3, macro_f1: 0.5, baseline_macro_f1: null } } } } },
      0,
    );
    expect(serving.lines[0]).toEqual({ label: 'Predictions', text: 'serving · model abc · BTCUSDT 3 scored, macro-F1 0.50', tone: 'ok' });
  });

  it('numbers and durations read as a person would say them', () => {
    expect([0.1234, 2.5, 12.34, 1234.5].map(fmtNum)).toEqual(['0.123', '2.5', '12.3', '1,235']);
    expect([15, 2570.9, 95_000, 300_000, 9_000_000].map(fmtMs)).toEqual(['15 ms', '2.57 s', '95 s', '5 min', '2.5 h']);
  });
});
