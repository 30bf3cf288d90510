import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SchemaError, generate } from '../../../src/sbe/generate.js';
import { parseSchema } from '../../../src/sbe/parse.js';

const sbeDir = fileURLToPath(new URL('../../../src/sbe/', import.meta.url));
const xml = readFileSync(`${sbeDir}stream_1_0.xml`, 'utf8');

describe('SBE generator', () => {
  it('regenerating from the schema reproduces the committed generated.ts byte for byte', () => {
    expect(generate(xml)).toBe(readFileSync(`${sbeDir}generated.ts`, 'utf8'));
  });

  it('models the four stream messages with the documented layouts', () => {
    const s = parseSchema(xml);
    expect([s.id, s.version, s.littleEndian, s.header.size]).toEqual([1, 0, true, 8]);
    expect(s.messages.map((m) => [m.name, m.id, m.blockLength])).toEqual([
      ['TradesStreamEvent', 10000, 18],
      ['BestBidAskStreamEvent', 10001, 50],
      ['DepthSnapshotStreamEvent', 10002, 18],
      ['DepthDiffStreamEvent', 10003, 26],
    ]);
    const trades = s.messages[0].groups[0];
    expect([trades.blockLength, trades.dimension.size, trades.dimension.numInGroup.max]).toEqual([25, 6, 2147483647]);
    const isBestMatch = trades.fields.find((f) => f.name === 'isBestMatch');
    expect(isBestMatch).toMatchObject({ presence: 'constant', size: 0, constantValue: 1 });
    expect(trades.fields.find((f) => f.name === 'price')?.exponentField).toEqual({ name: 'priceExponent', scope: 'root' });
    const bids = s.messages[3].groups[0];
    expect([bids.blockLength, bids.dimension.size, bids.dimension.numInGroup.primitive]).toEqual([16, 4, 'uint16']);
    expect(s.messages[1].fields.map((f) => f.offset)).toEqual([0, 8, 16, 17, 18, 26, 34, 42]);
    expect(s.messages[0].data[0]).toMatchObject({ name: 'symbol', lengthSize: 1, maxLength: 255, characterEncoding: 'UTF-8' });
  });

  it('generation is deterministic and follows schema edits (a new message appears)', () => {
    const extra = xml.replace(
      '</sbe:messageSchema>',
      `<sbe:message name="PingEvent" id="10099"><field id="1" name="seq" type="int64"/><data id="200" name="symbol" type="varString8"/></sbe:message>\n</sbe:messageSchema>`,
    );
    const out = generate(extra);
    expect(generate(extra)).toBe(out);
    expect(out).toContain('export class PingEventDecoder');
    expect(out).toContain('static readonly TEMPLATE_ID = 10099;');
  });

  it('rejects what it cannot generate correctly, by name', () => {
    expect(() => generate('<nope/>')).toThrow(SchemaError);
    expect(() => generate(xml.replace('name="tradeId" primitiveType="int64"', 'name="tradeId" primitiveType="int128"'))).toThrow(/int128/);
    expect(() => generate(xml.replace('mbx:exponent="priceExponent"/>\n            <field id="3" name="qty"', 'mbx:exponent="nope"/>\n            <field id="3" name="qty"'))).toThrow(
      /exponent field nope/,
    );
    expect(() => generate(xml.replace('<field id="1" name="eventTime" type="utcTimestampUs"/>', '<field id="1" name="wrap" type="utcTimestampUs"/>'))).toThrow(/collides/);
  });
});
