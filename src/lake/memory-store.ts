import { assertValidKey } from './object-key.js';
import type { ObjectStore } from './object-store.js';

/** The lake in memory (tests and benches): same keys and semantics as the folder and S3 stores. */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();

  put(key: string, body: Uint8Array): Promise<void> {
    assertValidKey(key);
    this.objects.set(key, body.slice());
    return Promise.resolve();
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.objects.get(key));
  }

  list(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  describe(): string {
    return 'memory://';
  }
}
