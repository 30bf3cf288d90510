import { deaggregateRecord } from './kpl.js';

export { aggregateRecords, deaggregateRecord, isAggregated, type UserRecord } from './kpl.js';

/**
 * The user payloads inside one Kinesis record's data (KPL-aggregated or plain), in order. For the
 * Lambda handler: `deaggregateRecordData(Buffer.from(record.kinesis.data, 'base64'))`.
 * Throws KplDecodeError on a corrupt aggregated record.
 */
export function deaggregateRecordData(data: Buffer): Buffer[] {
  return deaggregateRecord(data).map((r) => r.data);
}
