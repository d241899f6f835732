import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a step's CPU went, from Linux's own accounting: `/proc/<pid>/stat` (utime, stime of the
 * process and all its threads, plus cutime, cstime of the children it reaped) and `/proc/stat`
 * (the machine). A process is counted with every live descendant that is not a named process
 * itself, so PostgreSQL's backends are PostgreSQL's, and the time of children that already
 * exited is in their parent's cutime/cstime. Values are clock ticks (`getconf CLK_TCK`).
 */

export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime: this process and its threads (a Lambda runtime's instances are threads). */
  readonly own: number;
  /** cutime + cstime: children that exited and were reaped (k6 runs, in the bench's case). */
  readonly reaped: number;
}

/** Parses one `/proc/<pid>/stat` line, or undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // Field 2 (the command) is in parentheses and may hold spaces or ')': split after the last ')'.
  const close = text.lastIndexOf(')');
  const pid = Number.parseInt(text, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // From field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/)
    .map(Number);
  const [ppid, utime, stime, cutime, cstime] = [f[1], f[11], f[12], f[13], f[14]];
  if ([ppid, utime, stime, cutime, cstime].some((n) => n === undefined || !Number.isFinite(n))) {
    return undefined;
  }
  return {
    pid,
    ppid: ppid as number,
    own: (utime as number) + (stime as number),
    reaped: (cutime as number) + (cstime as number),
  };
}

/** Every process on the machine, by pid (processes that exit while being read are skipped). */
export function readProcessTable(procDir = '/proc'): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  for (const entry of readdirSync(procDir)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = parseProcStat(readFileSync(join(procDir, entry, 'stat'), 'utf8'));
      if (stat) table.set(stat.pid, stat);
    } catch {
      // gone between readdir and read
    }
  }
  return table;
}

/** A named process whose CPU is reported, with everything it started. */
export interface CpuRoot {
  readonly name: string;
  readonly pid: number;
}

/**
 * Ticks used so far by each root and its descendants (a descendant that is itself a root counts
 * for that root only). A root that is not in the table counts 0.
 */
export function ticksByRoot(
  table: ReadonlyMap<number, ProcStat>,
  roots: readonly CpuRoot[],
): Map<string, number> {
  const rootOf = new Map(roots.map((r) => [r.pid, r.name]));
  const out = new Map<string, number>(roots.map((r) => [r.name, 0]));
  for (const stat of table.values()) {
    // Walk up to the nearest root; bounded by the table's size in case of a ppid loop.
    let pid: number | undefined = stat.pid;
    for (let hops = 0; pid !== undefined && hops <= table.size; hops++) {
      const name = rootOf.get(pid);
      if (name !== undefined) {
        out.set(name, (out.get(name) ?? 0) + stat.own + stat.reaped);
        break;
      }
      pid = pid <= 1 ? undefined : table.get(pid)?.ppid;
    }
  }
  return out;
}

/** Busy ticks of the whole machine so far (all CPUs): every `/proc/stat` column but idle and iowait. */
export function parseMachineBusy(procStat: string): number {
  const cpu = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!cpu) return Number.NaN;
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** One moment's CPU counters: ticks by process name, and the machine's busy ticks. */
export interface CpuSample {
  readonly at: number;
  readonly ticks: ReadonlyMap<string, number>;
  readonly machine: number;
}

export interface CpuShare {
  readonly name: string;
  /** CPU used over the window, in % of one core (100 = one core busy throughout). */
  readonly percent: number;
}

export interface CpuWindow {
  readonly seconds: number;
  /** Every named process, busiest first. */
  readonly shares: readonly CpuShare[];
  /** The named processes together, in % of one core. */
  readonly total: number;
  /** The whole machine (every process, this lab's and everyone else's), in % of one core. */
  readonly machine: number;
}

/**
 * Each process's share of one core between two samples, busiest first. A process whose
 * counter went down was restarted during the window (a new pid): its new total is counted, the
 * old process's time is in the parent's reaped time.
 */
export function cpuWindow(before: CpuSample, after: CpuSample, ticksPerSecond: number): CpuWindow {
  const seconds = (after.at - before.at) / 1000;
  const pct = (ticks: number) => (seconds > 0 ? (ticks / ticksPerSecond / seconds) * 100 : Number.NaN);
  const shares = [...after.ticks].map(([name, ticks]) => {
    const start = before.ticks.get(name) ?? 0;
    return { name, percent: pct(ticks >= start ? ticks - start : ticks) };
  });
  shares.sort((a, b) => b.percent - a.percent || a.name.localeCompare(b.name));
  return {
    seconds,
    shares,
    total: shares.reduce((sum, s) => sum + s.percent, 0),
    machine: pct(after.machine - before.machine),
  };
}

/** The kernel's clock ticks per second (USER_HZ); 100 on every Linux this lab runs on. */
export function clockTicksPerSecond(): number {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(hz) && hz > 0 ? hz : 100;
  } catch {
    return 100;
  }
}

/** The sampling process itself, split in two: its own time, and its reaped children's (k6 runs). */
export interface SelfSplit {
  readonly pid: number;
  readonly name: string;
  readonly childrenName: string;
}

/** Reads the machine now: each root's ticks, the sampler's own split in two, and the machine's. */
export function sampleCpu(roots: readonly CpuRoot[], self?: SelfSplit, procDir = '/proc'): CpuSample {
  const table = readProcessTable(procDir);
  const ticks = ticksByRoot(table, roots);
  if (self) {
    ticks.set(self.name, table.get(self.pid)?.own ?? 0);
    ticks.set(self.childrenName, table.get(self.pid)?.reaped ?? 0);
  }
  return { at: Date.now(), ticks, machine: parseMachineBusy(readFileSync(join(procDir, 'stat'), 'utf8')) };
}
