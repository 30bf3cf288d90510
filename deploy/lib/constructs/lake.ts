import { Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BRONZE_PARTITION_KEYS, BRONZE_TABLES, PROJECTION_FIRST_DATE } from '../lake-tables.js';

export interface LakeProps {
  bucketName?: string;
  bronzePrefix: string;
  symbols: readonly string[];
  infrequentAccessAfterDays: number;
  glacierAfterDays: number;
  expireAfterDays?: number;
  databaseName: string;
}

const ATHENA_RESULTS_PREFIX = 'athena-results';
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

/**
 * The data lake: one private bucket (SSE-S3, TLS only, no public access, versioned so an overwrite or a
 * delete can be undone for a month), bronze objects moving to cheaper storage as they age, and a Glue
 * database whose tables describe the bronze Parquet layout. Partition projection derives partitions from
 * the key layout, so Athena queries new hours at once, without crawlers or MSCK REPAIR.
 */
export class Lake extends Construct {
  readonly bucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly tables: glue.CfnTable[] = [];
  readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: LakeProps) {
    super(scope, id);
    const bronze = props.bronzePrefix;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'bronze-tiering',
          prefix: `${bronze}/`,
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(props.infrequentAccessAfterDays) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(props.glacierAfterDays) },
          ],
          ...(props.expireAfterDays ? { expiration: Duration.days(props.expireAfterDays) } : {}),
        },
        // Rewritten hour files leave their predecessor as a noncurrent version.
        { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: 'athena-results', prefix: `${ATHENA_RESULTS_PREFIX}/`, expiration: Duration.days(7) },
      ],
    });

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: props.databaseName, description: 'btcpipe data lake (bronze: Binance REST data as written)' },
    });

    for (const t of BRONZE_TABLES) {
      const location = `s3://${this.bucket.bucketName}/${bronze}/${t.dataset}/`;
      const table = new glue.CfnTable(this, `Table-${t.dataset}`, {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: props.databaseName,
        tableInput: {
          name: `bronze_${t.dataset}`,
          description: t.description,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            classification: 'parquet',
            EXTERNAL: 'TRUE',
            'projection.enabled': 'true',
            'projection.symbol.type': 'enum',
            'projection.symbol.values': props.symbols.join(','),
            'projection.date.type': 'date',
            'projection.date.format': 'yyyy-MM-dd',
            'projection.date.range': `${PROJECTION_FIRST_DATE},NOW`,
            'projection.date.interval': '1',
            'projection.date.interval.unit': 'DAYS',
            'projection.hour.type': 'enum',
            'projection.hour.values': HOURS.join(','),
            'storage.location.template': `${location}symbol=\${symbol}/date=\${date}/hour=\${hour}/`,
          },
          partitionKeys: BRONZE_PARTITION_KEYS.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          storageDescriptor: {
            location,
            columns: t.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          },
        },
      });
      table.addResourceDependency(this.database);
      this.tables.push(table);
    }

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${Stack.of(this).stackName.toLowerCase()}-lake`,
      description: 'Queries over the btcpipe lake; results expire after 7 days',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.bucket.bucketName}/${ATHENA_RESULTS_PREFIX}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName, description: 'Lake bucket' });
    new CfnOutput(this, 'GlueDatabase', { value: props.databaseName, description: 'Glue database of the bronze tables' });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.workGroup.name, description: 'Athena work group for lake queries' });
  }
}
