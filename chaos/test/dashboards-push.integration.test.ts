import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import t from 'tap';
import { annotationsFor } from '../src/annotations.js';
import { DASHBOARDS_DIR, pushDashboards, runAnnotations } from '../src/commands/dashboards.js';
import { cloudWatchFor } from '../src/commands/metrics.js';

// Against the lab's CloudWatch (moto): `dashboards push` with a run's fault windows puts bands
// on the graphs, and GetDashboard returns them. What moto does not check: it stores the body
// as given — it neither validates the widgets nor the annotation shape (PutDashboard answers
// no DashboardValidationMessages for anything), and never draws a graph. The band's shape
// against the documented format is checked in annotations.test.ts; whether CloudWatch draws
// it can only be seen on AWS.

const cloudwatch = cloudWatchFor('local');

t.test("dashboards push --run draws the run's fault windows on every graph (lab CloudWatch)", async (t) => {
  // Prepare: a run folder with an annotations.json, as writeReports leaves it
  const reports = mkdtempSync(join(tmpdir(), 'cloudcafe-reports-'));
  const runId = '20261121T100000-gameday-default';
  const origin = Date.parse('2026-11-21T10:00:00.000Z');
  mkdirSync(join(reports, runId));
  writeFileSync(
    join(reports, runId, 'annotations.json'),
    JSON.stringify(
      annotationsFor(
        [
          {
            label: 'network-latency: slow inventory link',
            experiment: 'network-latency',
            fault: 'slow inventory link',
            type: 'latency',
            target: 'order-to-inventory',
            from: 12_000,
            to: 32_000,
            verified: true,
          },
        ],
        origin,
        runId,
      ),
    ),
  );

  // Act
  const pushed = await pushDashboards(cloudwatch, {
    platform: 'local',
    region: 'us-east-1',
    account: '123456789012',
    annotations: runAnnotations(runId, reports),
  });

  // Assess
  t.equal(pushed.length, readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).length);
  for (const { name } of pushed) {
    const body = JSON.parse(
      (await cloudwatch.send(new GetDashboardCommand({ DashboardName: name }))).DashboardBody ?? '{}',
    ) as {
      start: string;
      end: string;
      widgets: { type: string; properties: { view?: string; annotations?: { vertical?: unknown[] } } }[];
    };
    t.equal(body.start, '2026-11-21T09:55:12.000Z', `${name}: opens on the run`);
    const graphs = body.widgets.filter(
      (w) => w.type === 'metric' && (w.properties.view ?? 'timeSeries') === 'timeSeries',
    );
    t.ok(graphs.length > 0, `${name}: has graphs`);
    t.ok(
      graphs.every((w) =>
        (w.properties.annotations?.vertical ?? []).some(
          (a) =>
            Array.isArray(a) &&
            a[0]?.value === '2026-11-21T10:00:12.000Z' &&
            a[1]?.value === '2026-11-21T10:00:32.000Z' &&
            /slow inventory link/.test(a[0]?.label),
        ),
      ),
      `${name}: every graph carries the band, as put`,
    );
  }
});

t.test(
  'dashboards push --run with a run that has no annotations.json puts nothing and says why',
  async (t) => {
    const run = spawnSync('npx', ['cloudcafe', 'dashboards', 'push', '--run', 'no-such-run'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: process.env,
    });
    t.equal(run.status, 1);
    t.match(run.stderr, /no annotations\.json at .*no-such-run/);
    t.equal(run.stdout, '', 'nothing pushed');
  },
);
