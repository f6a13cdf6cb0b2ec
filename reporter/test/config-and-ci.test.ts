// Options (explicit, then AGNOX_* variables, then defaults) and CI context detection for every
// supported CI service, from the variables each one documents.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCiContext, readGit } from '../src/ci';
import { resolveOptions } from '../src/options';

describe('options', () => {
  it('is disabled, naming what is missing, without a key or a project', () => {
    expect(resolveOptions({}, {})).toEqual({ disabled: 'missing apiKey (AGNOX_API_KEY) and projectId (AGNOX_PROJECT_ID)' });
    expect(resolveOptions({ apiKey: 'k' }, {})).toEqual({ disabled: 'missing projectId (AGNOX_PROJECT_ID)' });
    expect(resolveOptions({ apiKey: '  ', projectId: 'p' }, {})).toEqual({ disabled: 'missing apiKey (AGNOX_API_KEY)' });
  });

  it('takes every option from AGNOX_* variables, explicit options first, and clamps numbers', () => {
    const env = {
      AGNOX_API_KEY: 'env-key',
      AGNOX_PROJECT_ID: 'env-project',
      AGNOX_BASE_URL: 'https://agnox.example.com///',
      AGNOX_RUN_NAME: 'nightly',
      AGNOX_ENVIRONMENT: 'staging',
      AGNOX_FLUSH_INTERVAL_MS: '500',
      AGNOX_MAX_BATCH_SIZE: '100000',
      AGNOX_DEBUG: 'true',
      AGNOX_RUN_ID: 'build-7',
    };
    const fromEnv = resolveOptions({}, env);
    expect(fromEnv).toEqual({
      options: expect.objectContaining({
        apiKey: 'env-key',
        projectId: 'env-project',
        baseUrl: 'https://agnox.example.com',
        runName: 'nightly',
        environment: 'staging',
        flushIntervalMs: 500,
        maxBatchSize: 500,
        debug: true,
        runId: 'build-7',
        endTimeoutMs: 30_000,
      }),
    });
    // `apiKey: process.env.UNSET` is undefined: the variable still applies.
    const explicit = resolveOptions({ apiKey: undefined, projectId: 'explicit', maxBatchSize: 20, debug: false, flushIntervalMs: Number.NaN }, env);
    expect(explicit).toEqual({
      options: expect.objectContaining({ apiKey: 'env-key', projectId: 'explicit', maxBatchSize: 20, debug: false, flushIntervalMs: 500 }),
    });
    expect(resolveOptions({ apiKey: 'k', projectId: 'p' }, {})).toEqual({
      options: expect.objectContaining({ baseUrl: 'https://dev.agnox.dev', flushIntervalMs: 2000, maxBatchSize: 50, debug: false }),
    });
  });
});

describe('CI context', () => {
  it('GitHub Actions: pull request, head branch, run URL with attempt, build id', () => {
    expect(
      detectCiContext({
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_REF: 'refs/pull/42/merge',
        GITHUB_HEAD_REF: 'feature/auth',
        GITHUB_REF_NAME: '42/merge',
        GITHUB_SHA: 'abc123',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_RUN_ID: '99',
        GITHUB_RUN_ATTEMPT: '2',
      }),
    ).toEqual({
      source: 'github',
      repository: 'acme/shop',
      branch: 'feature/auth',
      prNumber: 42,
      commitSha: 'abc123',
      runUrl: 'https://github.com/acme/shop/actions/runs/99/attempts/2',
      buildId: '99-2',
    });
    expect(
      detectCiContext({ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'acme/shop', GITHUB_REF: 'refs/heads/main', GITHUB_REF_NAME: 'main', GITHUB_RUN_ID: '5' }),
    ).toEqual({ source: 'github', repository: 'acme/shop', branch: 'main', runUrl: 'https://github.com/acme/shop/actions/runs/5', buildId: '5-1' });
  });

  it('GitLab CI: merge request iid and source branch, pipeline URL', () => {
    expect(
      detectCiContext({
        GITLAB_CI: 'true',
        CI_PROJECT_PATH: 'acme/shop',
        CI_COMMIT_REF_NAME: 'main',
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'fix/login',
        CI_MERGE_REQUEST_IID: '7',
        CI_COMMIT_SHA: 'def456',
        CI_PIPELINE_URL: 'https://gitlab.com/acme/shop/-/pipelines/314',
        CI_PIPELINE_ID: '314',
      }),
    ).toEqual({
      source: 'gitlab',
      repository: 'acme/shop',
      branch: 'fix/login',
      prNumber: 7,
      commitSha: 'def456',
      runUrl: 'https://gitlab.com/acme/shop/-/pipelines/314',
      buildId: '314',
    });
  });

  it('Azure Pipelines: PR number and source branch, build results URL', () => {
    expect(
      detectCiContext({
        TF_BUILD: 'True',
        BUILD_REPOSITORY_NAME: 'shop',
        BUILD_SOURCEBRANCHNAME: 'merge',
        SYSTEM_PULLREQUEST_SOURCEBRANCH: 'refs/heads/feature/pay',
        SYSTEM_PULLREQUEST_PULLREQUESTNUMBER: '12',
        BUILD_SOURCEVERSION: '0a0b',
        SYSTEM_COLLECTIONURI: 'https://dev.azure.com/acme/',
        SYSTEM_TEAMPROJECT: 'Shop App',
        BUILD_BUILDID: '88',
      }),
    ).toEqual({
      source: 'azure',
      repository: 'shop',
      branch: 'feature/pay',
      prNumber: 12,
      commitSha: '0a0b',
      runUrl: 'https://dev.azure.com/acme/Shop%20App/_build/results?buildId=88',
      buildId: '88',
    });
  });

  it('Jenkins: repository from GIT_URL, change request, build URL and tag', () => {
    expect(
      detectCiContext({
        JENKINS_URL: 'https://ci.acme.dev/',
        GIT_URL: 'git@github.com:acme/shop.git',
        GIT_BRANCH: 'origin/main',
        CHANGE_ID: '31',
        CHANGE_BRANCH: 'feature/cart',
        GIT_COMMIT: '1234abcd',
        BUILD_URL: 'https://ci.acme.dev/job/shop/55/',
        BUILD_TAG: 'jenkins-shop-55',
      }),
    ).toEqual({
      source: 'jenkins',
      repository: 'acme/shop',
      branch: 'feature/cart',
      prNumber: 31,
      commitSha: '1234abcd',
      runUrl: 'https://ci.acme.dev/job/shop/55/',
      buildId: 'jenkins-shop-55',
    });
  });

  it('CircleCI: PR number from the pull request URL, workflow as build id', () => {
    expect(
      detectCiContext({
        CIRCLECI: 'true',
        CIRCLE_PROJECT_USERNAME: 'acme',
        CIRCLE_PROJECT_REPONAME: 'shop',
        CIRCLE_BRANCH: 'feature/x',
        CIRCLE_PULL_REQUEST: 'https://github.com/acme/shop/pull/9',
        CIRCLE_SHA1: 'beef',
        CIRCLE_BUILD_URL: 'https://circleci.com/gh/acme/shop/100',
        CIRCLE_WORKFLOW_ID: 'wf-1',
      }),
    ).toEqual({
      source: 'circleci',
      repository: 'acme/shop',
      branch: 'feature/x',
      prNumber: 9,
      commitSha: 'beef',
      runUrl: 'https://circleci.com/gh/acme/shop/100',
      buildId: 'wf-1',
    });
  });

  it('Buildkite: "false" is no pull request', () => {
    expect(
      detectCiContext({
        BUILDKITE: 'true',
        BUILDKITE_REPO: 'https://github.com/acme/shop.git',
        BUILDKITE_BRANCH: 'main',
        BUILDKITE_PULL_REQUEST: 'false',
        BUILDKITE_COMMIT: 'cafe',
        BUILDKITE_BUILD_URL: 'https://buildkite.com/acme/shop/builds/3',
        BUILDKITE_BUILD_ID: 'bk-3',
      }),
    ).toEqual({
      source: 'buildkite',
      repository: 'acme/shop',
      branch: 'main',
      commitSha: 'cafe',
      runUrl: 'https://buildkite.com/acme/shop/builds/3',
      buildId: 'bk-3',
    });
  });

  it('local: branch and commit read from .git as git itself reports them', () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'agnox-git-'));
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@x', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@x' },
      }).trim();
    git('init', '-q', '-b', 'feature/local');
    writeFileSync(path.join(repo, 'f.txt'), 'x');
    git('add', '.');
    git('commit', '-qm', 'first');
    const sub = path.join(repo, 'tests', 'e2e');
    mkdirSync(sub, { recursive: true });
    expect(detectCiContext({}, sub)).toEqual({ source: 'local', branch: 'feature/local', commitSha: git('rev-parse', 'HEAD') });
    git('pack-refs', '--all'); // the ref now lives only in packed-refs
    expect(readGit(sub)).toEqual({ branch: 'feature/local', commitSha: git('rev-parse', 'HEAD') });
    expect(readGit(tmpdir())).toEqual({});
  });
});
