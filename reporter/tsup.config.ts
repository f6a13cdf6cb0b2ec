// Builds dist/: ESM + CJS + types for the reporter, and the CLI. The wire types from the control
// plane's contracts are erased (type-only imports), so the output has no runtime dependency.
import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: false,
  splitting: false,
  external: ['@playwright/test'],
  define: { __AGNOX_REPORTER_VERSION__: JSON.stringify(version) },
  // Default export + named export: CJS users get module.exports = the class (Playwright loads reporters either way).
  cjsInterop: true,
});
