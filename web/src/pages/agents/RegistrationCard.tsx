// A new agent registration: the token (shown once, with its expiry) and the commands that install or
// run an agent with it, each with a copy button.
import { CopyButton } from '../../components/CopyButton';
import { Button, Card, Notice } from '../../components/ui';
import { dateTime } from '../../lib/format';

export type Registration = { token: string; expiresAt: number; installCommand?: string; runCommand?: string };

export function RegistrationCard({ registration, onDone }: { registration: Registration; onDone: () => void }) {
  return (
    <Card
      title='Install an agent'
      actions={
        <Button variant='ghost' onClick={onDone}>
          Done
        </Button>
      }
    >
      <div class='space-y-3 text-sm'>
        <Notice kind='info'>This registration token is shown once and expires {dateTime(registration.expiresAt)}.</Notice>
        {[
          ['On a Linux box with Docker (installs a service; it asks for the token below)', registration.installCommand],
          ['Or run it in the foreground', registration.runCommand],
          ['Token', registration.token],
        ]
          .filter((x): x is [string, string] => Boolean(x[1]))
          .map(([label, value]) => (
            <div key={label}>
              <p class='mb-1 font-medium'>{label}</p>
              <div class='flex items-start gap-2'>
                <code
                  class='min-w-0 flex-1 overflow-x-auto rounded bg-slate-100 px-2 py-1.5 text-xs whitespace-pre dark:bg-slate-800'
                  data-testid='install-command'
                >
                  {value}
                </code>
                <CopyButton value={value} />
              </div>
            </div>
          ))}
      </div>
    </Card>
  );
}
