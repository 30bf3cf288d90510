import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

let processMetrics: Registry | undefined;

/**
 * Node's process metrics, collected once per process. prom-client's GC histogram observes through a global
 * PerformanceObserver that is never disconnected, and it holds the registry it was made for: made for each
 * service's own registry, it kept every stopped service alive with all its state (each in-process aggregator
 * of `bench e2e` stayed in the heap, ~5–11 MB a run, and the GC pauses grew with them).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** A per-service Prometheus registry: its own metrics and the process metrics, all labelled with `service`. */
export function createRegistry(service: string): Registry {
  // merge() makes a registry of its own that lists the shared process metrics; nothing shared points back at it.
  const registry = Registry.merge([processRegistry(), new Registry()]);
  registry.setDefaultLabels({ service });
  return registry;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serve `GET /metrics` (Prometheus text format) on its own port, as the seeds' deployments expect. */
export async function startMetricsServer(registry: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}`);
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try GET /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
