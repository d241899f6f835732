import t from 'tap';
import {
  diffAwsCalls,
  parseAwsCalls,
  perOrder,
  renameOperation,
  sumAwsCalls,
} from '../../src/k6/aws-calls.js';

const ORDER = [
  '# HELP aws_calls_total Commands sent by the kit’s AWS clients',
  '# TYPE aws_calls_total counter',
  'aws_calls_total{api="sqs",operation="SendMessage",service="order",platform="local"} 40',
  'aws_calls_total{api="sqs",operation="ReceiveMessage",service="order",platform="local"} 10',
  'aws_calls_total{api="kinesis",operation="PutRecords",service="order",platform="local"} 20',
  '# TYPE http_requests_total counter',
  'http_requests_total{method="GET",route="/x",status="200",service="order",platform="local"} 7',
].join('\n');

t.test('the counter is read by api and operation; a process without it reads as absent', async (t) => {
  t.same(parseAwsCalls(ORDER), {
    sqs: { SendMessage: 40, ReceiveMessage: 10 },
    kinesis: { PutRecords: 20 },
  });
  t.equal(parseAwsCalls('# TYPE http_requests_total counter\nhttp_requests_total 3'), undefined);
  t.same(parseAwsCalls('# TYPE aws_calls_total counter\n'), {}, 'declared, no call yet: zero, not absent');
});

t.test(
  'a step is after − before per process, then summed; a restarted process counts from zero',
  async (t) => {
    // Prepare
    const before = { sqs: { SendMessage: 40 } };
    const after = { sqs: { SendMessage: 55, DeleteMessage: 3 } };
    const restarted = diffAwsCalls({ dynamodb: { GetItem: 900 } }, { dynamodb: { GetItem: 12 } });
    // Act
    const step = sumAwsCalls([diffAwsCalls(before, after), restarted, undefined]);
    // Assess
    t.same(step, { sqs: { SendMessage: 15, DeleteMessage: 3 }, dynamodb: { GetItem: 12 } });
    t.equal(sumAwsCalls([undefined, undefined]), undefined, 'no process exposes it: n/a, not zero');
    t.equal(diffAwsCalls({}, undefined), undefined);
  },
);

t.test('calls per accepted order for every API, operations busiest first', async (t) => {
  const calls = { sqs: { SendMessage: 20, ReceiveMessage: 30 }, dynamodb: { TransactWriteItems: 10 } };
  const rows = perOrder(calls, 10);
  t.same(
    rows.map((r) => [r.api, r.perOrder]),
    [
      ['sqs', 5],
      ['dynamodb', 1],
      ['kinesis', 0],
      ['s3', 0],
      ['cloudwatch', 0],
    ],
  );
  t.same(rows[0]?.operations, [
    { operation: 'ReceiveMessage', perOrder: 3 },
    { operation: 'SendMessage', perOrder: 2 },
  ]);
  t.ok(Number.isNaN(perOrder(calls, 0)[0]?.perOrder), 'no order accepted: no figure');
});

t.test("a Lambda runtime's unknown operation is its function's calls, renamed for the reader", async (t) => {
  t.same(
    renameOperation(
      { sqs: { ReceiveMessage: 4, unknown: 2 }, s3: { unknown: 1 } },
      'unknown',
      'payment function',
    ),
    { sqs: { ReceiveMessage: 4, 'payment function': 2 }, s3: { 'payment function': 1 } },
  );
});
