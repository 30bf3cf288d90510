/**
 * The SBE market-data WebSocket as Binance serves it: `/ws/<stream>` and `/stream?streams=a/b/c`, the
 * X-MBX-APIKEY handshake check, live SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS/SET_PROPERTY/GET_PROPERTY,
 * bare SBE binary frames, server pings with a pong deadline, a maximum connection lifetime announced by
 * a `serverShutdown` text frame, and a bounded send buffer per connection (drop and count, never OOM).
 * Faults (drop, duplicate, delay, malformed, stall, disconnect, rotate) are applied per connection here,
 * and so are seeded serverShutdowns at random times (plain, or wrapped as a combined-stream event).
 * A connection never reorders its own frames: a delayed frame holds back everything queued after it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  corruptFrame,
  STREAM_TYPES,
  type ConnectionSelector,
  type FaultInjector,
  type ShutdownForm,
  type StreamType,
} from './faults.js';
import { HoldQueue } from './hold.js';
import { binaryFrames, frameHeaderBytes } from './ws-frames.js';
import type { MarketFrame } from './market.js';
import { Rng } from './rng.js';
import type { CloseReason, SimStats, StreamCounters } from './stats.js';

export interface SbeWsOptions {
  host: string;
  port: number;
  /** When set, only these keys may connect (401 otherwise). Any non-empty key is accepted when unset. */
  apiKeys?: ReadonlySet<string>;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  maxConnectionMs: number;
  /** Per-connection bound on bytes waiting in the socket (and in a stall queue). */
  maxBufferedBytes: number;
  /** Binance closes connections that send more than 5 messages per second. */
  maxClientMessagesPerSec: number;
  maxStreamsPerConnection: number;
  symbols: readonly string[];
  /**
   * Seeded serverShutdowns at random times: each connection gets one after 1 s plus an exponential wait of
   * this mean, then closes a second later. Off when unset.
   */
  randomShutdown?: { meanMs: number; seed: number };
}

/** How long a connection keeps streaming after a random serverShutdown before the venue closes it. */
const SHUTDOWN_GRACE_MS = 1000;
/** The longest a shutting-down connection waits for its held (delayed) frames before it closes anyway. */
const MAX_DRAIN_MS = 30_000;

/** A frame waiting in a connection's send path: SBE binary with its stream, or a JSON text frame. */
interface QueuedFrame {
  data: Uint8Array | string;
  counters?: StreamCounters;
  f?: MarketFrame;
}

const TYPE_BY_LOWER = new Map<string, StreamType>(STREAM_TYPES.map((t) => [t.toLowerCase(), t]));

interface Connection {
  id: number;
  ws: WebSocket;
  /** The upgraded TCP socket, written directly with each tick's binary frames. */
  socket: Duplex;
  /** Binary messages of the current tick not written yet, and their bytes framed. */
  out: Uint8Array[];
  outBytes: number;
  streams: Set<string>;
  combined: boolean;
  lastPongMs: number;
  lifetime: NodeJS.Timeout;
  /** Frames held during a stall. */
  queue: QueuedFrame[];
  queuedBytes: number;
  /** Frames held back by a delay, in order; nothing is sent around them. */
  hold: HoldQueue<QueuedFrame>;
  holdTimer: NodeJS.Timeout | undefined;
  holdTimerAtMs: number;
  shuttingDown: boolean;
  shutdownTimer: NodeJS.Timeout | undefined;
  randomShutdownTimer: NodeJS.Timeout | undefined;
  msgWindowMs: number;
  msgCount: number;
  closeReason?: CloseReason;
  closed: boolean;
}

type ControlId = number | string | null;

class ControlError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class SbeWebSocketServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Connection>();
  private readonly subscribers = new Map<string, Set<Connection>>();
  private readonly symbolsLower: Set<string>;
  private nextId = 1;
  private pingTimer: NodeJS.Timeout | undefined;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private disconnectEvery: number | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Connections with binary messages waiting for the end of the current synchronous fan-out. */
  private readonly pendingConns: Connection[] = [];
  private readonly shutdownRng: Rng | undefined;

  constructor(
    private readonly opts: SbeWsOptions,
    private readonly stats: SimStats,
    private readonly faults: FaultInjector,
  ) {
    this.symbolsLower = new Set(opts.symbols.map((s) => s.toLowerCase()));
    this.shutdownRng = opts.randomShutdown ? new Rng(opts.randomShutdown.seed ^ 0x5d07) : undefined;
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required');
    });
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.pingTimer = setInterval(() => this.pingAll(), this.opts.pingIntervalMs);
    const addr = this.http.address();
    return typeof addr === 'object' && addr ? addr.port : this.opts.port;
  }

  /** Number of connections subscribed to a stream (the market skips encoding when nobody listens). */
  listeners(stream: string): number {
    return this.subscribers.get(stream)?.size ?? 0;
  }

  /** Fan one market frame out to every subscriber, applying faults per connection. */
  publish(f: MarketFrame): void {
    const counters = this.stats.stream(f.stream);
    counters.generated += 1;
    const subs = this.subscribers.get(f.stream);
    if (!subs || subs.size === 0) return;
    const faulted = this.faults.framesFaulted;
    const delayOnly = faulted ? pick(subs, this.faults.delaySelector) : undefined;
    for (const conn of subs) {
      if (!faulted) {
        this.deliver(conn, f.frame(), counters, f);
        continue;
      }
      const fate = this.faults.fate(f.meta.type, delayOnly === undefined || delayOnly === conn);
      switch (fate.kind) {
        case 'send':
          this.deliver(conn, f.frame(), counters, f);
          break;
        case 'drop':
          counters.dropped += 1;
          this.logFault(conn, f, 'drop');
          break;
        case 'duplicate':
          counters.duplicated += 1;
          this.logFault(conn, f, 'duplicate');
          this.deliver(conn, f.frame(), counters, f);
          this.deliver(conn, f.frame(), counters, f);
          break;
        case 'malformed':
          counters.malformed += 1;
          this.logFault(conn, f, 'malformed');
          this.deliver(conn, corruptFrame(f.frame(), fate.corruption), counters, f);
          break;
        case 'delay': {
          const data = f.frame();
          if (!this.hold(conn, { data, counters, f }, data.length, Date.now() + fate.ms)) break;
          counters.delayed += 1;
          this.logFault(conn, f, 'delay');
          break;
        }
      }
    }
  }

  /** Send now, or behind the frames this connection is holding back (never around them). */
  private deliver(conn: Connection, data: Uint8Array | string, counters?: StreamCounters, f?: MarketFrame): void {
    if (conn.hold.length > 0) {
      this.hold(conn, { data, counters, f }, typeof data === 'string' ? data.length : data.length, Date.now());
      return;
    }
    this.transmit(conn, data, counters, f);
  }

  /** Queue a frame in the connection's in-order hold; false (and counted) when the hold is full. */
  private hold(conn: Connection, item: QueuedFrame, bytes: number, releaseAtMs: number): boolean {
    if (conn.closed) return false;
    // Held frames count against the same per-connection bound as the socket buffer.
    if (typeof item.data !== 'string' && conn.hold.bytes + bytes > this.opts.maxBufferedBytes) {
      if (item.counters && item.f) {
        item.counters.overflowed += 1;
        this.logFault(conn, item.f, 'overflow');
      }
      return false;
    }
    conn.hold.push(item, bytes, releaseAtMs);
    this.armHold(conn);
    return true;
  }

  private armHold(conn: Connection): void {
    const next = conn.hold.nextReleaseMs();
    if (next === undefined || conn.closed) return;
    if (conn.holdTimer && conn.holdTimerAtMs <= next) return;
    if (conn.holdTimer) clearTimeout(conn.holdTimer);
    conn.holdTimerAtMs = next;
    conn.holdTimer = setTimeout(() => this.releaseHeld(conn), Math.max(0, next - Date.now()));
  }

  private releaseHeld(conn: Connection): void {
    conn.holdTimer = undefined;
    if (conn.closed) return;
    for (const item of conn.hold.takeDue(Date.now())) this.transmit(conn, item.data, item.counters, item.f);
    this.armHold(conn);
  }

  /** Re-arm the timers of connection-level faults after the fault spec changed. */
  faultsChanged(): void {
    const every = this.faults.disconnectEverySeconds;
    if (every !== this.disconnectEvery) {
      if (this.disconnectTimer) clearInterval(this.disconnectTimer);
      this.disconnectTimer = undefined;
      this.disconnectEvery = every;
      if (every !== undefined) {
        this.disconnectTimer = setInterval(() => {
          for (const c of this.conns) this.terminate(c, 'fault_disconnect');
        }, every * 1000);
      }
    }
    if (this.stallTimer) clearTimeout(this.stallTimer);
    const until = this.faults.stalledUntil(Date.now());
    if (until > 0) {
      this.stallTimer = setTimeout(() => this.flushStalled(), until - Date.now() + 1);
    } else {
      this.flushStalled();
    }
    const rotate = this.faults.takeRotate();
    if (rotate) {
      const open = [...this.conns].filter((c) => !c.shuttingDown);
      const targets = rotate.connection === 'all' ? open : [pick(open, rotate.connection)].filter((c) => c !== undefined);
      for (const c of targets) this.shutdown(c, rotate.form ?? (c.combined ? 'combined' : 'plain'), 'rotate', rotate.closeAfterMs);
    }
  }

  /**
   * serverShutdown now (in order with the frames already queued), keep streaming for `closeAfterMs`, then
   * close once the frames held back for this connection have gone out.
   */
  private shutdown(conn: Connection, form: ShutdownForm, cause: 'rotate' | 'shutdown' | 'lifetime', closeAfterMs: number): void {
    if (conn.closed || conn.shuttingDown) return;
    conn.shuttingDown = true;
    conn.closeReason ??= cause === 'lifetime' ? 'lifetime' : 'server_shutdown';
    const event = { e: 'serverShutdown', E: Date.now() };
    this.deliver(conn, JSON.stringify(form === 'combined' ? { stream: '!serverShutdown', data: event } : event));
    if (cause !== 'lifetime') this.faults.record({ atMs: event.E, connectionId: conn.id, stream: '', kind: cause, form });
    const deadline = Date.now() + closeAfterMs + MAX_DRAIN_MS;
    const close = (): void => {
      conn.shutdownTimer = undefined;
      if (conn.closed) return;
      const next = conn.hold.nextReleaseMs();
      if (next !== undefined && Date.now() < deadline) {
        conn.shutdownTimer = setTimeout(close, Math.max(1, next - Date.now() + 1));
        return;
      }
      this.flushOut(conn);
      conn.ws.close(1000, cause === 'lifetime' ? 'connection lifetime reached' : 'server shutdown');
      // A peer that never completes the close handshake is cut off.
      conn.shutdownTimer = setTimeout(() => {
        if (!conn.closed) this.terminate(conn, conn.closeReason ?? 'server_shutdown');
      }, 2000);
      conn.shutdownTimer.unref();
    };
    if (closeAfterMs === 0 && conn.hold.length === 0) close();
    else conn.shutdownTimer = setTimeout(close, closeAfterMs);
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.disconnectTimer) clearInterval(this.disconnectTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    for (const c of this.conns) this.terminate(c, 'server_stop');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private logFault(conn: Connection, f: MarketFrame, kind: 'drop' | 'duplicate' | 'delay' | 'malformed' | 'overflow') {
    const m = f.meta;
    this.faults.record({
      atMs: Date.now(),
      connectionId: conn.id,
      stream: f.stream,
      kind,
      ...(m.type === 'depth' ? { firstUpdateId: m.firstUpdateId, lastUpdateId: m.lastUpdateId } : {}),
      ...(m.type === 'trade' ? { firstTradeId: m.firstTradeId, lastTradeId: m.lastTradeId } : {}),
    });
  }

  /** Write one frame to the socket, or to the stall queue while a stall lasts (bounded; overflow counted). */
  private transmit(conn: Connection, data: Uint8Array | string, counters?: StreamCounters, f?: MarketFrame): void {
    if (conn.closed) return;
    if (typeof data === 'string') {
      if (this.faults.stalledUntil(Date.now()) > 0 || conn.queue.length > 0) conn.queue.push({ data, counters, f });
      else this.sendText(conn, data);
      return;
    }
    if (this.faults.stalledUntil(Date.now()) > 0 || conn.queue.length > 0) {
      if (conn.queuedBytes + data.length > this.opts.maxBufferedBytes) {
        if (counters && f) {
          counters.overflowed += 1;
          this.logFault(conn, f, 'overflow');
        }
        return;
      }
      if (counters) counters.stalled += 1;
      conn.queue.push({ data, counters, f });
      conn.queuedBytes += data.length;
      return;
    }
    if (conn.ws.bufferedAmount + conn.outBytes + data.length > this.opts.maxBufferedBytes) {
      if (counters && f) {
        counters.overflowed += 1;
        this.logFault(conn, f, 'overflow');
      }
      return;
    }
    this.queueOut(conn, data);
    if (counters) counters.sent += 1;
  }

  /**
   * Keep a binary message until the current synchronous fan-out ends; then the tick's messages go out as
   * one buffer of ready-made frames in one socket write (per-frame sends cost more than the write itself).
   */
  private queueOut(conn: Connection, data: Uint8Array): void {
    if (conn.out.push(data) === 1 && this.pendingConns.push(conn) === 1) queueMicrotask(() => this.flushAll());
    conn.outBytes += frameHeaderBytes(data.length) + data.length;
  }

  private flushAll(): void {
    for (const c of this.pendingConns) this.flushOut(c);
    this.pendingConns.length = 0;
  }

  /**
   * Write a connection's waiting binary messages now. Everything else written to the connection (text
   * frames, pings, the close frame) goes through here first, so nothing overtakes a queued frame.
   */
  private flushOut(conn: Connection): void {
    if (conn.out.length === 0) return;
    const frames = binaryFrames(conn.out);
    conn.out = [];
    conn.outBytes = 0;
    // As ws.send: nothing is written once the closing handshake has begun.
    if (!conn.closed && conn.ws.readyState === WebSocket.OPEN && conn.socket.writable) conn.socket.write(frames);
  }

  private sendText(conn: Connection, text: string): void {
    this.flushOut(conn);
    conn.ws.send(text);
  }

  private flushStalled(): void {
    if (this.faults.stalledUntil(Date.now()) > 0) return;
    for (const conn of this.conns) {
      const q = conn.queue;
      conn.queue = [];
      conn.queuedBytes = 0;
      if (conn.closed) continue;
      for (const item of q) {
        if (typeof item.data === 'string') {
          this.sendText(conn, item.data);
          continue;
        }
        this.queueOut(conn, item.data);
        if (item.counters) item.counters.sent += 1;
      }
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = req.headers['x-mbx-apikey'];
    if (typeof key !== 'string' || key.trim() === '') {
      return rejectHandshake(socket, 400, 'Bad Request', 'No X-MBX-APIKEY header');
    }
    if (this.opts.apiKeys && !this.opts.apiKeys.has(key.trim())) {
      // Never echo the key back: it is a secret even when wrong.
      return rejectHandshake(socket, 401, 'Unauthorized', 'Invalid API-key: the X-MBX-APIKEY header names an unknown key');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    let requested: string[];
    let combined: boolean;
    if (url.pathname === '/ws' || url.pathname === '/ws/') {
      requested = [];
      combined = false;
    } else if (url.pathname.startsWith('/ws/')) {
      requested = [decodeURIComponent(url.pathname.slice(4))];
      combined = false;
    } else if (url.pathname === '/stream' || url.pathname === '/stream/') {
      requested = (url.searchParams.get('streams') ?? '').split('/').filter((s) => s !== '');
      combined = true;
    } else {
      return rejectHandshake(socket, 404, 'Not Found', `Unknown path ${url.pathname}; use /ws/<stream> or /stream?streams=a/b`);
    }
    const streams: string[] = [];
    for (const r of requested) {
      const s = this.canonicalStream(r);
      if (!s) return rejectHandshake(socket, 400, 'Bad Request', `Invalid stream name: ${r.slice(0, 100)}`);
      streams.push(s);
    }
    if (streams.length > this.opts.maxStreamsPerConnection) {
      return rejectHandshake(socket, 400, 'Bad Request', `Too many streams (max ${this.opts.maxStreamsPerConnection})`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, streams, combined));
  }

  private canonicalStream(name: string): string | undefined {
    const at = name.indexOf('@');
    if (at <= 0) return undefined;
    const sym = name.slice(0, at).toLowerCase();
    const type = TYPE_BY_LOWER.get(name.slice(at + 1).toLowerCase());
    if (!type || !this.symbolsLower.has(sym)) return undefined;
    return `${sym}@${type}`;
  }

  private onConnection(ws: WebSocket, socket: Duplex, streams: string[], combined: boolean): void {
    const now = Date.now();
    const conn: Connection = {
      id: this.nextId++,
      ws,
      socket,
      out: [],
      outBytes: 0,
      streams: new Set(),
      combined,
      lastPongMs: now,
      lifetime: setTimeout(() => this.expire(conn), this.opts.maxConnectionMs),
      queue: [],
      queuedBytes: 0,
      hold: new HoldQueue<QueuedFrame>(),
      holdTimer: undefined,
      holdTimerAtMs: 0,
      shuttingDown: false,
      shutdownTimer: undefined,
      randomShutdownTimer: undefined,
      msgWindowMs: now,
      msgCount: 0,
      closed: false,
    };
    this.conns.add(conn);
    this.stats.connectionOpened();
    if (this.shutdownRng && this.opts.randomShutdown) {
      const rng = this.shutdownRng;
      const afterMs = 1000 + rng.exponential(this.opts.randomShutdown.meanMs);
      // Combined connections get either form: clients must accept both.
      const form: ShutdownForm = combined && rng.chance(0.5) ? 'combined' : 'plain';
      conn.randomShutdownTimer = setTimeout(() => this.shutdown(conn, form, 'shutdown', SHUTDOWN_GRACE_MS), afterMs);
    }
    for (const s of streams) this.subscribe(conn, s);
    ws.on('pong', () => {
      conn.lastPongMs = Date.now();
    });
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('error', () => undefined);
    ws.on('close', () => this.onClose(conn));
  }

  private onClose(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.lifetime);
    if (conn.holdTimer) clearTimeout(conn.holdTimer);
    if (conn.shutdownTimer) clearTimeout(conn.shutdownTimer);
    if (conn.randomShutdownTimer) clearTimeout(conn.randomShutdownTimer);
    conn.hold.clear();
    for (const s of conn.streams) this.subscribers.get(s)?.delete(conn);
    conn.streams.clear();
    conn.queue = [];
    conn.out = [];
    conn.outBytes = 0;
    this.conns.delete(conn);
    this.stats.connectionClosed(conn.closeReason ?? 'client');
  }

  private terminate(conn: Connection, reason: CloseReason): void {
    conn.closeReason ??= reason;
    conn.ws.terminate();
    this.onClose(conn);
  }

  private expire(conn: Connection): void {
    if (conn.shuttingDown && conn.shutdownTimer) clearTimeout(conn.shutdownTimer);
    conn.shuttingDown = false;
    this.shutdown(conn, 'plain', 'lifetime', 0);
  }

  private pingAll(): void {
    const now = Date.now();
    for (const conn of this.conns) {
      if (now - conn.lastPongMs > this.opts.pongTimeoutMs) {
        this.terminate(conn, 'pong_timeout');
      } else {
        this.flushOut(conn);
        conn.ws.ping(Buffer.from(String(now)));
      }
    }
  }

  private subscribe(conn: Connection, stream: string): void {
    conn.streams.add(stream);
    let set = this.subscribers.get(stream);
    if (!set) {
      set = new Set();
      this.subscribers.set(stream, set);
    }
    set.add(conn);
  }

  private unsubscribe(conn: Connection, stream: string): void {
    conn.streams.delete(stream);
    this.subscribers.get(stream)?.delete(conn);
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    const now = Date.now();
    if (now - conn.msgWindowMs >= 1000) {
      conn.msgWindowMs = now;
      conn.msgCount = 0;
    }
    conn.msgCount += 1;
    if (conn.msgCount > this.opts.maxClientMessagesPerSec) {
      conn.closeReason ??= 'message_rate';
      this.flushOut(conn);
      conn.ws.close(1008, 'Too many messages');
      return;
    }
    if (isBinary) {
      this.reply(conn, { error: { code: 3, msg: 'Invalid JSON: requests must be JSON text frames' }, id: null });
      return;
    }
    let id: ControlId = null;
    try {
      let req: unknown;
      try {
        req = JSON.parse(rawText(data));
      } catch (err) {
        throw new ControlError(3, `Invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (typeof req !== 'object' || req === null || Array.isArray(req)) {
        throw new ControlError(2, 'Invalid request: expected a JSON object');
      }
      const r = req as Record<string, unknown>;
      id = parseId(r.id);
      const result = this.control(conn, r.method, r.params);
      this.reply(conn, { result, id });
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      this.reply(conn, { error: { code: err.code, msg: err.message }, id });
    }
  }

  private control(conn: Connection, method: unknown, params: unknown): unknown {
    switch (method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        const names = streamParams(params);
        const canonical = names.map((n) => {
          const s = this.canonicalStream(n);
          if (!s) throw new ControlError(2, `Invalid request: invalid stream name ${JSON.stringify(n.slice(0, 100))}`);
          return s;
        });
        if (method === 'SUBSCRIBE') {
          const after = new Set([...conn.streams, ...canonical]);
          if (after.size > this.opts.maxStreamsPerConnection) {
            throw new ControlError(2, `Invalid request: too many streams (max ${this.opts.maxStreamsPerConnection})`);
          }
          for (const s of canonical) this.subscribe(conn, s);
        } else {
          for (const s of canonical) this.unsubscribe(conn, s);
        }
        return null;
      }
      case 'LIST_SUBSCRIPTIONS':
        return [...conn.streams];
      case 'SET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 2) {
          throw new ControlError(2, 'Invalid request: SET_PROPERTY needs params [name, value]');
        }
        if (params[0] !== 'combined') throw new ControlError(0, 'Unknown property');
        if (typeof params[1] !== 'boolean') throw new ControlError(1, 'Invalid value type: expected Boolean');
        conn.combined = params[1];
        return null;
      }
      case 'GET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 1) {
          throw new ControlError(2, 'Invalid request: GET_PROPERTY needs params [name]');
        }
        if (params[0] !== 'combined') throw new ControlError(0, 'Unknown property');
        return conn.combined;
      }
      default:
        throw new ControlError(
          2,
          `Invalid request: unknown method ${JSON.stringify(method ?? null)}, expected one of SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY`,
        );
    }
  }

  private reply(conn: Connection, body: unknown): void {
    if (!conn.closed) this.sendText(conn, JSON.stringify(body));
  }
}

/** The oldest or newest of some connections (by id), or undefined for "all" / none. */
function pick(conns: Iterable<Connection>, which: ConnectionSelector): Connection | undefined {
  if (which === 'all') return undefined;
  let out: Connection | undefined;
  for (const c of conns) {
    if (!out || (which === 'oldest' ? c.id < out.id : c.id > out.id)) out = c;
  }
  return out;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function parseId(id: unknown): ControlId {
  if (id === undefined || id === null) return null;
  if (typeof id === 'number' && Number.isInteger(id)) return id;
  if (typeof id === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(id)) return id;
  throw new ControlError(2, 'Invalid request: id must be an integer, an alphanumeric string of at most 36 characters, or null');
}

function streamParams(params: unknown): string[] {
  if (!Array.isArray(params) || params.length === 0 || !params.every((p) => typeof p === 'string')) {
    throw new ControlError(2, 'Invalid request: params must be a non-empty array of stream names');
  }
  return params as string[];
}

function rejectHandshake(socket: Duplex, status: number, reason: string, body: string): void {
  // An upgrade socket has no error listener of its own: a client that resets it after reading the
  // refusal (ECONNRESET) must not become an uncaught error in the simulator.
  socket.on('error', () => undefined);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
