import { Duration } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import { STREAM_KEYS, type StreamKey } from '../config.js';

export interface EventStreamsProps {
  /** Stream name per event type (the same name three times for one stream). */
  names: Record<StreamKey, string>;
  capacity: 'on-demand' | 'provisioned';
  shardCount: number;
  retentionHours: number;
}

/** The Kinesis stream(s) between the ingestor and the aggregator, partitioned by symbol. */
export class EventStreams extends Construct {
  /** Per event type; several keys share one Stream in the single-stream layout. */
  readonly byType: Record<StreamKey, kinesis.Stream>;
  /** Each stream once. */
  readonly all: kinesis.Stream[];

  constructor(scope: Construct, id: string, props: EventStreamsProps) {
    super(scope, id);
    const byName = new Map<string, kinesis.Stream>();
    const single = new Set(Object.values(props.names)).size === 1;
    const provisioned = props.capacity === 'provisioned';
    for (const key of STREAM_KEYS) {
      const name = props.names[key];
      if (byName.has(name)) continue;
      byName.set(
        name,
        new kinesis.Stream(this, single ? 'Events' : `Stream-${key}`, {
          streamName: name,
          streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
          ...(provisioned ? { shardCount: props.shardCount } : {}),
          retentionPeriod: Duration.hours(props.retentionHours),
          encryption: kinesis.StreamEncryption.MANAGED,
        }),
      );
    }
    this.byType = {
      trade: byName.get(props.names.trade)!,
      bestbidask: byName.get(props.names.bestbidask)!,
      depth: byName.get(props.names.depth)!,
    };
    this.all = [...byName.values()];
  }
}
