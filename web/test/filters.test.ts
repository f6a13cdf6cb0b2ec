import { describe, expect, it } from 'vitest';
import { activeFilterCount, filtersFromSearch, filtersToSearch, matchesFilters, sameFilters } from '../src/lib/filters';

describe('execution filters', () => {
  it('round-trips through the query string in a stable order', () => {
    const f = { source: 'external-ci', status: 'FAILED', projectId: 'p1', environment: 'staging', q: 'PR #42 & more' } as const;
    const search = filtersToSearch(f);
    expect(search).toBe('?status=FAILED&source=external-ci&projectId=p1&environment=staging&q=PR+%2342+%26+more');
    expect(filtersFromSearch(search)).toEqual(f);
  });

  it('drops unknown statuses, sources and malformed ids instead of passing them to the API', () => {
    expect(filtersFromSearch('?status=BOGUS&source=ftp&projectId=%3Cscript%3E&environment=&q=++')).toEqual({});
    expect(filtersFromSearch(`?q=${'x'.repeat(150)}`).q).toHaveLength(100);
  });

  it('adds paging parameters after the filters and leaves out empty ones', () => {
    expect(filtersToSearch({ source: 'agnox-hosted' }, { limit: 50, cursor: undefined })).toBe('?source=agnox-hosted&limit=50');
    expect(filtersToSearch({})).toBe('');
  });

  it('matches executions on every set field', () => {
    const e = {
      status: 'RUNNING',
      source: 'external-ci',
      projectId: 'p1',
      environment: 'staging',
      name: 'Nightly Smoke',
      ciContext: { branch: 'feature/PAY-12', commitSha: 'abc123' },
    } as const;
    expect(matchesFilters(e, {})).toBe(true);
    expect(matchesFilters(e, { source: 'external-ci', status: 'RUNNING' })).toBe(true);
    expect(matchesFilters(e, { source: 'agnox-hosted' })).toBe(false);
    expect(matchesFilters(e, { environment: 'production' })).toBe(false);
    expect(matchesFilters({ ...e, environment: null }, { environment: 'staging' })).toBe(false);
    for (const q of ['nightly', 'pay-12', 'ABC1']) expect(matchesFilters(e, { q })).toBe(true);
    expect(matchesFilters(e, { q: 'main' })).toBe(false);
    expect(matchesFilters({ ...e, name: null, ciContext: null }, { q: 'nightly' })).toBe(false);
  });

  it('compares and counts filters', () => {
    expect(sameFilters({ status: 'FAILED' }, { status: 'FAILED', source: undefined })).toBe(true);
    expect(sameFilters({ status: 'FAILED' }, {})).toBe(false);
    expect(activeFilterCount({ status: 'FAILED', projectId: 'x' })).toBe(2);
  });
});
