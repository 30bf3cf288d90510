import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RestAggTrade, RestKline } from '../../../src/binance/rest-types.js';

/**
 * A loopback venue serving /api/v3/aggTrades and /api/v3/klines from in-test lists with Binance's
 * paging semantics (fromId | startTime, limit). Records every query it answered.
 */
export class HistoryVenue {
  aggTrades: RestAggTrade[] = [];
  klines: RestKline[] = [];
  readonly queries: URLSearchParams[] = [];
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const q = u.searchParams;
      this.queries.push(q);
      const limit = Math.min(Number(q.get('limit') ?? 500), 1000);
      let body: unknown;
      if (u.pathname === '/api/v3/aggTrades') {
        const fromId = q.get('fromId');
        const startTime = q.get('startTime');
        let rows = this.aggTrades;
        if (fromId !== null) rows = rows.filter((t) => t.a >= Number(fromId));
        else if (startTime !== null) rows = rows.filter((t) => t.T >= Number(startTime));
        else rows = rows.slice(-limit);
        body = rows.slice(0, limit);
      } else if (u.pathname === '/api/v3/klines') {
        const startTime = Number(q.get('startTime') ?? 0);
        body = this.klines.filter((k) => k[0] >= startTime).slice(0, limit);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: -1000, msg: 'not served' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-mbx-used-weight-1m': '1' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** `n` contiguous agg trades from id `firstId`, one every `stepMs` from `t0`, with varied exact prices. */
export function makeAggTrades(firstId: number, n: number, t0: number, stepMs: number): RestAggTrade[] {
  return Array.from({ length: n }, (_, i) => ({
    a: firstId + i,
    p: `${97000 + (i % 50)}.${String(i % 100).padStart(2, '0')}000000`,
    q: `0.${String((i * 7919) % 100000000).padStart(8, '0')}`,
    f: 3 * (firstId + i),
    l: 3 * (firstId + i) + 2,
    T: t0 + i * stepMs,
    m: i % 3 === 0,
    M: true,
  }));
}

export function makeKline(openTime: number, i: number): RestKline {
  return [
    openTime, `${97000 + i}.10`, `${97010 + i}.00`, `${96990 + i}.50`, `${97005 + i}.01`, `${12 + i}.00010000`,
    openTime + 59_999, `${1_000_000 + i}.12345678`, 100 + i, `${6 + i}.5`, `${500_000 + i}.25`, '0',
  ];
}
