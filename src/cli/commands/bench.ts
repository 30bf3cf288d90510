/** `btcpipe bench [sections...] [--json] [--quick]`: runs registered bench sections (src/bench/index.ts). */
import type { Command } from 'commander';
import { findSection, sections, type BenchSection } from '../../bench/index.js';

export async function runBench(names: string[], opts: { json: boolean; quick: boolean }): Promise<Record<string, unknown>> {
  const chosen: BenchSection[] = [];
  for (const name of names.length ? names : sections.map((s) => s.name)) {
    const section = findSection(name);
    if (!section) throw new Error(`unknown bench section ${JSON.stringify(name)}; known: ${sections.map((s) => s.name).join(', ')}`);
    chosen.push(section);
  }
  const results: Record<string, unknown> = {};
  for (const section of chosen) {
    if (!opts.json) process.stdout.write(`\n== ${section.name} ==\n`);
    results[section.name] = await section.run(opts);
  }
  return results;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('run benchmark sections and print their figures (default: all sections)')
    .argument('[sections...]', `sections to run (${sections.map((s) => s.name).join(', ')})`)
    .option('--json', 'print one JSON object {section: result} instead of tables', false)
    .option('--quick', 'fewer iterations (for smoke runs)', false)
    .action(async (names: string[], opts: { json: boolean; quick: boolean }) => {
      const results = await runBench(names, opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    });
}
