// A run's stored report files, each a link, with a shortcut to the HTML report when the run left one
// (an index.html at any depth).
import { Card, Empty, Notice } from '../../components/ui';
import { bytes } from '../../lib/format';
import type { ApiResource } from '../../lib/use-api';
import type { Artifact } from '../../lib/types';

/** `active`: the run has not ended yet, so an empty list means "not yet" rather than "none". */
export function ArtifactsCard({ artifacts, active }: { artifacts: ApiResource<Artifact[]>; active: boolean }) {
  const report = artifacts.data?.find((a) => /(^|\/)index\.html$/.test(a.path));
  return (
    <Card
      title='Artifacts'
      actions={
        report && (
          <a class='text-sm text-indigo-600 underline dark:text-indigo-400' href={report.url} target='_blank' rel='noopener'>
            Open HTML report ↗
          </a>
        )
      }
    >
      {artifacts.error ? (
        <Notice>{artifacts.error}</Notice>
      ) : !artifacts.data?.length ? (
        <Empty>{active ? 'Artifacts appear when the run ends.' : 'No artifacts.'}</Empty>
      ) : (
        <ul class='divide-y divide-slate-200 text-sm dark:divide-slate-800'>
          {artifacts.data.map((a) => (
            <li key={a.path} class='flex items-center justify-between gap-3 py-1.5'>
              <a class='min-w-0 truncate text-indigo-600 underline dark:text-indigo-400' href={a.url} target='_blank' rel='noopener'>
                {a.path}
              </a>
              <span class='shrink-0 text-xs text-slate-500'>{bytes(a.size)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
