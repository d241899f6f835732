import { join, relative } from 'node:path';
import { REPO_ROOT } from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { newRunId, REPORTS_DIR } from '../journal.js';
import { isLoadScenario, LOAD_SCENARIOS, loadEnvironment, runK6, scenarioScript } from '../k6/index.js';

interface LoadOptions {
  rate?: string;
  duration?: string;
  vus?: string;
  profile?: string;
  stock?: string;
  attempts?: string;
  sku?: string;
  baseUrl?: string;
  allowRemote?: boolean;
  threshold: string[];
}

/** `--threshold 'metric=expr'`, repeatable: parsed into `{metric: [expr, …]}`. */
function parseThresholds(specs: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1) {
      throw new Error(
        `--threshold ${spec}: expected <metric>=<expression>, e.g. http_req_duration=p(99)<300`,
      );
    }
    const metric = spec.slice(0, at);
    out[metric] = [...(out[metric] ?? []), spec.slice(at + 1)];
  }
  return out;
}

export function registerLoadCommands(program: Command): void {
  program
    .command('load')
    .description(`run a k6 load scenario against the lab: ${LOAD_SCENARIOS.join(', ')}`)
    .argument('<scenario>', 'which scenario (see load-tests/README.md)')
    .option('--rate <n>', 'arrivals per second (the scenario scales its shape from it)')
    .option('--duration <d>', 'how long, e.g. 30s, 5m (bounded by the scenario)')
    .option('--vus <n>', 'the cap on virtual users')
    .option('--profile <name>', 'browse/checkout traffic shape: smoke, average, stress, spike, soak')
    .option('--stock <n>', 'flash-sale: units put on sale (default 500)')
    .option('--attempts <n>', 'flash-sale: buyers (default 20000)')
    .option('--sku <sku>', 'flash-sale: the lot (default LTD-GEISHA-001; a new SKU is created)')
    .option('--base-url <url>', "target (default: the running lab's gateway)")
    .option('--allow-remote', 'allow a BASE_URL that is not loopback (a deployed lab, on purpose)')
    .option(
      '--threshold <metric=expr>',
      'an extra threshold, added to the SLOs (repeatable; tightens, never loosens)',
      (value: string, acc: string[]) => [...acc, value],
      [] as string[],
    )
    .addHelpText('after', "\nExit code: k6's own (0 pass, 99 thresholds failed). Reports: reports/<run-id>/.")
    .action(async (scenario: string, opts: LoadOptions) => {
      if (!isLoadScenario(scenario)) {
        throw new Error(`unknown load scenario "${scenario}"; choose one of: ${LOAD_SCENARIOS.join(', ')}`);
      }
      const runId = newRunId(`load-${scenario}`);
      const scriptEnv = loadEnvironment({
        ...(opts.baseUrl !== undefined && { baseUrl: opts.baseUrl }),
        allowRemote: opts.allowRemote === true,
        runTag: runId.replace(/^(\d{8})T(\d{6}).*/, 'r$1$2'),
        knobs: {
          RATE: opts.rate,
          DURATION: opts.duration,
          VUS: opts.vus,
          PROFILE: opts.profile,
          STOCK: opts.stock,
          ATTEMPTS: opts.attempts,
          SKU: opts.sku,
        },
        extraThresholds: parseThresholds(opts.threshold),
      });
      const outDir = join(REPORTS_DIR, runId);
      process.stdout.write(
        `load ${scenario} → ${scriptEnv.BASE_URL}  (report: ${relative(REPO_ROOT, outDir)}/)\n`,
      );
      const result = await runK6({ script: scenarioScript(scenario), outDir, scriptEnv, runId, scenario });
      const rel = (f: string) => relative(REPO_ROOT, f);
      process.stdout.write(
        [
          '',
          `summary          ${rel(result.files.summaryJson)}, ${rel(result.files.summaryText)}`,
          `acknowledged     ${result.acknowledged} orders → ${rel(result.files.acknowledgements)}`,
          ...result.failedThresholds.map((f) => `✗ threshold      ${f}`),
          `verdict          ${result.exitCode === 0 ? 'PASS' : `FAIL (k6 exit ${result.exitCode})`}`,
          '',
        ].join('\n'),
      );
      process.exitCode = result.exitCode;
    });
}
