import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';

function parquetFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? parquetFiles(join(dir, e.name)) : e.name.endsWith('.parquet') ? [join(dir, e.name)] : []));
}

/** Every aggregate id in a folder lake's `agg_trades` files of one symbol (duplicates kept), and the file count. */
export async function lakeAggIds(lakeRoot: string, symbol: string, bronzePrefix = 'bronze'): Promise<{ files: number; ids: number[] }> {
  const files = parquetFiles(join(lakeRoot, bronzePrefix, 'agg_trades', `symbol=${symbol}`));
  const ids: number[] = [];
  for (const f of files) {
    const bytes = readFileSync(f);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const rows = (await parquetReadObjects({ file, columns: ['agg_id'] })) as Array<{ agg_id: bigint | number }>;
    for (const r of rows) ids.push(Number(r.agg_id));
  }
  return { files: files.length, ids };
}
