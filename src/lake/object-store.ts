/**
 * Where lake files live. Keys are '/'-separated relative paths (`bronze/agg_trades/symbol=…/….parquet`),
 * identical for a local folder and S3 so the layout never depends on the backend.
 */
export interface ObjectStore {
  /** Writes the whole object; a reader never sees a half-written one. Same key = replace. */
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every key starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Where the store points (folder path or s3://bucket/prefix), for logs and health. */
  describe(): string;
}

export { InvalidObjectKeyError, assertValidKey } from './object-key.js';
export { FolderObjectStore, DEFAULT_LAKE_ROOT } from './folder-store.js';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-store.js';
