import { type AuditOptions, audit, type InvariantResult } from './audit.js';
import { driverFor } from './drivers/index.js';
import type { Driver, DriverOptions } from './drivers/types.js';
import type { Platform as PlatformName, Probe } from './experiment/schema.js';
import { type ProbeContext, type ProbeResult, runProbe, runProbeOnce } from './probes.js';

/**
 * Everything an experiment run needs from the platform it acts on, behind one interface: the
 * driver that injects, verifies and reverts faults, and the target that judges the run — its
 * probes and its audit. The lifecycle (runner.ts, run/) sees only this, so it is tested against
 * a fake platform in milliseconds (chaos/test/support/fake-platform.ts) and the same run works
 * wherever a platform implements it.
 *
 * Known limit, the subject of issue 13's first item: every platform built here still probes and
 * audits through the local lab's gateway and engines; only the driver changes with the platform.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly driver: Driver;
  /** A steady-state probe, judged (an error-rate tolerance over its whole window). */
  probe(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** One reading of a probe, for the abort conditions checked every second. */
  probeOnce(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** The business invariants, polled until they hold or the settle time runs out. */
  audit(options: AuditOptions): Promise<InvariantResult[]>;
}

export function platformFor(name: PlatformName, driverOptions: DriverOptions = {}): Platform {
  return {
    name,
    driver: driverFor(name, driverOptions),
    probe: (probe, context) => runProbe(probe, { ...context, platform: name }),
    probeOnce: (probe, context) => runProbeOnce(probe, { ...context, platform: name }),
    audit: (options) => audit(options),
  };
}
