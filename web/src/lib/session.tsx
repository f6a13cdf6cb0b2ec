// Who is signed in. The truth is the HttpOnly session cookie on the server; the page only keeps the
// user and organization that /api/auth/me returned, and drops them when any call answers 401.
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { api, setSessionEndedHandler } from './api';
import { navigate } from './router';
import type { Organization, User } from './types';

export type SessionState = { status: 'loading' } | { status: 'anon'; expired: boolean } | { status: 'authed'; user: User; organization: Organization };

type SessionApi = {
  state: SessionState;
  signedIn: (user: User, organization: Organization) => void;
  setOrganization: (organization: Organization) => void;
  logout: () => Promise<void>;
};

const SessionContext = createContext<SessionApi | null>(null);

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    api<{ user: User; organization: Organization }>('/api/auth/me')
      .then((me) => live && setState({ status: 'authed', ...me }))
      .catch(() => live && setState({ status: 'anon', expired: false }));
    setSessionEndedHandler(() => {
      setState((s) => (s.status === 'authed' ? { status: 'anon', expired: true } : s));
    });
    return () => {
      live = false;
      setSessionEndedHandler(null);
    };
  }, []);

  const signedIn = useCallback((user: User, organization: Organization) => setState({ status: 'authed', user, organization }), []);
  const setOrganization = useCallback((organization: Organization) => setState((s) => (s.status === 'authed' ? { ...s, organization } : s)), []);
  const logout = useCallback(async () => {
    try {
      await api('/api/auth/logout', { method: 'POST' });
    } catch {
      /* already gone: still leave */
    }
    setState({ status: 'anon', expired: false });
    navigate('/login', { replace: true });
  }, []);

  const value = useMemo(() => ({ state, signedIn, setOrganization, logout }), [state, signedIn, setOrganization, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** For pages behind the login gate: the signed-in user (the gate guarantees one). */
export function useUser() {
  const { state } = useSession();
  if (state.status !== 'authed') throw new Error('useUser on a public page');
  return { user: state.user, organization: state.organization, role: state.user.role };
}
