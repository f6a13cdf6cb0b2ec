// The Worker's bindings (wrangler.toml) and the per-request variables middleware puts on the Hono context.
import type { Db } from './bindings';
import type { agents, Role } from './db/schema';

export interface Env {
  DB: D1Database;
  EXECUTION_ROOM: DurableObjectNamespace<import('../durable-objects/ExecutionRoom').ExecutionRoom>;
  DISPATCHER: DurableObjectNamespace<import('../durable-objects/Dispatcher').Dispatcher>;
  ORG_HUB: DurableObjectNamespace<import('../durable-objects/OrgHub').OrgHub>;
  SCHEDULE_STARTER: DurableObjectNamespace<import('../durable-objects/ScheduleStarter').ScheduleStarter>;
  ARTIFACTS: R2Bucket;
  ASSETS: Fetcher;
  LOGIN_IP_LIMITER: RateLimit;
  ORG_API_LIMITER: RateLimit;
  INGEST_LIMITER: RateLimit;
  /** Wrong API keys and agent, registration and invitation tokens, per client address. */
  AUTH_FAILURE_LIMITER: RateLimit;
  SIGNUP_IP_LIMITER: RateLimit;
  ENVIRONMENT: string;
  /** "true": log one line per D1 statement (`d1-statement <verb> <table>`), for `npm run bench:storage`. */
  D1_STATEMENT_LOG?: string;
  CORS_ORIGINS: string;
  PUBLIC_URL: string;
  JWT_SECRET?: string;
  /** Cap on one run's stored log, in bytes. */
  LOG_MAX_BYTES?: string;
  /** Hours without an event after which a RUNNING external-CI run is cancelled as an orphan. */
  INGEST_ORPHAN_HOURS?: string;
  /** Expired runs the retention cron deletes per tick (default 200, at most 1,000). */
  RETENTION_BATCH_RUNS?: string;
  /** Gemini (AI root-cause analysis): a Worker secret; without it the feature is off. */
  GEMINI_API_KEY?: string;
  /** Gemini model name (default in worker/services/gemini.ts). */
  GEMINI_MODEL?: string;
  /** Base URL of the Gemini API, for proxies and tests; empty means Google's. */
  GEMINI_BASE_URL?: string;
  /** AI analysis bounds: per-call timeout (ms), one analysis per org per interval (s), input cap (tokens). */
  ANALYSIS_TIMEOUT_MS?: string;
  ANALYSIS_ORG_INTERVAL_SECONDS?: string;
  ANALYSIS_MAX_INPUT_TOKENS?: string;
  /** Tests only: replaces the https://hooks.slack.com origin when delivering to a Slack webhook (a local fake). */
  SLACK_WEBHOOK_ORIGIN?: string;
  /** Sender of the product's emails (invitations), e.g. "Agnox <no-reply@example.com>". */
  EMAIL_FROM?: string;
  /** SendGrid API key (a Worker secret); without it emails go to the development outbox (email_outbox, shown to admins). */
  SENDGRID_API_KEY?: string;
  /** Base URL of the SendGrid API, for proxies and tests; empty means https://api.sendgrid.com. */
  SENDGRID_BASE_URL?: string;
  /** Stripe webhook endpoint secret (whsec_…, a Worker secret); without it /api/webhooks/stripe answers 503. */
  STRIPE_WEBHOOK_SECRET?: string;
  /** Stripe secret API key (sk_…, a Worker secret): creates Checkout sessions; without it /api/billing/checkout answers 503. */
  STRIPE_SECRET_KEY?: string;
  /** The Stripe price of each paid plan: "team=price_…,enterprise=price_…". */
  STRIPE_PRICES?: string;
  /** Base URL of the Stripe API, for proxies and tests; empty means https://api.stripe.com. */
  STRIPE_API_BASE_URL?: string;
}

/** Who is calling. A JWT resolves to a user; an `x-api-key` resolves to the org with developer rights. */
export type Caller =
  | { kind: 'user'; userId: string; organizationId: string; role: Role; jti: string; exp: number }
  | { kind: 'apiKey'; apiKeyId: string; organizationId: string; role: Role };

/** Every request: the bindings, and D1 (set once, for every path, in app.ts). */
export type AppEnv = { Bindings: Env; Variables: { db: Db } };
/** After requireUser, requireApiKey, requireUserOrApiKey or requireIngestKey: who is calling. Only then does `c.var.caller` exist. */
export type CallerEnv = { Bindings: Env; Variables: { db: Db; caller: Caller } };
/** After requireAgent: the calling agent's row. */
export type AgentEnv = { Bindings: Env; Variables: { db: Db; agent: typeof agents.$inferSelect } };

const DEV_JWT_SECRET = 'agnox-development-secret-do-not-use-in-production';

/** The JWT secret: required outside development, so a deploy without it fails closed. */
export function jwtSecret(env: Env): Uint8Array {
  const secret = env.JWT_SECRET ?? (env.ENVIRONMENT === 'development' ? DEV_JWT_SECRET : undefined);
  if (!secret || secret.length < 32) throw new Error('JWT_SECRET is not configured (at least 32 characters)');
  return new TextEncoder().encode(secret);
}

const isLocalHost = (hostname: string) =>
  hostname === 'localhost' || hostname.endsWith('.localhost') || /^127\./.test(hostname) || hostname === '[::1]' || hostname === '0.0.0.0';

function localOrInvalid(url: string): boolean {
  try {
    return isLocalHost(new URL(url).hostname);
  } catch {
    return true;
  }
}

/**
 * Why a production deployment must not serve, or null. wrangler.toml's defaults point at localhost for
 * local runs; a deploy that kept them would put localhost in invitation links and trust local pages
 * with the session cookie. CORS_ORIGINS may be empty (the dashboard is same-origin) but must be set.
 */
export function productionMisconfiguration(env: Env): string | null {
  if (env.ENVIRONMENT !== 'production') return null;
  if (!env.PUBLIC_URL?.trim()) return 'PUBLIC_URL is not set: set it to the public URL of this control plane (wrangler.toml [vars])';
  if (localOrInvalid(env.PUBLIC_URL))
    return `PUBLIC_URL is ${env.PUBLIC_URL}, a local or invalid URL: set it to the public URL of this control plane (wrangler.toml [vars])`;
  if (env.CORS_ORIGINS === undefined)
    return 'CORS_ORIGINS is not set: list the origins allowed to call the API from a browser, comma-separated, or set it empty (wrangler.toml [vars])';
  const local = env.CORS_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter((o) => o && localOrInvalid(o));
  if (local.length) return `CORS_ORIGINS includes ${local.join(', ')}, local or invalid: list only public origins, or set it empty (wrangler.toml [vars])`;
  return null;
}
