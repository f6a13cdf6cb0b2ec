// The run form's environment: free text, with the environments that have run settings offered as
// suggestions.
import { Field, inputClass } from '../../components/ui';

type Props = { value: string; environments: string[]; onFocus: () => void; onInput: (value: string) => void };

export function EnvironmentField({ value, environments, onFocus, onInput }: Props) {
  return (
    <Field label='Environment' hint='Run settings of this environment (base URL, variables) are passed to the run.'>
      <input name='environment' list='run-envs' class={inputClass} value={value} onFocus={onFocus} onInput={(e) => onInput(e.currentTarget.value)} />
      <datalist id='run-envs'>
        {environments.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </Field>
  );
}
