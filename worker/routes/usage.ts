// What the organization uses against its plan's limits (the dashboard's usage page).
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { ok } from '../lib/http';
import { requireUser } from '../middleware/auth';
import { usageOf } from '../services/plans';

export const usageRoutes = new Hono<AppEnv>().use(requireUser).get('/', async (c) => ok(c, await usageOf(c.var.db, c.var.caller.organizationId)));
