import { describe, expect, it } from 'vitest';
import { SbeDecodeError, decodeFrame, frameLength, templateIdOf } from '../../../src/binance/sbe-decode.js';
import { encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { Bytes } from './bytes.js';

const E = 1_763_700_000_123_456;

function tradesFrame(opts: { rootExtra?: number; entryExtra?: number; version?: number } = {}): Uint8Array {
  const b = new Bytes()
    .header(18 + (opts.rootExtra ?? 0), 10000, 1, opts.version ?? 0)
    .i64(E)
    .i64(E - 7)
    .i8(-2)
    .i8(-8)
    .zeros(opts.rootExtra ?? 0)
    .u16(25 + (opts.entryExtra ?? 0))
    .u32(2);
  b.i64(5_000_000_001).i64(9_800_001n).i64(123_000n).u8(1).zeros(opts.entryExtra ?? 0);
  b.i64(5_000_000_002).i64(-50n).i64(2n ** 62n).u8(0).zeros(opts.entryExtra ?? 0);
  return b.str('BTCUSDT').build();
}

function errorOf(frame: Uint8Array): SbeDecodeError {
  try {
    decodeFrame(frame);
  } catch (err) {
    if (err instanceof SbeDecodeError) return err;
    throw err;
  }
  throw new Error('decoded without error');
}

describe('decodeFrame: hand-built frames', () => {
  it('TradesStreamEvent → one TradeEvent per trade with exact decimals (mantissa beyond 2^53 included)', () => {
    const events = decodeFrame(tradesFrame(), 42);
    expect(events).toEqual([
      {
        type: 'trade',
        symbol: 'BTCUSDT',
        event_ts: E,
        source: 'sbe',
        trade_id: 5_000_000_001,
        sequence_id: 5_000_000_001,
        price: '98000.01',
        quantity: '0.00123',
        is_buyer_maker: true,
        transact_ts: E - 7,
        recv_ts_us: 42,
      },
      {
        type: 'trade',
        symbol: 'BTCUSDT',
        event_ts: E,
        source: 'sbe',
        trade_id: 5_000_000_002,
        sequence_id: 5_000_000_002,
        price: '-0.5',
        quantity: '46116860184.27387904',
        is_buyer_maker: false,
        transact_ts: E - 7,
        recv_ts_us: 42,
      },
    ]);
  });

  it('BestBidAskStreamEvent (blockLength 50) → BestBidAskEvent with sequence_id = bookUpdateId', () => {
    const frame = new Bytes()
      .header(50, 10001)
      .i64(E)
      .i64(77_000_000_123)
      .i8(-8)
      .i8(-8)
      .i64(9_800_000_000_000n)
      .i64(125_000_000n)
      .i64(9_800_001_000_000n)
      .i64(1n)
      .str('ETHBTC')
      .build();
    expect(frame.length).toBe(8 + 50 + 7);
    expect(decodeFrame(frame)).toEqual([
      {
        type: 'bestBidAsk',
        symbol: 'ETHBTC',
        event_ts: E,
        source: 'sbe',
        bid_price: '98000',
        bid_quantity: '1.25',
        ask_price: '98000.01',
        ask_quantity: '0.00000001',
        sequence_id: 77_000_000_123,
      },
    ]);
    expect(templateIdOf(frame)).toBe(10001);
  });

  it('DepthSnapshotStreamEvent → DepthSnapshotEvent (last_update_id = bookUpdateId, 16-bit groups)', () => {
    const frame = new Bytes()
      .header(18, 10002)
      .i64(E)
      .i64(900)
      .i8(0)
      .i8(2)
      .u16(16)
      .u16(2)
      .i64(100n)
      .i64(3n)
      .i64(99n)
      .i64(0n)
      .u16(16)
      .u16(0)
      .str('X')
      .build();
    expect(decodeFrame(frame)).toEqual([
      { type: 'depthSnapshot', symbol: 'X', event_ts: E, source: 'sbe', last_update_id: 900, bids: [['100', '300'], ['99', '0']], asks: [] },
    ]);
  });

  it('DepthDiffStreamEvent (blockLength 26) → DepthEvent with first/final update ids', () => {
    const frame = new Bytes()
      .header(26, 10003)
      .i64(E)
      .i64(1001)
      .i64(1005)
      .i8(-1)
      .i8(-3)
      .u16(16)
      .u16(0)
      .u16(16)
      .u16(1)
      .i64(5n)
      .i64(1500n)
      .str('BTCÜSDT')
      .build();
    expect(decodeFrame(frame)).toEqual([
      { type: 'depth', symbol: 'BTCÜSDT', event_ts: E, source: 'sbe', first_update_id: 1001, final_update_id: 1005, bids: [], asks: [['0.5', '1.5']] },
    ]);
    expect(frameLength(frame)).toBe(frame.length);
  });

  it('matches what the encoder writes byte for byte', () => {
    const encoded = encodeTradesFrame({
      symbol: 'BTCUSDT',
      eventTimeUs: E,
      transactTimeUs: E - 7,
      priceExponent: -2,
      qtyExponent: -8,
      trades: [
        { id: 5_000_000_001, price: '98000.01', qty: '0.00123', isBuyerMaker: true },
        { id: 5_000_000_002, price: '-0.5', qty: '46116860184.27387904', isBuyerMaker: false },
      ],
    });
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(tradesFrame()).toString('hex'));
  });

  it('decodes a frame that sits at an offset inside a larger buffer', () => {
    const frame = tradesFrame();
    const big = new Uint8Array(frame.length + 10);
    big.set(frame, 5);
    expect(decodeFrame(big.subarray(5, 5 + frame.length))).toEqual(decodeFrame(frame));
    expect(frameLength(big, 5)).toBe(frame.length);
  });
});

describe('decodeFrame: newer schema versions (blockLength extension)', () => {
  it('skips unknown bytes appended to the root block and to each group entry', () => {
    const plain = decodeFrame(tradesFrame());
    const extended = tradesFrame({ rootExtra: 5, entryExtra: 3, version: 1 });
    expect(decodeFrame(extended)).toEqual(plain);
    expect(frameLength(extended)).toBe(extended.length);
  });

  it('tolerates trailing var data from a newer version but not from ours', () => {
    const withTail = (version: number): Uint8Array => {
      const f = tradesFrame({ version });
      const out = new Uint8Array(f.length + 3);
      out.set(f);
      out.set([2, 0x61, 0x62], f.length);
      return out;
    };
    expect(decodeFrame(withTail(1))).toHaveLength(2);
    expect(errorOf(withTail(0)).code).toBe('TRAILING_BYTES');
  });
});

describe('decodeFrame: bad input gives a specific SbeDecodeError', () => {
  it('TRUNCATED for every proper prefix of a valid frame', () => {
    const frame = tradesFrame();
    for (let n = 0; n < frame.length; n++) {
      const code = errorOf(frame.subarray(0, n)).code;
      expect(['TRUNCATED', 'GROUP_TOO_LARGE']).toContain(code);
    }
  });

  it('UNKNOWN_TEMPLATE, SCHEMA_MISMATCH, BAD_BLOCK_LENGTH', () => {
    expect(errorOf(new Bytes().header(18, 12345).zeros(30).build()).code).toBe('UNKNOWN_TEMPLATE');
    expect(errorOf(new Bytes().header(18, 10000, 3, 0).zeros(30).build()).code).toBe('SCHEMA_MISMATCH');
    expect(errorOf(new Bytes().header(10, 10000).zeros(30).build()).code).toBe('BAD_BLOCK_LENGTH');
    const shortEntry = new Bytes().header(18, 10000).zeros(18).u16(24).u32(0).str('A').build();
    expect(errorOf(shortEntry).code).toBe('BAD_BLOCK_LENGTH');
  });

  it('GROUP_TOO_LARGE when the claimed count exceeds the bytes present, before iterating', () => {
    const huge = new Bytes().header(18, 10000).zeros(18).u16(25).u32(2_000_000_000).zeros(40).build();
    const err = errorOf(huge);
    expect(err.code).toBe('GROUP_TOO_LARGE');
    expect(err.message).toContain('2000000000');
    const depth = new Bytes().header(18, 10002).zeros(18).u16(16).u16(65535).zeros(16).build();
    expect(errorOf(depth).code).toBe('GROUP_TOO_LARGE');
  });

  it('BAD_SYMBOL for an empty or invalid UTF-8 symbol; BAD_ENUM for isBuyerMaker not 0/1', () => {
    const frame = (sym: number[], maker = 1): Uint8Array =>
      Uint8Array.from([...new Bytes().header(18, 10000).zeros(18).u16(25).u32(1).i64(1).i64(1n).i64(1n).u8(maker).build(), sym.length, ...sym]);
    expect(errorOf(frame([])).code).toBe('BAD_SYMBOL');
    expect(errorOf(frame([0xc3, 0x28])).code).toBe('BAD_SYMBOL');
    expect(errorOf(frame([0x41], 2)).code).toBe('BAD_ENUM');
    expect(decodeFrame(frame([0x41]))[0].symbol).toBe('A');
  });

  it('VALUE_OUT_OF_RANGE for ids or timestamps beyond 2^53', () => {
    const frame = new Bytes().header(50, 10001).i64(2n ** 60n).i64(1).zeros(34).str('A').build();
    expect(errorOf(frame).code).toBe('VALUE_OUT_OF_RANGE');
  });

  it('templateIdOf is undefined for short or foreign frames', () => {
    expect(templateIdOf(new Uint8Array(7))).toBeUndefined();
    expect(templateIdOf(new Bytes().header(18, 10000, 2).build())).toBeUndefined();
    expect(templateIdOf(tradesFrame())).toBe(10000);
  });
});
