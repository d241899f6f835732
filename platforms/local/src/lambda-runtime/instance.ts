import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { FromInstance, InstanceData, ToInstance } from './protocol.js';

/**
 * One execution environment of the local Lambda runtime, run in its own worker thread: its own
 * module graph, so importing the handler here runs the handler's module init in full — the
 * cold start — exactly once per instance. Then it serves invocations one at a time, as a Lambda
 * execution environment does.
 */

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

const data = workerData as InstanceData;
const port = parentPort;
if (!port) throw new Error('instance.ts runs only as a worker thread of the Lambda runtime');
const send = (message: FromInstance) => port.postMessage(message);

let handler: Handler;
const initStarted = performance.now();
try {
  const mod = (await import(pathToFileURL(data.handlerPath).href)) as { handler?: Handler };
  if (typeof mod.handler !== 'function') throw new Error(`${data.handlerPath} exports no handler function`);
  handler = mod.handler;
  send({ type: 'ready', initMs: performance.now() - initStarted });
} catch (error) {
  send({ type: 'init-error', message: (error as Error).message });
  throw error;
}

const logStream = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;

port.on('message', (message: ToInstance) => {
  const context: Context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${data.functionName}`,
    memoryLimitInMB: String(data.memoryMiB),
    awsRequestId: message.requestId,
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: logStream,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  handler(message.event, context).then(
    (response) => send({ type: 'result', requestId: message.requestId, response: response ?? undefined }),
    (error: Error) => send({ type: 'error', requestId: message.requestId, message: error.message }),
  );
});
