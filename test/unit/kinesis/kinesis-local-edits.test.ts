import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KINESIS_LOCAL_EDITS, editKinesisLocal } from '../../../src/kinesis/kinesis-local-edits.js';

const installed = readFileSync(createRequire(import.meta.url).resolve('kinesis-local/main.js'), 'utf8');
const names = (pred: (e: (typeof KINESIS_LOCAL_EDITS)[number]) => boolean): string[] => KINESIS_LOCAL_EDITS.filter(pred).map((e) => e.name);

describe('editKinesisLocal', () => {
  it('makes every edit exactly once in the installed kinesis-local (a new version that moves them fails here)', () => {
    const r = editKinesisLocal(installed, 'WARN');
    expect(r.skipped).toEqual([]);
    expect(r.applied).toEqual(names(() => true));
    expect(r.applied).toContain('get-records-search-from-tip');
    for (const e of KINESIS_LOCAL_EDITS) {
      expect(r.source.split(e.replace).length - 1).toBe(1);
      expect(r.source.includes(e.find) && !e.replace.includes(e.find)).toBe(false);
    }
    expect(r.source.length).toBe(installed.length + KINESIS_LOCAL_EDITS.reduce((n, e) => n + e.replace.length - e.find.length, 0));
  });

  it('keeps the logging work at LOG_LEVEL TRACE, whose output it is, and still searches GetRecords from the tip', () => {
    for (const level of ['TRACE', 'trace', ' Trace ']) {
      const r = editKinesisLocal(installed, level);
      expect(r.applied).toEqual(names((e) => !e.traceOnly));
      expect(r.skipped).toEqual([]);
      for (const e of KINESIS_LOCAL_EDITS.filter((x) => x.traceOnly)) expect(r.source).toContain(e.find);
    }
    expect(names((e) => e.traceOnly)).toEqual(['http-body-logging', 'trace-context-encoding']);
    expect(editKinesisLocal(installed, undefined).applied.length).toBe(KINESIS_LOCAL_EDITS.length);
    expect(editKinesisLocal(installed, 'DEBUG').applied.length).toBe(KINESIS_LOCAL_EDITS.length);
  });

  it('skips and reports an edit whose text is missing or not unique, and still makes the others', () => {
    const edits = [
      { name: 'once', find: 'AAA', replace: 'aaa', traceOnly: false },
      { name: 'twice', find: 'BB', replace: 'bb', traceOnly: false },
      { name: 'never', find: 'ZZZ', replace: 'zzz', traceOnly: true },
    ];
    expect(editKinesisLocal('xAAAxBBxBBx', 'WARN', edits)).toEqual({ source: 'xaaaxBBxBBx', applied: ['once'], skipped: ['twice', 'never'] });
    expect(editKinesisLocal('xAAAxBBxBBx', 'TRACE', edits)).toEqual({ source: 'xaaaxBBxBBx', applied: ['once'], skipped: ['twice'] });
  });
});
