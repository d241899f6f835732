import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HandlerExecutionContext, MetadataBearer, MiddlewareStack } from '@smithy/types';
import type { AwsApi } from './aws.js';
import { assertValidExpressions } from './dynamodb/expressions.js';
import type { Metrics } from './metrics/registry.js';

/** An AWS SDK v3 client, as far as adding middleware goes. */
export interface WithMiddlewareStack<Input extends object, Output extends MetadataBearer> {
  readonly middlewareStack: MiddlewareStack<Input, Output>;
}

/**
 * Refuses, before anything is sent, every DynamoDB request whose expression attribute names
 * or values DynamoDB would refuse (see `expressionProblems`), with the same
 * `ValidationException` message. The emulator accepts them, so without this a request that
 * AWS refuses passes every local test. A `DynamoDBDocumentClient` made from the client shares
 * its middleware stack and sends its commands as the client's own (`UpdateCommand` runs as
 * `UpdateItemCommand`, its input still plain values at this step), so it is covered too.
 *
 * @example
 * ```ts
 * const dynamodb = new DynamoDBClient({ region });
 * validateExpressions(dynamodb);
 * const documentClient = DynamoDBDocumentClient.from(dynamodb);
 * ```
 */
export function validateExpressions(client: Pick<DynamoDBClient, 'middlewareStack'>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      assertValidExpressions(operationName(context), args.input);
      return next(args);
    },
    { step: 'initialize', name: 'cafeValidateExpressions' },
  );
}

/**
 * Counts every command the client sends in `aws_calls_total` (`api`, and `operation` such as
 * `UpdateItem`), once per command whatever its retries. Counting only adds to the registry,
 * so the CloudWatch exporter's own PutMetricData calls are counted without sending anything:
 * they show up in the next flush, which was going to happen anyway.
 *
 * @example
 * ```ts
 * countAwsCalls(new SQSClient({ region }), 'sqs', metrics);
 * ```
 */
export function countAwsCalls<Input extends object, Output extends MetadataBearer>(
  client: WithMiddlewareStack<Input, Output>,
  api: AwsApi,
  metrics: Metrics,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      metrics.inc('aws_calls_total', { api, operation: operationName(context) });
      return next(args);
    },
    // Low: after the other initialize middleware, so a request refused there (an invalid
    // expression) is not counted as a call.
    { step: 'initialize', priority: 'low', name: 'cafeCountAwsCalls' },
  );
}

/** `UpdateItemCommand` → `UpdateItem`: the API's own operation name. */
function operationName(context: HandlerExecutionContext): string {
  return context.commandName?.replace(/Command$/, '') ?? 'unknown';
}
