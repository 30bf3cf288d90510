/** `btcpipe archive` Prometheus metrics. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createArchiveMetrics(registry: Registry) {
  const registers = [registry];
  return {
    records: new Counter({ name: 'archive_kinesis_records_total', help: 'Kinesis user records read, by stream', labelNames: ['stream'] as const, registers }),
    decodeErrors: new Counter({ name: 'archive_decode_errors_total', help: 'Kinesis records that are not a valid event (not archived; the aggregator refuses them too)', labelNames: ['code'] as const, registers }),
    kinesisErrors: new Counter({ name: 'archive_kinesis_errors_total', help: 'Kinesis consumer errors by stream and phase', labelNames: ['stream', 'phase'] as const, registers }),
    events: new Counter({ name: 'archive_events_total', help: 'Events buffered for the lake, by dataset', labelNames: ['dataset'] as const, registers }),
    duplicates: new Counter({ name: 'archive_duplicates_total', help: 'Events dropped as already seen (id at or below the last of their symbol and stream), by dataset', labelNames: ['dataset'] as const, registers }),
    badRows: new Counter({ name: 'archive_bad_rows_total', help: 'Events whose lake row did not fit its dataset (a defect upstream; not buffered, the next event shows the hole), by dataset', labelNames: ['dataset'] as const, registers }),
    alreadyArchived: new Counter({ name: 'archive_rows_already_in_lake_total', help: 'Rows re-read after a restart that the lake already held (not written again), by dataset', labelNames: ['dataset'] as const, registers }),
    holes: new Counter({ name: 'archive_holes_total', help: 'Holes in a stream sequence (depth U/u chain, trade ids), by stream and status after the fill (open, partial, filled)', labelNames: ['stream', 'status'] as const, registers }),
    holeIds: new Counter({ name: 'archive_hole_ids_missing_total', help: 'Ids missing in holes, by stream', labelNames: ['stream'] as const, registers }),
    filled: new Counter({ name: 'archive_trades_filled_total', help: 'Missing trades fetched from /api/v3/trades into the lake', registers }),
    files: new Counter({ name: 'archive_files_written_total', help: 'Lake files written, by dataset', labelNames: ['dataset'] as const, registers }),
    rows: new Counter({ name: 'archive_rows_written_total', help: 'Rows written to the lake, by dataset', labelNames: ['dataset'] as const, registers }),
    bytes: new Counter({ name: 'archive_bytes_written_total', help: 'Parquet bytes written to the lake, by dataset', labelNames: ['dataset'] as const, registers }),
    writeErrors: new Counter({ name: 'archive_lake_write_errors_total', help: 'Lake writes that failed (retried by the next flush)', registers }),
    buffered: new Gauge({ name: 'archive_buffered_rows', help: 'Rows waiting for the next flush', registers }),
    flushSeconds: new Histogram({ name: 'archive_flush_duration_seconds', help: 'Duration of a flush of every buffer', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    reanchors: new Counter({ name: 'archive_reanchors_total', help: 'reanchor:done entries archived, by whether their snapshot levels are in the lake', labelNames: ['snapshot'] as const, registers }),
  };
}

export type ArchiveMetrics = ReturnType<typeof createArchiveMetrics>;
