// Container health check (Docker HEALTHCHECK, ECS healthCheck): exit 0 when the service's /health answers
// 200 (healthy or degraded), 1 otherwise. The port is the service's: HEALTH_PORT, default 8080.
import { request } from 'node:http';
import process from 'node:process';

const port = Number(process.env.HEALTH_PORT ?? 8080);
const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 3000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
