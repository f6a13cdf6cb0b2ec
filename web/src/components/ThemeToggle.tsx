// Switches light/dark and remembers the choice (theme.js applies it before the first paint).
import { useState } from 'preact/hooks';
import { focusRing } from './ui';

export function ThemeToggle() {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains('dark'));
  const toggle = () => {
    const next = !dark;
    document.documentElement.classList.toggle('dark', next);
    try {
      localStorage.setItem('agnox-theme', next ? 'dark' : 'light');
    } catch {
      /* storage blocked */
    }
    setDark(next);
  };
  return (
    <button
      type='button'
      onClick={toggle}
      aria-pressed={dark}
      aria-label='Dark mode'
      class={`rounded-md p-1.5 text-slate-500 hover:bg-slate-100 hover:text-slate-800 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-slate-100 ${focusRing}`}
    >
      {dark ? (
        <svg viewBox='0 0 20 20' class='size-5' fill='currentColor' aria-hidden='true'>
          <path d='M10 2a1 1 0 0 1 1 1v1a1 1 0 1 1-2 0V3a1 1 0 0 1 1-1zm0 13a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm7-5a1 1 0 0 1-1 1h-1a1 1 0 1 1 0-2h1a1 1 0 0 1 1 1zM5 10a1 1 0 0 1-1 1H3a1 1 0 1 1 0-2h1a1 1 0 0 1 1 1zm5 5a1 1 0 0 1 1 1v1a1 1 0 1 1-2 0v-1a1 1 0 0 1 1-1z' />
        </svg>
      ) : (
        <svg viewBox='0 0 20 20' class='size-5' fill='currentColor' aria-hidden='true'>
          <path d='M17.3 13.3A8 8 0 0 1 6.7 2.7a8 8 0 1 0 10.6 10.6z' />
        </svg>
      )}
    </button>
  );
}
