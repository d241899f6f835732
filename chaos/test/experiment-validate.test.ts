import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DocumentError, listExperimentFiles, loadExperiment, loadGameDay } from '../src/experiment/load.js';

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-validate-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `doc-${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

const VALID = `id: sample
title: Sample
description: a valid experiment
tags: [network]
platforms: [local]
steadyState:
  probes:
    - { type: http, name: healthy, path: /api/orders/health, tolerance: { type: status, equals: 200 } }
method:
  - type: fault
    name: slow
    fault: { type: latency, link: order-to-inventory, latencyMs: 100 }
    duration: 5s
recovery: { within: 10s }
`;

function problemsOf(path: string) {
  try {
    loadExperiment(path);
  } catch (error) {
    if (error instanceof DocumentError) return error.problems;
    throw error;
  }
  return [];
}

t.test('every experiment in chaos/experiments validates', async (t) => {
  const files = listExperimentFiles();
  t.ok(files.length >= 2, 'there are experiments');
  for (const f of files) t.doesNotThrow(() => loadExperiment(f), f);
});

t.test('the default game day validates with its experiments', async (t) => {
  const { gameday, experiments } = loadGameDay(join(import.meta.dirname, '..', 'gamedays', 'default.yaml'));
  t.equal(gameday.id, 'default');
  t.equal(experiments.length, gameday.experiments.length);
});

t.test('a valid document loads, frozen', async (t) => {
  const e = loadExperiment(file(VALID));
  t.equal(e.id, 'sample');
  t.ok(Object.isFrozen(e.method[0]), 'a run cannot change what was validated');
});

t.test('an unknown fault type is named with its path, line and the types that exist', async (t) => {
  const problems = problemsOf(file(VALID.replace('type: latency', 'type: meteor')));
  t.match(problems, [
    { path: '/method/0/fault/type', line: 12, message: /must be one of: latency, partition, kill, pause/ },
  ]);
});

t.test('a bad field inside the chosen fault is reported for that fault only', async (t) => {
  const problems = problemsOf(file(VALID.replace('latencyMs: 100', 'latencyMs: 99999999')));
  t.equal(problems.length, 1, `one problem, not one per union branch: ${JSON.stringify(problems)}`);
  t.match(problems[0], { path: '/method/0/fault/latencyMs', message: /30000/ });
});

t.test('unknown fields, missing fields and bad durations are each reported', async (t) => {
  const doc = VALID.replace('title: Sample\n', '')
    .replace('duration: 5s', 'duration: 5 seconds')
    .concat('colour: blue\n');
  const problems = problemsOf(file(doc));
  const paths = problems.map((p) => p.path).sort();
  t.same(paths, ['/colour', '/method/0/duration', '/title'].sort());
  t.match(
    problems.find((p) => p.path === '/method/0/duration'),
    { message: /duration such as 500ms, 30s or 2m/ },
  );
});

t.test('a link that is not in the topology, and a fault held too long, are refused', async (t) => {
  const doc = VALID.replace('order-to-inventory', 'order-to-mainframe').replace(
    'duration: 5s',
    'duration: 16m',
  );
  const problems = problemsOf(file(doc));
  t.match(problems, [
    { path: '/method/0/duration', message: /at most 15m/ },
    { path: '/method/0/fault/link', message: /no link named order-to-mainframe/ },
  ]);
});

t.test(
  'a platform whose driver cannot run the fault is refused, naming the fault and the platform',
  async (t) => {
    const problems = problemsOf(file(VALID.replace('platforms: [local]', 'platforms: [local, kubernetes]')));
    t.match(problems, [{ path: '/method/0/fault', message: /latency on kubernetes/ }]);
  },
);

t.test('YAML that does not parse is reported with its line', async (t) => {
  const problems = problemsOf(file('id: x\ntitle: [unclosed\n'));
  t.ok(problems.length > 0);
  t.ok(problems[0]?.line, 'the line is given');
});

t.test('the CLI validate command exits non-zero and prints every problem', async (t) => {
  const bad = file(VALID.replace('type: latency', 'type: meteor'));
  const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(
      process.execPath,
      ['chaos/bin/cloudcafe.js', 'experiment', 'validate', bad],
      { cwd: join(import.meta.dirname, '..', '..') },
      (error, stdout) => resolve({ code: error ? (error.code as number) : 0, stdout }),
    );
  });
  t.equal(result.code, 1);
  t.match(result.stdout, /\/method\/0\/fault\/type \(line 12\): must be one of/);
});

t.test('the published JSON Schemas match the TypeBox source', async (t) => {
  const { jsonSchemaOf } = await import('../src/experiment/json-schema.js');
  for (const kind of ['experiment', 'gameday'] as const) {
    const published = readFileSync(join(import.meta.dirname, '..', `${kind}.schema.json`), 'utf8');
    // compared parsed: the formatter may lay the file out differently
    t.same(
      JSON.parse(published),
      JSON.parse(jsonSchemaOf(kind)),
      `${kind}.schema.json is current (npm run schema -w @cloudcafe/chaos)`,
    );
  }
});
