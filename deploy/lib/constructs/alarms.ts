import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALERT_NAMESPACE, LOG_ALERTS, filterPattern, type AlertSource } from '../alerts.js';
import type { DeployConfig } from '../config.js';

export interface AlertAlarmsProps {
  config: DeployConfig;
  logGroups: Record<AlertSource, logs.ILogGroup>;
  streams: readonly kinesis.IStream[];
  /** Lambda mode: lag is the function's IteratorAge and failed batches land in the DLQ. */
  aggregatorFunction?: lambda.IFunction;
  aggregatorDlq?: sqs.IQueue;
}

/**
 * The operator alarms, all to one SNS topic: every log alert (a metric filter counting its lines, alarm
 * at one line per period), consumer lag (iterator age of the aggregator's reads), and, in Lambda mode,
 * batches handed to the dead-letter queue.
 */
export class AlertAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlertAlarmsProps) {
    super(scope, id);
    const c = props.config;
    const period = Duration.minutes(c.alarms.evaluation_minutes);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'btcpipe alarms', enforceSSL: true });
    if (c.alarms.email) this.topic.addSubscription(new subs.EmailSubscription(c.alarms.email));
    const action = new cwActions.SnsAction(this.topic);
    const add = (alarm: cloudwatch.Alarm): void => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };

    for (const a of LOG_ALERTS) {
      const filter = new logs.MetricFilter(this, `Filter-${a.metric}`, {
        logGroup: props.logGroups[a.source],
        filterPattern: logs.FilterPattern.literal(filterPattern(a)),
        metricNamespace: ALERT_NAMESPACE,
        metricName: a.metric,
        metricValue: '1',
        unit: cloudwatch.Unit.COUNT,
      });
      add(
        new cloudwatch.Alarm(this, a.metric, {
          alarmDescription: `${a.description} (log lines: ${filterPattern(a)} in ${a.source})`,
          metric: filter.metric({ statistic: cloudwatch.Stats.SUM, period }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          // No line is no alert: filters publish nothing while all is well.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    const lagMs = c.alarms.consumer_lag_seconds * 1000;
    if (props.aggregatorFunction) {
      add(
        new cloudwatch.Alarm(this, 'ConsumerLag', {
          alarmDescription: `Aggregator (Lambda) reads more than ${c.alarms.consumer_lag_seconds} s behind the stream tip`,
          metric: props.aggregatorFunction.metric('IteratorAge', { statistic: cloudwatch.Stats.MAXIMUM, period }),
          threshold: lagMs,
          evaluationPeriods: 2,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
    } else {
      props.streams.forEach((s, i) => {
        add(
          new cloudwatch.Alarm(this, props.streams.length === 1 ? 'ConsumerLag' : `ConsumerLag${i + 1}`, {
            alarmDescription: `Aggregator reads ${s.streamName} more than ${c.alarms.consumer_lag_seconds} s behind its tip`,
            metric: s.metricGetRecordsIteratorAgeMilliseconds({ statistic: cloudwatch.Stats.MAXIMUM, period }),
            threshold: lagMs,
            evaluationPeriods: 2,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            // No GetRecords at all means no consumer: that is lag too.
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          }),
        );
      });
    }
    if (props.aggregatorDlq) {
      add(
        new cloudwatch.Alarm(this, 'BatchesDeadLettered', {
          alarmDescription: 'Kinesis batches the aggregator Lambda gave up on (retries or record age exhausted): see the DLQ',
          metric: props.aggregatorDlq.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    new CfnOutput(this, 'AlarmTopic', { value: this.topic.topicArn, description: 'SNS topic of the btcpipe alarms' });
  }
}
