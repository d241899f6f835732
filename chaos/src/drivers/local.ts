import {
  type Link,
  labPaths,
  labStatus,
  linkRoundTrip,
  medianRoundTrip,
  readLabState,
  signalProcess,
  ToxiproxyClient,
  waitFor,
} from '@cloudcafe/local-platform';
import type { Fault } from '../experiment/schema.js';
import type { ActiveFault, Driver, Effect } from './types.js';

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

async function killFault(fault: Extract<Fault, { type: 'kill' }>): Promise<ActiveFault> {
  const before = await processNamed(fault.process);
  const killedAt = Date.now();
  return {
    fault,
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

export const localDriver: Driver = {
  platform: 'local',
  unsupported: () => undefined,
  async inject(fault, tag) {
    switch (fault.type) {
      case 'latency':
        return latencyFault(fault, tag);
      case 'partition': {
        const active = partitionFault(fault);
        await toxiproxy.setEnabled(fault.link, false);
        return active;
      }
      case 'kill':
        return killFault(fault);
      case 'pause':
        return pauseFault(fault);
    }
  },
};
