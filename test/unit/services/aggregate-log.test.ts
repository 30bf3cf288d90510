import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../../src/ops/logger.js';
import { batchLogger } from '../../../src/services/aggregate-log.js';

function capture(): { logger: Logger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger({ service: 't', level: 'info', destination });
  let n = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<Logger['child']>) => {
    n++;
    return child(...args);
  }) as Logger['child'];
  return { logger, lines, children: () => n };
}

describe('batchLogger', () => {
  it('makes no child logger for a batch that logs nothing', () => {
    const c = capture();
    for (let i = 0; i < 100; i++) batchLogger(c.logger, 'events');
    expect(c.children()).toBe(0);
    expect(c.lines).toEqual([]);
  });

  it('gives every line of one batch the same correlation id and the stream, and each batch its own id', () => {
    const c = capture();
    const a = batchLogger(c.logger, 'events');
    a.warn({ symbol: 'BTCUSDT' }, 'trade id gap');
    a.info({ symbol: 'BTCUSDT' }, 're-anchor requested');
    batchLogger(c.logger, 'trades').warn({}, 'other batch');
    expect(c.children()).toBe(2);
    expect(c.lines.map((l) => [l.msg, l.stream, l.symbol])).toEqual([
      ['trade id gap', 'events', 'BTCUSDT'],
      ['re-anchor requested', 'events', 'BTCUSDT'],
      ['other batch', 'trades', undefined],
    ]);
    expect(c.lines[0].cid).toMatch(/^[0-9a-f]{12}$/);
    expect(c.lines[1].cid).toBe(c.lines[0].cid);
    expect(c.lines[2].cid).not.toBe(c.lines[0].cid);
  });

  it('answers level checks like the logger it wraps', () => {
    const c = capture();
    const l = batchLogger(c.logger, 'events');
    expect(l.isLevelEnabled('debug')).toBe(false);
    expect(l.isLevelEnabled('warn')).toBe(true);
  });
});
