import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';

/**
 * Points the AWS SDK at the lab's emulator (moto on 127.0.0.1:4566, shifted by
 * CLOUDCAFE_PORT_OFFSET like every lab port) unless the environment already says where.
 */
export function useLocalEmulator(): void {
  const port = 4566 + Number(process.env.CLOUDCAFE_PORT_OFFSET ?? 0);
  process.env.AWS_ENDPOINT_URL ??= `http://127.0.0.1:${port}`;
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  process.env.AWS_REGION ??= 'us-east-1';
}

/** One statistic of one metric over [start, end), read back with GetMetricData. */
export async function readMetric(
  client: CloudWatchClient,
  query: {
    name: string;
    dimensions: Record<string, string>;
    stat: 'Sum' | 'SampleCount' | 'Maximum' | 'Minimum' | 'Average';
    start: Date;
    end: Date;
  },
): Promise<number[]> {
  const answer = await client.send(
    new GetMetricDataCommand({
      StartTime: query.start,
      EndTime: query.end,
      MetricDataQueries: [
        {
          Id: 'q',
          MetricStat: {
            Metric: {
              Namespace: 'CloudCafe',
              MetricName: query.name,
              Dimensions: Object.entries(query.dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 60,
            Stat: query.stat,
          },
        },
      ],
    }),
  );
  return answer.MetricDataResults?.[0]?.Values ?? [];
}
