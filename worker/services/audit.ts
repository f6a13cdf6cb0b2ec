// One audit row per admin action: who, what, on which target, from where.
import type { Context } from 'hono';
import { auditLogs } from '../db/schema';
import type { CallerEnv } from '../env';
import { clientIp } from '../lib/http';
import { newId } from '../lib/crypto';

export function auditRow(c: Context<CallerEnv>, action: string, targetType: string, targetId: string, details?: Record<string, unknown>) {
  const caller = c.var.caller;
  return c.var.db.insert(auditLogs).values({
    id: newId(),
    organizationId: caller.organizationId,
    userId: caller.kind === 'user' ? caller.userId : null,
    action,
    targetType,
    targetId,
    details: details ?? null,
    ip: clientIp(c),
    createdAt: Date.now(),
  });
}
