import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { JsonRequestSigner, jsonRequest, type Signer, type Target } from '../../../src/kinesis/direct-calls.js';

/** The SDK client's own SigV4 signer for these credentials and region. */
async function sdkSigner(region: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): Promise<Signer> {
  const c = new KinesisClient({ region, credentials });
  return (c.config.signer as unknown as () => Promise<Signer>)();
}

const targets: Target[] = [
  { protocol: 'https:', hostname: 'kinesis.us-east-1.amazonaws.com', path: '/' },
  { protocol: 'http:', hostname: '127.0.0.1', port: 4567, path: '/' },
  { protocol: 'https:', hostname: 'kinesis-fips.us-gov-west-1.amazonaws.com', path: '/' },
];

describe('JsonRequestSigner', () => {
  it('signs a GetRecords request exactly as the SDK client signer does (any credentials, date, region, body)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          accessKeyId: fc.stringMatching(/^[A-Z0-9]{16,20}$/),
          secretAccessKey: fc.stringMatching(/^[A-Za-z0-9/+]{30,40}$/),
          sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9/+=]{20,60}$/), { nil: undefined }),
        }),
        fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2', 'cn-north-1', 'us-gov-west-1'),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
        fc.constantFrom(...targets),
        fc.string({ maxLength: 300 }),
        fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
        async (creds, region, ms, target, iterator, limit) => {
          const body = JSON.stringify({ ShardIterator: iterator, ...(limit !== undefined ? { Limit: limit } : {}) });
          const signingDate = new Date(ms);
          const credentials = creds.sessionToken === undefined ? { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey } : creds;
          const sdk = await sdkSigner(region, credentials);
          const own = new JsonRequestSigner(async () => credentials, region);
          const a = await sdk.sign(jsonRequest(target, 'GetRecords', body), { signingDate });
          const b = await own.sign(jsonRequest(target, 'GetRecords', body), { signingDate });
          expect(b.headers).toEqual(a.headers);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('re-derives its key when the day or the secret changes', async () => {
    let creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'first-secret-key-0123456789' };
    const own = new JsonRequestSigner(async () => creds, 'us-east-1');
    const target = targets[0];
    for (const [day, secret] of [
      ['2026-11-30T23:59:59Z', 'first-secret-key-0123456789'],
      ['2026-12-01T00:00:01Z', 'first-secret-key-0123456789'],
      ['2026-12-01T00:00:02Z', 'rotated-secret-key-987654321'],
    ]) {
      creds = { ...creds, secretAccessKey: secret };
      const signingDate = new Date(day);
      const a = await (await sdkSigner('us-east-1', creds)).sign(jsonRequest(target, 'PutRecord', '{}'), { signingDate });
      const b = await own.sign(jsonRequest(target, 'PutRecord', '{}'), { signingDate });
      expect(b.headers.authorization).toBe(a.headers.authorization);
    }
  });
});
