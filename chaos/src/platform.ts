import { existsSync, readFileSync } from 'node:fs';
import { type AuditOptions, audit, type InvariantResult } from './audit.js';
import { driverFor } from './drivers/index.js';
import type { Driver, DriverOptions } from './drivers/types.js';
import type { Platform as PlatformName, Probe } from './experiment/schema.js';
import {
  labTarget,
  type ProbeContext,
  type ProbeResult,
  type ProbeTarget,
  runProbe,
  runProbeOnce,
} from './probes.js';

/**
 * Everything an experiment run needs from the platform it acts on, behind one interface: the
 * driver that injects, verifies and reverts faults, and the target that judges the run — its
 * probes and its audit. The lifecycle (runner.ts, run/) sees only this, so it is tested against
 * a fake platform in milliseconds (chaos/test/support/fake-platform.ts) and the same run works
 * wherever a platform implements it.
 *
 * Known limit, the rest of issue 13's first item: the probes go to the target (the local lab's
 * state file, or a target file naming another entry), but the audit still reads the local lab's
 * engines on every platform.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly driver: Driver;
  /** Where the probes go: the public entry and the admin credential. */
  readonly target: ProbeTarget;
  /** A steady-state probe, judged (an error-rate tolerance over its whole window). */
  probe(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** One reading of a probe, for the abort conditions checked every second. */
  probeOnce(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** The business invariants, polled until they hold or the settle time runs out. */
  audit(options: AuditOptions): Promise<InvariantResult[]>;
}

export function platformFor(
  name: PlatformName,
  driverOptions: DriverOptions = {},
  target: ProbeTarget = labTarget,
): Platform {
  return {
    name,
    driver: driverFor(name, driverOptions),
    target,
    probe: (probe, context) => runProbe(probe, { ...context, platform: name, target }),
    probeOnce: (probe, context) => runProbeOnce(probe, { ...context, platform: name, target }),
    audit: (options) => audit(options),
  };
}

/**
 * A target file: `{"gateway": "https://…", "adminTokenFile": "/path/to/token"}`: the entry the
 * probes use instead of the local lab's state file. Read once, when the run starts; an unknown
 * key, a gateway that is not an http(s) URL or a token file that is not there is refused.
 */
export function targetFromFile(file: string): ProbeTarget {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const { gateway, adminTokenFile, ...rest } = parsed;
  const unknown = Object.keys(rest)[0];
  if (unknown) throw new Error(`${file}: unknown key "${unknown}" (a target has gateway and adminTokenFile)`);
  if (typeof gateway !== 'string' || !/^https?:\/\/[^/]+$/.test(gateway))
    throw new Error(`${file}: gateway must be an http(s) origin such as http://127.0.0.1:8080`);
  if (typeof adminTokenFile !== 'string' || !existsSync(adminTokenFile))
    throw new Error(`${file}: adminTokenFile must name a file that exists`);
  const token = readFileSync(adminTokenFile, 'utf8').trim();
  return { gateway: () => gateway, adminToken: () => token };
}
