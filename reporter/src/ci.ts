// Where the run happens: repository, branch, PR, commit and a link back to the CI job, read from
// the variables each CI service sets. Locally, branch and commit come from .git (read as files,
// no `git` process, so it costs nothing).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CiContext } from './wire';

type Env = Record<string, string | undefined>;

const v = (s: string | undefined) => (s && s.trim() !== '' ? s.trim() : undefined);
const int = (s: string | undefined) => {
  const n = s && /^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
};
const stripRef = (ref: string | undefined) => v(ref)?.replace(/^refs\/(heads|tags)\//, '');
/** "https://github.com/acme/shop.git" or "git@host:acme/shop.git" → "acme/shop". */
const repoFromUrl = (url: string | undefined) =>
  v(url)
    ?.replace(/\.git$/, '')
    .replace(/^.*?[:/]([^/:]+\/[^/]+)$/, '$1');

/** Drops undefined fields so the payload stays small and comparable. */
function clean(ctx: CiContext): CiContext {
  return Object.fromEntries(Object.entries(ctx).filter(([, val]) => val !== undefined)) as CiContext;
}

export function detectCiContext(env: Env = process.env, cwd = process.cwd()): CiContext {
  if (env.GITHUB_ACTIONS === 'true') {
    const server = v(env.GITHUB_SERVER_URL) ?? 'https://github.com';
    const runId = v(env.GITHUB_RUN_ID);
    const attempt = v(env.GITHUB_RUN_ATTEMPT);
    return clean({
      source: 'github',
      repository: v(env.GITHUB_REPOSITORY),
      branch: v(env.GITHUB_HEAD_REF) ?? v(env.GITHUB_REF_NAME) ?? stripRef(env.GITHUB_REF),
      prNumber: int(env.GITHUB_REF?.match(/^refs\/pull\/(\d+)\//)?.[1]),
      commitSha: v(env.GITHUB_SHA),
      runUrl: runId && env.GITHUB_REPOSITORY ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${runId}${attempt ? `/attempts/${attempt}` : ''}` : undefined,
      buildId: runId ? `${runId}-${attempt ?? '1'}` : undefined,
    });
  }
  if (env.GITLAB_CI === 'true') {
    return clean({
      source: 'gitlab',
      repository: v(env.CI_PROJECT_PATH),
      branch: v(env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME) ?? v(env.CI_COMMIT_REF_NAME),
      prNumber: int(env.CI_MERGE_REQUEST_IID),
      commitSha: v(env.CI_COMMIT_SHA),
      runUrl: v(env.CI_PIPELINE_URL) ?? v(env.CI_JOB_URL),
      buildId: v(env.CI_PIPELINE_ID),
    });
  }
  if (env.TF_BUILD?.toLowerCase() === 'true') {
    const collection = v(env.SYSTEM_COLLECTIONURI);
    const buildId = v(env.BUILD_BUILDID);
    return clean({
      source: 'azure',
      repository: v(env.BUILD_REPOSITORY_NAME),
      branch: stripRef(env.SYSTEM_PULLREQUEST_SOURCEBRANCH) ?? v(env.BUILD_SOURCEBRANCHNAME),
      prNumber: int(env.SYSTEM_PULLREQUEST_PULLREQUESTNUMBER) ?? int(env.SYSTEM_PULLREQUEST_PULLREQUESTID),
      commitSha: v(env.BUILD_SOURCEVERSION),
      runUrl:
        collection && buildId
          ? `${collection.replace(/\/?$/, '/')}${encodeURIComponent(env.SYSTEM_TEAMPROJECT ?? '')}/_build/results?buildId=${buildId}`
          : undefined,
      buildId,
    });
  }
  if (v(env.JENKINS_URL)) {
    return clean({
      source: 'jenkins',
      repository: repoFromUrl(env.GIT_URL),
      branch: v(env.CHANGE_BRANCH) ?? v(env.BRANCH_NAME) ?? v(env.GIT_BRANCH)?.replace(/^origin\//, ''),
      prNumber: int(env.CHANGE_ID),
      commitSha: v(env.GIT_COMMIT),
      runUrl: v(env.BUILD_URL),
      buildId: v(env.BUILD_TAG),
    });
  }
  if (env.CIRCLECI === 'true') {
    const user = v(env.CIRCLE_PROJECT_USERNAME);
    const repo = v(env.CIRCLE_PROJECT_REPONAME);
    return clean({
      source: 'circleci',
      repository: user && repo ? `${user}/${repo}` : repoFromUrl(env.CIRCLE_REPOSITORY_URL),
      branch: v(env.CIRCLE_BRANCH),
      prNumber: int(env.CIRCLE_PR_NUMBER) ?? int(env.CIRCLE_PULL_REQUEST?.match(/\/pull\/(\d+)/)?.[1]),
      commitSha: v(env.CIRCLE_SHA1),
      runUrl: v(env.CIRCLE_BUILD_URL),
      buildId: v(env.CIRCLE_WORKFLOW_ID),
    });
  }
  if (env.BUILDKITE === 'true') {
    return clean({
      source: 'buildkite',
      repository: repoFromUrl(env.BUILDKITE_REPO),
      branch: v(env.BUILDKITE_BRANCH),
      prNumber: int(env.BUILDKITE_PULL_REQUEST),
      commitSha: v(env.BUILDKITE_COMMIT),
      runUrl: v(env.BUILDKITE_BUILD_URL),
      buildId: v(env.BUILDKITE_BUILD_ID),
    });
  }
  return clean({ source: 'local', ...readGit(cwd) });
}

/** Branch and commit of the repository containing `cwd`, from .git's files; nothing if not a repo. */
export function readGit(cwd: string): { branch?: string; commitSha?: string } {
  try {
    let dir = path.resolve(cwd);
    while (!existsSync(path.join(dir, '.git'))) {
      const parent = path.dirname(dir);
      if (parent === dir) return {};
      dir = parent;
    }
    let gitDir = path.join(dir, '.git');
    if (statSync(gitDir).isFile()) {
      // A worktree or submodule: ".git" is a file pointing at the real git dir.
      const target = readFileSync(gitDir, 'utf8')
        .match(/^gitdir:\s*(.+)$/m)?.[1]
        ?.trim();
      if (!target) return {};
      gitDir = path.resolve(dir, target);
    }
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    const ref = head.match(/^ref:\s*(.+)$/)?.[1];
    if (!ref) return /^[0-9a-f]{40,64}$/.test(head) ? { commitSha: head } : {};
    const branch = ref.replace(/^refs\/heads\//, '');
    const commonDir = existsSync(path.join(gitDir, 'commondir')) ? path.resolve(gitDir, readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
    for (const base of [gitDir, commonDir]) {
      const file = path.join(base, ref);
      if (existsSync(file)) return { branch, commitSha: readFileSync(file, 'utf8').trim() };
    }
    const packed = path.join(commonDir, 'packed-refs');
    const sha = existsSync(packed)
      ? readFileSync(packed, 'utf8')
          .split('\n')
          .find((l) => l.endsWith(` ${ref}`))
          ?.split(' ')[0]
      : undefined;
    return sha ? { branch, commitSha: sha } : { branch };
  } catch {
    return {};
  }
}
