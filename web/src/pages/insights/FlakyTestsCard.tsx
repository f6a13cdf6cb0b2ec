// The project's flaky tests by score, with the evidence behind each score. A member who may edit
// projects can quarantine one from here: it keeps running and reporting, but its failures stop
// failing runs. A test already quarantined says so instead of offering the button.
import { useState } from 'preact/hooks';
import { Badge, Button, Card, Empty, Field, inputClass } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formValues } from '../../lib/form';
import { toast } from '../../lib/toast';
import type { FlakyTest, QuarantineEntry } from './types';

type Props = {
  projectId: string;
  flaky: FlakyTest[];
  quarantines: QuarantineEntry[] | undefined;
  editable: boolean;
  /** After a quarantine is created: the page reloads its list. */
  onQuarantined: () => void;
};

export function FlakyTestsCard({ projectId, flaky, quarantines, editable, onQuarantined }: Props) {
  const [quarantining, setQuarantining] = useState<FlakyTest | null>(null);

  const quarantine = async (e: Event) => {
    const v = formValues(e);
    const t = quarantining!;
    try {
      await api('/api/quarantines', {
        method: 'POST',
        body: {
          projectId,
          title: t.title,
          ...(t.file ? { file: t.file } : {}),
          owner: v.owner,
          reason: v.reason,
          expiresAt: Date.now() + Number(v.days) * 86_400_000,
        },
      });
      toast('Test quarantined');
      setQuarantining(null);
      onQuarantined();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
  };

  return (
    <Card title='Flaky tests'>
      {!flaky.length ? (
        <Empty>No flaky tests: nothing failed and then passed on retry or flipped on the same commit.</Empty>
      ) : (
        <table class='w-full text-sm' data-testid='flaky-tests'>
          <thead>
            <tr class='text-left text-xs text-slate-500'>
              <th class='py-1'>Test</th>
              <th>Score</th>
              <th class='hidden sm:table-cell'>Evidence</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {flaky.map((t) => {
              const held = quarantines?.some((q) => q.testKey === t.testKey);
              return (
                <tr key={t.testKey} class='border-t border-slate-100 dark:border-slate-800'>
                  <td class='py-1 pr-2 break-all'>{t.testKey}</td>
                  <td>
                    <Badge class='bg-amber-100 text-amber-800 dark:bg-amber-900 dark:text-amber-200'>{t.score.toFixed(2)}</Badge>
                  </td>
                  <td class='hidden text-xs text-slate-500 sm:table-cell'>
                    {t.retriedPasses} passed on retry · {t.flips} flips · {t.sameCommitFlips} same-commit · {t.runs} runs
                  </td>
                  <td class='text-right'>
                    {held ? (
                      <span class='text-xs text-slate-500'>quarantined</span>
                    ) : (
                      editable && (
                        <Button variant='secondary' onClick={() => setQuarantining(t)}>
                          Quarantine
                        </Button>
                      )
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {quarantining && (
        <form class='mt-3 grid gap-2 rounded-md bg-slate-50 p-3 sm:grid-cols-4 dark:bg-slate-900' onSubmit={(e) => void quarantine(e)}>
          <p class='text-sm sm:col-span-4'>
            Quarantine <strong>{quarantining.testKey}</strong>: it keeps running and reporting, but its failures stop failing runs.
          </p>
          <Field label='Owner'>
            <input name='owner' required class={inputClass} />
          </Field>
          <Field label='Reason'>
            <input name='reason' required class={inputClass} />
          </Field>
          <Field label='Days'>
            <input name='days' type='number' min='1' max='180' value='14' required class={inputClass} />
          </Field>
          <div class='flex items-end gap-2'>
            <Button type='submit'>Quarantine</Button>
            <Button variant='secondary' onClick={() => setQuarantining(null)}>
              Cancel
            </Button>
          </div>
        </form>
      )}
    </Card>
  );
}
