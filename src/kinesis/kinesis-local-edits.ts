/**
 * Edits to kinesis-local (kinesis-mock, Scala.js), made in memory to the source the embedded emulator runs.
 * The emulator's one thread is the local hot path's bottleneck, and two things in it cost far more than the
 * work itself:
 *
 * - A TRACE log of every call is built whatever the LOG_LEVEL: http4s's Logger middleware decodes each request
 *   and response body to text (logHeaders and logBody on), and the service JSON-encodes each request and
 *   response again, keys sorted, into the log context. At any level but TRACE all of it is dropped. On this
 *   2-core machine it was about half of the emulator's CPU per call (PutRecord + GetRecords of a 3.3 KB
 *   record: 11–12 → 5.2–5.6 ms; an empty GetRecords: 3.5–4.8 → 1.9–2.1 ms). These edits are made only when
 *   LOG_LEVEL is not TRACE.
 * - GetRecords finds the record its iterator points after with `indexWhere` from the shard's first record,
 *   and records stay for the stream's retention (24 h). A consumer at the tip, which asks ~50 times a second,
 *   therefore pays for every record the shard ever held: an empty GetRecords cost 4.3 ms of CPU at 10,000
 *   stored records, 12 ms at 40,000 and 25 ms at 80,000 (~0.27 ms per 1,000), so a `btcpipe up` at 50 puts/s
 *   saturated the emulator within half an hour and then fell behind for good. The edit searches from the
 *   newest record instead: a consumer at or near the tip finds its record in a few steps. The answer is the
 *   same because a shard's sequence numbers are unique (each carries the record's index and arrival time).
 *
 * Each edit matches one known text of the installed build exactly once; one that does not match is left out
 * and reported, so another kinesis-local version runs unchanged rather than broken. Nothing else of the
 * emulator's behaviour changes.
 */

export interface KinesisLocalEdit {
  name: string;
  /** The exact text of the build this edit expects, once. */
  find: string;
  replace: string;
  /** The edit removes work whose only output is the TRACE log: not made at LOG_LEVEL TRACE. */
  traceOnly: boolean;
}

export const KINESIS_LOCAL_EDITS: readonly KinesisLocalEdit[] = [
  {
    // http4s org.http4s.server.middleware.Logger.httpApp: its only use wraps the routes with a logAction of
    // logger.trace; returning the routes unwrapped skips the body capture and decoding.
    name: 'http-body-logging',
    find: '$h_Lorg_http4s_server_middleware_Logger$.prototype = $p;\n$p.apF = (function(logHeaders, logBody, fk, redactHeadersWhen, logAction, http, G, F) {\n',
    replace:
      '$h_Lorg_http4s_server_middleware_Logger$.prototype = $p;\n$p.apF = (function(logHeaders, logBody, fk, redactHeadersWhen, logAction, http, G, F) {\n  return http;\n',
    traceOnly: true,
  },
  {
    // kinesis.mock.LoggingContext.addEncoded: the "request" and "response" keys only ever feed logger.trace.
    name: 'trace-context-encoding',
    find: '$p.bM = (function(key, a, isCbor, evidence$1) {\n  return this.adP(key, ',
    replace: '$p.bM = (function(key, a, isCbor, evidence$1) {\n  if (key === "request" || key === "response") return this;\n  return this.adP(key, ',
    traceOnly: true,
  },
  {
    // kinesis.mock.api.GetRecordsRequest: `data.indexWhere(_.sequenceNumber == parts.sequenceNumber)` over the
    // shard's Vector (data.y() is its length, data.R(i) its i-th record, .lh a record's sequence number).
    name: 'get-records-search-from-tip',
    find: [
      '                    var this$25 = data.q();',
      '                    _return: {',
      '                      var i = 0;',
      '                      var dropped = this$25.f0(0);',
      '                      while (dropped.r()) {',
      '                        var x0 = dropped.o();',
      '                        var x$6 = x0.lh;',
      '                        var x$2$2 = b.EH;',
      '                        if (((x$6 === null) ? (x$2$2 === null) : x$6.b(x$2$2))) {',
      '                          var x14 = i;',
      '                          break _return;',
      '                        }',
      '                        i = ((1 + i) | 0);',
      '                      }',
      '                      var x14 = (-1);',
      '                    }',
      '',
    ].join('\n'),
    replace: [
      '                    _return: {',
      '                      for (var i = ((data.y() - 1) | 0); i >= 0; i = ((i - 1) | 0)) {',
      '                        var x$6 = data.R(i).lh;',
      '                        var x$2$2 = b.EH;',
      '                        if (((x$6 === null) ? (x$2$2 === null) : x$6.b(x$2$2))) {',
      '                          var x14 = i;',
      '                          break _return;',
      '                        }',
      '                      }',
      '                      var x14 = (-1);',
      '                    }',
      '',
    ].join('\n'),
    traceOnly: false,
  },
];

export interface EditResult {
  source: string;
  /** Edits made. */
  applied: string[];
  /** Edits whose text was not found exactly once (another build): not made. */
  skipped: string[];
}

/** The emulator's source with the edits made that apply at `logLevel` (the TRACE-only ones not at TRACE). */
export function editKinesisLocal(source: string, logLevel: string | undefined, edits: readonly KinesisLocalEdit[] = KINESIS_LOCAL_EDITS): EditResult {
  const trace = (logLevel ?? '').trim().toUpperCase() === 'TRACE';
  let out = source;
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const e of edits) {
    if (trace && e.traceOnly) continue;
    const at = out.indexOf(e.find);
    if (at < 0 || out.indexOf(e.find, at + 1) >= 0) {
      skipped.push(e.name);
      continue;
    }
    out = out.slice(0, at) + e.replace + out.slice(at + e.find.length);
    applied.push(e.name);
  }
  return { source: out, applied, skipped };
}
