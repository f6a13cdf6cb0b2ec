// Editable list of steps (action → expected result): add, remove, reorder by removing and adding.
import { Button, inputClass } from '../../components/ui';
import type { Step } from './types';

export function StepsEditor({ steps, onChange }: { steps: Step[]; onChange: (steps: Step[]) => void }) {
  const set = (i: number, patch: Partial<Step>) => onChange(steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  return (
    <div class='space-y-2' data-testid='steps-editor'>
      {steps.length === 0 && <p class='text-sm text-slate-500'>No steps yet.</p>}
      <ol class='space-y-2'>
        {steps.map((s, i) => (
          <li key={i} class='grid gap-2 sm:grid-cols-[2rem_1fr_1fr_auto] sm:items-start'>
            <span class='pt-1.5 text-sm text-slate-500 tabular-nums'>{i + 1}.</span>
            <input
              aria-label={`Step ${i + 1} action`}
              class={inputClass}
              value={s.action}
              placeholder='Action'
              onInput={(e) => set(i, { action: (e.currentTarget as HTMLInputElement).value })}
            />
            <input
              aria-label={`Step ${i + 1} expected result`}
              class={inputClass}
              value={s.expected}
              placeholder='Expected result'
              onInput={(e) => set(i, { expected: (e.currentTarget as HTMLInputElement).value })}
            />
            <Button variant='ghost' aria-label={`Remove step ${i + 1}`} onClick={() => onChange(steps.filter((_, j) => j !== i))}>
              Remove
            </Button>
          </li>
        ))}
      </ol>
      <Button variant='secondary' onClick={() => onChange([...steps, { action: '', expected: '' }])}>
        Add step
      </Button>
    </div>
  );
}
