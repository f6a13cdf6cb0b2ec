// Marks runs that came from an external CI through the reporter, with the CI provider (seed 004 §4.1).
import type { CiContext } from '../lib/types';
import { Badge } from './ui';

const PROVIDERS: Record<string, string> = {
  github: 'GitHub Actions',
  gitlab: 'GitLab CI',
  azure: 'Azure Pipelines',
  jenkins: 'Jenkins',
  circleci: 'CircleCI',
  buildkite: 'Buildkite',
  bitbucket: 'Bitbucket',
  local: 'Local',
};

export function providerName(ci: CiContext | null | undefined): string | null {
  const key = (ci?.provider ?? ci?.source)?.toString().toLowerCase();
  if (!key) return null;
  return PROVIDERS[key] ?? key.charAt(0).toUpperCase() + key.slice(1);
}

export function SourceBadge({ source, ciContext }: { source: string; ciContext?: CiContext | null }) {
  if (source !== 'external-ci') return null;
  const provider = providerName(ciContext);
  return (
    <Badge class='bg-indigo-100 text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200' title='Reported from an external CI'>
      <svg viewBox='0 0 16 16' class='size-3' aria-hidden='true' fill='currentColor'>
        <path d='M6.5 3.5a3 3 0 0 1 4.24 0l1.76 1.76a3 3 0 0 1-4.24 4.24l-.7-.7 1.06-1.06.7.7a1.5 1.5 0 1 0 2.12-2.12L9.68 4.56a1.5 1.5 0 0 0-2.12 0l-.35.35L6.15 3.85zM3.5 6.5l1.06 1.06-.35.35a1.5 1.5 0 0 0 0 2.12l1.76 1.76a1.5 1.5 0 0 0 2.12-2.12l-.7-.7 1.06-1.06.7.7a3 3 0 0 1-4.24 4.24L3.15 11.1a3 3 0 0 1 0-4.24z' />
      </svg>
      External CI{provider ? ` · ${provider}` : ''}
    </Badge>
  );
}
