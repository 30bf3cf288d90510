/**
 * `btcpipe decode`: SBE frames → one JSON line per normalized event. Input is hex, one item per line, on
 * stdin (default, --hex), or --file PATH holding raw back-to-back frames. A hex line may be a bare frame, a
 * Kinesis user record of either format (the SBE envelope or one event's JSON), or a whole Kinesis record
 * (KPL-aggregated and/or gzipped); each prints the events it carries. A bad item prints
 * {"error":{"code","message"}} and decoding continues; the exit code is 0 unless reading the input fails.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { decodeFrame, frameLength, SbeDecodeError } from '../../binance/sbe-decode.js';
import { KplDecodeError } from '../../kinesis/errors.js';
import { deaggregateRecord, isAggregated } from '../../kinesis/kpl.js';
import { isGzipped } from '../../kinesis/record-compression.js';
import { decodeUserRecord } from '../../kinesis/record-format.js';
import { isSbeRecord } from '../../kinesis/record-sbe.js';
import { EventRecordError } from '../../services/aggregate-decode.js';

function errorLine(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function eventsOrError(frame: Uint8Array): string[] {
  try {
    return decodeFrame(frame).map((ev) => JSON.stringify(ev));
  } catch (err) {
    if (err instanceof SbeDecodeError) return [errorLine(err.code, err.message)];
    throw err;
  }
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

const JSON_OPEN = 0x7b;

/** A user record of either format → output lines. */
function userRecordLines(data: Uint8Array): string[] {
  try {
    return decodeUserRecord(data).events.map((ev) => JSON.stringify(ev));
  } catch (err) {
    if (err instanceof EventRecordError) return [errorLine('BAD_RECORD', err.message)];
    throw err;
  }
}

/**
 * One item → output lines, by its first bytes: a Kinesis record (KPL magic or gzip) is split into its user
 * records; a user record is the SBE envelope (0xB5) or JSON ('{'); anything else is a bare SBE frame, whose
 * first byte is the low byte of a root block length (never one of those in this schema).
 */
export function decodeItem(data: Uint8Array): string[] {
  if (isAggregated(data) || isGzipped(data)) {
    let users;
    try {
      users = deaggregateRecord(data);
    } catch (err) {
      if (err instanceof KplDecodeError) return [errorLine('BAD_KINESIS_RECORD', err.message)];
      throw err;
    }
    return users.flatMap((u) => (isAggregated(u.data) ? [errorLine('BAD_KINESIS_RECORD', 'a KPL record inside a KPL record')] : userRecordLines(u.data)));
  }
  if (isSbeRecord(data) || data[0] === JSON_OPEN) return userRecordLines(data);
  return eventsOrError(data);
}

/** One input line of hex → output lines. Blank lines produce nothing; whitespace inside is ignored. */
export function decodeHexLine(line: string): string[] {
  const hex = line.replace(/\s+/g, '');
  if (hex === '') return [];
  if (!HEX_RE.test(hex)) return [errorLine('BAD_HEX', `not an even-length hex string (${hex.length} chars)`)];
  return decodeItem(Uint8Array.from(Buffer.from(hex, 'hex')));
}

/**
 * Consecutive raw frames → output lines. Each frame's length comes from its own header and groups; when
 * it cannot be determined the rest of the buffer cannot be split, so one error ends the walk.
 */
export function decodeConcatenated(buf: Uint8Array): string[] {
  const out: string[] = [];
  let offset = 0;
  while (offset < buf.length) {
    let length: number;
    try {
      length = frameLength(buf, offset);
    } catch (err) {
      if (!(err instanceof SbeDecodeError)) throw err;
      out.push(errorLine(err.code, `frame at byte ${offset}: ${err.message}; ${buf.length - offset} bytes left undecoded`));
      break;
    }
    out.push(...eventsOrError(buf.subarray(offset, offset + length)));
    offset += length;
  }
  return out;
}

async function decodeStdinHex(write: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) for (const out of decodeHexLine(line)) write(out);
}

export function register(program: Command): void {
  program
    .command('decode')
    .description('decode Binance SBE stream frames (or Kinesis records of the pipeline) to normalized JSON events, one per line')
    .option('--hex', 'read hex from stdin, one item per line: a bare SBE frame, a Kinesis user record (SBE envelope or JSON) or a whole KPL/gzip Kinesis record (default)', true)
    .option('--file <path>', 'read raw back-to-back binary frames from a file instead of stdin')
    .action(async (opts: { hex: boolean; file?: string }) => {
      const write = (line: string): void => {
        process.stdout.write(`${line}\n`);
      };
      if (opts.file !== undefined) {
        for (const line of decodeConcatenated(await readFile(opts.file))) write(line);
      } else {
        await decodeStdinHex(write);
      }
    });
}
