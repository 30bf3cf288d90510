import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { QUIET_EDITS, quietKinesisLocal } from '../../../src/kinesis/kinesis-local-quiet.js';

const installed = readFileSync(createRequire(import.meta.url).resolve('kinesis-local/main.js'), 'utf8');

describe('quietKinesisLocal', () => {
  it('makes every edit exactly once in the installed kinesis-local (a new version that moves them fails here)', () => {
    const r = quietKinesisLocal(installed, 'WARN');
    expect(r.skipped).toEqual([]);
    expect(r.applied).toEqual(QUIET_EDITS.map((e) => e.name));
    for (const e of QUIET_EDITS) {
      expect(r.source.split(e.replace).length - 1).toBe(1);
      expect(r.source.includes(e.find) && !e.replace.includes(e.find)).toBe(false);
    }
    expect(r.source.length).toBe(installed.length + QUIET_EDITS.reduce((n, e) => n + e.replace.length - e.find.length, 0));
  });

  it('leaves the source as shipped at LOG_LEVEL TRACE, whose output is that very logging', () => {
    for (const level of ['TRACE', 'trace', ' Trace ']) {
      const r = quietKinesisLocal(installed, level);
      expect(r.source).toBe(installed);
      expect(r.applied).toEqual([]);
    }
    expect(quietKinesisLocal(installed, undefined).applied.length).toBe(QUIET_EDITS.length);
    expect(quietKinesisLocal(installed, 'DEBUG').applied.length).toBe(QUIET_EDITS.length);
  });

  it('skips and reports an edit whose text is missing or not unique, and still makes the others', () => {
    const edits = [
      { name: 'once', find: 'AAA', replace: 'aaa' },
      { name: 'twice', find: 'BB', replace: 'bb' },
      { name: 'never', find: 'ZZZ', replace: 'zzz' },
    ];
    const r = quietKinesisLocal('xAAAxBBxBBx', 'WARN', edits);
    expect(r).toEqual({ source: 'xaaaxBBxBBx', applied: ['once'], skipped: ['twice', 'never'] });
  });
});
