// One load-test agent, as its own process: the real agent (agent/src: register with a
// registration token, long poll, lease and heartbeats, the log streamer's numbered chunks over the
// WebSocket with acks, complete) with simulated containers instead of Docker. It reports each job
// it gets and finishes to the load run over IPC, and its HTTP counts when drained.
//   Started by load/run.ts with LOAD_URL, LOAD_TOKEN, LOAD_NAME, LOAD_STATE_DIR, LOAD_LINES_PER_SECOND.
import { Agent } from '../agent/src/agent';
import { DEFAULT_OUTPUT_MAX_BYTES } from '../agent/src/config';
import type { Logger } from '../agent/src/log';
import type { AgentCommand, AgentMessage } from './agent-messages';
import { HttpStats, outcomeOf } from './http-stats';
import { SimulatedDocker } from './simulated-docker';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (this process is started by load/run.ts)`);
  return v;
};
const name = env('LOAD_NAME');
const send = (m: AgentMessage) => process.send?.(m);
const sendAndWait = (m: AgentMessage) => new Promise<void>((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

const http = new HttpStats();
http.instrumentFetch();
const STREAM_ROUTE = 'WS /api/agent/jobs/:id/stream';

const logger: Logger = {
  info: (msg) => {
    if (msg.includes(' polling ')) send({ type: 'ready', name, agentId: agent.agentId ?? '' });
  },
  warn: (msg) => {
    // The log socket's failed handshakes are answers too: count them with the HTTP ones.
    const status = /Unexpected server response: (\d{3})/.exec(msg)?.[1];
    if (status) http.record(STREAM_ROUTE, outcomeOf(Number(status)), Number(status), undefined, msg);
    send({ type: 'warn', name, message: msg });
  },
  error: (msg) => send({ type: 'warn', name, message: `error: ${msg}` }),
};

const agent: Agent = new Agent({
  url: env('LOAD_URL'),
  token: env('LOAD_TOKEN'),
  name,
  labels: { pool: 'load' },
  concurrency: 1,
  stateDir: env('LOAD_STATE_DIR'),
  memoryBytes: 1 << 30,
  cpus: 1,
  pids: 1024,
  logMaxBytes: DEFAULT_OUTPUT_MAX_BYTES,
  stopGraceSeconds: 2,
  once: false,
  logger,
  docker: new SimulatedDocker(Number(env('LOAD_LINES_PER_SECOND'))),
  onJob: (run) => {
    send({ type: 'job', name, taskId: run.taskId, attempt: run.job.attempt, at: Date.now() });
    void agent.running.get(run.taskId)!.done.then((outcome) => {
      const { wsConnects } = run.streamer.stats;
      for (let i = 0; i < wsConnects; i++) http.record(STREAM_ROUTE, '1xx', 101);
      send({
        type: 'done',
        name,
        taskId: run.taskId,
        status: outcome.status,
        lastSeq: outcome.lastSeq,
        at: Date.now(),
        logAcked: run.streamer.acked >= outcome.lastSeq,
        wsConnects,
      });
    });
  },
});

process.on('message', (m: AgentCommand) => {
  if (m.type === 'drain') agent.drain();
});
// The load run going away takes its agents with it.
const orphaned = () => process.exit(1);
process.on('disconnect', orphaned);

try {
  await agent.run();
  const cpu = process.cpuUsage();
  await sendAndWait({ type: 'stats', name, http: http.data, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
} catch (err) {
  await sendAndWait({ type: 'warn', name, message: `agent stopped: ${(err as Error).stack ?? String(err)}` });
  process.exitCode = 1;
}
process.off('disconnect', orphaned);
process.disconnect?.();
