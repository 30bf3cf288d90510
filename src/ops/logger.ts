import { randomBytes } from 'node:crypto';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths pino removes from every log line: API keys and secrets never reach logs. */
export const REDACT_PATHS = [
  'api_key',
  'apiKey',
  'api_secret',
  'password',
  '*.api_key',
  '*.apiKey',
  '*.api_secret',
  '*.password',
  'headers["x-mbx-apikey"]',
  '*.headers["x-mbx-apikey"]',
  'config.binance.api_key',
];

export function createLogger(opts: { service: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: opts.service },
    redact: { paths: REDACT_PATHS, censor: '***' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination as DestinationStream) : pino(options);
}

/** A short id that ties together the log lines of one batch, poll or re-anchor. */
export function correlationId(): string {
  return randomBytes(6).toString('hex');
}

/** Remove a secret from a free-text message (error messages from libraries may echo headers or URLs). */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('***');
}
