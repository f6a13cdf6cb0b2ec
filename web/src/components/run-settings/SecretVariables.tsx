// An environment's secret variables: their names with the masks the server sends instead of values, a
// "remove" mark per secret, and a field to set new ones. Marked secrets go when the settings are saved.
import { Field, inputClass } from '../ui';

type Props = { secrets: Record<string, string>; editable: boolean; removed: ReadonlySet<string>; onRemovedChange: (next: Set<string>) => void };

export function SecretVariables({ secrets, editable, removed, onRemovedChange }: Props) {
  const secretNames = Object.keys(secrets);
  return (
    <div>
      <p class='mb-1 text-sm font-medium text-slate-700 dark:text-slate-300'>Secret variables</p>
      {secretNames.length === 0 ? (
        <p class='text-xs text-slate-500'>None.</p>
      ) : (
        <ul class='mb-2 space-y-1 text-sm' data-testid='secrets'>
          {secretNames.map((name) => (
            <li key={name} class='flex items-center gap-3'>
              <code class={removed.has(name) ? 'line-through opacity-60' : ''}>{name}</code>
              <span class='font-mono text-slate-500'>
                <span aria-hidden='true'>{secrets[name]}</span>
                <span class='sr-only'>hidden value</span>
              </span>
              {editable && (
                <label class='ml-auto text-xs'>
                  <input
                    type='checkbox'
                    class='mr-1'
                    checked={removed.has(name)}
                    onChange={() => {
                      const next = new Set(removed);
                      if (!next.delete(name)) next.add(name);
                      onRemovedChange(next);
                    }}
                  />
                  remove
                </label>
              )}
            </li>
          ))}
        </ul>
      )}
      {editable && (
        <Field label='Set secrets' hint='KEY=value per line; replaces a secret of the same name. Values are never shown again.'>
          <textarea name='secrets' rows={2} class={`${inputClass} font-mono`} autoComplete='off' spellcheck={false} />
        </Field>
      )}
    </div>
  );
}
