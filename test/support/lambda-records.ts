import type { KinesisStreamRecord } from 'aws-lambda';

/** One record of a Lambda `KinesisStreamEvent`, as AWS delivers it (data base64). */
export function lambdaKinesisRecord(opts: { stream: string; partitionKey: string; data: Buffer; sequenceNumber: string }): KinesisStreamRecord {
  return {
    awsRegion: 'us-east-1',
    eventID: `shardId-000000000000:${opts.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    eventSource: 'aws:kinesis',
    eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${opts.stream}`,
    eventVersion: '1.0',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/lambda',
    kinesis: {
      approximateArrivalTimestamp: Date.now() / 1000,
      data: opts.data.toString('base64'),
      kinesisSchemaVersion: '1.0',
      partitionKey: opts.partitionKey,
      sequenceNumber: opts.sequenceNumber,
    },
  };
}
