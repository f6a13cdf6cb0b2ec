// The test case editor's fields other than the steps: title, description, suite, tags, priority, type
// (with the automated test an automated case selects) and preconditions.
import { Field, inputClass } from '../../components/ui';
import type { Priority } from '../automation/types';
import type { Draft } from './draft';

export function CaseFields({ d, set }: { d: Draft; set: (patch: Partial<Draft>) => void }) {
  const text = (k: keyof Draft) => (e: Event) => set({ [k]: (e.currentTarget as HTMLInputElement).value } as Partial<Draft>);
  return (
    <div class='grid gap-4 sm:grid-cols-2'>
      <Field label='Title' class='sm:col-span-2'>
        <input required maxLength={300} class={inputClass} value={d.title} onInput={text('title')} />
      </Field>
      <Field label='Description' class='sm:col-span-2'>
        <textarea rows={2} class={inputClass} value={d.description ?? ''} onInput={text('description')} />
      </Field>
      <Field label='Suite'>
        <input class={inputClass} value={d.suite ?? ''} onInput={text('suite')} placeholder='Checkout' />
      </Field>
      <Field label='Tags' hint='comma-separated'>
        <input class={inputClass} value={d.tags} onInput={text('tags')} placeholder='smoke, payments' />
      </Field>
      <Field label='Priority'>
        <select class={inputClass} value={d.priority} onChange={(e) => set({ priority: (e.currentTarget as HTMLSelectElement).value as Priority })}>
          {(['low', 'medium', 'high', 'critical'] as const).map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </Field>
      <Field label='Type'>
        <select class={inputClass} value={d.type} onChange={(e) => set({ type: (e.currentTarget as HTMLSelectElement).value as Draft['type'] })}>
          <option value='manual'>manual</option>
          <option value='automated'>automated</option>
        </select>
      </Field>
      {d.type === 'automated' && (
        <Field label='Automated test' hint='File, folder or test id the run selects' class='sm:col-span-2'>
          <input class={inputClass} value={d.automatedTest ?? ''} onInput={text('automatedTest')} placeholder='tests/checkout.spec.ts' />
        </Field>
      )}
      <Field label='Preconditions' class='sm:col-span-2'>
        <textarea rows={2} class={inputClass} value={d.preconditions ?? ''} onInput={text('preconditions')} />
      </Field>
    </div>
  );
}
