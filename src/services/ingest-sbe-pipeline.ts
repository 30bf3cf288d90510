import { performance } from 'node:perf_hooks';
import { decodeFrame, SbeDecodeError, TEMPLATE_BEST_BID_ASK, TEMPLATE_DEPTH_DIFF, TEMPLATE_DEPTH_SNAPSHOT, templateIdOf } from '../binance/sbe-decode.js';
import type { SbeDecodeErrorCode } from '../binance/sbe-decode.js';
import { streamKeyOf, type MarketEvent } from '../core/events.js';
import { ConnectionSequencer, type MergedSequencePosition, type SequenceOutput, type SequenceStream } from '../core/stream-sequence.js';
import { encodeSbeRecord } from '../kinesis/record-sbe.js';
import { SbeFrameIds, type FrameKind } from './ingest-sbe-ids.js';

/**
 * The SBE ingestor's per-frame path, without sockets: decode → sequence merge across the connections of
 * a rotation (duplicates dropped, frames of a connection running ahead held until the sequence reaches
 * them, gaps reported) → the sink (the Kinesis producer) on its type's stream.
 * A bad frame is counted and skipped; nothing thrown by a frame escapes into the WebSocket handler.
 *
 * Record formats: 'sbe' forwards the venue's message bytes as they are (one SBE record per message, see
 * kinesis/record-sbe.ts) and reads only the ids the merge needs (SbeFrameIds: no prices, no strings
 * beyond the symbol); 'json' decodes every event and hands it to the sink as a MarketEvent.
 */

/** The venue stream a frame came from (metric label `stream`). */
export type FrameStream = 'trade' | 'bestBidAsk' | 'depth' | 'depth20';

export interface KinesisStreamNames {
  trade: string;
  bestbidask: string;
  depth: string;
}

export interface SequenceGap {
  symbol: string;
  stream: SequenceStream;
  /** First id that was missing. */
  expected: number;
  /** First id received after the gap. */
  got: number;
  missing: number;
  at: string;
}

export interface IngestPipelineHooks {
  onMessage?(stream: FrameStream): void;
  onDecodeError?(err: SbeDecodeError): void;
  onGap?(gap: SequenceGap): void;
  onDuplicate?(symbol: string, stream: SequenceStream): void;
  /** A sampled decode duration, seconds. */
  onDecodeSample?(seconds: number): void;
  /** The sink refused an event (producer closed, oversized record); the event is lost and counted. */
  onSinkError?(err: unknown, event: Pick<MarketEvent, 'type' | 'symbol'>): void;
}

export type RecordFormat = 'sbe' | 'json';

export interface IngestPipelineOptions {
  streams: KinesisStreamNames;
  /** Default 'json' (the sink gets events); 'sbe' needs `sinkRecord`. */
  recordFormat?: RecordFormat;
  /** 'json': one normalized event. */
  sink?: (stream: string, event: MarketEvent) => void;
  /** 'sbe': one SBE record (the venue's message behind the envelope), partition key = its symbol. */
  sinkRecord?: (stream: string, partitionKey: string, record: Buffer) => void;
  hooks?: IngestPipelineHooks;
  /** Time one frame in this many (a power of two), so timing costs nothing measurable. Default 64. */
  decodeSampleEvery?: number;
  /** Gaps kept for /stats. Default 100. */
  recentGaps?: number;
  /** Events one connection may hold ahead of the others per symbol and stream. Default 10,000. */
  maxHeldPerConnection?: number;
}

export interface IngestPipelineStats {
  messages_decoded: number;
  decode_errors: number;
  decode_errors_by_code: Partial<Record<SbeDecodeErrorCode, number>>;
  last_decode_error: string | null;
  /** Mean of the sampled decode durations, µs. */
  avg_decode_time_us: number;
  decode_samples: number;
  messages_by_stream: Record<FrameStream, number>;
  events_out: number;
  /** Kinesis user records handed to the sink (= events_out for 'json'; one per venue message for 'sbe'). */
  records_out: number;
  duplicates_dropped: number;
  gaps: number;
  missing_ids: number;
  sink_errors: number;
  /** Events of a connection running ahead, waiting for the sequence to reach them. */
  held_events: number;
}

const FRAME_STREAM_OF: Record<MarketEvent['type'], FrameStream> = {
  trade: 'trade',
  bestBidAsk: 'bestBidAsk',
  depth: 'depth',
  depthSnapshot: 'depth20',
};

function streamOfTemplate(frame: Uint8Array): FrameStream {
  switch (templateIdOf(frame)) {
    case TEMPLATE_BEST_BID_ASK:
      return 'bestBidAsk';
    case TEMPLATE_DEPTH_DIFF:
      return 'depth';
    case TEMPLATE_DEPTH_SNAPSHOT:
      return 'depth20';
    default:
      return 'trade';
  }
}

/** One venue message on the 'sbe' path: put once, when the merge forwards the first of its events. */
interface FrameRecord {
  frame: Uint8Array;
  recvTsUs: number;
  connectionId: number;
  put: boolean;
}

/**
 * What the merge sees of an SBE message on the 'sbe' path: the type, symbol and ids it reads, nothing of
 * the message's values (they stay in its bytes). One shape for every kind keeps the merge's property
 * reads monomorphic; `rec` leads back to the message.
 */
interface MergeRef {
  type: FrameKind;
  symbol: string;
  event_ts: number;
  source: 'sbe';
  trade_id: number;
  sequence_id: number;
  first_update_id: number;
  final_update_id: number;
  last_update_id: number;
  rec: FrameRecord;
}

function mergeRef(type: FrameKind, symbol: string, eventTs: number, first: number, last: number, rec: FrameRecord): MarketEvent {
  const ref: MergeRef = {
    type,
    symbol,
    event_ts: eventTs,
    source: 'sbe',
    trade_id: first,
    sequence_id: last,
    first_update_id: first,
    final_update_id: last,
    last_update_id: last,
    rec,
  };
  // The merge reads only type, symbol and the ids above; it never looks at a MarketEvent's values.
  return ref as unknown as MarketEvent;
}

export class SbeIngestPipeline implements SequenceOutput {
  readonly sequence: ConnectionSequencer;
  private readonly format: RecordFormat;
  private readonly sink: NonNullable<IngestPipelineOptions['sink']>;
  private readonly sinkRecord: NonNullable<IngestPipelineOptions['sinkRecord']>;
  private readonly ids = new SbeFrameIds();
  private recordsOut = 0;
  private readonly hooks: IngestPipelineHooks;
  private readonly streamNames: KinesisStreamNames;
  private readonly sampleMask: number;
  private readonly recentLimit: number;
  private readonly recent: SequenceGap[] = [];
  private frames = 0;
  private decoded = 0;
  private decodeErrors = 0;
  private readonly errorsByCode: Partial<Record<SbeDecodeErrorCode, number>> = {};
  private lastError: string | null = null;
  private sampleSum = 0;
  private samples = 0;
  private readonly byStream: Record<FrameStream, number> = { trade: 0, bestBidAsk: 0, depth: 0, depth20: 0 };
  private eventsOut = 0;
  private duplicates = 0;
  private gaps = 0;
  private missing = 0;
  private sinkErrors = 0;
  private readonly sequenceOut: SequenceOutput;

  constructor(opts: IngestPipelineOptions) {
    const every = opts.decodeSampleEvery ?? 64;
    if (!Number.isInteger(every) || every < 1 || (every & (every - 1)) !== 0) {
      throw new RangeError(`decodeSampleEvery must be a power of two, got ${every}`);
    }
    this.sampleMask = every - 1;
    this.format = opts.recordFormat ?? 'json';
    const missing = (what: string) => (): never => {
      throw new Error(`SbeIngestPipeline: record format ${this.format} needs ${what}`);
    };
    if (this.format === 'json' && !opts.sink) missing('sink')();
    if (this.format === 'sbe' && !opts.sinkRecord) missing('sinkRecord')();
    this.sink = opts.sink ?? missing('sink');
    this.sinkRecord = opts.sinkRecord ?? missing('sinkRecord');
    this.hooks = opts.hooks ?? {};
    this.streamNames = opts.streams;
    this.recentLimit = opts.recentGaps ?? 100;
    this.sequence = new ConnectionSequencer({ maxHeld: opts.maxHeldPerConnection ?? 10_000 });
    this.sequenceOut = this;
  }

  /**
   * One binary WebSocket frame from connection `connectionId` (frames of one connection arrive in the
   * venue's order; connections overlap during a rotation). Never throws.
   */
  onFrame(frame: Uint8Array, recvTsUs: number, connectionId = 0): void {
    if (this.format === 'sbe') {
      this.onSbeFrame(frame, recvTsUs, connectionId);
      return;
    }
    // The last frame of each block is timed, so the first (cold, un-optimized) decode never is.
    const sampled = (this.frames++ & this.sampleMask) === this.sampleMask;
    let events: MarketEvent[];
    try {
      if (sampled) {
        const t0 = performance.now();
        events = decodeFrame(frame, recvTsUs);
        const ms = performance.now() - t0;
        this.sampleSum += ms;
        this.samples++;
        this.hooks.onDecodeSample?.(ms / 1000);
      } else {
        events = decodeFrame(frame, recvTsUs);
      }
    } catch (err) {
      this.decodeFailed(err);
      return;
    }
    this.decoded++;
    const stream = events.length > 0 ? FRAME_STREAM_OF[events[0].type] : streamOfTemplate(frame);
    this.byStream[stream]++;
    this.hooks.onMessage?.(stream);
    for (const ev of events) this.sequence.accept(ev, connectionId, this.sequenceOut);
  }

  /** 'sbe': read the ids, merge them, and put the message itself once the merge forwards it. */
  private onSbeFrame(frame: Uint8Array, recvTsUs: number, connectionId: number): void {
    const sampled = (this.frames++ & this.sampleMask) === this.sampleMask;
    const ids = this.ids;
    try {
      if (sampled) {
        const t0 = performance.now();
        ids.wrap(frame);
        const ms = performance.now() - t0;
        this.sampleSum += ms;
        this.samples++;
        this.hooks.onDecodeSample?.(ms / 1000);
      } else {
        ids.wrap(frame);
      }
    } catch (err) {
      this.decodeFailed(err);
      return;
    }
    this.decoded++;
    const stream = FRAME_STREAM_OF[ids.kind];
    this.byStream[stream]++;
    this.hooks.onMessage?.(stream);
    const rec: FrameRecord = { frame, recvTsUs, connectionId, put: false };
    if (ids.kind !== 'trade') {
      this.sequence.accept(mergeRef(ids.kind, ids.symbol, ids.eventTs, ids.firstId, ids.lastId, rec), connectionId, this.sequenceOut);
      return;
    }
    // Trade ids are merged one by one (a message may repeat some ids of another connection's message); the
    // message is put when its first new trade is forwarded, and the aggregator drops the repeated ones.
    const { symbol, eventTs, count } = ids;
    for (let i = 0; i < count; i++) {
      const id = i === 0 ? ids.firstId : i === count - 1 ? ids.lastId : ids.tradeId(i);
      this.sequence.accept(mergeRef('trade', symbol, eventTs, id, id, rec), connectionId, this.sequenceOut);
    }
  }

  /** A connection closed: another takes over its place in each sequence; held events flush. Never throws. */
  onConnectionClosed(connectionId: number): void {
    this.sequence.closed(connectionId, this.sequenceOut);
  }

  private decodeFailed(err: unknown): void {
    const e = err instanceof SbeDecodeError ? err : new SbeDecodeError('TRUNCATED', `unexpected decoder failure: ${String(err)}`);
    this.decodeErrors++;
    this.errorsByCode[e.code] = (this.errorsByCode[e.code] ?? 0) + 1;
    this.lastError = `${e.code}: ${e.message}`.slice(0, 200);
    this.hooks.onDecodeError?.(e);
  }

  /** SequenceOutput: the next event of the merged sequence. */
  forward(ev: MarketEvent): void {
    try {
      const rec = (ev as unknown as Partial<MergeRef>).rec;
      if (rec === undefined) {
        this.sink(this.streamNames[streamKeyOf(ev.type)], ev);
        this.recordsOut++;
      } else if (!rec.put) {
        rec.put = true;
        this.sinkRecord(this.streamNames[streamKeyOf(ev.type)], ev.symbol, encodeSbeRecord(rec.frame, rec.recvTsUs, rec.connectionId));
        this.recordsOut++;
      }
      this.eventsOut++;
    } catch (err) {
      this.sinkErrors++;
      this.hooks.onSinkError?.(err, ev);
    }
  }

  /** SequenceOutput: ids the venue skipped (or nobody delivered) before `got`. */
  gap(symbol: string, stream: SequenceStream, expected: number, got: number): void {
    const gap: SequenceGap = { symbol, stream, expected, got, missing: got - expected, at: new Date().toISOString() };
    this.gaps++;
    this.missing += gap.missing;
    this.recent.push(gap);
    if (this.recent.length > this.recentLimit) this.recent.shift();
    this.hooks.onGap?.(gap);
  }

  /** SequenceOutput: already forwarded (the overlap of two connections, or a venue repeat). */
  duplicate(ev: MarketEvent): void {
    this.duplicates++;
    this.hooks.onDuplicate?.(ev.symbol, ev.type);
  }

  /** Messages decoded so far per venue stream (a live view: read it, do not keep it). */
  messagesByStream(): Readonly<Record<FrameStream, number>> {
    return this.byStream;
  }

  recentGaps(): SequenceGap[] {
    return [...this.recent];
  }

  positions(): MergedSequencePosition[] {
    return this.sequence.positions();
  }

  stats(): IngestPipelineStats {
    return {
      messages_decoded: this.decoded,
      decode_errors: this.decodeErrors,
      decode_errors_by_code: { ...this.errorsByCode },
      last_decode_error: this.lastError,
      avg_decode_time_us: this.samples === 0 ? 0 : Math.round((this.sampleSum / this.samples) * 1000 * 100) / 100,
      decode_samples: this.samples,
      messages_by_stream: { ...this.byStream },
      events_out: this.eventsOut,
      records_out: this.recordsOut,
      duplicates_dropped: this.duplicates,
      gaps: this.gaps,
      missing_ids: this.missing,
      sink_errors: this.sinkErrors,
      held_events: this.sequence.heldEvents(),
    };
  }
}
