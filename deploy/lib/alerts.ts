/**
 * The operator alerts, as CloudWatch log metric filters over the services' JSON logs (pino: one JSON
 * object per line, message in `msg`). Alert lines carry an `alert` field; a condition logged without one
 * is matched by its message and fields.
 */

export type AlertSource = 'ingest-sbe' | 'ingest-rest' | 'aggregator';

/** Field → exact value, all of which a line must have (`$.field = "value" && …`). */
export type LogMatch = Readonly<Record<string, string>>;

export interface LogAlert {
  /** CloudWatch metric name (namespace `Btcpipe/Alerts`) and alarm id. */
  metric: string;
  source: AlertSource;
  /** A line counts when it satisfies any of these. */
  matches: readonly LogMatch[];
  description: string;
}

export const ALERT_NAMESPACE = 'Btcpipe/Alerts';

export const LOG_ALERTS: readonly LogAlert[] = [
  {
    metric: 'SbeReconnectionFailed',
    source: 'ingest-sbe',
    matches: [{ alert: 'SBE_RECONNECTION_FAILED' }],
    description: 'The SBE ingestor exhausted its reconnect attempts and is degraded (still retrying at the backoff cap)',
  },
  {
    metric: 'ReanchorFailed',
    source: 'ingest-rest',
    matches: [{ alert: 'REANCHOR_FAILED' }],
    description: 'A re-anchor (REST snapshot + atomic swap) failed; the book stays resyncing until one succeeds',
  },
  {
    metric: 'HotPathStale',
    source: 'ingest-rest',
    // The gap detector's time criterion: no hot-path event in Redis for longer than time_gap_seconds.
    matches: [{ msg: 'gap detected', criterion: 'time' }],
    description: 'The hot path (ob:/tr: in Redis) is older than the time-gap threshold: the data served is stale',
  },
  {
    metric: 'RecordsDeadLettered',
    source: 'aggregator',
    matches: [{ msg: 'invalid Kinesis record dead-lettered' }, { msg: 'more invalid Kinesis records dead-lettered in this batch' }],
    description: 'The aggregator set records aside it cannot apply (Redis stream deadletter:records holds them for inspection)',
  },
];

/** The CloudWatch Logs JSON filter pattern of an alert. */
export function filterPattern(a: LogAlert): string {
  const term = (m: LogMatch): string => {
    const parts = Object.entries(m).map(([k, v]) => `$.${k} = "${v}"`);
    return parts.length > 1 && a.matches.length > 1 ? `(${parts.join(' && ')})` : parts.join(' && ');
  };
  return `{ ${a.matches.map(term).join(' || ')} }`;
}
