// Bundles the agent for plain Node 20+: zod and the shared contracts are inlined; the four runtime
// dependencies stay external (installed with the package).
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { agent: 'src/main-agent.ts', ci: 'src/main-ci.ts' },
  outDir: 'dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  clean: true,
  sourcemap: true,
  splitting: true,
  external: ['dockerode', 'ws', 'fast-xml-parser', 'tar-stream'],
  noExternal: ['zod'],
});
