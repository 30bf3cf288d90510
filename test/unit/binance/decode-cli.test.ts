import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeConcatenated, decodeHexLine } from '../../../src/cli/commands/decode.js';
import { encodeBestBidAskFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const trade = encodeTradesFrame({
  symbol: 'BTCUSDT',
  eventTimeUs: 1000,
  transactTimeUs: 999,
  priceExponent: -2,
  qtyExponent: -8,
  trades: [
    { id: 1, price: '100.5', qty: '0.1', isBuyerMaker: true },
    { id: 2, price: '100.25', qty: '0.2', isBuyerMaker: false },
  ],
});
const bba = encodeBestBidAskFrame({ symbol: 'ETHUSDT', eventTimeUs: 5, bookUpdateId: 9, priceExponent: -2, qtyExponent: -2, bidPrice: '1', bidQty: '2', askPrice: '3', askQty: '4' });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('decode command core', () => {
  it('hex lines: events as JSON lines, errors as {"error":{code,message}}, blank lines ignored', () => {
    const lines = decodeHexLine(hex(trade)).map((l) => JSON.parse(l) as { trade_id: number });
    expect(lines.map((l) => l.trade_id)).toEqual([1, 2]);
    expect(decodeHexLine('   ')).toEqual([]);
    expect(JSON.parse(decodeHexLine('zz')[0])).toMatchObject({ error: { code: 'BAD_HEX' } });
    expect(JSON.parse(decodeHexLine(hex(trade).slice(0, 40))[0])).toMatchObject({ error: { code: 'TRUNCATED' } });
  });

  it('concatenated binary frames are split by their own lengths; an unsplittable tail stops with one error', () => {
    const buf = Buffer.concat([trade, bba, trade.subarray(0, 20)]);
    const out = decodeConcatenated(buf).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => o.type ?? 'error')).toEqual(['trade', 'trade', 'bestBidAsk', 'error']);
    expect(out[3]).toMatchObject({ error: { code: 'TRUNCATED' } });
  });
});

describe('btcpipe decode (spawned)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'btcpipe-decode-'));
    // The CLI runs compiled output. Rebuild only when it is older than the sources this test exercises
    // (a full tsc run is slow on a busy 2-core box); asynchronously, so the test worker stays responsive.
    const built = join(root, 'dist', 'cli', 'commands', 'decode.js');
    const sources = ['src/cli/main.ts', 'src/cli/commands/decode.ts', 'src/binance/sbe-decode.ts', 'src/sbe/generated.ts', 'src/sbe/runtime.ts', 'src/sbe/decimal-format.ts', 'src/sbe/string-cache.ts', 'src/sbe/bytes.ts', 'src/sbe/decimal-cache.ts'];
    const stale = !existsSync(built) || sources.some((s) => statSync(join(root, s)).mtimeMs > statSync(built).mtimeMs);
    if (stale) {
      // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below is what matters.
      await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, timeout: 180_000 }).catch(() => undefined);
    }
    expect(existsSync(built)).toBe(true);
  }, 200_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stdin hex → JSON lines, keeps going after a bad frame, exits 0', () => {
    const input = `${hex(trade)}\nnot-hex\n${hex(bba)}\n`;
    const r = spawnSync('node', [join(root, 'bin', 'btcpipe.js'), 'decode'], { input, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type ?? 'error')).toEqual(['trade', 'trade', 'error', 'bestBidAsk']);
    expect(lines[3]).toMatchObject({ symbol: 'ETHUSDT', bid_price: '1', source: 'sbe', sequence_id: 9 });
  });

  it('--file with raw frames', () => {
    const path = join(dir, 'frames.bin');
    writeFileSync(path, Buffer.concat([bba, trade]));
    const r = spawnSync('node', [join(root, 'bin', 'btcpipe.js'), 'decode', '--file', path], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['bestBidAsk', 'trade', 'trade']);
  });
});
