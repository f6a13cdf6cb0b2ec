// Routes and the login gate: public pages for visitors, everything else inside the Layout for a
// signed-in user. An ended session lands on /login?next=… with a notice, and returns there after.
import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout } from './components/Layout';
import { Toasts } from './components/Toasts';
import { Spinner } from './components/ui';
import { lazy } from './lib/lazy';
import { match, navigate, useLocation } from './lib/router';
import { SessionProvider, useSession } from './lib/session';
import { ExecutionsPage } from './pages/Executions';
import { LoginPage } from './pages/Login';

const SignupPage = lazy(() => import('./pages/Signup').then((m) => m.SignupPage));
const AcceptInvitePage = lazy(() => import('./pages/AcceptInvite').then((m) => m.AcceptInvitePage));
const ExecutionPage = lazy(() => import('./pages/ExecutionDetail').then((m) => m.ExecutionPage));
const RunTestsPage = lazy(() => import('./pages/RunTests').then((m) => m.RunTestsPage));
const ProjectsPage = lazy(() => import('./pages/Projects').then((m) => m.ProjectsPage));
const ProjectPage = lazy(() => import('./pages/ProjectDetail').then((m) => m.ProjectPage));
const AgentsPage = lazy(() => import('./pages/Agents').then((m) => m.AgentsPage));
const SettingsPage = lazy(() => import('./pages/Settings').then((m) => m.SettingsPage));
const InsightsPage = lazy(() => import('./pages/Insights').then((m) => m.InsightsPage));
const SchedulesPage = lazy(() => import('./pages/automation/Schedules').then((m) => m.SchedulesPage));
const TestCasesPage = lazy(() => import('./pages/automation/TestCases').then((m) => m.TestCasesPage));
const CyclesPage = lazy(() => import('./pages/automation/Cycles').then((m) => m.CyclesPage));
const CycleDetailPage = lazy(() => import('./pages/automation/CycleDetail').then((m) => m.CycleDetailPage));

/** A path pattern and its page; each page takes its own route params as props. */
// biome-ignore lint/suspicious/noExplicitAny: pages' props differ per route (taskId, id, tab…), so no one props type fits them all
type Route = [string, ComponentType<any>];

const PUBLIC: Route[] = [
  ['/login', LoginPage],
  ['/signup', SignupPage],
  ['/accept-invite', AcceptInvitePage],
];

const PRIVATE: Route[] = [
  ['/executions', ExecutionsPage],
  ['/executions/:taskId', ExecutionPage],
  ['/run', RunTestsPage],
  ['/projects', ProjectsPage],
  ['/projects/:id', ProjectPage],
  ['/insights', InsightsPage],
  ['/insights/:projectId', InsightsPage],
  ['/schedules', SchedulesPage],
  ['/test-cases', TestCasesPage],
  ['/test-cycles', CyclesPage],
  ['/test-cycles/:id', CycleDetailPage],
  ['/agents', AgentsPage],
  ['/settings', SettingsPage],
  ['/settings/:tab', SettingsPage],
];

function findRoute(routes: Route[], path: string) {
  for (const [pattern, Page] of routes) {
    const params = match(pattern, path);
    if (params) return { Page, params };
  }
  return null;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Routes() {
  const { state } = useSession();
  const { path, search } = useLocation();

  if (state.status === 'loading') return <Spinner label='Starting' />;

  const publicRoute = findRoute(PUBLIC, path);
  if (state.status === 'anon') {
    if (publicRoute) return <publicRoute.Page {...publicRoute.params} />;
    const next = path === '/' ? '' : `next=${encodeURIComponent(path + search)}`;
    const query = [next, state.expired ? 'expired=1' : ''].filter(Boolean).join('&');
    return <Redirect to={`/login${query ? `?${query}` : ''}`} />;
  }

  if (publicRoute && path !== '/accept-invite') return <Redirect to='/executions' />;
  if (path === '/') return <Redirect to='/executions' />;
  const route = findRoute(PRIVATE, path);
  return (
    <Layout>
      {/* Keyed by path: moving from one run to another starts the page afresh (its log, results, socket). */}
      {route ? (
        <route.Page key={path} {...route.params} />
      ) : (
        <div class='py-16 text-center'>
          <h1 class='text-xl font-semibold'>Page not found</h1>
          <p class='mt-2 text-sm text-slate-500'>Nothing lives at {path}.</p>
        </div>
      )}
    </Layout>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Routes />
      <Toasts />
    </SessionProvider>
  );
}
