/**
 * The bench section registry used by `btcpipe bench`. To add a section, implement BenchSection in its own
 * module under src/bench/ and append it to `sections` below.
 */
import { decodeSection } from './decode.js';
import { redisBench } from './redis.js';
import { kinesisSection } from './kinesis.js';
import { lakeSection } from './lake.js';
import { coreSection } from './core.js';
import { ingestSection } from './ingest.js';
import { e2eSection } from './e2e.js';
import { simSection } from './sim.js';
import { scaleSection } from './scale.js';

export interface BenchSection {
  name: string;
  run(opts: { json: boolean; quick: boolean }): Promise<unknown>;
}

export const sections: BenchSection[] = [decodeSection, redisBench, kinesisSection, lakeSection, coreSection, ingestSection, e2eSection, simSection, scaleSection];

export function findSection(name: string): BenchSection | undefined {
  return sections.find((s) => s.name === name);
}
