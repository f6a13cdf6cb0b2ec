// Small shared building blocks: buttons, form fields, cards, notices. Focus rings on everything
// interactive, labels tied to inputs, dark-mode colours alongside the light ones.
import type { ButtonHTMLAttributes, ComponentChildren } from 'preact';

const BUTTON = {
  primary: 'bg-indigo-600 text-white hover:bg-indigo-500 disabled:bg-indigo-400',
  secondary:
    'bg-white text-slate-800 ring-1 ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-600 dark:hover:bg-slate-700',
  danger: 'bg-red-600 text-white hover:bg-red-500 disabled:bg-red-400',
  ghost: 'text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800',
} as const;

export const focusRing = 'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500';

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: keyof typeof BUTTON; busy?: boolean };

export function Button({ variant = 'primary', busy, class: cls, disabled, children, type = 'button', ...rest }: ButtonProps) {
  return (
    <button
      type={type}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      class={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium shadow-sm transition disabled:cursor-not-allowed disabled:opacity-70 ${focusRing} ${BUTTON[variant]} ${cls ?? ''}`}
      {...rest}
    >
      {busy && <span class='size-3 animate-spin rounded-full border-2 border-current border-t-transparent' aria-hidden='true' />}
      {children}
    </button>
  );
}

export const inputClass = `block w-full rounded-md border-0 bg-white px-2.5 py-1.5 text-sm text-slate-900 shadow-sm ring-1 ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-indigo-500 focus:outline-none dark:bg-slate-900 dark:text-slate-100 dark:ring-slate-700`;

type FieldProps = { label: string; hint?: string; children: ComponentChildren; class?: string };

/** A label wrapping its control, so clicking the label focuses it and screen readers pair them. */
export function Field({ label, hint, children, class: cls }: FieldProps) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the label wraps its control (children), which labels it implicitly
    <label class={`block ${cls ?? ''}`}>
      <span class='mb-1 block text-sm font-medium text-slate-700 dark:text-slate-300'>{label}</span>
      {children}
      {hint && <span class='mt-1 block text-xs text-slate-500 dark:text-slate-400'>{hint}</span>}
    </label>
  );
}

export function Card({
  title,
  actions,
  children,
  class: cls,
}: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <section class={`rounded-lg bg-white shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800 ${cls ?? ''}`}>
      {(title || actions) && (
        <header class='flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 px-4 py-3 dark:border-slate-800'>
          {title && <h2 class='text-sm font-semibold'>{title}</h2>}
          {actions && <div class='flex flex-wrap gap-2'>{actions}</div>}
        </header>
      )}
      <div class='p-4'>{children}</div>
    </section>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ComponentChildren; subtitle?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <div class='mb-4 flex flex-wrap items-end justify-between gap-3'>
      <div class='min-w-0'>
        <h1 class='truncate text-xl font-semibold tracking-tight'>{title}</h1>
        {subtitle && <p class='mt-0.5 text-sm text-slate-500 dark:text-slate-400'>{subtitle}</p>}
      </div>
      {actions && <div class='flex flex-wrap gap-2'>{actions}</div>}
    </div>
  );
}

export function Notice({ kind = 'error', children }: { kind?: 'error' | 'info' | 'ok'; children: ComponentChildren }) {
  const styles = {
    error: 'bg-red-50 text-red-800 ring-red-200 dark:bg-red-950 dark:text-red-200 dark:ring-red-900',
    info: 'bg-sky-50 text-sky-800 ring-sky-200 dark:bg-sky-950 dark:text-sky-200 dark:ring-sky-900',
    ok: 'bg-emerald-50 text-emerald-800 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-200 dark:ring-emerald-900',
  }[kind];
  return (
    <div role={kind === 'error' ? 'alert' : 'status'} class={`rounded-md px-3 py-2 text-sm ring-1 ${styles}`}>
      {children}
    </div>
  );
}

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <div class='flex items-center gap-2 p-4 text-sm text-slate-500' role='status'>
      <span class='size-4 animate-spin rounded-full border-2 border-slate-400 border-t-transparent' aria-hidden='true' />
      {label}…
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class='px-4 py-8 text-center text-sm text-slate-500 dark:text-slate-400'>{children}</p>;
}

export function Badge({ children, class: cls, title }: { children: ComponentChildren; class?: string; title?: string }) {
  return (
    <span title={title} class={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium whitespace-nowrap ${cls ?? ''}`}>
      {children}
    </span>
  );
}
