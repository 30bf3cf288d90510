/**
 * worker_threads entry for ParquetWorkerEncoder: encodes jobs off the service's event loop. A 5,000-level
 * snapshot or a 100k-row page costs tens to hundreds of ms of CPU, which on the main thread would delay
 * re-anchors and health answers behind it.
 */
import { parentPort } from 'node:worker_threads';
import { runParquetJob, toJobFailure, type ParquetJob } from './parquet-jobs.js';

interface Request {
  id: number;
  job: ParquetJob;
}

const port = parentPort;
if (port) {
  port.on('message', ({ id, job }: Request) => {
    try {
      const bytes = runParquetJob(job);
      port.postMessage({ id, bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id, failure: toJobFailure(err) });
    }
  });
}
