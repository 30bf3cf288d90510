/** The ingestor's frame path and health rules, without sockets. */
import { describe, expect, it } from 'vitest';
import { encodeDepthDiffFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import type { MarketEvent } from '../../../src/core/events.js';
import { buildSbeHealth, type SbeHealthInput } from '../../../src/services/ingest-sbe-health.js';
import { SbeIngestPipeline } from '../../../src/services/ingest-sbe-pipeline.js';

const STREAMS = { trade: 'k-trade', bestbidask: 'k-bba', depth: 'k-depth' };

function trade(id: number): Uint8Array {
  return encodeTradesFrame({ symbol: 'BTCUSDT', eventTimeUs: 1e15 + id, transactTimeUs: 1e15 + id, priceExponent: -8, qtyExponent: -8, trades: [{ id, price: '98000.01', qty: '0.5', isBuyerMaker: false }] });
}
function diff(U: number, u: number): Uint8Array {
  return encodeDepthDiffFrame({ symbol: 'BTCUSDT', eventTimeUs: 1e15 + u, firstBookUpdateId: U, lastBookUpdateId: u, priceExponent: -8, qtyExponent: -8, bids: [['98000', '1']], asks: [] });
}

describe('SbeIngestPipeline', () => {
  it('routes events to their stream, drops duplicates, reports each gap once with its size', () => {
    const out: Array<[string, MarketEvent]> = [];
    const p = new SbeIngestPipeline({ streams: STREAMS, sink: (s, e) => out.push([s, e]), decodeSampleEvery: 1 });
    for (const f of [trade(1), trade(2), trade(2), trade(5), diff(10, 12), diff(13, 15), diff(20, 21), diff(13, 15)]) p.onFrame(f, 42);
    expect(out.map(([s]) => s)).toEqual(['k-trade', 'k-trade', 'k-trade', 'k-depth', 'k-depth', 'k-depth']);
    expect(out.every(([, e]) => e.recv_ts_us === 42)).toBe(true);
    expect(p.recentGaps().map((g) => [g.stream, g.expected, g.got, g.missing])).toEqual([
      ['trade', 3, 5, 2],
      ['depth', 16, 20, 4],
    ]);
    const st = p.stats();
    expect(st).toMatchObject({ messages_decoded: 8, duplicates_dropped: 2, gaps: 2, missing_ids: 6, events_out: 6, decode_errors: 0 });
    expect(st.messages_by_stream).toEqual({ trade: 4, bestBidAsk: 0, depth: 4, depth20: 0 });
    expect(st.decode_samples).toBe(8);
  });

  it('counts malformed frames by code and a refusing sink without throwing', () => {
    const p = new SbeIngestPipeline({
      streams: STREAMS,
      sink: () => {
        throw new Error('closed');
      },
    });
    const bad = trade(1).slice(0, 10);
    const unknown = trade(1).slice();
    new DataView(unknown.buffer).setUint16(2, 9999, true);
    expect(() => [bad, unknown, new Uint8Array(0), trade(1)].forEach((f) => p.onFrame(f, 1))).not.toThrow();
    const st = p.stats();
    expect(st.decode_errors).toBe(3);
    expect(st.decode_errors_by_code.UNKNOWN_TEMPLATE).toBe(1);
    expect(st.sink_errors).toBe(1);
  });
});

describe('SbeIngestPipeline across a rotation (two connections)', () => {
  const tradeIds = (out: Array<[string, MarketEvent]>): number[] => out.flatMap(([, e]) => (e.type === 'trade' ? [e.trade_id] : []));
  const diffRanges = (out: Array<[string, MarketEvent]>): Array<[number, number]> =>
    out.flatMap(([, e]) => (e.type === 'depth' ? [[e.first_update_id, e.final_update_id] as [number, number]] : []));

  it('keeps the old connection\'s in-flight trades 98-99 when the new connection already delivered 100', () => {
    const out: Array<[string, MarketEvent]> = [];
    const p = new SbeIngestPipeline({ streams: STREAMS, sink: (s, e) => out.push([s, e]) });
    const OLD = 1;
    const NEW = 2;
    for (const id of [95, 96, 97]) p.onFrame(trade(id), 1, OLD);
    p.onFrame(trade(100), 2, NEW); // the new connection runs a few ms ahead
    p.onFrame(trade(101), 2, NEW);
    for (const id of [98, 99, 100, 101, 102]) p.onFrame(trade(id), 3, OLD);
    p.onFrame(trade(102), 4, NEW);
    p.onFrame(trade(103), 4, NEW);
    expect(tradeIds(out)).toEqual([95, 96, 97, 98, 99, 100, 101, 102, 103]);
    expect(p.stats()).toMatchObject({ gaps: 0, missing_ids: 0, duplicates_dropped: 3 });
  });

  it('makes no depth gap of its own when the new connection is ahead of the old one', () => {
    const out: Array<[string, MarketEvent]> = [];
    const p = new SbeIngestPipeline({ streams: STREAMS, sink: (s, e) => out.push([s, e]) });
    p.onFrame(diff(1, 10), 1, 1);
    p.onFrame(diff(11, 20), 1, 1);
    p.onFrame(diff(31, 40), 2, 2);
    p.onFrame(diff(21, 30), 3, 1);
    p.onFrame(diff(31, 40), 3, 1);
    p.onFrame(diff(41, 50), 4, 2);
    expect(diffRanges(out)).toEqual([[1, 10], [11, 20], [21, 30], [31, 40], [41, 50]]);
    expect(p.stats()).toMatchObject({ gaps: 0, missing_ids: 0 });
    expect(p.recentGaps()).toEqual([]);
  });
});

describe('buildSbeHealth', () => {
  const base: SbeHealthInput = {
    service: 'svc',
    ws: { status: 'connected', connected: true, last_message_age_ms: 10, messages_per_second: 5, messages_total: 1, text_messages_total: 0, reconnect_count: 0, rotations: 0, consecutive_failures: 0, degraded: false, connection_attempts_5m: 1, current_connection_age_s: 1 },
    producer: { status: 'healthy', success_rate: 1, avg_latency_ms: 12, buffer_size: 3, buffer_bytes: 1, in_flight_calls: 0, calls: 1, records_sent: 1, bytes_sent: 1, events_sent: 1, failed_records: 0, retries: 0, throttled: 0, dropped: 0, rejected_oversize: 0, batch_size: {}, last_error: null, last_success_at: null },
    decoder: { messages_decoded: 9, decode_errors: 1, decode_errors_by_code: {}, last_decode_error: null, avg_decode_time_us: 0.8, decode_samples: 1, messages_by_stream: { trade: 0, bestBidAsk: 0, depth: 0, depth20: 0 }, events_out: 0, records_out: 0, duplicates_dropped: 0, gaps: 0, missing_ids: 0, sink_errors: 0, held_events: 0 },
    watchdogMs: 1000,
    maxBufferEvents: 100,
  };
  it('has the seed shape and maps component states to healthy / degraded / unhealthy', () => {
    const h = buildSbeHealth(base);
    expect(h).toEqual({
      status: 'healthy',
      service: 'svc',
      components: {
        sbe_websocket: { status: 'connected', last_message_age_ms: 10, messages_per_second: 5, reconnect_count: 0 },
        kinesis_producer: { status: 'healthy', success_rate: 1, avg_latency_ms: 12, buffer_size: 3 },
        sbe_decoder: { status: 'loaded', decode_errors: 1, messages_decoded: 9, avg_decode_time_us: 0.8 },
      },
    });
    expect(buildSbeHealth({ ...base, ws: { ...base.ws, status: 'degraded' } }).status).toBe('degraded');
    expect(buildSbeHealth({ ...base, ws: { ...base.ws, status: 'connecting' } }).status).toBe('degraded');
    expect(buildSbeHealth({ ...base, ws: { ...base.ws, last_message_age_ms: 5000 } }).status).toBe('degraded');
    expect(buildSbeHealth({ ...base, producer: { ...base.producer, status: 'down' } }).status).toBe('degraded');
    expect(buildSbeHealth({ ...base, producer: { ...base.producer, buffer_size: 95 } }).status).toBe('unhealthy');
    expect(buildSbeHealth({ ...base, ws: { ...base.ws, status: 'stopped' } }).status).toBe('unhealthy');
  });
});
