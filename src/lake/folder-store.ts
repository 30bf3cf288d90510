import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertValidKey } from './object-key.js';
import type { ObjectStore } from './object-store.js';

export const DEFAULT_LAKE_ROOT = './data/lake';
const TMP_MARK = '.tmp-';

/** The lake in a local folder, same key layout as S3. Writes are atomic: temp file, then rename. */
export class FolderObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string = DEFAULT_LAKE_ROOT) {
    this.root = resolve(root);
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}${TMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(tmp, body);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only below the deepest directory the prefix names.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut >= 0 ? prefix.slice(0, cut) : '';
    if (dirKey) assertValidKey(dirKey);
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await walk(join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix) && !e.name.includes(TMP_MARK)) {
          out.push(key);
        }
      }
    };
    await walk(dirKey ? join(this.root, ...dirKey.split('/')) : this.root, dirKey);
    return out.sort();
  }

  describe(): string {
    return `file://${this.root}`;
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    const path = join(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) throw new Error(`key escapes the lake root: ${key}`);
    return path;
  }
}
