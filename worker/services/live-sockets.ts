// Live sockets whose access ended are closed: a logout closes that session's; a member removed or given
// another role loses all theirs, in the org's hub and in every run room (OrgHub.closeSockets). A
// dashboard still allowed in reconnects with a new ticket, under its new role.
import type { LiveHolder } from '../contracts/live';
import type { Env } from '../env';
import { hubOf } from '../bindings';

/** Never fails the caller: the session is already revoked or the member changed; a failure is logged. */
export async function closeLiveSockets(env: Env, organizationId: string, holder: LiveHolder, reason: string): Promise<number> {
  try {
    return await hubOf(env, organizationId).closeSockets(holder, reason);
  } catch (err) {
    console.warn('live sockets not closed', organizationId, reason, String(err));
    return 0;
  }
}
