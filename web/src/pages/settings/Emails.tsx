// The emails the organization's invitees were sent: with SendGrid configured, the delivery record
// (sent, or failed with SendGrid's reason); without it, the development outbox — the email itself,
// accept link included, so an admin can pass it on locally.
import { useState } from 'preact/hooks';
import { Badge, Card, Empty, Notice, Spinner } from '../../components/ui';
import { dateTime } from '../../lib/format';
import { useApi } from '../../lib/use-api';

type Email = {
  id: string;
  to: string;
  subject: string;
  text: string;
  provider: string;
  status: 'queued' | 'sent' | 'failed' | 'outbox';
  error: string | null;
  createdAt: number;
  sentAt: number | null;
};

const STATUS_STYLE: Record<Email['status'], string> = {
  outbox: 'bg-sky-100 text-sky-800 dark:bg-sky-900 dark:text-sky-200',
  sent: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200',
  failed: 'bg-red-100 text-red-800 dark:bg-red-900 dark:text-red-200',
  queued: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
};

export function EmailsTab() {
  const emails = useApi<Email[]>('/api/invitations/outbox');
  const [open, setOpen] = useState<string | null>(null);
  const outbox = emails.data?.some((e) => e.provider === 'outbox');
  return (
    <Card title='Emails'>
      <div class='space-y-3'>
        {outbox && <Notice kind='info'>No email provider is configured (SENDGRID_API_KEY), so emails stay in this development outbox.</Notice>}
        {emails.error && <Notice>{emails.error}</Notice>}
        {emails.loading && !emails.data ? (
          <Spinner />
        ) : !emails.data?.length ? (
          <Empty>No emails sent yet.</Empty>
        ) : (
          <ul class='divide-y divide-slate-200 dark:divide-slate-800' data-testid='emails'>
            {emails.data.map((e) => (
              <li key={e.id} class='py-2'>
                <div class='flex flex-wrap items-center gap-2'>
                  <button
                    type='button'
                    class='min-w-0 flex-1 truncate text-left text-sm font-medium hover:underline'
                    aria-expanded={open === e.id}
                    onClick={() => setOpen(open === e.id ? null : e.id)}
                  >
                    {e.subject}
                  </button>
                  <span class='text-xs text-slate-500'>to {e.to}</span>
                  <Badge class={STATUS_STYLE[e.status]}>{e.status}</Badge>
                  <span class='text-xs text-slate-500'>{dateTime(e.createdAt)}</span>
                </div>
                {e.error && <p class='mt-1 text-xs text-red-700 dark:text-red-300'>{e.error}</p>}
                {open === e.id && (
                  <pre class='mt-2 overflow-x-auto rounded bg-slate-50 p-3 text-xs whitespace-pre-wrap dark:bg-slate-950' data-testid='email-text'>
                    {e.text}
                  </pre>
                )}
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}
