import { join } from 'node:path';
import { durationMs, type Experiment } from '../experiment/schema.js';
import type { Journal } from '../journal.js';
import { K6LiveApi, type K6Run, loadEnvironment, scenarioScript, startK6 } from '../k6/index.js';
import type { Target } from '../target.js';

/**
 * An experiment's background load: k6 running the experiment's scenario for as long as the
 * method, rollback and recovery can take, so the hypothesis and the audit judge the system
 * under the traffic it is meant to carry. The probes read its live figures through k6's API.
 */

export interface BackgroundLoad {
  readonly run: K6Run;
  readonly scenario: string;
}

/** How long the method, rollback and recovery can take: what the background load must cover. */
function experimentSpanSeconds(experiment: Experiment): number {
  const steps = experiment.method.reduce((sum, s) => sum + ('duration' in s ? durationMs(s.duration) : 0), 0);
  return Math.min(900, Math.ceil((steps + durationMs(experiment.recovery.within)) / 1000) + 60);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(await check())) await new Promise((r) => setTimeout(r, 250));
}

export async function startLoad(
  experiment: Experiment,
  journal: Journal,
  signal: AbortSignal,
  target: Target,
): Promise<BackgroundLoad> {
  const spec = experiment.load as NonNullable<Experiment['load']>;
  const outDir = join(journal.dir, `k6-${experiment.id}`);
  // every request k6 makes, for the report's latency and throughput charts (telemetry.ts)
  const samples = join(outDir, 'samples.json.gz');
  const run = startK6({
    script: scenarioScript(spec.scenario),
    outDir,
    samplesFile: samples,
    scriptEnv: loadEnvironment({
      target,
      // unique per run within the 24 characters the scripts keep: it prefixes idempotency keys,
      // and a key reused by a later run with another basket is (rightly) a 409
      runTag: `${experiment.id.slice(0, 14)}-${Date.now().toString(36)}`,
      knobs: {
        DURATION: `${experimentSpanSeconds(experiment)}s`,
        ...(spec.rate ? { RATE: spec.rate } : {}),
        ...spec.knobs,
      },
    }),
    // k6's own progress would drown the run's progress view; its files keep everything
    onOutput: () => {},
    signal,
    runId: journal.runId,
    scenario: spec.scenario,
  });
  journal.record('load.started', {
    experiment: experiment.id,
    scenario: spec.scenario,
    rate: spec.rate,
    pid: run.pid,
    samples,
  });
  // k6 opens its REST API once the script's setup() has checked the lab; the probes read it,
  // so the hypothesis waits for it. A k6 that exits first (an unhealthy lab) ends the wait.
  let exited = false;
  void run.done.then(() => {
    exited = true;
  });
  const live = new K6LiveApi(run.apiAddress);
  await waitUntil(
    async () =>
      exited ||
      (await live.status().then(
        () => true,
        () => false,
      )),
    90_000,
  );
  if (exited) {
    throw new Error(
      `the background load (k6 ${spec.scenario}) ended before it started: see ${join(journal.dir, `k6-${experiment.id}`)}`,
    );
  }
  // a few seconds of load before the hypothesis, so steady state is judged under load
  await new Promise((r) => setTimeout(r, 3000));
  return { run, scenario: spec.scenario };
}

/**
 * Stops the load and journals how it went; the acknowledged orders' file when there are any,
 * for the audit (which judges what the load was promised).
 */
export async function finishLoad(
  load: BackgroundLoad,
  log: (type: string, detail: Record<string, unknown>) => void,
): Promise<string | undefined> {
  load.run.stop();
  const k6 = await load.run.done;
  log('load.finished', {
    scenario: load.scenario,
    exitCode: k6.exitCode,
    thresholdsFailed: k6.thresholdsFailed,
    failedThresholds: k6.failedThresholds,
    acknowledged: k6.acknowledged,
    summary: k6.files.summaryText,
  });
  return k6.acknowledged > 0 ? k6.files.acknowledgements : undefined;
}
