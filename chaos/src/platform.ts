import type { Driver, DriverOptions } from '@cloudcafe/chaos-interface';
import { type AuditOptions, audit, type InvariantResult } from './audit.js';
import { driverFor } from './drivers/index.js';
import type { Platform as PlatformName, Probe } from './experiment/schema.js';
import { type ProbeContext, type ProbeResult, runProbe, runProbeOnce } from './probes.js';
import { labTarget, missingTarget, type Target } from './target.js';

/**
 * Everything an experiment run needs from the platform it acts on, behind one interface: the
 * driver that injects, verifies and reverts faults, and the target that judges the run — its
 * probes and its audit. The lifecycle (runner.ts, run/) sees only this, so it is tested against
 * a fake platform in milliseconds (chaos/test/support/fake-platform.ts) and the same run works
 * wherever a platform implements it.
 *
 * The target (target.ts) is what judges the run: the probes, the background load, the service
 * faults and the audit all go to it, so a run given a target file never reads `.cloudcafe/` for
 * any of them. The local driver's link and process faults act on this machine's lab itself.
 */
export interface Platform {
  readonly name: PlatformName;
  readonly driver: Driver;
  /** What judges the run: the public entry, the admin credential, the audit's data sources. */
  readonly target: Target;
  /** A steady-state probe, judged (an error-rate tolerance over its whole window). */
  probe(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** One reading of a probe, for the abort conditions checked every second. */
  probeOnce(probe: Probe, context: ProbeContext): Promise<ProbeResult>;
  /** The business invariants, polled until they hold or the settle time runs out. */
  audit(options: AuditOptions): Promise<InvariantResult[]>;
}

/**
 * A platform and its target. Without a target, the local platform is judged through the lab's
 * state file; kubernetes and aws have no default and fail their first probe saying so.
 */
export function platformFor(
  name: PlatformName,
  driverOptions: DriverOptions = {},
  target: Target = name === 'local' ? labTarget : missingTarget(name),
): Platform {
  return {
    name,
    driver: driverFor(name, { ...driverOptions, target }),
    target,
    probe: (probe, context) => runProbe(probe, { ...context, platform: name, target }),
    probeOnce: (probe, context) => runProbeOnce(probe, { ...context, platform: name, target }),
    audit: (options) => audit({ ...options, target }),
  };
}
