import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import t from 'tap';
import { createAwsClients } from '../../src/aws.js';
import {
  assertValidExpressions,
  ExpressionValidationError,
  expressionProblems,
} from '../../src/dynamodb/expressions.js';

const TABLE = 'stock';

t.test('a request whose maps match its expressions passes, plain or AttributeValue values', async (t) => {
  // Prepare
  const update = {
    TableName: TABLE,
    Key: { sku: 'beans' },
    UpdateExpression: 'SET #q = #q - :n, updatedAt = :at',
    ConditionExpression: '#q >= :n AND attribute_exists(sku)',
    ExpressionAttributeNames: { '#q': 'qty' },
  };

  // Act
  const plain = expressionProblems('UpdateItem', {
    ...update,
    ExpressionAttributeValues: { ':n': 2, ':at': '2025-01-01T00:00:00Z' },
  });
  const lowLevel = expressionProblems('UpdateItem', {
    ...update,
    ExpressionAttributeValues: { ':n': { N: '2' }, ':at': { S: '2025-01-01T00:00:00Z' } },
  });

  // Assess
  t.same(plain, []);
  t.same(lowLevel, []);
  t.doesNotThrow(() =>
    assertValidExpressions('UpdateItem', { ...update, ExpressionAttributeValues: { ':n': 2, ':at': 'x' } }),
  );
});

t.test('values no expression uses are refused, listed as DynamoDB lists them', async (t) => {
  const problems = expressionProblems('UpdateItem', {
    TableName: TABLE,
    Key: { orderId: 'o-1' },
    UpdateExpression: 'SET #s = :s',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': 'done', ':ttl': 60, ':fin': true },
  });

  t.same(problems, ['Value provided in ExpressionAttributeValues unused in expressions: keys: {:fin, :ttl}']);
});

t.test('names no expression uses are refused', async (t) => {
  const problems = expressionProblems('UpdateItem', {
    TableName: TABLE,
    Key: { orderId: 'o-1' },
    UpdateExpression: 'SET #s = :s',
    ExpressionAttributeNames: { '#s': 'status', '#x': 'extra' },
    ExpressionAttributeValues: { ':s': 'done' },
  });

  t.same(problems, ['Value provided in ExpressionAttributeNames unused in expressions: keys: {#x}']);
});

t.test('a name or value used but not defined is refused, naming the expression it is in', async (t) => {
  const problems = expressionProblems('PutItem', {
    TableName: TABLE,
    Item: { orderId: 'o-1' },
    ConditionExpression: 'attribute_not_exists(#x) OR #x < :x OR #x = :x',
  });

  t.same(problems, [
    'Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x',
    'Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x',
  ]);
});

t.test('names and values are two namespaces: #a does not define :a', async (t) => {
  const problems = expressionProblems('UpdateItem', {
    TableName: TABLE,
    Key: { k: '1' },
    UpdateExpression: 'SET #a = :a',
    ExpressionAttributeNames: { '#a': 'a', ':a': 'a' },
  });

  t.same(problems, [
    'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :a',
    'Value provided in ExpressionAttributeNames unused in expressions: keys: {:a}',
  ]);
});

t.test('tokens run over letters, digits and underscores only', async (t) => {
  const problems = expressionProblems('UpdateItem', {
    TableName: TABLE,
    Key: { k: '1' },
    UpdateExpression: 'SET #a_1.#b2[0] = :v_1, c=:v2',
    ExpressionAttributeNames: { '#a_1': 'a', '#b2': 'b' },
    ExpressionAttributeValues: { ':v_1': 1, ':v2': 2 },
  });

  t.same(problems, []);
});

t.test('maps given to a request without any expression are refused', async (t) => {
  const problems = expressionProblems('GetItem', {
    TableName: TABLE,
    Key: { k: '1' },
    ExpressionAttributeNames: { '#k': 'k' },
    ExpressionAttributeValues: { ':k': '1' },
  });

  t.same(problems, [
    'ExpressionAttributeValues can only be specified when using expressions',
    'ExpressionAttributeNames can only be specified when using expressions',
  ]);
});

t.test('empty maps are refused', async (t) => {
  const problems = expressionProblems('DeleteItem', {
    TableName: TABLE,
    Key: { k: '1' },
    ConditionExpression: 'attribute_exists(k)',
    ExpressionAttributeNames: {},
    ExpressionAttributeValues: {},
  });

  t.same(problems, [
    'ExpressionAttributeNames must not be empty',
    'ExpressionAttributeValues must not be empty',
  ]);
});

t.test('every expression of a request counts: Query and Scan', async (t) => {
  // Prepare: each token is used in one expression only, so dropping any expression from the
  // check would report it unused.
  const query = {
    TableName: TABLE,
    KeyConditionExpression: '#pk = :pk',
    FilterExpression: '#st <> :cancelled',
    ProjectionExpression: '#pk, #total',
    ExpressionAttributeNames: { '#pk': 'customerId', '#st': 'status', '#total': 'total' },
    ExpressionAttributeValues: { ':pk': 'c-1', ':cancelled': 'cancelled' },
  };
  const scan = {
    TableName: TABLE,
    FilterExpression: 'begins_with(#sku, :p)',
    ProjectionExpression: '#sku, #q',
    ExpressionAttributeNames: { '#sku': 'sku', '#q': 'qty' },
    ExpressionAttributeValues: { ':p': 'bean' },
  };

  // Act, Assess
  t.same(expressionProblems('Query', query), []);
  t.same(expressionProblems('Scan', scan), []);
  t.same(expressionProblems('Query', { ...query, FilterExpression: undefined }), [
    'Value provided in ExpressionAttributeNames unused in expressions: keys: {#st}',
    'Value provided in ExpressionAttributeValues unused in expressions: keys: {:cancelled}',
  ]);
  t.same(expressionProblems('Scan', { ...scan, ProjectionExpression: 'sku' }), [
    'Value provided in ExpressionAttributeNames unused in expressions: keys: {#q}',
  ]);
});

t.test('GetItem: the projection uses the names', async (t) => {
  const get = { TableName: TABLE, Key: { k: '1' }, ProjectionExpression: '#n' };

  t.same(expressionProblems('GetItem', { ...get, ExpressionAttributeNames: { '#n': 'name' } }), []);
  t.same(expressionProblems('GetItem', get), [
    'Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #n',
  ]);
});

t.test('BatchGetItem: each table is its own request', async (t) => {
  const problems = expressionProblems('BatchGetItem', {
    RequestItems: {
      orders: {
        Keys: [{ orderId: 'o-1' }],
        ProjectionExpression: '#s',
        ExpressionAttributeNames: { '#s': 'status' },
      },
      // #s is defined for orders, not here
      payments: {
        Keys: [{ orderId: 'o-1' }],
        ProjectionExpression: '#s, #a',
        ExpressionAttributeNames: { '#a': 'amount' },
      },
      stock: { Keys: [{ sku: 'beans' }], ExpressionAttributeNames: { '#q': 'qty' } },
    },
  });

  t.same(problems, [
    'Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #s',
    'ExpressionAttributeNames can only be specified when using expressions',
  ]);
});

t.test('TransactWriteItems: each Put, Update, Delete and ConditionCheck is checked on its own', async (t) => {
  // Prepare: `:one` is defined on the Put but used by the Update; together they would match.
  const input = {
    TransactItems: [
      {
        Put: {
          TableName: 'orders',
          Item: { orderId: 'o-1' },
          ConditionExpression: 'attribute_not_exists(orderId)',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
      { Update: { TableName: TABLE, Key: { sku: 'beans' }, UpdateExpression: 'ADD qty :one' } },
      {
        Delete: {
          TableName: 'holds',
          Key: { holdId: 'h-1' },
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': 'orderId' },
          ExpressionAttributeValues: { ':o': 'o-1' },
        },
      },
      {
        ConditionCheck: {
          TableName: 'customers',
          Key: { customerId: 'c-1' },
          ConditionExpression: 'attribute_exists(customerId)',
          ExpressionAttributeNames: { '#unused': 'x' },
        },
      },
    ],
  };

  // Act
  const problems = expressionProblems('TransactWriteItems', input);

  // Assess
  t.same(problems, [
    'Value provided in ExpressionAttributeValues unused in expressions: keys: {:one}',
    'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :one',
    'Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}',
  ]);
});

t.test('TransactGetItems: each Get is checked on its own', async (t) => {
  const problems = expressionProblems('TransactGetItems', {
    TransactItems: [
      {
        Get: {
          TableName: 'orders',
          Key: { orderId: 'o-1' },
          ProjectionExpression: '#s',
          ExpressionAttributeNames: { '#s': 'status' },
        },
      },
      { Get: { TableName: 'payments', Key: { orderId: 'o-1' }, ProjectionExpression: '#s' } },
    ],
  });

  t.same(problems, [
    'Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #s',
  ]);
});

t.test('assertValidExpressions throws a ValidationException with DynamoDB’s message', async (t) => {
  const input = {
    TableName: TABLE,
    Key: { k: '1' },
    UpdateExpression: 'SET a = :a',
    ExpressionAttributeValues: { ':a': 1, ':b': 2 },
  };

  const error = t.throws(() => assertValidExpressions('UpdateItem', input));

  t.ok(error instanceof ExpressionValidationError);
  t.match(error, {
    name: 'ValidationException',
    message: 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}',
  });
});

t.test('createAwsClients’ DynamoDB clients refuse invalid requests before any network I/O', async (t) => {
  // Prepare: nothing listens on the discard port, so a request that is sent fails to connect.
  const saved = { ...process.env };
  process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:9';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  t.teardown(() => {
    process.env = saved;
  });
  const aws = createAwsClients({ region: 'us-east-1', maxAttempts: 1 });
  t.teardown(() => aws.destroy());
  let transported = 0;
  // The last step before the request handler: reaching it means a request was about to go out.
  aws.dynamodb.middlewareStack.add(
    (next) => async (args) => {
      transported += 1;
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  const unusedValues = {
    TableName: 'orders',
    Key: { orderId: 'o-1' },
    UpdateExpression: 'SET #s = :s',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': 'done', ':fin': true, ':ttl': 60 },
  };

  t.test('the document client’s UpdateCommand', async (t) => {
    await t.rejects(aws.documentClient.send(new UpdateCommand(unusedValues)), {
      name: 'ValidationException',
      message: 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:fin, :ttl}',
    });
    t.equal(transported, 0);
  });

  t.test('the document client’s TransactWriteCommand, sent as TransactWriteItems', async (t) => {
    // Only the TransactWriteItems reading finds this: read as one request, it has no maps.
    await t.rejects(
      aws.documentClient.send(new TransactWriteCommand({ TransactItems: [{ Update: unusedValues }] })),
      { name: 'ValidationException', message: /unused in expressions: keys: \{:fin, :ttl\}/ },
    );
    t.equal(transported, 0);
  });

  t.test('the low-level UpdateItemCommand', async (t) => {
    const input = {
      TableName: 'orders',
      Key: { orderId: { S: 'o-1' } },
      UpdateExpression: 'SET #s = :s',
      ExpressionAttributeValues: { ':s': { S: 'done' } },
    };
    await t.rejects(aws.dynamodb.send(new UpdateItemCommand(input)), {
      name: 'ValidationException',
      message: /attribute name used in the document path is not defined; attribute name: #s/,
    });
    t.equal(transported, 0);
  });

  t.test('a valid request gets past the check and is sent (and fails to connect)', async (t) => {
    const valid = { ...unusedValues, ExpressionAttributeValues: { ':s': 'done' } };
    await t.rejects(aws.documentClient.send(new UpdateCommand(valid)), { code: 'ECONNREFUSED' });
    t.equal(transported, 1);
  });
});
