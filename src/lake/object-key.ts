/** Lake object keys: relative '/'-separated paths, the same for a folder and S3. */

export class InvalidObjectKeyError extends Error {
  override readonly name = 'InvalidObjectKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** Keys must be relative, '/'-separated, without empty, '.' or '..' segments (no escaping the root). */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw new InvalidObjectKeyError(key, 'empty');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'must be relative');
  if (key.includes('\\') || key.includes('\0')) throw new InvalidObjectKeyError(key, 'contains a backslash or NUL');
  for (const seg of key.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new InvalidObjectKeyError(key, `bad segment ${JSON.stringify(seg)}`);
  }
}
