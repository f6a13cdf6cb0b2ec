// Route-level code splitting: a page's code is fetched the first time it is shown, which keeps the
// initial bundle small. A failed fetch (e.g. a new deploy replaced the chunk) offers a reload.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Notice, Spinner } from '../components/ui';

export function lazy<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let Loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  return function LazyPage(props: P) {
    const [, setReady] = useState(0);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (Loaded) return;
      let live = true;
      pending ??= load();
      pending.then(
        (C) => {
          Loaded = C;
          if (live) setReady(1);
        },
        () => {
          pending = null;
          if (live) setFailed(true);
        },
      );
      return () => {
        live = false;
      };
    }, []);
    if (Loaded) return <Loaded {...props} />;
    if (failed)
      return (
        <Notice>
          This page could not be loaded.{' '}
          <button type='button' class='underline' onClick={() => location.reload()}>
            Reload
          </button>
        </Notice>
      );
    return <Spinner />;
  };
}
