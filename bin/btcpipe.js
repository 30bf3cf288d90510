#!/usr/bin/env node
// The CLI runs the compiled output; `npm run build` (done by `npm ci` via `prepare`) produces it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// The AWS SDK is pinned in the lockfile to a release that supports Node 20; its notice about future
// releases needing Node 22 is noise on every start, so it is off unless the user sets the variable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error(`btcpipe: ${entry} is missing; run \`npm run build\` in ${root} first`);
  process.exit(1);
}
await import(entry);
