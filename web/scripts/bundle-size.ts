// Measures what a first visit downloads: the scripts and styles index.html references (plus the
// module preloads Vite adds), raw and gzipped. Run directly (`node web/scripts/bundle-size.ts` on
// Node 22, after `npm run build:web`) it prints the figures; the browser tests' global setup calls
// it and fails when the initial JavaScript passes the budget.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export const INITIAL_JS_BUDGET_GZIP = 60 * 1024;

export type BundleSize = { files: Array<{ file: string; raw: number; gzip: number }>; jsGzip: number; cssGzip: number };

export function measureInitialBundle(dist = path.resolve(import.meta.dirname, '../dist')): BundleSize {
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  const files = [...new Set(refs)].map((ref) => {
    const bytes = readFileSync(path.join(dist, ref));
    return { file: ref, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
  const sum = (ext: string) => files.filter((f) => f.file.endsWith(ext)).reduce((n, f) => n + f.gzip, 0);
  return { files, jsGzip: sum('.js'), cssGzip: sum('.css') };
}

export const formatBundleSize = (s: BundleSize) =>
  [
    ...s.files.map((f) => `  ${f.file}  ${(f.raw / 1024).toFixed(1)} KB raw, ${(f.gzip / 1024).toFixed(1)} KB gzip`),
    `initial JS ${(s.jsGzip / 1024).toFixed(1)} KB gzip (budget ${INITIAL_JS_BUDGET_GZIP / 1024} KB), CSS ${(s.cssGzip / 1024).toFixed(1)} KB gzip`,
  ].join('\n');

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const size = measureInitialBundle();
  console.log(formatBundleSize(size));
  if (size.jsGzip > INITIAL_JS_BUDGET_GZIP) process.exit(1);
}
