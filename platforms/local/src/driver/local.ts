import { readFileSync } from 'node:fs';
import type { ActiveFault, Driver, Effect, Fault, InjectContext, Target } from '@cloudcafe/chaos-interface';
import { type FlagState, SERVICES, sumSeries } from '@cloudcafe/kit';
import type { HeldFault } from '../fault-deadlines.js';
import { holdFault, labStatus, releaseFault, signalProcess } from '../lab-client.js';
import { linkRoundTrip, medianRoundTrip } from '../link-probe.js';
import { labPaths } from '../paths.js';
import { waitFor } from '../probes.js';
import { readLabState } from '../state.js';
import { labTarget } from '../target.js';
import type { Link } from '../topology.js';
import { ToxiproxyClient } from '../toxiproxy-client.js';
import { localSnapshot } from './snapshot.js';

/**
 * The local driver: Toxiproxy for links, the lab supervisor for processes. Every fault is
 * checked where it acts — a latency fault by timing a real round trip across the link before and
 * during, a partition by a refused connection, a kill by a new pid, a pause by the supervisor's
 * state — and a fault whose effect is not seen is reported as unverified, never as a success.
 */

const toxiproxy = new ToxiproxyClient();

function linkNamed(name: string): Link {
  const link = readLabState(labPaths())?.links.find((l) => l.name === name);
  if (!link) throw new Error(`link ${name} is not in the running lab (is its service running?)`);
  return link;
}

async function processNamed(name: string) {
  const proc = (await labStatus())?.processes.find((p) => p.name === name);
  if (!proc) throw new Error(`process ${name} is not in the running lab`);
  return proc;
}

/** Measures the baseline, then adds the toxic: the baseline is what the effect is judged against. */
async function latencyFault(fault: Extract<Fault, { type: 'latency' }>, tag: string): Promise<ActiveFault> {
  const link = linkNamed(fault.link);
  const baseline = await medianRoundTrip(link, 3);
  await toxiproxy.addToxic(link.name, {
    name: tag,
    type: 'latency',
    stream: 'downstream',
    attributes: { latency: fault.latencyMs, jitter: fault.jitterMs ?? 0 },
  });
  let reverted = false;
  return {
    fault,
    revertPlan: `DELETE toxic ${tag} on Toxiproxy proxy ${link.name}`,
    async verify(): Promise<Effect> {
      const during = await medianRoundTrip(link, 3);
      const increase = during - baseline;
      // Half the injected amount is the bar: jitter and a busy machine blur the figure, but a
      // toxic that is not in the path adds nothing at all.
      const verified = increase >= fault.latencyMs * 0.5;
      return {
        verified,
        detail: `round trip ${baseline} ms → ${during} ms (+${increase.toFixed(1)} ms for ${fault.latencyMs} ms injected)`,
      };
    },
    async revert(): Promise<Effect> {
      if (!reverted) await toxiproxy.removeToxic(link.name, tag).catch(() => {});
      reverted = true;
      const after = await medianRoundTrip(link, 3);
      return { verified: after < baseline + fault.latencyMs * 0.5, detail: `round trip back to ${after} ms` };
    },
  };
}

function partitionFault(fault: Extract<Fault, { type: 'partition' }>): ActiveFault {
  const link = linkNamed(fault.link);
  return {
    fault,
    revertPlan: `enable Toxiproxy proxy ${link.name}`,
    async verify() {
      const error = await linkRoundTrip(link, 2000).then(
        () => undefined,
        (e: Error) => e.message,
      );
      return {
        verified: error !== undefined,
        detail: error ? `a call across the link fails: ${error}` : 'the link still answers',
      };
    },
    async revert() {
      await toxiproxy.setEnabled(link.name, true);
      const ms = await linkRoundTrip(link, 5000).catch(() => undefined);
      return {
        verified: ms !== undefined,
        detail: ms !== undefined ? `the link answers again (${ms} ms)` : 'the link still fails',
      };
    },
  };
}

/** `as`: the fault the journal and the report name (a db-failover is a kill of postgres here). */
async function killFault(fault: Extract<Fault, { type: 'kill' }>, as: Fault = fault): Promise<ActiveFault> {
  const before = await processNamed(fault.process);
  const killedAt = Date.now();
  return {
    fault: as,
    revertPlan: `none needed: the supervisor restarts ${fault.process}`,
    async verify() {
      await signalProcess(fault.process, 'SIGKILL');
      try {
        await waitFor(
          `${fault.process} to be restarted`,
          async () => {
            const now = await processNamed(fault.process);
            return now.state === 'running' && now.pid !== before.pid;
          },
          { timeoutMs: 60_000, intervalMs: 100 },
        );
      } catch {
        return { verified: false, detail: `${fault.process} was not seen restarting within 60 s` };
      }
      const now = await processNamed(fault.process);
      return {
        verified: true,
        detail: `pid ${before.pid} killed; pid ${now.pid} ready after ${Date.now() - killedAt} ms`,
      };
    },
    async revert() {
      const now = await processNamed(fault.process);
      return { verified: now.state === 'running', detail: `${fault.process} is ${now.state}` };
    },
  };
}

function pauseFault(fault: Extract<Fault, { type: 'pause' }>): ActiveFault {
  let continued = false;
  return {
    fault,
    revertPlan: `SIGCONT ${fault.process}`,
    async verify() {
      await signalProcess(fault.process, 'SIGSTOP');
      const proc = await processNamed(fault.process);
      return {
        verified: proc.state === 'paused',
        detail: `${fault.process} (pid ${proc.pid}) is ${proc.state}`,
      };
    },
    async revert() {
      if (!continued) await signalProcess(fault.process, 'SIGCONT');
      continued = true;
      const proc = await processNamed(fault.process);
      return { verified: proc.state === 'running', detail: `${fault.process} is ${proc.state}` };
    },
  };
}

// ── faults through a service's own admin routes ──────────────────────────────────────────

/**
 * A service's API through the target's gateway, called with the target's admin token: the
 * service faults (flags, stress runs) act wherever the run's target is, not only on the lab.
 */
class ServiceAdmin {
  constructor(private readonly target: Target) {}

  /** `order` → `http://127.0.0.1:8080/api/orders`. */
  api(service: string): string {
    const segment = (SERVICES as Record<string, { segment: string } | undefined>)[service]?.segment;
    if (!segment) throw new Error(`no service ${service}`);
    return `${this.target.gateway()}/api/${segment}`;
  }

  async call(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.target.adminToken()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
  }

  /** Sums a Prometheus counter over its label sets, from a service's /metrics. */
  async counter(service: string, name: string): Promise<number> {
    const res = await fetch(`${this.api(service)}/metrics`, { signal: AbortSignal.timeout(5000) });
    return sumSeries(await res.text(), name);
  }

  /** One flag as the service itself reports it (its active variant and expiry). */
  async flag(service: string, flag: string): Promise<FlagState | undefined> {
    const answer = await this.call('GET', `${this.api(service)}/admin/flags`);
    return (answer.json as { flags?: FlagState[] } | undefined)?.flags?.find((f) => f.name === flag);
  }
}

/**
 * Undoes a service fault a dead run left (for `experiment revert` and `halt`): its fault flag off,
 * or the service's running stress run cancelled. Undefined for a fault of another kind.
 */
export async function undoServiceFault(
  fault: Fault,
  target: Target = labTarget,
): Promise<Effect | undefined> {
  const services = new ServiceAdmin(target);
  const flag =
    fault.type === 'dependency-errors'
      ? { service: fault.service, name: fault.type }
      : fault.type === 'lambda-delay' || fault.type === 'lambda-error'
        ? { service: 'payment', name: fault.type }
        : undefined;
  if (flag) {
    await services.call('DELETE', `${services.api(flag.service)}/admin/flags/${flag.name}`);
    const state = await services.flag(flag.service, flag.name);
    return {
      verified: state?.active === 'off',
      detail: `${flag.name} on ${flag.service} is ${state?.active ?? 'unknown'}`,
    };
  }
  if (fault.type !== 'cpu-stress') return undefined;
  const api = services.api(fault.service);
  const { active } = (await services.call('GET', `${api}/stress`)).json as {
    active?: { runId: string; scenario: string; state: string };
  };
  if (active?.state !== 'running')
    return { verified: true, detail: `no stress run of ${fault.service} is running` };
  const cancelled = await services.call(
    'POST',
    `${api}/stress/${active.scenario}/runs/${active.runId}/cancel`,
  );
  return {
    verified: cancelled.status >= 200 && cancelled.status < 300,
    detail: `stress run ${active.scenario} ${active.runId} of ${fault.service}: cancel answered ${cancelled.status}`,
  };
}

/** An admin call to a service of the running lab, with the lab's admin token (for `halt`). */
export const admin = (method: string, url: string, body?: unknown) =>
  new ServiceAdmin(labTarget).call(method, url, body);

/**
 * A fault flag set with a TTL longer than the fault, so it reverts by itself even if this
 * process dies; the runner's revert clears it on time.
 */
async function flagFault(
  services: ServiceAdmin,
  fault: Fault,
  service: string,
  flag: string,
  variant: string,
  durationMs: number,
  effect: () => Promise<Effect>,
): Promise<ActiveFault> {
  const url = `${services.api(service)}/admin/flags/${flag}`;
  const ttlSeconds = Math.min(3600, Math.ceil(durationMs / 1000) + 30);
  const set = await services.call('PUT', url, { variant, ttlSeconds });
  if (set.status !== 200)
    throw new Error(`${service} refused flag ${flag}=${variant}: ${set.status} ${JSON.stringify(set.json)}`);
  let cleared = false;
  return {
    fault,
    revertPlan: `DELETE ${url} (the flag also expires by itself after ${ttlSeconds} s)`,
    verify: effect,
    async revert() {
      if (!cleared) await services.call('DELETE', url);
      cleared = true;
      const state = await services.flag(service, flag);
      return {
        verified: state?.active === 'off',
        detail: `${flag} on ${service} is ${state?.active ?? 'unknown'}`,
      };
    },
  };
}

async function dependencyErrorsFault(
  services: ServiceAdmin,
  fault: Extract<Fault, { type: 'dependency-errors' }>,
  durationMs: number,
) {
  const before = await services.counter(fault.service, 'dependency_errors_injected_total');
  return flagFault(services, fault, fault.service, 'dependency-errors', fault.rate, durationMs, async () => {
    // the flag acts on calls the service makes: with traffic, injected errors must appear
    let after = before;
    await waitFor(
      'injected dependency errors',
      async () => {
        after = await services.counter(fault.service, 'dependency_errors_injected_total');
        return after > before;
      },
      { timeoutMs: 10_000, intervalMs: 500 },
    ).catch(() => {});
    return {
      verified: after > before,
      detail:
        after > before
          ? `${after - before} dependency calls failed by the flag within seconds`
          : `flag set, but no dependency call of ${fault.service} failed in 10 s (no traffic?)`,
    };
  });
}

async function lambdaFlagFault(
  services: ServiceAdmin,
  fault: Extract<Fault, { type: 'lambda-delay' | 'lambda-error' }>,
  durationMs: number,
) {
  const variant = fault.type === 'lambda-delay' ? fault.delay : fault.rate;
  return flagFault(services, fault, 'payment', fault.type, variant, durationMs, async () => {
    const flag = await services.flag('payment', fault.type);
    return {
      verified: flag?.active === variant,
      detail: `the Lambda runtime reports ${fault.type}=${flag?.active ?? 'unknown'}${flag?.expiresAt ? ` until ${flag.expiresAt}` : ''}`,
    };
  });
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of stat; here 11 and 12 after the command name
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function cpuShare(pid: number, ms = 2000): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  return (cpuSeconds(pid) - before) / (ms / 1000);
}

async function cpuStressFault(
  services: ServiceAdmin,
  fault: Extract<Fault, { type: 'cpu-stress' }>,
  durationMs: number,
): Promise<ActiveFault> {
  const api = services.api(fault.service);
  const proc = await processNamed(fault.service);
  if (!proc.pid) throw new Error(`${fault.service} is not running`);
  const pid = proc.pid;
  const baseline = await cpuShare(pid, 1000);
  const listed = await services.call('GET', `${api}/stress`);
  const scenarios = (listed.json as { scenarios?: { name: string }[] } | undefined)?.scenarios ?? [];
  const scenario = fault.scenario ?? scenarios[0]?.name;
  if (!scenario) throw new Error(`${fault.service} has no stress scenario`);
  const started = await services.call('POST', `${api}/stress/${scenario}`, {
    ...fault.knobs,
    durationSeconds: Math.max(1, Math.round(durationMs / 1000)),
  });
  if (started.status !== 202) {
    throw new Error(
      `${fault.service} refused stress ${scenario}: ${started.status} ${JSON.stringify(started.json)}`,
    );
  }
  const runId = (started.json as { runId: string }).runId;
  const runUrl = `${api}/stress/${scenario}/runs/${runId}`;
  let cancelled = false;
  return {
    fault,
    revertPlan: `POST ${runUrl}/cancel`,
    async verify() {
      const during = await cpuShare(pid);
      // the bar: a third of a core more than before; a stress run that burns no CPU is no stress
      const verified = during - baseline >= 0.33;
      return {
        verified,
        detail: `${fault.service} (pid ${pid}) CPU ${(baseline * 100).toFixed(0)}% → ${(during * 100).toFixed(0)}% of a core under ${scenario}`,
      };
    },
    async revert() {
      if (!cancelled) await services.call('POST', `${runUrl}/cancel`);
      cancelled = true;
      let state = 'unknown';
      await waitFor(
        `${scenario} to stop`,
        async () => {
          state = String(
            ((await services.call('GET', runUrl)).json as { state?: string } | undefined)?.state,
          );
          return state !== 'running';
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      ).catch(() => {});
      return { verified: state !== 'running', detail: `stress run ${runId} is ${state}` };
    },
  };
}

/** The links to Redis a cache outage cuts: of one service, or of every service. */
function redisLinks(fault: Extract<Fault, { type: 'cache-outage' }>): Link[] {
  const links = (readLabState(labPaths())?.links ?? []).filter(
    (l) => l.to === 'redis' && (!fault.service || l.from === fault.service),
  );
  if (links.length === 0)
    throw new Error(`no link to redis${fault.service ? ` from ${fault.service}` : ''} in the lab`);
  return links;
}

/** Every link to Redis (of one service, or of all) cut at once: the cache is gone. */
async function cacheOutageFault(
  fault: Extract<Fault, { type: 'cache-outage' }>,
  context: InjectContext | undefined,
): Promise<ActiveFault> {
  const links = redisLinks(fault);
  // which links, before any is cut: `experiment revert` enables exactly these after a crash
  context?.revertInfo({ links: links.map((l) => l.name) });
  for (const link of links) await toxiproxy.setEnabled(link.name, false);
  return {
    fault,
    revertPlan: `enable Toxiproxy proxies ${links.map((l) => l.name).join(', ')}`,
    async verify() {
      const refused = await Promise.all(
        links.map((l) =>
          linkRoundTrip(l, 2000).then(
            () => false,
            () => true,
          ),
        ),
      );
      const cut = refused.filter(Boolean).length;
      return { verified: cut === links.length, detail: `${cut}/${links.length} links to redis refuse calls` };
    },
    async revert() {
      for (const link of links) await toxiproxy.setEnabled(link.name, true);
      const back = await Promise.all(
        links.map((l) =>
          linkRoundTrip(l, 5000).then(
            () => true,
            () => false,
          ),
        ),
      );
      const ok = back.filter(Boolean).length;
      return { verified: ok === links.length, detail: `${ok}/${links.length} links to redis answer again` };
    },
  };
}

/**
 * The daemon undoes a held fault this long after the fault's duration if its run has not: the
 * run's own revert comes first, and a killed run's fault is gone within seconds of its end.
 */
const DEADLINE_GRACE_MS = 2000;

/** What a fault leaves in force that the lab daemon can undo by itself; undefined: nothing to hold. */
function heldFaultOf(fault: Fault, tag: string): HeldFault | undefined {
  switch (fault.type) {
    case 'latency':
      return { kind: 'toxic', link: fault.link, toxic: tag };
    case 'partition':
      return { kind: 'link-disabled', links: [fault.link] };
    case 'cache-outage':
      return { kind: 'link-disabled', links: redisLinks(fault).map((l) => l.name) };
    case 'pause':
      return { kind: 'process-paused', process: fault.process };
    default:
      // kills need no undo; stress runs and fault flags end by their own duration and TTL
      return undefined;
  }
}

/** Releases the daemon's deadline once the run's revert is confirmed; a failed one keeps it armed. */
function releasedOnRevert(active: ActiveFault, tag: string): ActiveFault {
  return {
    ...active,
    async revert() {
      const effect = await active.revert();
      if (effect.verified) await releaseFault(tag).catch(() => {});
      return effect;
    },
  };
}

function injectFault(
  services: ServiceAdmin,
  fault: Fault,
  tag: string,
  context: InjectContext | undefined,
  durationMs: number,
) {
  switch (fault.type) {
    case 'latency':
      return latencyFault(fault, tag);
    case 'partition': {
      const active = partitionFault(fault); // refuses a link the lab does not have, before acting
      return toxiproxy.setEnabled(fault.link, false).then(() => active);
    }
    case 'kill':
      return killFault(fault);
    case 'pause':
      return pauseFault(fault);
    case 'db-failover':
      // locally a failover is PostgreSQL restarting on its own data: the order service must
      // ride it out with its pool and its outbox
      return killFault({ type: 'kill', process: 'postgres' }, fault);
    case 'cache-outage':
      return cacheOutageFault(fault, context);
    case 'cpu-stress':
      return cpuStressFault(services, fault, durationMs);
    case 'dependency-errors':
      return dependencyErrorsFault(services, fault, durationMs);
    case 'lambda-delay':
    case 'lambda-error':
      return lambdaFlagFault(services, fault, durationMs);
  }
}

/**
 * The local driver. Its service faults go to `target` (the lab's state file when absent); its
 * link and process faults act on this machine's lab, through its Toxiproxy and its daemon.
 */
export function localDriver(target: Target = labTarget): Driver {
  const services = new ServiceAdmin(target);
  return {
    platform: 'local',
    unsupported: () => undefined,
    snapshot: () => localSnapshot(services),
    async inject(fault, tag, context) {
      const durationMs = context?.durationMs ?? 60_000;
      // held by the daemon before it acts: the fault's end holds even if this process dies
      const held = heldFaultOf(fault, tag);
      if (held) await holdFault(tag, held, durationMs + DEADLINE_GRACE_MS);
      const active = await injectFault(services, fault, tag, context, durationMs);
      return held ? releasedOnRevert(active, tag) : active;
    },
  };
}
