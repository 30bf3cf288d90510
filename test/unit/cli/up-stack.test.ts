import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { busyPortMessage, parseProcNetTcp, parseSsListeners } from '../../../src/chaos/port-holder.js';
import { parseProcStat } from '../../../src/chaos/launcher-watch.js';
import { configuredPorts, parseSymbolList, serviceNodeArgs, stackConfigDoc } from '../../../src/chaos/stack.js';

const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F9A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F9A 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000 20 4 30 10 -1
   2: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
`;

describe('busy ports', () => {
  it('reads listening sockets (state 0A) with their port and inode from /proc/net/tcp', () => {
    expect(parseProcNetTcp(PROC_NET_TCP)).toEqual([
      { port: 8090, inode: 123456 },
      { port: 6379, inode: 777 },
    ]);
  });

  it('reads the holder of a port from `ss -ltnpH`', () => {
    const ss = 'LISTEN 0 511 127.0.0.1:6379 0.0.0.0:* users:(("redis-server",pid=4242,fd=6))\nLISTEN 0 511 127.0.0.1:16379 0.0.0.0:* users:(("x",pid=1,fd=3))\n';
    expect(parseSsListeners(ss, 6379)).toEqual({ pid: 4242, command: 'redis-server' });
    expect(parseSsListeners(ss, 379)).toBeUndefined();
  });

  it('one line naming the port, its purpose and its holder', () => {
    expect(busyPortMessage(8090, 'simulator REST', { pid: 12, command: 'node x.js' })).toBe('port 8090 (simulator REST) is already in use by pid 12 (node x.js)');
    expect(busyPortMessage(6379, 'redis-server', {})).toMatch(/^port 6379 \(redis-server\) is already in use by a process this user cannot see/);
  });
});

describe('stack config', () => {
  it('ports come from the config, services default to their mode ports', () => {
    const p = configuredPorts({
      binance: { sbe_ws_url: 'ws://127.0.0.1:9443', rest_base_url: 'http://127.0.0.1:8090' },
      aws: { endpoint_url: 'http://127.0.0.1:4568' },
      modes: { rest: { health: { port: 18081 } } },
    });
    expect(p).toMatchObject({ redis: 6379, kinesis: 4568, kinesisTls: 4567, simRest: 8090, simWs: 9443 });
    expect(p.health).toEqual({ aggregator: 8082, 'ingest-sbe': 8080, 'ingest-rest': 18081, archive: 8083 });
    expect(p.metrics).toEqual({ aggregator: 9091, 'ingest-sbe': 9090, 'ingest-rest': 9092, archive: 9093 });
  });

  it('the derived document round-trips its ports and keeps everything else', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1024, max: 65535 }), { minLength: 13, maxLength: 13 }), (n) => {
        const ports = {
          redis: n[0], kinesis: n[1], kinesisTls: n[2], simRest: n[3], simWs: n[4],
          health: { aggregator: n[5], 'ingest-sbe': n[6], 'ingest-rest': n[7], archive: n[11] },
          metrics: { aggregator: n[8], 'ingest-sbe': n[9], 'ingest-rest': n[10], archive: n[12] },
        };
        const raw = { binance: { api_key: '${BINANCE_API_KEY:-k}', symbols: ['BTCUSDT'] }, logging: { level: 'info' } };
        const doc = stackConfigDoc(raw, ports, { symbols: ['ETHUSDT'], lakeRoot: '/tmp/lake', settings: [['scheduler.poll_interval_seconds', 5]] });
        const back = configuredPorts(doc);
        expect({ ...back, kinesisTls: ports.kinesisTls }).toEqual(ports);
        expect(doc).toMatchObject({ binance: { api_key: '${BINANCE_API_KEY:-k}', symbols: ['ETHUSDT'] }, logging: { level: 'info' }, lake: { root: '/tmp/lake' }, scheduler: { poll_interval_seconds: 5 } });
        expect(raw.binance.symbols).toEqual(['BTCUSDT']);
      }),
    );
  });

  it('--symbols: upper-cased, de-duplicated, a bad one named', () => {
    expect(parseSymbolList('btcusdt, ETHUSDT,BTCUSDT')).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(() => parseSymbolList(' , ')).toThrow('--symbols needs at least one symbol');
    expect(() => parseSymbolList('BTCUSDT,ETH/USDT')).toThrow('"ETH/USDT" is not a Binance symbol');
  });

  it('heap caps: the aggregator and the archiver get one, the others none, and the user\'s NODE_OPTIONS wins', () => {
    expect(serviceNodeArgs('aggregator', '')).toEqual(['--max-old-space-size=256']);
    expect(serviceNodeArgs('archive', '--enable-source-maps')).toEqual(['--max-old-space-size=192']);
    expect(serviceNodeArgs('ingest-sbe', '')).toEqual([]);
    expect(serviceNodeArgs('sim', '')).toEqual([]);
    expect(serviceNodeArgs('aggregator', '--max-old-space-size=1024')).toEqual([]);
  });

  it('/proc/<pid>/stat: parent, start time and CPU ticks after a command holding spaces and parentheses', () => {
    const text = '4242 (node (x) y) S 17 4242 4242 0 -1 4194304 100 0 0 0 31 12 0 0 20 0 11 0 987654 1000 10 18446744073709551615';
    // utime 31 + stime 12 (fields 14 and 15); the children's times after them are not ours.
    expect(parseProcStat(text)).toEqual({ ppid: 17, startTime: '987654', cpuTicks: 43 });
  });
});
