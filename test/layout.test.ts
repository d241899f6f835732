import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';

// The layout rules of the repository, checked on the source itself (no lab, no engine):
// - imports go one way: services import only the shared packages (packages/); each platform
//   (platforms/<name>) imports the shared packages and the chaos interface, never the core or
//   another platform; the orchestrator (chaos) imports the shared packages, the interface and
//   the platforms it wires in; a workspace declares every workspace it imports; no cycles;
// - no relative import reaches into another workspace;
// - each name the platforms share (packages/contracts/src/platform.ts) is written once.

const ROOT = join(import.meta.dirname, '..');
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };

interface Workspace {
  readonly dir: string;
  readonly name: string;
  readonly declared: ReadonlySet<string>;
}

function workspaces(): Workspace[] {
  return rootPackage.workspaces.flatMap((pattern) => {
    const dirs = pattern.endsWith('/*')
      ? readdirSync(join(ROOT, pattern.slice(0, -2))).map((d) => join(pattern.slice(0, -2), d))
      : [pattern];
    return dirs.flatMap((dir) => {
      let pkg: { name: string; dependencies?: object; devDependencies?: object };
      try {
        pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
      } catch {
        return [];
      }
      const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }));
      return [{ dir, name: pkg.name, declared }];
    });
  });
}

/** Which workspaces each may import in its production code (src/). */
const SHARED = ['@cloudcafe/contracts', '@cloudcafe/kit'];
const SERVICES = ['order', 'inventory', 'payment', 'menu', 'loyalty', 'analytics'].map(
  (s) => `@cloudcafe/${s}`,
);
const PLATFORM = [...SHARED, '@cloudcafe/chaos-interface'];
const ALLOWED: Record<string, readonly string[]> = {
  '@cloudcafe/contracts': [],
  '@cloudcafe/kit': ['@cloudcafe/contracts'],
  '@cloudcafe/chaos-interface': SHARED,
  ...Object.fromEntries(SERVICES.map((s) => [s, SHARED])),
  '@cloudcafe/test-support': [...SHARED, '@cloudcafe/local-platform'],
  '@cloudcafe/local-platform': PLATFORM,
  '@cloudcafe/kubernetes-platform': PLATFORM,
  '@cloudcafe/aws-platform': PLATFORM,
  '@cloudcafe/chaos': [
    ...PLATFORM,
    '@cloudcafe/local-platform',
    '@cloudcafe/kubernetes-platform',
    '@cloudcafe/aws-platform',
  ],
  '@cloudcafe/load-tests': [],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      if (entry === 'node_modules' || entry.startsWith('.')) continue;
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
    }
  };
  walk(dir);
  return out;
}

const importsOf = (text: string): string[] =>
  [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
const workspaceOf = (specifier: string): string | undefined => /^(@cloudcafe\/[a-z-]+)/.exec(specifier)?.[1];

const all = workspaces();

t.test('every workspace has a layer, and imports only what its layer allows', async (t) => {
  for (const ws of all) {
    const allowed = ALLOWED[ws.name];
    t.ok(allowed, `${ws.name} (${ws.dir}) has a layer in this test`);
    const src = join(ROOT, ws.dir, 'src');
    let files: string[] = [];
    try {
      files = sourceFiles(src);
    } catch {
      continue; // a workspace without src/ (load-tests' scripts live in src/ too; none here)
    }
    const wrong: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = workspaceOf(spec);
        if (!target || target === ws.name) continue;
        if (!allowed?.includes(target)) wrong.push(`${relative(ROOT, file)} imports ${spec}`);
        else if (!ws.declared.has(target)) wrong.push(`${relative(ROOT, file)} imports undeclared ${target}`);
      }
    }
    t.same(wrong, [], `${ws.name}: imports downwards only, each declared`);
  }
});

t.test('no relative import reaches into another workspace', async (t) => {
  const wrong: string[] = [];
  for (const ws of all) {
    const base = join(ROOT, ws.dir);
    for (const file of sourceFiles(base)) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const resolved = join(file, '..', spec);
        if (!resolved.startsWith(`${base}/`)) wrong.push(`${relative(ROOT, file)} imports ${spec}`);
      }
    }
  }
  t.same(wrong, []);
});

t.test('the workspace graph has no cycle', async (t) => {
  const edges = new Map(
    all.map((ws) => [ws.name, [...ws.declared].filter((d) => d.startsWith('@cloudcafe/'))]),
  );
  const cycles: string[] = [];
  const visit = (name: string, path: string[]) => {
    if (path.includes(name)) {
      cycles.push([...path.slice(path.indexOf(name)), name].join(' → '));
      return;
    }
    for (const next of edges.get(name) ?? []) visit(next, [...path, name]);
  };
  for (const name of edges.keys()) visit(name, []);
  t.same([...new Set(cycles)], []);
});

t.test('each shared platform name is written once, in the registry', async (t) => {
  const registryFile = join(ROOT, 'packages/contracts/src/platform.ts');
  const registry = readFileSync(registryFile, 'utf8');
  // every quoted value in the registry that names something (tags, labels, namespaces, alarms)
  // (the bare 'cloudcafe', the namespace and cluster name, is also the CLI's and the lab
  // database user's name: it is checked where it is a namespace or a cluster, below)
  const names = [...registry.matchAll(/'((?:cloudcafe|CloudCafe)[^']*)'/g)]
    .map((m) => m[1] as string)
    .filter((n) => n !== 'cloudcafe');
  const bareName = /\b(namespace|clusterName|cluster|NAMESPACE)\b\s*[:=]\s*'cloudcafe'/i;
  t.ok(names.length >= 7, `the registry's names: ${names.join(', ')}`);
  const ports = [...registry.matchAll(/port: (\d{4})/g)].map((m) => m[1] as string);
  t.equal(ports.length, 6, 'a port per service');
  const copies: string[] = [];
  for (const ws of all) {
    let files: string[] = [];
    try {
      files = sourceFiles(join(ROOT, ws.dir, 'src'));
    } catch {
      continue;
    }
    for (const file of files.filter((f) => f !== registryFile)) {
      // comments may quote a name; code may not
      const code = readFileSync(file, 'utf8').replace(/^\s*(\/\/|\/?\*).*$/gm, '');
      for (const name of names)
        if (code.includes(`'${name}'`)) copies.push(`${relative(ROOT, file)}: '${name}'`);
      if (bareName.test(code)) copies.push(`${relative(ROOT, file)}: namespace or cluster 'cloudcafe'`);
      for (const port of ports)
        if (new RegExp(`(?<![\\d.])${port}(?!\\d)`).test(code))
          copies.push(`${relative(ROOT, file)}: port ${port}`);
    }
  }
  t.same(copies, [], 'read them from @cloudcafe/contracts instead');
});
