// Where an external-CI run came from (seed 004 §4.2): repository, branch, PR, commit, run link,
// framework, reporter version and total tests.
import type { CiContext, Execution } from '../lib/types';
import { providerName } from './SourceBadge';

function prUrl(ci: CiContext): string | null {
  const pr = ci.prNumber ?? ci.pr;
  if (!pr || !ci.repository) return null;
  const source = (ci.provider ?? ci.source ?? '').toLowerCase();
  if (source === 'github') return `https://github.com/${ci.repository}/pull/${pr}`;
  return null;
}

const safeHttpUrl = (u: string | undefined) => (u && /^https?:\/\//i.test(u) ? u : null);

export function CiContextPanel({ execution }: { execution: Execution }) {
  const ci: CiContext = { ...((execution.ciContext as CiContext | null) ?? {}), ...(execution.ingestMeta?.ciContext ?? {}) };
  const meta = execution.ingestMeta ?? {};
  const pr = ci.prNumber ?? ci.pr;
  const commit = ci.commitSha ?? ci.commit;
  const runUrl = safeHttpUrl(ci.runUrl);
  const provider = providerName(ci);
  const rows: Array<[string, preact.ComponentChildren]> = [];
  if (ci.repository) rows.push(['Repository', ci.repository]);
  if (ci.branch) rows.push(['Branch', ci.branch]);
  if (pr)
    rows.push([
      'PR',
      prUrl(ci) ? (
        <a class='text-indigo-600 underline dark:text-indigo-400' href={prUrl(ci)!} target='_blank' rel='noopener noreferrer'>
          #{pr}
        </a>
      ) : (
        `#${pr}`
      ),
    ]);
  if (commit) rows.push(['Commit', <code title={commit}>{commit.slice(0, 7)}</code>]);
  if (runUrl)
    rows.push([
      'CI run',
      <a class='text-indigo-600 underline dark:text-indigo-400' href={runUrl} target='_blank' rel='noopener noreferrer'>
        View in {provider ?? 'CI'} ↗
      </a>,
    ]);
  if (meta.framework)
    rows.push(['Framework', `${meta.framework.charAt(0).toUpperCase()}${meta.framework.slice(1)}${meta.frameworkVersion ? ` v${meta.frameworkVersion}` : ''}`]);
  if (meta.reporterVersion) rows.push(['Reporter', `@agnox/playwright-reporter v${meta.reporterVersion}`]);
  const total = meta.totalTests ?? execution.totalTests;
  if (total) rows.push(['Total tests', String(total)]);
  if (!rows.length) return <p class='text-sm text-slate-500'>No CI details were reported.</p>;
  return (
    <details open class='group' data-testid='ci-context'>
      <summary class={`cursor-pointer text-sm font-semibold`}>CI context{provider ? ` · ${provider}` : ''}</summary>
      <dl class='mt-2 grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm'>
        {rows.map(([k, v]) => [
          <dt key={`${k}-k`} class='text-slate-500 dark:text-slate-400'>
            {k}
          </dt>,
          <dd key={`${k}-v`} class='min-w-0 break-words'>
            {v}
          </dd>,
        ])}
      </dl>
    </details>
  );
}
