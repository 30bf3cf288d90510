import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_ALERTS, filterPattern } from '../../../deploy/lib/alerts.js';

/** Every source file of the services, concatenated: the alert filters must match lines this code logs. */
function sources(dir: string): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? readFileSync(join(dir, e.name), 'utf8') : ''))
    .join('\n');
}
const SRC = sources('src');

describe('deploy: alert filters', () => {
  it('build CloudWatch JSON filter patterns', () => {
    const by = Object.fromEntries(LOG_ALERTS.map((a) => [a.metric, filterPattern(a)]));
    expect(by.SbeReconnectionFailed).toBe('{ $.alert = "SBE_RECONNECTION_FAILED" }');
    expect(by.HotPathStale).toBe('{ $.msg = "gap detected" && $.criterion = "time" }');
    expect(by.RecordsDeadLettered).toBe(
      '{ $.msg = "invalid Kinesis record dead-lettered" || $.msg = "more invalid Kinesis records dead-lettered in this batch" }',
    );
  });

  it('match values the services actually log (alert codes, messages, fields)', () => {
    const missing: string[] = [];
    for (const a of LOG_ALERTS) {
      for (const m of a.matches) {
        for (const [field, value] of Object.entries(m)) {
          const needle = field === 'alert' ? `alert: '${value}'` : `'${value}'`;
          if (!SRC.includes(needle)) missing.push(`${a.metric}: ${needle}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('cover the design notes’ alerts: reconnection, re-anchor, staleness, dead letters', () => {
    expect(LOG_ALERTS.map((a) => a.metric).sort()).toEqual(['HotPathStale', 'ReanchorFailed', 'RecordsDeadLettered', 'SbeReconnectionFailed']);
  });
});
