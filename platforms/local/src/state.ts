import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './engines/types.js';
import { labStateFile } from './paths.js';
import type { PORTS } from './ports.js';
import type { Link } from './topology.js';

/** What `lab up` wrote to `.cloudcafe/lab.json`: what runs where. */
export interface LabState {
  readonly pid: number;
  readonly startedAt: string;
  readonly readyAt: string;
  readonly root: string;
  readonly gateway: string;
  readonly control: string;
  readonly adminTokenFile: string;
  readonly ports: typeof PORTS;
  readonly services: readonly { readonly name: string; readonly port: number; readonly health: string }[];
  readonly links: readonly Link[];
}

/** The running lab's state, or undefined when the lab is down. */
export function readLabState(paths: LabPaths): LabState | undefined {
  try {
    return JSON.parse(readFileSync(labStateFile(paths), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

/** Every process the daemon started, so `lab down` can stop them even if the daemon was killed. */
export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  /** The kernel's start time of the process: with the pid, an identity no reuse can fake. */
  readonly startTime: string | undefined;
}

/**
 * Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined when the
 * process is gone. A pid is reused; a pid with its start time is not.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name in field 2 may hold spaces; every field after its ')' is plain
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const processRecordFile = (paths: LabPaths): string => join(paths.stateDir, 'processes.json');

export function readProcessRecord(paths: LabPaths): ProcessRecord[] {
  try {
    return JSON.parse(readFileSync(processRecordFile(paths), 'utf8')) as ProcessRecord[];
  } catch {
    return [];
  }
}

export function writeProcessRecord(paths: LabPaths, records: readonly ProcessRecord[]): void {
  writeFileSync(processRecordFile(paths), `${JSON.stringify(records, null, 2)}\n`);
}
