import { connect } from 'node:net';
import { HOST } from './ports.js';
import type { Dependency, Link } from './topology.js';

/**
 * Measures one round trip across a Toxiproxy link by speaking a word of the dependency's own
 * protocol, so a fault on the link is checked where it acts — the same bytes a service's
 * client would wait for. A latency toxic must show up here; a cut link must fail here.
 */

/** The request to send and how to recognise the first byte of an answer, per kind of dependency. */
function greeting(dep: Dependency): Buffer {
  switch (dep) {
    case 'redis':
      return Buffer.from('PING\r\n');
    case 'postgres':
      // SSLRequest: 8 bytes, answered with one byte ('N' or 'S') before any authentication
      return Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]);
    case 'mongo':
      return mongoHello();
    default:
      // every other dependency speaks HTTP: the services, the AWS emulators, the gateway simulator
      return Buffer.from(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`);
  }
}

/** An OP_MSG `{hello: 1, $db: 'admin'}`, hand-built: the smallest thing a MongoDB server answers. */
function mongoHello(): Buffer {
  const doc = Buffer.concat([
    Buffer.from([0x10]), // int32 element
    Buffer.from('hello\0'),
    int32(1),
    Buffer.from([0x02]), // string element
    Buffer.from('$db\0'),
    int32(6),
    Buffer.from('admin\0'),
    Buffer.from([0]),
  ]);
  const bson = Buffer.concat([int32(doc.length + 4), doc]);
  const body = Buffer.concat([int32(0), Buffer.from([0]), bson]); // flagBits, section kind 0
  const header = Buffer.concat([int32(16 + body.length), int32(1), int32(0), int32(2013)]);
  return Buffer.concat([header, body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

export class LinkProbeError extends Error {
  constructor(
    readonly link: string,
    reason: string,
  ) {
    super(`${link}: ${reason}`);
    this.name = 'LinkProbeError';
  }
}

/**
 * Milliseconds from sending the greeting to the first byte of the answer, over a fresh
 * connection to the link's listen port. Rejects when the link refuses, resets or stays silent
 * past the timeout.
 */
export function linkRoundTrip(
  link: Pick<Link, 'name' | 'to' | 'listenPort'>,
  timeoutMs = 5000,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port: link.listenPort });
    let sentAt = 0;
    const fail = (reason: string) => {
      socket.destroy();
      reject(new LinkProbeError(link.name, reason));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (error) => fail(error.message));
    socket.once('connect', () => {
      sentAt = performance.now();
      socket.write(greeting(link.to));
    });
    socket.once('data', () => {
      const ms = performance.now() - sentAt;
      socket.destroy();
      resolve(Math.round(ms * 100) / 100);
    });
    socket.once('end', () => fail('closed without answering'));
  });
}

/** The median of `samples` round trips; one failed sample fails the whole measurement. */
export async function medianRoundTrip(
  link: Pick<Link, 'name' | 'to' | 'listenPort'>,
  samples = 5,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await linkRoundTrip(link));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}
