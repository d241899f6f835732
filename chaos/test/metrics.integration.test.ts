import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { labPaths, REPO_ROOT, readLabState, waitFor } from '@cloudcafe/local-platform';
import t from 'tap';
import { pushDashboards } from '../src/commands/dashboards.js';
import { cloudWatchFor, metricsTable, periodFor, readMetrics, sparkline } from '../src/commands/metrics.js';

// Against the lab: a running service's kit flushes PutMetricData to the emulator's CloudWatch
// every 10 s; the metrics command reads them back with GetMetricData, as it would on AWS.

const dir = mkdtempSync(join(tmpdir(), 'cloudcafe-metrics-'));
const cloudwatch = cloudWatchFor('local');

function lab() {
  const state = readLabState(labPaths());
  if (!state) throw new Error('the lab is not up');
  const service = state.services[0];
  if (!service) throw new Error('no service runs in the lab');
  return { gateway: state.gateway, service: service.name, health: service.health };
}

t.test('sparkline scales between min and max; a flat series is flat', async (t) => {
  t.equal(sparkline([0, 5, 10]), '▁▅█');
  t.equal(sparkline([3, 3, 3]), '▁▁▁');
  t.equal(periodFor(15 * 60_000), 30);
  t.equal(periodFor(3 * 3600_000), 300);
});

t.test("metrics shows a service's requests sent through the gateway (lab emulator CloudWatch)", async (t) => {
  // Prepare
  const { service, health } = lab();
  const since = new Date(Date.now() - 60_000);
  for (let i = 0; i < 20; i++) await fetch(health).then((r) => r.arrayBuffer());

  // Act: the kit flushes every 10 s, so the figures appear within a flush or two
  let series: Awaited<ReturnType<typeof readMetrics>> = [];
  await waitFor(
    `${service} requests in CloudWatch`,
    async () => {
      series = await readMetrics(cloudwatch, {
        services: [service],
        platform: 'local',
        window: { start: since, end: new Date(Date.now() + 60_000) },
      });
      const requests = series.find((s) => s.label === 'requests');
      return (requests?.values.reduce((a, b) => a + b, 0) ?? 0) >= 20;
    },
    { timeoutMs: 60_000, intervalMs: 2000 },
  );

  // Assess
  const requests = series.find((s) => s.label === 'requests');
  t.ok(requests, 'a requests series');
  t.ok((requests?.values.reduce((a, b) => a + b, 0) ?? 0) >= 20, 'at least the 20 requests sent');
  t.ok(
    series.some((s) => s.label.startsWith('latency')),
    'latency comes back too (percentiles on AWS; average and max from the emulator)',
  );
  t.match(metricsTable(series), new RegExp(`${service}\\s+requests`));
});

t.test('the CLI prints the table and writes self-contained charts (lab emulator CloudWatch)', async (t) => {
  // Prepare
  const { service } = lab();
  const out = join(dir, 'chart.html');

  // Act
  const run = spawnSync(
    'npx',
    ['cloudcafe', 'metrics', '--service', service, '--since', '10m', '--out', out],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: process.env,
    },
  );

  // Assess
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /service\s+metric\s+last\s+min\s+max\s+trend/);
  t.match(run.stdout, new RegExp(`${service}\\s+requests\\s+\\d+`));
  const html = readFileSync(out, 'utf8');
  t.match(html, /new Chart\(/);
  t.notMatch(html, /<script[^>]+src=/, 'no external script: the chart library is inlined');
  t.match(html, `"label":"${service}"`);
});

t.test(
  'dashboards push puts every dashboards/*.json with its placeholders filled (lab emulator CloudWatch)',
  async (t) => {
    // Prepare
    const files = readdirSync(join(REPO_ROOT, 'dashboards')).filter((f) => f.endsWith('.json'));

    // Act
    const pushed = await pushDashboards(cloudwatch, {
      platform: 'local',
      region: 'us-east-1',
      account: '123456789012',
    });

    // Assess
    t.equal(pushed.length, files.length);
    const overview = await cloudwatch.send(new GetDashboardCommand({ DashboardName: 'cloudcafe-overview' }));
    t.notMatch(overview.DashboardBody ?? '', /\$\{/, 'no placeholder left');
    t.match(overview.DashboardBody ?? '', '"local"');
  },
);
