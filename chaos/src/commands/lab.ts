import { createReadStream, existsSync, readFileSync, statSync, watchFile } from 'node:fs';
import {
  type LabState,
  type LabStatus,
  labDown,
  labStatus,
  labUp,
  logFile,
  type ProcessStatus,
} from '@cloudcafe/local-platform';
import type { Command } from 'commander';
import { table } from '../table.js';

function processTable(processes: readonly ProcessStatus[]): string {
  return table(
    ['process', 'kind', 'state', 'pid', 'port', 'restarts'],
    processes.map((p) => [p.name, p.kind, p.state, p.pid, p.port, p.restarts]),
  );
}

/** Faults in force that the daemon will undo itself at their deadline if their run does not. */
function heldFaults(faults: LabStatus['faults']): string[] {
  if (!faults?.length) return [];
  return [
    '',
    table(
      ['fault in force (tag)', 'holds', 'undone by the daemon at'],
      faults.map((f) => [
        f.tag,
        f.fault.kind === 'toxic'
          ? `toxic on ${f.fault.link}`
          : f.fault.kind === 'link-disabled'
            ? `links ${f.fault.links.join(', ')} cut`
            : `${f.fault.process} paused`,
        new Date(f.deadline).toISOString(),
      ]),
    ),
  ];
}

function describe(
  state: LabState,
  processes: readonly ProcessStatus[],
  faults?: LabStatus['faults'],
): string {
  return [
    `gateway   ${state.gateway}   (e.g. curl ${state.gateway}/api/${state.services[0]?.health.split('/api/')[1] ?? ''})`,
    `admin     token in ${state.adminTokenFile} (send as Authorization: Bearer <token>)`,
    `control   ${state.control}`,
    '',
    processTable(processes),
    '',
    table(
      ['link (Toxiproxy proxy)', 'listens', 'upstream'],
      state.links.map((l) => [l.name, l.listenPort, l.upstreamPort]),
    ),
    ...heldFaults(faults),
  ].join('\n');
}

export function registerLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('the local lab: real engines, Toxiproxy links, services, gateway');

  lab
    .command('up')
    .description('start the lab and wait until every health check is green')
    .option('--timeout <seconds>', 'how long to wait for the lab', '180')
    .action(async (opts: { timeout: string }) => {
      const seen = new Map<string, string>();
      const state = await labUp({
        timeoutMs: Number(opts.timeout) * 1000,
        onProgress: (status: LabStatus) => {
          for (const p of status.processes) {
            if (seen.get(p.name) !== p.state) {
              seen.set(p.name, p.state);
              process.stdout.write(`  ${p.name.padEnd(16)} ${p.state}\n`);
            }
          }
        },
      });
      const status = await labStatus();
      process.stdout.write(`\nCloudCafe lab is up.\n\n${describe(state, status?.processes ?? [])}\n`);
    });

  lab
    .command('down')
    .description('stop every process of the lab and check that nothing is left listening')
    .action(async () => {
      const busy = await labDown();
      if (busy.length > 0) {
        process.stderr.write(`lab down: ports still listening: ${busy.join(', ')}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write('CloudCafe lab is down; nothing is listening on its ports.\n');
    });

  lab
    .command('status')
    .description('what runs where, live')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const status = await labStatus();
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(status ?? { ready: false }, null, 2)}\n`);
      } else if (!status) {
        process.stdout.write('CloudCafe lab is down. Start it with: npx cloudcafe lab up\n');
      } else if (!status.state) {
        process.stdout.write(`CloudCafe lab is starting.\n\n${processTable(status.processes)}\n`);
      } else {
        process.stdout.write(
          `CloudCafe lab is up.\n\n${describe(status.state, status.processes, status.faults)}\n`,
        );
      }
      if (!status?.ready) process.exitCode = 3;
    });

  lab
    .command('logs')
    .description('show the log of one process (or of the lab daemon)')
    .argument('[process]', 'process name, e.g. postgres, order, toxiproxy', 'daemon')
    .option('-n, --lines <n>', 'how many lines from the end', '50')
    .option('-f, --follow', 'keep printing new lines')
    .action((name: string, opts: { lines: string; follow?: boolean }) => {
      const file = logFile(name);
      if (!existsSync(file)) {
        process.stderr.write(`no log for ${name} (${file})\n`);
        process.exitCode = 1;
        return;
      }
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      process.stdout.write(`${lines.slice(-Number(opts.lines)).join('\n')}\n`);
      if (!opts.follow) return;
      let offset = statSync(file).size;
      watchFile(file, { interval: 500 }, (curr) => {
        if (curr.size <= offset) return;
        createReadStream(file, { start: offset, end: curr.size - 1 }).pipe(process.stdout, { end: false });
        offset = curr.size;
      });
    });
}
