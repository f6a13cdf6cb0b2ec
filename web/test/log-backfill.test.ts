// logBackfiller: fills a log buffer's gap page by page, one backfill at a time, and gives up quietly.
import { describe, expect, it } from 'vitest';
import { logBackfiller, MAX_PAGES, type LogPage } from '../src/lib/log-backfill';
import { LogBuffer, type LogChunk } from '../src/lib/log-buffer';

const chunk = (seq: number): LogChunk => ({ seq, stream: 'stdout', data: `line ${seq}\n` });
/** A stored log of `total` chunks served `perPage` at a time, recording each `since` asked for. */
function store(total: number, perPage: number) {
  const asked: number[] = [];
  const fetchPage = async (since: number): Promise<LogPage> => {
    asked.push(since);
    const chunks = Array.from({ length: Math.max(0, Math.min(perPage, total - since)) }, (_, i) => chunk(since + 1 + i));
    return { chunks, lastSeq: total };
  };
  return { asked, fetchPage };
}

describe('logBackfiller', () => {
  it('pages from lastSeq until the chunks waiting behind the gap apply', async () => {
    const b = new LogBuffer();
    b.push([chunk(10)]);
    const { asked, fetchPage } = store(10, 4);
    let pages = 0;
    await logBackfiller(b, fetchPage, () => pages++)();
    expect(b.lastSeq).toBe(10);
    expect(asked).toEqual([0, 4, 8]);
    expect(pages).toBe(3);
  });

  it('drops a call made while a backfill runs', async () => {
    const b = new LogBuffer();
    b.push([chunk(3)]);
    const { asked, fetchPage } = store(3, 10);
    const backfill = logBackfiller(b, fetchPage, () => {});
    await Promise.all([backfill(), backfill()]);
    expect(asked).toEqual([0]);
    expect(b.lastSeq).toBe(3);
  });

  it('stops when a page brings nothing, and after a failed request', async () => {
    const b = new LogBuffer();
    b.push([chunk(5)]);
    const empty = store(0, 10);
    await logBackfiller(b, empty.fetchPage, () => {})();
    expect(empty.asked).toEqual([0]);
    await expect(
      logBackfiller(
        b,
        () => Promise.reject(new Error('offline')),
        () => {},
      )(),
    ).resolves.toBeUndefined();
  });

  it('reads at most MAX_PAGES pages', async () => {
    const b = new LogBuffer();
    b.push([chunk(MAX_PAGES + 50)]);
    const { asked, fetchPage } = store(MAX_PAGES + 50, 1);
    await logBackfiller(b, fetchPage, () => {})();
    expect(asked.length).toBe(MAX_PAGES);
  });
});
