import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertValidKey } from './object-key.js';
import type { ObjectStore } from './object-store.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (no leading/trailing '/'), e.g. "lake". Empty = bucket root. */
  prefix?: string;
  /** S3-compatible endpoint (MinIO, s3rver, LocalStack). Default: the SDK's own resolution (AWS_ENDPOINT_URL_S3 …). */
  endpoint?: string;
  forcePathStyle?: boolean;
  region?: string;
  /** Explicit credentials; default is the SDK's default provider chain. */
  credentials?: S3ClientConfig['credentials'];
  /** Use an existing client (shares its connection pool). */
  client?: S3Client;
  /** Keys per ListObjectsV2 page (S3 max and default 1000). */
  listPageSize?: number;
}

/** The lake in S3. A PutObject is atomic by nature: readers see the old or the new object, never a part. */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly listPageSize: number | undefined;

  constructor(opts: S3ObjectStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.ownsClient = opts.client === undefined;
    this.listPageSize = opts.listPageSize;
    this.client =
      opts.client ??
      new S3Client({
        region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        ...(opts.forcePathStyle !== undefined ? { forcePathStyle: opts.forcePathStyle } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
      });
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.fullKey(key),
        Body: body,
        ContentLength: body.byteLength,
        ContentType: key.endsWith('.parquet') ? 'application/vnd.apache.parquet' : 'application/octet-stream',
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      if (!res.Body) return new Uint8Array();
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const full = this.prefix ? `${this.prefix}/${prefix}` : prefix;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token, MaxKeys: this.listPageSize }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push(o.Key.slice(strip));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  describe(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }
}
