// Shapes shared by every route: roles, ids, the success envelope.
import { z } from 'zod';

export const RoleSchema = z.enum(['admin', 'developer', 'viewer']);
export const IdParam = z.string().min(1).max(100);
/** Environment names (staging, production, dev, …): short identifiers. */
export const EnvironmentName = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-" only');
/** Variable names as a shell accepts them. */
export const VariableName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');
export const VariableMap = z.record(VariableName, z.string().max(10_000)).refine((m) => Object.keys(m).length <= 200, 'at most 200 variables');
/** Job labels: a flat map, `{ arch: "arm64", pool: "gpu-lab" }`. */
export const LabelMap = z
  .record(
    z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_./-]+$/),
    z.string().max(128),
  )
  .refine((m) => Object.keys(m).length <= 32, 'at most 32 labels');

export type ApiSuccess<T> = { success: true; data: T };
export type ApiFailure = { success: false; error: string; code: string; issues?: unknown };
