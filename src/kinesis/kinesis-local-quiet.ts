/**
 * kinesis-local (kinesis-mock, Scala.js) builds a TRACE log of every call whatever its LOG_LEVEL: http4s's
 * Logger middleware decodes each request and response body to text (logHeaders and logBody on), and the
 * service JSON-encodes each request and response again, keys sorted, into the log context. At any level but
 * TRACE all of it is dropped. On this 2-core machine that work was about half of the emulator's CPU per call
 * (PutRecord + GetRecords of a 3.3 KB record: 11–12 → 5.2–5.6 ms; an empty GetRecords: 3.5–4.8 → 1.9–2.1 ms),
 * and the emulator's one thread is the hot path's bottleneck.
 *
 * quietKinesisLocal() edits the emulator's source, in memory, so that this work is skipped exactly when its
 * output would be dropped (LOG_LEVEL other than TRACE). Each edit matches one known text of the installed
 * build exactly once; one that does not match is left out and reported, so another kinesis-local version runs
 * unchanged rather than broken. Nothing else of the emulator's behaviour changes.
 */

export interface QuietEdit {
  name: string;
  /** The exact text of the build this edit expects, once. */
  find: string;
  replace: string;
}

export const QUIET_EDITS: readonly QuietEdit[] = [
  {
    // http4s org.http4s.server.middleware.Logger.httpApp: its only use wraps the routes with a logAction of
    // logger.trace; returning the routes unwrapped skips the body capture and decoding.
    name: 'http-body-logging',
    find: '$h_Lorg_http4s_server_middleware_Logger$.prototype = $p;\n$p.apF = (function(logHeaders, logBody, fk, redactHeadersWhen, logAction, http, G, F) {\n',
    replace:
      '$h_Lorg_http4s_server_middleware_Logger$.prototype = $p;\n$p.apF = (function(logHeaders, logBody, fk, redactHeadersWhen, logAction, http, G, F) {\n  return http;\n',
  },
  {
    // kinesis.mock.LoggingContext.addEncoded: the "request" and "response" keys only ever feed logger.trace.
    name: 'trace-context-encoding',
    find: '$p.bM = (function(key, a, isCbor, evidence$1) {\n  return this.adP(key, ',
    replace: '$p.bM = (function(key, a, isCbor, evidence$1) {\n  if (key === "request" || key === "response") return this;\n  return this.adP(key, ',
  },
];

export interface QuietResult {
  source: string;
  /** Edits made. */
  applied: string[];
  /** Edits whose text was not found exactly once (another build): not made. */
  skipped: string[];
}

/** The emulator's source with the TRACE-only work removed, unless `logLevel` is TRACE. */
export function quietKinesisLocal(source: string, logLevel: string | undefined, edits: readonly QuietEdit[] = QUIET_EDITS): QuietResult {
  if ((logLevel ?? '').trim().toUpperCase() === 'TRACE') return { source, applied: [], skipped: [] };
  let out = source;
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const e of edits) {
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
