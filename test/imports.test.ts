// Import rules of the control plane, checked by test/support/import-graph.ts: no route imports another route
// (type-only imports included), and no runtime import cycle among worker/ (with its contracts) and
// durable-objects/. The first block proves the checker on tiny in-memory trees; the last one runs it on the
// repository and lists every violation, one per line, so a failure says exactly what to untangle.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports, formatViolation, importEdges, readSourceTree, resolveSpecifier } from './support/import-graph';

const tree = (files: Record<string, string>) => new Map(Object.entries(files));
const lines = (files: Record<string, string>) => checkImports(tree(files)).map(formatViolation);

describe('the import checker', () => {
  it('finds a runtime cycle and prints it as a → b → c → a', () => {
    expect(
      lines({
        'worker/services/a.ts': "import { b } from './b';\nexport const a = () => b();",
        'worker/services/b.ts': "import { c } from './c';\nexport const b = () => c();",
        'worker/services/c.ts': "import { a } from './a';\nexport const c = () => a();",
      }),
    ).toEqual(['runtime cycle: worker/services/a.ts → worker/services/b.ts → worker/services/c.ts → worker/services/a.ts']);
  });

  it('ignores cycles closed only by types: `import type`, `type` specifiers, values used only as types, import() types, `export type`', () => {
    // a imports each of b…f at run time; each of them imports a back in one of the ways that compiles away.
    expect(
      lines({
        'worker/a.ts':
          "import { b } from './b';\nimport { c } from './c';\nimport { d } from './d';\nimport { e } from './e';\nimport { f } from './f';\n" +
          'export type A = { n: number };\nexport const a = () => [b, c, d, e, f];',
        'worker/b.ts': "import type { A } from './a';\nexport const b = (x?: A) => x;",
        'worker/c.ts': "import { type A } from './a';\nexport const c = (x?: A) => x;",
        'worker/d.ts': "import { a } from './a';\nexport const d: typeof a = () => [];",
        'worker/e.ts': "export type E = import('./a').A;\nexport const e = 1;",
        'worker/f.ts': "export type { A } from './a';\nexport const f = 1;",
      }),
    ).toEqual([]);
  });

  it('counts a side-effect import and a re-export as runtime edges', () => {
    expect(
      lines({
        'worker/a.ts': "import './b';\nexport const a = 1;",
        'worker/b.ts': "export { a } from './a';",
      }),
    ).toEqual(['runtime cycle: worker/a.ts → worker/b.ts → worker/a.ts']);
  });

  it('finds a route importing a route, type-only or not, and lets routes import services', () => {
    expect(
      lines({
        'worker/routes/users.ts':
          "import { projectsRoute } from './projects';\nimport type { X } from './auth';\nimport { s } from '../services/s';\nexport const u = [projectsRoute, s] as X[];",
        'worker/routes/projects.ts': 'export const projectsRoute = 1;',
        'worker/routes/auth.ts': 'export type X = unknown;',
        'worker/services/s.ts': 'export const s = 1;',
      }),
    ).toEqual([
      'route imports route: worker/routes/users.ts → worker/routes/projects.ts',
      'route imports route: worker/routes/users.ts → worker/routes/auth.ts (type-only)',
    ]);
  });

  it('lists each cycle of an entangled group once, shortest first, and a self-import', () => {
    expect(
      lines({
        'w/a.ts': "import { b } from './b';\nimport { c } from './c';\nexport const a = () => [b, c];",
        'w/b.ts': "import { a } from './a';\nimport { c } from './c';\nexport const b = () => [a, c];",
        'w/c.ts': "import { a } from './a';\nexport const c = () => a;",
        'w/self.ts': "import { s } from './self';\nexport const s = () => s;",
      }),
    ).toEqual([
      'runtime cycle: w/a.ts → w/b.ts → w/a.ts',
      'runtime cycle: w/a.ts → w/c.ts → w/a.ts',
      'runtime cycle: w/a.ts → w/b.ts → w/c.ts → w/a.ts',
      'runtime cycle: w/self.ts → w/self.ts',
    ]);
  });

  it('resolves specifiers as the bundler does and leaves packages out of the graph', () => {
    const t = tree({
      'worker/x/index.ts': '',
      'worker/y.ts': '',
      'worker/z.ts': "import { Hono } from 'hono';\nimport { y } from './y.js';\nexport const z = [Hono, y];",
    });
    expect(resolveSpecifier(t, 'worker/z.ts', './x')).toBe('worker/x/index.ts');
    expect(resolveSpecifier(t, 'worker/x/index.ts', '../y.ts')).toBe('worker/y.ts');
    expect(resolveSpecifier(t, 'worker/z.ts', 'hono')).toBeUndefined();
    expect(importEdges(t)).toEqual([{ from: 'worker/z.ts', to: 'worker/y.ts', specifier: './y.js', typeOnly: false }]);
  });
});

describe('the repository', () => {
  it('has no route importing a route and no runtime import cycle in worker/ and durable-objects/', () => {
    const root = path.resolve(import.meta.dirname, '..');
    const files = readSourceTree(root, ['worker', 'durable-objects']);
    // Guards against a checker that passes because it read nothing.
    expect(files.size).toBeGreaterThan(50);
    expect(checkImports(files).map(formatViolation).join('\n')).toBe('');
  }, 30_000); // parses every file of worker/ and durable-objects/: 7-10 s on a loaded 2-core machine, past the 5 s default
});
