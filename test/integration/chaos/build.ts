import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'btcpipe.js');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The CLI runs compiled output (`npm test` builds first); rebuild only when dist/ is older than src/, so a
 * single test file run after an edit exercises the edit. A build error elsewhere still emits.
 */
export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist', 'chaos', 'stack.js')).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestMtime(join(ROOT, 'src'))) return;
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, timeout: 300_000 }).catch(() => undefined);
}
