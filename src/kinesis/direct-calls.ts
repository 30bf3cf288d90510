/**
 * The hot path's two Kinesis calls without the SDK's per-call machinery: GetRecords (the consumer polls up
 * to ~100 times a second) and PutRecord (the producer's call of one record, as often). The SDK client spends
 * ~2 ms of CPU on each call (middleware stack, schema deserializer, per-record base64 validation) where the
 * request itself costs a fraction of that — most of the aggregator's CPU at 5,000 events/s.
 *
 * withDirectCalls() wraps a KinesisClient: GetRecordsCommand and PutRecordCommand are sent as one signed HTTP
 * POST of the Kinesis JSON 1.1 protocol and parsed with JSON.parse; every other command goes to the SDK. What
 * stays the SDK's: the endpoint (the client's configured endpoint, else its endpoint rules for the region),
 * the credentials and the SigV4 signature (the client's own signer). The output has the SDK's shape (Data as
 * bytes, ApproximateArrivalTimestamp as a Date) and an error the SDK's name (ExpiredIteratorException,
 * ProvisionedThroughputExceededException, …; AbortError when aborted), which is what the consumer acts on.
 * Like the client (maxAttempts 1), a call is not retried here: the consumer backs off itself.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  GetRecordsCommand,
  PutRecordCommand,
  type ChildShard,
  type GetRecordsCommandInput,
  type GetRecordsCommandOutput,
  type PutRecordCommandInput,
  type PutRecordCommandOutput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';

export interface DirectCallsOptions {
  /** Per-request timeout, ms (default 10 s, as the client's). */
  requestTimeoutMs?: number;
}

/** A Kinesis error answered over HTTP, named like the SDK names it. */
export class KinesisHttpError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string };
  constructor(name: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
  }
}

export interface Target {
  protocol: 'http:' | 'https:';
  hostname: string;
  port?: number;
  path: string;
}

export interface Signer {
  sign(req: SignableRequest, opts?: { signingDate?: Date }): Promise<SignableRequest>;
}
export interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** The JSON of a GetRecords answer (JSON 1.1: blobs base64, timestamps epoch seconds). */
interface WireOutput {
  Records?: { SequenceNumber?: string | null; ApproximateArrivalTimestamp?: number | null; Data?: string | null; PartitionKey?: string | null; EncryptionType?: string | null }[] | null;
  NextShardIterator?: string | null;
  MillisBehindLatest?: number | null;
  ChildShards?: ChildShard[] | null;
}

/** The resolved client config this module reads (present on every SDK v3 client). */
interface ClientConfigView {
  endpoint?: () => Promise<{ protocol: string; hostname: string; port?: number; path: string }>;
  endpointProvider: (params: Record<string, unknown>) => { url: URL };
  region: () => Promise<string>;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  signer: () => Promise<Signer>;
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/**
 * SigV4 of a Kinesis JSON POST with node:crypto, the signing key kept per day. It must produce exactly the SDK
 * signer's Authorization (same headers signed, same canonical request, x-amz-content-sha256 included):
 * resolve() checks that on a probe request and keeps the SDK's signer otherwise. The SDK's signer costs
 * ~0.2 ms of JavaScript per call; this is three native hashes.
 */
export class JsonRequestSigner implements Signer {
  private key: { secret: string; day: string; value: Buffer } | undefined;

  constructor(
    private readonly credentials: ClientConfigView['credentials'],
    private readonly region: string,
    private readonly service = 'kinesis',
  ) {}

  async sign(req: SignableRequest, opts: { signingDate?: Date } = {}): Promise<SignableRequest> {
    const creds = await this.credentials();
    const longDate = (opts.signingDate ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    const day = longDate.slice(0, 8);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    headers['x-amz-date'] = longDate;
    if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
    const payloadHash = sha256Hex(req.body);
    headers['x-amz-content-sha256'] = payloadHash;
    const names = Object.keys(headers).sort();
    const canonicalHeaders = names.map((n) => `${n}:${headers[n].replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}`).join('\n');
    const signed = names.join(';');
    const canonical = `${req.method}\n${req.path}\n\n${canonicalHeaders}\n\n${signed}\n${payloadHash}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${sha256Hex(canonical)}`;
    if (this.key?.secret !== creds.secretAccessKey || this.key.day !== day) {
      let k: Buffer = createHmac('sha256', `AWS4${creds.secretAccessKey}`).update(day).digest();
      for (const part of [this.region, this.service, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
      this.key = { secret: creds.secretAccessKey, day, value: k };
    }
    const signature = createHmac('sha256', this.key.value).update(stringToSign, 'utf8').digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
    return { ...req, headers };
  }
}

type Operation = 'GetRecords' | 'PutRecord';

class DirectCalls {
  private readonly timeoutMs: number;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });
  private setup: Promise<{ target: Target; signer: Signer }> | undefined;

  constructor(
    private readonly config: ClientConfigView,
    opts: DirectCallsOptions,
  ) {
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
  }

  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private resolve(): Promise<{ target: Target; signer: Signer }> {
    this.setup ??= (async () => {
      const c = this.config;
      let target: Target;
      if (c.endpoint) {
        const e = await c.endpoint();
        target = { protocol: e.protocol === 'http:' ? 'http:' : 'https:', hostname: e.hostname, ...(e.port ? { port: Number(e.port) } : {}), path: e.path || '/' };
      } else {
        const url = c.endpointProvider({
          Region: await c.region(),
          UseFIPS: await c.useFipsEndpoint(),
          UseDualStack: await c.useDualstackEndpoint(),
        }).url;
        target = { protocol: url.protocol === 'http:' ? 'http:' : 'https:', hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path: url.pathname || '/' };
      }
      const sdkSigner = await c.signer();
      return { target, signer: await fasterSigner(c, target, sdkSigner) };
    })().catch((err: unknown) => {
      this.setup = undefined; // e.g. credentials not available yet: try again on the next call
      throw err;
    });
    return this.setup;
  }

  async getRecords(input: GetRecordsCommandInput, signal?: AbortSignal): Promise<GetRecordsCommandOutput> {
    const body = JSON.stringify({
      ShardIterator: input.ShardIterator,
      ...(input.Limit !== undefined ? { Limit: input.Limit } : {}),
      ...(input.StreamARN !== undefined ? { StreamARN: input.StreamARN } : {}),
    });
    const { json, requestId } = await this.call<WireOutput>('GetRecords', body, signal);
    return parseOutput(json, requestId);
  }

  async putRecord(input: PutRecordCommandInput, signal?: AbortSignal): Promise<PutRecordCommandOutput> {
    const data = input.Data ?? new Uint8Array(0);
    const body = JSON.stringify({
      ...(input.StreamName !== undefined ? { StreamName: input.StreamName } : {}),
      ...(input.StreamARN !== undefined ? { StreamARN: input.StreamARN } : {}),
      Data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      PartitionKey: input.PartitionKey,
      ...(input.ExplicitHashKey !== undefined ? { ExplicitHashKey: input.ExplicitHashKey } : {}),
      ...(input.SequenceNumberForOrdering !== undefined ? { SequenceNumberForOrdering: input.SequenceNumberForOrdering } : {}),
    });
    const { json: j, requestId } = await this.call<{ ShardId?: string; SequenceNumber?: string; EncryptionType?: string }>('PutRecord', body, signal);
    return {
      ShardId: j.ShardId,
      SequenceNumber: j.SequenceNumber,
      ...(j.EncryptionType != null ? { EncryptionType: j.EncryptionType as PutRecordCommandOutput['EncryptionType'] } : {}),
      $metadata: { httpStatusCode: 200, ...(requestId ? { requestId } : {}), attempts: 1, totalRetryDelay: 0 },
    };
  }

  /** One signed call; its JSON answer, or the error it names. */
  private async call<T>(op: Operation, body: string, signal?: AbortSignal): Promise<{ json: T; requestId?: string }> {
    const { target, signer } = await this.resolve();
    const signed = await signer.sign(jsonRequest(target, op, body));
    const { status, text, requestId, errorType } = await this.post(op, target, signed.headers, body, signal);
    if (status !== 200) throw httpError(op, status, text, requestId, errorType);
    try {
      return { json: JSON.parse(text) as T, ...(requestId ? { requestId } : {}) };
    } catch {
      throw new KinesisHttpError('SerializationException', `${op}: answer is not JSON: ${text.slice(0, 100)}`, 200, requestId);
    }
  }

  private post(
    op: Operation,
    target: Target,
    headers: Record<string, string>,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string; requestId?: string; errorType?: string }> {
    return new Promise((resolve, reject) => {
      const send = target.protocol === 'http:' ? httpRequest : httpsRequest;
      const req = send(
        {
          hostname: target.hostname,
          ...(target.port ? { port: target.port } : {}),
          path: target.path,
          method: 'POST',
          headers,
          agent: target.protocol === 'http:' ? this.httpAgent : this.httpsAgent,
          ...(signal ? { signal } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const id = res.headers['x-amzn-requestid'];
            const type = res.headers['x-amzn-errortype'];
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              ...(typeof id === 'string' ? { requestId: id } : {}),
              ...(typeof type === 'string' ? { errorType: type } : {}),
            });
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        const err = new Error(`${op}: no answer within ${this.timeoutMs} ms`);
        err.name = 'TimeoutError';
        req.destroy(err);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function jsonRequest(target: Target, op: Operation, body: string): SignableRequest {
  return {
    method: 'POST',
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port ? { port: target.port } : {}),
    path: target.path,
    query: {},
    headers: {
      host: target.port ? `${target.hostname}:${target.port}` : target.hostname,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `Kinesis_20131202.${op}`,
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

/** JsonRequestSigner when it signs a probe exactly as the SDK's signer does; else the SDK's signer. */
async function fasterSigner(c: ClientConfigView, target: Target, sdk: Signer): Promise<Signer> {
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(target.path)) return sdk; // paths needing URI escaping: not handled here
  const own = new JsonRequestSigner(() => c.credentials(), await c.region());
  const probe = jsonRequest(target, 'GetRecords', '{"ShardIterator":"probe","Limit":1}');
  const signingDate = new Date();
  try {
    const [a, b] = await Promise.all([sdk.sign(structuredClone(probe), { signingDate }), own.sign(probe, { signingDate })]);
    return a.headers.authorization === b.headers.authorization && a.headers['x-amz-date'] === b.headers['x-amz-date'] ? own : sdk;
  } catch {
    return sdk;
  }
}

function parseOutput(j: WireOutput, requestId?: string): GetRecordsCommandOutput {
  const records: _Record[] = [];
  for (const r of j.Records ?? []) {
    // JSON null is absent, as the SDK reads it.
    records.push({
      SequenceNumber: r.SequenceNumber ?? undefined,
      // As the SDK reads an epoch-seconds timestamp.
      ApproximateArrivalTimestamp: typeof r.ApproximateArrivalTimestamp === 'number' ? new Date(Math.round(r.ApproximateArrivalTimestamp * 1000)) : undefined,
      Data: Buffer.from(r.Data ?? '', 'base64'),
      PartitionKey: r.PartitionKey ?? undefined,
      ...(r.EncryptionType != null ? { EncryptionType: r.EncryptionType as _Record['EncryptionType'] } : {}),
    });
  }
  return {
    Records: records,
    NextShardIterator: j.NextShardIterator ?? undefined,
    MillisBehindLatest: j.MillisBehindLatest ?? undefined,
    ...(j.ChildShards != null ? { ChildShards: j.ChildShards } : {}),
    $metadata: { httpStatusCode: 200, ...(requestId ? { requestId } : {}), attempts: 1, totalRetryDelay: 0 },
  };
}

/**
 * `{"__type": "…#ExpiredIteratorException", "message": …}` (or the x-amzn-errortype header) → an error of
 * that name; as the SDK, `Unknown` when nothing names it (e.g. an empty 500).
 */
function httpError(op: Operation, status: number, text: string, requestId?: string, headerType?: string): KinesisHttpError {
  let type = '';
  let message = text.slice(0, 200);
  try {
    const j = JSON.parse(text) as { __type?: string; code?: string; message?: string; Message?: string } | null;
    type = j?.__type ?? j?.code ?? '';
    message = j?.message ?? j?.Message ?? message;
  } catch {
    // Not JSON (empty, or a proxy's error page).
  }
  const name = (type || headerType || '').split('#').pop()?.split(':')[0] || 'Unknown';
  return new KinesisHttpError(name, message || `${op}: HTTP ${status}`, status, requestId);
}

type Send = KinesisClient['send'];

/** The client with GetRecords and PutRecord on the direct path (see the module comment); everything else unchanged. */
export function withDirectCalls(client: KinesisClient, opts: DirectCallsOptions = {}): KinesisClient {
  const fast = new DirectCalls(client.config as unknown as ClientConfigView, opts);
  const send = ((command: unknown, options?: unknown, cb?: unknown): unknown => {
    if (typeof options !== 'function' && cb === undefined) {
      const signal = (options as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
      if (command instanceof GetRecordsCommand) return fast.getRecords(command.input, signal);
      if (command instanceof PutRecordCommand) return fast.putRecord(command.input, signal);
    }
    return (client.send as (...a: unknown[]) => unknown).call(client, command, options, cb);
  }) as Send;
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'send') return send;
      if (prop === 'destroy') {
        return () => {
          fast.destroy();
          target.destroy();
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}
