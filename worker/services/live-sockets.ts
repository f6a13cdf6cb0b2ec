// Live sockets whose access ended are closed: a logout closes that session's; a member removed or given
// another role loses all theirs, on every shard of the org's hub and in every run room
// (OrgHub.closeSockets). A dashboard still allowed in reconnects with a new ticket, under its new role.
// And what the hub's shards report of themselves (hubStats).
import { HUB_SHARDS, type HubShardStats, type LiveHolder } from '../contracts/live';
import type { Env } from '../env';
import { hubOf } from '../bindings';

/** Never fails the caller: the session is already revoked or the member changed; a failure is logged. */
export async function closeLiveSockets(env: Env, organizationId: string, holder: LiveHolder, reason: string): Promise<number> {
  try {
    return await hubOf(env, organizationId).closeSockets(organizationId, holder, reason);
  } catch (err) {
    console.warn('live sockets not closed', organizationId, reason, String(err));
    return 0;
  }
}

/** Every shard's counters (only the home when the org is not sharded) and their sums: what a bench or an operator reads. */
export async function hubStats(env: Env, organizationId: string) {
  const { sharded, ...home } = await hubOf(env, organizationId).stats();
  const others = sharded
    ? await Promise.all(Array.from({ length: HUB_SHARDS - 1 }, async (_, i) => ({ shard: i + 1, ...(await hubOf(env, organizationId, i + 1).stats()) })))
    : [];
  const shards: HubShardStats[] = [{ shard: 0, ...home }, ...others.map(({ sharded: _, ...s }) => s)];
  const sum = (k: 'dashboards' | 'sends' | 'sendsPerSecond') => shards.reduce((a, s) => a + s[k], 0);
  return { sharded, dashboards: sum('dashboards'), updatesIn: home.updatesIn, sends: sum('sends'), sendsPerSecond: sum('sendsPerSecond'), shards };
}
