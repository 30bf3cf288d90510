/** `btcpipe decode --hex` on what the pipeline puts on Kinesis: user records of either format and whole KPL / gzip records. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../src/binance/sbe-decode.js';
import { encodeDepthDiffFrame, encodeTradesFrame } from '../../../src/binance/sbe-encode.js';
import { decodeHexLine } from '../../../src/cli/commands/decode.js';
import { aggregateRecords } from '../../../src/kinesis/kpl.js';
import { encodeSbeRecord } from '../../../src/kinesis/record-sbe.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const T = 1_790_000_000_000_000;
const trade = encodeTradesFrame({
  symbol: 'BTCUSDT', eventTimeUs: T, transactTimeUs: T - 1, priceExponent: -2, qtyExponent: -8,
  trades: [{ id: 1, price: '100.50', qty: '0.1', isBuyerMaker: true }, { id: 2, price: '100.25', qty: '0.2', isBuyerMaker: false }],
});
const diff = encodeDepthDiffFrame({ symbol: 'BTCUSDT', eventTimeUs: T, firstBookUpdateId: 5, lastBookUpdateId: 9, priceExponent: -2, qtyExponent: -8, bids: [['99.00', '1']], asks: [] });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const parse = (lines: string[]): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
const asJson = (evs: unknown[]): Array<Record<string, unknown>> => evs.map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);

describe('decode --hex of Kinesis records', () => {
  it('an SBE user record prints the events of the frame it carries, with the receive time', () => {
    expect(parse(decodeHexLine(hex(encodeSbeRecord(trade, T + 7, 3))))).toEqual(asJson(decodeFrame(trade, T + 7)));
  });

  it('a JSON user record prints its event', () => {
    const ev = decodeFrame(diff, T + 1)[0];
    expect(parse(decodeHexLine(Buffer.from(JSON.stringify(ev)).toString('hex')))).toEqual(asJson([ev]));
  });

  it('a whole KPL record (both formats in it), also gzipped, prints every event in order', () => {
    const jsonDiff = Buffer.from(JSON.stringify(decodeFrame(diff, T + 2)[0]));
    const [kpl] = aggregateRecords([
      { partitionKey: 'BTCUSDT', data: encodeSbeRecord(trade, T + 1, 0) },
      { partitionKey: 'BTCUSDT', data: jsonDiff },
      { partitionKey: 'BTCUSDT', data: encodeSbeRecord(diff, T + 3, 0) },
    ]);
    const want = asJson([...decodeFrame(trade, T + 1), ...decodeFrame(diff, T + 2), ...decodeFrame(diff, T + 3)]);
    expect(parse(decodeHexLine(hex(kpl.data)))).toEqual(want);
    expect(parse(decodeHexLine(hex(gzipSync(kpl.data))))).toEqual(want);
  });

  it('a bad record prints a specific error line and decoding goes on', () => {
    const rec = encodeSbeRecord(trade, T, 0);
    expect(parse(decodeHexLine(hex(rec.subarray(0, rec.length - 3))))).toEqual([{ error: { code: 'BAD_RECORD', message: expect.stringMatching(/TRUNCATED/) as unknown } }]);
    const [kpl] = aggregateRecords([{ partitionKey: 'K', data: rec }]);
    const bad = Buffer.from(kpl.data);
    bad[bad.length - 1] ^= 0xff;
    expect(parse(decodeHexLine(hex(bad)))).toEqual([{ error: { code: 'BAD_KINESIS_RECORD', message: expect.stringMatching(/checksum/) as unknown } }]);
    // A bare frame still decodes as before.
    expect(parse(decodeHexLine(hex(trade)))).toEqual(asJson(decodeFrame(trade)));
  });
});

describe('btcpipe decode --hex (spawned) with a user record', () => {
  beforeAll(async () => {
    const built = join(root, 'dist', 'cli', 'commands', 'decode.js');
    const sources = ['src/cli/commands/decode.ts', 'src/kinesis/record-format.ts', 'src/kinesis/record-sbe.ts', 'src/kinesis/kpl.ts', 'src/binance/sbe-decode.ts'];
    const stale = !existsSync(built) || !existsSync(join(root, 'dist', 'kinesis', 'record-format.js')) || sources.some((s) => statSync(join(root, s)).mtimeMs > statSync(built).mtimeMs);
    if (stale) {
      // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below is what matters.
      await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, timeout: 180_000 }).catch(() => undefined);
    }
    expect(existsSync(join(root, 'dist', 'kinesis', 'record-format.js'))).toBe(true);
  }, 200_000);

  it('prints the same events for the record as for the bare frame', () => {
    const input = `${hex(encodeSbeRecord(trade, T + 9, 1))}\n${hex(trade)}\n`;
    const r = spawnSync('node', [join(root, 'bin', 'btcpipe.js'), 'decode', '--hex'], { input, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const lines = parse(r.stdout.trim().split('\n'));
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 2)).toEqual(asJson(decodeFrame(trade, T + 9)));
    expect(lines.slice(2)).toEqual(asJson(decodeFrame(trade)));
  });
});
