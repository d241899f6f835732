import t from 'tap';
import {
  labDown,
  labPaths,
  labStatus,
  labUp,
  PORTS,
  readLabState,
  SERVICE_PORTS,
  tcpOpen,
} from '../src/index.js';

// Takes the shared lab down and brings it back, so it runs on its own (tap runs one file at a
// time) and leaves the lab up for the files after it.

t.test('lab down leaves nothing listening, and lab up brings everything back', async (t) => {
  // Prepare
  const before = readLabState(labPaths());
  t.ok(before, 'the lab is up');
  const ports = [...Object.values(PORTS), ...(before?.links.map((l) => l.listenPort) ?? [])];

  // Act: down
  const busy = await labDown();

  // Assess
  t.same(busy, [], 'labDown reports no port still listening');
  for (const port of [...ports, ...Object.values(SERVICE_PORTS)]) {
    t.notOk(await tcpOpen(port), `nothing listens on ${port}`);
  }
  t.equal(readLabState(labPaths()), undefined, 'the state file is removed');
  t.equal(await labStatus(), undefined, 'no daemon answers');

  // Act: up again
  const after = await labUp();

  // Assess
  t.not(after.pid, before?.pid, 'a new lab daemon');
  for (const service of after.services) {
    const res = await fetch(service.health);
    t.equal(res.status, 200, `${service.name} is healthy again`);
  }
});

t.test('after the lab daemon is killed with -9, lab down still stops every process it started', async (t) => {
  // Prepare: the daemon dies without a chance to stop its children
  const state = readLabState(labPaths());
  t.ok(state, 'the lab is up');
  process.kill(state?.pid as number, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  t.ok(await tcpOpen(PORTS.postgres), 'its children outlive it (PostgreSQL still listens)');

  // Act
  const busy = await labDown();

  // Assess: the orphans were found by pid and start time, and stopped
  t.same(busy, [], 'nothing is left listening');
  t.notOk(await tcpOpen(PORTS.postgres), 'PostgreSQL is gone');

  // leave the lab up for the test files after this one
  await labUp();
});
