import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Link, linksFor, REPO_ROOT, SERVICES } from '@cloudcafe/local-platform';
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { LineCounter, parseDocument } from 'yaml';
import { driverFor } from '../drivers/index.js';
import { type MarginPlan, parseVary, planMargin } from '../margin.js';
import {
  durationMs,
  Experiment,
  GameDay,
  MAX_FAULT_MS,
  type MarginRequest,
  type Platform,
} from './schema.js';

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

/** `/method/0/fault` → ['method', '0', 'fault'] (JSON pointer, with its escapes). */
const pointer = (path: string): string[] =>
  path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

type SchemaNode = Record<string, unknown> & {
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: boolean;
  description?: string;
};

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `type` constant of each branch, when every branch of a union is an object tagged by `type`. */
function discriminants(union: SchemaNode[]): string[] | undefined {
  const tags = union.map((b) => b.properties?.type?.const);
  return tags.every((t) => typeof t === 'string') ? (tags as string[]) : undefined;
}

/**
 * Validates a document against the schema the way a reader would: a tagged union is judged only
 * by the branch its `type` names (or told which types exist), objects by their fields, and the
 * leaves by TypeBox itself. Every problem carries its JSON pointer.
 */
function validate(schema: SchemaNode, value: unknown, path: string, out: Omit<Problem, 'line'>[]): void {
  const tags = schema.anyOf ? discriminants(schema.anyOf) : undefined;
  if (schema.anyOf && tags) {
    const given = isRecord(value) ? value.type : undefined;
    const index = tags.indexOf(given as string);
    if (index < 0) out.push({ path: `${path}/type`, message: `must be one of: ${tags.join(', ')}` });
    else validate(schema.anyOf[index] as SchemaNode, value, path, out);
    return;
  }
  if (schema.properties) {
    if (!isRecord(value)) {
      out.push({ path, message: 'must be an object' });
      return;
    }
    for (const key of schema.required ?? [])
      if (!(key in value)) out.push({ path: `${path}/${key}`, message: 'is required' });
    for (const [key, child] of Object.entries(value)) {
      const sub = schema.properties[key];
      if (sub) validate(sub, child, `${path}/${key}`, out);
      else if (schema.additionalProperties === false)
        out.push({ path: `${path}/${key}`, message: 'is not a known field' });
    }
    return;
  }
  if (schema.items) {
    if (!Array.isArray(value)) {
      out.push({ path, message: 'must be a list' });
      return;
    }
    const { items, ...list } = schema;
    for (const e of Value.Errors(list as TSchema, value)) out.push({ path, message: e.message });
    for (const [i, item] of value.entries()) validate(items, item, `${path}/${i}`, out);
    return;
  }
  for (const e of Value.Errors(schema as TSchema, value)) {
    out.push({
      path: `${path}${e.instancePath}`,
      message: schema.description ? `${e.message} (${schema.description})` : e.message,
    });
  }
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
  const schemaProblems: Omit<Problem, 'line'>[] = [];
  validate(schema as SchemaNode, doc, '', schemaProblems);
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

const hasExperiment = (id: string) => listExperimentFiles().some((f) => f.endsWith(`/${id}.yaml`));

/** A game day's margin request, planned: refused here, with its path, if it cannot run. */
function marginPlanOf(request: MarginRequest): MarginPlan {
  const experiment = loadExperiment(join(EXPERIMENTS_DIR, `${request.experiment}.yaml`));
  return planMargin(experiment, parseVary(request.vary), request.steps, request.fault);
}

export function loadGameDay(file: string): {
  gameday: GameDay;
  experiments: Experiment[];
  margins: MarginPlan[];
} {
  const gameday = parse<GameDay>(resolve(file), GameDay, (doc) => [
    ...doc.experiments
      .map((id, i) => ({ id, i }))
      .filter(({ id }) => !hasExperiment(id))
      .map(({ id, i }) => ({
        path: `/experiments/${i}`,
        message: `no experiment ${id} in chaos/experiments`,
      })),
    ...(doc.margins ?? []).flatMap((request, i) => {
      if (!hasExperiment(request.experiment))
        return [
          {
            path: `/margins/${i}/experiment`,
            message: `no experiment ${request.experiment} in chaos/experiments`,
          },
        ];
      try {
        marginPlanOf(request);
        return [];
      } catch (error) {
        return [{ path: `/margins/${i}`, message: (error as Error).message }];
      }
    }),
  ]);
  return {
    gameday,
    experiments: gameday.experiments.map((id) => loadExperiment(join(EXPERIMENTS_DIR, `${id}.yaml`))),
    margins: (gameday.margins ?? []).map(marginPlanOf),
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
