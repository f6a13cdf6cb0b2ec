// Organization name, AI analysis opt-out and the Slack webhook. Admins edit; others read (the webhook only as configured or not).
import { useState } from 'preact/hooks';
import { Button, Card, Field, inputClass, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { can } from '../../lib/permissions';
import { useSession, useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Organization } from '../../lib/types';

export function OrganizationTab() {
  const { organization, role } = useUser();
  const { setOrganization } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editable = can(role, 'manageOrganization');

  const save = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const slack = String(form.get('slackWebhookUrl') ?? '').trim();
    const body = { name: String(form.get('name') ?? '').trim(), aiAnalysisEnabled: form.get('aiAnalysisEnabled') === 'on', slackWebhookUrl: slack || null };
    setBusy(true);
    setError(null);
    try {
      setOrganization(await api<Organization>('/api/organization', { method: 'PATCH', body }));
      toast('Organization saved');
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  return (
    <Card title='Organization'>
      <form onSubmit={save} class='max-w-xl space-y-4'>
        {!editable && <Notice kind='info'>Only admins can change these settings.</Notice>}
        {error && <Notice>{error}</Notice>}
        <Field label='Name'>
          <input name='name' required minLength={2} maxLength={100} disabled={!editable} defaultValue={organization.name} class={inputClass} />
        </Field>
        <label class='flex items-start gap-2 text-sm'>
          <input type='checkbox' name='aiAnalysisEnabled' disabled={!editable} defaultChecked={organization.aiAnalysisEnabled} class='mt-0.5 size-4' />
          <span>
            <span class='font-medium'>AI analysis of failed runs</span>
            <br />
            <span class='text-slate-500'>Sends failing logs to Gemini for a root-cause summary. Turn off to keep logs inside Agnox.</span>
          </span>
        </label>
        {editable ? (
          <Field label='Slack webhook' hint='An https://hooks.slack.com/… URL; run results are posted there.'>
            <input
              name='slackWebhookUrl'
              type='url'
              defaultValue={organization.slackWebhookUrl ?? ''}
              placeholder='https://hooks.slack.com/services/…'
              class={inputClass}
            />
          </Field>
        ) : (
          // The URL is a credential: only admins get it from the API.
          <Field label='Slack webhook'>
            <p data-testid='slack-webhook-status' class='text-sm'>
              {organization.slackWebhookConfigured ? 'Configured' : 'Not set'}
            </p>
          </Field>
        )}
        {editable && (
          <Button type='submit' busy={busy}>
            Save
          </Button>
        )}
      </form>
    </Card>
  );
}
