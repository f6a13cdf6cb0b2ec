// Asking for runs and reading them back.
import { z } from 'zod';
import { EnvironmentName, LabelMap, VariableMap } from './common';
import { CiContext as IngestCiContext } from './ingest';
import { DockerImage, TimeoutSeconds } from './projects';
import { PullPolicy, RunStatus } from './vocabulary';

export const RunRequestBody = z.object({
  projectId: z.string().min(1).max(100),
  environment: EnvironmentName.optional(),
  image: DockerImage.optional(),
  command: z.string().min(1).max(2000).optional(),
  tests: z.array(z.string().min(1).max(500)).max(500).optional(),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .optional(),
  envVars: VariableMap.optional(),
  labels: LabelMap.optional(),
  /** `org` (default): the org's own agents; `hosted`: the platform's fleet. */
  queue: z.enum(['org', 'hosted']).default('org'),
  pullPolicy: PullPolicy.optional(),
  timeoutSeconds: TimeoutSeconds.optional(),
});
export type RunRequestBody = z.input<typeof RunRequestBody>;

/** The CI context of a triggered run: the reporter's shape (contracts/ingest.ts), with any provider name (CI tools vary). */
export const CiContext = IngestCiContext.extend({ source: z.string().max(40).optional(), actor: z.string().max(200).optional() });
export const CiTriggerBody = RunRequestBody.extend({ ciContext: CiContext.optional() });

const StatusName = RunStatus;

export const ExecutionListQuery = z.object({
  /** One status or several, comma-separated. */
  status: z
    .string()
    .max(200)
    .optional()
    .transform((s, ctx) => {
      if (!s) return undefined;
      const parsed = z.array(StatusName).safeParse(s.split(',').map((x) => x.trim().toUpperCase()));
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `status must be among ${StatusName.options.join(', ')}` });
        return z.NEVER;
      }
      return parsed.data;
    }),
  source: z.enum(['agnox-hosted', 'external-ci']).optional(),
  projectId: z.string().max(100).optional(),
  environment: z.string().max(40).optional(),
  /** Text in the run's name, branch or commit (case-insensitive); empty means no search. */
  q: z.string().trim().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export const LogsQuery = z.object({
  since: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(20_000).default(5000),
});

export const BulkBody = z.object({
  action: z.enum(['cancel', 'delete']),
  taskIds: z.array(z.string().min(1).max(100)).min(1).max(100),
});

export const LiveQuery = z.object({ ticket: z.string().max(2000).optional(), since: z.coerce.number().int().min(0).default(0) });
