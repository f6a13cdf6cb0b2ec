// Reads a submitted <form> as plain strings (inputs are named after the API's fields).
export function formValues(e: Event): Record<string, string> {
  e.preventDefault();
  const data = new FormData(e.currentTarget as HTMLFormElement);
  const out: Record<string, string> = {};
  data.forEach((v, k) => {
    if (typeof v === 'string') out[k] = v;
  });
  return out;
}

/** Where to go after logging in: only a path on this site (never an open redirect). */
export function safeNext(search: string): string {
  const next = new URLSearchParams(search).get('next');
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/executions';
}
