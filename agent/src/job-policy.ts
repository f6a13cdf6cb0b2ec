// What a leased job may ask of this agent. The job contract (worker/contracts/agent.ts) cannot express
// host mounts, privileges, devices, capabilities, networking, the user or limits: the agent alone sets
// those (docker-runner.ts). A payload that carries such a field anyway, or asks for something this agent
// never gives, is refused before any container starts, with the reason in the run's log, rather than
// run with the field silently dropped. Other fields the agent does not know are ignored (a newer
// control plane may add harmless ones), and the agent's own log names them.
import { Job } from '../../worker/contracts/agent';
import { isImageReference } from '../../worker/contracts/projects';

/**
 * Docker container/HostConfig settings and the agent's own limits, compared lower-case without
 * punctuation (`cap_add`, `CapAdd` and `cap-add` are the same). Any of them at the top level of a
 * job payload refuses the job.
 */
const CONTAINER_SETTINGS = new Set([
  'hostconfig',
  'containerconfig',
  'createoptions',
  'docker',
  'dockersocket',
  'binds',
  'mounts',
  'volumes',
  'volumesfrom',
  'tmpfs',
  'storageopt',
  'privileged',
  'devices',
  'devicerequests',
  'devicecgrouprules',
  'gpus',
  'capadd',
  'capdrop',
  'capabilities',
  'securityopt',
  'seccomp',
  'apparmor',
  'nonewprivileges',
  'maskedpaths',
  'readonlypaths',
  'readonlyrootfs',
  'sysctls',
  'ulimits',
  'runtime',
  'init',
  'user',
  'usernsmode',
  'groupadd',
  'entrypoint',
  'network',
  'networkmode',
  'networkingconfig',
  'portbindings',
  'publishallports',
  'exposedports',
  'extrahosts',
  'dns',
  'links',
  'pidmode',
  'ipcmode',
  'utsmode',
  'cgroup',
  'cgroupparent',
  'cgroupnsmode',
  'limits',
  'memory',
  'memorybytes',
  'memoryswap',
  'memoryreservation',
  'kernelmemory',
  'shmsize',
  'oomkilldisable',
  'oomscoreadj',
  'cpus',
  'nanocpus',
  'cpushares',
  'cpuquota',
  'cpuperiod',
  'cpusetcpus',
  'cpusetmems',
  'pids',
  'pidslimit',
  'logconfig',
  'autoremove',
  'isolation',
]);

/** The control plane's ceiling on a run's timeout (24 h); 0 or more would let a job run forever. */
export const MAX_TIMEOUT_SECONDS = 24 * 3600;
/** A taskId goes into URL paths of the agent's own calls, so it must be a plain id. */
const TASK_ID = /^[A-Za-z0-9_-]{1,100}$/;

export type Admission = { job: Job; refusal: string | null; ignoredFields: string[] };

const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Reads a job payload. Null when it has no usable taskId (nothing can be reported for it); otherwise
 * the job and the reason to refuse it, if any. A payload that does not match the contract becomes a
 * stand-in job that is refused, so the run still ends with the reason instead of a lapsed lease.
 */
export function admitJob(raw: unknown): Admission | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const payload = raw as Record<string, unknown>;
  if (typeof payload.taskId !== 'string' || !TASK_ID.test(payload.taskId)) return null;

  const known = new Set(Object.keys(Job.shape));
  const unknown = Object.keys(payload).filter((k) => !known.has(k));
  const settings = unknown.filter((k) => CONTAINER_SETTINGS.has(normalize(k)));
  const ignoredFields = unknown.filter((k) => !settings.includes(k));

  const parsed = Job.safeParse(payload);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(job)'}: ${i.message}`)
      .join('; ');
    return {
      job: standIn(payload.taskId),
      refusal: `refused: the job does not match this agent's protocol (${issues}); is the agent up to date?`,
      ignoredFields,
    };
  }
  const job = parsed.data;
  if (settings.length) {
    return {
      job,
      ignoredFields,
      refusal:
        `refused: the job asks for container settings this agent never takes from a job (${settings.join(', ')}). ` +
        'Job containers always run unprivileged, with no host mounts or devices, a reduced capability set and the limits set on the agent (see the agent README, "Security").',
    };
  }
  return { job, ignoredFields, refusal: policyRefusal(job) };
}

/** A refusal for what a well-formed job asks, or null. */
export function policyRefusal(job: Job): string | null {
  if (!isImageReference(job.image)) {
    return `refused: image "${job.image.slice(0, 300)}" is not a Docker image reference ([registry/]name[:tag][@digest]); local paths, files and archives are not images`;
  }
  for (const [name, value] of Object.entries({ ...job.envVars, ...job.secretVars })) {
    if (name === 'DOCKER_HOST' && !/^(tcp|ssh|https?):\/\//i.test(value.trim())) {
      return (
        'refused: DOCKER_HOST points at a local Docker socket, and jobs get none: this agent never mounts /var/run/docker.sock into a job. ' +
        'Tests that need Docker must use an engine of their own over tcp:// or ssh://.'
      );
    }
  }
  if (!(job.timeoutSeconds >= 1 && job.timeoutSeconds <= MAX_TIMEOUT_SECONDS)) {
    return `refused: timeout ${job.timeoutSeconds} s is outside 1 s … ${MAX_TIMEOUT_SECONDS} s (24 h); every job runs with a timeout`;
  }
  if (!job.reportDir.startsWith('/') || job.reportDir.length > 500 || job.reportDir.split('/').includes('..') || job.reportDir.includes('\0')) {
    return `refused: report folder "${job.reportDir.slice(0, 300)}" must be an absolute path inside the container, without ".."`;
  }
  return null;
}

function standIn(taskId: string): Job {
  return {
    taskId,
    projectId: '',
    image: '(unreadable job)',
    command: null,
    tests: [],
    testFolder: null,
    environment: null,
    baseUrl: null,
    envVars: {},
    secretVars: {},
    labels: {},
    timeoutSeconds: 60,
    attempt: 1,
    leaseExpiresAt: 0,
    pullPolicy: 'never',
    reportDir: '/reports',
  };
}
