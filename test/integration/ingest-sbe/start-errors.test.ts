/**
 * Start-up and authentication failures: no API key stops the service before it starts, with an error
 * naming the key; a key the venue refuses is logged (never printed), and after max_reconnect_attempts the
 * service is degraded (health, alert log, connection-status metric -1).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/ops/config.js';
import { startSimulator } from '../../../src/sim/index.js';
import { createSbeIngestService } from '../../../src/services/ingest-sbe.js';
import { runService } from '../../../src/services/service.js';
import { sharedKinesisEndpoint } from '../../support/servers.js';
import { API_KEY, captureLogger, getJson, ingestConfig, waitFor } from './harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

describe('SBE ingestor start-up errors', () => {
  it('refuses to start without an API key, naming the key', () => {
    const opts = { wsUrl: 'ws://127.0.0.1:9', kinesisEndpoint: 'http://127.0.0.1:9' };
    expect(() => ingestConfig({ ...opts, apiKey: null })).toThrow(ConfigError);
    expect(() => ingestConfig({ ...opts, apiKey: null })).toThrow(/binance\.api_key: required in sbe mode/);
    const config = ingestConfig(opts);
    const { logger } = captureLogger();
    expect(() => createSbeIngestService({ ...config, binance: { ...config.binance, api_key: undefined } }, logger)).toThrow(/binance\.api_key/);
  });

  it('logs a refused key without printing it and degrades after max_reconnect_attempts', async () => {
    const sim = await startSimulator({ seed: 3, apiKeys: ['some-other-key'] });
    cleanups.push(() => sim.stop());
    const config = ingestConfig({
      wsUrl: sim.wsUrl,
      kinesisEndpoint: sharedKinesisEndpoint(),
      binance: { max_reconnect_attempts: 3, reconnect_interval_seconds: 0.02, reconnect_max_interval_seconds: 0.1 },
    });
    const log = captureLogger();
    const running = await runService(createSbeIngestService(config, log.logger), config, log.logger);
    cleanups.push(() => running.stop());
    const base = `http://127.0.0.1:${running.health.port}`;

    await waitFor(async () => (await getJson<{ status: string }>(`${base}/health`)).status === 'degraded' && log.text().includes('SBE_RECONNECTION_FAILED'), 20_000, 'degraded');
    const healthText = await (await fetch(`${base}/health`)).text();
    const health = JSON.parse(healthText) as { status: string; components: { sbe_websocket: { status: string; reconnect_count: number } } };
    expect(health.status).toBe('degraded');
    expect(health.components.sbe_websocket.status).toBe('degraded');
    expect(health.components.sbe_websocket.reconnect_count).toBeGreaterThanOrEqual(3);

    const lines = log.lines();
    const refused = lines.filter((l) => l.msg === 'SBE WebSocket handshake refused');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0].http_status).toBe(401);
    const alert = lines.find((l) => l.alert === 'SBE_RECONNECTION_FAILED');
    expect(alert?.level).toBe(50); // pino error

    const metricsText = await (await fetch(`http://127.0.0.1:${running.metrics?.port}/metrics`)).text();
    expect(metricsText).toMatch(/ingestor_sbe_connection_status\{[^}]*\} -1\n/);
    expect(metricsText).toMatch(/ingestor_sbe_degraded_total\{[^}]*\} 1\n/);
    const statsText = await (await fetch(`${base}/stats`)).text();
    for (const text of [log.text(), healthText, statsText, metricsText]) expect(text).not.toContain(API_KEY);
  });
});
