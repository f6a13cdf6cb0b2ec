// The agent protocol (worker/contracts/agent.ts): register once, then poll → heartbeat → stream →
// artifacts → complete, every call with the per-agent token. Only the agent holding a job's lease
// may touch that job; for anyone else the job does not exist (404). The queue's Dispatcher hands out
// jobs (poll); from then on the lease is the run's room's (durable-objects/ExecutionRoom.ts), which
// answers heartbeats and checks the lease in the same call that stores the agent's data.
import { and, eq, gt, isNull } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import {
  AgentLogFrame,
  ArtifactPathQuery,
  CompleteBody,
  HeartbeatBody,
  MAX_ARTIFACT_BYTES,
  POLL_WAIT_MS,
  PollBody,
  RegisterBody,
  type Job,
} from '../contracts/agent';
import { agentRegistrationTokens, agents, executions, projectRunSettings } from '../db/schema';
import type { AppEnv, AgentEnv } from '../env';
import { newId, randomToken, sha256Hex } from '../lib/crypto';
import { ApiError, leaseNotHeld, unauthorized } from '../lib/errors';
import { ok, readBody, readQuery, relay } from '../lib/http';
import { requireAgent, wrongSecret } from '../middleware/auth';
import { roomRefused } from '../services/executions';
import { roomOf } from '../bindings';
import { changeStatus, endRun } from '../runs/lifecycle';
import { isFinal } from '../contracts/vocabulary';

import { pollQueue } from '../runs/queue';
import { summarizeResults } from '../services/results';
import { foldRunStatements } from '../services/test-aggregates';
import { runSecretMasker } from '../services/secrets';
import { requireWebSocket } from '../middleware/security';

/**
 * Agents' lastSeenAt (and running jobs) reach D1 at most this often: a poll or heartbeat every few
 * seconds would be a D1 write each. The queue's Dispatcher keeps the live figures of polls (agentsSeen),
 * which the agents list reads; a change of health is written at once (rare, and shown even after a restart).
 */
export const SEEN_WRITE_INTERVAL_MS = 60_000;

/** `healthProblem` (polls only): what the agent says keeps it from running jobs, or null when nothing does. */
async function markSeen(c: Context<AgentEnv>, runningJobs?: number, healthProblem?: string | null) {
  const agent = c.var.agent;
  const now = Date.now();
  const healthChanged = healthProblem !== undefined && healthProblem !== agent.healthProblem;
  if (agent.lastSeenAt && now - agent.lastSeenAt < SEEN_WRITE_INTERVAL_MS && !healthChanged) return;
  const seen = { lastSeenAt: now, ...(runningJobs !== undefined ? { runningJobs } : {}), ...(healthProblem !== undefined ? { healthProblem } : {}) };
  await c.var.db.update(agents).set(seen).where(eq(agents.id, agent.id));
  // The row is the isolate's cached one (services/credentials.ts): the next call compares with what was just written.
  Object.assign(agent, seen);
}

export const agentProtocolRoutes = new Hono<AppEnv>()
  .post('/register', async (c) => {
    const body = await readBody(c, RegisterBody);
    const db = c.var.db;
    const now = Date.now();
    const [token] = await db
      .update(agentRegistrationTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(agentRegistrationTokens.tokenHash, await sha256Hex(body.token)),
          isNull(agentRegistrationTokens.usedAt),
          gt(agentRegistrationTokens.expiresAt, now),
        ),
      )
      .returning();
    if (!token) throw await wrongSecret(c, unauthorized('Registration token is invalid, expired or already used; create a new one in Agents'));
    const agentToken = `agt_${randomToken(48)}`;
    // arch and os are advertised as labels, so jobs can ask for them.
    const labels = { ...body.labels, arch: body.arch, os: body.os };
    const agent = {
      id: newId(),
      organizationId: token.organizationId,
      queue: `org:${token.organizationId}`,
      name: body.name,
      labels,
      arch: body.arch,
      os: body.os,
      version: body.version,
      concurrency: body.concurrency,
      tokenHash: await sha256Hex(agentToken),
      lastSeenAt: now,
      createdAt: now,
    };
    await db.batch([
      db.insert(agents).values(agent),
      db.update(agentRegistrationTokens).set({ agentId: agent.id }).where(eq(agentRegistrationTokens.id, token.id)),
    ]);
    return ok(c, { agentId: agent.id, agentToken, queue: agent.queue, labels }, 201);
  })
  .use(requireAgent)
  .post('/poll', async (c) => {
    const body = await readBody(c, PollBody);
    const agent = c.var.agent;
    await markSeen(c, body.running?.length ?? 0, body.healthProblem ?? null);
    const leased = await pollQueue(
      c.env,
      agent.queue,
      { agentId: agent.id, organizationId: agent.organizationId, labels: agent.labels },
      body.capacity,
      body.waitMs ?? POLL_WAIT_MS,
      body.running,
    );
    if (!leased) return c.body(null, 204);

    const db = c.var.db;
    // The secrets read and the RUNNING bookkeeping are independent: in parallel, the agent is waiting.
    const [[settings]] = await Promise.all([
      leased.environment
        ? db
            .select({ secretVariables: projectRunSettings.secretVariables })
            .from(projectRunSettings)
            .where(and(eq(projectRunSettings.projectId, leased.projectId), eq(projectRunSettings.environment, leased.environment)))
            .limit(1)
        : Promise.resolve([]),
      changeStatus(c.env, leased.taskId, 'RUNNING', {
        from: ['PENDING'],
        patch: { agentId: agent.id, attempt: leased.attempt, reason: null },
        note: `picked up by agent "${agent.name}" (${agent.arch ?? '?'}, attempt ${leased.attempt})`,
      }),
    ]);
    const { organizationId: _org, ...job } = leased;
    // Secrets travel only here: in the answer to the agent that now holds the lease.
    return ok(c, { job: { ...job, secretVars: settings?.secretVariables ?? {} } satisfies Job });
  })
  .post('/jobs/:taskId/heartbeat', async (c) => {
    await readBody(c, HeartbeatBody.optional());
    // The run's room renews the lease: a heartbeat never reaches the queue's Dispatcher.
    const answer = await roomOf(c.env, c.req.param('taskId')).heartbeat(c.var.agent.id);
    await markSeen(c);
    if (!answer) throw leaseNotHeld();
    return ok(c, answer);
  })
  .get('/jobs/:taskId/stream', requireWebSocket, async (c) => {
    const taskId = c.req.param('taskId');
    // The room checks the lease and streams the attempt it holds (404 LEASE_NOT_HELD otherwise).
    const holder = encodeURIComponent(c.var.agent.id);
    return relay(await roomOf(c.env, taskId).fetch(`http://room/agent?role=agent&holder=${holder}`, { headers: { upgrade: 'websocket' } }));
  })
  .post('/jobs/:taskId/logs', async (c) => {
    const frame = await readBody(c, AgentLogFrame);
    const taskId = c.req.param('taskId');
    const { upTo, refused, leaseNotHeld: notHeld } = await roomOf(c.env, taskId).apply({ chunks: frame.chunks, holder: c.var.agent.id, from: 'agent' });
    if (notHeld) throw leaseNotHeld();
    if (refused) throw roomRefused(refused);
    return ok(c, { upTo });
  })
  .put(
    '/jobs/:taskId/artifacts',
    bodyLimit({
      maxSize: MAX_ARTIFACT_BYTES,
      onError: () => {
        throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `An artifact may be at most ${MAX_ARTIFACT_BYTES / 1024 / 1024} MB`);
      },
    }),
    async (c) => {
      const { path } = readQuery(c, ArtifactPathQuery);
      const taskId = c.req.param('taskId');
      if ((await roomOf(c.env, taskId).leaseOf(c.var.agent.id)) === null) throw leaseNotHeld();
      const key = `${c.var.agent.organizationId}/${taskId}/${path}`;
      const object = await c.env.ARTIFACTS.put(key, await c.req.arrayBuffer(), {
        httpMetadata: { contentType: c.req.header('content-type') ?? 'application/octet-stream' },
      });
      return ok(c, { key: path, size: object?.size ?? 0 }, 201);
    },
  )
  .post('/jobs/:taskId/complete', async (c) => {
    const body = await readBody(c, CompleteBody);
    const taskId = c.req.param('taskId');
    const agent = c.var.agent;
    // The lease is released only once the result is stored: if storing fails (D1 unavailable, the
    // control plane restarting), the agent's retry still holds the lease and finishes the run.
    // Every step below is idempotent, so a retry after a partial success changes nothing twice.
    const db = c.var.db;
    // Results are masked here too, whatever the agent did; the room checks the lease as it stores them.
    const masker = await runSecretMasker(db, agent.organizationId, taskId);
    const room = roomOf(c.env, taskId);
    const tests = body.tests.map((t) => masker.maskTestResult(t));
    const { upTo, refused, attempt } = await room.apply({ holder: agent.id, tests, from: 'agent' });
    if (attempt === undefined) {
      // A retry of a complete that went through (its answer came too late for the agent): the same answer again.
      const [row] = await db
        .select({ status: executions.status, agentId: executions.agentId, attempt: executions.attempt, reason: executions.reason })
        .from(executions)
        .where(and(eq(executions.taskId, taskId), eq(executions.organizationId, agent.organizationId)))
        .limit(1);
      if (!row || row.agentId !== agent.id || !(isFinal(row.status) || row.status === 'ANALYZING') || row.reason === 'agent_lost') throw leaseNotHeld();
      const { upTo } = await room.apply({ attempt: row.attempt });
      return ok(c, { taskId, status: row.status, logComplete: body.lastSeq === undefined || upTo >= body.lastSeq });
    }
    if (refused) {
      // The run ended (or was deleted) under a lease still held: nothing of this report is stored; the lease is let go.
      await room.releaseLease(attempt);
      throw roomRefused(refused);
    }
    const notes = [`agent reported ${body.status}${body.message ? `: ${masker.mask(body.message)}` : ''}`];
    if (body.lastSeq !== undefined && upTo < body.lastSeq) notes.push(`log incomplete: stored ${upTo} of ${body.lastSeq} chunks`);

    const summary = summarizeResults(tests);
    // The results stay in the room (archived to R2 at the end); D1 gets them folded into the project's daily aggregates, once.
    await db.batch(foldRunStatements(db, { organizationId: agent.organizationId, taskId }, tests) as unknown as Parameters<typeof db.batch>[0]);
    const row = await endRun(c.env, taskId, body.status, {
      from: ['RUNNING', 'PENDING'],
      patch: {
        exitCode: body.exitCode,
        reason: body.reason ?? (body.status === 'PASSED' || body.status === 'FAILED' ? 'exit' : null),
        durationMs: body.durationMs ?? null,
        ...summary,
      },
      note: notes.join('; '),
    });
    // The room lets the lease go and tells the Dispatcher that granted it.
    await Promise.all([markSeen(c), room.releaseLease(attempt)]);
    return ok(c, { taskId, status: row?.status ?? body.status, logComplete: body.lastSeq === undefined || upTo >= body.lastSeq });
  });
