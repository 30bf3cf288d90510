/** Typed errors of the Kinesis adapters, so callers can branch on `instanceof` instead of messages. */

export class KinesisRecordTooLargeError extends Error {
  override readonly name = 'KinesisRecordTooLargeError';
  constructor(
    readonly stream: string,
    readonly partitionKey: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(`record for stream ${stream} (partition key ${partitionKey}) is ${bytes} bytes; the limit is ${limitBytes}`);
  }
}

export class KinesisProducerClosedError extends Error {
  override readonly name = 'KinesisProducerClosedError';
  constructor() {
    super('KinesisProducer is closed; put() is no longer accepted');
  }
}

export class InvalidPartitionKeyError extends Error {
  override readonly name = 'InvalidPartitionKeyError';
  constructor(readonly partitionKey: string) {
    super(`partition key must be 1..256 characters, got ${partitionKey.length}`);
  }
}

export class KplDecodeError extends Error {
  override readonly name = 'KplDecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`cannot de-aggregate KPL record: ${message}`, options);
  }
}

/** A short, secret-free description of an error for stats and logs (AWS errors carry no credentials). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message.length > 200 ? `${err.message.slice(0, 200)}…` : err.message;
    return `${err.name}: ${msg}`;
  }
  return String(err).slice(0, 200);
}

/** The AWS error name (`ProvisionedThroughputExceededException`, …) or the JS error name. */
export function errorName(err: unknown): string {
  if (err && typeof err === 'object' && 'name' in err && typeof err.name === 'string') return err.name;
  return 'Error';
}

export class KinesisSerializationError extends Error {
  override readonly name = 'KinesisSerializationError';
  constructor(readonly stream: string, options?: { cause?: unknown }) {
    super(`record for stream ${stream} is not JSON-serializable`, options);
  }
}

/** Kinesis errors that mean "slow down" (retry after backoff), whether per record or for the whole call. */
export const KINESIS_THROTTLE_ERRORS: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
]);
