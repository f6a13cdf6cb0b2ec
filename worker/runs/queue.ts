// The queue side of a run: which Dispatcher holds its job, and which ones an agent asks for work.
//
// An org's queue (`org:<id>`) is one Dispatcher: its agents are the org's own machines, so its load
// grows with one customer's fleet, and a claim costs index seeks, not a scan (durable-objects/Dispatcher.ts).
// The hosted queue is every org's, so it is split into HOSTED_QUEUE_SHARDS Dispatchers, `hosted#0` …:
//  - a job lives in the shard its taskId hashes to, for its whole life, so a cancel, a heartbeat or a
//    complete finds it from the taskId alone;
//  - an agent waits in the shard its id hashes to (its home). A poll first asks the home shard, then
//    the others in turn (stealing), and only then waits at home, so an idle agent takes any job it can
//    wherever it was queued;
//  - a job nobody in its shard was waiting for is offered to the other shards' waiting polls, which are
//    answered "steal from shard j" and claim it there: a job does not wait for a sweep while an agent idles.
// The shards are not also split by label set (`hosted:arch=arm64#k`): an agent can take the jobs of
// every subset of its labels, so it would have to ask each such queue, and a heartbeat or a cancel
// would need the job's labels to find it. Each shard indexes its jobs by label set instead, which
// gives the same claim that nothing queued ahead can block (durable-objects/Dispatcher.ts).
// Fairness across orgs holds per shard (each Dispatcher serves the least recently served org first), and
// jobs spread over the shards evenly by hash, so it holds across them.
import type { JobPayload, LeasedJob, PollAnswer, PollingAgent } from '../../durable-objects/Dispatcher';
import { dispatcherOf } from '../bindings';
import type { Env } from '../env';

/**
 * Shards of the hosted queue. Each is one Dispatcher (one thread): 8 keep each under 1/8 of the
 * fleet's enqueues, claims and leases (SCALING.md: one object reaches 50% CPU at ~3,900 leased jobs,
 * so 8 carry 10,000 concurrent runs at ~1,250 each). Not more: an idle agent's poll asks every shard
 * once per POLL_WAIT_MS, so each shard costs every idle agent one cheap call per 25 s. Changing it
 * moves every queued job's shard: drain the hosted queue first.
 */
export const HOSTED_QUEUE_SHARDS = 8;

/** The Dispatchers of a queue, by name. */
export const queueShards = (queue: string): string[] => (queue === 'hosted' ? Array.from({ length: HOSTED_QUEUE_SHARDS }, (_, k) => `hosted#${k}`) : [queue]);

/** FNV-1a: a stable, cheap spread of ids over shards (not a security boundary). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
const shardFor = (queue: string, key: string) => {
  const shards = queueShards(queue);
  return shards[hash(key) % shards.length]!;
};

/** The Dispatcher holding a run's job: its queue's shard for its taskId. */
export const jobShard = (queue: string, taskId: string) => shardFor(queue, taskId);
/** The Dispatcher an agent waits in. */
export const homeShard = (queue: string, agentId: string) => shardFor(queue, agentId);

/** Queues a run's job in its shard; if no poll there took it, offers it to the polls waiting in the other shards. */
export async function enqueueJob(env: Env, queue: string, job: { organizationId: string; labels: Record<string, string>; payload: JobPayload }) {
  const shard = jobShard(queue, job.payload.taskId);
  if (await dispatcherOf(env, shard).enqueue(job)) return;
  // An offer that fails costs only time: the job is queued, and the next sweep of an idle agent finds it.
  const others = queueShards(queue).filter((s) => s !== shard);
  await Promise.allSettled(others.map((s) => dispatcherOf(env, s).offer(shard, job.labels)));
}

const isJob = (answer: PollAnswer): answer is LeasedJob => answer !== null && 'taskId' in answer;

/** An agent's poll: a job from its home shard, else from another (stolen), else the wait at home. */
export async function pollQueue(env: Env, queue: string, agent: PollingAgent, capacity: number, waitMs: number, running?: string[]): Promise<LeasedJob | null> {
  const shards = queueShards(queue);
  const home = homeShard(queue, agent.agentId);
  if (capacity > 0 && shards.length > 1) {
    // Home first, then the others starting after it, so idle agents do not all start at shard 0.
    const at = shards.indexOf(home);
    for (const shard of [...shards.slice(at), ...shards.slice(0, at)]) {
      const answer = await dispatcherOf(env, shard).poll(agent, capacity, 0, running);
      if (isJob(answer)) return answer;
    }
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const answer = await dispatcherOf(env, home).poll(agent, capacity, Math.max(0, deadline - Date.now()), running);
    if (answer === null || isJob(answer)) return answer;
    // Offered a job queued in another shard: claim it there, or wait again if another agent was quicker.
    const stolen = await dispatcherOf(env, answer.steal).poll(agent, capacity, 0, running);
    if (isJob(stolen)) return stolen;
    if (Date.now() >= deadline) return null;
  }
}
