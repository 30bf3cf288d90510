/**
 * The SBE code generator: schema XML → model (parse.ts) → TypeScript (emit.ts). The output for
 * stream_1_0.xml is committed as generated.ts; a unit test regenerates it and compares byte for byte.
 * Regenerate after changing the schema or the generator with:
 *   npx tsc -p tsconfig.build.json && node dist/sbe/generate.js src/sbe/stream_1_0.xml src/sbe/generated.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emitSchema } from './emit.js';
import { parseSchema } from './parse.js';

export { SchemaError } from './parse.js';

export const DEFAULT_SCHEMA_NAME = 'stream_1_0.xml';

export function generate(xml: string, sourceName = DEFAULT_SCHEMA_NAME): string {
  return emitSchema(parseSchema(xml), sourceName);
}

export function generateFile(xmlPath: string, outPath: string): void {
  writeFileSync(outPath, generate(readFileSync(xmlPath, 'utf8'), basename(xmlPath)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [xmlPath, outPath] = process.argv.slice(2);
  if (!xmlPath || !outPath) {
    process.stderr.write('usage: node dist/sbe/generate.js <schema.xml> <out.ts>\n');
    process.exit(2);
  }
  generateFile(xmlPath, outPath);
}
