// Hostile-input generators and the response contract for the API fuzz tests (fuzz-api, fuzz-wire).
// Bodies start from the route's own zod schema (as JSON Schema) and are then corrupted node by node;
// paths and query strings get ids and values that break naive code.
import { env, exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { expect } from 'vitest';
import { z } from 'zod';
import { MAX_JSON_BODY_BYTES } from '../../worker/app';

type Schema = Record<string, any>;

/** One seed per run (FUZZ_SEED=… replays one), printed so a failure can be reproduced. */
export function fuzzSeed(): number {
  const given = Number(env.FUZZ_SEED);
  const seed = Number.isInteger(given) && given !== 0 ? given : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  console.log(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  return seed;
}

/** FUZZ_RUNS: how many times the default case counts a run does (1 in CI). */
export const scale = () => Math.max(1, Math.floor(Number(env.FUZZ_RUNS)) || 1);

/** Cases that run whatever the clock says: on a loaded machine the budget can pass before the first case ends. */
const MIN_CASES = 2;

/**
 * Checks `property` on `numRuns` cases within about `budgetMs` (the file's share of the CI budget),
 * but always on at least MIN_CASES; FUZZ_RUNS=<k> runs k times as many cases with no time cap.
 */
export async function fuzzAssert<Ts extends unknown[]>(property: fc.IAsyncProperty<Ts>, numRuns: number, budgetMs: number, seed: number) {
  if (scale() > 1) return fc.assert(property, { seed, numRuns: numRuns * scale(), endOnFailure: true });
  await fc.assert(property, { seed, numRuns: Math.min(MIN_CASES, numRuns), endOnFailure: true });
  if (numRuns <= MIN_CASES) return;
  const out = await fc.check(property, {
    seed: seed + 1,
    numRuns: numRuns - MIN_CASES,
    endOnFailure: true,
    interruptAfterTimeLimit: budgetMs,
    markInterruptAsFailure: false,
  });
  // Stopped by the budget is not a failure (fast-check counts it as one when no case finished in time).
  if (out.failed && !(out.interrupted && out.counterexample === null)) throw new Error(fc.defaultReportMessage(out));
}

/** The vitest timeout of a fuzz test: the project's 20 s, or 10 minutes for a FUZZ_RUNS run. */
export const fuzzTimeout = () => (scale() > 1 ? 600_000 : 20_000);

export const jsonSchemaOf = (schema: z.ZodType): Schema => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;

// ── strings ──────────────────────────────────────────────────────────────────────────────────
/** Code units and sequences that break naive code: NUL, lone surrogates, bidi overrides, BOM, line separators, emoji, quotes, SQL/LIKE and path characters. */
const NASTY_UNITS = [
  '\u0000',
  '\ud800',
  '\udfff',
  '\u202e',
  '\u200f',
  '\ufeff',
  '\u2028',
  '\u0085',
  '😀',
  '👩‍👩‍👧',
  'é',
  'e\u0301',
  '\uffff',
  "'",
  '"',
  '\\',
  '%',
  '_',
  '`',
  '<',
  '&',
  '\n',
  '\r',
  '\t',
  '/',
  '..',
  '*',
  '?',
  '#',
  ';',
  '--',
];
const nastyUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_UNITS) },
);
export const nastyString = (minLength = 0, maxLength = 40) => fc.string({ unit: nastyUnit, minLength, maxLength });

/** Strings with a meaning somewhere else: numbers that are not, SQL, paths, templates, prototype keys. */
export const SPECIAL_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udc00x',
  '\u202egnp.exe',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '0x1F',
  '9007199254740993',
  '1.5',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  "' OR '1'='1",
  "1'); DROP TABLE users; --",
  '%',
  '%%',
  '_',
  '\\',
  '%00',
  '%ZZ',
  '../../../etc/passwd',
  '..',
  '/',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as a literal string
  '${7*7}',
  '{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'a'.repeat(10_001),
  '😀'.repeat(600),
  'ä'.repeat(3000),
];

// ── values ───────────────────────────────────────────────────────────────────────────────────
/** An object with its own enumerable `__proto__` (what JSON.parse makes of `{"__proto__": …}`). */
export function withOwnKey(target: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/**
 * JSON text that JSON.stringify cannot write (NaN, 1e999, 10 000 levels of nesting): a value holds a
 * placeholder string, and toJsonText() puts the raw text in its place.
 */
const rawTexts: string[] = [];
const rawIndex = new Map<string, number>();
export function raw(text: string): string {
  if (!rawIndex.has(text)) rawIndex.set(text, rawTexts.push(text) - 1);
  return `\u0001raw:${rawIndex.get(text)}\u0001`;
}
export const toJsonText = (value: unknown) => JSON.stringify(value).replace(/"\\u0001raw:(\d+)\\u0001"/g, (_, i: string) => rawTexts[Number(i)]!);

const deepArray = (depth: number) => raw('['.repeat(depth) + ']'.repeat(depth));
const deepObject = (depth: number) => raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
/** encodeURIComponent throws on lone surrogates; a URL carries their replacement character instead. */
export const encodeSegment = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    -0,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 2,
    Number.MIN_VALUE,
    -(2 ** 31),
    2 ** 31,
    2 ** 64,
    {},
    [],
    [[]],
    [null],
    { a: 1 },
  ),
  fc.constantFrom(...SPECIAL_STRINGS),
  nastyString(0, 200),
  fc.constantFrom(10, 1000, 10_000).map(deepArray),
  fc.constantFrom(10, 1000, 10_000).map(deepObject),
  fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '-0', '0x10', '01', '1.', '.5', '+1', 'undefined').map(raw),
  fc.constant(null).map(() => withOwnKey({}, '__proto__', { polluted: 'yes', isAdmin: true })),
  fc.constant(null).map(() => withOwnKey(withOwnKey({}, 'constructor', { prototype: { polluted: 'yes' } }), 'prototype', { polluted: 'yes' })),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Values just outside (or on) what the schema node allows: the off-by-one cases. */
function boundaryValues(s: Schema): unknown[] {
  const out: unknown[] = [];
  if (s.type === 'integer' || s.type === 'number') {
    if (typeof s.minimum === 'number') out.push(s.minimum - 1, s.minimum - 0.5, s.minimum);
    if (typeof s.exclusiveMinimum === 'number') out.push(s.exclusiveMinimum);
    if (typeof s.maximum === 'number') out.push(s.maximum + 1, s.maximum + 0.5, s.maximum);
    out.push(String(s.minimum ?? 1), 1e21);
  }
  if (s.type === 'string') {
    if (typeof s.maxLength === 'number' && s.maxLength <= 300_000) out.push('x'.repeat(s.maxLength + 1), '😀'.repeat(Math.ceil((s.maxLength + 1) / 2)));
    if (typeof s.minLength === 'number' && s.minLength > 0) out.push('x'.repeat(s.minLength - 1));
    if (Array.isArray(s.enum)) out.push(...s.enum.map((v: unknown) => (typeof v === 'string' ? `${v.toUpperCase()} ` : v)));
    out.push(42);
  }
  if (s.type === 'array') {
    if (typeof s.maxItems === 'number' && s.maxItems <= 10_000) out.push(Array.from({ length: s.maxItems + 1 }, () => 'x'));
    if (typeof s.minItems === 'number' && s.minItems > 0) out.push([]);
  }
  return out;
}

// ── schema → arbitrary ──────────────────────────────────────────────────────────────────────
export type Overrides = Record<string, fc.Arbitrary<unknown>>;

const INT32 = 2 ** 31 - 1;
function integerIn(min = -1e6, max = 1e9): fc.Arbitrary<number> {
  if (min >= -INT32 && max <= INT32) return fc.integer({ min, max });
  return fc.oneof(fc.constantFrom(min, max), fc.integer({ min: Math.max(min, -INT32), max: Math.min(max, INT32) }));
}

function stringArb(s: Schema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 60, min + 60);
  const fits = (v: string) => v.length >= min && v.length <= (s.maxLength ?? Infinity);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  if (s.format === 'email') return fc.emailAddress().filter(fits);
  if (s.format === 'uri')
    return fc.oneof(fc.webUrl(), fc.constantFrom('https://hooks.slack.com/services/T0/B0/x', 'javascript:alert(1)', 'http://[::1]:80/', 'http://127.0.0.1/'));
  if (typeof s.pattern === 'string') {
    return fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(new RegExp(s.pattern), { size: 'small' }).filter(fits) },
      { weight: 1, arbitrary: nastyString(min, max) },
    );
  }
  return nastyString(min, max).map((v) => v.slice(0, s.maxLength ?? v.length));
}

/** Own-keyed record (so `__proto__` and friends become real keys, as JSON.parse would make them). */
function recordArb(keys: fc.Arbitrary<string>, values: fc.Arbitrary<unknown>) {
  return fc.array(fc.tuple(keys, values), { maxLength: 4 }).map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) withOwnKey(o, k, v);
    return o;
  });
}

const PROTO_KEYS = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__');

/**
 * Mostly-valid values for a JSON Schema node, with every node sometimes replaced by a hostile or
 * boundary value, required keys sometimes dropped and foreign keys (prototype ones too) added.
 * `overrides` gives valid values by property name (real ids, a valid CRON…), so generated bodies get
 * past validation into the handler.
 */
export function fromSchema(s: Schema, overrides: Overrides = {}, depth = 0): fc.Arbitrary<unknown> {
  const valid = validArb(s, overrides, depth);
  const boundary = boundaryValues(s);
  return fc.oneof(
    { weight: 24, arbitrary: valid },
    { weight: 1, arbitrary: hostileValue },
    ...(boundary.length ? [{ weight: 1, arbitrary: fc.constantFrom(...boundary) }] : []),
  );
}

function validArb(s: Schema, overrides: Overrides, depth: number): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constant(null);
  const sub = (x: Schema) => fromSchema(x, overrides, depth + 1);
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return fc.oneof(...(s.anyOf ?? s.oneOf).map(sub));
  if (Array.isArray(s.allOf)) return sub(Object.assign({}, ...s.allOf));
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerIn(s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined), s.maximum);
    case 'number':
      return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true });
    case 'string':
      return stringArb(s);
    case 'array': {
      const minLength = s.minItems ?? 0;
      const some = fc.array(sub(s.items ?? {}), { minLength, maxLength: Math.min(s.maxItems ?? 4, minLength + 3) });
      // Exactly as many items as allowed (one repeated): where per-statement limits (D1's 100 bound parameters) bite.
      // Items too big to repeat that often are left out (the body would only be a 413, after a long serialisation).
      const max = s.maxItems;
      if (typeof max !== 'number' || max > 1000 || max <= minLength + 3) return some;
      const full = sub(s.items ?? {})
        .filter((item) => toJsonText(item ?? null).length * max <= MAX_JSON_BODY_BYTES)
        .map((item) => Array.from({ length: max }, () => item));
      return fc.oneof({ weight: 4, arbitrary: some }, { weight: 1, arbitrary: full });
    }
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, p] of Object.entries<Schema>(s.properties ?? {})) {
        props[name] = Object.hasOwn(overrides, name) ? fc.oneof({ weight: 3, arbitrary: overrides[name]! }, { weight: 1, arbitrary: sub(p) }) : sub(p);
      }
      const required: string[] = s.required ?? [];
      const base = Object.keys(props).length
        ? fc.oneof(
            { weight: 10, arbitrary: fc.record(props, { requiredKeys: required }) },
            { weight: 1, arbitrary: fc.record(props, { requiredKeys: [] }) }, // required keys dropped
          )
        : fc.constant({});
      const records =
        s.additionalProperties && typeof s.additionalProperties === 'object'
          ? recordArb(
              fc.oneof({ weight: 4, arbitrary: s.propertyNames ? stringArb(s.propertyNames) : nastyString(1, 20) }, { weight: 1, arbitrary: PROTO_KEYS }),
              sub(s.additionalProperties),
            )
          : fc.constant({});
      const extra = fc.oneof(
        { weight: 8, arbitrary: fc.constant({}) },
        { weight: 1, arbitrary: recordArb(fc.oneof(PROTO_KEYS, nastyString(1, 12)), hostileValue) },
      );
      return fc.tuple(base, records, extra).map(([b, r, e]) => {
        const o = { ...(b as object) } as Record<string, unknown>;
        for (const [k, v] of [...Object.entries(r), ...Object.entries(e)]) withOwnKey(o, k, v);
        return o;
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ── body text ───────────────────────────────────────────────────────────────────────────────
/** Edits of valid JSON text that JSON.stringify cannot produce. */
const textCorruption: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.nat().map((n) => (t: string) => t.slice(0, t.length ? n % t.length : 0)), // truncated
  fc
    .constantFrom('NaN', 'Infinity', '-Infinity', '1e999', '-0', '0x10', '01', '1.', '.5', '+1')
    .map((tok) => (t: string) => (/-?\d+(\.\d+)?/.test(t) ? t.replace(/-?\d+(\.\d+)?/, tok) : `${tok}`)),
  fc.constantFrom(',', ']', '}', ' x', '\u0000', '//c', '/*c*/').map((tail) => (t: string) => t + tail),
  fc.constant((t: string) => `\ufeff${t}`), // BOM
  fc.constant((t: string) =>
    t.startsWith('{') && t.length > 2 ? `{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},${t.slice(1)}` : t,
  ),
  fc.constant((t: string) => t.replace(/"([^"\\]+)":/, '"$1":"dup","$1":')), // duplicate key
  fc.constant((t: string) => t.replace(/"/g, "'")),
);

/** Bodies that are not a JSON document of the right shape at all. */
export const garbageText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\n',
    'null',
    '0',
    '-1',
    'true',
    '"x"',
    '[]',
    '[{}]',
    '{',
    '}',
    '{"a":',
    '[1,2',
    'undefined',
    'NaN',
    '{a:1}',
    "{'a':1}",
    'a=1&b=2',
    '<?xml version="1.0"?><a/>',
    '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
    '\u0000\u0001\u0002',
  ),
  fc.constantFrom(10_000, 100_000).map((d) => '['.repeat(d) + ']'.repeat(d)), // deep nesting
  fc.constantFrom(10_000, 200_000).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  fc.constant('['.repeat(50_000)), // unbalanced
  nastyString(0, 100),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'application/octet-stream',
  'application/jsonx',
  '*/*',
  '',
];

export type Body = { text: string; contentType?: string };

/** `value` as JSON text of `bytes` UTF-8 bytes, padded with an extra (unknown) field; other values as they are. */
function padded(value: unknown, bytes: number): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return toJsonText(value ?? null);
  const base = new TextEncoder().encode(toJsonText({ ...value, zzPad: '' })).length;
  return toJsonText({ ...value, zzPad: 'x'.repeat(Math.max(0, bytes - base)) });
}

/** A request body: the schema's value (often corrupted), a text-level corruption of it, garbage, or a value padded to the 1 MB limit (just under, at, just over); mostly as application/json. */
export function bodyArb(schema: Schema | undefined, overrides: Overrides = {}): fc.Arbitrary<Body> {
  const value = schema ? fromSchema(schema, overrides) : fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }));
  const text = fc.oneof(
    { weight: 40, arbitrary: value.map((v) => (v === undefined ? '' : toJsonText(v))) },
    {
      weight: 1,
      arbitrary: fc.tuple(value, fc.constantFrom(MAX_JSON_BODY_BYTES - 64, MAX_JSON_BODY_BYTES, MAX_JSON_BODY_BYTES + 1)).map(([v, bytes]) => padded(v, bytes)),
    },
    { weight: 7, arbitrary: fc.tuple(value, textCorruption).map(([v, f]) => f(toJsonText(v ?? {}))) },
    { weight: 10, arbitrary: garbageText },
  );
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
  );
  return fc.record({ text, contentType });
}

/** A body of exactly `bytes` UTF-8 bytes that is valid JSON: `{"<field>":"xxxx…"}`. */
export function jsonOfSize(bytes: number, field = 'name'): string {
  const frame = JSON.stringify({ [field]: '' });
  return JSON.stringify({ [field]: 'x'.repeat(bytes - frame.length) });
}

// ── paths and query strings ─────────────────────────────────────────────────────────────────
/** A path segment, already in URL form: raw percent-escapes that decode to slashes, NUL, dots or nothing valid, SQL, unicode, very long ids. */
export const segmentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nastyString(1, 40).map(encodeSegment) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_STRINGS.filter((s) => s.length > 0 && s !== '/' && s !== '..' && s.length < 5000)).map(encodeSegment) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'a%2Fb',
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      '%2E%2E%2F',
      '%00',
      '%ZZ',
      '%E0%A4%A',
      '%C0%AF',
      '%ED%A0%80',
      '%FF%FE',
      '%25',
      '%2525ZZ',
      '%',
      'a%',
      '%u0041',
      '%0A%0D',
      '%20',
      '%7B%7D',
      '%22%27',
      '%3Cscript%3E',
      '%F0%9F%98%80',
      '%E2%80%AE',
      ';x=1',
      '1%3B%20DROP%20TABLE%20users',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(100, 101, 1000, 8000, 64_000).map((n) => 'a'.repeat(n)) },
  { weight: 1, arbitrary: fc.uuid() },
);

const QUERY_COMMON = [
  'limit',
  'cursor',
  'days',
  'projectId',
  'since',
  'ticket',
  'token',
  'path',
  'sessionId',
  'testId',
  'retry',
  'name',
  'status',
  'source',
  'q',
];

/** A query string for `keys` (the op's documented parameters) plus repeated, unknown, prototype and huge keys. */
export function queryArb(keys: string[], values: Record<string, fc.Arbitrary<string>> = {}): fc.Arbitrary<string> {
  const allKeys = [...new Set([...keys, ...QUERY_COMMON])];
  const key = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(keys.length ? keys : allKeys)) },
    { weight: 2, arbitrary: fc.constantFrom(...allKeys) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype[polluted]', '__proto__[polluted]', 'a[]', 'toString', '', '%ZZ', '%00') },
    { weight: 1, arbitrary: nastyString(1, 10).map(encodeSegment) },
  );
  const value = (k: string) =>
    fc.oneof(
      { weight: 4, arbitrary: Object.hasOwn(values, k) ? values[k]! : fc.constantFrom('1', '0', '50', 'true') },
      {
        weight: 3,
        arbitrary: fc
          .constantFrom(...SPECIAL_STRINGS.filter((s) => s.length < 5000), '-1', '1e3', '999999999999', '2.5', 'PASSED,FAILED', 'passed,NOPE')
          .map(encodeSegment),
      },
      { weight: 2, arbitrary: nastyString(0, 30).map(encodeSegment) },
      { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%', '%00', '%E0%A4%A', 'a+b', '==', '&&') },
      { weight: 1, arbitrary: fc.constantFrom(2000, 20_000, 100_000).map((n) => 'z'.repeat(n)) },
    );
  const pair = key.chain((k) => value(k).map((v) => (k === '' && v === '' ? '' : `${k}=${v}`)));
  // Every documented key with a valid value, sometimes with one hostile pair after: gets past validation.
  const known = keys.filter((k) => Object.hasOwn(values, k));
  const validPairs = known.length ? fc.tuple(...known.map((k) => values[k]!.map((v) => `${k}=${v}`))) : fc.constant([] as string[]);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant('') },
    {
      weight: 4,
      arbitrary: fc.tuple(validPairs, fc.option(pair, { freq: 3 })).map(([ps, extra]) => `?${[...ps, ...(extra === null ? [] : [extra])].join('&')}`),
    },
    { weight: 3, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((pairs) => `?${pairs.join('&')}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '?',
        '?&',
        '?=',
        '?&&&=&',
        '?#x',
        '??a=1',
        `?${'a=1&'.repeat(2000)}`,
        `?${keys
          .concat('limit')
          .map((k) => `${k}=1&`.repeat(300))
          .join('')}`,
      ),
    },
  );
}

// ── calling the Worker and checking the answer ──────────────────────────────────────────────
export const REQUEST_TIMEOUT_MS = 10_000;

export type Sent = { method: string; url: string; headers: Record<string, string>; body?: string | Uint8Array | ReadableStream };
export type Answer = { status: number; text: string; contentType: string };

let ip = 0;
/** Calls the Worker (or `fetcher`) and reads the whole answer; a request that takes longer than REQUEST_TIMEOUT_MS is a hang. */
export async function send(req: Sent, fetcher: (r: Request) => Response | Promise<Response> = (r) => exports.default.fetch(r)): Promise<Answer> {
  const headers = { 'cf-connecting-ip': `10.9.${(ip >> 8) & 255}.${ip++ & 255}`, ...req.headers };
  const request = new Request(`http://agnox.test${req.url}`, {
    method: req.method,
    headers,
    body: req.body,
    ...(req.body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${req.method} ${req.url.slice(0, 200)} took over ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      hang,
      (async () => {
        const res = await fetcher(request);
        if (res.status === 101) {
          res.webSocket?.accept();
          res.webSocket?.close(1000, 'fuzz');
          return { status: 101, text: '', contentType: '' };
        }
        return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') ?? '' };
      })(),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Internals that must never reach a client: driver and engine errors, JS error names, stack frames. */
const LEAKS =
  /D1_|SQLITE|no such (table|column)|TypeError|ReferenceError|RangeError|SyntaxError|URIError|Cannot read propert|is not a function|is not defined|Maximum call stack|\bat [\w.<>]+ \(|\n\s+at |\.ts:\d+|node_modules|workerd|Internal server error/;

/** Which 5xx answers (status and code) a route gives on purpose, documented. */
export type Allowed = (status: number, code: string | undefined) => boolean;

/** The contract every answer to hostile input keeps: no 5xx, a JSON error envelope for every 4xx, no internals. */
export function expectSafe(answer: Answer, label: string, allowed: Allowed = () => false) {
  const where = `${label} → ${answer.status} ${answer.text.slice(0, 300)}`;
  let json: any;
  if (answer.contentType.includes('application/json')) {
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new Error(`answer is not JSON: ${where}`);
    }
  }
  if (answer.status >= 500 && !allowed(answer.status, json?.code)) throw new Error(`server error: ${where}`);
  if (answer.status >= 400) {
    expect(json, `error without a JSON envelope: ${where}`).toBeTypeOf('object');
    expect(json.success, where).toBe(false);
    expect(typeof json.error === 'string' && json.error.length > 0, `error message: ${where}`).toBe(true);
    expect(json.code, `error code: ${where}`).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  } else if (json !== undefined && answer.status !== 204) {
    expect(json.success, where).toBe(true);
  }
  expect(LEAKS.test(answer.text), `internal detail in the answer: ${where}`).toBe(false);
}

/** Object.prototype and friends as they are now, to check later that no input polluted them. */
export function prototypeSnapshot() {
  const names = (o: object) => Object.getOwnPropertyNames(o).sort().join(',');
  return { object: names(Object.prototype), array: names(Array.prototype), fn: names(Function.prototype), string: names(String.prototype) };
}

export function expectNoPollution(before: ReturnType<typeof prototypeSnapshot>) {
  expect(prototypeSnapshot()).toEqual(before);
  const probe = {} as Record<string, unknown>;
  for (const key of ['polluted', 'isAdmin', 'role', 'organizationId']) expect(probe[key], key).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
}
