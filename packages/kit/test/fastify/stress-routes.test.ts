import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import Type from 'typebox';
import { buildServiceApp } from '../../src/fastify/build-app.js';
import { defineStressScenario } from '../../src/stress.js';
import { ADMIN, eventually, hashChain, testConfig } from '../support/fixtures.js';

const spin = defineStressScenario({
  name: 'spin',
  description: 'Works until cancelled or its duration is up',
  knobs: Type.Object({ durationSeconds: Type.Integer({ minimum: 1, maximum: 30, default: 30 }) }),
  durationMs: (knobs) => knobs.durationSeconds * 1000,
  run: async (_knobs, ctx) => {
    let chunks = 0;
    while (!ctx.signal.aborted) {
      chunks += 1;
      ctx.progress(Math.min(0.99, chunks / 1000));
      await sleep(5);
    }
    return { chunks };
  },
});

async function buildApp() {
  const app = await buildServiceApp({
    service: 'menu',
    config: testConfig('menu'),
    scenarios: [hashChain, spin],
  });
  t.teardown(() => app.close());
  return app;
}

t.test('a wrong token answers 401, the right one 202', async (t) => {
  const app = await buildApp();

  const none = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 1 },
  });
  const wrong = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 1 },
    headers: { authorization: 'Bearer not-the-token-at-all' },
  });
  const right = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 1 },
    headers: ADMIN,
  });

  t.equal(none.statusCode, 401);
  t.equal(wrong.statusCode, 401);
  t.same(wrong.json(), {
    error: {
      code: 'CAFE_ERR_UNAUTHORIZED',
      message: 'send the admin token as Authorization: Bearer <token>',
    },
  });
  t.equal(right.statusCode, 202);
  t.match(right.json(), { runId: String, scenario: 'hash-chain', knobs: { rounds: 1, durationSeconds: 30 } });
});

t.test('without a token, bad knobs still answer 401 (auth comes first)', async (t) => {
  const app = await buildApp();

  const response = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: -1 },
  });

  t.equal(response.statusCode, 401);
});

t.test('bad knobs answer 400 naming the knob', async (t) => {
  const app = await buildApp();

  const tooMany = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/hash-chain',
    payload: { rounds: 10_000_000 },
    headers: ADMIN,
  });
  const wrongType = await app.inject({
    method: 'POST',
    url: '/api/menu/stress/spin',
    payload: { durationSeconds: 'ten' },
    headers: ADMIN,
  });

  t.equal(tooMany.statusCode, 400);
  t.same(tooMany.json(), {
    error: { code: 'CAFE_ERR_VALIDATION', message: 'body.rounds: must be an integer between 1 and 100000' },
  });
  t.equal(wrongType.statusCode, 400);
  t.match(wrongType.json().error.message, 'body.durationSeconds: must be an integer between 1 and 30');
});

t.test('two concurrent POSTs: one 202, one 409', async (t) => {
  const app = await buildApp();

  const answers = await Promise.all([
    app.inject({
      method: 'POST',
      url: '/api/menu/stress/spin',
      payload: { durationSeconds: 5 },
      headers: ADMIN,
    }),
    app.inject({
      method: 'POST',
      url: '/api/menu/stress/spin',
      payload: { durationSeconds: 5 },
      headers: ADMIN,
    }),
  ]);

  t.same(answers.map((answer) => answer.statusCode).sort(), [202, 409]);
  const conflict = answers.find((answer) => answer.statusCode === 409);
  t.equal(conflict?.json().error.code, 'CAFE_ERR_STRESS_RUNNING');
  await app.stress.stop();
});

t.test('a POST without a body runs with the default knobs', async (t) => {
  const app = await buildApp();

  const response = await app.inject({ method: 'POST', url: '/api/menu/stress/hash-chain', headers: ADMIN });

  t.equal(response.statusCode, 202);
  t.same(response.json().knobs, { rounds: 50, durationSeconds: 30 });
  await app.stress.stop();
});

t.test('a run is observable while it runs, then cancellable', async (t) => {
  const app = await buildApp();
  const { runId } = (
    await app.inject({ method: 'POST', url: '/api/menu/stress/spin', payload: {}, headers: ADMIN })
  ).json();
  const url = `/api/menu/stress/spin/runs/${runId}`;

  const running = await eventually(async () => {
    const view = (await app.inject({ url, headers: ADMIN })).json();
    return view.progress.fraction > 0 ? view : undefined;
  });
  t.match(running, {
    runId,
    scenario: 'spin',
    state: 'running',
    startedAt: String,
    knobs: { durationSeconds: 30 },
  });

  const cancel = await app.inject({ method: 'POST', url: `${url}/cancel`, headers: ADMIN });
  t.equal(cancel.statusCode, 202);

  const cancelled = await eventually(async () => {
    const view = (await app.inject({ url, headers: ADMIN })).json();
    return view.state === 'running' ? undefined : view;
  });
  t.match(cancelled, { state: 'cancelled', finishedAt: String, result: { chunks: Number } });

  const again = await app.inject({ method: 'POST', url: `${url}/cancel`, headers: ADMIN });
  t.equal(again.statusCode, 409);
  t.equal(again.json().error.code, 'CAFE_ERR_STRESS_NOT_RUNNING');
});

t.test('a completed run shows its result; unknown runs are 404', async (t) => {
  const app = await buildApp();
  const { runId } = (
    await app.inject({
      method: 'POST',
      url: '/api/menu/stress/hash-chain',
      payload: { rounds: 3 },
      headers: ADMIN,
    })
  ).json();

  const done = await eventually(async () => {
    const view = (
      await app.inject({ url: `/api/menu/stress/hash-chain/runs/${runId}`, headers: ADMIN })
    ).json();
    return view.state === 'completed' ? view : undefined;
  });
  const unknown = await app.inject({ url: '/api/menu/stress/hash-chain/runs/nope', headers: ADMIN });
  const otherScenario = await app.inject({ url: `/api/menu/stress/spin/runs/${runId}`, headers: ADMIN });

  t.match(done, { result: { rounds: 3 }, progress: { fraction: 1 } });
  t.equal(unknown.statusCode, 404);
  t.equal(otherScenario.statusCode, 404);
});

t.test('GET /stress lists the scenarios with their knobs', async (t) => {
  const app = await buildApp();

  const list = (await app.inject({ url: '/api/menu/stress', headers: ADMIN })).json();

  t.match(list.scenarios, [
    { name: 'hash-chain', knobs: { properties: { rounds: { minimum: 1, maximum: 100_000 } } } },
    { name: 'spin' },
  ]);
});

t.test('the shutdown cancels the active run and turns readiness off first', async (t) => {
  const app = await buildServiceApp({ service: 'menu', config: testConfig('menu'), scenarios: [spin] });
  const { runId } = (
    await app.inject({ method: 'POST', url: '/api/menu/stress/spin', payload: {}, headers: ADMIN })
  ).json();
  let readyDuringDrain: number | undefined;
  app.shutdown.register('drain', 'probe', async () => {
    readyDuringDrain = (await app.health.ready()).statusCode;
  });

  const report = await app.shutdown.run('test');

  t.equal(report.ok, true);
  t.equal(readyDuringDrain, 503);
  t.equal(app.stress.get('spin', runId).state, 'cancelled');
});
