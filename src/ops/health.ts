import Fastify, { type FastifyInstance } from 'fastify';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface HealthReport {
  status: HealthStatus;
  service: string;
  components: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface HealthSource {
  health(): HealthReport | Promise<HealthReport>;
  stats(): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface HealthServer {
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * `GET /health` (200 while healthy or degraded, 503 when unhealthy, so load balancers act on it) and
 * `GET /stats`. Extra routes (e.g. the dashboard) can be added by the caller through `app`.
 */
export async function startHealthServer(source: HealthSource, port: number, host = '0.0.0.0'): Promise<HealthServer> {
  const app = Fastify({ logger: false });
  app.get('/health', async (_req, reply) => {
    const report = await source.health();
    reply.code(report.status === 'unhealthy' ? 503 : 200);
    return report;
  });
  app.get('/stats', async () => source.stats());
  await app.listen({ port, host });
  const addr = app.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    app,
    close: () => app.close(),
  };
}

/** The worst of several component statuses. */
export function worstStatus(statuses: HealthStatus[]): HealthStatus {
  if (statuses.includes('unhealthy')) return 'unhealthy';
  if (statuses.includes('degraded')) return 'degraded';
  return 'healthy';
}
