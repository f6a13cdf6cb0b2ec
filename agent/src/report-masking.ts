// Secrets out of report files before they are uploaded: every text file (HTML, JSON, XML, TXT, CSV, MD,
// JS, CSS, LOG, SVG, …) is masked; binary files (images, videos, archives) are uploaded byte for byte.
import path from 'node:path';
import type { SecretMasker } from '../../worker/lib/secret-masker';
import type { ReportFile } from './reports';

/** Never touched: a replacement inside them would corrupt them, and their secrets are not plain text. */
const BINARY = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.gif',
  '.webp',
  '.bmp',
  '.ico',
  '.avif',
  '.webm',
  '.mp4',
  '.mov',
  '.zip',
  '.gz',
  '.tgz',
  '.br',
  '.zst',
  '.tar',
  '.7z',
  '.pdf',
  '.woff',
  '.woff2',
  '.ttf',
  '.otf',
  '.wasm',
]);
const TEXT = new Set([
  '.html',
  '.htm',
  '.json',
  '.xml',
  '.txt',
  '.log',
  '.csv',
  '.tsv',
  '.md',
  '.js',
  '.mjs',
  '.cjs',
  '.css',
  '.svg',
  '.yml',
  '.yaml',
  '.ts',
  '.jsonl',
  '.ndjson',
  '.har',
]);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file with its secrets masked; the same object when it is binary or holds none. */
export function maskReportFile(file: ReportFile, masker: SecretMasker): ReportFile {
  if (masker.empty) return file;
  const ext = path.extname(file.path).toLowerCase();
  if (BINARY.has(ext)) return file;
  let text: string | null = null;
  let encoding: 'utf8' | 'latin1' = 'utf8';
  // Text is what decodes as UTF-8 without NULs, whatever its name (a report may have none).
  if (!file.bytes.includes(0)) {
    try {
      text = strictUtf8.decode(file.bytes);
    } catch {
      /* not UTF-8 */
    }
  }
  // A text file in another encoding: Latin-1 maps each byte to one character and back, so the bytes
  // around a masked (ASCII) secret are kept exactly.
  if (text === null && TEXT.has(ext)) {
    text = file.bytes.toString('latin1');
    encoding = 'latin1';
  }
  if (text === null) return file;
  const masked = masker.mask(text);
  return masked === text ? file : { ...file, bytes: Buffer.from(masked, encoding) };
}
