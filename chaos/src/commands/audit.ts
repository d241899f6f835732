import type { Command } from 'commander';
import { audit, INVARIANTS, type Invariant } from '../audit.js';
import { durationMs } from '../experiment/schema.js';
import { table } from '../table.js';
import { targetFromFile } from '../target.js';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(
      'check the business invariants against each system’s own record; non-zero exit on any violation',
    )
    .option(
      '--acks <file>',
      'acknowledged order ids (e.g. reports/<run-id>/acknowledged-orders.json from a k6 run)',
    )
    .option('--settle <duration>', 'how long to wait for in-flight work and consumers', '60s')
    .option('--only <invariants>', `comma list of: ${INVARIANTS.join(', ')}`)
    .option(
      '--target <file>',
      "a target file (docs/chaos.md): audit that system's records, not the local lab's",
    )
    .option('--json', 'print the results as JSON')
    .action(
      async (opts: { acks?: string; settle: string; only?: string; target?: string; json?: boolean }) => {
        const only = opts.only?.split(',').map((s) => s.trim()) as Invariant[] | undefined;
        const unknown = only?.filter((i) => !(INVARIANTS as readonly string[]).includes(i)) ?? [];
        if (unknown.length > 0)
          throw new Error(`unknown invariant ${unknown.join(', ')}; known: ${INVARIANTS.join(', ')}`);
        const results = await audit({
          ...(opts.acks ? { acknowledgements: opts.acks } : {}),
          settleMs: durationMs(opts.settle),
          ...(only ? { only } : {}),
          ...(opts.target ? { target: targetFromFile(opts.target) } : {}),
        });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(results, null, 2)}\n`
            : `${table(
                ['invariant', 'holds', 'detail', 'examples'],
                results.map((r) => [r.invariant, r.ok ? 'yes' : 'NO', r.detail, r.examples.join(', ')]),
              )}\n`,
        );
        if (results.some((r) => !r.ok)) process.exitCode = 1;
      },
    );
}
