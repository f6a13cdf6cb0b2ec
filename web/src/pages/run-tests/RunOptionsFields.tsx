// The run form's optional fields, read from the form when it is submitted: a command, specific tests,
// the agent labels a run needs, and whether our agents or the hosted fleet take it.
import { Field, inputClass } from '../../components/ui';

export function RunOptionsFields({ commandPlaceholder }: { commandPlaceholder: string }) {
  return (
    <>
      <Field label='Command (optional)' hint="Overrides the project's command for this run.">
        <input name='command' maxLength={2000} class={inputClass} placeholder={commandPlaceholder} />
      </Field>
      <Field label='Tests (optional)' hint='One test file or name per line; empty runs everything.'>
        <textarea name='tests' rows={3} class={inputClass} placeholder='tests/login.spec.ts' />
      </Field>
      <Field label='Agent labels (optional)' hint='KEY=value per line; only agents with these labels take the run (e.g. arch=arm64).'>
        <textarea name='labels' rows={2} class={inputClass} placeholder='arch=arm64' />
      </Field>
      <fieldset>
        <legend class='mb-1 text-sm font-medium text-slate-700 dark:text-slate-300'>Where to run</legend>
        <label class='mr-4 text-sm'>
          <input type='radio' name='queue' value='org' defaultChecked class='mr-1' />
          Our agents
        </label>
        <label class='text-sm'>
          <input type='radio' name='queue' value='hosted' class='mr-1' />
          Agnox hosted fleet
        </label>
      </fieldset>
    </>
  );
}
