// CI triggers with an API key: the same run request as the dashboard's, plus the CI context.
import { Hono } from 'hono';
import { CiTriggerBody } from '../contracts/runs';
import type { AppEnv } from '../env';
import { ok, readBody } from '../lib/http';
import { requireApiKey } from '../middleware/auth';
import { createRun } from '../runs/create';

export const ciRoutes = new Hono<AppEnv>().post('/trigger', requireApiKey, async (c) => {
  const { ciContext, ...body } = await readBody(c, CiTriggerBody);
  const row = await createRun(c.env, c.var.db, c.var.caller, body, { trigger: 'ci', ciContext });
  const url = `${c.env.PUBLIC_URL.replace(/\/$/, '')}/executions/${row.taskId}`;
  return ok(c, { taskId: row.taskId, status: row.status, url }, 201);
});
