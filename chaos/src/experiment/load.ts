import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Link, linksFor, REPO_ROOT, SERVICES } from '@cloudcafe/local-platform';
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { driverFor } from '../drivers/index.js';
import { durationMs, Experiment, GameDay, MAX_FAULT_MS, type Platform } from './schema.js';

/**
 * Reads and validates experiment and game-day files. Every problem is reported with its path
 * in the document and its line, and a document with any problem is refused whole: nothing runs
 * half-understood. Loaded documents are frozen so a run can never change what was validated.
 */

export const EXPERIMENTS_DIR = join(REPO_ROOT, 'chaos', 'experiments');
export const GAMEDAYS_DIR = join(REPO_ROOT, 'chaos', 'gamedays');

export interface Problem {
  /** JSON pointer into the document, e.g. `/method/0/fault/latencyMs`. */
  readonly path: string;
  readonly line: number | undefined;
  readonly message: string;
}

export class DocumentError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly Problem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems
        .map((p) => `  ${p.path || '/'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'DocumentError';
  }
}

interface RawError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

const pointer = (path: string): string[] =>
  path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

function valueAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const key of pointer(path)) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

function schemaAt(schema: TSchema, schemaPath: string): Record<string, unknown> | undefined {
  let node: unknown = schema;
  for (const key of pointer(schemaPath.replace(/^#/, '')))
    node = (node as Record<string, unknown> | undefined)?.[key];
  return node as Record<string, unknown> | undefined;
}

/**
 * TypeBox reports every branch of a union. For our discriminated unions only the branch named by
 * `type` matters, so keep that branch's errors — or, when `type` names no branch, say which
 * types exist.
 */
function focus(schema: TSchema, doc: unknown, errors: readonly RawError[]): Omit<Problem, 'line'>[] {
  let kept = [...errors].filter((e) => e.keyword !== 'boolean'); // "schema is false": reported below
  const out: Omit<Problem, 'line'>[] = [];
  for (const union of errors.filter((e) => e.keyword === 'anyOf')) {
    const branches = (schemaAt(schema, union.schemaPath)?.anyOf ?? []) as Record<string, unknown>[];
    const types = branches.map(
      (b) => (b.properties as Record<string, { const?: unknown }> | undefined)?.type?.const,
    );
    const given = (valueAt(doc, union.instancePath) as { type?: unknown } | undefined)?.type;
    const inUnion = (e: RawError) => e.schemaPath.startsWith(`${union.schemaPath}/anyOf/`);
    if (types.every((t) => typeof t === 'string')) {
      const index = types.indexOf(given as string);
      kept = kept.filter(
        (e) => e !== union && (!inUnion(e) || e.schemaPath.startsWith(`${union.schemaPath}/anyOf/${index}/`)),
      );
      if (index < 0) {
        out.push({ path: `${union.instancePath}/type`, message: `must be one of: ${types.join(', ')}` });
      }
    }
  }
  for (const e of kept) {
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params.additionalProperties as string[] | undefined) ?? [];
      for (const key of extra)
        out.push({ path: `${e.instancePath}/${key}`, message: 'is not a known field' });
    } else if (e.keyword === 'required') {
      const missing = (e.params.requiredProperties as string[] | undefined) ?? [e.message];
      for (const key of missing) out.push({ path: `${e.instancePath}/${key}`, message: 'is required' });
    } else {
      const description = schemaAt(schema, e.schemaPath)?.description;
      out.push({ path: e.instancePath, message: description ? `${e.message} (${description})` : e.message });
    }
  }
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(`${p.path}|${p.message}`) && seen.add(`${p.path}|${p.message}`));
}

/** Checks the schema cannot express: fault bounds, links and processes that exist, platform support. */
function semanticProblems(experiment: Experiment, links: readonly Link[]): Omit<Problem, 'line'>[] {
  const problems: Omit<Problem, 'line'>[] = [];
  const linkNames = new Set(links.map((l) => l.name));
  const processes = new Set([
    'postgres',
    'redis',
    'mongo',
    'aws',
    'aws-sqs',
    'toxiproxy',
    'payment-gateway',
    ...SERVICES.map((s) => s.name),
  ]);
  experiment.method.forEach((step, i) => {
    if (step.type !== 'fault') return;
    const at = `/method/${i}`;
    if (durationMs(step.duration) > MAX_FAULT_MS) {
      problems.push({
        path: `${at}/duration`,
        message: `a fault may hold at most ${MAX_FAULT_MS / 60_000}m`,
      });
    }
    const fault = step.fault;
    if ((fault.type === 'latency' || fault.type === 'partition') && !linkNames.has(fault.link)) {
      problems.push({ path: `${at}/fault/link`, message: `no link named ${fault.link} in the lab topology` });
    }
    if ((fault.type === 'kill' || fault.type === 'pause') && !processes.has(fault.process)) {
      problems.push({ path: `${at}/fault/process`, message: `no process named ${fault.process}` });
    }
    for (const platform of experiment.platforms) {
      const reason = driverFor(platform).unsupported(fault);
      if (reason) problems.push({ path: `${at}/fault`, message: `${fault.type} on ${platform}: ${reason}` });
    }
  });
  return problems;
}

function parse<T>(file: string, schema: TSchema, extra: (doc: T) => Omit<Problem, 'line'>[]): T {
  const text = readFileSync(file, 'utf8');
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true });
  const lineOf = (path: string): number | undefined => {
    const node = document.getIn(pointer(path), true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  if (document.errors.length > 0) {
    throw new DocumentError(
      file,
      document.errors.map((e) => ({
        path: '',
        line: e.linePos?.[0]?.line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    );
  }
  const doc = document.toJS() as unknown;
  const schemaProblems = focus(schema, doc, Value.Errors(schema, doc) as RawError[]);
  const problems = schemaProblems.length > 0 ? schemaProblems : extra(doc as T);
  if (problems.length > 0) {
    throw new DocumentError(
      file,
      problems.map((p) => ({ ...p, line: lineOf(p.path) ?? lineOf(p.path.replace(/\/[^/]*$/, '')) })),
    );
  }
  return deepFreeze(doc as T);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Loads one experiment file, or throws a DocumentError listing every problem. */
export function loadExperiment(file: string): Experiment {
  const links = linksFor(SERVICES);
  return parse<Experiment>(resolve(file), Experiment, (doc) => semanticProblems(doc, links));
}

export function loadGameDay(file: string): { gameday: GameDay; experiments: Experiment[] } {
  const gameday = parse<GameDay>(resolve(file), GameDay, (doc) =>
    doc.experiments
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !listExperimentFiles().some((f) => f.endsWith(`/${id}.yaml`)))
      .map(({ id, i }) => ({
        path: `/experiments/${i}`,
        message: `no experiment ${id} in chaos/experiments`,
      })),
  );
  return {
    gameday,
    experiments: gameday.experiments.map((id) => loadExperiment(join(EXPERIMENTS_DIR, `${id}.yaml`))),
  };
}

export function listExperimentFiles(dir: string = EXPERIMENTS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** The experiment file for an id or a path. */
export function experimentFile(idOrPath: string): string {
  return idOrPath.endsWith('.yaml') ? resolve(idOrPath) : join(EXPERIMENTS_DIR, `${idOrPath}.yaml`);
}

export function gameDayFile(name: string): string {
  return name.endsWith('.yaml') ? resolve(name) : join(GAMEDAYS_DIR, `${name}.yaml`);
}

export type { Platform };
