import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  type CpuSample,
  cpuWindow,
  type ProcStat,
  parseMachineBusy,
  parseProcStat,
  sampleCpu,
  ticksByRoot,
} from '../../src/k6/proc-cpu.js';

/** A /proc/<pid>/stat line as the kernel writes it (52 fields), with the four CPU counters set. */
function statLine(pid: number, comm: string, ppid: number, cpu: [number, number, number, number]): string {
  const tail = Array.from({ length: 35 }, () => '0').join(' ');
  return `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${cpu.join(' ')} 20 0 1 0 12345 ${tail}\n`;
}

t.test('a stat line gives ppid, own time (utime+stime) and reaped children (cutime+cstime)', async (t) => {
  // Prepare: a command name with a space and a ')' in it, as a process may choose.
  const line = statLine(4242, 'k6 (run) x', 17, [300, 50, 7, 3]);
  // Act
  const stat = parseProcStat(line);
  // Assess
  t.same(stat, { pid: 4242, ppid: 17, own: 350, reaped: 10 });
  t.equal(parseProcStat('garbage'), undefined);
  t.equal(parseProcStat('12 (short) S 1 2'), undefined, 'a truncated line is not a reading');
});

t.test('each named process counts its unnamed descendants; a named child counts for itself', async (t) => {
  // Prepare: daemon → postgres → backend, daemon → order; a stranger outside the lab.
  const table = new Map<number, ProcStat>(
    [
      { pid: 10, ppid: 1, own: 100, reaped: 5 },
      { pid: 20, ppid: 10, own: 200, reaped: 40 },
      { pid: 21, ppid: 20, own: 30, reaped: 0 },
      { pid: 30, ppid: 10, own: 70, reaped: 0 },
      { pid: 99, ppid: 1, own: 1000, reaped: 0 },
    ].map((s) => [s.pid, s]),
  );
  // Act
  const ticks = ticksByRoot(table, [
    { name: 'daemon', pid: 10 },
    { name: 'postgres', pid: 20 },
    { name: 'order', pid: 30 },
    { name: 'gone', pid: 77 },
  ]);
  // Assess
  t.same(Object.fromEntries(ticks), { daemon: 105, postgres: 270, order: 70, gone: 0 });
});

t.test('the machine is busy in every /proc/stat column but idle and iowait', async (t) => {
  const text = 'cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\n';
  t.equal(parseMachineBusy(text), 161);
  t.ok(Number.isNaN(parseMachineBusy('intr 1 2 3')));
});

t.test('shares are % of one core over the window, busiest first, and add up to the total', async (t) => {
  // Prepare: 10 s apart at 100 ticks/s; order used 5 s of CPU, moto 12 s, the restarted menu 1 s.
  const before: CpuSample = {
    at: 0,
    ticks: new Map([
      ['order', 1000],
      ['aws', 500],
      ['menu', 900],
    ]),
    machine: 10_000,
  };
  const after: CpuSample = {
    at: 10_000,
    ticks: new Map([
      ['order', 1500],
      ['aws', 1700],
      ['menu', 100],
      ['k6', 300],
    ]),
    machine: 12_000,
  };
  // Act
  const window = cpuWindow(before, after, 100);
  // Assess
  t.equal(window.seconds, 10);
  t.same(window.shares, [
    { name: 'aws', percent: 120 },
    { name: 'order', percent: 50 },
    { name: 'k6', percent: 30 },
    { name: 'menu', percent: 10 },
  ]);
  t.equal(window.total, 210);
  t.equal(window.machine, 200, 'two cores busy throughout');
});

t.test(
  'a sample reads a /proc tree: roots with their children, the sampler split from its k6 runs',
  async (t) => {
    // Prepare: a fake /proc with the daemon, PostgreSQL and a backend, and the bench itself.
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    t.teardown(() => rmSync(proc, { recursive: true, force: true }));
    const write = (pid: number, line: string) => {
      mkdirSync(join(proc, String(pid)));
      writeFileSync(join(proc, String(pid), 'stat'), line);
    };
    write(10, statLine(10, 'node', 1, [10, 10, 0, 0]));
    write(20, statLine(20, 'postgres', 10, [100, 20, 0, 0]));
    write(21, statLine(21, 'postgres', 20, [5, 5, 0, 0]));
    write(50, statLine(50, 'node', 49, [40, 2, 600, 60]));
    mkdirSync(join(proc, 'self'));
    writeFileSync(join(proc, 'stat'), 'cpu  10 0 10 100 0 0 0 0 0 0\n');
    // Act
    const sample = sampleCpu(
      [
        { name: 'daemon', pid: 10 },
        { name: 'postgres', pid: 20 },
      ],
      { pid: 50, name: 'bench', childrenName: 'k6' },
      proc,
    );
    // Assess
    t.same(Object.fromEntries(sample.ticks), { daemon: 20, postgres: 130, bench: 42, k6: 660 });
    t.equal(sample.machine, 20);
  },
);
