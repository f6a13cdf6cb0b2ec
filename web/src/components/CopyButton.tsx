// Copies a value (install command, API key) to the clipboard and says so.
import { useState } from 'preact/hooks';
import { toast } from '../lib/toast';
import { Button } from './ui';

export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <Button
      variant='secondary'
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
          setDone(true);
          setTimeout(() => setDone(false), 1500);
        } catch {
          toast('Copy failed: select the text and copy it by hand', 'error');
        }
      }}
    >
      {done ? 'Copied' : label}
    </Button>
  );
}
