import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface KinesisClientOptions {
  region: string;
  /** e.g. http://127.0.0.1:4568 for kinesis-local; undefined = the SDK's own resolution (AWS_ENDPOINT_URL_KINESIS…). */
  endpoint?: string;
  /** Static credentials (local emulators); undefined = the SDK's default provider chain. */
  credentials?: KinesisClientConfig['credentials'];
  /** Sockets per host; several PutRecords / GetRecords calls run concurrently. */
  maxSockets?: number;
  /** Per-request socket timeout. */
  requestTimeoutMs?: number;
  /** SDK-level retries. Our producer/consumer retry themselves, so the default is 1 attempt. */
  maxAttempts?: number;
}

/**
 * A Kinesis client over HTTP/1.1 keep-alive. The SDK's default Kinesis handler is HTTP/2, which
 * kinesis-local answers with intermittent `NghttpError: Protocol error` on its plain port — raised as an
 * uncaught session error that crashes the process. HTTP/1.1 works against both AWS and the emulator.
 */
export function createKinesisClient(opts: KinesisClientOptions): KinesisClient {
  const maxSockets = opts.maxSockets ?? 32;
  return new KinesisClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: opts.maxAttempts ?? 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      requestTimeout: opts.requestTimeoutMs ?? 10_000,
      connectionTimeout: 2_000,
    }),
  });
}
