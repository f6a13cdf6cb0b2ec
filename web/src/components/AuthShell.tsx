// The centred card around the sign-up, log-in and invitation forms.
import type { ComponentChildren } from 'preact';
import { ThemeToggle } from './ThemeToggle';

export function AuthShell({ title, children, footer }: { title: string; children: ComponentChildren; footer?: ComponentChildren }) {
  return (
    <main class='flex min-h-screen flex-col items-center justify-center px-4 py-10'>
      <div class='absolute top-3 right-3'>
        <ThemeToggle />
      </div>
      <p class='mb-6 text-2xl font-bold text-indigo-600 dark:text-indigo-400'>Agnox</p>
      <div class='w-full max-w-sm rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200 dark:bg-slate-900 dark:ring-slate-800'>
        <h1 class='mb-4 text-lg font-semibold'>{title}</h1>
        {children}
      </div>
      {footer && <div class='mt-4 text-sm text-slate-600 dark:text-slate-400'>{footer}</div>}
    </main>
  );
}
