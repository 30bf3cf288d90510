/** The aggregator's per-batch logger. */
import { correlationId, type Logger } from '../ops/logger.js';

/**
 * The logger of one batch: its lines carry a correlation id and the stream. Made on first use only: a batch
 * that logs nothing (nearly all of them, several a second) pays for neither the id nor the child logger.
 */
export function batchLogger(logger: Logger, stream: string): Logger {
  let child: Logger | undefined;
  const real = (): Logger => (child ??= logger.child({ cid: correlationId(), stream }));
  return new Proxy(logger, {
    get(_target, prop) {
      const l = real();
      const v: unknown = Reflect.get(l, prop, l);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
  });
}
