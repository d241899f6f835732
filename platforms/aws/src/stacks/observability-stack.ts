import { ALARM_NAMES, serviceErrorAlarm, serviceLatencyAlarm } from '@cloudcafe/contracts';
import { CfnOutput, Duration, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { LabSettings } from '../config.js';
import { type DashboardVariable, placeholdersOf, readDashboards } from '../dashboards.js';
import { AWS_PLATFORM, METRICS_NAMESPACE, SERVICE_NAMES, SERVICES, type ServiceName } from '../names.js';
import type { ComputeStack } from './compute-stack.js';
import type { DataStack } from './data-stack.js';

export interface ObservabilityStackProps extends StackProps {
  readonly settings: LabSettings;
  readonly data: DataStack;
  readonly compute: ComputeStack;
}

/** p99 latency above which a service's alarm fires, in ms; payment's cold starts are slower by design. */
export const P99_THRESHOLD_MS: Record<ServiceName, number> = {
  order: 2000,
  inventory: 1000,
  payment: 3000,
  menu: 1000,
  loyalty: 2000,
  analytics: 5000,
};
/** Percentage of answers that are 5xx above which a service's alarm fires. */
export const ERROR_RATE_THRESHOLD_PCT = 5;
/** Seconds the oldest payment request may wait before the queue counts as stuck. */
export const OLDEST_MESSAGE_THRESHOLD_S = 300;

/** Names of the alarms other stacks and the runbooks refer to (packages/contracts). */
export { ALARM_NAMES };

const RUNBOOKS = 'docs/runbooks';

/**
 * Alarms to one SNS topic, and the dashboards from `dashboards/*.json`. Service alarms use the
 * lab's own metrics (namespace `CloudCafe`, the kit's catalogue) so they mean the same on every
 * platform; queue, Lambda and table alarms use the AWS metrics of those resources, which still
 * report when every service is down, which is exactly when they are needed.
 */
export class ObservabilityStack extends Stack {
  readonly topic: sns.Topic;
  readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { data, compute, settings } = props;

    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'CloudCafe alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes alarm notifications itself; an encrypted topic must let it use the key.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      topicName: 'cloudcafe-alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (settings.alarmEmail)
      this.topic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));

    for (const service of SERVICE_NAMES) this.serviceAlarms(service);

    const fn = compute.paymentFunction;
    this.alarm('paymentErrors', {
      alarmName: ALARM_NAMES.paymentErrors,
      metric: fn.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      runbook: 'high-checkout-error-rate.md',
      description: 'The payment Lambda is failing invocations (not individual payments: whole batches).',
    });
    this.alarm('paymentThrottles', {
      alarmName: ALARM_NAMES.paymentThrottles,
      metric: fn.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      runbook: 'high-checkout-error-rate.md',
      description: 'The payment Lambda is throttled: payments wait in the queue.',
    });
    this.alarm('paymentQueueAge', {
      alarmName: ALARM_NAMES.paymentQueueAge,
      metric: data.paymentRequests.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: OLDEST_MESSAGE_THRESHOLD_S,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      runbook: 'dlq-not-empty.md',
      description: 'Payment requests are not being consumed: orders stay pending.',
    });
    this.alarm('paymentDlq', {
      alarmName: ALARM_NAMES.paymentDlq,
      metric: data.paymentRequestsDlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      runbook: 'dlq-not-empty.md',
      description: 'A payment request failed five times and sits in the DLQ: an accepted order is stuck.',
    });
    for (const [name, table] of Object.entries(data.tables)) {
      const throttles = new cloudwatch.MathExpression({
        expression: 'r + w',
        usingMetrics: {
          r: table.metric('ReadThrottleEvents', { statistic: 'Sum', period: Duration.minutes(1) }),
          w: table.metric('WriteThrottleEvents', { statistic: 'Sum', period: Duration.minutes(1) }),
        },
        label: `${name} throttled requests`,
        period: Duration.minutes(1),
      });
      this.alarm(`${name}Throttles`, {
        alarmName: `cloudcafe-dynamodb-${name}-throttles`,
        metric: throttles,
        threshold: 10,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        runbook: 'high-checkout-error-rate.md',
        description: `DynamoDB is throttling ${table.node.id}: reservations or charges are being retried.`,
      });
    }

    this.dashboards(props);
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn });
  }

  /** A 5xx-rate and a p99-latency alarm for one service, from the kit's metrics. */
  private serviceAlarms(service: ServiceName): void {
    const dimensionsMap = { Service: service, Platform: AWS_PLATFORM };
    const period = Duration.minutes(1);
    const errorRate = new cloudwatch.MathExpression({
      // IF(): no requests means no error rate, not a division by zero.
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'http_errors_total',
          dimensionsMap: { ...dimensionsMap, status_class: '5xx' },
          statistic: 'Sum',
          period,
        }),
        requests: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'http_requests_total',
          dimensionsMap,
          statistic: 'Sum',
          period,
        }),
      },
      label: `${service} 5xx %`,
      period,
    });
    this.alarm(`${service}ErrorRate`, {
      alarmName: serviceErrorAlarm(service),
      metric: errorRate,
      threshold: ERROR_RATE_THRESHOLD_PCT,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      runbook: 'high-checkout-error-rate.md',
      description: `More than ${ERROR_RATE_THRESHOLD_PCT}% of /api/${SERVICES[service].segment} answers are 5xx.`,
    });
    this.alarm(`${service}Latency`, {
      alarmName: serviceLatencyAlarm(service),
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'http_request_duration_ms',
        dimensionsMap,
        statistic: 'p99',
        period,
      }),
      threshold: P99_THRESHOLD_MS[service],
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      runbook: 'high-checkout-error-rate.md',
      description: `p99 latency of /api/${SERVICES[service].segment} above ${P99_THRESHOLD_MS[service]} ms.`,
    });
  }

  private alarm(
    key: string,
    opts: {
      alarmName: string;
      metric: cloudwatch.IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
      comparisonOperator?: cloudwatch.ComparisonOperator;
      runbook: string;
      description: string;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${key[0]?.toUpperCase()}${key.slice(1)}Alarm`, {
      alarmName: opts.alarmName,
      alarmDescription: `${opts.description} Runbook: ${RUNBOOKS}/${opts.runbook}`,
      metric: opts.metric,
      threshold: opts.threshold,
      evaluationPeriods: opts.evaluationPeriods,
      datapointsToAlarm: opts.datapointsToAlarm ?? opts.evaluationPeriods,
      comparisonOperator: opts.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // An idle lab sends no data; silence is not an incident.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.topic));
    alarm.addOkAction(new cwActions.SnsAction(this.topic));
    this.alarms[key] = alarm;
    return alarm;
  }

  /** One CloudWatch dashboard per `dashboards/*.json`, placeholders filled by Fn::Sub. */
  private dashboards({ data, compute }: ObservabilityStackProps): void {
    const values: Record<Exclude<DashboardVariable, 'AWS::Region' | 'AWS::AccountId'>, string> = {
      Platform: AWS_PLATFORM,
      PaymentFunction: compute.paymentFunction.functionName,
      PaymentQueue: data.paymentRequests.queueName,
      PaymentDlq: data.paymentRequestsDlq.queueName,
      ResultsQueue: data.paymentResults.queueName,
      OrderEventsStream: data.orderEvents.streamName,
      InventoryTable: data.tables.inventory.tableName,
      ReservationsTable: data.tables.reservations.tableName,
      PaymentsTable: data.tables.payments.tableName,
    };
    for (const { name, body } of readDashboards()) {
      new cloudwatch.CfnDashboard(this, `${name}Dashboard`, {
        dashboardName: `cloudcafe-${name}`,
        // Only the variables the body uses: Fn::Sub rejects unused ones as noise.
        dashboardBody: Fn.sub(
          body,
          Object.fromEntries(Object.entries(values).filter(([k]) => placeholdersOf(body).includes(k))),
        ),
      });
    }
  }
}
