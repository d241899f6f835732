import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { waitFor } from '@cloudcafe/local-platform';

/** A stream of the test's own, two shards, once it is ACTIVE. */
export async function createStream(kinesis: KinesisClient, name: string): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  await waitFor('the stream to be active', async () => {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
}

/**
 * Puts `key:n` values; the part before the colon is the partition key, so the values spread over
 * both shards and each says which key it went under.
 */
export async function put(kinesis: KinesisClient, name: string, values: readonly string[]): Promise<void> {
  const answer = await kinesis.send(
    new PutRecordsCommand({
      StreamName: name,
      Records: values.map((value) => ({
        PartitionKey: value.split(':')[0] ?? value,
        Data: Buffer.from(value),
      })),
    }),
  );
  if (answer.FailedRecordCount) throw new Error(`${answer.FailedRecordCount} records failed`);
}
