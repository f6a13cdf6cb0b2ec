// Renders the toast queue (lib/toast.ts) in a polite live region.
import { useEffect, useState } from 'preact/hooks';
import { dismiss, subscribeToasts, type Toast } from '../lib/toast';

export function Toasts() {
  const [items, setItems] = useState<Toast[]>([]);
  useEffect(() => subscribeToasts(setItems), []);
  return (
    <div aria-live='polite' class='pointer-events-none fixed inset-x-0 bottom-4 z-50 flex flex-col items-center gap-2 px-4 sm:items-end'>
      {items.map((t) => (
        <div
          key={t.id}
          role={t.kind === 'error' ? 'alert' : 'status'}
          class={`pointer-events-auto flex max-w-md items-start gap-3 rounded-md px-4 py-2 text-sm shadow-lg ring-1 ${t.kind === 'error' ? 'bg-red-600 text-white ring-red-700' : 'bg-slate-900 text-white ring-slate-700 dark:bg-slate-100 dark:text-slate-900'}`}
        >
          <span class='flex-1'>{t.text}</span>
          <button type='button' class='opacity-80 hover:opacity-100' aria-label='Dismiss' onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
