#!/usr/bin/env node
// The CLI runs the compiled output; `npm run build` (done by `npm ci` via `prepare`) produces it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error(`btcpipe: ${entry} is missing; run \`npm run build\` in ${root} first`);
  process.exit(1);
}
await import(entry);
