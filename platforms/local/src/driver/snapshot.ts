import type { PlatformSnapshot } from '@cloudcafe/chaos-interface';
import { SERVICES } from '@cloudcafe/kit';
import { labStatus } from '../lab-client.js';
import { ToxiproxyClient } from '../toxiproxy-client.js';

/**
 * Everything a local run can change, read from where it lives: this machine's Toxiproxy (links
 * enabled or cut, toxics) and lab supervisor (process states, faults its daemon holds a
 * deadline for), and each service's admin routes on the run's target (fault flags, stress runs). Pids and restart counts are left out
 * on purpose: a kill fault changes them by design, and a restarted process is handed back as
 * found. A source that cannot be read is itself an entry (`unreadable: …`), so a certificate
 * can never call a lab clean that it could not look at.
 */

const toxiproxy = new ToxiproxyClient();

/** The run target's service admin routes (local.ts's ServiceAdmin, handed in). */
interface ServiceCalls {
  api(service: string): string;
  call(method: string, url: string): Promise<{ status: number; json: unknown }>;
}

const unreadable = (error: unknown) => `unreadable: ${(error as Error).message}`;

async function links(out: Record<string, string>): Promise<void> {
  try {
    for (const proxy of Object.values(await toxiproxy.proxies())) {
      out[`link ${proxy.name}`] = proxy.enabled ? 'enabled' : 'disabled';
      for (const toxic of proxy.toxics) {
        const attributes = Object.entries(toxic.attributes)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        out[`toxic ${proxy.name}/${toxic.name}`] = `${toxic.type} ${toxic.stream} ${attributes}`.trim();
      }
    }
  } catch (error) {
    out.toxiproxy = unreadable(error);
  }
}

async function supervisor(out: Record<string, string>): Promise<void> {
  const status = await labStatus();
  if (!status) {
    out.lab = 'unreadable: no lab daemon answers';
    return;
  }
  for (const p of status.processes) out[`process ${p.name}`] = p.state;
  for (const f of status.faults ?? []) out[`held fault ${f.tag}`] = JSON.stringify(f.fault);
}

async function services(out: Record<string, string>, services: ServiceCalls): Promise<void> {
  for (const name of Object.keys(SERVICES)) {
    const api = services.api(name);
    try {
      const flags = (await services.call('GET', `${api}/admin/flags`)).json as {
        flags?: { name: string; active: string }[];
      };
      for (const flag of flags.flags ?? []) out[`flag ${name}/${flag.name}`] = flag.active;
    } catch (error) {
      out[`flags ${name}`] = unreadable(error);
    }
    try {
      const stress = (await services.call('GET', `${api}/stress`)).json as {
        active?: { runId: string; scenario: string; state: string };
      };
      const active = stress.active;
      out[`stress ${name}`] =
        active?.state === 'running' ? `running ${active.scenario} ${active.runId}` : 'idle';
    } catch (error) {
      out[`stress ${name}`] = unreadable(error);
    }
  }
}

export async function localSnapshot(calls: ServiceCalls): Promise<PlatformSnapshot> {
  const out: Record<string, string> = {};
  await Promise.all([links(out), supervisor(out), services(out, calls)]);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
