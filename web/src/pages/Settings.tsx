// Settings, one tab per concern; tabs a role cannot use are not shown.
import { Link } from '../lib/router';
import { can, type Action } from '../lib/permissions';
import { useUser } from '../lib/session';
import { focusRing, PageHeader } from '../components/ui';
import { ApiKeysTab } from './settings/ApiKeys';
import { EmailsTab } from './settings/Emails';
import { MembersTab } from './settings/Members';
import { OrganizationTab } from './settings/Organization';
import { SecurityTab } from './settings/Security';
import { UsageTab } from './settings/Usage';

const TABS: Array<{ id: string; label: string; needs?: Action; Tab: () => preact.JSX.Element }> = [
  { id: 'organization', label: 'Organization', Tab: OrganizationTab },
  { id: 'members', label: 'Members', Tab: MembersTab },
  { id: 'api-keys', label: 'API keys', needs: 'manageApiKeys', Tab: ApiKeysTab },
  { id: 'emails', label: 'Emails', needs: 'manageMembers', Tab: EmailsTab },
  { id: 'security', label: 'Security', Tab: SecurityTab },
  { id: 'usage', label: 'Usage', Tab: UsageTab },
];

export function SettingsPage({ tab = 'organization' }: { tab?: string }) {
  const { role } = useUser();
  const tabs = TABS.filter((t) => !t.needs || can(role, t.needs));
  const current = tabs.find((t) => t.id === tab) ?? tabs[0]!;
  return (
    <div>
      <PageHeader title='Settings' />
      <nav aria-label='Settings sections' class='mb-4 flex gap-1 overflow-x-auto border-b border-slate-200 dark:border-slate-800'>
        {tabs.map((t) => (
          <Link
            key={t.id}
            href={`/settings/${t.id}`}
            aria-current={t.id === current.id ? 'page' : undefined}
            class={`-mb-px border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap ${focusRing} ${t.id === current.id ? 'border-indigo-600 text-indigo-700 dark:text-indigo-300' : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-slate-100'}`}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      <current.Tab />
    </div>
  );
}
