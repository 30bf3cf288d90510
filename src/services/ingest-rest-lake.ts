import type { BtcpipeConfig } from '../ops/config.js';
import { FolderObjectStore, S3ObjectStore, type ObjectStore } from '../lake/object-store.js';

export interface LakeStore {
  store: ObjectStore;
  bronzePrefix: string;
  close(): void;
}

/**
 * The bronze lake's object store from config: `lake.backend: folder` → `lake.root`; `s3` → `aws.s3.bucket`
 * (endpoint `aws.s3.endpoint_url` or the SDK's own resolution, `force_path_style` for s3rver/MinIO).
 * The bronze prefix (`aws.s3.bronze_prefix`) is the top folder of the key layout in both backends.
 */
export function createLakeStore(config: BtcpipeConfig): LakeStore {
  const bronzePrefix = config.aws.s3.bronze_prefix;
  if (config.lake.backend === 'folder') {
    return { store: new FolderObjectStore(config.lake.root), bronzePrefix, close: () => undefined };
  }
  const s3 = new S3ObjectStore({
    bucket: config.aws.s3.bucket,
    endpoint: config.aws.s3.endpoint_url,
    forcePathStyle: config.aws.s3.force_path_style,
    region: config.aws.region,
  });
  return { store: s3, bronzePrefix, close: () => s3.close() };
}
