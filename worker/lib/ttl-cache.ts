// A per-isolate cache whose entries live a fixed time: what lets hot paths (API keys, agent tokens,
// maskers) skip a D1 read per request while a change made elsewhere still applies within `ttlMs`.
// Bounded: past `maxEntries` it starts afresh (an isolate holds few at once; a flood of new keys
// must not grow memory). A miss is cached like a hit, so a stream of bad secrets costs no reads either.
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The cached value, or `load()`'s (then cached). */
  async get(key: string, load: () => Promise<V>, now = Date.now()): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    const value = await load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, until: now + this.ttlMs });
    return value;
  }

  /** Forgets the entries `stale` picks: a change made in this isolate applies here at once. */
  forget(stale: (value: V, key: string) => boolean): void {
    for (const [key, { value }] of this.entries) if (stale(value, key)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
