// Short confirmations and errors shown in a corner, announced to screen readers.
export type Toast = { id: number; kind: 'ok' | 'error'; text: string };

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<(t: Toast[]) => void>();
const emit = () => {
  for (const fn of listeners) fn(toasts);
};

export function toast(text: string, kind: Toast['kind'] = 'ok') {
  const t = { id: nextId++, kind, text };
  toasts = [...toasts, t].slice(-4);
  emit();
  setTimeout(() => dismiss(t.id), kind === 'error' ? 8000 : 4000);
}

export function dismiss(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function subscribeToasts(fn: (t: Toast[]) => void) {
  listeners.add(fn);
  fn(toasts);
  return () => {
    listeners.delete(fn);
  };
}
