import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { fullJitterBackoff } from '../kinesis/backoff.js';

/**
 * The SBE market-data WebSocket, kept alive: watchdog on silence, exponential backoff with full jitter,
 * Binance's 300-attempts-per-5-minutes limit, rotation through an overlapping second connection before
 * the venue's 24 h cut, `serverShutdown` handled at once, and a degraded state after too many failures.
 * It hands binary frames to `onFrame` with the id of the connection they came on, and reports each
 * connection's close to `onConnectionClose`, so the caller can merge overlapping connections in order;
 * it does not decode (that is the caller's, so the codec stays pure).
 */

/**
 * Read per frame, so neither goes through a getter: the imported `performance` (the global one is a lazy
 * accessor on every use) and its timeOrigin (a native call each time; it never changes).
 */
const TIME_ORIGIN_MS = performance.timeOrigin;

export type SbeStreamType = 'trade' | 'bestBidAsk' | 'depth' | 'depth20';

export interface SbeStreamClientOptions {
  /** e.g. wss://stream-sbe.binance.com:9443 — the path is added here. */
  baseUrl: string;
  apiKey: string;
  symbols: string[];
  streamTypes: SbeStreamType[];
  /** Frames of one connection arrive in the venue's order; during a rotation two connections overlap. */
  onFrame: (frame: Buffer, recvTsUs: number, connectionId: number) => void;
  /** Called once per connection when it closes (after its last frame), however it ended. */
  onConnectionClose?: (connectionId: number) => void;
  watchdogMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  maxReconnectAttempts?: number;
  /** Rotate before this age (Binance cuts at 24 h). */
  maxConnectionAgeMs?: number;
  /** Keep the old connection this long after the new one delivers, so nothing falls between them. */
  rotationOverlapMs?: number;
  /** Binance: 300 connection attempts per 5 minutes per IP. */
  attemptLimit?: { max: number; windowMs: number };
  handshakeTimeoutMs?: number;
  logger?: StreamLogger;
  random?: () => number;
}

export interface StreamLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type ConnectionStatus = 'connecting' | 'connected' | 'degraded' | 'stopped';

export interface SbeStreamStats {
  status: ConnectionStatus;
  connected: boolean;
  last_message_age_ms: number | null;
  messages_per_second: number;
  messages_total: number;
  text_messages_total: number;
  reconnect_count: number;
  rotations: number;
  consecutive_failures: number;
  degraded: boolean;
  connection_attempts_5m: number;
  current_connection_age_s: number | null;
}

interface Conn {
  id: number;
  ws: WebSocket;
  openedAt: number;
  delivered: boolean;
  retiring: boolean;
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)) (the shared policy). */
export function reconnectDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  return fullJitterBackoff(attempt, baseMs, capMs, random);
}

/** The stream path for symbols × stream types, e.g. /stream?streams=btcusdt@trade/btcusdt@depth */
export function streamPath(symbols: string[], types: SbeStreamType[]): string {
  const names = symbols.flatMap((s) => types.map((t) => `${s.toLowerCase()}@${t}`));
  return `/stream?streams=${names.join('/')}`;
}

export class SbeStreamClient extends EventEmitter {
  private readonly o: Required<Omit<SbeStreamClientOptions, 'logger' | 'onConnectionClose'>> &
    Pick<SbeStreamClientOptions, 'logger' | 'onConnectionClose'>;
  private primary?: Conn;
  private candidate?: Conn;
  private nextId = 1;
  private stopped = true;
  private failures = 0;
  private reconnects = 0;
  private rotations = 0;
  private degraded = false;
  private attempts: number[] = [];
  private lastFrameAt = 0;
  private messages = 0;
  private textMessages = 0;
  private rateWindow: { at: number; count: number } = { at: Date.now(), count: 0 };
  private rate = 0;
  private watchdog?: NodeJS.Timeout;
  private rotationTimer?: NodeJS.Timeout;
  // One timer per role: a pending rotation retry must never cancel a pending primary reconnect.
  private readonly reconnectTimers: Record<'primary' | 'candidate', NodeJS.Timeout | undefined> = { primary: undefined, candidate: undefined };
  /** Old connections kept open for the rotation overlap; closed by stop() too, so none outlives the client. */
  private readonly retiring = new Set<Conn>();

  constructor(opts: SbeStreamClientOptions) {
    super();
    if (!opts.apiKey) throw new Error('SbeStreamClient: an API key is required (X-MBX-APIKEY)');
    if (!opts.symbols.length || !opts.streamTypes.length) throw new Error('SbeStreamClient: no streams to subscribe');
    this.o = {
      watchdogMs: 30_000,
      backoffBaseMs: 1000,
      backoffCapMs: 60_000,
      maxReconnectAttempts: 10,
      maxConnectionAgeMs: 23.5 * 3600_000,
      rotationOverlapMs: 2000,
      attemptLimit: { max: 300, windowMs: 300_000 },
      handshakeTimeoutMs: 10_000,
      random: Math.random,
      ...opts,
    };
  }

  get url(): string {
    return this.o.baseUrl.replace(/\/+$/, '') + streamPath(this.o.symbols, this.o.streamTypes);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.max(50, Math.min(1000, this.o.watchdogMs / 4)));
    this.watchdog.unref();
    this.open('primary');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.rotationTimer);
    clearTimeout(this.reconnectTimers.primary);
    clearTimeout(this.reconnectTimers.candidate);
    const conns = [this.primary, this.candidate, ...this.retiring].filter((c): c is Conn => !!c);
    this.primary = undefined;
    this.candidate = undefined;
    this.retiring.clear();
    await Promise.all(conns.map((c) => closeConn(c)));
    this.emit('status', 'stopped');
  }

  status(): ConnectionStatus {
    if (this.stopped) return 'stopped';
    if (this.degraded) return 'degraded';
    return this.primary?.delivered || this.primary?.ws.readyState === WebSocket.OPEN ? 'connected' : 'connecting';
  }

  stats(): SbeStreamStats {
    const now = Date.now();
    this.rollRate(now);
    return {
      status: this.status(),
      connected: this.primary?.ws.readyState === WebSocket.OPEN,
      last_message_age_ms: this.lastFrameAt ? now - this.lastFrameAt : null,
      messages_per_second: this.rate,
      messages_total: this.messages,
      text_messages_total: this.textMessages,
      reconnect_count: this.reconnects,
      rotations: this.rotations,
      consecutive_failures: this.failures,
      degraded: this.degraded,
      connection_attempts_5m: this.attemptsInWindow(now),
      current_connection_age_s: this.primary ? Math.round((now - this.primary.openedAt) / 1000) : null,
    };
  }

  private attemptsInWindow(now: number): number {
    const since = now - this.o.attemptLimit.windowMs;
    while (this.attempts.length && this.attempts[0] <= since) this.attempts.shift();
    return this.attempts.length;
  }

  private rollRate(now: number): void {
    const dt = now - this.rateWindow.at;
    if (dt >= 1000) {
      this.rate = Math.round((this.rateWindow.count * 1000 * 10) / dt) / 10;
      this.rateWindow = { at: now, count: 0 };
    }
  }

  private open(role: 'primary' | 'candidate'): void {
    if (this.stopped) return;
    // A late timer must not replace a live connection (it would be orphaned, open until the process ends).
    if (role === 'primary' && this.primary) return;
    if (role === 'candidate' && (this.candidate || !this.primary)) return;
    const now = Date.now();
    if (this.attemptsInWindow(now) >= this.o.attemptLimit.max) {
      const wait = this.attempts[0] + this.o.attemptLimit.windowMs - now + 1;
      this.o.logger?.warn({ wait_ms: wait }, 'connection attempt limit reached; waiting');
      this.schedule(role, wait);
      return;
    }
    this.attempts.push(now);
    const id = this.nextId++;
    const ws = new WebSocket(this.url, {
      headers: { 'X-MBX-APIKEY': this.o.apiKey },
      handshakeTimeout: this.o.handshakeTimeoutMs,
      perMessageDeflate: false,
      // ws answers pings with a pong echoing the payload (autoPong), as Binance requires.
    });
    const conn: Conn = { id, ws, openedAt: now, delivered: false, retiring: false };
    if (role === 'primary') this.primary = conn;
    else this.candidate = conn;
    this.emit('status', 'connecting');

    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const recvTsUs = Math.round((TIME_ORIGIN_MS + performance.now()) * 1000);
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!isBinary) return this.onText(conn, buf.toString('utf8'));
      this.onDelivered(conn);
      this.lastFrameAt = Date.now();
      this.messages += 1;
      this.rateWindow.count += 1;
      this.o.onFrame(buf, recvTsUs, conn.id);
    });
    ws.on('open', () => {
      this.o.logger?.info({ connection: id, role }, 'SBE WebSocket connected');
      if (role === 'primary') {
        this.lastFrameAt = this.lastFrameAt || Date.now();
      }
    });
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      let done = false;
      const refused = (err?: Error): void => {
        if (done) return;
        done = true;
        this.o.logger?.error(
          { connection: id, http_status: res.statusCode, body: body.slice(0, 200), ...(err ? { err: err.message } : {}) },
          'SBE WebSocket handshake refused',
        );
        ws.terminate();
      };
      // With this listener ws leaves the refused request to us: a venue that resets the socket after its
      // 4xx (ECONNRESET) must not surface as an uncaught error.
      req.on('error', refused);
      res.on('error', refused);
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => refused());
    });
    ws.on('error', (err) => {
      this.o.logger?.warn({ connection: id, err: err.message }, 'SBE WebSocket error');
    });
    ws.on('close', (code, reason) => {
      try {
        this.o.onConnectionClose?.(id);
      } catch (err) {
        this.o.logger?.error({ connection: id, err: String(err) }, 'connection close handler failed');
      }
      this.onClose(conn, code, reason.toString());
    });
  }

  private onText(conn: Conn, text: string): void {
    this.textMessages += 1;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.o.logger?.warn({ connection: conn.id, text: text.slice(0, 200) }, 'unparseable text frame');
      return;
    }
    let m = msg as { e?: string; result?: unknown; id?: unknown; code?: unknown; msg?: unknown; error?: unknown; stream?: unknown; data?: unknown };
    // A combined-stream connection may wrap events as {"stream": …, "data": {…}}, serverShutdown included.
    if (m !== null && typeof m === 'object' && m.stream !== undefined && m.data !== null && typeof m.data === 'object') {
      m = m.data as typeof m;
    }
    if (m === null || typeof m !== 'object') {
      this.o.logger?.warn({ connection: conn.id, text: text.slice(0, 200) }, 'text frame is not a JSON object');
      return;
    }
    if (m.e === 'serverShutdown') {
      this.o.logger?.warn({ connection: conn.id, primary: conn === this.primary }, 'serverShutdown received; rotating now');
      this.emit('serverShutdown');
      if (conn === this.primary) this.rotate('serverShutdown');
      return;
    }
    if (m.error !== undefined || (m.code !== undefined && m.msg !== undefined)) {
      this.o.logger?.error({ connection: conn.id, reply: m }, 'venue error message');
      return;
    }
    this.emit('reply', m);
  }

  private onDelivered(conn: Conn): void {
    if (conn.delivered) return;
    conn.delivered = true;
    if (conn === this.primary) {
      if (this.failures > 0 || this.degraded) {
        this.o.logger?.info({ connection: conn.id, after_failures: this.failures }, 'SBE stream recovered');
      }
      this.failures = 0;
      if (this.degraded) {
        this.degraded = false;
        this.emit('recovered');
      }
      this.emit('status', 'connected');
      this.scheduleRotation(conn);
    } else if (conn === this.candidate) {
      // The new connection delivers: it becomes primary; the old one keeps going for the overlap, so
      // nothing falls between them (the caller merges the two by sequence id and connection).
      const old = this.primary;
      this.primary = conn;
      this.candidate = undefined;
      this.rotations += 1;
      this.emit('rotated', { from: old?.id, to: conn.id });
      this.o.logger?.info({ from: old?.id, to: conn.id }, 'SBE connection rotated');
      this.scheduleRotation(conn);
      if (old) {
        old.retiring = true;
        this.retiring.add(old);
        setTimeout(() => {
          this.retiring.delete(old);
          void closeConn(old);
        }, this.o.rotationOverlapMs).unref();
      }
    }
  }

  private scheduleRotation(conn: Conn): void {
    clearTimeout(this.rotationTimer);
    const due = Math.max(0, conn.openedAt + this.o.maxConnectionAgeMs - Date.now());
    this.rotationTimer = setTimeout(() => this.rotate('max_connection_age'), due);
    this.rotationTimer.unref();
  }

  private rotate(reason: string): void {
    if (this.stopped || this.candidate) return;
    this.o.logger?.info({ reason }, 'opening a second SBE connection for rotation');
    this.open('candidate');
  }

  private onClose(conn: Conn, code: number, reason: string): void {
    if (conn.retiring) this.retiring.delete(conn);
    if (this.stopped || conn.retiring) return;
    if (conn === this.candidate) {
      this.candidate = undefined;
      if (!conn.delivered) this.o.logger?.warn({ connection: conn.id, code }, 'rotation candidate closed before delivering');
      // The primary still runs; try the rotation again after a backoff.
      this.schedule('candidate', reconnectDelayMs(1, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random));
      return;
    }
    if (conn !== this.primary) return;
    this.primary = undefined;
    clearTimeout(this.rotationTimer);
    if (this.candidate) {
      // A rotation is under way (e.g. serverShutdown, then the venue closed the old connection at once):
      // promote the candidate even if it has not delivered yet.
      const next = this.candidate;
      this.primary = next;
      this.candidate = undefined;
      this.rotations += 1;
      this.emit('rotated', { from: conn.id, to: next.id });
      this.o.logger?.info({ from: conn.id, to: next.id, code }, 'SBE connection closed during rotation; candidate promoted');
      return;
    }
    if (!conn.delivered) this.failures += 1;
    else this.failures = 0;
    this.reconnects += 1;
    this.emit('disconnected', { code, reason });
    this.o.logger?.warn({ connection: conn.id, code, reason, failures: this.failures }, 'SBE WebSocket closed; reconnecting');
    if (this.failures >= this.o.maxReconnectAttempts && !this.degraded) {
      this.degraded = true;
      this.o.logger?.error(
        { alert: 'SBE_RECONNECTION_FAILED', failures: this.failures },
        'SBE reconnection failed, entering degraded mode (retrying at the backoff cap)',
      );
      this.emit('degraded');
    }
    const delay = conn.delivered
      ? 0
      : this.degraded
        ? this.o.backoffCapMs
        : reconnectDelayMs(this.failures, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random);
    this.schedule('primary', delay);
  }

  private schedule(role: 'primary' | 'candidate', delayMs: number): void {
    clearTimeout(this.reconnectTimers[role]);
    this.reconnectTimers[role] = setTimeout(() => {
      this.reconnectTimers[role] = undefined;
      this.open(role);
    }, delayMs);
  }

  private checkWatchdog(): void {
    const c = this.primary;
    if (this.stopped || !c || c.ws.readyState !== WebSocket.OPEN) return;
    const since = Math.max(this.lastFrameAt, c.openedAt);
    if (Date.now() - since > this.o.watchdogMs) {
      this.o.logger?.warn({ connection: c.id, silent_ms: Date.now() - since }, 'no frame within the watchdog time; reconnecting');
      this.emit('watchdog');
      // A silent connection counts as delivered-then-lost: reconnect at once, not after a backoff.
      c.ws.terminate();
    }
  }
}

function closeConn(c: Conn): Promise<void> {
  return new Promise((resolve) => {
    if (c.ws.readyState === WebSocket.CLOSED) return resolve();
    const t = setTimeout(() => {
      c.ws.terminate();
      resolve();
    }, 1000);
    c.ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    c.retiring = true;
    c.ws.close(1000, 'client closing');
  });
}
