import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The btcpipe checkout containing `start` (the image's build context), found by its package.json. */
export function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'btcpipe') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no btcpipe package.json above ${start}`);
    dir = up;
  }
}
