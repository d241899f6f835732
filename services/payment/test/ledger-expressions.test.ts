import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { validateExpressions } from '@cloudcafe/kit';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import t from 'tap';
import { type NewEntry, PaymentLedger } from '../src/ledger.js';

// Every request the ledger makes, checked the way DynamoDB checks expression attribute names
// and values (the emulator does not). No engine: a stand-in request handler answers `{}`, which
// is enough for the SDK to finish each call, and records which operation reached it. Its answer
// is a plain HttpResponse-shaped object, which is all the SDK checks for: the hoisted
// @smithy/protocol-http class is chaos's old client-fis copy, not the one these clients use.

const TABLE = 'cloudcafe-payments';

function ledgerWithStandInDynamoDB() {
  const operations: string[] = [];
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (request: HttpRequest) => {
        operations.push(String(request.headers['x-amz-target']).replace('DynamoDB_20120810.', ''));
        const response: HttpResponse = {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from(['{}']),
        };
        return { response };
      },
    },
  });
  validateExpressions(client);
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { ledger: new PaymentLedger(documentClient, TABLE), documentClient, operations };
}

const entry: NewEntry = {
  orderId: 'o-1',
  customerId: 'c-1',
  amountCents: 450,
  currency: 'EUR',
  requestedAt: '2025-01-01T08:00:00.000Z',
  fraudScore: 0.1,
};

t.test('the check is on: an invalid request through the same client is refused, never sent', async (t) => {
  // Without this the other test would pass with no check at all.
  const { documentClient, operations } = ledgerWithStandInDynamoDB();

  await t.rejects(
    documentClient.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { orderId: 'o-1' },
        UpdateExpression: 'SET attempts = attempts + :one',
        ExpressionAttributeValues: { ':one': 1, ':unused': 2 },
      }),
    ),
    { name: 'ValidationException', message: /unused in expressions: keys: \{:unused\}/ },
  );
  t.same(operations, []);
});

t.test(
  'no request of any ledger method is refused by DynamoDB’s expression checks (stand-in DynamoDB)',
  async (t) => {
    // Prepare
    const { ledger, operations } = ledgerWithStandInDynamoDB();

    // Act: every method, and each optional part of `complete`'s update.
    await ledger.get('o-1');
    await ledger.create(entry, 'charging');
    await ledger.create(entry, 'declined', { reason: 'fraud' });
    await ledger.recordAttempt('o-1');
    await ledger.complete('o-1', 'charged', { chargeId: 'ch-1' });
    await ledger.complete('o-1', 'declined', { reason: 'card_declined' });
    await ledger.complete('o-1', 'charged', { chargeId: 'ch-1', reason: 'retried' });
    await ledger.complete('o-1', 'charged', {});

    // Assess: each request was sent, none refused before it.
    t.same(operations, [
      'GetItem',
      'PutItem',
      'PutItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
      'UpdateItem',
    ]);
  },
);
