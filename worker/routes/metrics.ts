// GET /api/metrics/:image (seed 000): performance of one Docker image's runs — pass rate, duration
// percentiles per day, recent runs. The image is one URL-encoded path segment (`/` as %2F).
import { Hono } from 'hono';
import { z } from 'zod';
import { InsightWindowQuery } from '../contracts/insights';
import type { AppEnv } from '../env';
import { ok, parse, readQuery } from '../lib/http';
import { requireUser } from '../middleware/auth';
import { imageMetrics } from '../services/insights';

const ImageParam = z.string().trim().min(1).max(500);

export const metricRoutes = new Hono<AppEnv>().use(requireUser).get('/:image', async (c) => {
  const image = parse(ImageParam, c.req.param('image'), 'image');
  const { days } = readQuery(c, InsightWindowQuery);
  return ok(c, await imageMetrics(c.env, c.var.caller.organizationId, image, days));
});
