// What a member can do to one run from its page: cancel it while it is active (developers and up),
// and re-run it (the same request again, queued as a new run; not for runs reported from external CI).
import { useState } from 'preact/hooks';
import { isFinal } from '../../../../worker/contracts/vocabulary';
import { Button } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { can } from '../../lib/permissions';
import { navigate } from '../../lib/router';
import { useUser } from '../../lib/session';
import { toast } from '../../lib/toast';
import type { Execution } from '../../lib/types';

/** The run request that repeats `e`: what the run was asked to do, as the detail endpoint reports it. */
export function rerunRequest(e: Execution): Record<string, unknown> {
  const body: Record<string, unknown> = { projectId: e.projectId };
  if (e.environment) body.environment = e.environment;
  if (e.command) body.command = e.command;
  if (e.tests?.length) body.tests = e.tests;
  if (e.labels && Object.keys(e.labels).length) body.labels = e.labels;
  if (e.image && e.image !== 'external-ci') body.image = e.image;
  if (e.baseUrl) body.baseUrl = e.baseUrl;
  if (e.envVars && Object.keys(e.envVars).length) body.envVars = e.envVars;
  if (e.timeoutSeconds) body.timeoutSeconds = e.timeoutSeconds;
  if (e.queue === 'hosted') body.queue = 'hosted';
  return body;
}

/** `onCancelRequested`: the page reloads the run, whose status the cancel is about to change. */
export function RunActions({ execution: e, onCancelRequested }: { execution: Execution; onCancelRequested: () => void }) {
  const { role } = useUser();
  const [busy, setBusy] = useState<'cancel' | 'rerun' | null>(null);
  const base = `/api/executions/${encodeURIComponent(e.taskId)}`;

  const cancel = async () => {
    setBusy('cancel');
    try {
      await api(`${base}/cancel`, { method: 'POST' });
      toast('Cancel requested');
      onCancelRequested();
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBusy(null);
  };

  const rerun = async () => {
    setBusy('rerun');
    try {
      const { taskId: next } = await api<{ taskId: string }>('/api/execution-request', { method: 'POST', body: rerunRequest(e) });
      toast('Run queued');
      navigate(`/executions/${encodeURIComponent(next)}`);
    } catch (err) {
      toast(errorMessage(err), 'error');
    }
    setBusy(null);
  };

  return (
    <>
      {!isFinal(e.status) && can(role, 'cancelRuns') && (
        <Button variant='danger' busy={busy === 'cancel'} onClick={cancel}>
          Cancel run
        </Button>
      )}
      {can(role, 'runTests') && e.source !== 'external-ci' && (
        <Button variant='secondary' busy={busy === 'rerun'} onClick={rerun}>
          Re-run
        </Button>
      )}
    </>
  );
}
