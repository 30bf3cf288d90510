/**
 * `btcpipe decode`: SBE frames → one JSON line per normalized event. Input is hex frames, one per line, on
 * stdin (default, --hex), or --file PATH holding raw back-to-back frames. A bad frame prints
 * {"error":{"code","message"}} and decoding continues; the exit code is 0 unless reading the input fails.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { decodeFrame, frameLength, SbeDecodeError } from '../../binance/sbe-decode.js';

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

/** One input line of hex → output lines. Blank lines produce nothing; whitespace inside is ignored. */
export function decodeHexLine(line: string): string[] {
  const hex = line.replace(/\s+/g, '');
  if (hex === '') return [];
  if (!HEX_RE.test(hex)) return [errorLine('BAD_HEX', `not an even-length hex string (${hex.length} chars)`)];
  return eventsOrError(Uint8Array.from(Buffer.from(hex, 'hex')));
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
    .description('decode Binance SBE stream frames to normalized JSON events, one per line')
    .option('--hex', 'read hex-encoded frames from stdin, one per line (default)', true)
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
