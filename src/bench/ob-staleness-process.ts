/**
 * The reader of `bench e2e`, in a process of its own (forked by startOutsideSampler): it gets a
 * SamplerRequest, answers `ready` once connected, samples until told `stop`, then sends the summary.
 */
import { createRedis, waitForRedisReady } from '../redis/connect.js';
import { sampleObStaleness, type SamplerMessage, type SamplerRequest } from './ob-staleness.js';

const send = (m: SamplerMessage): void => {
  process.send?.(m);
};

process.once('message', (raw) => {
  const req = raw as SamplerRequest;
  void (async () => {
    try {
      const redis = createRedis({ host: req.host, port: req.port, socketTimeoutMs: 2000, connectTimeoutMs: 2000 });
      await waitForRedisReady(redis, 5000);
      let release!: () => void;
      const until = new Promise<void>((r) => (release = r));
      process.on('message', (m) => {
        if ((m as { type?: string }).type === 'stop') release();
      });
      const run = sampleObStaleness(redis, { keys: req.keys, intervalMs: req.intervalMs, until });
      send({ type: 'ready' });
      const summary = await run;
      send({ type: 'result', summary });
      redis.disconnect();
    } catch (err) {
      send({ type: 'error', error: err instanceof Error ? err.message : String(err) });
    }
    process.disconnect?.();
  })();
});
