/**
 * The reader of `bench e2e`, in a process of its own (forked by startOutsideSampler): it gets a
 * SamplerRequest, answers `ready` once connected and samples; `cut` answers the summary of the phase so far
 * and sampling goes on; `stop` ends it and answers the last phase's summary.
 */
import { createRedis, waitForRedisReady } from '../redis/connect.js';
import { StalenessSampling, type SamplerCommand, type SamplerMessage, type SamplerRequest } from './ob-staleness.js';

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
      const sampling = new StalenessSampling(redis, req.keys, req.intervalMs);
      process.on('message', (m) => {
        const command = (m as SamplerCommand).type;
        if (command === 'cut') send({ type: 'result', summary: sampling.cut() });
        else if (command === 'stop') release();
      });
      const run = sampling.run(until);
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
