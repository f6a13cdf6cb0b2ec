// Architecture checks on the import graph of the control plane (worker/ with its contracts, durable-objects/),
// so that layering rules are enforced by a test instead of by review:
//   (a) a file in worker/routes/ never imports another file in worker/routes/ (shared code belongs in
//       services/, lib/ or contracts/): every import counts here, `import type` included, because a type-only
//       import still couples two routes and blocks moving or deleting one of them;
//   (b) there are no runtime import cycles: only what survives compilation counts, i.e. what TypeScript emits
//       (`import type`, `type` specifiers and imports whose bindings are used only as types are erased).
//       Cycles make module evaluation order matter and tie modules that should be separable.
// Only relative specifiers are followed (packages and `cloudflare:*` are outside the graph); `import('…')`
// calls are not edges, since a lazily loaded module cannot take part in an evaluation-order cycle.
// The checker is pure over a map of path → source text, so its tests can run it on a tiny in-memory tree;
// readSourceTree() builds that map from the repository.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Repository-relative, forward-slash path → TypeScript source. */
export type SourceTree = ReadonlyMap<string, string>;

export type ImportEdge = { from: string; to: string; specifier: string; typeOnly: boolean };

export type Violation =
  | { kind: 'route-imports-route'; from: string; to: string; typeOnly: boolean }
  | { kind: 'runtime-cycle'; cycle: string[] }
  /** Files caught in more cycles than were listed (see maxCyclesPerGroup). */
  | { kind: 'runtime-cycle-group'; files: string[]; listed: number };

export type CheckOptions = {
  /** Folder whose files must not import each other (default: worker/routes). */
  routesDir?: string;
  /** Upper bound on the cycles listed per strongly connected group (their number can grow exponentially). */
  maxCyclesPerGroup?: number;
};

const TS_FILE = /\.(ts|tsx|mts)$/;

/** Reads every .ts file under `dirs` (relative to `root`), skipping declaration files. */
export function readSourceTree(root: string, dirs: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(child);
      } else if (TS_FILE.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.set(child, readFileSync(path.join(root, child), 'utf8'));
      }
    }
  };
  for (const dir of dirs) walk(dir.replace(/\/+$/, ''));
  return files;
}

/** Resolves a relative specifier to a file of the tree, as the bundler would (extensionless, .ts, .js → .ts, index). */
export function resolveSpecifier(tree: SourceTree, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|mjs)$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${base}/index.ts`, `${base}/index.tsx`];
  return candidates.find((c) => tree.has(c));
}

/** Module specifiers a source names in any import or re-export, type-only ones included (and `import('…')` types). */
function allSpecifiers(file: string, text: string): Array<{ specifier: string; typeOnly: boolean }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Array<{ specifier: string; typeOnly: boolean }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnlyImport(node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (!!node.exportClause &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x'`: a side-effect import, always runtime.
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** Specifiers of the imports TypeScript keeps in its output: the ones that load a module at run time. */
function runtimeSpecifiers(file: string, text: string): string[] {
  // The repository compiles with isolatedModules and without verbatimModuleSyntax, so per-file transpilation
  // elides exactly what the bundler (esbuild, which follows the same rules) elides.
  const js = ts.transpileModule(text, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, isolatedModules: true, verbatimModuleSyntax: false },
  }).outputText;
  const out = ts.createSourceFile(`${file}.js`, js, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const specifiers: string[] = [];
  for (const statement of out.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      specifiers.push(statement.moduleSpecifier.text);
    }
  }
  return specifiers;
}

/** Every edge inside the tree. An edge is typeOnly when no runtime import backs it. */
export function importEdges(tree: SourceTree): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [from, text] of tree) {
    const runtime = new Set(
      runtimeSpecifiers(from, text)
        .map((s) => resolveSpecifier(tree, from, s))
        .filter((t): t is string => !!t),
    );
    const seen = new Set<string>();
    for (const { specifier } of allSpecifiers(from, text)) {
      const to = resolveSpecifier(tree, from, specifier);
      if (!to || seen.has(to)) continue;
      seen.add(to);
      edges.push({ from, to, specifier, typeOnly: !runtime.has(to) });
    }
  }
  return edges;
}

/** Strongly connected groups of the graph (Tarjan), each listed in a stable order. */
function stronglyConnected(nodes: readonly string[], next: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const connect = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) connect(v);
  return groups;
}

/**
 * The elementary cycles of one strongly connected group, each starting at its smallest file (so a cycle is
 * listed once, not once per rotation), shortest first. Stops at `limit` (then `complete` is false): a dense
 * group can hold exponentially many cycles, and the group itself is then the thing to report.
 */
function cyclesOf(group: readonly string[], next: ReadonlyMap<string, readonly string[]>, limit: number): { cycles: string[][]; complete: boolean } {
  const members = new Set(group);
  const cycles: string[][] = [];
  let complete = true;
  // For each start s (in order), find the cycles through s that use only members not smaller than s:
  // every elementary cycle is found exactly once, from its smallest member.
  for (const start of group) {
    const path: string[] = [start];
    const onPath = new Set([start]);
    const walk = (v: string) => {
      for (const w of next.get(v) ?? []) {
        if (cycles.length >= limit) {
          complete = false;
          return;
        }
        if (!members.has(w) || w < start) continue;
        if (w === start) cycles.push([...path, start]);
        else if (!onPath.has(w)) {
          path.push(w);
          onPath.add(w);
          walk(w);
          onPath.delete(w);
          path.pop();
        }
      }
    };
    walk(start);
  }
  cycles.sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
  return { cycles, complete };
}

/** Checks both rules; an empty list means the tree is clean. */
export function checkImports(tree: SourceTree, opts: CheckOptions = {}): Violation[] {
  const routesDir = `${(opts.routesDir ?? 'worker/routes').replace(/\/+$/, '')}/`;
  const edges = importEdges(tree);
  const violations: Violation[] = [];

  for (const e of edges) {
    if (e.from.startsWith(routesDir) && e.to.startsWith(routesDir) && e.from !== e.to) {
      violations.push({ kind: 'route-imports-route', from: e.from, to: e.to, typeOnly: e.typeOnly });
    }
  }

  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly) next.set(e.from, [...(next.get(e.from) ?? []), e.to].sort());
  const nodes = [...tree.keys()].sort();
  for (const group of stronglyConnected(nodes, next)) {
    const selfLoop = group.length === 1 && (next.get(group[0]!) ?? []).includes(group[0]!);
    if (group.length < 2 && !selfLoop) continue;
    const { cycles, complete } = cyclesOf(group, next, opts.maxCyclesPerGroup ?? 50);
    for (const cycle of cycles) violations.push({ kind: 'runtime-cycle', cycle });
    if (!complete) violations.push({ kind: 'runtime-cycle-group', files: group, listed: cycles.length });
  }
  return violations;
}

/** One line per violation, e.g. `runtime cycle: a.ts → b.ts → a.ts`. */
export function formatViolation(v: Violation): string {
  switch (v.kind) {
    case 'runtime-cycle':
      return `runtime cycle: ${v.cycle.join(' → ')}`;
    case 'runtime-cycle-group':
      return `runtime cycles beyond the ${v.listed} listed, among: ${v.files.join(', ')}`;
    case 'route-imports-route':
      return `route imports route: ${v.from} → ${v.to}${v.typeOnly ? ' (type-only)' : ''}`;
  }
}
