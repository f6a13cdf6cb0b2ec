// `agnox run`: the CI side. Triggers a run with an API key (POST /api/ci/trigger) and, with --wait,
// prints its log live (viewer WebSocket, falling back to polling /logs) and exits with the result:
// 0 passed, 1 failed, 2 error/cancelled/timed out or anything that stopped us from knowing.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { RoomMessage } from '../../../worker/contracts/live';
import { isFinal } from '../../../worker/contracts/vocabulary';
import { sleep } from '../backoff';
import { insecureAllowed, refusesPlainHttp } from '../config';
import { ControlPlaneClient, ControlPlaneError } from '../http-client';
import { errorMessage } from '../log';

export const CI_USAGE = `Usage: agnox run --project <id> [--env <environment>] [--wait] [--url <url>] [--api-key <key>]

  --project <id>     project to run                          AGNOX_PROJECT
  --env <name>       environment, e.g. staging               AGNOX_ENV
  --wait             stream the log and exit with the result (0 passed, 1 failed, 2 error)
  --url <url>        control plane URL                       AGNOX_URL
  --api-key <key>    organization API key                    AGNOX_API_KEY
  --timeout <s>      give up waiting after this long (default 3600)
  --insecure         allow plain http:// to another machine     AGNOX_INSECURE=1`;

export const exitCodeFor = (status: string): number => (status === 'PASSED' ? 0 : status === 'FAILED' ? 1 : 2);

type Out = { log: (text: string) => void; info: (line: string) => void };
const stdOut: Out = { log: (t) => process.stdout.write(t), info: (l) => process.stderr.write(`agnox: ${l}\n`) };

export async function ciMain(argv: string[], env: NodeJS.ProcessEnv = process.env, out: Out = stdOut): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out.info(CI_USAGE);
    return command ? 0 : 2;
  }
  if (command !== 'run') {
    out.info(`unknown command "${command}"\n${CI_USAGE}`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        project: { type: 'string' },
        env: { type: 'string' },
        wait: { type: 'boolean' },
        url: { type: 'string' },
        'api-key': { type: 'string' },
        timeout: { type: 'string' },
        insecure: { type: 'boolean' },
      },
    }));
  } catch (err) {
    out.info(`${(err as Error).message}\n${CI_USAGE}`);
    return 2;
  }
  const project = (values.project as string | undefined) ?? env.AGNOX_PROJECT;
  const url = (values.url as string | undefined) ?? env.AGNOX_URL;
  const apiKey = (values['api-key'] as string | undefined) ?? env.AGNOX_API_KEY;
  const environment = (values.env as string | undefined) ?? env.AGNOX_ENV;
  const timeoutS = Number(values.timeout ?? 3600);
  const missing = [!project && '--project', !url && '--url (AGNOX_URL)', !apiKey && '--api-key (AGNOX_API_KEY)'].filter(Boolean);
  if (missing.length) {
    out.info(`missing ${missing.join(', ')}\n${CI_USAGE}`);
    return 2;
  }
  // The API key would cross the network in the clear: the agent's rule (config.ts), for the same reason.
  let target: URL;
  try {
    target = new URL(url!);
  } catch {
    out.info(`--url: "${url}" is not a URL`);
    return 2;
  }
  if (refusesPlainHttp(target, insecureAllowed(values.insecure, env))) {
    out.info(
      `--url: "${url}" is plain http to another machine: the API key and the run's log would cross the network unencrypted. Use https://, or pass --insecure (AGNOX_INSECURE=1) for a network you trust.`,
    );
    return 2;
  }
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    out.info('--timeout must be a positive number of seconds');
    return 2;
  }
  const client = new ControlPlaneClient(url!, { apiKey }, 'agnox-ci');
  let taskId: string;
  try {
    const data = await client.request<{ taskId: string }>('POST', '/api/ci/trigger', {
      body: { projectId: project, ...(environment ? { environment } : {}), ciContext: ciContext(env) },
    });
    taskId = data!.taskId;
  } catch (err) {
    out.info(`trigger failed: ${errorMessage(err)}`);
    return 2;
  }
  out.info(`run ${taskId} queued (${url}/executions/${taskId})`);
  if (!values.wait) return 0;
  try {
    const status = await follow(client, taskId, out, Date.now() + timeoutS * 1000);
    out.info(`run ${taskId} finished: ${status}`);
    return exitCodeFor(status);
  } catch (err) {
    out.info(`lost track of run ${taskId}: ${errorMessage(err)}`);
    return 2;
  }
}

/** Where the CI job came from, for the dashboard (GitHub Actions, GitLab, Jenkins, Buildkite, …). */
export function ciContext(env: NodeJS.ProcessEnv): Record<string, string | number> {
  const pr = Number(env.GITHUB_REF?.match(/^refs\/pull\/(\d+)\//)?.[1] ?? env.CI_MERGE_REQUEST_IID ?? env.BUILDKITE_PULL_REQUEST ?? env.CHANGE_ID);
  const pick: Record<string, string | number | undefined> = {
    source: env.GITHUB_ACTIONS ? 'github' : env.GITLAB_CI ? 'gitlab' : env.BUILDKITE ? 'buildkite' : env.JENKINS_URL ? 'jenkins' : env.CI ? 'ci' : 'cli',
    repository: env.GITHUB_REPOSITORY ?? env.CI_PROJECT_PATH ?? env.BUILDKITE_REPO,
    branch: env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || env.CI_COMMIT_REF_NAME || env.BUILDKITE_BRANCH || env.BRANCH_NAME,
    prNumber: Number.isInteger(pr) && pr > 0 ? pr : undefined,
    commitSha: env.GITHUB_SHA ?? env.CI_COMMIT_SHA ?? env.BUILDKITE_COMMIT ?? env.GIT_COMMIT,
    runUrl:
      env.GITHUB_RUN_ID && env.GITHUB_SERVER_URL
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : (env.CI_JOB_URL ?? env.BUILDKITE_BUILD_URL ?? env.BUILD_URL),
    buildId: env.GITHUB_RUN_ID ?? env.CI_PIPELINE_ID ?? env.BUILDKITE_BUILD_ID ?? env.BUILD_ID,
    actor: env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.BUILDKITE_BUILD_CREATOR,
  };
  return Object.fromEntries(Object.entries(pick).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string | number>;
}

/**
 * Prints the log from seq 1 onward, exactly once per seq, and resolves with the final status. The
 * live socket is preferred; whenever it is down, /logs and the execution's status are polled.
 */
export async function follow(client: ControlPlaneClient, taskId: string, out: Out, deadline: number): Promise<string> {
  let printedUpTo = 0;
  const print = (chunks: { seq: number; data: string }[]) => {
    for (const c of [...chunks].sort((a, b) => a.seq - b.seq)) {
      if (c.seq !== printedUpTo + 1) continue; // a gap is filled by the next catch-up
      out.log(c.data);
      printedUpTo = c.seq;
    }
  };
  const catchUp = async () => {
    for (;;) {
      const data = await client.request<{ chunks: { seq: number; data: string }[]; lastSeq: number }>('GET', `/api/executions/${taskId}/logs`, {
        query: { since: printedUpTo },
      });
      const before = printedUpTo;
      print(data?.chunks ?? []);
      if (printedUpTo === before || printedUpTo >= (data?.lastSeq ?? 0)) return;
    }
  };
  const statusOf = async () => (await client.request<{ status: string }>('GET', `/api/executions/${taskId}`))!.status;

  while (Date.now() < deadline) {
    let final: string | null = null;
    try {
      final = await liveUntilEnd(client, taskId, () => printedUpTo, print, deadline);
    } catch (err) {
      if (err instanceof ControlPlaneError && err.status === 404) throw err;
      out.info(`live log unavailable (${errorMessage(err)}); polling`);
    }
    const status = final ?? (await statusOf());
    await catchUp();
    if (isFinal(status)) {
      // The room may still be storing the last chunks: one more catch-up after a short settle.
      await sleep(300);
      await catchUp();
      return status;
    }
    await sleep(1000);
  }
  throw new Error('timed out waiting for the run to finish');
}

/** One viewer connection: resolves with the terminal status, or null if the socket closed first. */
async function liveUntilEnd(
  client: ControlPlaneClient,
  taskId: string,
  since: () => number,
  print: (c: { seq: number; data: string }[]) => void,
  deadline: number,
): Promise<string | null> {
  const ticket = await client.request<{ ticket: string }>('POST', '/api/auth/ws-ticket', { body: { taskId } });
  const ws = new WebSocket(client.wsUrl(`/api/executions/${taskId}/live`, { since: since(), ticket: ticket!.ticket }), {
    headers: { 'user-agent': 'agnox-ci' },
  });
  return new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => ws.terminate(), Math.max(0, deadline - Date.now()));
    let settled = false;
    const finish = (v: string | null, err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('close');
      ws.close();
      if (err) reject(err);
      else resolve(v);
    };
    ws.on('message', (raw) => {
      let msg: RoomMessage;
      try {
        msg = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (msg.type === 'log') print(msg.chunks);
      else if ((msg.type === 'status' || msg.type === 'hello') && msg.status && isFinal(msg.status)) finish(msg.status);
    });
    ws.on('unexpected-response', (_req, res) => finish(null, new Error(`live socket refused: HTTP ${res.statusCode}`)));
    ws.on('error', (err) => finish(null, err));
    ws.on('close', () => finish(null));
  });
}
