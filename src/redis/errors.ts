/** Typed errors of the Redis adapters. Messages never carry passwords or URLs with credentials. */

/** Redis could not be reached or did not answer in time; the operation may be retried. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly retryable = true;
}

/** Redis answered with an error (wrong type, script error, ...): retrying will not help by itself. */
export class RedisCommandError extends Error {
  override readonly name = 'RedisCommandError';
  readonly retryable = false;
}

const UNAVAILABLE_PATTERNS = [
  /Stream isn't writeable/i,
  /Connection is closed/i,
  /Command timed out/i,
  /Socket timeout/i,
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/,
  /max retries per request/i,
  /LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN/,
  /Failed to refresh slots cache|None of startup nodes is available/i,
];

/** Strip `user:password@` from anything that looks like a URL so that no secret reaches a log. */
export function scrubCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@');
}

/** Map any error thrown by ioredis to one of the typed errors above (prefix says what we were doing). */
export function toRedisError(err: unknown, doing: string): RedisUnavailableError | RedisCommandError {
  if (err instanceof RedisUnavailableError || err instanceof RedisCommandError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const msg = `${doing}: ${scrubCredentials(raw)}`;
  return UNAVAILABLE_PATTERNS.some((re) => re.test(raw))
    ? new RedisUnavailableError(msg)
    : new RedisCommandError(msg);
}

/** The optional logger the adapters call; pino's Logger satisfies it. */
export interface LoggerLike {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: LoggerLike = { info() {}, warn() {}, error() {} };
