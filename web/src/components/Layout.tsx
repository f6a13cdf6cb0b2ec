// The signed-in frame: navigation (a sidebar on wide screens, a menu button on phones), the user's
// name and role, theme toggle and log out. A skip link lets keyboard users jump to the content.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { can } from '../lib/permissions';
import { Link, useLocation } from '../lib/router';
import { useSession, useUser } from '../lib/session';
import { ThemeToggle } from './ThemeToggle';
import { focusRing } from './ui';

const NAV = [
  { href: '/executions', label: 'Executions' },
  { href: '/run', label: 'Run tests', needs: 'runTests' as const },
  { href: '/projects', label: 'Projects' },
  { href: '/insights', label: 'Insights' },
  { href: '/schedules', label: 'Schedules' },
  { href: '/test-cases', label: 'Test cases' },
  { href: '/test-cycles', label: 'Cycles' },
  { href: '/agents', label: 'Agents' },
  { href: '/settings', label: 'Settings' },
];

export function Layout({ children }: { children: ComponentChildren }) {
  const { user, organization, role } = useUser();
  const { logout } = useSession();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const firstRender = useRef(true);
  useEffect(() => {
    setMenuOpen(false);
    // After moving to another page, put keyboard and screen-reader focus at the start of its content.
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);

  const links = NAV.filter((n) => !n.needs || can(role, n.needs)).map((n) => {
    const active = path === n.href || path.startsWith(`${n.href}/`);
    return (
      <Link
        key={n.href}
        href={n.href}
        aria-current={active ? 'page' : undefined}
        class={`block rounded-md px-3 py-2 text-sm font-medium ${focusRing} ${active ? 'bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-200' : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800'}`}
      >
        {n.label}
      </Link>
    );
  });

  return (
    <div class='min-h-screen md:flex'>
      <a
        href='#main'
        class='sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-sm'
      >
        Skip to content
      </a>
      <header class='sticky top-0 z-30 flex items-center justify-between border-b border-slate-200 bg-white/90 px-4 py-2 backdrop-blur md:hidden dark:border-slate-800 dark:bg-slate-900/90'>
        <Link href='/executions' class={`text-lg font-bold text-indigo-600 dark:text-indigo-400 ${focusRing}`}>
          Agnox
        </Link>
        <div class='flex items-center gap-1'>
          <ThemeToggle />
          <button
            type='button'
            aria-expanded={menuOpen}
            aria-controls='nav'
            onClick={() => setMenuOpen(!menuOpen)}
            class={`rounded-md p-1.5 text-slate-600 dark:text-slate-300 ${focusRing}`}
            aria-label='Menu'
          >
            <svg viewBox='0 0 20 20' class='size-6' fill='currentColor' aria-hidden='true'>
              <path d='M3 5h14v2H3zm0 4h14v2H3zm0 4h14v2H3z' />
            </svg>
          </button>
        </div>
      </header>
      <nav
        id='nav'
        aria-label='Main'
        class={`${menuOpen ? 'block' : 'hidden'} border-b border-slate-200 bg-white px-3 py-3 md:sticky md:top-0 md:flex md:h-screen md:w-56 md:shrink-0 md:flex-col md:border-r md:border-b-0 dark:border-slate-800 dark:bg-slate-900`}
      >
        <div class='mb-4 hidden items-center justify-between px-3 md:flex'>
          <Link href='/executions' class={`text-lg font-bold text-indigo-600 dark:text-indigo-400 ${focusRing}`}>
            Agnox
          </Link>
          <ThemeToggle />
        </div>
        <div class='space-y-1'>{links}</div>
        <div class='mt-4 border-t border-slate-200 px-3 pt-3 md:mt-auto dark:border-slate-800'>
          <p class='truncate text-sm font-medium' data-testid='current-user'>
            {user.name}
          </p>
          <p class='truncate text-xs text-slate-500 dark:text-slate-400'>
            {organization.name} · <span data-testid='current-role'>{role}</span>
          </p>
          <button
            type='button'
            onClick={() => void logout()}
            class={`mt-2 w-full rounded-md px-3 py-1.5 text-left text-sm text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800 ${focusRing}`}
          >
            Log out
          </button>
        </div>
      </nav>
      <main id='main' tabIndex={-1} class='min-w-0 flex-1 focus:outline-none px-4 py-5 md:px-8 md:py-6'>
        {children}
      </main>
    </div>
  );
}
