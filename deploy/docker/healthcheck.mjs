// Container health check (Docker HEALTHCHECK, ECS healthCheck, compose): exit 0 when the process answers
// 200 on HEALTH_PATH (default /health: 200 while healthy or degraded, 503 unhealthy), 1 otherwise.
// HEALTH_PORT is the service's port (default 8080, the SBE ingestor's).
import { request } from 'node:http';
import process from 'node:process';

const port = Number(process.env.HEALTH_PORT ?? 8080);
const path = process.env.HEALTH_PATH ?? '/health';
const req = request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
